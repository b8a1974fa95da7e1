"""What barua takes from its environment, read once, when a program starts.

Everything below the faces gets its state as arguments (a home folder, a database URL, a
language); nothing else in barua reads or writes ``os.environ``. A face (the command line, the
web app, the relay) calls :meth:`Environment.from_environ` once and hands the result on.

==========================  ==========================================================
``BARUA_HOME``              where barua keeps its files (default: the user data folder)
``BARUA_DATABASE_URL``      the database (default: SQLite in ``$BARUA_HOME``)
``BARUA_SECRET_KEY``        the key that encrypts secrets (default: ``$BARUA_HOME/secret.key``)
``BARUA_LANG``              ``en`` or ``sw`` (default: the system's language)
``BARUA_DNS_SERVER``        ``host[:port]`` for MX, SPF and DMARC lookups
``BARUA_FONT_DIR``          a folder with the DejaVu fonts for documents
``BARUA_MAX_MESSAGE_SIZE``  the largest email barua builds, as ``25MB``, ``500KB`` or bytes
``BARUA_SMTP_HOST`` …       settings that override the saved ones (see ``SETTINGS_VARIABLES``)
==========================  ==========================================================
"""

from __future__ import annotations

import locale
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from barua.i18n import language_code

ENV_HOME = "BARUA_HOME"
ENV_DATABASE_URL = "BARUA_DATABASE_URL"
ENV_SECRET_KEY = "BARUA_SECRET_KEY"  # noqa: S105 - the name of a variable, not a key
ENV_LANG = "BARUA_LANG"
ENV_DNS_SERVER = "BARUA_DNS_SERVER"
ENV_FONT_DIR = "BARUA_FONT_DIR"
ENV_MAX_MESSAGE_SIZE = "BARUA_MAX_MESSAGE_SIZE"

SETTINGS_VARIABLES: dict[str, str] = {
    "BARUA_PROTOCOL": "protocol",
    "BARUA_SMTP_HOST": "host",
    "BARUA_SMTP_PORT": "port",
    "BARUA_SMTP_SECURITY": "security",
    "BARUA_SMTP_USERNAME": "username",
    "BARUA_SMTP_PASSWORD": "password",
    "BARUA_EMAIL_ADDRESS": "email_address",
    "BARUA_SENDER_NAME": "sender_name",
    "BARUA_BCC_COPY": "bcc_copy",
    "BARUA_REPLY_TO": "reply_to",
    "BARUA_SKIP_TLS_VERIFY": "skip_tls_verify",
    "BARUA_PINNED_CERTIFICATE": "pinned_certificate",
    "BARUA_HTTP_SERVICE_URL": "http_service_url",
    "BARUA_HTTP_API_KEY": "http_api_key",
    "BARUA_TIMEOUT": "timeout",
    "BARUA_AUTH": "auth",
    "BARUA_OAUTH_PROVIDER": "oauth_provider",
    "BARUA_OAUTH_CLIENT_ID": "oauth_client_id",
    "BARUA_OAUTH_CLIENT_SECRET": "oauth_client_secret",
    "BARUA_OAUTH_TENANT": "oauth_tenant",
    "BARUA_OAUTH_ISSUER": "oauth_issuer",
    "BARUA_OAUTH_SCOPE": "oauth_scope",
    "BARUA_OAUTH_AUTHORIZATION_URL": "oauth_authorization_url",
    "BARUA_OAUTH_TOKEN_URL": "oauth_token_url",
    "BARUA_OAUTH_DEVICE_URL": "oauth_device_url",
}
"""Environment variable → the settings field it overrides (for servers and containers)."""


def default_home() -> Path:
    """The user's data folder for barua, when ``BARUA_HOME`` is not set."""
    from platformdirs import user_data_dir  # noqa: PLC0415 - only when BARUA_HOME is unset

    return Path(user_data_dir("barua", appauthor=False))


@dataclass(frozen=True, slots=True)
class Environment:
    """barua's view of the process environment, taken once at start-up."""

    home: Path
    database_url: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    """The Fernet key of ``BARUA_SECRET_KEY``, as given (checked where it is used)."""
    language: str | None = None
    """``BARUA_LANG``, else the system's language, when barua speaks it."""
    dns_server: str | None = None
    font_dir: Path | None = None
    max_message_size: str | None = None
    """``BARUA_MAX_MESSAGE_SIZE``, as given (checked where it is used)."""
    settings_overrides: Mapping[str, str] = field(default_factory=dict, repr=False)
    """The ``BARUA_*`` settings variables that are set, by variable (may hold a password)."""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Environment:
        """Read the environment of this process (or ``environ``)."""
        env = os.environ if environ is None else environ
        home = env.get(ENV_HOME, "").strip()
        fonts = env.get(ENV_FONT_DIR, "").strip()
        return cls(
            home=Path(home).expanduser() if home else default_home(),
            database_url=env.get(ENV_DATABASE_URL, "").strip() or None,
            secret_key=env.get(ENV_SECRET_KEY),
            language=language_code(env.get(ENV_LANG)) or _system_language(env),
            dns_server=env.get(ENV_DNS_SERVER, "").strip() or None,
            font_dir=Path(fonts).expanduser() if fonts else None,
            max_message_size=env.get(ENV_MAX_MESSAGE_SIZE, "").strip() or None,
            settings_overrides={
                name: value for name in SETTINGS_VARIABLES if (value := env.get(name))
            },
        )

    def lang(self, requested: str | None = None) -> str:
        """The language to answer in: ``requested`` (a ``--lang`` flag), else the
        environment's, else English."""
        return language_code(requested) or self.language or "en"


def _system_language(env: Mapping[str, str]) -> str | None:
    try:
        system = locale.getlocale(locale.LC_MESSAGES)[0]
    except (ValueError, AttributeError):
        system = None
    for candidate in (system, env.get("LC_ALL"), env.get("LANG")):
        code = language_code(candidate)
        if code is not None:
            return code
    return None


def export_metrics_directory(directory: str) -> None:
    """Tell the Prometheus client of this process where its counters' files are (it reads
    only the variable ``PROMETHEUS_MULTIPROC_DIR``); see
    :func:`barua.app.metrics.count_in_files`."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory

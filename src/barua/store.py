"""Saving the email settings: secrets encrypted at rest, atomic writes, environment overrides.

The file ``$BARUA_HOME/settings.json`` (mode 0600) reads::

    {"format": 1, "settings": {"host": "smtp.example.com", "port": 587, ...,
                               "password": {"fernet": "gAAAAAB..."}}}

Only the secret fields (:data:`~barua.settings.SECRET_FIELDS`) are encrypted, with the key from
:mod:`barua.secrets`; the rest stays readable so a person can check what is saved. A save
writes a complete temporary file and renames it over the old one, so a crash, a full disk or
invalid settings never leave half a file behind.

A secret saved with a key that is no longer at hand (a lost ``secret.key``, another
``BARUA_SECRET_KEY``) cannot be read, but it must not lock the user out: a load can be told
which secrets not to decrypt (:meth:`SettingsStore.unreadable_secrets` names them). One key
always reads every secret of the file: a save that encrypts nothing keeps such a secret exactly
as it was saved, so restoring its key brings it back; a save that encrypts a secret does so
with the key at hand (creating ``secret.key`` if there is none) and removes the secrets that
key cannot read, since no key could ever read both.

On servers and in containers the ``BARUA_*`` variables of :data:`ENV_OVERRIDES` override the
saved values, or stand in for a saved file altogether (:meth:`SettingsStore.load_effective`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir

from barua.errors import SettingsError, StoreError
from barua.secrets import decrypt, encrypt, find_key, load_key, write_private_file
from barua.settings import SECRET_FIELDS, Settings, make_settings, update_settings

FORMAT = 1
SETTINGS_FILE = "settings.json"

ENV_OVERRIDES: dict[str, str] = {
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
}
"""Environment variable → settings field it overrides."""

_BOOLEANS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
_HINT_DAMAGED = "Move the file aside (or delete it) and save the settings again."


def barua_home() -> Path:
    """The folder barua keeps its files in: ``$BARUA_HOME``, else the user's data folder."""
    value = os.environ.get("BARUA_HOME", "").strip()
    if value:
        return Path(value).expanduser()
    return Path(user_data_dir("barua", appauthor=False))


def env_values(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings given by the variables of :data:`ENV_OVERRIDES` in ``environ``, by field.

    Blank variables count as unset: in a compose file ``BARUA_SMTP_PASSWORD=${PASSWORD}``
    with PASSWORD unset must not wipe the saved password. Values stay text for
    :func:`~barua.settings.make_settings` to check, except booleans (1/0, true/false, yes/no)
    and choices, which are read case-insensitively.
    """
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    wrong: list[str] = []
    for variable, field in ENV_OVERRIDES.items():
        raw = environ.get(variable)
        if raw is None or not raw.strip():
            continue
        kind = Settings.model_fields[field].annotation
        if kind is bool:
            word = raw.strip().lower()
            if word not in _BOOLEANS:
                problems[field] = (
                    f"{variable}: {field} must be true or false (1/0, true/false or yes/no)"
                )
                wrong.append(variable)
                continue
            values[field] = _BOOLEANS[word]
        elif isinstance(kind, type) and issubclass(kind, StrEnum):
            values[field] = raw.strip().lower()
        else:
            values[field] = raw
    if problems:
        raise SettingsError(problems, hint=f"Correct {_variables(wrong)}.")
    return values


class SettingsStore:
    """The saved settings in ``home`` (default :func:`barua_home`).

    >>> store = SettingsStore()                                    # doctest: +SKIP
    >>> store.save(make_settings(host="smtp.example.com", username="shop@example.com",
    ...                          password="secret"))               # doctest: +SKIP
    >>> store.load().password                                      # doctest: +SKIP
    SecretStr('**********')
    """

    def __init__(self, home: Path | None = None) -> None:
        self._home = home if home is not None else barua_home()

    def __repr__(self) -> str:
        return f"SettingsStore({str(self._home)!r})"

    @property
    def home(self) -> Path:
        """The folder holding the settings file and, unless BARUA_SECRET_KEY is set, the key."""
        return self._home

    @property
    def path(self) -> Path:
        """The settings file."""
        return self._home / SETTINGS_FILE

    def load(self, *, skip_secrets: Collection[str] = ()) -> Settings | None:
        """The saved settings, or None when nothing has been saved yet.

        The secrets named in ``skip_secrets`` are not decrypted but left unset: those the
        caller is about to replace, and those :meth:`unreadable_secrets` names.
        """
        values = self._read(skip=skip_secrets)
        return None if values is None else self._validate(values, saved=True)

    def load_effective(
        self, *, environ: Mapping[str, str] | None = None, skip_secrets: Collection[str] = ()
    ) -> Settings | None:
        """The saved settings with the environment's overrides applied, validated as a whole.

        The environment alone may be enough; None when there is neither a saved file nor any
        override. A secret the environment overrides is not decrypted, so a container can
        give the password even when the key it was saved with is not there; nor are those
        in ``skip_secrets``.
        """
        overrides = env_values(os.environ if environ is None else environ)
        saved = self._read(skip={*overrides.keys(), *skip_secrets})
        if saved is None and not overrides:
            return None
        values = {**(saved or {}), **overrides}
        return self._validate(values, saved=saved is not None, overrides=overrides)

    def unreadable_secrets(self) -> tuple[str, ...]:
        """The saved secret fields the key at hand cannot decrypt: saved with a key that was
        lost or is not the one given (or damaged). They must be set again, or the key
        restored."""
        stored = self._stored_secrets()
        if not stored:
            return ()
        key = find_key(self._home)
        if key is None:
            return tuple(stored)
        unreadable: list[str] = []
        for name, token in stored.items():
            try:
                decrypt(key, token, field=name)
            except StoreError:
                unreadable.append(name)
        return tuple(unreadable)

    def save(self, settings: Settings, *, keep_unreadable: Collection[str] = ()) -> tuple[str, ...]:
        """Save ``settings``, secrets encrypted; the previous file stays whole on any failure.

        The secrets named in ``keep_unreadable`` (see :meth:`unreadable_secrets`) that
        ``settings`` leaves unset are kept as saved when ``settings`` holds no secret to
        encrypt. When it does, they are removed instead: the key at hand cannot read them and
        the key that can would not read the new ones. Returns the names of the secrets removed
        that way, which must be set again.
        """
        settings = update_settings(settings)  # revalidate: model_construct() bypasses checks
        values = settings.model_dump(mode="json", exclude=set(SECRET_FIELDS))
        secrets = {
            name: value.get_secret_value()
            for name in SECRET_FIELDS
            if (value := getattr(settings, name)) is not None
        }
        wanted = [name for name in keep_unreadable if name in SECRET_FIELDS and name not in secrets]
        stored = self._stored_secrets() if wanted else {}
        kept = [name for name in wanted if name in stored]
        removed: tuple[str, ...] = ()
        if secrets:
            removed, kept = tuple(kept), []
            key = load_key(self._home, create=True)
            for name, plaintext in secrets.items():
                values[name] = {"fernet": encrypt(key, plaintext)}
        for name in kept:
            values[name] = {"fernet": stored[name]}
        document = {"format": FORMAT, "settings": values}
        data = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            write_private_file(self.path, data, replace=True)
        except OSError as exc:
            raise StoreError(
                f"The settings cannot be saved to {self.path}: {exc.strerror}.",
                hint="Check that the folder belongs to the user running barua and that the "
                "disk is not full. The previously saved settings are unchanged.",
            ) from exc
        return removed

    # Internals ------------------------------------------------------------------------------

    def _read(self, *, skip: Collection[str] = ()) -> dict[str, Any] | None:
        """The saved values as plain data, secrets decrypted except those in ``skip``."""
        values = self._read_file()
        if values is None:
            return None
        tokens = {
            name: token for name, token in self._secret_tokens(values).items() if name not in skip
        }
        for name in SECRET_FIELDS:
            values.pop(name, None)
        if tokens:
            key = load_key(self._home, create=False)
            for name, token in tokens.items():
                values[name] = decrypt(key, token, field=name)
        return values

    def _stored_secrets(self) -> dict[str, str]:
        """The encrypted secrets in the file, by field, not decrypted."""
        values = self._read_file()
        return {} if values is None else self._secret_tokens(values)

    def _read_file(self) -> dict[str, Any] | None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(
                f"The saved settings file {self.path} cannot be read: {exc.strerror}.",
                hint="Check that the file belongs to the user running barua.",
            ) from exc
        return self._parse(data)

    def _secret_tokens(self, values: Mapping[str, Any]) -> dict[str, str]:
        tokens: dict[str, str] = {}
        for name in SECRET_FIELDS:
            stored = values.get(name)
            if stored is None:
                continue
            if not (isinstance(stored, dict) and isinstance(stored.get("fernet"), str)):
                raise StoreError(
                    f"The saved settings file {self.path} holds {name} unencrypted or damaged.",
                    hint=f"Remove {name} from the file and set it again with barua, "
                    "which encrypts it.",
                )
            tokens[name] = stored["fernet"]
        return tokens

    def _parse(self, data: bytes) -> dict[str, Any]:
        try:
            document = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError:
            raise StoreError(
                f"The saved settings file {self.path} is damaged: it is not UTF-8 text.",
                hint=_HINT_DAMAGED,
            ) from None
        except json.JSONDecodeError as exc:
            raise StoreError(
                f"The saved settings file {self.path} is damaged: it is not valid JSON "
                f"({exc.msg} at line {exc.lineno}, column {exc.colno}).",
                hint=_HINT_DAMAGED,
            ) from None
        version = document.get("format") if isinstance(document, dict) else None
        if isinstance(version, bool) or not isinstance(version, int):
            version = None  # JSON true would otherwise pass for format 1
        if version is not None and version > FORMAT:
            raise StoreError(
                f"The saved settings file {self.path} was written by a newer version of barua "
                f"(format {version}).",
                hint="Upgrade barua to read it.",
            )
        if version != FORMAT or not isinstance(document.get("settings"), dict):
            raise StoreError(
                f"The saved settings file {self.path} is not in a format barua knows.",
                hint=_HINT_DAMAGED,
            )
        return dict(document["settings"])

    def _validate(
        self, values: dict[str, Any], *, saved: bool, overrides: Collection[str] = ()
    ) -> Settings:
        """``values`` as Settings; each problem names the variable or file it came from."""
        try:
            return make_settings(**values)
        except SettingsError as exc:
            variables = {field: var for var, field in ENV_OVERRIDES.items() if field in overrides}
            problems: dict[str, str] = {}
            wrong: list[str] = []  # variables at fault, in order, once each
            for key, message in exc.problems.items():
                variable = variables.get(key.split("#", 1)[0])
                problems[key] = f"{variable}: {message}" if variable else message
                if variable and variable not in wrong:
                    wrong.append(variable)
            hints: list[str] = []
            if wrong:
                hints.append(f"Correct {_variables(wrong)}.")
            if any(variables.get(key.split("#", 1)[0]) is None for key in exc.problems):
                hints.append(
                    f"The saved settings in {self.path} hold this: correct them and save again."
                    if saved
                    else f"Nothing is saved in {self.path} yet: save the settings, or give "
                    "the missing values with the BARUA_* environment variables."
                )
            raise SettingsError(problems, hint=" ".join(hints)) from None


def _variables(names: list[str]) -> str:
    plural = "s" if len(names) > 1 else ""
    return f"the environment variable{plural} {', '.join(names)}"

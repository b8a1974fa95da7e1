"""The businesses and their email settings, kept in barua's database with secrets encrypted.

>>> store = SettingsStore(engine, home=home)                            # doctest: +SKIP
>>> shop = store.business()  # the only business, or "default"     # doctest: +SKIP
>>> store.update(shop, {"host": "smtp.example.com", "username": "shop@example.com",
...                     "password": "app-password"}).settings.password   # doctest: +SKIP
SecretStr('**********')

Settings live in the database beside the outbox (SQLite by default, the shared PostgreSQL when
``BARUA_DATABASE_URL`` is set), so every worker, web app and relay sharing the database sends
with the same settings, and a change made on one machine is seen by the others at once (each
business's ``settings_version`` grows with every change). Secrets are encrypted with the key
of :mod:`barua.secrets` (``BARUA_SECRET_KEY`` or ``$BARUA_HOME/secret.key``), which every
machine sharing the database must hold.

A change is a read-modify-write of one row, retried when another process saved in between, so
two changes at once both survive. A secret saved with a key that is no longer at hand (a lost
``secret.key``) cannot be read, but it must not lock the user out: one key always reads every
secret of a business, so a change that encrypts nothing keeps such a secret exactly as it was
(restoring its key brings it back), and a change that encrypts a secret removes those the key
at hand cannot read, and says so.

On servers and in containers the ``BARUA_*`` settings variables override the saved settings of
the default business, or stand in for them altogether (:meth:`SettingsStore.load_effective`).
An earlier barua kept one business's settings in ``$BARUA_HOME/settings.json``: the first use
imports that file into the default business and keeps it, renamed, as a backup.
"""

from __future__ import annotations

import re
import secrets
import time
import unicodedata
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from barua.database.engine import failure, first_line
from barua.database.errors import FAILED, FAILED_HINT, DatabaseError
from barua.environment import SETTINGS_VARIABLES
from barua.errors import SettingsError, StoreError, system_reason
from barua.secrets import decrypt, encrypt, find_key, load_key
from barua.settings import SECRET_FIELDS, Settings, make_settings, update_settings
from barua.store import document, statements
from barua.store.errors import (
    BUSINESS_EXISTS,
    BUSINESS_EXISTS_HINT,
    BUSINESS_HAS_MAIL,
    BUSINESS_HAS_MAIL_HINT,
    BUSINESS_NAME_CONTROL,
    BUSINESS_NAME_EMPTY,
    BUSINESS_NAME_HINT,
    BUSINESS_NAME_LONG,
    CANNOT_READ_FILE,
    CANNOT_READ_FILE_HINT,
    CHANGED_MEANWHILE,
    CHANGED_MEANWHILE_HINT,
    FIX_SAVED,
    NO_BUSINESS,
    NO_BUSINESS_HINT,
    NOTHING_SAVED_YET,
    VARIABLE_PROBLEM,
    WHICH_BUSINESS,
    WHICH_BUSINESS_HINT,
    fix_variables,
)
from barua.texts import Text, joined

DEFAULT_BUSINESS = "default"
"""The name (and key) of the business a new barua starts with."""
LEGACY_FILE = "settings.json"
"""Where an earlier barua kept the settings; imported once, then renamed with ``.imported``."""
LEGACY_TEMPLATES = "templates"
"""The folder of an earlier barua's edited email templates; imported the same way."""
TEMPLATE_FILES = "templates/"
"""The prefix of a business's edited email templates among its files."""
_TEMPLATE_NAME = re.compile(r"[a-z_]+\.[a-z]{2}\.(subject|body)\.txt")
NAME_LIMIT = 100
_ATTEMPTS = 20
_KEY_CHARACTERS = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Business:
    """A business barua sends for. ``key`` never changes; the outbox names the business by it."""

    key: str
    name: str
    created_at: datetime
    settings_version: int
    """Grows with every change of the settings."""
    has_settings: bool


@dataclass(frozen=True, slots=True)
class SignIn:
    """A business's sign-in with its provider: the tokens (secret) and when they expire."""

    account: str | None
    access_token: SecretStr
    refresh_token: SecretStr | None
    expires_at: float
    version: int
    failure: str | None
    """Set when the provider refused a refresh for good: a new sign-in is needed."""


@dataclass(frozen=True, slots=True)
class Saved:
    """What a change of the settings did."""

    settings: Settings
    removed: tuple[str, ...] = ()
    """Secrets removed: saved with a key not at hand, they could never be read together with
    the secrets encrypted now. They must be set again."""
    unreadable: tuple[str, ...] = ()
    """Secrets kept as they were saved, though the key at hand cannot read them."""


def folded(name: str) -> str:
    """``name`` as business names are compared: case and spacing do not make another one."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def check_name(name: str) -> str:
    """``name`` cleaned of surrounding spaces, or a :class:`SettingsError` saying what is wrong."""
    cleaned = " ".join(name.split())
    problem: Text | None = None
    if not cleaned:
        problem = BUSINESS_NAME_EMPTY()
    elif len(cleaned) > NAME_LIMIT:
        problem = BUSINESS_NAME_LONG(limit=NAME_LIMIT)
    elif any(unicodedata.category(char) in {"Cc", "Cf", "Cs"} for char in cleaned):
        problem = BUSINESS_NAME_CONTROL()
    if problem is not None:
        raise SettingsError({"business": problem}, hint=BUSINESS_NAME_HINT())
    return cleaned


class SettingsStore:
    """The businesses and their settings in the database of ``engine``.

    ``home`` holds the key file (unless ``secret_key``, the value of ``BARUA_SECRET_KEY``, is
    given) and, from an earlier barua, ``settings.json``. ``overrides`` are the ``BARUA_*``
    settings variables (see :data:`barua.environment.SETTINGS_VARIABLES`); they apply to the
    default business.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        home: Path,
        secret_key: str | None = None,
        overrides: Mapping[str, str] | None = None,
    ) -> None:
        self._engine = engine
        self._home = home
        self._secret_key = secret_key
        self._overrides = dict(overrides or {})
        self._ready = False

    def __repr__(self) -> str:
        return f"SettingsStore(home={str(self._home)!r})"

    @property
    def home(self) -> Path:
        return self._home

    # Businesses --------------------------------------------------------------------------------

    def businesses(self) -> list[Business]:
        """Every business, oldest first (there is always at least one)."""
        with self._transaction() as conn:
            return [_business(row) for row in conn.execute(statements.BUSINESSES)]

    def business(self, name: str | None = None) -> Business:
        """The business called ``name``; without a name, the default one: the only business,
        or the one named ``default``."""
        found = self.businesses()
        if name is not None:
            wanted = folded(name)
            for business in found:
                if folded(business.name) == wanted:
                    return business
            raise StoreError(NO_BUSINESS(name=name), hint=NO_BUSINESS_HINT(names=_names(found)))
        if len(found) == 1:
            return found[0]
        for business in found:
            if folded(business.name) == DEFAULT_BUSINESS:
                return business
        raise StoreError(
            WHICH_BUSINESS(names=_names(found)), hint=WHICH_BUSINESS_HINT(example=found[0].name)
        )

    def add_business(self, name: str) -> Business:
        """A new business called ``name``, with no settings yet."""
        name = check_name(name)
        key = _key_for(name)
        try:
            with self._transaction() as conn:
                conn.execute(
                    statements.INSERT_BUSINESS,
                    {
                        "key": key,
                        "name": name,
                        "folded_name": folded(name),
                        "created_at": time.time(),
                        "settings_version": 0,
                    },
                )
        except DatabaseError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                raise StoreError(BUSINESS_EXISTS(name=name), hint=BUSINESS_EXISTS_HINT()) from None
            raise
        return self.business(name)

    def rename_business(self, business: Business, new_name: str) -> Business:
        """``business`` under ``new_name``; its key, settings and mail stay as they are."""
        new_name = check_name(new_name)
        try:
            with self._transaction() as conn:
                conn.execute(
                    statements.RENAME_BUSINESS,
                    {"p_key": business.key, "p_name": new_name, "p_folded": folded(new_name)},
                )
        except DatabaseError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                raise StoreError(
                    BUSINESS_EXISTS(name=new_name), hint=BUSINESS_EXISTS_HINT()
                ) from None
            raise
        return self.business(new_name)

    def remove_business(self, business: Business) -> None:
        """Remove ``business`` with its settings and files; refused while mail of it waits in
        the outbox (checked in the same transaction, so none can slip in meanwhile)."""
        with self._transaction() as conn:
            # No email of the business may be queued between the count and the removal: take
            # SQLite's write lock first; on PostgreSQL, lock the business's row.
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.execute(statements.LOCK_BUSINESS, {"p_key": business.key})
            waiting = int(
                conn.execute(statements.WAITING_MAIL, {"p_key": business.key}).scalar() or 0
            )
            if waiting:
                raise StoreError(
                    BUSINESS_HAS_MAIL(name=business.name, count=waiting),
                    hint=BUSINESS_HAS_MAIL_HINT(),
                )
            conn.execute(statements.DELETE_BUSINESS_FILES, {"p_key": business.key})
            conn.execute(statements.DELETE_SIGN_IN, {"p_key": business.key})
            conn.execute(statements.DELETE_BUSINESS, {"p_key": business.key})

    # Settings ----------------------------------------------------------------------------------

    def load(self, business: Business, *, skip_secrets: Collection[str] = ()) -> Settings | None:
        """The saved settings of ``business``, or None when none are saved yet.

        The secrets named in ``skip_secrets`` are not decrypted but left unset: those the
        caller is about to replace, and those :meth:`unreadable_secrets` names.
        """
        saved, _ = self._read(business)
        if saved is None:
            return None
        values = self._decrypted(saved, skip=skip_secrets, business=business)
        return self._validate(values, business, saved=True)

    def load_effective(
        self, business: Business, *, skip_secrets: Collection[str] = ()
    ) -> Settings | None:
        """The saved settings with the environment's overrides applied (for the default
        business), validated as a whole; None when there are neither.

        A secret the environment gives is not decrypted, so a container can give the
        password even when the key it was saved with is not there; nor are those in
        ``skip_secrets``.
        """
        overrides = self.overrides_for(business)
        saved, _ = self._read(business)
        if saved is None and not overrides:
            return None
        values: dict[str, Any] = {}
        if saved is not None:
            skip = {*overrides.keys(), *skip_secrets}
            values = self._decrypted(saved, skip=skip, business=business)
        values.update(overrides)
        return self._validate(values, business, saved=saved is not None, overrides=overrides)

    def overrides_for(self, business: Business) -> dict[str, Any]:
        """The settings the ``BARUA_*`` variables give ``business``, by field (only the
        default business has any)."""
        if not self._overrides:
            return {}
        if business.key != self.business().key:
            return {}
        return document.env_values(self._overrides)

    def overridden_variables(self, business: Business) -> list[str]:
        """The ``BARUA_*`` settings variables that override ``business``'s settings."""
        if not self._overrides or business.key != self.business().key:
            return []
        return [name for name in SETTINGS_VARIABLES if name in self._overrides]

    def unreadable_secrets(self, business: Business) -> tuple[str, ...]:
        """The saved secrets of ``business`` the key at hand cannot decrypt: saved with a key
        that was lost or is not the one given (or damaged). They must be set again, or the key
        restored."""
        saved, _ = self._read(business)
        if saved is None or not saved.tokens:
            return ()
        return self._unreadable(saved)

    def update(
        self, business: Business, changes: Mapping[str, Any], *, replace: bool = False
    ) -> Saved:
        """Apply ``changes`` (field → new value; None removes an option or a secret) to the
        saved settings of ``business`` and save the result, validated as a whole.

        With ``replace`` the changes are the whole settings: nothing saved is kept (but the
        secrets it leaves unset that the key cannot read, as described above).

        The change is atomic: when another process saves in between, it is applied again to
        what that process saved.
        """
        for _ in range(_ATTEMPTS):
            saved, version = self._read(business)
            unreadable = self._unreadable(saved) if saved is not None else ()
            unreadable = tuple(name for name in unreadable if name not in changes)
            current: Settings | None = None
            if saved is not None and not replace:
                values = self._decrypted(saved, skip={*unreadable, *changes}, business=business)
                current = self._validate(values, business, saved=True)
            settings = update_settings(current, **changes)
            kept = tuple(name for name in unreadable if getattr(settings, name) is None)
            tokens, removed = self._tokens(settings, saved, kept)
            text = document.encode(settings, tokens)
            if self._write(business, text, expected=version):
                return Saved(settings, removed, tuple(n for n in kept if n not in removed))
        raise StoreError(CHANGED_MEANWHILE(name=business.name), hint=CHANGED_MEANWHILE_HINT())

    def save(self, business: Business, settings: Settings) -> Saved:
        """Save ``settings`` as the whole settings of ``business``."""
        values = {name: getattr(settings, name) for name in Settings.model_fields}
        return self.update(business, values, replace=True)

    def versions(self) -> dict[str, int]:
        """Each business's settings version, by key: one cheap query, for workers to notice
        a change made anywhere."""
        with self._transaction() as conn:
            return {row.key: int(row.settings_version) for row in conn.execute(statements.VERSIONS)}

    def export_settings(self, business: Business) -> str | None:
        """The settings document of ``business`` as saved, secrets still encrypted (None when
        nothing is saved): a backup that is useless without the key."""
        with self._transaction() as conn:
            row = conn.execute(statements.SETTINGS, {"p_key": business.key}).one_or_none()
        return None if row is None or row.settings is None else str(row.settings)

    def import_settings(self, business: Business, data: bytes | str, *, source: str) -> Settings:
        """Replace the settings of ``business`` with an exported document (or an earlier
        barua's ``settings.json``), secrets staying as they were encrypted."""
        saved = document.parse(data, source=source)
        unreadable = self._unreadable(saved)
        values = self._decrypted(saved, skip=unreadable, business=business)
        settings = self._validate(values, business, saved=True, source=source)
        for _ in range(_ATTEMPTS):
            _, version = self._read(business)
            if self._write(business, document.encode(settings, saved.tokens), expected=version):
                return settings
        raise StoreError(CHANGED_MEANWHILE(name=business.name), hint=CHANGED_MEANWHILE_HINT())

    # Files of a business -----------------------------------------------------------------------

    def file(self, business: Business, name: str) -> bytes | None:
        """The business's file ``name`` (an edited template, its logo), or None."""
        with self._transaction() as conn:
            data = conn.execute(statements.FILE, {"p_key": business.key, "p_name": name}).scalar()
        return None if data is None else bytes(data)

    def file_names(self, business: Business) -> list[str]:
        with self._transaction() as conn:
            return sorted(
                str(name)
                for name in conn.execute(statements.FILE_NAMES, {"p_key": business.key}).scalars()
            )

    def save_file(self, business: Business, name: str, data: bytes) -> None:
        """Store ``data`` as the business's file ``name``, replacing what was there."""
        with self._transaction() as conn:
            conn.execute(statements.DELETE_FILE, {"p_key": business.key, "p_name": name})
            conn.execute(
                statements.INSERT_FILE,
                {
                    "business_key": business.key,
                    "name": name,
                    "data": data,
                    "updated_at": time.time(),
                },
            )

    def delete_file(self, business: Business, name: str) -> bool:
        """Delete the business's file ``name``; True when there was one."""
        with self._transaction() as conn:
            result = conn.execute(statements.DELETE_FILE, {"p_key": business.key, "p_name": name})
        return bool(result.rowcount)

    # A sign-in with the provider (OAuth) ------------------------------------------------------

    def sign_in(self, business: Business) -> SignIn | None:
        """The business's tokens, decrypted, or None when it never signed in. Their ``version``
        grows with every refresh."""
        with self._transaction() as conn:
            row = conn.execute(statements.SIGN_IN, {"p_key": business.key}).one_or_none()
        if row is None:
            return None
        key = self._key(create=False)
        refresh = row.refresh_token
        return SignIn(
            account=row.account,
            access_token=SecretStr(decrypt(key, row.access_token, field="access_token")),
            refresh_token=(
                None if refresh is None else SecretStr(decrypt(key, refresh, field="refresh_token"))
            ),
            expires_at=float(row.expires_at),
            version=int(row.version),
            failure=row.failure,
        )

    def save_sign_in(
        self,
        business: Business,
        *,
        account: str | None,
        access_token: str,
        refresh_token: str | None,
        expires_at: float,
    ) -> None:
        """Keep a new sign-in's tokens (encrypted), replacing any earlier one."""
        key = self._key(create=True)
        now = time.time()
        with self._transaction() as conn:
            old = conn.execute(statements.SIGN_IN, {"p_key": business.key}).one_or_none()
            conn.execute(statements.DELETE_SIGN_IN, {"p_key": business.key})
            conn.execute(
                statements.INSERT_SIGN_IN,
                {
                    "business_key": business.key,
                    "account": account,
                    "access_token": encrypt(key, access_token),
                    "refresh_token": None if refresh_token is None else encrypt(key, refresh_token),
                    "expires_at": expires_at,
                    # A new sign-in is a new version too: workers holding the old tokens see it.
                    "version": 0 if old is None else int(old.version) + 1,
                    "updated_at": now,
                },
            )

    def forget_sign_in(self, business: Business) -> bool:
        """Delete the business's tokens; True when there were some."""
        with self._transaction() as conn:
            result = conn.execute(statements.DELETE_SIGN_IN, {"p_key": business.key})
        return bool(result.rowcount)

    def claim_refresh(self, business: Business, *, version: int, holder: str, lease: float) -> bool:
        """Take the right to refresh the tokens of ``version`` for ``lease`` seconds; False when
        another process holds it or has refreshed them already."""
        now = time.time()
        with self._transaction() as conn:
            result = conn.execute(
                statements.CLAIM_REFRESH,
                {
                    "p_key": business.key,
                    "p_version": version,
                    "p_now": now,
                    "p_holder": holder,
                    "p_until": now + lease,
                },
            )
        return bool(result.rowcount)

    def finish_refresh(
        self,
        business: Business,
        *,
        holder: str,
        access_token: str,
        refresh_token: str | None,
        expires_at: float,
    ) -> None:
        """Keep refreshed tokens, in one row update (the old refresh token is gone with it)."""
        key = self._key(create=True)
        with self._transaction() as conn:
            conn.execute(
                statements.FINISH_REFRESH,
                {
                    "p_key": business.key,
                    "p_holder": holder,
                    "p_access": encrypt(key, access_token),
                    "p_refresh": None if refresh_token is None else encrypt(key, refresh_token),
                    "p_expires": expires_at,
                    "p_now": time.time(),
                },
            )

    def fail_refresh(self, business: Business, *, holder: str, failure: str | None) -> None:
        """Give back the right to refresh; ``failure`` marks the sign-in dead."""
        with self._transaction() as conn:
            conn.execute(
                statements.FAIL_REFRESH,
                {
                    "p_key": business.key,
                    "p_holder": holder,
                    "p_failure": failure,
                    "p_now": time.time(),
                },
            )

    # Internals ---------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        if not self._ready:
            self._prepare()
        try:
            with self._engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise failure(
                DatabaseError,
                exc,
                self._engine.url,
                text=FAILED(reason=first_line(exc)),
                hint=FAILED_HINT(),
            ) from exc

    def _prepare(self) -> None:
        """On first use: the default business, with the settings of an earlier barua."""
        self._ready = True
        with self._transaction() as conn:
            if conn.execute(statements.BUSINESSES.limit(1)).first() is not None:
                return
            try:
                with conn.begin_nested():
                    conn.execute(
                        statements.INSERT_BUSINESS,
                        {
                            "key": DEFAULT_BUSINESS,
                            "name": DEFAULT_BUSINESS,
                            "folded_name": DEFAULT_BUSINESS,
                            "created_at": time.time(),
                            "settings_version": 0,
                        },
                    )
            except IntegrityError:
                return  # another process made it at the same moment
        self._import_legacy_file()
        self._import_legacy_templates()

    def _import_legacy_templates(self) -> None:
        folder = self._home / LEGACY_TEMPLATES
        if not folder.is_dir():
            return
        business = self.business()
        for path in sorted(folder.iterdir()):
            if _TEMPLATE_NAME.fullmatch(path.name) and path.is_file():
                self.save_file(business, TEMPLATE_FILES + path.name, path.read_bytes())
        folder.replace(folder.with_name(LEGACY_TEMPLATES + ".imported"))

    def _import_legacy_file(self) -> None:
        path = self._home / LEGACY_FILE
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StoreError(
                CANNOT_READ_FILE(path=path, reason=system_reason(exc)),
                hint=CANNOT_READ_FILE_HINT(),
            ) from exc
        business = self.business()
        if not business.has_settings:
            self.import_settings(business, data, source=str(path))
        # Kept as a backup, out of the way of the next start.
        path.replace(path.with_name(LEGACY_FILE + ".imported"))

    def _read(self, business: Business) -> tuple[document.SavedSettings | None, int]:
        with self._transaction() as conn:
            row = conn.execute(statements.SETTINGS, {"p_key": business.key}).one_or_none()
        if row is None:
            raise StoreError(
                NO_BUSINESS(name=business.name),
                hint=NO_BUSINESS_HINT(names=_names(self.businesses())),
            )
        if row.settings is None:
            return None, int(row.settings_version)
        source = f'"{business.name}"'
        return document.parse(str(row.settings), source=source), int(row.settings_version)

    def _write(self, business: Business, text: str, *, expected: int) -> bool:
        with self._transaction() as conn:
            result = conn.execute(
                statements.SAVE_SETTINGS,
                {
                    "p_key": business.key,
                    "p_expected": expected,
                    "p_settings": text,
                    "p_now": time.time(),
                },
            )
        return bool(result.rowcount)

    def seal(self, text: str) -> str:
        """``text`` encrypted and authenticated with the installation's key: for a value a
        browser carries for barua (a sign-in in progress) and must neither read nor change."""
        return Fernet(self._key(create=True)).encrypt(text.encode("utf-8")).decode("ascii")

    def unseal(self, token: str, *, max_age: float) -> str | None:
        """What :meth:`seal` sealed, if ``token`` is one of its seals at most ``max_age``
        seconds old; None otherwise."""
        key = find_key(self._home, env_key=self._secret_key)
        if key is None:
            return None
        try:
            plain = Fernet(key).decrypt(token.encode("ascii"), ttl=int(max_age))
        except (InvalidToken, UnicodeEncodeError, ValueError):
            return None
        return plain.decode("utf-8")

    def _key(self, *, create: bool) -> bytes:
        return load_key(self._home, create=create, env_key=self._secret_key)

    def _unreadable(self, saved: document.SavedSettings) -> tuple[str, ...]:
        if not saved.tokens:
            return ()
        key = find_key(self._home, env_key=self._secret_key)
        if key is None:
            return tuple(saved.tokens)
        unreadable: list[str] = []
        for name, token in saved.tokens.items():
            try:
                decrypt(key, token, field=name)
            except StoreError:
                unreadable.append(name)
        return tuple(unreadable)

    def _decrypted(
        self, saved: document.SavedSettings, *, skip: Collection[str], business: Business
    ) -> dict[str, Any]:
        values = dict(saved.values)
        tokens = {name: token for name, token in saved.tokens.items() if name not in skip}
        if tokens:
            key = self._key(create=False)
            for name, token in tokens.items():
                values[name] = decrypt(key, token, field=name)
        return values

    def _tokens(
        self,
        settings: Settings,
        saved: document.SavedSettings | None,
        kept: tuple[str, ...],
    ) -> tuple[dict[str, str], tuple[str, ...]]:
        """The secrets of ``settings`` encrypted, plus the unreadable ones ``kept``; and the
        kept ones removed because something is encrypted now (no key could read both)."""
        plaintexts = {
            name: value.get_secret_value()
            for name in SECRET_FIELDS
            if (value := getattr(settings, name)) is not None
        }
        old = saved.tokens if saved is not None else {}
        kept = tuple(name for name in kept if name in old)
        if not plaintexts:
            return {name: old[name] for name in kept}, ()
        key = self._key(create=True)
        return {name: encrypt(key, text) for name, text in plaintexts.items()}, kept

    def _validate(
        self,
        values: dict[str, Any],
        business: Business,
        *,
        saved: bool,
        overrides: Collection[str] = (),
        source: str | None = None,
    ) -> Settings:
        """``values`` as Settings; each problem names the variable or the saved settings it
        came from."""
        try:
            return make_settings(**values)
        except SettingsError as exc:
            variables = {
                name: variable for variable, name in SETTINGS_VARIABLES.items() if name in overrides
            }
            problems: dict[str, Text] = {}
            wrong: list[str] = []  # variables at fault, in order, once each
            for key, problem in exc.problems.items():
                variable = variables.get(key.split("#", 1)[0])
                problems[key] = (
                    VARIABLE_PROBLEM(variable=variable, problem=problem) if variable else problem
                )
                if variable and variable not in wrong:
                    wrong.append(variable)
            hints: list[Text] = []
            if wrong:
                hints.append(fix_variables(wrong))
            if any(variables.get(key.split("#", 1)[0]) is None for key in exc.problems):
                where = source or business.name
                hints.append(
                    FIX_SAVED(business=where) if saved else NOTHING_SAVED_YET(business=where)
                )
            hint = hints[0] if len(hints) == 1 else joined("store.hints", tuple(hints))
            raise SettingsError(problems, hint=hint) from None


def _business(row: Any) -> Business:
    return Business(
        key=row.key,
        name=row.name,
        created_at=datetime.fromtimestamp(row.created_at, UTC),
        settings_version=int(row.settings_version),
        has_settings=bool(row.has_settings),
    )


def _names(found: list[Business]) -> str:
    return ", ".join(business.name for business in found)


def _key_for(name: str) -> str:
    """A key for a new business: its name in plain letters, made unique with random digits."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    stem = _KEY_CHARACTERS.sub("-", ascii_name.lower()).strip("-")[:40] or "business"
    return f"{stem}-{secrets.token_hex(3)}"

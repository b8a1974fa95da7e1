"""The people who use the web app, their sessions, the setup links that let the first of them
in, and the API tokens of business programs: all in barua's database, so that several web
processes on several machines share them.

Nothing here is kept in a form that lets the database alone in: passwords as argon2id hashes,
session cookies, setup links and API tokens as SHA-256 hashes of 256-bit random tokens.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from barua.database.engine import failure, first_line
from barua.database.errors import FAILED, FAILED_HINT, DatabaseError
from barua.database.tables import api_tokens, login_attempts, setup_links, users, web_sessions
from barua.errors import StoreError
from barua.store.errors import (
    API_TOKEN_NAME_EMPTY,
    LAST_USER,
    NO_USER,
    PASSWORD_HINT,
    PASSWORD_IS_USERNAME,
    PASSWORD_LONG,
    PASSWORD_SHORT,
    SETUP_LINK_HINT,
    SETUP_LINK_INVALID,
    TOO_MANY_ATTEMPTS,
    USERNAME_EMPTY,
    USERNAME_INVALID,
    USERNAME_TAKEN,
    WRONG_LOGIN,
)

PASSWORD_MIN = 10
PASSWORD_MAX = 1024
"""argon2 hashes any length; a limit keeps a megabyte "password" from costing a request."""
USERNAME_MAX = 100

SESSION_IDLE = 12 * 3600.0
"""A session unused this long ends: the next request signs in again."""
SESSION_MAX = 30 * 24 * 3600.0
"""However active, a session ends after this long."""
SETUP_LINK_LIFETIME = 3600.0

ATTEMPT_WINDOW = 15 * 60.0
"""Wrong passwords count for this long."""
USER_ATTEMPTS = 5
"""Wrong passwords for one username within the window before its sign-in waits."""
ADDRESS_ATTEMPTS = 20
"""Wrong passwords from one address within the window (any usernames) before it waits."""

_HASHER = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """A hash to check a password against when the user does not exist (made on first use:
    each hash costs 64 MB and a fifth of a second)."""
    return _HASHER.hash("barua: a password nobody has")


class AccessError(StoreError):
    """A user, a password, a session, a setup link or an API token is refused."""


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    language: str | None
    created_at: float
    last_login_at: float | None


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in user's session: who, and the token every form must carry (CSRF)."""

    user: User
    csrf_token: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: int
    name: str
    prefix: str
    """The token's first characters, to tell it apart in a list."""
    business_key: str
    created_at: float
    last_used_at: float | None
    revoked_at: float | None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def folded(username: str) -> str:
    """``username`` as usernames are compared: case and spacing do not make another one."""
    return " ".join(unicodedata.normalize("NFKC", username).casefold().split())


class UserStore:
    """Users, sessions, setup links and API tokens in barua's database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # Users -------------------------------------------------------------------------------------

    def count(self) -> int:
        with self._connect() as conn:
            return int(conn.execute(select(func.count()).select_from(users)).scalar_one())

    def users(self) -> list[User]:
        with self._connect() as conn:
            rows = conn.execute(select(users).order_by(users.c.folded_username)).mappings()
            return [_user(row) for row in rows]

    def user(self, user_id: int) -> User:
        with self._connect() as conn:
            row = conn.execute(select(users).where(users.c.id == user_id)).mappings().first()
        if row is None:
            raise AccessError(NO_USER())
        return _user(row)

    def add(self, username: str, password: str, *, language: str | None = None) -> User:
        """A new user; raises :class:`AccessError` for a taken name or a weak password."""
        name = _checked_username(username)
        _check_password(password, name)
        now = time.time()
        try:
            with self._begin() as conn:
                new_id = conn.execute(
                    insert(users).values(
                        username=name,
                        folded_username=folded(name),
                        password_hash=_HASHER.hash(password),
                        language=language,
                        created_at=now,
                    )
                ).inserted_primary_key
        except IntegrityError:
            raise AccessError(USERNAME_TAKEN(name=name)) from None
        assert new_id is not None
        return User(int(new_id[0]), name, language, now, None)

    def set_password(self, user_id: int, password: str) -> None:
        """A new password; every session of the user ends (someone may have had the old one)."""
        user = self.user(user_id)
        _check_password(password, user.username)
        with self._begin() as conn:
            conn.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(password_hash=_HASHER.hash(password))
            )
            conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))

    def set_language(self, user_id: int, language: str) -> None:
        with self._begin() as conn:
            conn.execute(update(users).where(users.c.id == user_id).values(language=language))

    def remove(self, user_id: int) -> None:
        """Remove a user and end their sessions; the last user stays."""
        with self._begin() as conn:
            total = conn.execute(select(func.count()).select_from(users)).scalar_one()
            if total <= 1:
                raise AccessError(LAST_USER())
            conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))
            conn.execute(
                update(api_tokens).where(api_tokens.c.created_by == user_id).values(created_by=None)
            )
            if conn.execute(delete(users).where(users.c.id == user_id)).rowcount == 0:
                raise AccessError(NO_USER())

    # Signing in --------------------------------------------------------------------------------

    def verify(self, username: str, password: str, *, address: str) -> User:
        """The user whose ``password`` this is; raises :class:`AccessError` for a wrong one, or
        while too many wrong ones were tried for this name or from this ``address`` (then even
        the right password waits: a guesser learns nothing from the answer)."""
        key = folded(username)[:200]
        now = time.time()
        since = now - ATTEMPT_WINDOW
        with self._connect() as conn:
            row = conn.execute(select(users).where(users.c.folded_username == key)).mappings()
            found = row.first()
            wait = self._wait(conn, key, address, since, now)
        if wait is not None:
            raise AccessError(TOO_MANY_ATTEMPTS(minutes=max(1, round(wait / 60))))
        stored = found["password_hash"] if found is not None else _dummy_hash()
        ok = False
        try:
            # A missing user costs the same hash as a wrong password: the time tells nothing.
            ok = _HASHER.verify(stored, password[:PASSWORD_MAX]) and found is not None
        except (VerificationError, InvalidHashError):
            ok = False
        with self._begin() as conn:
            conn.execute(
                insert(login_attempts).values(
                    folded_username=key, address=address[:64], at=now, ok=ok
                )
            )
            conn.execute(delete(login_attempts).where(login_attempts.c.at < since))
            if ok and found is not None:
                values: dict[str, Any] = {"last_login_at": now}
                if _HASHER.check_needs_rehash(stored):
                    values["password_hash"] = _HASHER.hash(password)
                conn.execute(update(users).where(users.c.id == found["id"]).values(**values))
        if not ok or found is None:
            raise AccessError(WRONG_LOGIN())
        return _user(found)

    def _wait(self, conn: Any, key: str, address: str, since: float, now: float) -> float | None:
        """Seconds until this name and address may try again; None: now."""
        failed = login_attempts.c.ok.is_(False)
        recent = login_attempts.c.at >= since
        for column, value, limit in (
            (login_attempts.c.folded_username, key, USER_ATTEMPTS),
            (login_attempts.c.address, address[:64], ADDRESS_ATTEMPTS),
        ):
            times = conn.execute(
                select(login_attempts.c.at)
                .where(column == value, failed, recent)
                .order_by(login_attempts.c.at.desc())
                .limit(limit)
            ).scalars()
            found = list(times)
            if len(found) >= limit:
                # The oldest of the last ``limit`` failures must leave the window first.
                return float(found[-1]) + ATTEMPT_WINDOW - now
        return None

    # Sessions ----------------------------------------------------------------------------------

    def open_session(self, user: User) -> tuple[str, Session]:
        """A new session for ``user``: the cookie's token (shown once) and the session."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = time.time()
        expires = now + SESSION_IDLE
        with self._begin() as conn:
            conn.execute(
                insert(web_sessions).values(
                    token_hash=token_hash(token),
                    user_id=user.id,
                    csrf_token=csrf,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=expires,
                )
            )
            conn.execute(delete(web_sessions).where(web_sessions.c.expires_at < now))
        return token, Session(user, csrf, expires)

    def session(self, token: str) -> Session | None:
        """The live session of the cookie's ``token``, its idle time started again; None."""
        now = time.time()
        key = token_hash(token)
        with self._connect() as conn:
            row = (
                conn.execute(
                    select(
                        users,
                        web_sessions.c.csrf_token,
                        web_sessions.c.expires_at.label("session_expires_at"),
                        web_sessions.c.created_at.label("session_created_at"),
                    )
                    .join(users, users.c.id == web_sessions.c.user_id)
                    .where(web_sessions.c.token_hash == key, web_sessions.c.expires_at > now)
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        expires = min(row["session_created_at"] + SESSION_MAX, now + SESSION_IDLE)
        if expires - row["session_expires_at"] > 60:  # at most one write a minute per session
            with self._begin() as conn:
                conn.execute(
                    update(web_sessions)
                    .where(web_sessions.c.token_hash == key)
                    .values(last_seen_at=now, expires_at=expires)
                )
        user = _user(row)
        return Session(user, row["csrf_token"], max(expires, row["session_expires_at"]))

    def close_session(self, token: str) -> None:
        with self._begin() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.token_hash == token_hash(token)))

    # Setup links -------------------------------------------------------------------------------

    def create_setup_link(self) -> str:
        """A one-time token for the first user to choose a password, valid for an hour."""
        token = secrets.token_urlsafe(32)
        now = time.time()
        with self._begin() as conn:
            conn.execute(
                insert(setup_links).values(
                    token_hash=token_hash(token),
                    created_at=now,
                    expires_at=now + SETUP_LINK_LIFETIME,
                )
            )
        return token

    def setup_link_valid(self, token: str) -> bool:
        with self._connect() as conn:
            row = conn.execute(
                select(setup_links.c.token_hash).where(*_live_link(token, time.time()))
            ).first()
        return row is not None

    def use_setup_link(self, token: str, username: str, password: str) -> User:
        """Spend the link ``token`` on a new user. A link works once, within its hour."""
        name = _checked_username(username)
        _check_password(password, name)
        with self._begin() as conn:
            spent = conn.execute(
                update(setup_links)
                .where(*_live_link(token, time.time()))
                .values(used_at=time.time())
            ).rowcount
        if spent != 1:
            raise AccessError(SETUP_LINK_INVALID(), hint=SETUP_LINK_HINT())
        return self.add(name, password)

    # API tokens --------------------------------------------------------------------------------

    def create_api_token(
        self, business_key: str, name: str, *, created_by: int | None
    ) -> tuple[str, ApiToken]:
        """A new token for the API, for one business: the token (shown once) and its row."""
        label = " ".join(name.split())
        if not label:
            raise AccessError(API_TOKEN_NAME_EMPTY())
        token = "barua_" + secrets.token_urlsafe(32)
        now = time.time()
        with self._begin() as conn:
            new_id = conn.execute(
                insert(api_tokens).values(
                    token_hash=token_hash(token),
                    prefix=token[:12],
                    name=label[:200],
                    business_key=business_key,
                    created_by=created_by,
                    created_at=now,
                )
            ).inserted_primary_key
        assert new_id is not None
        return token, ApiToken(int(new_id[0]), label, token[:12], business_key, now, None, None)

    def api_token(self, token: str) -> ApiToken | None:
        """The live token ``token`` (its use noted); None for an unknown or revoked one."""
        now = time.time()
        with self._connect() as conn:
            row = (
                conn.execute(
                    select(api_tokens).where(
                        api_tokens.c.token_hash == token_hash(token),
                        api_tokens.c.revoked_at.is_(None),
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        if row["last_used_at"] is None or now - row["last_used_at"] > 60:
            with self._begin() as conn:
                conn.execute(
                    update(api_tokens).where(api_tokens.c.id == row["id"]).values(last_used_at=now)
                )
        return _api_token(row)

    def api_tokens(self, business_key: str | None = None) -> list[ApiToken]:
        query = select(api_tokens).order_by(api_tokens.c.created_at.desc())
        if business_key is not None:
            query = query.where(api_tokens.c.business_key == business_key)
        with self._connect() as conn:
            return [_api_token(row) for row in conn.execute(query).mappings()]

    def revoke_api_token(self, token_id: int) -> None:
        with self._begin() as conn:
            conn.execute(
                update(api_tokens)
                .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=time.time())
            )

    # Internals ---------------------------------------------------------------------------------

    def _connect(self) -> Any:
        return _Guarded(self._engine, begin=False)

    def _begin(self) -> Any:
        return _Guarded(self._engine, begin=True)


class _Guarded:
    """A connection (or a transaction) whose database failures become barua's error."""

    def __init__(self, engine: Engine, *, begin: bool) -> None:
        self._engine = engine
        self._begin = begin
        self._context: Any = None

    def __enter__(self) -> Any:
        try:
            self._context = self._engine.begin() if self._begin else self._engine.connect()
            return self._context.__enter__()
        except SQLAlchemyError as exc:
            raise _failed(self._engine, exc) from exc

    def __exit__(self, *exc_info: Any) -> bool:
        try:
            return bool(self._context.__exit__(*exc_info))
        except IntegrityError:
            raise
        except SQLAlchemyError as exc:
            raise _failed(self._engine, exc) from exc


def _failed(engine: Engine, exc: SQLAlchemyError) -> DatabaseError:
    return failure(
        DatabaseError, exc, engine.url, text=FAILED(reason=first_line(exc)), hint=FAILED_HINT()
    )


def _live_link(token: str, now: float) -> tuple[Any, ...]:
    return (
        setup_links.c.token_hash == token_hash(token),
        setup_links.c.used_at.is_(None),
        setup_links.c.expires_at > now,
    )


def _checked_username(username: str) -> str:
    name = " ".join(username.split())
    if not name:
        raise AccessError(USERNAME_EMPTY())
    if len(name) > USERNAME_MAX or any(unicodedata.category(c) == "Cc" for c in name):
        raise AccessError(USERNAME_INVALID(limit=USERNAME_MAX))
    return name


def _check_password(password: str, username: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise AccessError(PASSWORD_SHORT(minimum=PASSWORD_MIN), hint=PASSWORD_HINT())
    if len(password) > PASSWORD_MAX:
        raise AccessError(PASSWORD_LONG(maximum=PASSWORD_MAX))
    if folded(password) == folded(username):
        raise AccessError(PASSWORD_IS_USERNAME(), hint=PASSWORD_HINT())


def _user(row: Any) -> User:
    return User(
        int(row["id"]), row["username"], row["language"], row["created_at"], row["last_login_at"]
    )


def _api_token(row: Any) -> ApiToken:
    return ApiToken(
        int(row["id"]),
        row["name"],
        row["prefix"],
        row["business_key"],
        row["created_at"],
        row["last_used_at"],
        row["revoked_at"],
    )

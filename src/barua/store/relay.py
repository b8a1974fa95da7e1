"""The relay's keys, the decisions it recorded, the messages it accepted, each key's
suppression list and the relay's own settings, in barua's database.

Keys are kept as SHA-256 hashes of 190-bit random keys (``brk_`` and 32 base62 characters):
the database alone cannot send mail. The statements a decision needs take the connection of
the transaction that stores the message, so a message and its idempotency record are
committed together (:func:`recorded`, :func:`record`, :func:`allowance`, :func:`consume`,
:func:`suppressed_among`, :func:`remembered_message`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import string
import time
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from barua.database import direct
from barua.database.direct import ENTRY_ID, RowBeside
from barua.database.engine import failure, first_line
from barua.database.errors import FAILED, FAILED_HINT, DatabaseError
from barua.database.tables import (
    relay_config,
    relay_idempotency,
    relay_keys,
    relay_messages,
    relay_suppressed,
)
from barua.errors import StoreError
from barua.secrets import decrypt, encrypt, load_key
from barua.texts import Message

KEY_PREFIX = "brk_"
_BASE62 = string.ascii_letters + string.digits
OPEN_IDENTITY = 0
"""The identity every request of an open relay (no key) shares."""
IDEMPOTENCY_WINDOW = 24 * 3600.0

NO_KEY = Message("store.relay_no_key", 'there is no relay key named "{name}"')
NO_KEY_HINT = Message("store.relay_no_key_hint", "`barua relay keys list` shows the keys.")
KEY_EXISTS = Message("store.relay_key_exists", 'there is already a relay key named "{name}"')
KEY_NAME_INVALID = Message(
    "store.relay_key_name", "a key's name must be 1 to 100 characters, without control characters"
)
KEY_REVOKED = Message("store.relay_key_revoked", 'the relay key "{name}" is revoked for good')
KEY_REVOKED_HINT = Message("store.relay_key_revoked_hint", "Create a new key instead.")


class KeyStatus:
    ENABLED = "enabled"
    DISABLED = "disabled"
    """Known, refused with 403 until enabled again."""
    REVOKED = "revoked"
    """Refused with 401 for good."""


@dataclass(frozen=True, slots=True)
class RelayKey:
    """An API key's sender identity: who it may send as, how fast and how much."""

    id: int
    name: str
    prefix: str
    senders: tuple[str, ...]
    """Addresses and ``@domains`` it may send as."""
    rate_per_minute: int | None
    daily_quota: int | None
    from_address: str | None
    """The address its mail is sent from, instead of the relay's."""
    status: str
    created_at: float

    def may_send_as(self, address: str) -> bool:
        """Whether ``envelope.mail_from`` may be ``address`` (a domain without case)."""
        local, _, domain = address.rpartition("@")
        for allowed in self.senders:
            if allowed.startswith("@"):
                if domain.lower() == allowed[1:].lower():
                    return True
            else:
                allowed_local, _, allowed_domain = allowed.rpartition("@")
                if local == allowed_local and domain.lower() == allowed_domain.lower():
                    return True
        return False

    @property
    def limited(self) -> bool:
        return self.rate_per_minute is not None or self.daily_quota is not None


OPEN_KEY = RelayKey(OPEN_IDENTITY, "(open)", "", (), None, None, None, KeyStatus.ENABLED, 0.0)


@dataclass(frozen=True, slots=True)
class Suppression:
    address: str
    code: int
    reason: str
    created_at: float


@dataclass(frozen=True, slots=True)
class Recorded:
    """A decision the relay recorded: what it answered to a request."""

    fingerprint: str
    status: int
    answer: bytes


@dataclass(frozen=True, slots=True)
class Limited:
    """A key's rate or quota is used up: which, and in how many seconds it allows again."""

    quota: bool
    retry_after: float
    limit: int


@dataclass(frozen=True, slots=True)
class AcceptedMessage:
    """A message the relay accepted, as a bounce finds it by its id."""

    id: str
    identity: int
    outbox_pk: int | None
    mail_from: str
    message_id: str


_FAILURES_NOTICED = "failures_noticed_through"
"""relay_config's row with the id of the last delivery attempt whose failures were looked at."""


@dataclass(frozen=True, slots=True)
class RelayConfig:
    """The relay's own settings (``barua relay settings``)."""

    sending_address: str | None = None
    """The From address of the mail it sends, display names kept."""
    bounce_address: str | None = None
    """Where bounces come back, with each message's id after a + (default: bounces@ the
    sending address's domain)."""
    direct: bool = False
    """Send to each recipient's MX itself instead of through the home's email settings."""
    mx_port: int = 25
    domain_connections: int = 2
    """Connections at once to one recipient domain (direct delivery)."""
    dkim_domain: str | None = None
    dkim_selector: str | None = None
    dkim_key: bytes | None = field(default=None, repr=False)
    """The signing key (PEM), decrypted; stored encrypted."""
    smtputf8: bool | None = None
    """Whether the next hop takes SMTPUTF8 (international addresses and headers): False, and
    what needs it is refused before the ``202`` (``553``, section 6.8); None (not known) or
    True, and it is accepted (and bounces if the next hop does not take it)."""

    @property
    def bounces(self) -> str | None:
        if self.bounce_address:
            return self.bounce_address
        if self.sending_address:
            return "bounces@" + self.sending_address.rpartition("@")[2]
        return None


def new_key() -> str:
    """A new API key: ``brk_`` and 32 base62 characters (190 bits)."""
    return KEY_PREFIX + "".join(secrets.choice(_BASE62) for _ in range(32))


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _folded(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def normalised(address: str) -> str:
    """An address as the suppression list keeps it: the domain in lower case."""
    local, _, domain = address.strip().rpartition("@")
    return f"{local}@{domain.lower()}"


class RelayStore:
    """The relay's keys, suppression lists and settings in barua's database."""

    def __init__(self, engine: Engine, *, home: Path, secret_key: str | None) -> None:
        self._engine = engine
        self._home = home
        self._secret_key = secret_key

    # Keys --------------------------------------------------------------------------------------

    def create_key(
        self,
        name: str,
        *,
        senders: tuple[str, ...],
        rate_per_minute: int | None = None,
        daily_quota: int | None = None,
        from_address: str | None = None,
    ) -> tuple[str, RelayKey]:
        """A new key, enabled: the key itself (shown once) and what is kept of it."""
        shown = " ".join(name.split())
        if not shown or len(shown) > 100 or any(unicodedata.category(c) == "Cc" for c in shown):
            raise StoreError(KEY_NAME_INVALID())
        key = new_key()
        now = time.time()
        values = {
            "name": shown,
            "folded_name": _folded(shown),
            "key_hash": key_hash(key),
            "prefix": key[:8],
            "senders": json.dumps(list(senders)),
            "rate_per_minute": rate_per_minute,
            "daily_quota": daily_quota,
            "from_address": from_address,
            "status": KeyStatus.ENABLED,
            "created_at": now,
            "bucket_tokens": float(rate_per_minute) if rate_per_minute else None,
            "bucket_at": now if rate_per_minute else None,
            "quota_used": 0,
        }
        try:
            with self._begin() as conn:
                new_id = conn.execute(insert(relay_keys).values(values)).inserted_primary_key
        except IntegrityError:
            raise StoreError(KEY_EXISTS(name=shown)) from None
        assert new_id is not None
        return key, _key(values | {"id": int(new_id[0])})

    def keys(self) -> list[RelayKey]:
        with self._connect() as conn:
            rows = conn.execute(select(relay_keys).order_by(relay_keys.c.id)).mappings()
            return [_key(row) for row in rows]

    def key_named(self, name: str) -> RelayKey:
        with self._connect() as conn:
            row = (
                conn.execute(select(relay_keys).where(relay_keys.c.folded_name == _folded(name)))
                .mappings()
                .first()
            )
        if row is None:
            raise StoreError(NO_KEY(name=name), hint=NO_KEY_HINT())
        return _key(row)

    def set_status(self, name: str, status: str) -> RelayKey:
        """Disable, enable or revoke the key ``name``; a revoked key stays revoked."""
        key = self.key_named(name)
        if key.status == KeyStatus.REVOKED and status != KeyStatus.REVOKED:
            raise StoreError(KEY_REVOKED(name=key.name), hint=KEY_REVOKED_HINT())
        with self._begin() as conn:
            conn.execute(update(relay_keys).where(relay_keys.c.id == key.id).values(status=status))
        return replace(key, status=status)

    def identify(self, key: str) -> RelayKey | None:
        """The key's identity (whatever its status), or None for a key the relay never made.

        Found by its hash, then the hashes compared in constant time."""
        wanted = key_hash(key)
        with self._connect() as conn:
            row = conn.execute(_FIND_KEY, {"hash": wanted}).mappings().first()
        if row is None or not hmac.compare_digest(str(row["key_hash"]), wanted):
            return None
        return _key(row)

    # Suppression lists -------------------------------------------------------------------------

    def suppressed(self, identity: int) -> list[Suppression]:
        with self._connect() as conn:
            rows = conn.execute(
                select(relay_suppressed)
                .where(relay_suppressed.c.identity == identity)
                .order_by(relay_suppressed.c.created_at)
            ).mappings()
            return [
                Suppression(row["address"], row["code"], row["reason"], row["created_at"])
                for row in rows
            ]

    def unsuppress(self, identity: int, address: str) -> bool:
        with self._begin() as conn:
            result = conn.execute(
                delete(relay_suppressed).where(
                    relay_suppressed.c.identity == identity,
                    relay_suppressed.c.address == normalised(address),
                )
            )
            return bool(result.rowcount)

    def suppress(self, identity: int, address: str, *, code: int, reason: str) -> None:
        with self._begin() as conn:
            suppress(conn, identity, address, code=code, reason=reason)

    # Accepted messages -------------------------------------------------------------------------

    def accepted_message(self, message: str) -> AcceptedMessage | None:
        with self._connect() as conn:
            row = (
                conn.execute(select(relay_messages).where(relay_messages.c.id == message))
                .mappings()
                .first()
            )
        if row is None:
            return None
        return AcceptedMessage(
            row["id"], int(row["identity"]), row["outbox_pk"], row["mail_from"], row["message_id"]
        )

    def forget_decisions(self, *, before: float) -> int:
        """Delete the idempotency records made before ``before``; how many."""
        with self._begin() as conn:
            result = conn.execute(_FORGET_OLD_DECISIONS, {"before": before})
            return int(result.rowcount)

    # Settings ----------------------------------------------------------------------------------

    def config(self) -> RelayConfig:
        with self._connect() as conn:
            value = conn.execute(
                select(relay_config.c.value).where(relay_config.c.key == "relay")
            ).scalar()
        if value is None:
            return RelayConfig()
        data = json.loads(value)
        key = data.pop("dkim_key", None)
        if isinstance(key, dict) and "fernet" in key:
            secret = load_key(self._home, create=False, env_key=self._secret_key)
            data["dkim_key"] = decrypt(secret, key["fernet"], field="DKIM key").encode("ascii")
        known = set(RelayConfig.__dataclass_fields__)
        return RelayConfig(**{k: v for k, v in data.items() if k in known})

    def save_config(self, config: RelayConfig) -> None:
        data: dict[str, Any] = {
            name: getattr(config, name)
            for name in RelayConfig.__dataclass_fields__
            if name != "dkim_key"
        }
        if config.dkim_key is not None:
            secret = load_key(self._home, create=True, env_key=self._secret_key)
            data["dkim_key"] = {"fernet": encrypt(secret, config.dkim_key.decode("ascii"))}
        text = json.dumps(data)
        with self._begin() as conn:
            done = conn.execute(
                update(relay_config).where(relay_config.c.key == "relay").values(value=text)
            ).rowcount
            if not done:
                conn.execute(insert(relay_config).values(key="relay", value=text))

    # Connections -------------------------------------------------------------------------------

    def _connect(self) -> Any:
        return _Guarded(self._engine, begin=False)

    def _begin(self) -> Any:
        return _Guarded(self._engine, begin=True)


_NOTICE_MARK = select(relay_config.c.value).where(relay_config.c.key == _FAILURES_NOTICED)
_MOVE_NOTICE_MARK = (
    update(relay_config)
    .where(relay_config.c.key == _FAILURES_NOTICED, relay_config.c.value == bindparam("old"))
    .values(value=bindparam("new"))
)
_ACCEPTED_BY_OUTBOX = select(relay_messages).where(
    relay_messages.c.outbox_pk.in_(bindparam("ids", expanding=True))
)


# Within the transaction that stores a message --------------------------------------------------

# Built once: a statement made per call costs SQLAlchemy more than SQLite takes to run it, in
# the one thread that commits every request's writes.
_FIND_KEY = select(relay_keys).where(relay_keys.c.key_hash == bindparam("hash"))
# The statements of every accepted message, on the driver's cursor (barua.database.direct).
_FIND_DECISION = direct.Sql(
    "SELECT fingerprint, status, answer, created_at FROM relay_idempotency"
    " WHERE identity = ? AND message_id = ?"
)
_FORGET_DECISION = delete(relay_idempotency).where(
    relay_idempotency.c.identity == bindparam("identity"),
    relay_idempotency.c.message_id == bindparam("message_id"),
)
_FORGET_OLD_DECISIONS = delete(relay_idempotency).where(
    relay_idempotency.c.created_at < bindparam("before")
)
_DECISION_COLUMNS = ("identity", "message_id", "fingerprint", "status", "answer", "created_at")
_RECORD_DECISION = direct.insert(relay_idempotency, _DECISION_COLUMNS)
_KEY_STATUS = direct.Sql("SELECT status FROM relay_keys WHERE id = ?")
# PostgreSQL: the key's row held until the decision commits, so that a key disabled or revoked
# meanwhile is changed after it (SQLite's writer holds the whole database already). A key
# with a rate or a quota is updated by the decision: its row is taken for update at once,
# since two decisions sharing it and then both asking to update it would deadlock.
_KEY_STATUS_SHARED = direct.Sql("SELECT status FROM relay_keys WHERE id = ? FOR SHARE")
_KEY_STATUS_FOR_UPDATE = direct.Sql("SELECT status FROM relay_keys WHERE id = ? FOR UPDATE")
_SUPPRESSED = direct.Sql(
    "SELECT code, reason FROM relay_suppressed WHERE identity = ? AND address = ?"
)


@dataclass(frozen=True, slots=True)
class Facts:
    """What the decision on a request reads: one round trip on PostgreSQL."""

    key_status: str | None
    """The key's status now; None when there is no such key (or it was not asked for)."""
    decision: Recorded | None
    """The decision recorded for the request's Message-ID in the last 24 hours."""
    suppressed: dict[str, tuple[int, str]]
    """The addresses asked about that are on the key's suppression list."""


def facts(
    conn: Connection,
    identity: int,
    message_id: str,
    addresses: list[str],
    *,
    now: float,
    key: bool = True,
    limited: bool = False,
) -> Facts:
    """The :class:`Facts` for ``message_id`` of ``identity`` and its recipients ``addresses``
    (normalised); the key's status only with ``key`` (``limited``: the key has a rate or a
    quota, which the decision updates). A decision older than 24 hours is deleted (its
    Message-ID may be used again)."""
    with direct.batch(conn):
        status = _key_status(conn, limited).execute(conn, (identity,)) if key else None
        decision = _FIND_DECISION.execute(conn, (identity, message_id))
        asked = [(a, _SUPPRESSED.execute(conn, (identity, a))) for a in addresses]
        status_row = status.fetchone() if status is not None else None
        row = decision.fetchone()
        suppressed = {a: (int(r[0]), r[1]) for a, c in asked if (r := c.fetchone()) is not None}
    recorded = None
    if row is not None:
        fingerprint, answer_status, answer, created_at = row
        if created_at < now - IDEMPOTENCY_WINDOW:
            conn.execute(_FORGET_DECISION, {"identity": identity, "message_id": message_id})
        else:
            recorded = Recorded(fingerprint, int(answer_status), answer.encode("utf-8"))
    return Facts(None if status_row is None else str(status_row[0]), recorded, suppressed)


def _key_status(conn: Connection, limited: bool) -> direct.Sql:
    if conn.dialect.name != "postgresql":
        return _KEY_STATUS
    return _KEY_STATUS_FOR_UPDATE if limited else _KEY_STATUS_SHARED


def record(
    conn: Connection,
    identity: int,
    message_id: str,
    *,
    fingerprint: str,
    status: int,
    answer: bytes,
    now: float,
) -> None:
    """Record the decision for ``message_id`` of ``identity`` (an IntegrityError when another
    request recorded one first)."""
    row = decided(
        identity, message_id, fingerprint=fingerprint, status=status, answer=answer, now=now
    )
    _RECORD_DECISION.execute(conn, row.values)


def allowance(conn: Connection, key: RelayKey, *, now: float) -> Limited | None:
    """Whether ``key`` may send one more message now: None, or what limits it."""
    if not key.limited:
        return None
    query = select(relay_keys).where(relay_keys.c.id == key.id).with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        return None
    rate = key.rate_per_minute
    if rate:
        tokens = _tokens(row, rate, now)
        if tokens < 1:
            return Limited(False, (1 - tokens) * 60 / rate, rate)
    quota = key.daily_quota
    if quota is not None:
        day = _day(now)
        used = row["quota_used"] if row["quota_day"] == day else 0
        if used >= quota:
            return Limited(True, _next_day(now) - now, quota)
    return None


def consume(conn: Connection, key: RelayKey, *, now: float) -> None:
    """Count one accepted message against ``key``'s rate and quota."""
    if not key.limited:
        return
    row = conn.execute(select(relay_keys).where(relay_keys.c.id == key.id)).mappings().first()
    if row is None:
        return
    values: dict[str, Any] = {}
    if key.rate_per_minute:
        values["bucket_tokens"] = _tokens(row, key.rate_per_minute, now) - 1
        values["bucket_at"] = now
    if key.daily_quota is not None:
        day = _day(now)
        used = row["quota_used"] if row["quota_day"] == day else 0
        values["quota_day"] = day
        values["quota_used"] = used + 1
    conn.execute(update(relay_keys).where(relay_keys.c.id == key.id).values(values))


def suppress(conn: Connection, identity: int, address: str, *, code: int, reason: str) -> None:
    """Put ``address`` on the suppression list of ``identity`` (again: the newest reason)."""
    address = normalised(address)
    conn.execute(
        delete(relay_suppressed).where(
            relay_suppressed.c.identity == identity, relay_suppressed.c.address == address
        )
    )
    conn.execute(
        insert(relay_suppressed).values(
            identity=identity, address=address, code=code, reason=reason, created_at=time.time()
        )
    )


def remembered_message(
    message: str, *, identity: int, mail_from: str, message_id: str, now: float
) -> RowBeside:
    """The relay's record of the accepted ``message`` (its reference), written with its
    outbox entry (whose id it keeps, for bounces)."""
    return RowBeside(
        relay_messages,
        ("id", "identity", "outbox_pk", "mail_from", "message_id", "created_at"),
        (message, identity, ENTRY_ID, mail_from, message_id, now),
    )


def decided(
    identity: int, message_id: str, *, fingerprint: str, status: int, answer: bytes, now: float
) -> RowBeside:
    """:func:`record` as a row written with the accepted message's outbox entry."""
    return RowBeside(relay_idempotency, _DECISION_COLUMNS, (
        identity, message_id, fingerprint, status, answer.decode("utf-8"), now,
    ))  # fmt: skip


def _tokens(row: Any, rate: int, now: float) -> float:
    tokens = row["bucket_tokens"]
    at = row["bucket_at"]
    if tokens is None or at is None:
        return float(rate)
    return float(min(rate, tokens + max(0.0, now - at) * rate / 60))


def _day(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")


def _next_day(now: float) -> float:
    today = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (today + timedelta(days=1)).timestamp()


def _key(row: Any) -> RelayKey:
    return RelayKey(
        id=int(row["id"]),
        name=row["name"],
        prefix=row["prefix"],
        senders=tuple(json.loads(row["senders"])),
        rate_per_minute=row["rate_per_minute"],
        daily_quota=row["daily_quota"],
        from_address=row["from_address"],
        status=row["status"],
        created_at=row["created_at"],
    )


def notice_mark(conn: Connection) -> int | None:
    """The id of the last delivery attempt whose failures were told to the businesses, or
    None before the first look."""
    stored = conn.execute(_NOTICE_MARK).scalar()
    return None if stored is None else int(stored)


def start_notice_mark(conn: Connection, attempt: int) -> None:
    """The first look's mark (two processes starting it at once: one gets an IntegrityError)."""
    conn.execute(insert(relay_config).values(key=_FAILURES_NOTICED, value=str(attempt)))


def move_notice_mark(conn: Connection, old: int, new: int) -> bool:
    """Move the mark from ``old`` to ``new``; False when another process moved it first
    (then the caller rolls back what it wrote: that process told the same failures)."""
    moved = conn.execute(_MOVE_NOTICE_MARK, {"old": str(old), "new": str(new)}).rowcount
    return bool(moved)


def accepted_by_outbox(conn: Connection, entries: list[int]) -> dict[int, AcceptedMessage]:
    """The accepted messages behind the outbox entries ``entries``, by entry id (the relay's
    own notices have none)."""
    if not entries:
        return {}
    return {
        int(row["outbox_pk"]): AcceptedMessage(
            row["id"], int(row["identity"]), row["outbox_pk"], row["mail_from"], row["message_id"]
        )
        for row in conn.execute(_ACCEPTED_BY_OUTBOX, {"ids": entries}).mappings()
    }


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

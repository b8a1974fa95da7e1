"""The outbox: every email is written here in one transaction before a worker delivers it.

>>> outbox = Outbox.open()                                        # doctest: +SKIP
>>> entry = outbox.enqueue(message, settings=settings,
...                        idempotency_key="invoice:INV-0042:v1")  # doctest: +SKIP
>>> outbox.wait(entry.id, timeout=60).status                      # doctest: +SKIP
<MessageStatus.SENT: 'sent'>

Enqueueing the same idempotency key again returns the entry already there, not a second email.
The message's bytes are stored as built, so the Message-ID stays the same on every attempt.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, Engine, Row
from sqlalchemy.exc import SQLAlchemyError

from barua.database.direct import RowBeside
from barua.database.engine import create_database_engine, failure, first_line, redacted
from barua.database.errors import FAILED, FAILED_HINT
from barua.database.migrations import migrate
from barua.database.tables import meta, pauses
from barua.errors import TransportError
from barua.message import OutgoingMessage
from barua.outbox import content, schema
from barua.outbox.errors import (
    CANCEL_HINT,
    CANNOT_CANCEL,
    CANNOT_RETRY,
    FAILED_BECAUSE,
    NO_ENTRY,
    NO_ENTRY_HINT,
    PERMANENT,
    RETRY_HINT,
    SENT_TO_ALL,
    SENT_TO_NONE_OF_ONE,
    SENT_TO_ONE,
    SENT_TO_SOME,
    STATUS_WORDS,
    TEMPORARY,
    TRIED_AGAIN,
    WITH_REPLY,
    OutboxError,
)
from barua.outbox.fingerprints import settings_fingerprint
from barua.outbox.session import Claimed, Record, WorkerSession
from barua.outbox.status import AttemptOutcome, MessageStatus, RecipientStatus
from barua.settings import Settings
from barua.store.businesses import DEFAULT_BUSINESS
from barua.texts import Message, Text, untranslated
from barua.wire import is_wire_ready

_FAR_FUTURE = 2**62


@dataclass(frozen=True, slots=True)
class Cut:
    """A message's bytes as the outbox stores them: its pieces (see :mod:`content`), their
    names, and whether SMTP DATA takes the bytes as they are."""

    pieces: tuple[bytes, ...]
    digests: tuple[str, ...]
    wire_ready: bool


def cut_message(data: bytes, *, crlf: bool = False) -> Cut:
    """The :class:`Cut` of ``data``: pure work, which a caller holding a transaction open for
    others (the relay's committer) does before it. ``crlf``: the caller knows every line of
    ``data`` ends in CRLF (they are not counted again)."""
    pieces = tuple(content.split(data))
    digests = tuple(content.digest(p) for p in pieces)
    return Cut(pieces, digests, is_wire_ready(data, crlf=crlf))


def _when(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


@dataclass(frozen=True, slots=True)
class Recipient:
    """One envelope recipient and what the server said to it."""

    address: str
    status: RecipientStatus
    code: int | None = None
    reply: str | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """One row of the delivery log."""

    number: int
    started_at: datetime
    duration: float
    """Seconds the attempt took."""
    worker: str
    server: str
    outcome: AttemptOutcome
    code: int | None
    reply: str | None
    error_class: str | None
    step: str | None
    error: str | None
    detail: str | None
    error_text: Text | None = None
    """The error as a code with its values, to show in the reader's language."""

    def to_dict(self) -> dict[str, Any]:
        return {
            **_text_fields("error", self.error_text),
            "number": self.number,
            "started_at": self.started_at.isoformat(),
            "duration": round(self.duration, 6),
            "worker": self.worker,
            "server": self.server,
            "outcome": self.outcome.value,
            "code": self.code,
            "reply": self.reply,
            "error_class": self.error_class,
            "step": self.step,
            "error": self.error,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An email in the outbox, as it stands."""

    id: int
    message_id: str
    idempotency_key: str | None
    status: MessageStatus
    subject: str
    sender: str
    size: int
    attempts: int
    created_at: datetime
    updated_at: datetime
    next_attempt_at: datetime | None
    """When a worker may take it next (for ``sending``: when its lease ends)."""
    sent_at: datetime | None
    last_error: str | None
    last_error_class: str | None
    last_step: str | None
    last_code: int | None
    last_reply: str | None
    queue_id: str | None
    recipients: tuple[Recipient, ...]
    business: str
    settings_fingerprint: str
    last_error_text: Text | None = None
    """The last error as a code with its values, to show in the reader's language."""
    retried_at: datetime | None = None
    """When a person last asked to send it again (:attr:`created_at` stays)."""

    def count(self, status: RecipientStatus) -> int:
        return sum(1 for r in self.recipients if r.status is status)

    @property
    def summary(self) -> str:
        """One line a shop owner understands, e.g. ``sent to 2 of 3 recipients``."""
        return self.summary_text.render()

    @property
    def summary_text(self) -> Text:
        """:attr:`summary` as a text, to show in the reader's language."""
        total = len(self.recipients)
        accepted = self.count(RecipientStatus.ACCEPTED)
        if self.status is MessageStatus.SENT:
            if accepted == total:
                return SENT_TO_ALL(count=total) if total > 1 else SENT_TO_ONE()
            if total == 1:
                return SENT_TO_NONE_OF_ONE(accepted=accepted)
            return SENT_TO_SOME(accepted=accepted, total=total)
        error = untranslated(self.last_error) if self.last_error else None
        if self.last_error_text is not None:
            error = self.last_error_text
            if self.last_code is not None and self.last_reply is not None:
                # As the error's own words have it (TransportError.__str__).
                error = WITH_REPLY(error=error, code=self.last_code, reply=self.last_reply)
        if self.status is MessageStatus.DEFERRED and self.next_attempt_at is not None:
            when = self.next_attempt_at.strftime("%Y-%m-%d %H:%M:%S UTC")
            return TRIED_AGAIN(time=when, error=error or TEMPORARY())
        if self.status is MessageStatus.FAILED:
            return FAILED_BECAUSE(error=error or PERMANENT())
        return STATUS_WORDS[self.status]()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "message_id": self.message_id,
            "idempotency_key": self.idempotency_key,
            "status": self.status.value,
            "summary": self.summary,
            "subject": self.subject,
            "sender": self.sender,
            "size": self.size,
            "attempts": self.attempts,
            "created_at": self.created_at.isoformat(),
            "retried_at": _iso(self.retried_at),
            "updated_at": self.updated_at.isoformat(),
            "next_attempt_at": _iso(self.next_attempt_at),
            "sent_at": _iso(self.sent_at),
            "last_error": self.last_error,
            **_text_fields("last_error", self.last_error_text),
            "last_error_class": self.last_error_class,
            "last_step": self.last_step,
            "last_code": self.last_code,
            "last_reply": self.last_reply,
            "queue_id": self.queue_id,
            "business": self.business,
            "recipients": [
                {"address": r.address, "status": r.status.value, "code": r.code, "reply": r.reply}
                for r in self.recipients
            ],
        }


@dataclass(frozen=True, slots=True)
class Pause:
    """The queue of a business waits: the server refused the settings."""

    business: str
    settings_fingerprint: str
    paused_at: datetime
    reason: str
    hint: str | None
    step: str | None
    code: int | None
    reply: str | None
    reason_text: Text | None = None
    """The reason as a code with its values, to show in the reader's language."""


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


class Outbox:
    """The durable outbox in a SQL database; safe to share between threads and processes."""

    def __init__(self, engine: Engine, *, pool_size: int = 8) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._pool_size = pool_size
        self._worker_engine: Engine | None = None
        self._worker_engine_lock = threading.Lock()

    @classmethod
    def open(cls, url: str, *, pool_size: int = 8) -> Outbox:
        """Open the outbox in the database at ``url`` (see
        :func:`~barua.database.engine.database_url`), creating or upgrading its tables first."""
        engine = create_database_engine(url, pool_size=pool_size)
        migrate(engine)
        return cls(engine, pool_size=pool_size)

    def __repr__(self) -> str:
        return f"Outbox({redacted(str(self.engine.url))!r})"

    def close(self) -> None:
        if self._worker_engine is not None and self._worker_engine is not self.engine:
            self._worker_engine.dispose()
        self.engine.dispose()

    @property
    def worker_engine(self) -> Engine:
        """The engine of what workers write about the messages they hold: claims, leases,
        results. A second pool whose commits do not wait for the disk: on PostgreSQL its
        statements commit on their own (no BEGIN and COMMIT round trips around a single
        statement) with ``synchronous_commit = off``; on SQLite with ``synchronous = NORMAL``
        (synced at checkpoints). An SQLite database in memory has no second pool.

        Why a lost commit there is safe: if the database's machine crashes or loses power,
        the commits of its last fraction of a second can be lost (never half of one, never a
        later one without the earlier ones). Every such write moves a message the worker
        holds: a claim (lost: the message is due again, as before), a lease renewal (lost: the
        lease runs out sooner), a release, or the result of an attempt (lost: the message is
        back under the worker's old lease, which runs out, and the message is sent again). So
        the worst is a second delivery with the same Message-ID, the case the outbox already
        has when a worker dies between the server's reply and the commit; a message is never
        marked sent without having been sent. What a person or an application writes
        (enqueue, retry, cancel, resume, purge) goes through :attr:`engine`, with commits that
        wait for the disk.
        """
        if self._worker_engine is None:
            with self._worker_engine_lock:
                if self._worker_engine is None:
                    in_memory = self.dialect == "sqlite" and self.engine.url.database in (
                        None,
                        "",
                        ":memory:",
                    )
                    self._worker_engine = (
                        self.engine
                        if in_memory
                        else create_database_engine(
                            self.engine.url, pool_size=self._pool_size, relaxed=True
                        )
                    )
        return self._worker_engine

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _transaction(self, *, worker: bool = False) -> Iterator[Connection]:
        """One transaction; ``worker``: on :attr:`worker_engine`."""
        with self._connection(worker=worker) as conn, conn.begin():
            yield conn

    @contextmanager
    def _connection(self, *, worker: bool = False) -> Iterator[Connection]:
        """A connection whose user commits; what is not committed is rolled back."""
        try:
            with (self.worker_engine if worker else self.engine).connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise failure(
                OutboxError,
                exc,
                self.engine.url,
                text=FAILED(reason=first_line(exc)),
                hint=FAILED_HINT(),
            ) from exc

    # Enqueueing --------------------------------------------------------------------------------

    def enqueue(
        self,
        message: OutgoingMessage,
        *,
        settings: Settings | None = None,
        idempotency_key: str | None = None,
        business: str = DEFAULT_BUSINESS,
        not_before: datetime | None = None,
    ) -> OutboxEntry:
        """Write ``message`` to the outbox, to be sent with the settings of ``business``.

        With an ``idempotency_key`` (e.g. ``"invoice:INV-0042:v1"``) already in the outbox,
        nothing is written and the existing entry is returned.
        """
        if not message.recipients:
            raise ValueError("a message needs at least one recipient")
        now = time.time()
        due = now if not_before is None else max(now, not_before.timestamp())
        fingerprint = settings_fingerprint(settings) if settings is not None else ""
        with self._transaction() as conn:
            new_id = self._insert(
                conn,
                message,
                now=now,
                due=due,
                fingerprint=fingerprint,
                idempotency_key=idempotency_key,
                business=business,
            )
            if new_id is None:
                existing = conn.execute(
                    schema.MESSAGE_BY_KEY, _p({"key": idempotency_key})
                ).scalar()
                assert existing is not None
                return self._entry(conn, int(existing))
        created = _when(now)
        assert created is not None
        return OutboxEntry(
            id=int(new_id),
            message_id=message.message_id,
            idempotency_key=idempotency_key,
            status=MessageStatus.QUEUED,
            subject=message.subject,
            sender=message.sender,
            size=message.size,
            attempts=0,
            created_at=created,
            updated_at=created,
            next_attempt_at=_when(due),
            sent_at=None,
            last_error=None,
            last_error_class=None,
            last_step=None,
            last_code=None,
            last_reply=None,
            queue_id=None,
            recipients=tuple(
                Recipient(address, RecipientStatus.PENDING) for address in message.recipients
            ),
            business=business,
            settings_fingerprint=fingerprint,
        )

    def insert(
        self,
        conn: Connection,
        message: OutgoingMessage,
        *,
        business: str,
        cut: Cut | None = None,
        beside: Sequence[RowBeside] = (),
    ) -> int:
        """Write ``message`` to the outbox within the caller's transaction on ``conn`` (of
        :attr:`engine`), so that what the caller writes beside it is committed with it or
        not at all; the new entry's id. The caller commits (the relay's idempotency record
        goes in the same transaction, see :mod:`barua.outbox.shared`). ``cut``: the
        message's :func:`cut`, made before the transaction (it is pure work). ``beside``:
        rows of other tables written with the entry (on PostgreSQL in its statement)."""
        if not message.recipients:
            raise ValueError("a message needs at least one recipient")
        now = time.time()
        new_id = self._insert(
            conn, message, now=now, due=now, fingerprint="", idempotency_key=None,
            business=business, cut=cut, beside=beside,
        )  # fmt: skip
        assert new_id is not None
        return new_id

    def _insert(
        self,
        conn: Connection,
        message: OutgoingMessage,
        *,
        now: float,
        due: float,
        fingerprint: str,
        idempotency_key: str | None,
        business: str,
        cut: Cut | None = None,
        beside: Sequence[RowBeside] = (),
    ) -> int | None:
        """The rows of a new entry (and ``beside`` it); its id, or None when
        ``idempotency_key`` is taken (then nothing is written)."""
        cut = cut or cut_message(message.data)
        entry = (
            message.message_id, idempotency_key, business, fingerprint, message.sender,
            message.subject, message.size, MessageStatus.QUEUED.value, 0, now, now, due,
            cut.wire_ready,
        )  # fmt: skip
        # In the digests' order: two transactions storing the same two pieces lock them in
        # one order, never in opposite orders (a deadlock on PostgreSQL).
        unique = sorted(dict(zip(cut.digests, cut.pieces, strict=True)).items())
        pending = RecipientStatus.PENDING.value
        if conn.dialect.name == "postgresql":
            statement = schema.insert_entry_postgresql(tuple(row.shape() for row in beside))
            row = statement.execute(
                conn,
                (
                    *entry,
                    [d for d, _ in unique], [len(p) for _, p in unique], [p for _, p in unique],
                    list(cut.digests),
                    pending, now, list(message.recipients),
                    *(value for row in beside for value in row.parameters()),
                ),
            ).fetchone()  # fmt: skip
            return None if row is None else int(row[0])
        row = schema.INSERT_MESSAGE.execute(conn, entry).fetchone()
        if row is None:
            return None
        new_id = int(row[0])
        schema.INSERT_BLOBS.execute_many(conn, [(d, len(p), p) for d, p in unique])
        schema.INSERT_PIECES.execute_many(conn, [(new_id, i, d) for i, d in enumerate(cut.digests)])
        schema.INSERT_RECIPIENTS.execute_many(
            conn, [(new_id, i, a, pending, now) for i, a in enumerate(message.recipients)]
        )
        for row in beside:
            schema.insert_beside(row.table, row.columns).execute(conn, row.parameters(new_id))
        return new_id

    def mark_bounced(self, entry_id: int, address: str, *, code: int, reply: str) -> bool:
        """A recipient the server had accepted bounced later: it is ``failed``, with the
        bounce's code and reason; True when the entry had that recipient."""
        with self._transaction() as conn:
            result = conn.execute(
                schema.MARK_BOUNCED,
                _p(
                    {
                        "id": entry_id,
                        "address": address,
                        "rstatus": RecipientStatus.FAILED.value,
                        "rcode": code,
                        "rreply": reply,
                        "now": time.time(),
                    }
                ),
            )
            return bool(result.rowcount)

    # Reading -----------------------------------------------------------------------------------

    def get(self, entry_id: int) -> OutboxEntry:
        """The entry ``entry_id``; :class:`OutboxError` when there is none."""
        with self._transaction() as conn:
            return self._entry(conn, entry_id)

    def _entry(self, conn: Connection, entry_id: int) -> OutboxEntry:
        row = conn.execute(schema.MESSAGE, _p({"id": entry_id})).one_or_none()
        if row is None:
            raise OutboxError(NO_ENTRY(id=entry_id), hint=NO_ENTRY_HINT())
        rows = conn.execute(schema.RECIPIENTS_OF, _p({"id": entry_id})).all()
        return _to_entry(row, [_to_recipient(r) for r in rows])

    def attempts(self, entry_id: int) -> list[Attempt]:
        """The delivery log of ``entry_id``, oldest first."""
        with self._transaction() as conn:
            rows = conn.execute(schema.ATTEMPTS_OF, _p({"id": entry_id})).all()
        return [
            Attempt(
                number=r.number,
                started_at=datetime.fromtimestamp(r.started_at, UTC),
                duration=r.duration,
                worker=r.worker,
                server=r.server,
                outcome=AttemptOutcome(r.outcome),
                code=r.code,
                reply=r.reply,
                error_class=r.error_class,
                step=r.step,
                error=r.error,
                detail=r.detail,
                error_text=_loaded(r.error_text),
            )
            for r in rows
        ]

    def list_entries(
        self,
        *,
        status: MessageStatus | None = None,
        limit: int = 50,
        before_id: int | None = None,
        business: str | None = None,
    ) -> list[OutboxEntry]:
        """Entries newest first, ``limit`` at a time (of one business when given); page on
        with ``before_id``."""
        query = schema.list_messages(
            status=None if status is None else status.value, business=business is not None
        )
        values: dict[str, Any] = {"before_id": before_id or _FAR_FUTURE, "limit": limit}
        if business is not None:
            values["business"] = business
        with self._transaction() as conn:
            rows = conn.execute(query, _p(values)).all()
            ids = [row.id for row in rows]
            by_message: dict[int, list[Recipient]] = {i: [] for i in ids}
            if ids:
                for r in conn.execute(schema.RECIPIENTS_OF_MANY, _p({"ids": ids})):
                    by_message[r.message_pk].append(_to_recipient(r))
        return [_to_entry(row, by_message[row.id]) for row in rows]

    def counts(self, *, business: str | None = None) -> dict[MessageStatus, int]:
        """How many entries are in each state (of one business when given)."""
        with self._transaction() as conn:
            if business is None:
                rows = conn.execute(schema.COUNT_BY_STATUS).all()
            else:
                rows = conn.execute(schema.COUNT_BY_STATUS_OF, _p({"business": business})).all()
        found = {MessageStatus(status): int(n) for status, n in rows}
        return {status: found.get(status, 0) for status in MessageStatus}

    def wait(self, entry_id: int, *, timeout: float, interval: float = 0.1) -> OutboxEntry:
        """The entry once an attempt has settled it (sent, failed, cancelled or deferred), or
        as it stands after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            entry = self.get(entry_id)
            settled = entry.status.final or (
                entry.status is MessageStatus.DEFERRED and entry.attempts > 0
            )
            if settled or time.monotonic() >= deadline:
                return entry
            time.sleep(interval)

    # Changes a person asks for -----------------------------------------------------------------

    def retry(self, entry_id: int) -> OutboxEntry:
        """Send a deferred or failed entry again now. It keeps its creation time, from which
        the maximum age counts: an entry past it gets one attempt."""
        return self._change(
            entry_id, schema.RETRY, schema.RETRY_RECIPIENTS, refused=CANNOT_RETRY, hint=RETRY_HINT
        )

    def cancel(self, entry_id: int) -> OutboxEntry:
        """Cancel an entry that has not been sent; one being sent right now cannot be."""
        return self._change(
            entry_id,
            schema.CANCEL,
            schema.CANCEL_RECIPIENTS,
            refused=CANNOT_CANCEL,
            hint=CANCEL_HINT,
        )

    def _change(
        self, entry_id: int, message: Any, recipients: Any, *, refused: Message, hint: Message
    ) -> OutboxEntry:
        """Apply a person's change to an entry and its recipients, or say why it cannot be."""
        now = time.time()
        with self._transaction() as conn:
            entry = self._entry(conn, entry_id)
            if conn.execute(message, _p({"id": entry_id, "now": now})).rowcount == 0:
                status = STATUS_WORDS[entry.status]()
                raise OutboxError(refused(id=entry_id, status=status), hint=hint())
            conn.execute(recipients, _p({"id": entry_id, "now": now}))
            return self._entry(conn, entry_id)

    def purge(self, *, sent_before: datetime) -> int:
        """Delete the entries sent before ``sent_before``, their logs and unshared blobs.

        Their idempotency keys are deleted too: enqueuing the same key afterwards queues the
        message again."""
        before = sent_before.timestamp()
        with self._transaction() as conn:
            conn.execute(schema.PURGE_ATTEMPTS, _p({"before": before}))
            conn.execute(schema.PURGE_RECIPIENTS, _p({"before": before}))
            conn.execute(schema.PURGE_PIECES, _p({"before": before}))
            count = conn.execute(schema.PURGE_MESSAGES, _p({"before": before})).rowcount
            conn.execute(schema.PURGE_ORPHAN_BLOBS)
        return int(count)

    # Pausing -----------------------------------------------------------------------------------

    def pause_of(self, business: str = DEFAULT_BUSINESS) -> Pause | None:
        """Why the queue of ``business`` is paused, or None when it is not."""
        with self._transaction() as conn:
            row = conn.execute(schema.PAUSE_OF, _p({"profile": business})).one_or_none()
        return None if row is None else _to_pause(row)

    def pauses(self) -> dict[str, Pause]:
        """Every paused business's pause, by key."""
        with self._transaction() as conn:
            rows = conn.execute(schema.ALL_PAUSES).all()
        return {row.profile: _to_pause(row) for row in rows}

    def pause(self, business: str, *, fingerprint: str, error: TransportError) -> None:
        """Pause the queue of ``business``: the settings with ``fingerprint`` were refused."""
        with self._transaction() as conn:
            conn.execute(
                schema.insert_ignoring_duplicates(pauses, self.dialect),
                {
                    "profile": business,
                    "settings_fingerprint": fingerprint,
                    "paused_at": time.time(),
                    "reason": str(error),
                    "reason_text": error.text.dumps(),
                    "hint": error.hint,
                    "step": str(error.step),
                    "code": error.code,
                    "reply": error.reply,
                },
            )

    def resume(self, business: str = DEFAULT_BUSINESS) -> bool:
        """Lift the pause of ``business``; True when it was paused."""
        with self._transaction() as conn:
            return bool(conn.execute(schema.DELETE_PAUSE, _p({"profile": business})).rowcount)

    def salt(self) -> bytes:
        """A random value of this installation, made on first use (for fingerprints)."""
        with self._transaction() as conn:
            value = conn.execute(schema.GET_META, _p({"key": "fingerprint_salt"})).scalar()
            if value is None:
                conn.execute(
                    schema.insert_ignoring_duplicates(meta, self.dialect),
                    {"key": "fingerprint_salt", "value": secrets.token_hex(16)},
                )
                value = conn.execute(schema.GET_META, _p({"key": "fingerprint_salt"})).scalar()
        return bytes.fromhex(str(value))

    # What workers do ---------------------------------------------------------------------------

    def session(self, *, worker: str) -> WorkerSession:
        """A database connection of ``worker``'s own, for the statements it runs for every
        message (see :mod:`barua.outbox.session`); one per thread."""
        return WorkerSession(self.worker_engine, worker=worker)

    def claim(
        self, *, worker: str, business: str = DEFAULT_BUSINESS, limit: int, lease: float
    ) -> list[Claimed]:
        """Take up to ``limit`` due messages under a lease of ``lease`` seconds."""
        with self.session(worker=worker) as session:
            return session.claim(business=business, limit=limit, lease=lease)

    def claim_one(self, entry_id: int, *, worker: str, lease: float) -> Claimed | None:
        """Take the message ``entry_id`` if it is due; None when it is not (e.g. another
        worker is sending it)."""
        with self.session(worker=worker) as session:
            return session.claim_one(entry_id, lease=lease)

    def renew(self, ids: Collection[int], *, worker: str, lease: float) -> set[int]:
        """Extend the leases of the messages ``ids`` that ``worker`` still holds; returns the
        ids renewed (a message another worker took over, or one being written at this very
        moment, is not)."""
        with self.session(worker=worker) as session:
            return session.renew(ids, lease=lease)

    def release_forgotten(self, held: Collection[int], *, worker: str) -> int:
        """Give back what ``worker`` holds in the database beyond ``held``, the messages it
        has in hand (see :data:`~barua.outbox.schema.RELEASE_FORGOTTEN`); returns how many."""
        now = time.time()
        with self._transaction(worker=True) as conn:
            result = conn.execute(
                schema.RELEASE_FORGOTTEN, _p({"worker": worker, "held": list(held), "now": now})
            )
            return int(result.rowcount)

    def release(self, claimed: Claimed, *, worker: str) -> None:
        """Give back a message claimed but not tried; it is due again at once."""
        status = MessageStatus.DEFERRED if claimed.attempts else MessageStatus.QUEUED
        now = time.time()
        with self._transaction(worker=True) as conn:
            conn.execute(
                schema.RELEASE,
                _p(
                    {
                        "id": claimed.id,
                        "worker": worker,
                        "status": status.value,
                        "next_attempt_at": now,
                        "now": now,
                    }
                ),
            )

    def record(self, records: Sequence[Record], *, worker: str) -> list[bool]:
        """Write how attempts ended, all in one transaction: the message's new state, each
        recipient's, and a row in the delivery log. An entry whose lease another worker took
        over keeps that worker's state (False in the result); the log row is written anyway."""
        with self.session(worker=worker) as session:
            return session.record(records)

    def attempts_since(self, *, business: str, since: float) -> int:
        """How many attempts were made for ``business`` since ``since`` (sending limits)."""
        with self._transaction(worker=True) as conn:
            return int(
                conn.execute(schema.SENT_SINCE, _p({"profile": business, "since": since})).scalar()
                or 0
            )

    def due_businesses(self) -> set[str]:
        """The businesses (by key) with mail due now."""
        with self._transaction(worker=True) as conn:
            rows = conn.execute(schema.DUE_BUSINESSES, _p({"now": time.time()})).scalars()
            return {str(key) for key in rows}

    def next_due(self, *, business: str = DEFAULT_BUSINESS) -> float | None:
        """When the next message of ``business`` becomes due (seconds since the epoch)."""
        with self._transaction(worker=True) as conn:
            value = conn.execute(schema.NEXT_DUE, _p({"profile": business})).scalar()
        return None if value is None else float(value)


def _p(values: Any) -> Any:
    """Parameters named as the statements in :mod:`~barua.outbox.schema` expect (``p_…``)."""
    if isinstance(values, list):
        return [_p(item) for item in values]
    return {f"p_{key}": value for key, value in values.items()}


def _loaded(stored: str | None) -> Text | None:
    """A text the outbox kept, or None (for an entry from before texts were kept, or kept by
    a version of barua whose texts this one cannot read)."""
    if stored is None:
        return None
    try:
        return Text.loads(stored)
    except ValueError:
        return None


def _text_fields(name: str, text: Text | None) -> dict[str, Any]:
    """``<name>_code`` and ``<name>_params`` of a kept text, for JSON."""
    if text is None:
        return {f"{name}_code": None, f"{name}_params": None}
    data = text.to_dict()
    return {f"{name}_code": data["code"], f"{name}_params": data["params"]}


def _to_pause(row: Any) -> Pause:
    return Pause(
        business=row.profile,
        settings_fingerprint=row.settings_fingerprint,
        paused_at=datetime.fromtimestamp(row.paused_at, UTC),
        reason=row.reason,
        hint=row.hint,
        step=row.step,
        code=row.code,
        reply=row.reply,
        reason_text=_loaded(row.reason_text),
    )


def _to_recipient(row: Row[Any] | Mapping[str, Any]) -> Recipient:
    r: Any = row
    return Recipient(r.address, RecipientStatus(r.status), r.code, r.reply)


def _to_entry(row: Row[Any], recipients: Sequence[Recipient]) -> OutboxEntry:
    created = _when(row.created_at)
    updated = _when(row.updated_at)
    assert created is not None and updated is not None
    return OutboxEntry(
        id=row.id,
        message_id=row.message_id,
        idempotency_key=row.idempotency_key,
        status=MessageStatus(row.status),
        subject=row.subject,
        sender=row.sender,
        size=row.size,
        attempts=row.attempts,
        created_at=created,
        updated_at=updated,
        next_attempt_at=_when(row.next_attempt_at),
        sent_at=_when(row.sent_at),
        retried_at=_when(row.retried_at),
        last_error=row.last_error,
        last_error_class=row.last_error_class,
        last_step=row.last_step,
        last_code=row.last_code,
        last_reply=row.last_reply,
        queue_id=row.queue_id,
        recipients=tuple(recipients),
        business=row.profile,
        settings_fingerprint=row.settings_fingerprint,
        last_error_text=_loaded(row.last_error_text),
    )

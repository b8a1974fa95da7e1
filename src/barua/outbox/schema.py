"""The outbox tables, their migrations, and every SQL statement the outbox runs, by name.

One SQLAlchemy Core code path serves SQLite and PostgreSQL. Times are seconds since the epoch
(UTC) in double-precision columns: they compare the same way in both databases and cost no
parsing. Tables::

    outbox_messages     one row per email: envelope, status, lease, last error
    outbox_recipients   one row per envelope recipient, with what the server said to it
    outbox_pieces       the message's bytes as an ordered list of blobs
    outbox_blobs        content-addressed bytes (sha256), shared by every message holding them
    outbox_attempts     the delivery log: append-only, one row per attempt
    outbox_pauses       settings profiles whose queue waits (the server refused the login)
    outbox_meta         small values of the installation (the fingerprint salt)
    schema_migrations   which migrations ran

**Due.** A worker may take a message when ``status`` is queued, deferred or sending and
``next_attempt_at <= now``. For a message being sent, ``next_attempt_at`` is the end of the
worker's lease, so a message whose worker died becomes due again when its lease runs out, with
no separate sweep. Sent, failed and cancelled messages have no ``next_attempt_at``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    Table,
    Text,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from barua.database import direct
from barua.database.direct import RowShape
from barua.database.tables import attempts, blobs, messages, meta, pauses, pieces, recipients
from barua.outbox.status import MessageStatus, RecipientStatus

# Statements ------------------------------------------------------------------------------------
# Each is built once; the values come in as bound parameters, never as SQL text. Parameter
# names start with ``p_`` because an UPDATE reserves the plain column names for its SET clause.

WAITING = [MessageStatus.QUEUED.value, MessageStatus.DEFERRED.value]
_DUE_STATES = [*WAITING, MessageStatus.SENDING.value]


def insert_ignoring_duplicates(table: Table, dialect: str) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING``: a blob that is already stored stays as it is."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


# A new entry's rows, on the driver's cursor (see barua.database.direct: the relay's committer
# writes hundreds a second). An idempotency key already taken: nothing, and no id, comes back;
# a blob already stored stays as it is.
INSERT_MESSAGE = direct.insert(
    messages,
    ["message_id", "idempotency_key", "profile", "settings_fingerprint", "sender", "subject",
     "size", "status", "attempts", "created_at", "updated_at", "next_attempt_at", "wire_ready"],
    then="ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
)  # fmt: skip
INSERT_BLOBS = direct.insert(blobs, ["digest", "size", "data"], then="ON CONFLICT DO NOTHING")
INSERT_PIECES = direct.insert(pieces, ["message_pk", "position", "digest"])
INSERT_RECIPIENTS = direct.insert(
    recipients, ["message_pk", "position", "address", "status", "updated_at"]
)


@cache
def insert_beside(table: Table, columns: tuple[str, ...]) -> direct.Sql:
    """A :class:`RowBeside` of ``table`` on its own (SQLite)."""
    return direct.insert(table, columns)


@cache
def insert_entry_postgresql(beside: tuple[RowShape, ...] = ()) -> direct.Sql:
    """PostgreSQL: a new entry's rows in one statement, the blobs, pieces and recipients as
    arrays, and the rows ``beside`` it (of this shape) with them. The driver spends about 40
    microseconds of Python on each statement of a pipeline, holding the interpreter lock,
    and waits for a round trip each time a result is needed: the dozen statements of an
    entry sent one by one cost more than the server's work. The blobs go in the arrays'
    order (their digests', see :meth:`Outbox._insert`); nothing is stored when the
    idempotency key is taken."""
    parts = [
        "WITH entry AS (" + INSERT_MESSAGE.text("sqlite") + ")",
        "stored_blobs AS (INSERT INTO outbox_blobs (digest, size, data)"
        " SELECT b.digest, b.size, b.data"
        " FROM unnest(?::text[], ?::integer[], ?::bytea[]) AS b(digest, size, data)"
        " WHERE EXISTS (SELECT 1 FROM entry) ON CONFLICT DO NOTHING)",
        "stored_pieces AS (INSERT INTO outbox_pieces (message_pk, position, digest)"
        " SELECT entry.id, p.n - 1, p.digest"
        " FROM entry, unnest(?::text[]) WITH ORDINALITY AS p(digest, n))",
        "stored_recipients AS (INSERT INTO outbox_recipients"
        " (message_pk, position, address, status, updated_at)"
        " SELECT entry.id, r.n - 1, r.address, ?, ?"
        " FROM entry, unnest(?::text[]) WITH ORDINALITY AS r(address, n))",
    ]
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    for number, (table, columns, ids) in enumerate(beside):
        names = ", ".join(table.c[name].name for name in columns)
        values = ", ".join(
            "entry.id" if is_id else f"CAST(? AS {table.c[name].type.compile(dialect=dialect)})"
            for name, is_id in zip(columns, ids, strict=True)
        )
        # Names and types are the schema's own: no value is in the text.
        row = f"INSERT INTO {table.name} ({names}) SELECT {values} FROM entry"  # noqa: S608
        parts.append(f"beside_{number} AS ({row})")
    parts[-1] += " SELECT id FROM entry"
    return direct.Sql(", ".join(parts))


MESSAGE_BY_KEY = select(messages.c.id).where(messages.c.idempotency_key == bindparam("p_key"))

_due = (
    select(messages.c.id)
    .where(
        messages.c.profile == bindparam("p_profile"),
        messages.c.next_attempt_at <= bindparam("p_now"),
        messages.c.status.in_(_DUE_STATES),
    )
    .order_by(messages.c.next_attempt_at, messages.c.id)
    .limit(bindparam("p_limit", type_=Integer))
    # PostgreSQL: rows another worker is claiming right now are skipped, not waited for.
    # SQLite has one writer at a time, so the single UPDATE below is already atomic there.
    .with_for_update(skip_locked=True)
)
_CLAIMED = (
    messages.c.id,
    messages.c.message_id,
    messages.c.sender,
    messages.c.subject,
    messages.c.attempts,
    messages.c.created_at,
    messages.c.wire_ready,
)
_take = {
    "status": MessageStatus.SENDING.value,
    "lease_owner": bindparam("p_worker"),
    "next_attempt_at": bindparam("p_lease_until"),
    "updated_at": bindparam("p_now"),
}

CLAIM_DUE = update(messages).where(messages.c.id.in_(_due)).values(_take).returning(*_CLAIMED)
"""Take up to ``limit`` due messages of ``profile`` for ``worker`` until ``lease_until``."""

CLAIM_ONE = (
    update(messages)
    .where(
        messages.c.id == bindparam("p_id"),
        messages.c.next_attempt_at <= bindparam("p_now"),
        messages.c.status.in_(_DUE_STATES),
    )
    .values(_take)
    .returning(*_CLAIMED)
)
"""Take one particular message, if it is due (``barua send`` delivering its own message)."""

_renewable = (
    select(messages.c.id)
    .where(
        messages.c.id.in_(bindparam("p_ids", expanding=True)),
        messages.c.lease_owner == bindparam("p_worker"),
        messages.c.status == MessageStatus.SENDING.value,
    )
    # PostgreSQL: a row being written right now (the worker's own result going in) is skipped,
    # not waited for. Waiting could deadlock with a transaction that records several results,
    # and a renewal stuck behind a lock is a lease running out.
    .with_for_update(skip_locked=True)
)
RENEW_LEASES = (
    update(messages)
    .where(messages.c.id.in_(_renewable))
    .values(next_attempt_at=bindparam("p_lease_until"))
    .returning(messages.c.id)
)
"""Extend the leases of the messages ``ids`` that ``worker`` still holds; returns their ids."""

RELEASE = (
    update(messages)
    .where(
        messages.c.id == bindparam("p_id"),
        messages.c.lease_owner == bindparam("p_worker"),
        messages.c.status == MessageStatus.SENDING.value,
    )
    .values(
        status=bindparam("p_status"),
        next_attempt_at=bindparam("p_next_attempt_at"),
        lease_owner=None,
        updated_at=bindparam("p_now"),
    )
)
"""Give a claimed message back untried (the worker is stopping, or the queue is paused)."""

RELEASE_FORGOTTEN = (
    update(messages)
    .where(
        messages.c.lease_owner == bindparam("p_worker"),
        messages.c.status == MessageStatus.SENDING.value,
        messages.c.id.not_in(bindparam("p_held", expanding=True)),
    )
    .values(
        status=case(
            (messages.c.attempts > 0, MessageStatus.DEFERRED.value),
            else_=MessageStatus.QUEUED.value,
        ),
        next_attempt_at=bindparam("p_now"),
        lease_owner=None,
        updated_at=bindparam("p_now"),
    )
)
"""Give back what ``worker`` holds in the database but not in hand (``held``): the messages
of a claim whose answer a failing connection lost, or given up when the database could not
confirm their lease. Untried by this worker, they are due again at once."""

PENDING_RECIPIENTS = (
    select(recipients.c.message_pk, recipients.c.address)
    .where(
        recipients.c.message_pk.in_(bindparam("p_ids", expanding=True)),
        recipients.c.status == RecipientStatus.PENDING.value,
    )
    .order_by(recipients.c.message_pk, recipients.c.position)
)

RECIPIENT_STATES_OF_MANY = (
    select(recipients.c.message_pk, recipients.c.address, recipients.c.status)
    .where(recipients.c.message_pk.in_(bindparam("p_ids", expanding=True)))
    .order_by(recipients.c.message_pk, recipients.c.position)
)
"""Who is still to get the claimed messages (and who got them already)."""

MESSAGE_BYTES = (
    select(
        pieces.c.message_pk,
        select(blobs.c.data).where(blobs.c.digest == pieces.c.digest).scalar_subquery(),
    )
    .where(pieces.c.message_pk.in_(bindparam("p_ids", expanding=True)))
    .order_by(pieces.c.message_pk, pieces.c.position)
)
"""The stored bytes of the messages ``ids``, piece by piece. Each blob is looked up by its key
(a subquery per piece, not a join): without fresh statistics of an outbox that has just grown,
PostgreSQL would hash every blob of the outbox to join a batch's few, a cost per batch that
grows with the outbox."""

FINISH = (
    update(messages)
    .where(
        messages.c.id == bindparam("p_id"),
        messages.c.lease_owner == bindparam("p_worker"),
        messages.c.status == MessageStatus.SENDING.value,
    )
    .values(
        status=bindparam("p_status"),
        attempts=messages.c.attempts + 1,
        next_attempt_at=bindparam("p_next_attempt_at"),
        lease_owner=None,
        updated_at=bindparam("p_now"),
        sent_at=bindparam("p_sent_at"),
        last_error=bindparam("p_error"),
        last_error_text=bindparam("p_error_text"),
        last_error_class=bindparam("p_error_class"),
        last_step=bindparam("p_step"),
        last_code=bindparam("p_code"),
        last_reply=bindparam("p_reply"),
        queue_id=bindparam("p_queue_id"),
    )
)
"""Record how an attempt ended; matches nothing when the lease was lost to another worker."""

FINISH_OWNED = FINISH.returning(messages.c.id)
""":data:`FINISH`, returning the id when the lease was still this worker's."""

SET_RECIPIENT = (
    update(recipients)
    .where(
        recipients.c.message_pk == bindparam("p_id"),
        recipients.c.address == bindparam("p_address"),
        recipients.c.status == RecipientStatus.PENDING.value,
    )
    .values(
        status=bindparam("p_rstatus"),
        code=bindparam("p_rcode"),
        reply=bindparam("p_rreply"),
        updated_at=bindparam("p_now"),
    )
)

MARK_BOUNCED = (
    update(recipients)
    .where(
        recipients.c.message_pk == bindparam("p_id"),
        func.lower(recipients.c.address) == func.lower(bindparam("p_address")),
    )
    .values(
        status=bindparam("p_rstatus"),
        code=bindparam("p_rcode"),
        reply=bindparam("p_rreply"),
        updated_at=bindparam("p_now"),
    )
)
"""A recipient whose delivery bounced after the server accepted it (the relay's bounces)."""

INSERT_ATTEMPT = insert(attempts)


def _record_attempt() -> Select[Any]:
    finished = FINISH_OWNED.cte("finished")
    changes = (
        func.unnest(
            bindparam("p_addresses", type_=postgresql.ARRAY(Text)),
            bindparam("p_rstatuses", type_=postgresql.ARRAY(Text)),
            bindparam("p_rcodes", type_=postgresql.ARRAY(Integer)),
            bindparam("p_rreplies", type_=postgresql.ARRAY(Text)),
        )
        .table_valued("address", "status", "code", "reply")
        .render_derived(name="changes")
    )
    set_recipients = (
        update(recipients)
        .where(
            recipients.c.message_pk == finished.c.id,
            recipients.c.address == changes.c.address,
            recipients.c.status == RecipientStatus.PENDING.value,
        )
        .values(
            status=changes.c.status,
            code=changes.c.code,
            reply=changes.c.reply,
            updated_at=bindparam("p_now"),
        )
        .cte("set_recipients")
    )
    logged = (
        insert(attempts)
        .values({c.name: bindparam(f"a_{c.name}") for c in attempts.c if c is not attempts.c.id})
        .cte("logged")
    )
    return select(finished.c.id).add_cte(set_recipients, logged)


RECORD_ATTEMPT = _record_attempt()
"""PostgreSQL: an attempt's whole result in one statement (so one round trip, and one
execution for the driver to prepare and run): :data:`FINISH_OWNED`, the recipients' states
(only when the lease was still the worker's) and the delivery log's row. Returns the id when
the lease was still the worker's. The recipients come as arrays (``p_addresses``,
``p_rstatuses``, ``p_rcodes``, ``p_rreplies``), the log's row as ``a_`` and its columns."""

LOST_LEASE_DETAIL = (
    update(attempts)
    .where(
        attempts.c.message_pk == bindparam("p_id"),
        attempts.c.number == bindparam("p_number"),
        attempts.c.worker == bindparam("p_worker"),
    )
    .values(detail=bindparam("p_detail"))
)
"""The log row of an attempt whose lease had been taken over meanwhile says so."""

MESSAGE = select(messages).where(messages.c.id == bindparam("p_id"))
RECIPIENTS_OF = (
    select(recipients)
    .where(recipients.c.message_pk == bindparam("p_id"))
    .order_by(recipients.c.position)
)
ATTEMPTS_OF = (
    select(attempts).where(attempts.c.message_pk == bindparam("p_id")).order_by(attempts.c.id)
)


def list_messages(*, status: str | None, business: bool = False) -> Select[Any]:
    """Messages newest first, optionally of one status and (``business``) of the business
    ``p_business``; ``limit`` and ``before_id`` bound."""
    query = select(messages).where(messages.c.id < bindparam("p_before_id"))
    if status is not None:
        query = query.where(messages.c.status == status)
    if business:
        query = query.where(messages.c.profile == bindparam("p_business"))
    return query.order_by(messages.c.id.desc()).limit(bindparam("p_limit", type_=Integer))


RECIPIENTS_OF_MANY = (
    select(recipients)
    .where(recipients.c.message_pk.in_(bindparam("p_ids", expanding=True)))
    .order_by(recipients.c.message_pk, recipients.c.position)
)

COUNT_BY_STATUS = select(messages.c.status, func.count()).group_by(messages.c.status)
COUNT_BY_STATUS_OF = COUNT_BY_STATUS.where(messages.c.profile == bindparam("p_business"))

ALL_PAUSES = select(pauses)
"""Every paused business's pause."""

RETRY = (
    update(messages)
    .where(
        messages.c.id == bindparam("p_id"),
        messages.c.status.in_(
            [MessageStatus.DEFERRED.value, MessageStatus.FAILED.value, MessageStatus.QUEUED.value]
        ),
    )
    .values(
        status=MessageStatus.QUEUED.value,
        next_attempt_at=bindparam("p_now"),
        # The creation time stays: it is when the email was queued, and the maximum age
        # counts from it: an entry past it gets this one attempt.
        updated_at=bindparam("p_now"),
        retried_at=bindparam("p_now"),
    )
)
"""Queue a deferred or failed message again, to be sent now."""

RETRY_RECIPIENTS = (
    update(recipients)
    .where(
        recipients.c.message_pk == bindparam("p_id"),
        # A person retrying wants every recipient not reached tried again, those the server
        # refused too (the mailbox may exist now); the accepted ones are never sent twice.
        recipients.c.status.in_([RecipientStatus.FAILED.value, RecipientStatus.REFUSED.value]),
    )
    .values(status=RecipientStatus.PENDING.value, updated_at=bindparam("p_now"))
)

CANCEL = (
    update(messages)
    .where(messages.c.id == bindparam("p_id"), messages.c.status.in_(WAITING))
    .values(
        status=MessageStatus.CANCELLED.value,
        next_attempt_at=None,
        updated_at=bindparam("p_now"),
    )
)
"""Cancel a message that is waiting; one being sent or already sent cannot be."""

CANCEL_RECIPIENTS = (
    update(recipients)
    .where(
        recipients.c.message_pk == bindparam("p_id"),
        recipients.c.status == RecipientStatus.PENDING.value,
    )
    .values(status=RecipientStatus.CANCELLED.value, updated_at=bindparam("p_now"))
)

_purgeable = select(messages.c.id).where(
    messages.c.status == MessageStatus.SENT.value, messages.c.sent_at < bindparam("p_before")
)
PURGE_ATTEMPTS = delete(attempts).where(attempts.c.message_pk.in_(_purgeable))
PURGE_RECIPIENTS = delete(recipients).where(recipients.c.message_pk.in_(_purgeable))
PURGE_PIECES = delete(pieces).where(pieces.c.message_pk.in_(_purgeable))
PURGE_MESSAGES = delete(messages).where(messages.c.id.in_(_purgeable))
PURGE_ORPHAN_BLOBS = delete(blobs).where(
    ~exists().where(pieces.c.digest == blobs.c.digest).correlate(blobs)
)
"""Blobs no message refers to any more (after a purge)."""

PAUSE_OF = select(pauses).where(pauses.c.profile == bindparam("p_profile"))
DELETE_PAUSE = delete(pauses).where(pauses.c.profile == bindparam("p_profile"))
INSERT_PAUSE = insert(pauses)

GET_META = select(meta.c.value).where(meta.c.key == bindparam("p_key"))

SENT_SINCE = select(func.count()).where(
    and_(
        attempts.c.started_at >= bindparam("p_since"),
        attempts.c.message_pk.in_(
            select(messages.c.id).where(messages.c.profile == bindparam("p_profile"))
        ),
    )
)
"""Attempts made for ``profile`` since ``since``: what a sending limit counts."""

DUE_BUSINESSES = (
    select(messages.c.profile)
    .where(messages.c.next_attempt_at <= bindparam("p_now"), messages.c.status.in_(_DUE_STATES))
    .distinct()
)
"""The businesses with mail due now: a fleet starts a worker for each."""

NEXT_DUE = select(func.min(messages.c.next_attempt_at)).where(
    messages.c.profile == bindparam("p_profile"), messages.c.status.in_(_DUE_STATES)
)
"""When the next message of ``profile`` becomes due, to sleep until then."""

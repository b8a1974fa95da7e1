"""Deliveries that ended with recipients not reached, read from the delivery log in the order
it was written: what the relay tells the businesses it sends for (section 5.3 of the HTTP
protocol).

The reader keeps its place by an attempt's id (a mark the caller stores); the statements take
the caller's connection, so reading, telling and moving the mark are one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select

from barua.database.tables import attempts, messages, recipients
from barua.outbox.status import MessageStatus, RecipientStatus


@dataclass(frozen=True, slots=True)
class NotReached:
    """A recipient the server refused for good (5xx), or that was given up on (the message
    failed, or its retries ran out)."""

    address: str
    code: int | None
    reply: str


@dataclass(frozen=True, slots=True)
class Endings:
    """What :func:`failed_endings` read."""

    read_to: int
    """The id of the last attempt read: the caller's next mark."""
    not_reached: dict[int, tuple[NotReached, ...]]
    """By entry id, the entries whose delivery ended with recipients not reached."""


def attempt_before(conn: Connection, when: float) -> int:
    """The id of the newest attempt started before ``when`` (0 when there is none): where a
    reader with no mark yet starts."""
    found = conn.execute(_LAST_ATTEMPT_BEFORE, {"before": when}).scalar()
    return int(found or 0)


def failed_endings(
    conn: Connection, *, business: str, after: int, settled_before: float, limit: int = 500
) -> Endings:
    """The entries of ``business`` whose last attempt, logged after the attempt ``after``,
    ended the delivery (sent or failed) with recipients not reached.

    Only attempts that ended before ``settled_before`` are read, and the reading stops at the
    first that did not: on PostgreSQL an attempt with a smaller id may still be committing,
    and a reader that moved past it would never see it. A recipient that failed later, by a
    bounce, is not among them: the bounce has a notice of its own.
    """
    read_to = after
    ended: list[int] = []
    for attempt in conn.execute(
        _ATTEMPTS_SINCE, {"after": after, "business": business, "limit": limit}
    ):
        if attempt.ended > settled_before:
            break
        read_to = int(attempt.id)
        if attempt.number == attempt.attempts and attempt.status in _ENDED:
            ended.append(int(attempt.message_pk))
    not_reached: dict[int, list[NotReached]] = {}
    if ended:
        for row in conn.execute(_NOT_REACHED, {"ids": ended}):
            not_reached.setdefault(int(row.message_pk), []).append(
                NotReached(row.address, row.code, row.reply or "")
            )
    return Endings(read_to, {pk: tuple(found) for pk, found in not_reached.items()})


_ENDED = {MessageStatus.SENT.value, MessageStatus.FAILED.value}

_LAST_ATTEMPT_BEFORE = (
    select(attempts.c.id)
    .where(attempts.c.started_at < bindparam("before"))
    .order_by(attempts.c.started_at.desc())
    .limit(1)
)
_ATTEMPTS_SINCE = (
    select(
        attempts.c.id,
        attempts.c.message_pk,
        attempts.c.number,
        (attempts.c.started_at + attempts.c.duration).label("ended"),
        messages.c.attempts,
        messages.c.status,
    )
    .join(messages, messages.c.id == attempts.c.message_pk)
    .where(attempts.c.id > bindparam("after"), messages.c.profile == bindparam("business"))
    .order_by(attempts.c.id)
    .limit(bindparam("limit"))
)
# Refused or given up in an attempt: written with the message's own time of that attempt. A
# bounce later makes an accepted recipient failed with a later time of its own.
_NOT_REACHED = (
    select(recipients.c.message_pk, recipients.c.address, recipients.c.code, recipients.c.reply)
    .join(messages, messages.c.id == recipients.c.message_pk)
    .where(
        recipients.c.message_pk.in_(bindparam("ids", expanding=True)),
        recipients.c.status.in_([RecipientStatus.REFUSED.value, RecipientStatus.FAILED.value]),
        recipients.c.updated_at <= messages.c.updated_at,
    )
    .order_by(recipients.c.message_pk, recipients.c.position)
)

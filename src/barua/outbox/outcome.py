"""What one delivery attempt means for the message and each recipient (pure: no I/O).

:func:`decide` turns what the transport reported (a :class:`~barua.transports.base.SendResult`
or a :class:`~barua.errors.TransportError`) into the next state, following these rules:

* a recipient the server accepted is done; one it refused with 5xx is ``refused``; one refused
  with 4xx, or not reached because of a temporary failure, stays ``pending``;
* recipients still pending are tried again after the :class:`RetryPolicy` delay, unless the
  message has reached its maximum age: then they are ``failed``;
* a permanent failure of the whole message (5xx to MAIL FROM or DATA, too large) fails every
  pending recipient at once;
* a refused login, a TLS failure or an insecure connection is a fault of the settings, not of
  the message: the message waits (``deferred``, due at once) and the queue is paused;
* when no recipient is pending any more, the message is ``sent`` if at least one recipient
  accepted it, else ``failed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from barua.errors import (
    AuthenticationError,
    InsecureError,
    OutcomeUnknown,
    RecipientRefused,
    TLSError,
    TransportError,
)
from barua.outbox.retry import RetryPolicy
from barua.outbox.status import AttemptOutcome, MessageStatus, RecipientStatus
from barua.texts import Message
from barua.transports.base import SendResult

SETTINGS_FAULTS: tuple[type[TransportError], ...] = (AuthenticationError, InsecureError, TLSError)
"""Failures that would happen to every message alike: they pause the queue instead."""


@dataclass(frozen=True, slots=True)
class RecipientUpdate:
    status: RecipientStatus
    code: int | None = None
    reply: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The state after an attempt, and the row the delivery log gets for it."""

    status: MessageStatus
    outcome: AttemptOutcome
    next_attempt_at: float | None
    recipients: dict[str, RecipientUpdate] = field(default_factory=dict)
    """Only the recipients whose state changed."""
    code: int | None = None
    reply: str | None = None
    error: str | None = None
    error_text: str | None = None
    """The error as a code with its values (:meth:`barua.texts.Text.dumps`), to show it in
    the reader's language."""
    error_class: str | None = None
    step: str | None = None
    queue_id: str | None = None
    pause: bool = False
    """True when the queue of these settings must be paused (see the module docstring)."""


NOTHING_LEFT = Message(
    "outbox.nothing_left", "no recipient was left to send to: each was refused or cancelled"
)


def nothing_left(*, accepted_before: bool) -> Decision:
    """The decision for a claimed message none of whose recipients waits any more: sent when
    an earlier attempt delivered to some of them, failed otherwise; no server is asked."""
    if accepted_before:
        return Decision(MessageStatus.SENT, AttemptOutcome.ACCEPTED, None)
    error = NOTHING_LEFT()
    return Decision(
        MessageStatus.FAILED,
        AttemptOutcome.FAILED,
        None,
        error=error.render(),
        error_text=error.dumps(),
    )


def decide(
    *,
    pending: Sequence[str],
    result: SendResult | None = None,
    error: BaseException | None = None,
    attempts: int,
    created: float,
    now: float,
    policy: RetryPolicy,
    accepted_before: bool = False,
    rand: float | None = None,
) -> Decision:
    """The decision after attempt number ``attempts`` to deliver to the ``pending`` recipients.

    Exactly one of ``result`` and ``error`` is given. ``created`` is when the message was
    enqueued (the maximum age counts from it), ``now`` when the attempt ended, and
    ``accepted_before`` whether an earlier attempt already delivered to some recipient.
    """
    if (result is None) == (error is None):
        raise ValueError("give exactly one of result and error")
    done = MessageStatus.SENT if accepted_before else MessageStatus.FAILED
    if result is not None:
        return _after_result(
            pending, result, attempts=attempts, created=created, now=now, policy=policy, rand=rand
        )
    assert error is not None
    if not isinstance(error, TransportError):
        # A fault inside barua, not an answer of the server: keep the message and retry it.
        return _retry_or_give_up(
            list(pending),
            {},
            Decision(
                MessageStatus.DEFERRED,
                AttemptOutcome.DEFERRED,
                None,
                error=f"{error.__class__.__name__}: {error}",
                error_class=error.__class__.__name__,
            ),
            attempts=attempts,
            created=created,
            now=now,
            policy=policy,
            rand=rand,
            done=done,
        )
    template = Decision(
        MessageStatus.DEFERRED,
        AttemptOutcome.DEFERRED,
        None,
        code=error.code,
        reply=error.reply,
        error=str(error),
        error_text=error.text.dumps(),
        error_class=error.__class__.__name__,
        step=str(error.step),
    )
    if isinstance(error, SETTINGS_FAULTS) and not error.temporary:
        return replace(template, outcome=AttemptOutcome.PAUSED, next_attempt_at=now, pause=True)
    updates: dict[str, RecipientUpdate] = {}
    if isinstance(error, RecipientRefused):
        for address, (code, reply) in error.refused.items():
            if not 400 <= code < 500:
                updates[address] = RecipientUpdate(RecipientStatus.REFUSED, code, reply)
    left = [address for address in pending if address not in updates]
    if error.temporary or (isinstance(error, RecipientRefused) and left):
        if isinstance(error, OutcomeUnknown):
            template = replace(template, outcome=AttemptOutcome.UNKNOWN)
        return _retry_or_give_up(
            left,
            updates,
            template,
            attempts=attempts,
            created=created,
            now=now,
            policy=policy,
            rand=rand,
            done=done,
        )
    for address in left:
        updates[address] = RecipientUpdate(RecipientStatus.FAILED, error.code, error.reply)
    return replace(template, status=done, outcome=AttemptOutcome.FAILED, recipients=updates)


def _after_result(
    pending: Sequence[str],
    result: SendResult,
    *,
    attempts: int,
    created: float,
    now: float,
    policy: RetryPolicy,
    rand: float | None,
) -> Decision:
    updates: dict[str, RecipientUpdate] = {
        address: RecipientUpdate(RecipientStatus.ACCEPTED, result.code, result.reply)
        for address in result.accepted
    }
    for address, (code, reply) in result.refused.items():
        if not 400 <= code < 500:
            updates[address] = RecipientUpdate(RecipientStatus.REFUSED, code, reply)
    left = [address for address in pending if address not in updates]
    sent = Decision(
        MessageStatus.SENT,
        AttemptOutcome.PARTIAL if result.refused else AttemptOutcome.ACCEPTED,
        None,
        updates,
        code=result.code,
        reply=result.reply,
        queue_id=result.queue_id,
    )
    if not left:
        return sent
    # Some recipients were refused only for now (4xx): they get the message on a retry.
    why = "; ".join(f"{a} ({result.refused[a][0]} {result.refused[a][1]})" for a in left)
    retry_at = policy.next_attempt(attempts=attempts, now=now, created=created, rand=rand)
    if retry_at is not None:
        return replace(
            sent,
            status=MessageStatus.DEFERRED,
            next_attempt_at=retry_at,
            error=f"refused for now: {why}",
        )
    for address in left:
        code, reply = result.refused[address]
        updates[address] = RecipientUpdate(RecipientStatus.FAILED, code, reply)
    return replace(sent, error=f"gave up after {_age(policy)} on: {why}")


def _retry_or_give_up(
    left: list[str],
    updates: dict[str, RecipientUpdate],
    template: Decision,
    *,
    attempts: int,
    created: float,
    now: float,
    policy: RetryPolicy,
    rand: float | None,
    done: MessageStatus,
) -> Decision:
    retry_at = policy.next_attempt(attempts=attempts, now=now, created=created, rand=rand)
    if retry_at is not None:
        return replace(template, next_attempt_at=retry_at, recipients=updates)
    updates = dict(updates)
    for address in left:
        updates[address] = RecipientUpdate(RecipientStatus.FAILED, template.code, template.reply)
    return replace(
        template,
        status=done,
        outcome=AttemptOutcome.FAILED,
        recipients=updates,
        error=f"gave up after {attempts} attempt(s) over {_age(policy)}: {template.error}",
    )


def _age(policy: RetryPolicy) -> str:
    seconds = policy.max_age
    if seconds >= 86400 and seconds % 86400 == 0:
        days = int(seconds // 86400)
        return f"{days} day{'s' if days != 1 else ''}"
    if seconds >= 3600:
        return f"{seconds / 3600:g} hours"
    return f"{seconds:g} seconds"

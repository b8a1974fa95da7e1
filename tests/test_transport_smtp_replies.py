"""What an SMTP reply means, decided without a server: the error, its cause and the queue id."""

from __future__ import annotations

import pytest

from barua.errors import (
    AuthenticationError,
    Cause,
    MessageTooLarge,
    PermanentError,
    SenderRefused,
    Step,
    TemporaryError,
    TLSError,
    TransportError,
)
from barua.transports.causes import fix_for
from barua.transports.smtp_replies import classify_reply, queue_id, refuses_sender, reply_text


@pytest.mark.parametrize(
    ("step", "code", "text", "kind", "cause"),
    [
        (Step.MAIL_FROM, 421, "4.7.0 try again later", TemporaryError, Cause.TRY_LATER),
        (Step.AUTH, 454, "4.7.0 temporary authentication failure", TemporaryError, Cause.TRY_LATER),
        (Step.AUTH, 535, "5.7.8 bad credentials", AuthenticationError, Cause.AUTH_REFUSED),
        (
            Step.RCPT_TO,
            553,
            "5.7.1 Sender address rejected: not owned by user a@x.org",
            SenderRefused,
            Cause.SENDER_REFUSED,
        ),
        (Step.DATA, 554, "5.2.252 SendAsDenied", SenderRefused, Cause.SENDER_REFUSED),
        (
            Step.MAIL_FROM,
            530,
            "5.7.0 Must issue a STARTTLS command first",
            TLSError,
            Cause.NO_STARTTLS,
        ),
        (
            Step.MAIL_FROM,
            530,
            "5.7.0 Authentication required",
            AuthenticationError,
            Cause.AUTH_REQUIRED,
        ),
        (Step.DATA, 552, "5.3.4 too big", MessageTooLarge, Cause.MESSAGE_TOO_LARGE),
        (
            Step.DATA,
            554,
            "5.3.4 message size exceeds limit",
            MessageTooLarge,
            Cause.MESSAGE_TOO_LARGE,
        ),
        (Step.RCPT_TO, 450, "4.2.0 greylisted", TemporaryError, Cause.TRY_LATER),
        (Step.MAIL_FROM, 550, "5.1.0 no", SenderRefused, Cause.SENDER_REFUSED),
        (Step.RCPT_TO, 550, "5.1.1 no such user", PermanentError, Cause.RECIPIENT_REFUSED),
        (Step.DATA, 554, "5.7.1 spam", PermanentError, Cause.SERVICE_REFUSED),
    ],
)
def test_a_reply_is_classified_by_code_then_by_step(
    step: Step, code: int, text: str, kind: type[TransportError], cause: Cause
) -> None:
    verdict = classify_reply(step, code, text)
    assert (verdict.kind, verdict.cause) == (kind, cause)
    # The client fills in the server and the step; nothing else is left to fill in.
    assert verdict.message.fields <= {"host", "port", "step"}
    assert verdict.message.code.startswith("smtp.")
    # The hint is the fix of the cause, from the one table the advice reads too.
    assert fix_for(verdict.cause, step=step, replied=True, sender="a@x.org").render()


def test_a_temporary_refusal_never_reads_as_a_refused_sender() -> None:
    assert not refuses_sender(450, "4.7.1 Sender address rejected: try later")
    assert refuses_sender(
        550, "5.7.60 SMTP; Client does not have permissions to send as this sender"
    )
    assert refuses_sender(554, "Not authorized to send on behalf of a@x.org")
    assert not refuses_sender(550, "5.1.1 mailbox unavailable")


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("2.0.0 Ok: queued as 4F1x2Q0z", "4F1x2Q0z"),
        ("OK id=1abc-2def-3G", "1abc-2def-3G"),
        ("2.0.0 OK <a.b@mx.example> queued as <ABC123@mx.example>", "ABC123@mx.example"),
        ("2.0.0 OK 1700000000 x12si34", None),
    ],
)
def test_the_queue_id_is_found_in_an_acceptance(text: str, found: str | None) -> None:
    assert queue_id(text) == found


def test_a_reply_becomes_one_line_of_text() -> None:
    assert (
        reply_text(b"5.7.1 first line\n5.7.1  second\xff") == "5.7.1 first line 5.7.1 second\ufffd"
    )
    assert reply_text("  ok  ") == "ok"

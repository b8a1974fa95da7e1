"""The outbox's pure parts: retry formula, content-addressed pieces, and what an attempt means."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from barua.errors import (
    AuthenticationError,
    ConnectError,
    OutcomeUnknown,
    PermanentError,
    RecipientRefused,
    Step,
    TemporaryError,
    TLSError,
)
from barua.message import Attachment, build_message
from barua.outbox import content
from barua.outbox.claim_size import ClaimSize
from barua.outbox.outcome import Decision, RecipientUpdate, decide
from barua.outbox.retry import RetryPolicy
from barua.outbox.status import AttemptOutcome, MessageStatus, RecipientStatus
from barua.settings import make_settings
from barua.transports.base import SendResult

POLICY = RetryPolicy(jitter=0)
DAY = 86400.0
ABC = ["a@example.com", "b@example.com", "c@example.com"]


# RetryPolicy -------------------------------------------------------------------------------------


def test_backoff_doubles_up_to_the_maximum_delay() -> None:
    policy = RetryPolicy(first_delay=60, multiplier=2, max_delay=3600, jitter=0)
    assert [policy.delay(n) for n in range(1, 9)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert policy.delay(10_000) == 3600  # no overflow


def test_jitter_spreads_within_the_documented_band() -> None:
    policy = RetryPolicy(first_delay=60, jitter=0.5)
    assert policy.delay(1, rand=0.0) == 60
    assert policy.delay(1, rand=0.999) == pytest.approx(30.03)
    delays = {policy.delay(1) for _ in range(50)}
    assert all(30 <= d <= 60 for d in delays) and len(delays) > 1


def test_first_retry_comes_within_a_minute_and_the_last_at_the_maximum_age() -> None:
    policy = RetryPolicy()
    assert policy.next_attempt(attempts=1, now=100.0, created=100.0)  # type: ignore[operator]
    assert policy.next_attempt(attempts=1, now=100.0, created=100.0) <= 160.0  # type: ignore[operator]
    near_the_end = 5 * DAY - 10
    assert policy.next_attempt(attempts=40, now=near_the_end, created=0.0) == 5 * DAY
    assert policy.next_attempt(attempts=41, now=5 * DAY, created=0.0) is None


def test_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="multiplier"):
        RetryPolicy(multiplier=0.5)
    with pytest.raises(ValueError, match="jitter"):
        RetryPolicy(jitter=2)


# Content-addressed pieces ------------------------------------------------------------------------


def _invoice(pdf: bytes, subject: str) -> bytes:
    settings = make_settings(host="smtp.example.com", username="shop@example.com")
    return build_message(
        settings,
        to=["jane@example.com"],
        subject=subject,
        text="Habari Jane,\n\nTafadhali pata ankara.\n",
        attachments=[Attachment("INV-0042.pdf", pdf)],
    ).data


def test_pieces_join_back_to_the_exact_bytes() -> None:
    data = _invoice(os.urandom(45_000), "Ankara INV-0042")
    pieces = content.split(data)
    assert content.join(pieces) == data
    assert len(pieces) == 3  # headers and text, the PDF, the closing boundary
    assert max(len(p) for p in pieces) > 45_000 * 4 // 3


def test_the_same_attachment_is_the_same_piece_in_two_messages() -> None:
    pdf = os.urandom(45_000)
    first = content.split(_invoice(pdf, "Ankara INV-0042"))
    reminder = content.split(_invoice(pdf, "Reminder: INV-0042"))
    assert content.digest(first[1]) == content.digest(reminder[1])
    assert content.digest(first[0]) != content.digest(reminder[0])


_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64 = st.binary(min_size=1, max_size=1).filter(lambda b: b in _ALPHABET)
_LINES = st.one_of(
    st.lists(_B64, min_size=76, max_size=76).map(lambda c: b"".join(c) + b"\r\n"),  # full
    st.tuples(st.lists(_B64, max_size=80), st.sampled_from([b"", b"=", b"==", b"==="]),
              st.sampled_from([b"\r\n", b"\n", b"\r", b""])).map(
        lambda t: b"".join(t[0]) + t[1] + t[2]),  # short, long, padded, odd endings
    st.binary(max_size=8),  # anything between
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_LINES, max_size=40), st.integers(min_value=1, max_value=400))
def test_the_runs_found_are_those_of_the_rule(lines: list[bytes], min_blob: int) -> None:
    # The fast search (_runs) finds exactly the runs the regular expression defines, so a
    # piece stored before it and after it has one name.
    data = b"".join(lines)
    expected = [m.span() for m in content.BASE64_RUN.finditer(data)]
    assert list(content._runs(data)) == expected
    pieces = content.split(data, min_blob=min_blob)
    assert content.join(pieces) == data


def test_a_long_run_is_found_whole() -> None:
    run = (b"QUJD" * 19 + b"\r\n") * 5000 + b"QUI=\r\n"  # 390 KB: blocks of every size
    data = b"Subject: x\r\n\r\n" + run + b"--end--\r\n"
    assert list(content._runs(data)) == [m.span() for m in content.BASE64_RUN.finditer(data)]
    assert content.split(data) == [data[:14], run, b"--end--\r\n"]


def test_small_or_textual_messages_stay_whole() -> None:
    data = b"Subject: hi\r\n\r\nHello\r\n.\r\n"
    assert content.split(data) == [data]
    assert content.split(b"") == [b""]


# What an attempt means ----------------------------------------------------------------------------


def _result(accepted: list[str], refused: dict[str, tuple[int, str]] | None = None) -> SendResult:
    return SendResult(
        message_id="<m@x>",
        accepted=tuple(accepted),
        refused=refused or {},
        reply="2.0.0 Ok: queued as 4F1x2",
        queue_id="4F1x2",
    )


def _decide(**kwargs: object) -> Decision:
    base: dict[str, object] = {"attempts": 1, "created": 0.0, "now": 10.0, "policy": POLICY}
    return decide(**(base | kwargs))  # type: ignore[arg-type]


def test_accepted_for_everyone_is_sent() -> None:
    d = _decide(pending=ABC, result=_result(ABC))
    assert d.status is MessageStatus.SENT and d.outcome is AttemptOutcome.ACCEPTED
    assert {u.status for u in d.recipients.values()} == {RecipientStatus.ACCEPTED}
    assert d.queue_id == "4F1x2"


def test_two_of_three_accepted_says_so_per_recipient() -> None:
    refused = {"c@example.com": (550, "5.1.1 no such user")}
    d = _decide(pending=ABC, result=_result(ABC[:2], refused))
    assert d.status is MessageStatus.SENT and d.outcome is AttemptOutcome.PARTIAL
    assert d.recipients["c@example.com"].status is RecipientStatus.REFUSED
    assert d.recipients["c@example.com"].code == 550


def test_a_recipient_refused_for_now_is_retried_alone() -> None:
    refused = {"c@example.com": (450, "4.2.0 greylisted")}
    d = _decide(pending=ABC, result=_result(ABC[:2], refused))
    assert d.status is MessageStatus.DEFERRED and d.next_attempt_at == 70.0
    assert "c@example.com" not in d.recipients


def test_temporary_failures_defer_with_backoff() -> None:
    error = TemporaryError("busy", step=Step.MAIL_FROM, code=451, reply="4.3.0 try later")
    d = _decide(pending=ABC, error=error, attempts=3, now=1000.0)
    assert d.status is MessageStatus.DEFERRED and d.outcome is AttemptOutcome.DEFERRED
    assert d.next_attempt_at == 1240.0
    assert (d.code, d.step, d.error_class) == (451, "mail_from", "TemporaryError")
    connect = ConnectError("refused", step=Step.CONNECT)
    assert _decide(pending=ABC, error=connect).status is MessageStatus.DEFERRED


def test_no_reply_after_the_final_dot_is_outcome_unknown_and_retried() -> None:
    error = OutcomeUnknown("no reply", step=Step.DATA)
    d = _decide(pending=ABC, error=error)
    assert d.status is MessageStatus.DEFERRED and d.outcome is AttemptOutcome.UNKNOWN


def test_permanent_failures_fail_at_once_with_the_reason() -> None:
    error = PermanentError("refused", step=Step.DATA, code=554, reply="5.7.1 spam")
    d = _decide(pending=ABC, error=error)
    assert d.status is MessageStatus.FAILED and d.outcome is AttemptOutcome.FAILED
    assert {u.status for u in d.recipients.values()} == {RecipientStatus.FAILED}
    assert "5.7.1 spam" in d.error


def test_every_recipient_refused_mixed_4xx_and_5xx() -> None:
    error = RecipientRefused(
        "refused",
        refused={"a@example.com": (550, "no such user"), "b@example.com": (451, "later")},
    )
    d = _decide(pending=ABC[:2], error=error)
    assert d.status is MessageStatus.DEFERRED
    assert d.recipients == {
        "a@example.com": RecipientUpdate(RecipientStatus.REFUSED, 550, "no such user")
    }


@pytest.mark.parametrize(
    "error",
    [
        AuthenticationError("refused", step=Step.AUTH, code=535, reply="5.7.8 bad credentials"),
        TLSError("untrusted", step=Step.CERTIFICATE),
    ],
)
def test_a_fault_of_the_settings_pauses_instead_of_failing(error: Exception) -> None:
    d = _decide(pending=ABC, error=error)
    assert d.pause and d.status is MessageStatus.DEFERRED
    assert d.outcome is AttemptOutcome.PAUSED and d.next_attempt_at == 10.0
    assert d.recipients == {}


def test_retry_time_exhausted_fails_with_the_last_reason() -> None:
    error = TemporaryError("busy", step=Step.MAIL_FROM, code=451, reply="4.3.0 try later")
    d = _decide(pending=ABC, error=error, attempts=60, now=5 * DAY)
    assert d.status is MessageStatus.FAILED and d.outcome is AttemptOutcome.FAILED
    assert d.error.startswith("gave up after 60 attempt(s) over 5 days: ")
    after_partial = _decide(pending=ABC[2:], error=error, now=5 * DAY, accepted_before=True)
    assert after_partial.status is MessageStatus.SENT
    assert after_partial.recipients["c@example.com"].status is RecipientStatus.FAILED


def test_a_bug_inside_barua_keeps_the_message() -> None:
    d = _decide(pending=ABC, error=RuntimeError("boom"))
    assert d.status is MessageStatus.DEFERRED and d.error == "RuntimeError: boom"


def test_sending_limits_come_from_the_provider_presets() -> None:
    from barua.outbox import limits_for
    from barua.setup.providers import preset_for_host

    gmail = make_settings(host="smtp.gmail.com", port=587, username="duka@gmail.com")
    preset = preset_for_host("smtp.gmail.com", 587)
    assert preset is not None
    limits = limits_for(gmail)
    assert limits.per_day == preset.daily_limit and limits.per_minute == preset.per_minute_limit
    assert limits.connections <= (preset.max_connections or 3)
    local = make_settings(host="127.0.0.1", security="none", email_address="shop@example.com")
    assert limits_for(local).per_day is None and limits_for(local).connections == 4


def test_claim_size_follows_the_time_a_message_takes() -> None:
    size = ClaimSize(most=32)
    assert size.next() == 1, "nothing timed yet: one message"
    for _ in range(30):
        size.sent(0.002)  # a server on the same machine
    assert size.next() == 32, "as many as allowed"
    for _ in range(30):
        size.sent(0.1)
    assert size.next() == 5, "half a second of sending"
    for _ in range(30):
        size.sent(2.0)  # a slow provider
    assert size.next() == 1

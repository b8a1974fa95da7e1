"""Outbox entries as the pages show them: each status in words, what happened last, the times,
in the reader's language."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from barua.app.present import AttemptOutcome, MessageStatus, RecipientStatus
from barua.i18n import N_
from barua.web.i18n import gettext_for

if TYPE_CHECKING:
    from barua.app.present import Attempt, OutboxEntry, Pause

STATUS_WORDS = {
    MessageStatus.QUEUED: N_("queued"),
    MessageStatus.SENDING: N_("sending"),
    MessageStatus.SENT: N_("sent"),
    MessageStatus.DEFERRED: N_("deferred"),
    MessageStatus.FAILED: N_("failed"),
    MessageStatus.CANCELLED: N_("cancelled"),
}
RECIPIENT_WORDS = {
    RecipientStatus.PENDING: N_("waiting"),
    RecipientStatus.ACCEPTED: N_("accepted"),
    RecipientStatus.REFUSED: N_("refused"),
    RecipientStatus.FAILED: N_("failed"),
    RecipientStatus.CANCELLED: N_("cancelled"),
}
OUTCOME_WORDS = {
    AttemptOutcome.ACCEPTED: N_("accepted"),
    AttemptOutcome.PARTIAL: N_("accepted for some recipients"),
    AttemptOutcome.DEFERRED: N_("deferred"),
    AttemptOutcome.UNKNOWN: N_("outcome unknown"),
    AttemptOutcome.FAILED: N_("failed"),
    AttemptOutcome.PAUSED: N_("paused"),
}


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else ""


def entry_view(entry: OutboxEntry, lang: str) -> dict[str, Any]:
    """One entry: who it went to, its status in words, and what happened last."""
    _ = gettext_for(lang)
    total = len(entry.recipients)
    accepted = entry.count(RecipientStatus.ACCEPTED)
    error = entry.last_error_text.render(lang) if entry.last_error_text else entry.last_error
    if entry.status is MessageStatus.SENT:
        summary = (
            _("sent to every recipient")
            if accepted == total
            else _("sent to {accepted} of {total} recipients", accepted=accepted, total=total)
        )
    elif entry.status is MessageStatus.DEFERRED:
        summary = _(
            "will be tried again at {time}: {reason}",
            time=when(entry.next_attempt_at),
            reason=error or _("a temporary failure"),
        )
    elif entry.status is MessageStatus.FAILED:
        summary = _("failed: {reason}", reason=error or _("a permanent failure"))
    else:
        summary = _(STATUS_WORDS[entry.status])
    return {
        "id": entry.id,
        "business": entry.business,
        "status": str(entry.status),
        "status_words": _(STATUS_WORDS[entry.status]),
        "final": entry.status.final,
        "subject": entry.subject,
        "recipients": [
            {
                "address": r.address,
                "status": _(RECIPIENT_WORDS[r.status]),
                "reply": f"{r.code} {r.reply}".strip() if r.code is not None else "",
            }
            for r in entry.recipients
        ],
        "to": ", ".join(r.address for r in entry.recipients),
        "attempts": entry.attempts,
        "summary": summary,
        "last_reply": f"{entry.last_code} {entry.last_reply}".strip()
        if entry.last_code is not None
        else "",
        "created": when(entry.created_at),
        "retried": when(entry.retried_at),
        "updated": when(entry.updated_at),
        "sent": when(entry.sent_at),
        "can_retry": entry.status in {MessageStatus.DEFERRED, MessageStatus.FAILED},
        "can_cancel": entry.status in {MessageStatus.QUEUED, MessageStatus.DEFERRED},
    }


def attempt_view(attempt: Attempt, lang: str) -> dict[str, Any]:
    error = attempt.error_text.render(lang) if attempt.error_text else attempt.error
    return {
        "number": attempt.number,
        "started": when(attempt.started_at),
        "seconds": f"{attempt.duration:.2f}",
        "server": attempt.server,
        "outcome": gettext_for(lang)(OUTCOME_WORDS.get(attempt.outcome, str(attempt.outcome))),
        "reply": f"{attempt.code} {attempt.reply}".strip() if attempt.code is not None else "",
        "error": error or "",
    }


def pause_view(pause: Pause, lang: str) -> dict[str, Any]:
    reason = pause.reason_text.render(lang) if pause.reason_text else pause.reason
    return {
        "since": when(pause.paused_at),
        "reason": reason,
        "hint": pause.hint or "",
        "reply": f"{pause.code} {pause.reply}".strip() if pause.code is not None else "",
    }

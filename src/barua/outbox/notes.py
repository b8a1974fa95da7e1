"""What a worker says while it runs (its log lines), as texts the reader's language shows.

The worker and its helpers hand these to the ``log`` callable they were given; the command
line prints them in the run's language, a JSON log in English. Tracebacks stay as Python
wrote them: they are for barua's developers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from barua.errors import BaruaError, TransportError
from barua.outbox.errors import WITH_REPLY
from barua.texts import Message, Text, untranslated

if TYPE_CHECKING:
    from barua.outbox.queue import Pause

SETTINGS_UNREADABLE = Message("worker.settings_unreadable", "the settings cannot be read: {error}")
SETTINGS_CHANGED_RESUMING = Message(
    "worker.settings_changed_resuming",
    "the settings changed since the server refused them: delivery resumes",
)
SETTINGS_CHANGED = Message("worker.settings_changed", "the settings changed; sending with them")
PAUSED = Message("worker.paused", "delivery is paused: {reason}")
RETRYING_DATABASE = Message("worker.retrying_database", "{error}; trying again in {seconds} s")
ASKING_AGAIN = Message("worker.asking_again", "{error}; asking again in {seconds} s")
SENDER_STOPPED = Message(
    "worker.sender_stopped", "a sender thread stopped on an unexpected error:\n{trace}"
)
RECONNECTING = Message(
    "worker.reconnecting", "{server}: {error}; waiting {seconds} s before reconnecting"
)
UNEXPECTED = Message("worker.unexpected", "unexpected error sending entry {id}:\n{trace}")
RESULTS_KEPT = Message("worker.results_kept", "{error} (the results are kept and written again)")
CANNOT_CLAIM = Message("worker.cannot_claim", "could not claim more messages: {error}")
WRITING_AGAIN = Message("worker.writing_again", "{error}; writing the results again in {seconds} s")
CANNOT_GIVE_BACK = Message("worker.cannot_give_back", "could not give messages back: {error}")
LEASE_UNCONFIRMED = Message(
    "worker.lease_unconfirmed", "could not confirm the lease of entry {id}: {error}"
)
LEASE_TAKEN_OVER = Message(
    "worker.lease_taken_over", "entry {id}: its lease ran out and another worker took it over"
)
GAVE_BACK = Message(
    "worker.gave_back", "gave back {count} message(s) a database failure had left held"
)
CANNOT_RENEW = Message("worker.cannot_renew", "could not renew the leases: {error}")
FINISHING = Message("worker.finishing", "{signal}: finishing the messages in flight")
NO_SETTINGS = Message("worker.no_settings", "{business} has mail to send but no email settings")
OF_BUSINESS = Message("worker.of_business", "{business}: {line}")


def said(error: BaseException | str) -> Text:
    """An error (or a reason kept as words) as a text: barua's own in the reader's language
    with the server's reply as it is (as ``str(error)`` has it), any other as it is."""
    if isinstance(error, TransportError) and error.code is not None and error.reply:
        return WITH_REPLY(error=error.text, code=error.code, reply=error.reply)
    if isinstance(error, BaruaError):
        return error.text
    return untranslated(str(error))


def pause_reason(pause: Pause) -> Text:
    """Why a business's queue waits, with the server's reply, in the reader's language."""
    if pause.reason_text is None:
        return untranslated(pause.reason)
    if pause.code is not None and pause.reply:
        return WITH_REPLY(error=pause.reason_text, code=pause.code, reply=pause.reply)
    return pause.reason_text


def seconds(value: float) -> str:
    """A wait, as the log shows it (one decimal)."""
    return f"{value:.1f}"

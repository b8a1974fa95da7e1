"""``barua outbox`` and ``barua worker``: the durable outbox and its delivery worker."""

from __future__ import annotations

import json
import signal
import sys
from datetime import UTC, date, datetime, time
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from barua.app.choices import MessageStatus
from barua.cli.common import (
    EXIT_DELIVERY_FAILED,
    _,
    app,
    bad_input,
    business,
    current,
    err,
    language,
    out,
    pgettext,
    print_line,
    printable,
    render,
    user_errors,
)
from barua.cli.events import EventLog, LogFormat, LogFormatOpt
from barua.cli.serving import MetricsFromOpt, start_health
from barua.i18n import N_
from barua.texts import Message, Text

if TYPE_CHECKING:
    from barua.app.present import FleetReport, OutboxEntry, Pause
    from barua.app.workers import Workers

NOT_A_DATE = Message("cli.not_a_date", '"{value}" is not a date')
NOT_A_DATE_HINT = Message("cli.not_a_date_hint", "Give it as YYYY-MM-DD or YYYY-MM-DDTHH:MM.")

outbox_app = typer.Typer(
    help="List, inspect, retry and cancel queued email.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
# Described in each command's text: typer would list the argument with its Python type.
IdArg = Annotated[int, typer.Argument(metavar="ID", hidden=True, show_default=False)]


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


_print = print_line


def _said(text: Text | None, english: str) -> str:
    """What the outbox kept, in the user's language when it kept the code."""
    return english if text is None else render(text)


def _pause_dict(pause: Pause) -> dict[str, Any]:
    return {
        "since": pause.paused_at.isoformat(),
        "reason": pause.reason,
        "reason_code": None if pause.reason_text is None else pause.reason_text.code,
        "hint": pause.hint,
        "step": pause.step,
        "code": pause.code,
        "reply": pause.reply,
    }


def _warn_paused(pause: Pause | None, name: str) -> None:
    if pause is None:
        return
    err.print(
        _(N_('delivery for "{business}" is paused since {since} UTC: {reason}')).format(
            business=printable(name),
            since=_when(pause.paused_at),
            reason=printable(_said(pause.reason_text, pause.reason)),
        ),
        markup=False,
    )
    err.print(
        _(
            N_(
                "hint: fix the settings (`barua settings set ...`); delivery resumes by itself "
                "when they change, or run `barua outbox resume`."
            )
        ),
        markup=False,
    )


@outbox_app.command("list")
def list_command(
    status: Annotated[
        MessageStatus | None,
        typer.Option("--status", help="Only entries in this state.", case_sensitive=False),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", metavar="N", help="At most this many, newest first.")
    ] = 50,
    as_json: JsonOpt = False,
    business_name: Annotated[
        str | None,
        typer.Option(
            "--business", metavar="NAME", help="Only this business's entries (default: all)."
        ),
    ] = None,
) -> None:
    """List the outbox, newest first: every business's entries, or one's."""
    with user_errors():
        name = business_name or current().business_name
        chosen = app().business(name) if name is not None else None
        page = app().outbox_page(business=chosen, status=status, limit=limit)
        several = len(page.names) > 1
        if as_json:
            document = {
                "paused": {
                    page.names.get(key, key): _pause_dict(p) for key, p in page.paused.items()
                },
                "counts": {s.value: n for s, n in page.counts.items()},
                "entries": [
                    entry.to_dict() | {"business_name": page.names.get(entry.business)}
                    for entry in page.entries
                ],
            }
            out.print_json(json.dumps(document))
            return
        for key, pause in page.paused.items():
            _warn_paused(pause, page.names.get(key, key))
        if not page.entries:
            _print(
                _(N_("The outbox is empty."))
                if status is None
                else _(N_("No {status} entries.")).format(status=_status(status))
            )
            return
        heading = {
            "business": _(N_("BUSINESS")),
            "status": _(N_("STATUS")),
            "tries": _(N_("TRIES")),
            "created": _(N_("CREATED (UTC)")),
            "to": _(N_("TO / SUBJECT")),
        }
        who = f"{heading['business']:16}  " if several else ""
        statuses = [_status(entry.status) for entry in page.entries]
        width = max(9, len(heading["status"]), *(len(word) for word in statuses))
        tries = max(5, len(heading["tries"]))
        _print(
            f"{'ID':>6}  {heading['status']:{width}}  {heading['tries']:>{tries}}  "
            f"{heading['created']:19}  {who}{heading['to']}"
        )
        for entry, word in zip(page.entries, statuses, strict=True):
            # Other people's text, each kept on its one line.
            to = printable(", ".join(r.address for r in entry.recipients))
            name = page.names.get(entry.business, entry.business)[:16]
            shown = f"{printable(name):16}  " if several else ""
            _print(
                f"{entry.id:>6}  {word:{width}}  {entry.attempts:>{tries}}  "
                f"{_when(entry.created_at):19}  {shown}{to}: {printable(entry.subject)}"
            )


def _step(step: str) -> str:
    """A step of the delivery log as ``barua test`` names it."""
    from barua.app.present import step_label
    from barua.errors import Step

    return step_label(Step(step), language()) if step in set(Step) else step


def _status(status: MessageStatus) -> str:
    from barua.app.present import STATUS_WORDS

    return render(STATUS_WORDS[status]())


def _show(entry: OutboxEntry, business_name: str) -> int:
    from barua.app.present import RECIPIENT_WORDS

    utc = _(N_("{time} UTC"))
    rows = [
        (pgettext("outbox entry", "id"), str(entry.id)),
        (pgettext("outbox entry", "business"), business_name),
        (
            pgettext("outbox entry", "status"),
            f"{_status(entry.status)}: {render(entry.summary_text)}",
        ),
        (pgettext("outbox entry", "subject"), entry.subject),
        (pgettext("outbox entry", "from"), entry.sender),
        (pgettext("outbox entry", "message-id"), entry.message_id),
        (pgettext("outbox entry", "key"), entry.idempotency_key or "-"),
        (pgettext("outbox entry", "size"), _(N_("{size} bytes")).format(size=entry.size)),
        (pgettext("outbox entry", "queued"), utc.format(time=_when(entry.created_at))),
        (
            pgettext("outbox entry", "retried"),
            utc.format(time=_when(entry.retried_at)) if entry.retried_at else "-",
        ),
        (
            pgettext("outbox entry", "sent"),
            utc.format(time=_when(entry.sent_at)) if entry.sent_at else "-",
        ),
        (pgettext("outbox entry", "attempts"), str(entry.attempts)),
    ]
    if entry.status in (MessageStatus.DEFERRED, MessageStatus.QUEUED) and entry.next_attempt_at:
        rows.append(
            (
                pgettext("outbox entry", "next attempt"),
                utc.format(time=_when(entry.next_attempt_at)),
            )
        )
    if entry.last_error:
        rows.append(
            (pgettext("outbox entry", "last error"), _said(entry.last_error_text, entry.last_error))
        )
    if entry.queue_id:
        rows.append((pgettext("outbox entry", "server id"), entry.queue_id))
    width = max(13, *(len(label) for label, _value in rows))
    for label, value in rows:
        _print(f"{label:{width}} {printable(value)}")
    _print(pgettext("outbox entry", "recipients:"))
    words = {r.status: render(RECIPIENT_WORDS[r.status]()) for r in entry.recipients}
    status_width = max(9, *(len(word) for word in words.values())) if words else 9
    for r in entry.recipients:
        said = f" ({r.code} {r.reply})" if r.code is not None else ""
        _print(f"  {words[r.status]:{status_width}} {printable(r.address + said)}")
    return width


@outbox_app.command("show")
def show_command(entry_id: IdArg, as_json: JsonOpt = False) -> None:
    """Show outbox entry ID (as `barua outbox list` shows it), its recipients and its
    delivery log."""
    with user_errors():
        detail = app().outbox_entry(entry_id)
        entry, attempts = detail.entry, detail.attempts
        if as_json:
            document = entry.to_dict() | {
                "business_name": detail.business_name,
                "log": [a.to_dict() for a in attempts],
            }
            out.print_json(json.dumps(document))
            return
        from barua.app.present import OUTCOME_WORDS, AttemptOutcome, detail_text

        width = _show(entry, detail.business_name)
        log = pgettext("outbox entry", "log:")
        _print(log if attempts else f"{log:{width}} " + _(N_("no attempt yet")))
        for a in attempts:
            reply = printable(f"{a.code} {a.reply}") if a.code is not None else ""
            outcome = render(OUTCOME_WORDS[AttemptOutcome(a.outcome)]())
            if a.step:
                outcome = _(N_("{outcome} at step {step}")).format(
                    outcome=outcome, step=_step(a.step)
                )
            started = _(N_("{time} UTC")).format(time=_when(a.started_at))
            _print(
                f"  #{a.number} {started}  {a.duration * 1000:7.1f} ms  "
                f"{printable(a.server)}  {outcome}  {reply}".rstrip()
            )
            if a.error:
                _print(f"      {a.error_class}: {printable(_said(a.error_text, a.error))}")
            if a.detail:
                _print(f"      {printable(render(detail_text(a.detail)))}")
        if entry.status in (MessageStatus.QUEUED, MessageStatus.DEFERRED):
            _warn_paused(detail.paused, detail.business_name)


@outbox_app.command("retry")
def retry_command(entry_id: IdArg) -> None:
    """Try the deferred or failed outbox entry ID again now. It keeps the time it was
    queued: past the worker's --max-age, a temporary failure ends it again."""
    with user_errors():
        entry = app().retry(entry_id)
        _print(
            _(N_("Outbox entry {id} is queued again; a worker sends it next.")).format(id=entry.id)
        )


@outbox_app.command("cancel")
def cancel_command(entry_id: IdArg) -> None:
    """Cancel the queued or deferred outbox entry ID."""
    with user_errors():
        entry = app().cancel(entry_id)
        _print(_(N_("Outbox entry {id} is cancelled.")).format(id=entry.id))


def _date(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise bad_input(NOT_A_DATE(value=value), hint=NOT_A_DATE_HINT()) from None
    if len(value) == 10:
        parsed = datetime.combine(date.fromisoformat(value), time())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@outbox_app.command("purge")
def purge_command(
    sent_before: Annotated[
        str,
        typer.Option(
            "--sent-before",
            metavar="DATE",
            help="Delete entries sent before this date (YYYY-MM-DD, UTC).",
        ),
    ],
) -> None:
    """Delete sent entries and their logs, to keep the outbox small.

    What an entry's idempotency key remembered goes with it: a document emailed before that
    date and emailed again afterwards is sent again, so choose a date older than anything that
    may be emailed again (e.g. the start of last year)."""
    with user_errors():
        count = app().purge(sent_before=_date(sent_before))
        _print(
            _(N_("Deleted 1 sent entry."))
            if count == 1
            else _(N_("Deleted {count} sent entries.")).format(count=count)
        )


@outbox_app.command("resume")
def resume_command() -> None:
    """Resume delivery after the server refused the settings (once they are fixed)."""
    with user_errors():
        shop = business()
        if app().resume(shop):
            _print(_(N_('Delivery for "{business}" resumes.')).format(business=shop.name))
        else:
            _print(_(N_('Delivery for "{business}" was not paused.')).format(business=shop.name))


# barua worker ----------------------------------------------------------------------------------


_events = EventLog()


def _log(line: Text | str) -> None:
    """A worker's line (a text, or words already in the run's language), in the run's
    language; a JSON log's message in English."""
    if isinstance(line, str):
        said = line
    else:
        said = line.render() if _events.format is LogFormat.JSON else render(line)
    _events("worker", _(N_("worker: {line}")).format(line=said))


def worker_command(
    once: Annotated[
        bool, typer.Option("--once", help="Deliver everything that is due, then exit.")
    ] = False,
    connections: Annotated[
        int | None,
        typer.Option(
            "--connections", metavar="N", min=1, help="Connections at once (default: by provider)."
        ),
    ] = None,
    processes: Annotated[
        int | None,
        typer.Option(
            "--processes",
            metavar="N",
            min=1,
            help="Worker processes sharing the connections (default: one per CPU core, at "
            "most one per connection).",
        ),
    ] = None,
    lease: Annotated[
        float,
        typer.Option(
            "--lease",
            metavar="SECONDS",
            min=0.1,
            help="Seconds a claimed message stays this worker's.",
        ),
    ] = 300.0,
    poll_interval: Annotated[
        float,
        typer.Option(
            "--poll-interval", metavar="SECONDS", min=0.01, help="Longest idle sleep, seconds."
        ),
    ] = 1.0,
    retry_first_delay: Annotated[
        float,
        typer.Option(
            "--retry-first-delay", metavar="SECONDS", min=0.0, help="Seconds before a 1st retry."
        ),
    ] = 60.0,
    retry_max_delay: Annotated[
        float,
        typer.Option(
            "--retry-max-delay", metavar="SECONDS", min=0.0, help="Longest wait between retries."
        ),
    ] = 3600.0,
    max_age: Annotated[
        float,
        typer.Option(
            "--max-age", metavar="SECONDS", min=0.0, help="Seconds after which a message fails."
        ),
    ] = 5 * 86400.0,
    database_patience: Annotated[
        float,
        typer.Option(
            "--database-patience",
            metavar="SECONDS",
            min=0.0,
            help="With --once: seconds to keep asking a failing database before giving up.",
        ),
    ] = 60.0,
    health_port: Annotated[
        int | None,
        typer.Option(
            "--health-port",
            metavar="PORT",
            min=1,
            max=65535,
            help="Serve /healthz, /readyz and /metrics on this port (of 127.0.0.1; of every "
            "address with --metrics-from).",
        ),
    ] = None,
    metrics_from: MetricsFromOpt = None,
    log_format: LogFormatOpt = LogFormat.TEXT,
) -> None:
    """Deliver queued email of every business until stopped (SIGTERM or Ctrl-C finish the
    messages in flight)."""
    from barua.app.present import RetryPolicy, WorkerConfig

    _events.format = log_format
    started: list[Workers] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        _log(
            _(N_("{signal}: finishing the messages in flight")).format(
                signal=signal.Signals(signum).name
            )
        )
        stopping.append(signum)
        for workers in started:
            workers.stop()

    # Before anything answers (the health port tells a supervisor the worker is up): a
    # SIGTERM from then on stops the worker as it should, never kills it half-started.
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with user_errors():
        health = start_health(health_port, metrics_from=metrics_from)
        config = WorkerConfig(
            connections=connections,
            lease=lease,
            poll_interval=poll_interval,
            database_patience=database_patience,
            retry=RetryPolicy(
                first_delay=retry_first_delay, max_delay=retry_max_delay, max_age=max_age
            ),
        )
        workers = app().workers(config, processes=processes, log=_log)
        started.append(workers)
        if stopping:
            workers.stop()
        if not once:
            _log(
                _(N_("delivering for every business with {count} process(es)")).format(
                    count=workers.processes
                )
            )
        try:
            report = workers.run(once=once)
        finally:
            health()
        _finish(report)


def _finish(report: FleetReport) -> None:
    _log(
        _(
            N_("{sent} sent, {deferred} deferred, {failed} failed, {unknown} outcome unknown")
        ).format(
            sent=report.sent,
            deferred=report.deferred,
            failed=report.failed,
            unknown=report.outcome_unknown,
        )
    )
    names = report.names
    for key in report.without_settings:
        err.print(
            _(N_('warning: "{business}" has mail to send but no email settings')).format(
                business=names.get(key, key)
            ),
            markup=False,
        )
    for key, pause in report.paused.items():
        _warn_paused(pause, names.get(key, key))
    if report.paused:
        raise typer.Exit(EXIT_DELIVERY_FAILED)
    if report.database_error is not None:
        err.print(_(N_("error: {message}")).format(message=report.database_error), markup=False)
        err.print(
            _(
                N_(
                    "hint: check that the database is running and reachable, then run the "
                    "worker again; the messages not sent are still in the outbox."
                )
            ),
            markup=False,
        )
        raise typer.Exit(EXIT_DELIVERY_FAILED)
    if report.limited:
        _log(_(N_("a sending limit of the provider is reached; the rest waits for a later run")))
    sys.stderr.flush()

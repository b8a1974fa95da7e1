"""``barua outbox`` and ``barua worker``: the durable outbox and its delivery worker."""

from __future__ import annotations

import json
import signal
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, time
from functools import partial
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer

import barua.outbox as outbox_api  # its names load on first use: `barua --help` stays fast
from barua.cli.common import (
    EXIT_DELIVERY_FAILED,
    _,
    bad_input,
    err,
    nothing_saved,
    out,
    user_errors,
)
from barua.i18n import N_
from barua.outbox.status import MessageStatus
from barua.store import SettingsStore

if TYPE_CHECKING:
    from barua.outbox import OutboxEntry, Pause, Worker, WorkerConfig
    from barua.settings import Settings

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


def _print(line: str) -> None:
    out.print(line, markup=False)


def _pause_dict(pause: Pause | None) -> dict[str, Any] | None:
    if pause is None:
        return None
    return {
        "since": pause.paused_at.isoformat(),
        "reason": pause.reason,
        "hint": pause.hint,
        "step": pause.step,
        "code": pause.code,
        "reply": pause.reply,
    }


def _warn_paused(pause: Pause | None) -> None:
    if pause is None:
        return
    err.print(
        f"delivery is paused since {_when(pause.paused_at)} UTC: {pause.reason}", markup=False
    )
    err.print(
        "hint: fix the settings (`barua settings set ...`); delivery resumes by itself when "
        "they change, or run `barua outbox resume`.",
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
) -> None:
    """List the outbox, newest first."""
    with user_errors(), outbox_api.Outbox.open() as outbox:
        entries = outbox.list_entries(status=status, limit=limit)
        pause = outbox.pause_of()
        if as_json:
            document = {
                "paused": _pause_dict(pause),
                "counts": {s.value: n for s, n in outbox.counts().items()},
                "entries": [entry.to_dict() for entry in entries],
            }
            out.print_json(json.dumps(document))
            return
        _warn_paused(pause)
        if not entries:
            _print("The outbox is empty." if status is None else f"No {status} entries.")
            return
        _print(f"{'ID':>6}  {'STATUS':9}  {'TRIES':>5}  {'CREATED (UTC)':19}  TO / SUBJECT")
        for entry in entries:
            to = ", ".join(r.address for r in entry.recipients)
            _print(
                f"{entry.id:>6}  {entry.status:9}  {entry.attempts:>5}  "
                f"{_when(entry.created_at):19}  {to}: {entry.subject}"
            )


def _show(entry: OutboxEntry) -> None:
    rows = [
        ("id", str(entry.id)),
        ("status", f"{entry.status}: {entry.summary}"),
        ("subject", entry.subject),
        ("from", entry.sender),
        ("message-id", entry.message_id),
        ("key", entry.idempotency_key or "-"),
        ("size", f"{entry.size} bytes"),
        ("queued", f"{_when(entry.created_at)} UTC"),
        ("sent", f"{_when(entry.sent_at)} UTC" if entry.sent_at else "-"),
        ("attempts", str(entry.attempts)),
    ]
    if entry.status in (MessageStatus.DEFERRED, MessageStatus.QUEUED) and entry.next_attempt_at:
        rows.append(("next attempt", f"{_when(entry.next_attempt_at)} UTC"))
    if entry.last_error:
        rows.append(("last error", entry.last_error))
    if entry.queue_id:
        rows.append(("server id", entry.queue_id))
    for label, value in rows:
        _print(f"{label:13} {value}")
    _print("recipients:")
    for r in entry.recipients:
        said = f" ({r.code} {r.reply})" if r.code is not None else ""
        _print(f"  {r.status:9} {r.address}{said}")


@outbox_app.command("show")
def show_command(entry_id: IdArg, as_json: JsonOpt = False) -> None:
    """Show outbox entry ID (as `barua outbox list` shows it), its recipients and its
    delivery log."""
    with user_errors(), outbox_api.Outbox.open() as outbox:
        entry = outbox.get(entry_id)
        attempts = outbox.attempts(entry_id)
        if as_json:
            document = entry.to_dict() | {"log": [a.to_dict() for a in attempts]}
            out.print_json(json.dumps(document))
            return
        _show(entry)
        _print("log:" if attempts else "log:          no attempt yet")
        for a in attempts:
            reply = f"{a.code} {a.reply}" if a.code is not None else ""
            step = f" at step {a.step}" if a.step else ""
            _print(
                f"  #{a.number} {_when(a.started_at)} UTC  {a.duration * 1000:7.1f} ms  "
                f"{a.server}  {a.outcome}{step}  {reply}".rstrip()
            )
            if a.error:
                _print(f"      {a.error_class}: {a.error}")
            if a.detail:
                _print(f"      {a.detail}")
        if entry.status in (MessageStatus.QUEUED, MessageStatus.DEFERRED):
            _warn_paused(outbox.pause_of(entry.profile))


@outbox_app.command("retry")
def retry_command(entry_id: IdArg) -> None:
    """Try the deferred or failed outbox entry ID again now."""
    with user_errors(), outbox_api.Outbox.open() as outbox:
        entry = outbox.retry(entry_id)
        _print(f"Outbox entry {entry.id} is queued again; a worker sends it next.")


@outbox_app.command("cancel")
def cancel_command(entry_id: IdArg) -> None:
    """Cancel the queued or deferred outbox entry ID."""
    with user_errors(), outbox_api.Outbox.open() as outbox:
        entry = outbox.cancel(entry_id)
        _print(f"Outbox entry {entry.id} is cancelled.")


def _date(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise bad_input(
            f'"{value}" is not a date', hint="Give it as YYYY-MM-DD or YYYY-MM-DDTHH:MM."
        ) from None
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
        when = _date(sent_before)
        with outbox_api.Outbox.open() as outbox:
            count = outbox.purge(sent_before=when)
        _print(f"Deleted {count} sent entr{'y' if count == 1 else 'ies'}.")


@outbox_app.command("resume")
def resume_command() -> None:
    """Resume delivery after the server refused the settings (once they are fixed)."""
    with user_errors(), outbox_api.Outbox.open() as outbox:
        if outbox.resume():
            _print("Delivery resumes.")
        else:
            _print("Delivery was not paused.")


# barua worker ----------------------------------------------------------------------------------


def _make_worker(connections: int, *, settings: Settings, config: WorkerConfig) -> Worker:
    """The worker of one of several processes (see :func:`run_processes`)."""
    outbox = outbox_api.Outbox.open(pool_size=connections + 4)
    return outbox_api.Worker(
        outbox,
        lambda: SettingsStore().load_effective() or settings,
        config=replace(config, connections=connections),
        log=_log,
    )


def _settings() -> Settings:
    settings = SettingsStore().load_effective()
    if settings is None:
        raise nothing_saved(
            hint=_(
                N_("Run `barua settings set --help`, or give the BARUA_* environment variables.")
            )
        )
    return settings


def _log(line: str) -> None:
    err.print(f"worker: {line}", markup=False)


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
            help="With --once: seconds to keep asking a failing outbox database before giving up.",
        ),
    ] = 60.0,
) -> None:
    """Deliver queued email until stopped (SIGTERM or Ctrl-C finish the messages in flight)."""
    from barua.outbox import processes as worker_processes

    with user_errors():
        settings = _settings()
        config = outbox_api.WorkerConfig(
            connections=connections,
            lease=lease,
            poll_interval=poll_interval,
            database_patience=database_patience,
            retry=outbox_api.RetryPolicy(
                first_delay=retry_first_delay, max_delay=retry_max_delay, max_age=max_age
            ),
        )
        limits = outbox_api.limits_for(settings)
        total = connections or limits.connections
        count = min(processes or worker_processes.default_processes(total, limits), total)
        if count > 1:
            # Migrate once here, before the processes start, not in each of them at once.
            outbox_api.Outbox.open().close()
            factory = partial(_make_worker, settings=settings, config=config)
            if not once:
                _log(f"delivering with {count} processes sharing {total} connection(s)")
            report = worker_processes.run_processes(
                factory, connections=total, processes=count, once=once, log=_log
            )
        else:
            with outbox_api.Outbox.open(pool_size=total + 4) as outbox:
                worker = outbox_api.Worker(
                    outbox,
                    lambda: SettingsStore().load_effective() or settings,
                    config=config,
                    log=_log,
                )

                def stop(signum: int, _frame: FrameType | None) -> None:
                    _log(f"{signal.Signals(signum).name}: finishing the messages in flight")
                    worker.stop()

                signal.signal(signal.SIGTERM, stop)
                signal.signal(signal.SIGINT, stop)
                if not once:
                    _log(f"delivering with {worker.connections} connection(s) as {worker.name}")
                report = worker.run(once=once)
        _log(
            f"{report.sent} sent, {report.deferred} deferred, {report.failed} failed, "
            f"{report.outcome_unknown} outcome unknown"
        )
        if report.paused is not None:
            _warn_paused(report.paused)
            raise typer.Exit(EXIT_DELIVERY_FAILED)
        if report.database_error is not None:
            err.print(f"error: {report.database_error}", markup=False)
            err.print(
                "hint: check that the outbox database is running and reachable, then run the "
                "worker again; the messages not sent are still in the outbox.",
                markup=False,
            )
            raise typer.Exit(EXIT_DELIVERY_FAILED)
        if report.limited:
            _log("a sending limit of the provider is reached; the rest waits for a later run")
        sys.stderr.flush()

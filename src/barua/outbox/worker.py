"""The delivery worker: claims due messages under a lease and sends them over a few connections.

Each of ``connections`` threads keeps one transport (one SMTP connection) and one database
connection (:mod:`~barua.outbox.session`) open and reuses them for message after message: claim
a small batch, send each message's stored bytes, record each outcome in a transaction of its
own. The database and the server work at the same time rather than in turn: a message's record
is committed while the next message is in the server's hands (after its DATA, before its
reply), the next batch is claimed the same way, and with PIPELINING the next envelope travels
with the previous message's final dot. At any moment at most one message per connection has
its reply read and not yet committed: a crash sends that one again, no other. A thread
renews the leases of the messages in hand (:mod:`~barua.outbox.leases`), so a message whose
worker dies (even with ``kill -9``) becomes due again when its lease runs out, and another
worker delivers it; a message whose lease may have run out is not sent before the database
confirms it is still this worker's. When the database fails for a while, a thread keeps the
results it could not write and tries again before sending anything else. To use several CPU
cores, run several workers (:mod:`~barua.outbox.processes`).

What a failure does:

* a temporary one (4xx, connection lost, timeout, DNS) defers the message by the
  :class:`~barua.outbox.retry.RetryPolicy`; when the connection itself failed, the rest of the
  thread's batch is deferred with it and the thread waits before connecting again (a server
  answering ``421`` to too many connections gets fewer);
* a permanent one (5xx) fails the message at once, with the server's reason;
* a refused login (or a TLS or insecure-connection fault of the settings) pauses the queue of
  the settings instead of burning every message; it resumes when the settings change or with
  :meth:`~barua.outbox.queue.Outbox.resume`;
* no reply after the final ``.`` is logged as *outcome unknown* and retried with the same
  Message-ID.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import urlsplit

from barua.errors import BaruaError, Step, TransportError
from barua.message import OutgoingMessage
from barua.outbox import notes
from barua.outbox.claim_size import ClaimSize
from barua.outbox.errors import NOT_TRIED, OutboxError
from barua.outbox.fingerprints import credentials_fingerprint
from barua.outbox.group_commit import GroupCommit
from barua.outbox.leases import Leases
from barua.outbox.limits import SendingLimits, limits_for
from barua.outbox.outcome import Decision, decide, nothing_left
from barua.outbox.queue import Outbox, OutboxEntry, Pause
from barua.outbox.retry import RetryPolicy
from barua.outbox.session import Claimed, Record, WorkerSession
from barua.outbox.status import AttemptOutcome, MessageStatus
from barua.settings import Protocol, Settings
from barua.store.businesses import DEFAULT_BUSINESS
from barua.texts import Text
from barua.transports.base import SendResult, StepObserver, Transport
from barua.transports.delivery import open_transport

CONNECTION_STEPS = frozenset(
    {
        Step.RESOLVE,
        Step.CONNECT,
        Step.TLS,
        Step.GREETING,
        Step.EHLO,
        Step.STARTTLS,
        Step.CERTIFICATE,
        Step.AUTH,
    }
)
"""Steps before any message is involved: a failure there is the server's, not the message's."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerConfig:
    """How a worker runs; every default suits a real provider, tests shorten the times."""

    connections: int | None = None
    """Connections (threads) at once; default from :func:`limits_for`."""
    limits: SendingLimits | None = None
    """Sending limits; default from :func:`limits_for`."""
    batch_size: int = 32
    """Most messages a thread claims at a time (it claims about half a second of its sending,
    see :mod:`~barua.outbox.claim_size`)."""
    lease: float = 300.0
    """Seconds a claim lasts without renewal; renewed every third of it while sending. A
    message is sent only while at least half of its lease is left."""
    poll_interval: float = 1.0
    """Longest sleep when nothing is due."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    business: str = DEFAULT_BUSINESS
    max_connection_backoff: float = 60.0
    """Longest wait of a thread before connecting again after a failed connection."""
    database_patience: float = 60.0
    """Seconds a ``once`` run keeps asking a failing database before it gives up (a worker
    that runs until stopped asks for as long as it runs)."""


@dataclass(slots=True)
class WorkerReport:
    """What a run of the worker did."""

    sent: int = 0
    deferred: int = 0
    failed: int = 0
    outcome_unknown: int = 0
    paused: Pause | None = None
    limited: bool = False
    """True when a sending limit stopped a ``--once`` run with messages still due."""
    database_error: str | None = None
    """Why a ``--once`` run gave up on a failing database (the rest stays queued)."""

    @property
    def attempts(self) -> int:
        return self.sent + self.deferred + self.failed + self.outcome_unknown


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of :meth:`Worker.deliver`: the entry, and the error of its attempt if any."""

    entry: OutboxEntry
    error: TransportError | None = None
    attempted: bool = True
    """False when another worker had the message and this one only waited for it."""


TransportFactory = Callable[[Settings, SendingLimits, StepObserver | None], Transport]


def default_transport(
    settings: Settings, limits: SendingLimits, observer: StepObserver | None = None
) -> Transport:
    """The transport the settings ask for, reconnecting as often as the provider wants."""
    return open_transport(
        settings,
        observer=observer,
        max_messages_per_connection=limits.max_messages_per_connection,
    )


def _server(settings: Settings) -> str:
    if settings.protocol is Protocol.HTTP:
        return urlsplit(settings.http_service_url or "").netloc
    return f"{settings.host}:{settings.port}"


_DATABASE_BACKOFF = 5.0
"""Longest wait before asking a failing database again."""


class _DatabaseRetries:
    """A thread's waits between tries of a failing database, doubling from ``first`` up to
    :data:`_DATABASE_BACKOFF`, and, with ``patience``, when to stop trying."""

    def __init__(self, *, first: float, patience: float | None) -> None:
        self._first = first
        self._patience = patience
        self._since: float | None = None
        self._wait = first

    def failed(self) -> float | None:
        """After a failure: the seconds to wait before the next try, or None when the
        database has been failing for longer than the patience."""
        now = time.monotonic()
        if self._since is None:
            self._since = now
            self._wait = min(self._first, _DATABASE_BACKOFF)
        else:
            self._wait = min(self._wait * 2, _DATABASE_BACKOFF)
        if self._patience is not None and now - self._since > self._patience:
            return None
        return self._wait

    def succeeded(self) -> None:
        self._since = None


class _ResultsNotRecorded(Exception):
    """The worker stopped while the database refused the results of messages it sent."""


class Worker:
    """Delivers the due messages of one business.

    ``settings`` is the settings object, or a function returning the settings in effect
    (re-read while the queue is paused, so fixing the password resumes delivery).

    >>> worker = Worker(Outbox.open(), SettingsStore().load_effective)   # doctest: +SKIP
    >>> worker.run(once=True).sent                                       # doctest: +SKIP
    10000
    """

    def __init__(
        self,
        outbox: Outbox,
        settings: Settings | Callable[[], Settings | None],
        *,
        config: WorkerConfig | None = None,
        transport_factory: TransportFactory = default_transport,
        name: str | None = None,
        log: Callable[[Text], None] | None = None,
    ) -> None:
        self.outbox = outbox
        self.config = config or WorkerConfig()
        self._loader: Callable[[], Settings | None] | None = None
        if isinstance(settings, Settings):
            loaded: Settings | None = settings
        else:
            self._loader = settings
            loaded = settings()
        if loaded is None:
            raise ValueError("the worker needs settings")
        self._transport_factory = transport_factory
        self.name = (name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}")[:64]
        self._log = log or (lambda _line: None)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._report = WorkerReport()
        self._salt = outbox.salt()
        self._use(loaded)
        self._paused: Pause | None = None
        self._once = False
        self._in_flight = 0
        self._group: GroupCommit | None = None
        self._leases = Leases(outbox, worker=self.name, lease=self.config.lease, log=self._log)

    def _use(self, settings: Settings) -> None:
        self.settings = settings
        self.limits = self.config.limits or limits_for(settings)
        self.fingerprint = credentials_fingerprint(settings, salt=self._salt)
        self._server = _server(settings)

    def use_settings(self, settings: Settings) -> None:
        """Send with ``settings`` from the next batch on: they changed while delivering."""
        with self._lock:
            self._use(settings)

    @property
    def connections(self) -> int:
        return max(1, self.config.connections or self.limits.connections)

    def stop(self) -> None:
        """Finish the messages being sent, give back the rest, and return from :meth:`run`."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # Running -----------------------------------------------------------------------------------

    def run(self, *, once: bool = False) -> WorkerReport:
        """Deliver until :meth:`stop` (or, with ``once``, until nothing is due any more)."""
        self._check_pause()
        self._once = once
        if self._paused is not None and once:
            self._report.paused = self._paused
            return self._report
        threads = [
            threading.Thread(target=self._sender, args=(once,), name=f"barua-sender-{i}")
            for i in range(self.connections)
        ]
        # One thread records its own results; a group commit pays off only when several wait.
        self._group = GroupCommit(self.outbox, self.name) if len(threads) > 1 else None
        try:
            with self._leases.renewed():
                for thread in threads:
                    thread.start()
                last_check = time.monotonic()
                while any(thread.is_alive() for thread in threads):
                    threads[0].join(timeout=min(self.config.poll_interval, 0.2))
                    if not once and time.monotonic() - last_check >= self.config.poll_interval:
                        last_check = time.monotonic()
                        self._check_pause()
                for thread in threads:
                    thread.join()
        finally:
            if self._group is not None:
                self._group.close()
            self._group = None
        self._report.paused = self._paused
        return self._report

    def _check_pause(self) -> None:
        """Read the pause; lift it when the settings changed since they were refused."""
        pause = self.outbox.pause_of(self.config.business)
        if pause is not None and self._loader is not None:
            try:
                fresh = self._loader()
            except BaruaError as exc:  # half-edited settings: keep the ones in use
                self._log(notes.SETTINGS_UNREADABLE(error=notes.said(exc)))
                fresh = None
            if fresh is not None and fresh != self.settings:
                with self._lock:
                    self._use(fresh)
        if pause is not None and pause.settings_fingerprint != self.fingerprint:
            self.outbox.resume(self.config.business)
            self._log(notes.SETTINGS_CHANGED_RESUMING())
            pause = None
        if pause is not None and self._paused is None:
            self._log(notes.PAUSED(reason=notes.pause_reason(pause)))
        self._paused = pause

    def _sender(self, once: bool) -> None:
        transport: Transport | None = None
        settings: Settings | None = None
        backoff = 0.0
        retries = self._database_retries(first=self.config.poll_interval * 2)
        session = self.outbox.session(worker=self.name)
        size = ClaimSize(most=self.config.batch_size)
        try:
            while not self._stop.is_set():
                if self._paused is not None:
                    if once:
                        return
                    self._stop.wait(self.config.poll_interval)
                    continue
                allowed = self._allowance(size.next())
                if allowed == 0:
                    if once:
                        self._report.limited = True
                        return
                    self._stop.wait(self.config.poll_interval)
                    continue
                try:
                    batch, any_due = self._claim(session, allowed)
                    if not batch and any_due:
                        continue  # only messages in hand came: there may be more due
                    if not batch and once and self._leases.may_have_forgotten:
                        # What a database failure left held is due too, once given back.
                        self._leases.release_forgotten()
                        continue
                    if not batch and not once:
                        self._idle()
                except OutboxError as exc:
                    # The database is down or restarting: nothing in hand, so wait and ask again.
                    wait = retries.failed()
                    if wait is None:
                        self._report.database_error = str(exc)
                        return
                    self._log(
                        notes.RETRYING_DATABASE(error=notes.said(exc), seconds=notes.seconds(wait))
                    )
                    self._stop.wait(wait)
                    continue
                retries.succeeded()
                if not batch:
                    if once:
                        return
                    continue
                if settings is not self.settings:
                    if transport is not None:
                        transport.close()
                    settings = self.settings
                    transport = self._transport_factory(settings, self.limits, None)
                assert transport is not None
                backoff = self._send_batch(transport, batch, backoff, session, size)
        except _ResultsNotRecorded as exc:
            self._report.database_error = str(exc)
        except Exception:
            self._log(notes.SENDER_STOPPED(trace=traceback.format_exc()))
            raise
        finally:
            session.close()
            if transport is not None:
                transport.close()

    def _claim(self, session: WorkerSession, allowed: int) -> tuple[list[Claimed], bool]:
        """Up to ``allowed`` due messages, held under a lease from now on, and whether any
        message was due (a claim can take only messages this worker has in hand already)."""
        reconnects = session.reconnects
        due: list[int] = []

        def take() -> list[Claimed]:
            batch = session.claim(
                business=self.config.business, limit=allowed, lease=self.config.lease
            )
            due.append(len(batch))
            return batch

        try:
            batch = self._leases.claim(take)
        except BaseException:
            self._take(allowed)
            raise
        if session.reconnects != reconnects:
            # Claimed again on a new connection: the first claim may have committed too.
            self._leases.forgotten()
        self._take(allowed - len(batch))
        return batch, bool(due and due[0])

    def _send_batch(
        self,
        transport: Transport,
        batch: list[Claimed],
        backoff: float,
        session: WorkerSession,
        size: ClaimSize,
    ) -> float:
        held: list[Record] = []
        try:
            backoff = self._send_each(transport, batch, backoff, session, held=held, size=size)
        except BaseException:
            # One more try for what is held; failing that, those messages are sent again
            # after their leases (the error in flight says why).
            with contextlib.suppress(OutboxError):
                self._flush(held, session)
            raise
        self._persist(partial(self._flush, held, session))
        return backoff

    def _send_each(
        self,
        transport: Transport,
        batch: list[Claimed],
        backoff: float,
        session: WorkerSession,
        *,
        held: list[Record],
        size: ClaimSize,
    ) -> float:
        # A queue, not a list: a sent message is dropped at once, so memory stays that of a
        # batch or two however long the stream of refills runs.
        waiting = deque(batch)
        batch.clear()
        try:
            while waiting:
                began = time.perf_counter()
                claimed = waiting.popleft()
                if self._stop.is_set() or self._paused is not None:
                    self._release([claimed, *waiting])
                    return backoff
                if not self._leases.confirm(claimed.id, session):
                    self._give_up(claimed)
                    continue
                # The next envelope goes ahead only when that message may surely be sent too.
                following = (
                    waiting[0].message if waiting and self._leases.fresh(waiting[0].id) else None
                )
                # Near the end of the batch, the next one is claimed while this message is in the
                # server's hands, so the connection need not wait for the database between them.
                refill = (
                    partial(self._refill, waiting, session, size.next())
                    if len(waiting) <= 1
                    else None
                )
                decision, error = self._attempt(
                    transport, claimed, session, held=held, following=following, refill=refill
                )
                del claimed
                size.sent(time.perf_counter() - began)
                if decision.pause:
                    self._release(list(waiting))
                    return backoff
                if (
                    isinstance(error, TransportError)
                    and error.step in CONNECTION_STEPS
                    and decision.outcome is AttemptOutcome.DEFERRED
                ):
                    # The next messages would meet the same closed door: defer them with it.
                    self._record_failed_connection(list(waiting), error, session)
                    backoff = min(
                        self.config.max_connection_backoff, max(backoff * 2, self._first_backoff())
                    )
                    self._log(
                        notes.RECONNECTING(
                            server=self._server,
                            error=notes.said(error),
                            seconds=notes.seconds(backoff),
                        )
                    )
                    self._stop.wait(backoff)
                    return backoff
                backoff = 0.0
            return backoff
        except BaseException:
            # A thread that stops on an error lets go of what it has not sent: those leases
            # run out and another thread or worker sends the messages.
            self._leases.drop(claimed.id for claimed in waiting)
            raise

    def _refill(self, waiting: deque[Claimed], session: WorkerSession, want: int) -> None:
        """Claim up to ``want`` more onto the end of ``waiting`` (within the sending limits)."""
        if self._stop.is_set() or self._paused is not None:
            return
        allowed = self._allowance(want)
        if allowed == 0:
            return
        waiting.extend(self._claim(session, allowed)[0])

    def _first_backoff(self) -> float:
        return min(1.0, self.config.retry.first_delay)

    def _attempt(
        self,
        transport: Transport,
        claimed: Claimed,
        session: WorkerSession | None = None,
        *,
        held: list[Record] | None = None,
        following: OutgoingMessage | None = None,
        refill: Callable[[], None] | None = None,
    ) -> tuple[Decision, BaseException | None]:
        """Send ``claimed`` and record the outcome.

        With ``held`` (a sender thread's batch), the record of a message the server accepted
        waits there, and is committed while the *next* message is in the server's hands,
        after its DATA and before its reply is read (``meanwhile``); so the database's commit
        and the server's work overlap instead of following each other. The guarantee stays
        that of a commit per message: at any moment at most one message of the connection has
        its reply read and not yet committed, so a crash sends again at most that one.

        ``following``, the next message of the batch, lets an SMTP server that offers
        PIPELINING receive its envelope together with this message's data; ``refill`` claims
        more messages, also while the server takes this one in.
        """
        started = time.time()
        clock = time.perf_counter()
        result: SendResult | None = None
        error: BaseException | None = None
        if not claimed.message.recipients:
            # Every recipient was settled already (accepted, refused or cancelled): nothing is
            # sent, and the entry ends as its recipients say rather than waiting for ever.
            decision = nothing_left(accepted_before=claimed.accepted_before)
        else:
            try:
                meanwhile = partial(self._meanwhile, held, session, refill)
                result = transport.send(claimed.message, meanwhile=meanwhile, then=following)
            except TransportError as exc:
                error = exc
            except Exception as exc:  # logged with its class; the message is kept
                error = exc
                self._log(notes.UNEXPECTED(id=claimed.id, trace=traceback.format_exc()))
            decision = decide(
                pending=claimed.message.recipients,
                result=result,
                error=error,
                attempts=claimed.attempts + 1,
                created=claimed.created,
                now=time.time(),
                policy=self.config.retry,
                accepted_before=claimed.accepted_before,
            )
        if held and session is not None:
            # The send failed before its ``meanwhile``, or the database failed there: what is
            # held is written before anything else is sent.
            self._persist(partial(self._flush, held, session))
        record = Record(claimed, decision, started, time.perf_counter() - clock, self._server)
        if held is not None and error is None:
            held.append(record)
        elif session is None:  # ``barua send``: a failing database is reported to its user
            self._finish([record], None)
        else:
            self._persist(partial(self._finish, [record], session))
        if decision.pause:
            assert isinstance(error, TransportError)
            self.outbox.pause(self.config.business, fingerprint=self.fingerprint, error=error)
            self._paused = self.outbox.pause_of(self.config.business)
            self._log(notes.PAUSED(reason=notes.said(error)))
        return decision, error

    def _record_failed_connection(
        self, rest: list[Claimed], error: TransportError, session: WorkerSession
    ) -> None:
        now = time.time()
        records = [
            Record(
                claimed,
                decide(
                    pending=claimed.message.recipients,
                    error=error,
                    attempts=claimed.attempts + 1,
                    created=claimed.created,
                    now=now,
                    policy=self.config.retry,
                    accepted_before=claimed.accepted_before,
                ),
                now,
                0.0,
                self._server,
                NOT_TRIED.template,  # kept in English, shown translated (detail_text)
            )
            for claimed in rest
        ]
        if records:
            self._persist(partial(self._finish, records, session))

    def _meanwhile(
        self,
        held: list[Record] | None,
        session: WorkerSession | None,
        refill: Callable[[], None] | None,
    ) -> None:
        """Database work while the server takes a message in. It must not fail the message,
        which is already in the server's hands: a failure here is logged, and the results
        stay held to be written once the server has answered."""
        if held and session is not None:
            try:
                self._flush(held, session)
            except OutboxError as exc:
                self._log(notes.RESULTS_KEPT(error=notes.said(exc)))
        if refill is not None:
            try:
                refill()
            except OutboxError as exc:
                self._log(notes.CANNOT_CLAIM(error=notes.said(exc)))

    def _flush(self, held: list[Record], session: WorkerSession) -> None:
        """Write the ``held`` records; on failure they stay held."""
        if held:
            records = held[:]
            held.clear()
            try:
                self._finish(records, session)
            except BaseException:
                held[:0] = records
                raise

    def _persist(self, write: Callable[[], None]) -> None:
        """Run ``write`` until the database takes it: a message is not sent while the result
        of the one before is unwritten. Raises :class:`_ResultsNotRecorded` when the worker
        is stopped meanwhile, or when a ``--once`` run has waited for the database longer
        than its patience (the messages are then sent again after their leases)."""
        retries = self._database_retries(first=0.05)
        while True:
            try:
                write()
                return
            except OutboxError as exc:
                wait = retries.failed()
                if self._stop.is_set() or wait is None:
                    raise _ResultsNotRecorded(
                        f"{exc}; stopping with results not recorded: those messages will be "
                        "sent again after their leases run out"
                    ) from exc
                self._log(notes.WRITING_AGAIN(error=notes.said(exc), seconds=notes.seconds(wait)))
                self._stop.wait(wait)

    def _database_retries(self, *, first: float) -> _DatabaseRetries:
        """A thread's retries of a failing database: for ever, or in a ``once`` run, for as
        long as its patience."""
        patience = self.config.database_patience if self._once else None
        return _DatabaseRetries(first=first, patience=patience)

    def _finish(self, records: list[Record], session: WorkerSession | None) -> None:
        """Commit ``records`` before the thread sends its next message: a crash then sends
        again at most the one message whose reply had come and was not yet written."""
        if self._group is not None:
            self._group.write(records)
        elif session is not None:
            session.record(records)
        else:
            self.outbox.record(records, worker=self.name)
        self._leases.drop(record.claimed.id for record in records)
        with self._lock:
            self._in_flight -= len(records)
            for record in records:
                outcome = record.decision.outcome
                status = record.decision.status
                if outcome is AttemptOutcome.UNKNOWN:
                    self._report.outcome_unknown += 1
                elif status is MessageStatus.SENT:
                    self._report.sent += 1
                elif status is MessageStatus.FAILED:
                    self._report.failed += 1
                else:
                    self._report.deferred += 1

    def _release(self, claimed: list[Claimed]) -> None:
        try:
            for item in claimed:
                self.outbox.release(item, worker=self.name)
        except OutboxError as exc:  # given back once the database answers again
            self._log(notes.CANNOT_GIVE_BACK(error=notes.said(exc)))
            self._leases.forgotten()
        self._leases.drop(item.id for item in claimed)
        with self._lock:
            self._in_flight -= len(claimed)

    def _give_up(self, claimed: Claimed) -> None:
        """Leave ``claimed`` to whoever holds its lease now (another worker, or nobody until
        it runs out): sending it could deliver it twice."""
        self._leases.drop([claimed.id])
        with self._lock:
            self._in_flight -= 1

    def _idle(self) -> None:
        due = self.outbox.next_due(business=self.config.business)
        wait = self.config.poll_interval
        if due is not None:
            wait = min(wait, max(due - time.time(), 0.01))
        self._stop.wait(wait)

    # Sending limits ----------------------------------------------------------------------------

    def _allowance(self, want: int) -> int:
        """How many messages this thread may claim now without passing a sending limit."""
        limits = self.limits
        with self._lock:
            if limits.per_minute is None and limits.per_day is None:
                self._in_flight += want
                return want
            now = time.time()
            allowed = want
            for limit, window in ((limits.per_minute, 60.0), (limits.per_day, 86400.0)):
                if limit is not None:
                    used = self.outbox.attempts_since(
                        business=self.config.business, since=now - window
                    )
                    allowed = min(allowed, limit - used - self._in_flight)
            allowed = max(allowed, 0)
            self._in_flight += allowed
            return allowed

    def _take(self, unused: int) -> None:
        with self._lock:
            self._in_flight -= unused

    # One message, now --------------------------------------------------------------------------

    def deliver(
        self, entry_id: int, *, observer: StepObserver | None = None, wait: float = 600.0
    ) -> Delivery:
        """Send entry ``entry_id`` now, in this thread (``barua send`` waiting for its email).

        When another worker is already sending it, wait up to ``wait`` seconds for its result.
        """
        self._check_pause()
        lease = max(self.config.lease, self.settings.timeout * 10)
        claimed = self.outbox.claim_one(entry_id, worker=self.name, lease=lease)
        if claimed is None:
            return Delivery(self.outbox.wait(entry_id, timeout=wait), attempted=False)
        with self._transport_factory(self.settings, self.limits, observer) as transport:
            decision, error = self._attempt(transport, claimed)
        if self._paused is not None and decision.status is MessageStatus.SENT:
            # These settings work after all (the password was fixed): let the queue go on.
            self.outbox.resume(self.config.business)
        return Delivery(
            self.outbox.get(entry_id),
            error if isinstance(error, TransportError) else None,
        )

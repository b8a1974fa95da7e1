"""The leases a worker holds: which messages it has in hand, until when, and their renewal.

A claim is a lease in the database (a message in ``sending`` with ``next_attempt_at`` the
end of the lease). The worker keeps the list of the messages it has in hand and renews exactly
those, every third of the lease; a message it no longer has (a claim whose answer was lost,
a message it gave up) runs out and is taken over by the next worker.

Renewals can fail or come late: the database restarts, an overloaded machine stalls the
process. So before a message is sent, its lease must still have half its length left, as far
as the worker knows; otherwise the lease is confirmed in the database first, and a message
whose lease another worker has taken over is left to that worker instead of being sent twice.

A failing database can leave the worker holding messages it does not have in hand: a claim
committed whose answer the broken connection lost, a message given up because its lease could
not be confirmed. Such messages would wait for their lease to run out; once the database
answers again, they are given back at once (:meth:`Leases.release_forgotten`), while no claim
is under way, so nothing in hand is given back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from barua.outbox import notes
from barua.outbox.errors import OutboxError
from barua.texts import Text

if TYPE_CHECKING:
    from barua.outbox.queue import Outbox
    from barua.outbox.session import Claimed, WorkerSession


class Leases:
    """The messages one worker holds, each with the moment (``time.monotonic``) its lease
    ends at the latest. Shared by the worker's threads."""

    def __init__(
        self, outbox: Outbox, *, worker: str, lease: float, log: Callable[[Text], None]
    ) -> None:
        self._outbox = outbox
        self._worker = worker
        self.lease = lease
        self._log = log
        self._until: dict[int, float] = {}
        self._lock = threading.Condition()
        self._claims = 0
        """Claims under way (their messages are not in :attr:`_until` yet)."""
        self._sweeping = False
        self._forgotten = False
        """Whether a database failure may have left messages held but not in hand."""

    def claim(self, take: Callable[[], Sequence[Claimed]]) -> list[Claimed]:
        """Run the claim ``take`` and hold what it returns, from the moment it started (the
        database counted the leases from no earlier); returns the messages not in hand
        already."""
        with self._lock:
            self._lock.wait_for(lambda: not self._sweeping)
            self._claims += 1
        started = time.monotonic()
        batch: Sequence[Claimed] = ()
        try:
            batch = take()
        except OutboxError:
            self.forgotten()  # the claim may have committed before its answer was lost
            raise
        finally:
            with self._lock:
                until = started + self.lease
                new = []
                for claimed in batch:
                    if claimed.id in self._until:
                        # This worker's own lease ran out (the database was away) and the claim
                        # took the message again: it is in hand already, being sent or sent.
                        self._until[claimed.id] = max(self._until[claimed.id], until)
                    else:
                        self._until[claimed.id] = until
                        new.append(claimed)
                self._claims -= 1
                self._lock.notify_all()
        return new

    @property
    def may_have_forgotten(self) -> bool:
        """Whether a database failure may have left messages held but not in hand."""
        return self._forgotten

    def forgotten(self) -> None:
        """Note that messages may be held in the database and not in hand."""
        self._forgotten = True

    def drop(self, ids: Iterable[int]) -> None:
        """Messages out of hand: recorded, given back, or given up."""
        with self._lock:
            for entry_id in ids:
                self._until.pop(entry_id, None)

    def held(self) -> list[int]:
        with self._lock:
            return list(self._until)

    def left(self, entry_id: int) -> float:
        """Seconds the lease of ``entry_id`` surely lasts (0 when it is not held)."""
        with self._lock:
            until = self._until.get(entry_id)
        return 0.0 if until is None else until - time.monotonic()

    def fresh(self, entry_id: int) -> bool:
        """Whether ``entry_id`` may be sent without asking the database first."""
        return self.left(entry_id) >= self.lease / 2

    def confirm(self, entry_id: int, session: WorkerSession) -> bool:
        """Whether this worker may send ``entry_id`` now; a lease that ran low is renewed in
        the database first (False: another worker has it, or the database cannot say)."""
        if self.fresh(entry_id):
            return True
        started = time.monotonic()
        try:
            renewed = session.renew([entry_id], lease=self.lease)
        except OutboxError as exc:
            self._log(notes.LEASE_UNCONFIRMED(id=entry_id, error=notes.said(exc)))
            self.forgotten()  # given up here, still held there
            return False
        self._renewed(renewed, since=started)
        if entry_id not in renewed:
            self._log(notes.LEASE_TAKEN_OVER(id=entry_id))
        return entry_id in renewed

    def renew(self) -> None:
        """Extend every lease held, in the database and here."""
        ids = self.held()
        if not ids:
            return
        started = time.monotonic()
        self._renewed(self._outbox.renew(ids, worker=self._worker, lease=self.lease), since=started)

    def release_forgotten(self, *, wait: bool = True) -> None:
        """After a database failure, give back what is held in the database and not here.
        It waits for the claims under way to end; without ``wait`` it leaves the work to a
        later call instead (the renewals must not wait for a claim stuck on a dead
        connection)."""
        if not self._forgotten:
            return
        with self._lock:
            if self._claims and not wait:
                return
            self._sweeping = True
            self._lock.wait_for(lambda: self._claims == 0)
            held = list(self._until)
            self._forgotten = False
        try:
            count = self._outbox.release_forgotten(held, worker=self._worker)
        except BaseException:
            self._forgotten = True
            raise
        finally:
            with self._lock:
                self._sweeping = False
                self._lock.notify_all()
        if count:
            self._log(notes.GAVE_BACK(count=count))

    def _renewed(self, ids: Iterable[int], *, since: float) -> None:
        with self._lock:
            for entry_id in ids:
                if entry_id in self._until:
                    self._until[entry_id] = max(self._until[entry_id], since + self.lease)

    @contextmanager
    def renewed(self) -> Iterator[None]:
        """Renew the leases every third of their length while the block runs."""
        done = threading.Event()

        def renew() -> None:
            while not done.wait(self.lease / 3):
                try:
                    self.renew()
                    self.release_forgotten(wait=False)
                except Exception as exc:  # the next renewal may work
                    self._log(notes.CANNOT_RENEW(error=notes.said(exc)))

        thread = threading.Thread(target=renew, name="barua-leases", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

"""One transaction for the results of all of a worker's sender threads."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field

from barua.outbox.queue import Outbox
from barua.outbox.session import Record


class GroupCommit:
    """Writes the records of all sender threads together: each thread waits for its own
    record to be committed before it sends the next message (so a crash loses no more than
    with a commit per message), but one transaction serves every thread waiting at once."""

    def __init__(self, outbox: Outbox, worker: str) -> None:
        self._outbox = outbox
        self._worker = worker
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="barua-recorder", daemon=True)
        self._thread.start()

    def write(self, records: list[Record]) -> None:
        pending = _Pending(records)
        self._queue.put(pending)
        pending.done.wait()
        if pending.error is not None:
            raise pending.error

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        with self._outbox.session(worker=self._worker) as session:
            stopping = False
            while not stopping:
                group: list[_Pending] = []
                item = self._queue.get()
                while item is not None:
                    group.append(item)
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                stopping = item is None
                if not group:
                    continue
                error: BaseException | None = None
                try:
                    session.record([r for p in group for r in p.records])
                except BaseException as exc:  # handed to every waiting thread, which raises it
                    error = exc
                for pending in group:
                    pending.error = error
                    pending.done.set()


@dataclass(slots=True)
class _Pending:
    records: list[Record]
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None

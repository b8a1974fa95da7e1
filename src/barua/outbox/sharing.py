"""How many worker processes, and how a business's connections are divided between them."""

from __future__ import annotations

import os
import signal

from barua.outbox.limits import SendingLimits

_POSIX = hasattr(signal, "pthread_sigmask")


def default_processes(connections: int, limits: SendingLimits) -> int:
    """One process per CPU core, at most one per connection; one when the provider limits
    messages per minute or per day (a worker counts only its own messages in flight against
    the limit, so several would together send a little over it)."""
    if limits.per_minute is not None or limits.per_day is not None or not _POSIX:
        return 1
    return max(1, min(os.cpu_count() or 1, connections))


def share(connections: int, processes: int) -> list[int]:
    """``connections`` divided between ``processes`` as evenly as possible (never zero).

    >>> share(4, 3)
    [2, 1, 1]
    """
    processes = max(1, min(processes, connections))
    return [connections // processes + (i < connections % processes) for i in range(processes)]

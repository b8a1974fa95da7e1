"""When to try a message again after a temporary failure (pure: no I/O)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Exponential backoff with jitter, up to a maximum age.

    After the ``n``-th failed attempt (n = 1, 2, …) the next attempt waits::

        delay(n) = min(max_delay, first_delay * multiplier ** (n - 1)) * uniform(1 - jitter, 1)

    so with the defaults the first retry comes within a minute (30 to 60 s), then within 2, 4, 8 …
    minutes, never more than an hour apart. A message is given up (``failed``) once it is
    ``max_age`` old, like Postfix's ``maximal_queue_lifetime`` of 5 days: the last attempt is
    made at that age, never after it.

    >>> policy = RetryPolicy(jitter=0)
    >>> [policy.delay(n) for n in (1, 2, 3)]
    [60.0, 120.0, 240.0]
    >>> policy.next_attempt(attempts=1, now=1000.0, created=0.0, rand=0.5)
    1060.0
    """

    first_delay: float = 60.0
    """Seconds before the first retry (before jitter)."""
    multiplier: float = 2.0
    """How much longer each following wait is."""
    max_delay: float = 3600.0
    """The longest wait between two attempts (before jitter)."""
    jitter: float = 0.5
    """The fraction of the delay that is random, so many deferred messages spread out."""
    max_age: float = 5 * 24 * 3600.0
    """Seconds after enqueueing at which the message is given up."""

    def __post_init__(self) -> None:
        if self.first_delay < 0 or self.max_delay < 0 or self.max_age < 0:
            raise ValueError("retry delays and the maximum age must not be negative")
        if self.multiplier < 1:
            raise ValueError("the retry multiplier must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("the retry jitter must be between 0 and 1")

    def delay(self, attempts: int, *, rand: float | None = None) -> float:
        """Seconds to wait after ``attempts`` failed attempts; ``rand`` in [0, 1) fixes the
        jitter for tests."""
        exponent = max(attempts - 1, 0)
        # Cap the exponent: 2.0 ** 2000 overflows long before max_delay matters.
        base = min(self.max_delay, self.first_delay * self.multiplier ** min(exponent, 64))
        r = random.random() if rand is None else rand  # noqa: S311 - spreading, not secrecy
        return base * (1 - self.jitter * r)

    def next_attempt(
        self, *, attempts: int, now: float, created: float, rand: float | None = None
    ) -> float | None:
        """When to try again (seconds since the epoch), or None when the message is too old."""
        deadline = created + self.max_age
        if now >= deadline:
            return None
        return min(now + self.delay(attempts, rand=rand), deadline)

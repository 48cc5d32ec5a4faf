"""RateLimiter: at most N calls a second across all threads, so a restore leaves a table's capacity to its users.

Calls are spaced evenly (one every ``1/N`` seconds, no burst), which is the simplest thing that is
a true cap: in any second there are at most N starts, however many threads ask, and whatever the
retries add (each attempt asks again, because each attempt consumes capacity).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """Hands out start times ``1/per_second`` apart; :meth:`acquire` sleeps until the caller's one.

    Args:
        per_second: the cap, above 0 (fractions allowed: 0.5 is one call every two seconds).
        clock, sleep: for tests; monotonic time and ``time.sleep`` otherwise.
    """

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not per_second > 0:
            raise ValueError(f"per_second is {per_second!r}; expected a number above 0")
        self.per_second = per_second
        self._interval = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._next: float | None = None
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Return once this call may start; threads are served in the order they asked."""
        with self._lock:
            now = self._clock()
            start = now if self._next is None else max(now, self._next)
            self._next = start + self._interval
        if start > now:
            self._sleep(start - now)

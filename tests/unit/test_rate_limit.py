"""RateLimiter: start times 1/N apart, whoever asks and from however many threads."""

from __future__ import annotations

import itertools
import threading

import pytest

from adapters.aws.rate_limit import RateLimiter


class Clock:
    """A clock that moves only when the limiter sleeps: each sleep is recorded as the start it waits for."""

    def __init__(self) -> None:
        self.now = 100.0
        self.starts: list[float] = []
        self._lock = threading.Lock()

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.starts.append(self.now + seconds)


def test_calls_asked_at_once_start_one_interval_apart() -> None:
    clock = Clock()
    limiter = RateLimiter(4, clock=clock.time, sleep=clock.sleep)
    for _ in range(5):
        limiter.acquire()
    assert clock.starts == [100.25, 100.5, 100.75, 101.0]  # the first starts at once


def test_many_threads_never_share_a_start() -> None:
    clock = Clock()
    limiter = RateLimiter(1000, clock=clock.time, sleep=clock.sleep)
    threads = [threading.Thread(target=lambda: [limiter.acquire() for _ in range(50)]) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    starts = sorted([100.0, *clock.starts])
    assert len(starts) == 400
    assert all(b - a == pytest.approx(0.001) for a, b in itertools.pairwise(starts))


def test_an_idle_limiter_gives_no_burst_credit() -> None:
    clock = Clock()
    limiter = RateLimiter(2, clock=clock.time, sleep=clock.sleep)
    limiter.acquire()
    clock.now += 60  # a minute idle
    limiter.acquire()
    limiter.acquire()
    assert clock.starts == [160.5]


@pytest.mark.parametrize("rate", [0, -1, float("nan")])
def test_a_rate_that_is_no_rate_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="expected a number above 0"):
        RateLimiter(rate)

"""Tally: the local run's outcomes per table, counted from each handler call's outcomes."""

from __future__ import annotations

import threading
from collections import Counter
from typing import TYPE_CHECKING

from archiver.service import Archived, DeadLettered, Failed, Skipped

if TYPE_CHECKING:
    from collections.abc import Sequence

    from archiver.service import Outcome

__all__ = ["OUTCOMES", "Tally"]

OUTCOMES = ("archived", "skipped", "dead_lettered", "failed")


class Tally:
    """Outcomes per table; passed to the handler as its ``metrics``, it counts every outcome of every call."""

    def __init__(self) -> None:
        self._counts: dict[str, Counter[str]] = {}
        self._lock = threading.Lock()

    def publish(self, outcomes: Sequence[Outcome], settled_at: Sequence[float]) -> None:
        """Count one handler call's outcomes: the handler's ``metrics`` (``adapters.metrics.Metrics``)."""
        for outcome in outcomes:
            self.add(outcome)

    def add(self, outcome: Outcome) -> None:
        match outcome:
            case Archived():
                name = "archived"
            case Skipped():
                name = "skipped"
            case DeadLettered():
                name = "dead_lettered"
            case Failed():
                name = "failed"
        with self._lock:
            self._counts.setdefault(outcome.table or "(unknown table)", Counter())[name] += 1

    def summary(self) -> dict[str, dict[str, int]]:
        """Per table, every outcome named even at zero (``failed`` counts failed attempts)."""
        with self._lock:
            return {table: {name: counts[name] for name in OUTCOMES} for table, counts in sorted(self._counts.items())}

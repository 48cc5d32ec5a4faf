"""Tally: the local run's outcomes per table, counted from each handler call's outcomes."""

from __future__ import annotations

import threading
from collections import Counter
from typing import TYPE_CHECKING

from archiver.service import OUTCOME_NAMES, summarise

if TYPE_CHECKING:
    from collections.abc import Sequence

    from archiver.service import Outcome

__all__ = ["Tally"]


class Tally:
    """Outcomes per table, as :func:`adapters.delivery.handle` reports them (it is the local pipe's
    :class:`~adapters.metrics.Metrics`); counted by the core's ``summarise``."""

    def __init__(self) -> None:
        self._counts: dict[str, Counter[str]] = {}
        self._lock = threading.Lock()

    def publish(self, outcomes: Sequence[Outcome], settled_at: Sequence[float]) -> None:
        """Count one handler call's outcomes: the handler's ``metrics`` (``adapters.metrics.Metrics``)."""
        by_table: dict[str, list[Outcome]] = {}
        for outcome in outcomes:
            by_table.setdefault(outcome.table or "(unknown table)", []).append(outcome)
        with self._lock:
            for table, mine in by_table.items():
                self._counts.setdefault(table, Counter()).update(summarise(mine))

    def summary(self) -> dict[str, dict[str, int]]:
        """Per table, every outcome named even at zero (``failed`` counts failed attempts)."""
        with self._lock:
            return {
                table: {name: counts[name] for name in OUTCOME_NAMES} for table, counts in sorted(self._counts.items())
            }

"""Tally: the local run's outcomes per table, counted as the handler's Archiver produces them."""

from __future__ import annotations

import threading
from collections import Counter
from typing import TYPE_CHECKING, Any

from archiver.service import Archived, DeadLettered, Failed, Skipped

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from archiver.service import Outcome

    Mapper = Callable[..., Iterator[Any]]

__all__ = ["OUTCOMES", "Tally"]

OUTCOMES = ("archived", "skipped", "dead_lettered", "failed")


class Tally:
    """Outcomes per table, counted as the archiver produces them; its ``mapper`` goes into Archiver."""

    def __init__(self) -> None:
        self._counts: dict[str, Counter[str]] = {}
        self._lock = threading.Lock()

    def mapper(self, function: Callable[..., Outcome], *iterables: Iterable[Any]) -> Iterator[Outcome]:
        """``map`` that counts each outcome on the way out."""
        return self.counting(map)(function, *iterables)

    def counting(self, inner: Mapper) -> Mapper:
        """``inner`` (a thread pool's mapper, say) counting each outcome on the way out."""

        def mapper(function: Callable[..., Outcome], *iterables: Iterable[Any]) -> Iterator[Outcome]:
            for outcome in inner(function, *iterables):
                self.add(outcome)
                yield outcome

        return mapper

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

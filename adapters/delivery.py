"""Answering one delivery: run its records through the Archiver and reply as its shape expects.

A batch (pipe or event source mapping) names the records that were neither archived nor
dead-lettered in ``batchItemFailures``, so only those are retried; a single record (EventBridge
rule, or a bare record) raises, so Lambda's asynchronous retries and on-failure destination apply.
The Lambda handler and the CLI's local pipe both call :func:`handle`, so the local run exercises
exactly the deployed code; neither reads the environment here. Each passes its own metrics: the
function writes EMF lines (``adapters/metrics.py``), the local pipe counts them in its Tally.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Sized
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from adapters.logs import log_outcomes
from adapters.metrics import NoMetrics
from archiver.envelopes import Delivery, UnknownEnvelope, failure_identifier, read_delivery
from archiver.service import Failed, summarise

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from concurrent.futures import ThreadPoolExecutor

    from adapters.metrics import Metrics
    from archiver.service import Archiver, Outcome

__all__ = ["EventNotArchivedError", "RecordMapper", "RecordNotArchivedError", "handle"]

T = TypeVar("T")
R = TypeVar("R")

_NO_METRICS = NoMetrics()  # what the CLI's local pipe and most tests pass: they keep their own counts


class RecordNotArchivedError(Exception):
    """A delivered record was neither archived nor dead-lettered; raised so the platform retries it."""


class EventNotArchivedError(RecordNotArchivedError):
    """An event we cannot read could not be dead-lettered either; raised so it is not lost."""


@dataclass(frozen=True, slots=True)
class RecordMapper:
    """The Archiver's ``mapper`` (:class:`~archiver.ports.Mapper`): runs ``fn`` on each of its
    records, on a pool if given, and yields the results in input order (``executor.map`` does;
    ``as_completed`` would not).

    A single record (every bus delivery) runs inline in the caller's thread: handing it to a
    worker and waiting for it would only add a thread switch each way to its wall and CPU time.

    Each record runs in a copy of the caller's logging context with its ``record_id`` bound (the
    Archiver's items carry it), so lines logged deep in an adapter (a retry) name the record and the
    request: worker threads do not inherit context variables by themselves.
    """

    executor: ThreadPoolExecutor | None = None

    def __call__(self, fn: Callable[[T], R], items: Iterable[T], /) -> Iterator[R]:
        context = contextvars.copy_context()

        def run(item: T) -> R:
            return context.copy().run(_traced, fn, item)

        if self.executor is None or (isinstance(items, Sized) and len(items) <= 1):
            return map(run, items)
        return self.executor.map(run, items)


def _traced(fn: Callable[[T], R], item: T) -> R:
    structlog.contextvars.bind_contextvars(record_id=getattr(item, "record_id", None))
    return fn(item)


def handle(event: object, archiver: Archiver, metrics: Metrics = _NO_METRICS) -> dict[str, Any] | None:
    """Archive the REMOVE records of one delivery, report them to ``metrics``, answer as its shape expects.

    Returns:
        ``{"batchItemFailures": [...]}`` for a pipe or event-source-mapping batch, naming exactly
        the records that Failed (eventID for pipes, SequenceNumber for an ESM); None otherwise.

    Raises:
        RecordNotArchivedError: a single-record delivery (EventBridge, bare record) Failed.
        EventNotArchivedError: the event is no delivery we know and could not be dead-lettered.
    """
    started = time.perf_counter()
    delivery = read_delivery(event)
    if isinstance(delivery, UnknownEnvelope):
        outcome = archiver.dead_letter_event(event, delivery.reason)
        metrics.publish([outcome], [time.time()])
        log_outcomes([outcome], shape="unknown", elapsed_ms=_ms_since(started))
        if isinstance(outcome, Failed):
            raise EventNotArchivedError(outcome.reason)
        return None
    outcomes, settled_at = _archive(archiver, delivery)
    metrics.publish(outcomes, settled_at)
    return _answer(delivery, outcomes, started)


def _archive(archiver: Archiver, delivery: Delivery) -> tuple[list[Outcome], list[float]]:
    """The outcomes in record order, and when each was known (epoch seconds): the moment its record
    was archived, give or take the records before it still in flight on the pool. A foreign element
    of the batch (``delivery.refused``) is dead-lettered alone; the records beside it are archived."""
    outcomes: list[Outcome] = []
    settled_at: list[float] = []
    for outcome in archiver.archive_each(delivery.records, delivery.refused):
        settled_at.append(time.time())
        outcomes.append(outcome)
    return outcomes, settled_at


def _answer(delivery: Delivery, outcomes: list[Outcome], started: float) -> dict[str, Any] | None:
    log_outcomes(outcomes, shape=delivery.shape.value, elapsed_ms=_ms_since(started))
    failed = [(raw, o) for raw, o in zip(delivery.records, outcomes, strict=True) if isinstance(o, Failed)]
    if delivery.reports_partial_failures:
        identifiers = dict.fromkeys(failure_identifier(delivery.shape, raw, o.record_id) for raw, o in failed)
        return {"batchItemFailures": [{"itemIdentifier": identifier} for identifier in identifiers]}
    if failed:
        counts = summarise(outcomes)
        raise RecordNotArchivedError(
            f"{counts['failed']} record(s) not archived and not dead-lettered: "
            + "; ".join(f"{o.record_id}: {o.reason}" for _, o in failed)
        )
    return None


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000

"""The Lambda entry point and its composition root: settings -> clients -> adapters -> Archiver.

``handler`` builds everything once per process, lazily, on the first invocation (so importing
this module needs neither AWS nor the environment), and answers each delivery the way its shape
expects: a batch (pipe or event source mapping) names the records that were neither archived nor
dead-lettered in ``batchItemFailures``, so only those are retried; a single record (EventBridge
rule, or a bare record) raises, so Lambda's asynchronous retries and on-failure destination apply.
``handle`` does that for an Archiver built by anyone (the CLI builds its own), reading no
environment.
"""

from __future__ import annotations

import contextvars
import functools
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from adapters.logs import configure_logging, log_outcomes
from adapters.s3_store import S3ArchiveStore
from adapters.settings import load_settings
from adapters.sqs_dead_letters import NoDeadLetterQueue, SQSDeadLetterSink
from archiver.envelopes import Delivery, UnknownEnvelope, failure_identifier, read_delivery
from archiver.records import record_id_of
from archiver.service import Archiver, Failed, summarise

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from adapters.aws import AwsClients
    from adapters.settings import Settings
    from archiver.policy import Policies
    from archiver.ports import DeadLetterSink
    from archiver.service import Outcome

__all__ = ["EventNotArchivedError", "RecordMapper", "RecordNotArchivedError", "build", "handle", "handler"]


class RecordNotArchivedError(Exception):
    """A delivered record was neither archived nor dead-lettered; raised so the platform retries it."""


class EventNotArchivedError(RecordNotArchivedError):
    """An event we cannot read could not be dead-lettered either; raised so it is not lost."""


@dataclass(frozen=True, slots=True)
class RecordMapper:
    """The Archiver's ``mapper``: runs ``fn(record, index)`` per record, on a pool if given, and
    yields the results in input order (``executor.map`` does; ``as_completed`` would not).

    Each record runs in a copy of the caller's logging context with its ``record_id`` bound, so
    lines logged deep in an adapter (a retry) name the record and the request: worker threads do
    not inherit context variables by themselves.
    """

    executor: ThreadPoolExecutor | None = None

    def __call__(self, fn: Callable[..., Any], *iterables: Iterable[Any]) -> Iterator[Any]:
        context = contextvars.copy_context()

        def run(*args: Any) -> Any:
            return context.copy().run(_traced, fn, *args)

        return self.executor.map(run, *iterables) if self.executor else map(run, *iterables)


def _traced(fn: Callable[..., Any], *args: Any) -> Any:
    if args:
        structlog.contextvars.bind_contextvars(record_id=record_id_of(args[0], args[1] if len(args) > 1 else 0))
    return fn(*args)


@functools.cache
def _pool(pid: int, workers: int) -> ThreadPoolExecutor:
    """One pool per process and size, reused by every invocation (a fork gets its own: new pid)."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"archiver-{pid}")


@functools.cache
def _clients(pool_connections: int) -> AwsClients:
    from adapters.aws import aws_clients  # noqa: PLC0415 - boto3 loads on first use, not at import

    return aws_clients(max_pool_connections=pool_connections)


def build(settings: Settings, clients: AwsClients | None = None, policies: Policies | None = None) -> Archiver:
    """The Archiver for ``settings``: S3 store, SQS dead letters (or none), a pool of max_concurrency.

    Args:
        clients: AWS clients to use; by default built once per process from the environment.
        policies: per-table policies (the CLI's, from YAML); by default the one from ``settings``.
    """
    clients = clients or _clients(max(10, settings.max_concurrency))
    dead_letters: DeadLetterSink = (
        SQSDeadLetterSink(clients.sqs, settings.dlq_url) if settings.dlq_url else NoDeadLetterQueue()
    )
    pool = _pool(os.getpid(), settings.max_concurrency) if settings.max_concurrency > 1 else None
    return Archiver(
        store=S3ArchiveStore(clients.s3, settings.bucket, settings.kms_key_id),
        dead_letters=dead_letters,
        policies=policies or settings.policies(),
        mapper=RecordMapper(pool),
    )


def handle(event: object, archiver: Archiver) -> dict[str, Any] | None:
    """Archive the REMOVE records of one delivery and answer as its shape expects.

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
        log_outcomes([event], [outcome], shape="unknown", elapsed_ms=_ms_since(started))
        if isinstance(outcome, Failed):
            raise EventNotArchivedError(outcome.reason)
        return None
    return _answer(delivery, archiver.archive(delivery.records), started)


def _answer(delivery: Delivery, outcomes: list[Outcome], started: float) -> dict[str, Any] | None:
    log_outcomes(delivery.records, outcomes, shape=delivery.shape.value, elapsed_ms=_ms_since(started))
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


@functools.cache
def _archiver() -> Archiver:
    """Cold start: settings (a wrong one raises, naming the variable), logging, clients, wiring."""
    settings = load_settings()
    configure_logging(settings.log_level)
    return build(settings)


def handler(event: Any, context: Any) -> dict[str, Any] | None:
    """Lambda entry point: archive the REMOVE records of one invocation; report the ones not archived."""
    archiver = _archiver()
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(aws_request_id=getattr(context, "aws_request_id", None))
    return handle(event, archiver)

"""The Lambda entry point and its composition root: settings -> clients -> adapters -> Archiver.

``handler`` builds everything once per process, lazily, on the first invocation (so importing
this module needs neither AWS nor the environment), then hands each delivery to
:func:`adapters.delivery.handle`, which answers it the way its shape expects and reports it as EMF
metric lines on stdout (``adapters/metrics.py``). Terraform and users name this module's
``handler``; keep it here.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import structlog

from adapters.aws.s3_dead_letters import S3DeadLetterOverflow
from adapters.aws.s3_store import S3ArchiveStore
from adapters.aws.sqs_dead_letters import NoDeadLetterQueue, SQSDeadLetterSink
from adapters.delivery import RecordMapper, handle
from adapters.logs import configure_logging
from adapters.metrics import EMFMetrics
from adapters.settings import load_settings
from archiver.service import Archiver

if TYPE_CHECKING:
    from adapters.aws.clients import AwsClients
    from adapters.settings import Settings
    from archiver.ports import DeadLetterSink

__all__ = ["build", "handler"]


@functools.cache
def _pool(pid: int, workers: int) -> ThreadPoolExecutor:
    """One pool per process and size, reused by every invocation (a fork gets its own: new pid)."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"archiver-{pid}")


@functools.cache
def _clients(pool_connections: int) -> AwsClients:
    from adapters.aws.clients import aws_clients  # noqa: PLC0415 - boto3 loads on first use, not at import

    return aws_clients(max_pool_connections=pool_connections)


def build(settings: Settings, clients: AwsClients | None = None) -> Archiver:
    """The Archiver for ``settings``: S3 store, SQS dead letters (or none), a pool of max_concurrency.

    A dead letter too large for the queue is kept whole in the archive bucket, encrypted as the
    archive objects are, under its table's folder.

    Args:
        clients: AWS clients to use; by default built once per process from the environment.
    """
    clients = clients or _clients(max(10, settings.max_concurrency))
    policies = settings.policies()
    dead_letters: DeadLetterSink = (
        SQSDeadLetterSink(
            clients.sqs,
            settings.dlq_url,
            overflow=S3DeadLetterOverflow(clients.s3, settings.bucket, settings.kms_key_id, policies=policies),
        )
        if settings.dlq_url
        else NoDeadLetterQueue()
    )
    pool = _pool(os.getpid(), settings.max_concurrency) if settings.max_concurrency > 1 else None
    return Archiver(
        store=S3ArchiveStore(clients.s3, settings.bucket, settings.kms_key_id),
        dead_letters=dead_letters,
        policies=policies,
        mapper=RecordMapper(pool),
    )


@functools.cache
def _wiring() -> tuple[Archiver, EMFMetrics]:
    """Cold start: settings (a wrong one raises, naming the variable), logging, clients, wiring."""
    settings = load_settings()
    configure_logging(settings.log_level)
    return build(settings), EMFMetrics(settings.metrics_namespace)


def handler(event: Any, context: Any) -> dict[str, Any] | None:
    """Lambda entry point: archive the REMOVE records of one invocation; report the ones not archived."""
    archiver, metrics = _wiring()
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(aws_request_id=getattr(context, "aws_request_id", None))
    return handle(event, archiver, metrics)

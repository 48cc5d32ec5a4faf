"""The CLI's composition root: configuration + endpoint -> clients -> adapters -> Archiver / LocalPipe.

Every command reads one environment's YAML (``--config``) and talks to whatever
``AWS_ENDPOINT_URL`` points at (AWS when unset), or with ``--embedded`` to a moto server it starts
itself and stops on exit. ``run`` and ``demo`` build the local pipe here, the same way, so the two
cannot drift apart.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from adapters.aws.clients import aws_clients
from adapters.config import load_config
from adapters.local.deliveries import Batching, Delivery
from adapters.local.embedded import embedded_aws

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from adapters.aws.clients import AwsClients
    from adapters.aws.s3_store import S3ArchiveStore
    from adapters.aws.stream_reader import StartFrom, StreamReader
    from adapters.config import EnvironmentConfig, TableConfig
    from adapters.local.local_pipe import LocalPipe, Tally
    from archiver.policy import Policies
    from archiver.ports import DeadLetterSink, Mapper
    from archiver.service import Archiver

__all__ = ["App", "open_app", "say", "stop_on_ctrl_c"]


def say(line: str) -> None:
    """A line for the person at the terminal: stderr, so stdout stays parseable (``--json``)."""
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class App:
    """What a command works with: the environment's configuration and clients for its endpoint."""

    config: EnvironmentConfig
    clients: AwsClients

    def store(self) -> S3ArchiveStore:
        from adapters.aws.s3_store import S3ArchiveStore  # noqa: PLC0415 - only the commands that read the archive

        return S3ArchiveStore(self.clients.s3, self.config.bucket)

    def archiver(self, mapper: Mapper = map, dead_letters: DeadLetterSink | None = None) -> Archiver:
        """The Archiver for every configured table: S3 store and the SQS dead letters the config names.

        A letter too large for the queue is kept whole in the bucket (``<table>/_dead-letters/``).

        Args:
            mapper: runs a batch's I/O (the local pipe passes a pool's, as the function does).
            dead_letters: where letters go instead (redrive keeps them, to leave their message be).
        """
        from adapters.aws.s3_dead_letters import S3DeadLetterOverflow  # noqa: PLC0415 - only `run` needs it
        from adapters.aws.sqs_dead_letters import SQSDeadLetterSink  # noqa: PLC0415
        from adapters.local.provisioning import queue_url  # noqa: PLC0415
        from archiver.service import Archiver  # noqa: PLC0415

        policies = self.policies()
        if dead_letters is None:
            overflow = S3DeadLetterOverflow(self.clients.s3, self.config.bucket, policies=policies)
            dead_letters = SQSDeadLetterSink(self.clients.sqs, queue_url(self.clients, self.config), overflow=overflow)
        return Archiver(store=self.store(), dead_letters=dead_letters, policies=policies, mapper=mapper)

    def policies(self) -> Policies:
        """Each configured table's policy, with the layout its YAML names."""
        return self.config.policies()

    def batching(self) -> dict[str, Batching]:
        """How each table's deletions reach the handler locally: its YAML ``delivery`` and ``batch``."""
        return {t.name: table_batching(t) for t in self.config.tables}

    def local_pipe(
        self,
        tally: Tally,
        state_path: str | Path,
        *,
        start: StartFrom | None = None,
        concurrency: int = 8,
        warn: Callable[[str], None] = say,
        progress: Callable[[str], None] | None = None,
    ) -> LocalPipe:
        """The local stand-in for the pipe (+ bus + rule) or the event source mapping, delivering to the
        Lambda handler's own code. A batch's records are archived ``concurrency`` at once, as the
        function's pool does; a bus delivery's one record runs inline, as in the function.
        ``tally`` counts what each delivery did, where the function would write metrics."""
        from adapters.aws.stream_reader import StartFrom  # noqa: PLC0415
        from adapters.delivery import RecordMapper, handle  # noqa: PLC0415 - imports structlog and the store
        from adapters.local.checkpoints import Checkpoints  # noqa: PLC0415
        from adapters.local.local_pipe import LocalPipe  # noqa: PLC0415

        archiver = self.archiver(RecordMapper(_pool(concurrency)))
        return LocalPipe(
            self.stream_reader(),
            functools.partial(handle, archiver=archiver, metrics=tally),
            Checkpoints.load(state_path),
            start=start or StartFrom.TRIM_HORIZON,
            concurrency=concurrency,
            warn=warn,
            progress=progress or (lambda _: None),
        )

    def stream_reader(self) -> StreamReader:
        """A reader of the tables' streams, as the local pipe and the redrive read them."""
        from adapters.aws.stream_reader import StreamReader  # noqa: PLC0415

        # moto sends binary stream keys base64-encoded twice; AWS does not.
        return StreamReader(self.clients.dynamodbstreams, binary_keys_double_encoded=_is_local_endpoint())


def table_batching(table: TableConfig) -> Batching:
    """``table``'s delivery and batch (the YAML's, or its delivery's defaults), as the local pipe delivers them."""
    batch = table.effective_batch
    return Batching(Delivery(table.delivery), batch.size, float(batch.window_seconds))


@functools.cache
def _pool(workers: int) -> ThreadPoolExecutor:
    """One pool per size for the process, as the function keeps one: threads start on first use."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="archiver-batch")


def _is_local_endpoint() -> bool:
    return bool(os.environ.get("AWS_ENDPOINT_URL"))


@contextlib.contextmanager
def open_app(args: argparse.Namespace) -> Iterator[App]:
    """The App for a command's ``--config`` and ``--embedded``; the embedded server stops on exit."""
    config = load_config(args.config)
    with embedded_aws() if args.embedded else contextlib.nullcontext():
        yield App(config, aws_clients(config.region, max_pool_connections=max(10, getattr(args, "concurrency", 8))))


@contextlib.contextmanager
def stop_on_ctrl_c(what: str = "the batch in flight") -> Iterator[threading.Event]:
    """An event set by the first Ctrl-C (finish ``what``, then stop); a second one aborts."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def on_interrupt(_signum: int, _frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        say(f"stopping after {what} (Ctrl-C again to abort)")

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)

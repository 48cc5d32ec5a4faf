"""`archiver redrive`: flags in, the core's Redriver over SQS, S3 and the streams, the summary out.

Which queues: the environment's queue (``dead_letter_queue``, or ``<bucket>-dlq``: the local one,
shared by every table) and each table's queue as ``terraform/modules/table-archive`` names it
(:attr:`~adapters.config.TableConfig.dead_letter_queue_name`), those that exist at the endpoint.
With ``--table T``, only T's queue, and of the shared queue only the messages about T. What is
redriven, and when a message is deleted, is :class:`archiver.redriver.Redriver`'s to decide.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from adapters.aws.retries import RetryPolicy
from adapters.aws.s3_dead_letters import S3KeptLetters
from adapters.aws.sqs_queue import SQSDeadLetterQueue, queue_url_of
from adapters.aws.stream_ranges import DynamoDBStreamRanges
from adapters.cli import render
from adapters.cli.app import open_app, say, stop_on_ctrl_c
from adapters.cli.options import add_command, aws_options, bounded_int
from adapters.cli.progress import Progress
from archiver.ports import QueueUnavailableError
from archiver.redrive_results import left_rows, shape_rows
from archiver.redriver import HeldLetters, Redriver, RedriveSource

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from adapters.cli.app import App
    from archiver.redrive_results import QueueRedrive

__all__ = ["FoundQueue", "find_queues", "format_report", "register"]


@dataclass(frozen=True, slots=True)
class FoundQueue:
    """A configured dead-letter queue that exists: its name, the table it belongs to (None: shared)."""

    name: str
    queue: SQSDeadLetterQueue
    table: str | None = None

    @property
    def source(self) -> RedriveSource:
        return RedriveSource(self.name, self.queue, self.table)


def find_queues(app: App, table: str | None = None, retry: RetryPolicy | None = None) -> list[FoundQueue]:
    """The configured dead-letter queues that exist at the endpoint (``table``'s only, where given).

    Raises:
        QueueUnavailableError: none of them exists, or SQS kept failing.
    """
    tables = [app.config.table(table)] if table else app.config.tables
    wanted: list[tuple[str, str | None]] = [(app.config.queue_name, None)]
    wanted += [(t.dead_letter_queue_name, t.name) for t in tables]
    found = []
    for name, owner in wanted:
        url = queue_url_of(app.clients.sqs, name, retry=retry)
        if url is not None:
            found.append(FoundQueue(name, SQSDeadLetterQueue(app.clients.sqs, url, retry=retry), owner))
    if not found:
        looked = ", ".join(name for name, _ in wanted)
        raise QueueUnavailableError(
            f"no dead-letter queue of this configuration exists at this endpoint (looked for {looked})"
        )
    return found


def format_report(runs: Sequence[QueueRedrive]) -> str:
    """Per shape: messages, records found, archived, deleted, left; then the messages left, by reason,
    each group with one message's reason in full."""
    results = [result for run in runs for result in run.results]
    header = ["shape", "messages", "records", "archived", "deleted", "left"]
    rows = shape_rows(results) or [("(no messages)", 0, 0, 0, 0, 0)]
    lines = [render.table(header, rows, numeric=range(1, 6))]
    left = [(*group, " ".join(example.split())) for *group, example in left_rows(results)]
    if left:
        header = ["queue", "shape", "left because", "messages", "e.g."]
        lines += ["", render.table(header, left, numeric=[3], last_free=True)]
    return "\n".join(lines)


def _redrive(args: argparse.Namespace) -> int:
    retry = RetryPolicy()
    runs: list[QueueRedrive] = []
    with (
        open_app(args) as app,
        stop_on_ctrl_c("the messages in hand") as stop,
        ThreadPoolExecutor(args.concurrency, thread_name_prefix="redrive") as pool,
    ):
        queues = find_queues(app, args.table, retry)
        redriver = Redriver(
            app.archiver(dead_letters=HeldLetters()),
            letters=S3KeptLetters(app.clients.s3, retry=retry),
            ranges=DynamoDBStreamRanges(app.stream_reader(), retry=retry),
            mapper=pool.map,
            table=args.table,
            dry_run=args.dry_run,
            limit=args.max,
            concurrency=args.concurrency,
            visibility_timeout=args.visibility_timeout,
            stop=stop.is_set,
        )
        for found in queues:
            if stop.is_set():
                break
            total = found.queue.approximate_count()
            with Progress(f"redriving {found.name}", min(total, args.max or total)) as progress:
                runs.append(redriver.run(found.source, progress.advance))
    print(format_report(runs))
    for run in runs:
        for message_id, why in run.still_hidden.items():
            say(f"archiver: message {message_id} stays hidden until its visibility timeout: {why}")
        if run.error is not None:
            say(f"archiver: error: the redrive of {run.error}; the messages not handled stay in the queue")
    if args.dry_run:
        say("dry run: nothing was archived or deleted; every message is visible again")
    failed = any(result.failed for run in runs for result in run.results) or any(run.error for run in runs)
    return 1 if failed else 0


def register(commands: Any) -> None:
    redrive = add_command(
        commands,
        "redrive",
        _redrive,
        "re-run what the dead-letter queues hold; delete each message once all its records are archived",
        "Read every dead-letter queue of the configuration (the environment's, and each table's as the\n"
        "Terraform module names it: dynamo-archive-<table>-dlq) and re-run what failed through the same\n"
        "code as `archiver run`. Understood: our own letters (also those kept in the archive bucket\n"
        "because they were too large for SQS), an EventBridge rule target's dead letters, the function's\n"
        "on-failure invocation records, and the pipe's stream batch records (read back from the stream\n"
        "while it holds them, 24 hours). A message is deleted only once every record in it is archived\n"
        "or skipped as not captured; anything else stays, visible again, and the summary says why.\n"
        "Messages of any other shape are left untouched. Exit 1 if any record could not be archived.",
        parents=[aws_options()],
    )
    redrive.add_argument("--table", metavar="T", help="only this table's queue, and its messages in the shared one")
    redrive.add_argument("--max", type=bounded_int(1), metavar="N", help="take at most N messages in all")
    redrive.add_argument(
        "--dry-run", action="store_true", help="read and classify every message; archive and delete nothing"
    )
    redrive.add_argument(
        "--concurrency",
        type=bounded_int(1, 64),
        default=8,
        metavar="N",
        help="workers, each handling ten messages at a time, 1-64 (default 8)",
    )
    redrive.add_argument(
        "--visibility-timeout",
        type=bounded_int(30, 43200),
        default=300,
        metavar="S",
        help="seconds a message stays hidden while in hand; if the run dies, it comes back after this (default 300)",
    )

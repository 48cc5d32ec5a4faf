"""`archiver provision` and `archiver run`: create the local resources, and run the local pipe."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.aws.stream_reader import StartFrom
from adapters.cli import render
from adapters.cli.app import open_app, say, stop_on_ctrl_c
from adapters.cli.options import add_command, aws_options, bounded_float, bounded_int
from adapters.local.local_pipe import Tally, stream_sources
from adapters.local.provisioning import provision
from archiver.service import OUTCOME_NAMES

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

__all__ = ["format_summary", "register"]


def _provision(args: argparse.Namespace) -> int:
    with open_app(args) as app:
        provision(app.config, app.clients, print)
    return 0


def _run(args: argparse.Namespace) -> int:
    with open_app(args) as app:
        if args.embedded:  # the embedded server starts empty: without this there would be nothing to read
            provision(app.config, app.clients, say)
        tally = Tally()
        state = args.state or f".archiver-state-{app.config.environment}.json"
        pipe = app.local_pipe(
            tally,
            state,
            start=StartFrom(args.start),
            concurrency=args.concurrency,
            progress=say if args.verbose else None,
        )
        tables = [table.name for table in app.config.tables]
        batching = app.batching()  # compact with bus is refused when the configuration is read
        sources = stream_sources(app.clients.dynamodb, tables, batching)
        say(
            f"reading {len(sources)} stream(s), checkpoints in {state}"
            + (" (Ctrl-C stops)" if args.until_idle is None else "")
        )
        with stop_on_ctrl_c() as stop:
            unfinished = pipe.run(sources, args.until_idle, stop)
        print(format_summary(tally.summary(), tables))
    return 0 if unfinished == 0 else 1


def format_summary(summary: dict[str, dict[str, int]], tables: Sequence[str]) -> str:
    """Outcomes per table: the configured ones first (even at zero), then any other that showed up."""
    names = [*tables, *(t for t in summary if t not in tables)]
    rows: list[list[Any]] = [[t, *(summary.get(t, {}).get(n, 0) for n in OUTCOME_NAMES)] for t in names]
    header = ["table", *(n.replace("_", "-") for n in OUTCOME_NAMES)]
    return render.table(header, rows, numeric=range(1, len(header)))


def register(commands: Any) -> None:
    add_command(
        commands,
        "provision",
        _provision,
        "create the configured tables (with streams), bucket and dead-letter queue where missing",
        "Create what the configuration names, where it is missing: each table from its key_schema with a\n"
        "NEW_AND_OLD_IMAGES stream, the archive bucket, and the dead-letter queue. Safe to run again.",
        parents=[aws_options()],
    )
    run = add_command(
        commands,
        "run",
        _run,
        "read the tables' streams and archive every deletion (the local pipe or event source mapping)",
        "Read every shard of every configured table's stream (parents before children) and hand its REMOVEs\n"
        "to the Lambda handler's code as the table's delivery does: one EventBridge event each (bus), a\n"
        'JSON list (direct) or {"Records": [...]} (stream), in batches of the table\'s size and window.\n'
        "The last handled record of each shard is checkpointed in --state once it and all before it are\n"
        "archived or dead-lettered, so a restart resumes there; a failing record is retried with backoff\n"
        "(a batch from its first failed record) and holds the checkpoint.",
        parents=[aws_options()],
    )
    run.add_argument(
        "--from",
        dest="start",
        choices=[s.value for s in StartFrom],
        default=StartFrom.TRIM_HORIZON.value,
        help="where a shard without checkpoint starts (default trim-horizon)",
    )
    run.add_argument(
        "--until-idle",
        type=bounded_float(0),
        metavar="SECONDS",
        help="exit, with a summary, once no record arrived for this long (default: run until Ctrl-C)",
    )
    run.add_argument("--state", metavar="PATH", help="checkpoint file (default .archiver-state-<environment>.json)")
    run.add_argument(
        "--concurrency",
        type=bounded_int(1, 256),
        default=8,
        metavar="N",
        help="records archived at once, 1-256 (default 8)",
    )
    run.add_argument("--verbose", action="store_true", help="print one line per batch read")

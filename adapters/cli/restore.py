"""`archiver restore`: put archived items back into a table, never over a live item.

One key (``--key``, optionally ``--version``), a list of keys (``--keys FILE``), or every key
deleted in a time window (``--deleted-after``/``--deleted-before``). The decisions (which version,
what is skipped and why) are ``archiver.restore_plan``'s and the per-key work is the core's
``Restorer``; this module lists, runs the keys on a bounded thread pool, paces the writes
(``--rate``), shows progress, writes the report and prints the summary.
"""

from __future__ import annotations

import contextlib
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import IO, TYPE_CHECKING, Any

from adapters.aws.dynamodb_items import DynamoDBItemWriter
from adapters.aws.rate_limit import RateLimiter
from adapters.cli import render
from adapters.cli.app import open_app, say, stop_on_ctrl_c
from adapters.cli.browse import table_and_key
from adapters.cli.catalog import CatalogError, find_version, key_types, list_folder
from adapters.cli.options import (
    add_command,
    aws_options,
    bounded_float,
    key_options,
    version_option,
    window_options,
)
from adapters.cli.progress import Progress
from archiver.archive import ArchiveBodyError, escape_lone_surrogates, table_folder
from archiver.errors import RecoveryError
from archiver.key_arguments import key_lines
from archiver.listing import read_object_key
from archiver.policy import DeletionKind
from archiver.restore_plan import KeyPlan, KeyStatus, Skip, image_to_restore, plan_window, summary_rows
from archiver.restorer import Restorer
from archiver.windows import TimeWindow

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator

    from adapters.cli.app import App
    from adapters.config import TableConfig
    from archiver.restore_plan import KeyOutcome

__all__ = ["register"]

#: Failures named on stderr after the summary; the rest are in --report.
_FAILURES_SHOWN = 5


def _restore(args: argparse.Namespace) -> int:
    _check_mode(args)
    with open_app(args) as app:
        table = app.config.table(args.table)
        target = args.to_table or table.name
        limiter = RateLimiter(args.rate) if args.rate else None
        writer = DynamoDBItemWriter(app.clients.dynamodb, limiter=limiter)
        target_key = writer.key_names(target)  # before anything else: a missing table is one clear line
        if args.key:
            return _restore_one(app, args, writer, target)
        return _restore_many(app, args, table=table, writer=writer, target=target, target_key=target_key)


def _check_mode(args: argparse.Namespace) -> None:
    """Usage errors (exit 2) for flags that do not go together."""
    window = args.deleted_after is not None or args.deleted_before is not None
    if args.key:
        given = [
            flag
            for flag, value in [
                ("--keys", args.keys),
                ("--deleted-after", args.deleted_after),
                ("--deleted-before", args.deleted_before),
                ("--kind", args.kind),
                ("--report", args.report),
            ]
            if value is not None
        ]
        if given:
            args.usage(
                f"--key restores one archived version (--version picks it); {', '.join(given)} go with "
                "--keys FILE or a window (--deleted-after TIME)"
            )
        return
    if args.version is not None:
        args.usage("--version picks a version of one --key")
    if args.keys is None and args.deleted_after is None:
        hint = " (with --deleted-before, give --deleted-after too)" if window else ""
        args.usage(f"say what to restore: --key JSON, --keys FILE, or a window --deleted-after TIME{hint}")


def _restore_one(app: App, args: argparse.Namespace, writer: DynamoDBItemWriter, target: str) -> int:
    table, key = table_and_key(app, args)
    assert key is not None
    store = app.store()
    version = find_version(store, table.prefix, table.name, key, args.version)
    try:
        decided = image_to_restore(store.get(version.object_key), version.encoded_key)
    except ArchiveBodyError as error:
        raise CatalogError(f"{version.object_key} is not a usable archive: {error}") from None
    if isinstance(decided, Skip):
        raise CatalogError(f"the archived deletion {version.object_key} is {decided.reason}: there is nothing to put")
    if args.dry_run:
        print(f"would put into {target} (only if absent), from {version.object_key}:")
        print(escape_lone_surrogates(json.dumps(decided.item, indent=2, ensure_ascii=False)))
        return 0
    if not writer.put_if_absent(target, decided.item, decided.key):
        say(f"archiver: not restored: the item exists in {target}; it was not overwritten")
        return 1
    print(f"restored {version.object_key} into {target}")
    if decided.missing:
        say(f"note: restored without {', '.join(decided.missing)} (dropped when archived, by the table's policy)")
    return 0


def _restore_many(
    app: App,
    args: argparse.Namespace,
    *,
    table: TableConfig,
    writer: DynamoDBItemWriter,
    target: str,
    target_key: frozenset[str],
) -> int:
    store = app.store()
    folder = table_folder(table.prefix, table.name)
    window = TimeWindow(args.deleted_after, args.deleted_before)
    restorer = Restorer(
        store,
        writer,
        folder,
        target,
        window,
        DeletionKind(args.kind) if args.kind else None,
        args.dry_run,
        target_key,
    )
    outcomes: list[KeyOutcome] = []
    with _report(args.report) as report, stop_on_ctrl_c("the writes in flight") as stop:
        if args.keys is not None:
            named = key_lines(_lines(args.keys), key_types(table.key_schema), table.name, folder)
            plans = [KeyPlan(k.encoded_key, version=k.version) for k in named]
        else:
            with Progress(f"listing {table.name}") as listing:
                keys = list_folder(
                    store, folder, concurrency=args.concurrency, stop=stop.is_set, on_page=listing.advance
                )
            if keys is None:
                say("archiver: stopped while listing; nothing was restored")
                return 1
            plans = plan_window((n for n in map(lambda k: read_object_key(k, folder), keys) if n is not None), window)
        what = "would restore" if args.dry_run else "restoring"
        say(f"{what} {len(plans)} key(s) of {table.name} deleted {window.describe()} into {target}")
        with ThreadPoolExecutor(args.concurrency) as pool, Progress(f"{what} {target}", len(plans)) as progress:
            for outcome in restorer.run(plans, pool.map, stop.is_set):
                outcomes.append(outcome)
                if report is not None:
                    report.write(
                        escape_lone_surrogates(
                            json.dumps(outcome.report_line(), ensure_ascii=False, separators=(",", ":"))
                        )
                        + "\n"
                    )
                progress.advance()
    print(render.table(("outcome", "keys"), summary_rows(outcomes), numeric=(1,)))
    return _verdict(outcomes, args.report)


def _verdict(outcomes: list[KeyOutcome], report: str | None) -> int:
    """0 only when nothing failed and nothing was left undone; the first failures named on stderr."""
    failed = [o for o in outcomes if o.outcome is KeyStatus.FAILED]
    for outcome in failed[:_FAILURES_SHOWN]:
        say(f"archiver: failed: {outcome.encoded_key}: {outcome.reason}")
    if len(failed) > _FAILURES_SHOWN:
        where = f" in {report}" if report else "; --report PATH lists every key"
        say(f"archiver: ... and {len(failed) - _FAILURES_SHOWN} more failures{where}")
    stopped = sum(o.outcome is KeyStatus.NOT_ATTEMPTED for o in outcomes)
    if stopped:
        say(
            f"archiver: stopped: {stopped} key(s) not attempted; run the same command again to finish "
            "(keys restored already count as present)"
        )
    return 1 if failed or stopped else 0


def _lines(path: str) -> list[str]:
    """The lines of ``--keys`` (``-`` is standard input)."""
    if path == "-":
        return sys.stdin.read().splitlines()
    try:
        with open(path, encoding="utf-8") as file:
            return file.read().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise RecoveryError(f"--keys {path}: cannot read it ({error})") from None


@contextlib.contextmanager
def _report(path: str | None) -> Iterator[IO[str] | None]:
    """The ``--report`` file, opened before any write so that a bad path costs nothing."""
    if path is None:
        yield None
        return
    try:
        file = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed below, after the last line
    except OSError as error:
        raise RecoveryError(f"--report {path}: cannot write it ({error.strerror})") from None
    with file:
        yield file


def register(commands: Any) -> None:
    restore = add_command(
        commands,
        "restore",
        _restore,
        "put archived items back into a table, only where absent: one key, a list, or a time window",
        "Put archived images back, only where no item has the key (a live item is never overwritten):\n"
        "  --key JSON [--version V]        one key: its latest version, or V\n"
        "  --deleted-after TIME [...]      every key deleted in the window after <= deleted-at < before\n"
        "  --keys FILE                     the keys in FILE (JSON lines: a --key form, `list --json` lines, or\n"
        "                                  `query --format json` rows with key, where a version pins that version)\n"
        "Per key, the newest version deleted in the window goes back; a key deleted again after the window\n"
        "is skipped (restoring it would bring back stale data), as is one archived without an image.\n"
        "A summary goes to stdout; exit 0 only if nothing failed. Running it again restores nothing twice.",
        parents=[
            aws_options(),
            key_options(required=False, without="--keys FILE or a window"),
            version_option(),
            window_options(concurrency=8),
        ],
    )
    restore.set_defaults(usage=restore.error)
    restore.add_argument(
        "--keys", metavar="FILE", help="restore the keys in FILE, one JSON a line ('-' reads standard input)"
    )
    restore.add_argument("--to-table", metavar="T2", help="restore into this table instead (same key attributes)")
    restore.add_argument(
        "--dry-run", action="store_true", help="write nothing; say what would be restored (and what is present)"
    )
    restore.add_argument(
        "--rate",
        type=bounded_float(0),
        metavar="ITEMS_PER_S",
        help="at most this many writes a second (retries included), to spare the table's capacity",
    )
    restore.add_argument("--report", metavar="PATH", help="write one JSON line per key with its outcome")

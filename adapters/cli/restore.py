"""`archiver restore`: put archived items back into a table, never over a live item.

One key (``--key``, optionally ``--version``), a list of keys (``--keys FILE``), or every key
deleted in a time window (``--deleted-after``/``--deleted-before``). The decisions (which version,
what is skipped and why) are ``archiver.restore_plan``'s and the per-key work is the core's
``Restorer``; this module lists, runs the keys on a bounded thread pool, paces the writes
(``--rate``), shows progress, writes the report and prints the summary.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import IO, TYPE_CHECKING, Any

from adapters.aws.dynamodb_items import DynamoDBItemTable
from adapters.aws.rate_limit import RateLimiter
from adapters.cli import render
from adapters.cli.app import open_app, say, stop_on_ctrl_c
from adapters.cli.catalog import CatalogError, find_version, key_types, list_folder, parse_key_argument
from adapters.cli.compact_catalog import find_compact_version, layout_of, plan_compact_restore
from adapters.cli.options import (
    add_command,
    aws_options,
    bounded_float,
    key_options,
    version_option,
    window_options,
)
from adapters.cli.progress import Progress
from archiver.archive import escape_lone_surrogates, table_folder
from archiver.errors import RecoveryError
from archiver.key_arguments import key_lines
from archiver.listing import ArchiveName, read_object_key
from archiver.policy import DeletionKind, Layout
from archiver.restore_plan import KeyOutcome, KeyPlan, KeyStatus, key_mismatch, key_types_of, plan_window, summary_rows
from archiver.restorer import Restorer
from archiver.windows import TimeWindow

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator

    from adapters.cli.app import App
    from adapters.config import TableConfig

__all__ = ["register"]

#: Failures named on stderr after the summary; the rest are in --report.
_FAILURES_SHOWN = 5


def _restore(args: argparse.Namespace) -> int:
    _check_mode(args)
    with open_app(args) as app:
        table = app.config.table(args.table)
        target = args.to_table or table.name
        items = DynamoDBItemTable(app.clients.dynamodb, limiter=RateLimiter(args.rate) if args.rate else None)
        target_key = items.key_schema(target)  # before anything else: a missing table is one clear line
        _check_key_schema(table, target, target_key)
        restorer = Restorer(
            app.store(),
            items,
            table_folder(table.prefix, table.name),
            target,
            TimeWindow(args.deleted_after, args.deleted_before),
            DeletionKind(args.kind) if args.kind else None,
            args.dry_run,
            target_key,
        )
        if args.key:
            return _restore_one(app, args, table, restorer)
        return _restore_many(app, args, table, restorer)


def _check_key_schema(table: TableConfig, target: str, target_key: dict[str, str]) -> None:
    """Where the configuration gives the archived table's key schema, the target must be keyed alike."""
    configured = key_types(table.key_schema)
    if configured is None:
        return  # every key is checked on its own, before it is written
    mismatch = key_mismatch(configured, target_key, target)
    if mismatch is not None:
        raise RecoveryError(
            f"{table.name}'s key_schema in the configuration: {mismatch}; restore into a table with the same key"
        )


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


def _restore_one(app: App, args: argparse.Namespace, table: TableConfig, restorer: Restorer) -> int:
    key = parse_key_argument(args.key, table.key_schema)
    if restorer.target_key is not None:  # before reading anything: the key must be one of the target table
        mismatch = key_mismatch(key_types_of(key), restorer.target_key, restorer.table)
        if mismatch is not None:
            raise RecoveryError(f"--key {json.dumps(key, ensure_ascii=False)}: {mismatch}")
    name: ArchiveName | None
    if layout_of(table) is Layout.COMPACT:
        version, body, problems = find_compact_version(app.store(), table, key, args.version)
        _refuse_unread(problems, "a later deletion of the key")
        name = ArchiveName(version.object_key, version.encoded_key, version.key, version.version, version.deleted_time)
        restorer = dataclasses.replace(restorer, bodies=_OneBody(name, body))
    else:
        version = find_version(restorer.store, table.prefix, table.name, key, args.version)
        name = read_object_key(version.object_key, restorer.folder)
    assert name is not None  # find_version lists only archive versions
    prepared = restorer.prepare(name)
    not_restored = "would not restore" if args.dry_run else "not restored"
    if isinstance(prepared, KeyOutcome):
        if prepared.outcome is KeyStatus.SKIPPED:
            raise CatalogError(f"the archived deletion {name.object_key} is {prepared.reason}: there is nothing to put")
        raise RecoveryError(f"{not_restored}: {name.object_key}: {prepared.reason}")
    outcome = restorer.put(prepared, name)
    target = restorer.table
    match outcome.outcome:
        case KeyStatus.WOULD_RESTORE:
            print(f"would put into {target} (only if absent), from {name.object_key}:")
            print(escape_lone_surrogates(json.dumps(prepared.item, indent=2, ensure_ascii=False)))
        case KeyStatus.PRESENT:
            say(f"archiver: {not_restored}: the item exists in {target}; it is not overwritten")
            return 1
        case KeyStatus.RESTORED:
            print(f"restored {name.object_key} into {target}")
        case _:
            raise RecoveryError(f"{not_restored}: {name.object_key}: {outcome.reason}")
    if prepared.missing:
        done = "would restore" if args.dry_run else "restored"
        say(f"note: {done} without {', '.join(prepared.missing)} (dropped when archived, by the table's policy)")
    return 0


@dataclasses.dataclass(frozen=True)
class _OneBody:
    """The ArchiveBodies of a single-key restore from a compact table: the one line already read."""

    name: ArchiveName
    line: bytes

    def body(self, name: ArchiveName) -> bytes:
        assert name == self.name
        return self.line


def _restore_many(app: App, args: argparse.Namespace, table: TableConfig, restorer: Restorer) -> int:
    store, folder, target, window = restorer.store, restorer.folder, restorer.table, restorer.window
    outcomes: list[KeyOutcome] = []
    with _report(args.report) as report, stop_on_ctrl_c("the writes in flight") as stop:
        keys: list[str] | None = None
        pins: dict[str, str | None] = {}
        if args.keys is not None:
            named = key_lines(_lines(args.keys), key_types(table.key_schema), table.name, folder)
            pins = {k.encoded_key: k.version for k in named}
            keys = list(pins)
        if layout_of(table) is Layout.COMPACT:
            planned = plan_compact_restore(
                app.store(), table, window, keys, concurrency=args.concurrency, stop=stop.is_set
            )
            if planned is None:
                say("archiver: stopped while reading compact objects; nothing was restored")
                return 1
            plans, index = planned
            _refuse_unread(index.problems, "a later deletion of a key in the window")
            plans = [dataclasses.replace(plan, version=pins.get(plan.encoded_key)) for plan in plans]
            restorer = dataclasses.replace(restorer, bodies=index)
        elif keys is not None:
            plans = [KeyPlan(k, version=pins[k]) for k in keys]
        else:
            with Progress(f"listing {table.name}") as listing:
                listed = list_folder(
                    store, folder, concurrency=args.concurrency, stop=stop.is_set, on_page=listing.advance
                )
            if listed is None:
                say("archiver: stopped while listing; nothing was restored")
                return 1
            plans = plan_window((n for n in map(lambda k: read_object_key(k, folder), listed) if n is not None), window)
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
    print(render.table(("outcome", "keys"), summary_rows(outcomes, dry_run=args.dry_run), numeric=(1,)))
    return _verdict(outcomes, args.report)


def _refuse_unread(problems: list[str], could_hide: str) -> None:
    """Nothing is restored from a compact table while part of what was read is unreadable: the lost
    lines may hold ``could_hide``, and restoring without it would bring back deleted data.

    Raises:
        CatalogError: after naming every problem (an object that could not be read, a bad line).
    """
    if not problems:
        return
    for problem in problems:
        say(f"archiver: error: {problem}")
    raise CatalogError(
        f"nothing was restored: {len(problems)} problem(s) reading the compact objects above, and what they "
        f"hold may be {could_hide}. Repair or move each object named out of the compact folder, then run again"
    )


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

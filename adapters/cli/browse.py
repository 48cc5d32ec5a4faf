"""`archiver list` and `archiver show`: find archived deletions and read them."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from adapters.cli import render
from adapters.cli.app import open_app, say
from adapters.cli.catalog import (
    find_version,
    list_table_versions,
    list_versions,
    parse_key_argument,
    read_body,
    read_kinds,
)
from adapters.cli.compact_catalog import find_compact_version, layout_of, list_compact_versions
from adapters.cli.options import add_command, aws_options, key_options, version_option, window_options
from adapters.cli.progress import Progress
from archiver.archive import escape_lone_surrogates
from archiver.compact_reader import archive_body
from archiver.policy import Layout
from archiver.windows import TimeWindow

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from adapters.aws.s3_store import S3ArchiveStore
    from adapters.cli.app import App
    from adapters.cli.catalog import ArchivedVersion
    from adapters.config import TableConfig

__all__ = ["format_versions", "register", "table_and_key"]


def table_and_key(app: App, args: argparse.Namespace) -> tuple[TableConfig, dict[str, dict[str, str]] | None]:
    """The configured table ``--table`` names, and ``--key`` parsed against its key schema (or None)."""
    table = app.config.table(args.table)
    return table, parse_key_argument(args.key, table.key_schema) if args.key else None


def _list(args: argparse.Namespace) -> int:
    window = TimeWindow(args.deleted_after, args.deleted_before)
    with open_app(args) as app:
        table, key = table_and_key(app, args)
        with_kind = key is not None or args.kind is not None
        if layout_of(table) is Layout.COMPACT:
            versions, problems = list_compact_versions(
                app.store(), table, key, window, with_kind=with_kind, concurrency=args.concurrency
            )
        else:
            versions, problems = _list_objects(
                app.store(), table, key, window, with_kind=with_kind, concurrency=args.concurrency
            )
        if args.kind is not None:
            versions = [v for v in versions if v.kind == args.kind]
    if args.json:
        for version in versions:
            print(escape_lone_surrogates(json.dumps(version.json_line(), ensure_ascii=False, separators=(",", ":"))))
    else:
        print(format_versions(versions))
    for problem in problems:
        say(f"archiver: error: {problem}")
    return 1 if problems else 0


def _list_objects(
    store: S3ArchiveStore,
    table: TableConfig,
    key: dict[str, dict[str, str]] | None,
    window: TimeWindow,
    *,
    with_kind: bool,
    concurrency: int,
) -> tuple[list[ArchivedVersion], list[str]]:
    """An ``objects`` table's versions in ``window``: from the keys, and each kind from a HEAD where asked."""
    if key is not None:
        versions = list_versions(store, table.prefix, table.name, key)
    else:
        with Progress(f"listing {table.name}") as progress:
            versions = list_table_versions(
                store, table.prefix, table.name, concurrency=concurrency, on_page=progress.advance
            )
    versions = [v for v in versions if window.contains(v.deleted_time)]
    if not with_kind:
        return versions, []
    with ThreadPoolExecutor(concurrency) as pool, Progress("reading kinds", len(versions)) as progress:
        return read_kinds(store, versions, pool.map, progress.advance)


def format_versions(versions: Sequence[ArchivedVersion]) -> str:
    if not versions:
        return "(nothing archived)"
    rows = [
        (
            v.deleted_at or "-",
            v.kind or "-",
            json.dumps(v.key, ensure_ascii=False, separators=(",", ":")) if v.key is not None else "(in body)",
            v.object_key,
        )
        for v in versions
    ]
    return render.table(("deleted at", "kind", "key", "object key"), rows, last_free=True)


def _show(args: argparse.Namespace) -> int:
    with open_app(args) as app:
        table, key = table_and_key(app, args)
        assert key is not None  # --key is required for show
        store = app.store()
        problems: list[str] = []
        if layout_of(table) is Layout.COMPACT:
            _, line, problems = find_compact_version(store, table, key, args.version)
            body = archive_body(line)
        else:
            body = read_body(store, find_version(store, table.prefix, table.name, key, args.version).object_key)
    print(escape_lone_surrogates(json.dumps(body, indent=2, ensure_ascii=False)))
    for problem in problems:  # one of them may hold a later version than the one shown
        say(f"archiver: error: {problem}")
    return 1 if problems else 0


def register(commands: Any) -> None:
    listing = add_command(
        commands,
        "list",
        _list,
        "list archived versions of one key, or of a whole table, newest first",
        "List archived deletions newest first: of one key (--key, one prefix query) or of the whole table\n"
        "(disjoint slices of its key space listed in parallel). --deleted-after/--deleted-before filter on\n"
        "the deletion time in each object's name (no body is read); --kind reads each object's metadata.\n"
        "A compact table is read object by object: a window reads the hour folders it overlaps, a key\n"
        "without a window every compact object (in parallel); each deletion is listed once.\n"
        "--json prints one JSON object a line, which `archiver restore --keys FILE` reads back.",
        parents=[aws_options(), key_options(required=False), window_options()],
    )
    listing.add_argument(
        "--json",
        action="store_true",
        help="print JSON lines (table, key, version, deletedAt, objectKey, and kind where read) instead of a table",
    )
    add_command(
        commands,
        "show",
        _show,
        "print one archived body",
        "Print one archived body: the latest version of the key unless --version.",
        parents=[aws_options(), key_options(required=True), version_option()],
    )

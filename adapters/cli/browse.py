"""`archiver list` and `archiver show`: find archived deletions and read them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from adapters.cli import render
from adapters.cli.app import open_app
from adapters.cli.catalog import find_version, list_versions, parse_key_argument
from adapters.cli.options import add_command, aws_options, key_options, version_option

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from adapters.cli.app import App
    from adapters.cli.catalog import ArchivedVersion
    from adapters.config import TableConfig

__all__ = ["format_versions", "register", "table_and_key"]


def table_and_key(app: App, args: argparse.Namespace) -> tuple[TableConfig, dict[str, dict[str, str]] | None]:
    """The configured table ``--table`` names, and ``--key`` parsed against its key schema (or None)."""
    table = app.config.table(args.table)
    return table, parse_key_argument(args.key, table.key_schema) if args.key else None


def _list(args: argparse.Namespace) -> int:
    with open_app(args) as app:
        table, key = table_and_key(app, args)
        versions = list_versions(app.store(), table.prefix, table.name, key, read_bodies=key is not None or args.kind)
    if args.json:
        print(json.dumps([_version_json(v) for v in versions], indent=2, ensure_ascii=False))
    else:
        print(format_versions(versions))
    return 0


def _version_json(version: ArchivedVersion) -> dict[str, Any]:
    return {
        "deletedAt": version.deleted_at or None,
        "kind": version.kind,
        "key": version.key,
        "version": version.version,
        "objectKey": version.object_key,
    }


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
        body = store.get(find_version(store, table.prefix, table.name, key, args.version).object_key)
    print(json.dumps(json.loads(body), indent=2, ensure_ascii=False))
    return 0


def register(commands: Any) -> None:
    listing = add_command(
        commands,
        "list",
        _list,
        "list archived versions of one key, or of a whole table, newest first",
        "List archived deletions newest first: of one key (--key, one prefix query) or of the whole table.",
        parents=[aws_options(), key_options(required=False)],
    )
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.add_argument("--kind", action="store_true", help="for a table listing, read each body for the kind column")
    add_command(
        commands,
        "show",
        _show,
        "print one archived body",
        "Print one archived body: the latest version of the key unless --version.",
        parents=[aws_options(), key_options(required=True), version_option()],
    )

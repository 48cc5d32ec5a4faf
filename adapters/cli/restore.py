"""`archiver restore`: put archived items back into a table, never over a live item."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from adapters.cli.app import open_app, say
from adapters.cli.browse import table_and_key
from adapters.cli.catalog import find_version, restore_request
from adapters.cli.options import add_command, aws_options, key_options, version_option

if TYPE_CHECKING:
    import argparse

__all__ = ["register"]


def _restore(args: argparse.Namespace) -> int:
    with open_app(args) as app:
        table, key = table_and_key(app, args)
        assert key is not None  # --key is required for restore
        store = app.store()
        version = find_version(store, table.prefix, table.name, key, args.version)
        body = json.loads(store.get(version.object_key))
        request = restore_request(body, args.to_table or table.name)
        if args.dry_run:
            print(f"would put into {request['TableName']} (only if absent), from {version.object_key}:")
            print(json.dumps(body["image"], indent=2, ensure_ascii=False))
            return 0
        try:
            app.clients.dynamodb.put_item(**request)
        except app.clients.dynamodb.exceptions.ConditionalCheckFailedException:
            say(f"archiver: not restored: the item exists in {request['TableName']}; it was not overwritten")
            return 1
    print(f"restored {version.object_key} into {request['TableName']}")
    return 0


def register(commands: Any) -> None:
    restore = add_command(
        commands,
        "restore",
        _restore,
        "put an archived item back into a table, only if it is absent",
        "Put the archived image back (the latest unless --version), only if no item with that key exists.",
        parents=[aws_options(), key_options(required=True), version_option()],
    )
    restore.add_argument("--to-table", metavar="T2", help="restore into this table instead")
    restore.add_argument("--dry-run", action="store_true", help="print what would be put, and put nothing")

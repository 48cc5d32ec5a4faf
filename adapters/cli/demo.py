"""`archiver demo`: the whole local path in seconds, checked: every deletion archived exactly once.

On an embedded moto server it provisions the local configuration, writes items whose keys have the
characters that break naive paths ('#', '/', spaces, '%', emoji, raw bytes), deletes most of them
(one is deleted, re-created and deleted again, so it must get two versions), runs the local pipe
until idle, and compares the bucket with the deletions it made: exactly one object per deletion
(or, in a compact table, one line per deletion), nothing else. That comparison is the exit code, so
the demo doubles as a smoke test.

The two layouts side by side: ``orders`` keeps the ``objects`` layout (one object per deletion,
one EventBridge event each), ``sessions`` is archived ``compact`` (event source mapping batches,
one gzip JSON-lines object per batch and hour), whatever the configuration file says. Each
table also gets 50 deletions of ~1 KB items, so that the objects and bytes per deletion compare.
The configuration and the items are in demo_data.py; the run and its two checks are here.
"""

from __future__ import annotations

import base64
import gzip
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.aws.clients import aws_clients
from adapters.cli import render
from adapters.cli.app import App
from adapters.cli.catalog import list_versions, parse_object_key
from adapters.cli.demo_data import BULK, bulk_item, demo_config, demo_items, with_demo_layouts
from adapters.cli.options import add_command
from adapters.local.embedded import embedded_aws
from adapters.local.local_pipe import Tally, stream_sources
from adapters.local.provisioning import provision
from archiver.archive import table_folder
from archiver.keys import canonical_key, encode_key
from archiver.layouts import read_compact_key

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Mapping

    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

    from adapters.config import EnvironmentConfig
    from archiver.ports import ArchiveStore

__all__ = ["archived_counts", "compare", "encoded_key_of", "register", "run_demo"]


def _key(item: dict[str, Any], names: list[str]) -> dict[str, Any]:
    return {name: item[name] for name in names}


def encoded_key_of(key: Mapping[str, Any]) -> str:
    """The encoded key the archive files a boto3-form key under (binary values as bytes)."""
    wire = {
        name: {"B": base64.b64encode(value["B"]).decode("ascii")} if "B" in value else value
        for name, value in key.items()
    }
    return encode_key(canonical_key(wire))


def archived_counts(store: ArchiveStore, config: EnvironmentConfig) -> tuple[Counter[tuple[str, str]], list[str]]:
    """Deletions archived per (table, encoded key): objects, and the distinct versions in compact
    objects (a retried batch may hold a deletion twice: it counts once); and the keys of objects
    that are neither."""
    found: Counter[tuple[str, str]] = Counter()
    unexpected: list[str] = []
    compact_versions: set[tuple[str, str, str]] = set()
    for object_key in store.list_keys(""):
        parsed = (parse_object_key(object_key, t.prefix, t.name) for t in config.tables)
        version = next((v for v in parsed if v is not None), None)
        compact = next((t.name for t in config.tables if read_compact_key(object_key, t.prefix, t.name)), None)
        if version is not None:
            found[(version.table, version.encoded_key)] += 1
        elif compact is not None:
            lines = gzip.decompress(store.get(object_key)).splitlines()
            compact_versions.update((compact, line["encodedKey"], line["version"]) for line in map(json.loads, lines))
        else:
            unexpected.append(object_key)
    found.update((table, encoded_key) for table, encoded_key, _ in compact_versions)
    return found, unexpected


def compare(expected: Counter[tuple[str, str]], found: Counter[tuple[str, str]], unexpected: list[str]) -> list[str]:
    """One line per difference between the deletions made and the objects archived; empty when equal."""
    lines = [f"MISSING: {n} deletion(s) of {table} {key}" for (table, key), n in sorted((expected - found).items())]
    lines += [
        f"EXTRA: {n} object(s) too many for {table} {key}" for (table, key), n in sorted((found - expected).items())
    ]
    return lines + [f"UNEXPECTED object: {object_key}" for object_key in unexpected]


def _write_and_delete(
    dynamodb: DynamoDBClient, config: EnvironmentConfig, out: Callable[[str], None]
) -> Counter[tuple[str, str]]:
    """Write and delete the ~1 KB items, then the demo items, all but one per table (the first
    twice), so the awkward keys are the newest; the deletions made."""
    expected: Counter[tuple[str, str]] = Counter()
    for table, items in demo_items(config).items():
        schema = config.table(table).key_schema
        assert schema is not None
        names = [schema.partition_key.name] + ([schema.sort_key.name] if schema.sort_key else [])
        bulk = [bulk_item(table, names, n) for n in range(BULK)]
        puts: list[Any] = [{"PutRequest": {"Item": item}} for item in bulk]
        deletes: list[Any] = [{"DeleteRequest": {"Key": _key(item, names)}} for item in bulk]
        for requests in (puts, deletes):
            for start in range(0, len(requests), 25):  # BatchWriteItem's limit
                dynamodb.batch_write_item(RequestItems={table: requests[start : start + 25]})
        expected.update((table, encoded_key_of(_key(item, names))) for item in bulk)
        for item in items:
            dynamodb.put_item(TableName=table, Item=item)
        doomed = items[:-1]  # the last item of each table stays
        again = {**doomed[0], "status": {"S": "re-created"}}
        for item in [*doomed, again]:
            if item is again:
                dynamodb.put_item(TableName=table, Item=again)
            dynamodb.delete_item(TableName=table, Key=_key(item, names))
            expected[(table, encoded_key_of(_key(item, names)))] += 1
        out(
            f"{table}: wrote and deleted {BULK} items of ~1 KB; wrote {len(items) + 1} more, deleted "
            f"{len(doomed) + 1} (one key twice), kept 1"
        )
    return expected


def _show(store: ArchiveStore, config: EnvironmentConfig, out: Callable[[str], None]) -> None:
    out("")
    out("archived, newest first (the first 8 of each table):")
    latest = None
    for table in config.tables:
        versions = list_versions(store, table.prefix, table.name, read_bodies=True)
        for v in versions[:8]:
            latest = latest or v
            key = json.dumps(v.key, ensure_ascii=False, separators=(",", ":"))
            out(f"  {v.deleted_at}  {v.kind or '-':<4}  {key}\n      s3://{config.bucket}/{v.object_key}")
        if len(versions) > 8:
            out(f"  ... and {len(versions) - 8} more of {table.name}")
    if latest is not None:
        out("")
        out(f"one archived body (s3://{config.bucket}/{latest.object_key}):")
        out(json.dumps(json.loads(store.get(latest.object_key)), indent=2, ensure_ascii=False))


def _compare_layouts(
    s3: S3Client, config: EnvironmentConfig, expected: Counter[tuple[str, str]], out: Callable[[str], None]
) -> None:
    """Per table: its layout, its deletions, and the archive objects and bytes that hold them."""
    rows, compact_keys = [], []
    for table in config.tables:
        folder = table_folder(table.prefix, table.name)
        sizes = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=config.bucket, Prefix=folder):
            for item in page.get("Contents", []):
                if read_compact_key(item["Key"], table.prefix, table.name):
                    compact_keys.append(f"s3://{config.bucket}/{item['Key']} ({item['Size']:,} bytes)")
                elif parse_object_key(item["Key"], table.prefix, table.name) is None:
                    continue  # a dead letter kept in the bucket, say: no archive
                sizes.append(item["Size"])
        deletions = sum(n for (name, _), n in expected.items() if name == table.name)
        per = [f"{len(sizes) / deletions:.3f}", f"{sum(sizes) / deletions:,.0f}"] if deletions else ["-", "-"]
        rows.append([table.layout, table.name, deletions, len(sizes), sum(sizes), *per])
    header = ["layout", "table", "deletions", "objects", "bytes", "objects/deletion", "bytes/deletion"]
    out("")
    out("the two layouts side by side:")
    for line in [*render.table(header, rows, numeric=range(2, len(header))).splitlines(), *compact_keys[:4]]:
        out(f"  {line}")


def run_demo(out: Callable[[str], None]) -> int:
    """Run the demo, printing progress to ``out``; 0 only if every deletion was archived exactly once."""
    started = time.monotonic()
    config = with_demo_layouts(demo_config(out))
    with embedded_aws() as aws, tempfile.TemporaryDirectory(prefix="archiver-demo-") as state_dir:
        out(f"embedded AWS (moto server) at {aws.endpoint_url}")
        app = App(config, aws_clients(config.region))
        provision(config, app.clients, lambda line: out(f"  {line}"))
        expected = _write_and_delete(app.clients.dynamodb, config, out)

        tally = Tally()
        pipe = app.local_pipe(tally, Path(state_dir) / "state.json", warn=out)
        out("running the local pipe until idle for 1 s ...")
        pipe.run(stream_sources(app.clients.dynamodb, [t.name for t in config.tables], app.batching()), until_idle=1.0)
        out("summary: " + json.dumps(tally.summary()))
        store = app.store()
        found, unexpected = archived_counts(store, config)
        _show(store, config, out)
        _compare_layouts(app.clients.s3, config, expected, out)

    out("")
    differences = compare(expected, found, unexpected)
    for line in differences:
        out(line)
    if differences:
        return 1
    total = sum(expected.values())
    out(f"OK: {total} deletions, each archived exactly once ({time.monotonic() - started:.1f} s)")
    return 0


def _demo(_args: argparse.Namespace) -> int:
    return run_demo(print)


def register(commands: Any) -> None:
    add_command(
        commands,
        "demo",
        _demo,
        "archive sample deletions on an embedded moto server, and show where they went",
        "On an embedded moto server: provision config/local.yaml, write items with awkward keys to two\n"
        "tables, delete them (one twice), run until idle, and check that every deletion was archived\n"
        "exactly once. Exits 0 only if so. orders keeps one object per deletion, sessions is archived\n"
        "compact (gzip JSON lines per batch and hour): the objects and bytes per deletion are compared.",
    )

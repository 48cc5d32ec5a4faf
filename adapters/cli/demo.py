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
Over 300 lines for that reason: the sample data and the two checks are one script, read top down.
"""

from __future__ import annotations

import base64
import gzip
import json
import random
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from adapters.aws.clients import aws_clients
from adapters.cli import render
from adapters.cli.app import App
from adapters.cli.catalog import list_versions, parse_object_key
from adapters.cli.options import add_command
from adapters.config import EnvironmentConfig, load_config, parse_config
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

    from archiver.ports import ArchiveStore

__all__ = ["BUILT_IN_CONFIG", "archived_counts", "compare", "demo_config", "encoded_key_of", "register", "run_demo"]

LOCAL_CONFIG = Path("config/local.yaml")

#: Used when config/local.yaml is not there (the package installed elsewhere) or lacks the demo's tables.
BUILT_IN_CONFIG = """
environment: local
region: us-east-1
bucket: dynamo-archive-local
dead_letter_queue: dynamo-archive-local-dlq
tables:
  - name: orders
    ttl_attribute: expires_at
    key_schema:
      partition_key: {name: PK, type: S}
      sort_key: {name: SK, type: S}
  - name: sessions
    drop_attributes: [token]
    key_schema:
      partition_key: {name: session_id, type: B}
"""

_ORDER_KEYS = [
    ("USER#123", "PROFILE"),
    ("USER#123", "ORDER#2024/01/15 #7"),
    ("café 100% ☕", "emoji 🎉 and spaces"),
    ("a/b/../c", "%2F %25 *(S)x"),
    ("TTL#1", "expired"),
    ("KEEP#1", "never deleted"),
]
_SESSION_KEYS = [b"\x00\xff\xfe binary/key#%", b"\x89PNG\r\n\x1a\n", b"kept session"]
#: The table the demo archives compact (the other keeps one object per deletion), and its delivery.
COMPACT_TABLE = "sessions"
BULK = 50  # ~1 KB deletions per table, for the side-by-side numbers
_WORDS = [
    "order",
    "paid",
    "shipped",
    "refund",
    "cart",
    "customer",
    "address",
    "street",
    "city",
    "parcel",
    "label",
    "invoice",
    "note",
    "gift",
]


def demo_config(report: Callable[[str], None]) -> EnvironmentConfig:
    """config/local.yaml from the working directory when it has the demo's tables (the demo writes to
    those two only), else the built-in copy."""
    if LOCAL_CONFIG.is_file():
        config = load_config(LOCAL_CONFIG)
        schemas = {t.name: t.key_schema for t in config.tables}
        orders, sessions = schemas.get("orders"), schemas.get("sessions")
        if (
            orders is not None
            and orders.sort_key is not None
            and (orders.partition_key.type, orders.sort_key.type) == ("S", "S")
            and sessions is not None
            and sessions.sort_key is None
            and sessions.partition_key.type == "B"
        ):
            report(f"using {LOCAL_CONFIG} (its tables orders and sessions)")
            demo_tables = [t for t in config.tables if t.name in ("orders", "sessions")]
            return config.model_copy(update={"tables": demo_tables})
        report(f"{LOCAL_CONFIG} lacks the demo's tables; using the built-in local configuration")
    else:
        report(f"{LOCAL_CONFIG} not found here; using the built-in local configuration")
    return parse_config(yaml.safe_load(BUILT_IN_CONFIG), "<built-in local configuration>")


def with_demo_layouts(config: EnvironmentConfig) -> EnvironmentConfig:
    """``config`` with ``sessions`` archived compact, delivered in event source mapping batches.

    The demo shows both layouts side by side whatever ``config/local.yaml`` says of ``sessions``.
    """
    tables = [
        t.model_copy(update={"layout": "compact", "delivery": "stream"}) if t.name == COMPACT_TABLE else t
        for t in config.tables
    ]
    return config.model_copy(update={"tables": tables})


def _items(config: EnvironmentConfig) -> dict[str, list[dict[str, Any]]]:
    """The demo's items per table, in boto3's form (binary as bytes)."""
    orders, sessions = config.table("orders").key_schema, config.table("sessions").key_schema
    assert orders is not None and orders.sort_key is not None and sessions is not None  # checked in demo_config
    past = str(int(time.time()) - 3600)
    order_items = []
    for pk, sk in _ORDER_KEYS:
        item: dict[str, Any] = {orders.partition_key.name: {"S": pk}, orders.sort_key.name: {"S": sk}}
        item["status"] = {"S": "active"}
        if pk.startswith("TTL#"):
            item["expires_at"] = {"N": past}  # passed: archived as kind "ttl" (expired-ttl-attribute)
        order_items.append(item)
    session_items = [
        {sessions.partition_key.name: {"B": raw}, "user": {"S": "USER#123"}, "token": {"S": "secret, dropped"}}
        for raw in _SESSION_KEYS
    ]
    return {"orders": order_items, "sessions": session_items}


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
    for table, items in _items(config).items():
        schema = config.table(table).key_schema
        assert schema is not None
        names = [schema.partition_key.name] + ([schema.sort_key.name] if schema.sort_key else [])
        bulk = [_bulk_item(table, names, n) for n in range(BULK)]
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


def _bulk_item(table: str, names: list[str], n: int) -> dict[str, Any]:
    """A ~1 KB item that compresses as real data does (words, numbers, ids; not one repeated byte)."""
    rng = random.Random(f"{table}-{n}")  # noqa: S311 - sample data, not a secret
    key = f"BULK#{n:04d}"
    item: dict[str, Any] = {names[0]: {"B": key.encode()}} if table == COMPACT_TABLE else {names[0]: {"S": key}}
    if len(names) > 1:
        item[names[1]] = {"S": f"ITEM#{rng.randrange(10**6):06d}"}
    item["note"] = {"S": " ".join(rng.choice(_WORDS) for _ in range(60))}
    item["lines"] = {
        "L": [
            {"M": {"sku": {"S": f"SKU-{rng.randrange(16**8):08x}"}, "qty": {"N": str(rng.randrange(1, 9))}}}
            for _ in range(12)
        ]
    }
    item["total"] = {"N": f"{rng.randrange(100, 100000) / 100:.2f}"}
    return item


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

"""Benchmark `archiver query` on DuckDB against the floor of the same work (not a test; prints a table).

Two tables on a moto server in its own process, every S3 GetObject and ListObjectsV2 +25 ms (a
botocore ``before-send`` hook in the calling thread, as bench_restore.py):

- ``events``, compact layout: 200,000 deletions in gzip JSON-lines objects of 1,000 lines, 4 an hour;
- ``orders``, objects layout: 20,000 deletions, one object each.

For each, the query counts deletions by hour over the whole table:

  1. ``archiver query`` (cold: an empty cache folder), the whole command in-process;
  2. the floor of the same work: list the objects with boto3, download them in parallel at the same
     concurrency into files, and run DuckDB's read_json over those files (the same count by hour,
     no dedup, no other column);
  3. ``archiver query`` again over the same cache folder (warm: no GET);
  4. the same count filtered on ``item`` (warm): what building the plain-JSON column costs.

Each measure runs in a fresh child process (imports excluded from the time), so that its peak
memory (ru_maxrss) is its own; each is the fastest of ``--rounds`` alternating rounds. Target:
query/floor <= 1.3. Run from the project root:

    .venv/bin/python bench/bench_query.py [--compact 200000] [--objects 20000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_handler import environment, free_port, start_server  # noqa: E402
from bench_restore import slow_clients, with_latency  # noqa: E402 - +25 ms on S3 GET and LIST, as there

from adapters.aws.clients import aws_clients  # noqa: E402
from archiver.archive import table_folder  # noqa: E402
from archiver.keys import encode_key  # noqa: E402
from archiver.layouts import compact_folder, compact_object_key  # noqa: E402

REGION = "eu-west-1"
BUCKET = "bench-query"
PREFIX = "archive"
T0 = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
SQL = "SELECT date_trunc('hour', deleted_at) AS hour, count(*) AS deletions FROM deletions GROUP BY 1 ORDER BY 1"
#: The same count, of the items whose status is shipped, read through ``item`` (built in Python: what it costs).
ITEM_SQL = (
    "SELECT date_trunc('hour', deleted_at) AS hour, count(*) AS deletions FROM deletions "
    "WHERE item->>'$.status' = 'shipped' GROUP BY 1 ORDER BY 1"
)
CONFIG = """
environment: local
region: {region}
bucket: {bucket}
tables:
  - name: events
  - name: orders
"""


def body(table: str, n: int, at: datetime) -> dict[str, Any]:
    """An archive body of about 600 bytes: a few common types and a 38-digit number."""
    key = {"PK": {"S": f"USER#{n}"}, "SK": {"S": f"ORDER#{n:06d}"}}
    return {
        "schemaVersion": 1,
        "table": table,
        "key": key,
        "encodedKey": encode_key(key),
        "deletedAt": at.isoformat().replace("+00:00", "Z"),
        "deletion": {"kind": "ttl" if n % 5 == 0 else "user", "evidence": "userIdentity"},
        "imageMissing": False,
        "image": {
            **key,
            "status": {"S": "shipped"},
            "total": {"N": f"{n}.{n:037d}"[:39]},
            "lines": {"L": [{"M": {"sku": {"S": f"SKU-{i}"}, "qty": {"N": str(i)}}} for i in range(3)]},
            "tags": {"SS": ["a", "b"]},
            "note": {"S": "x" * 200},
        },
        "droppedAttributes": [],
        "stream": {"eventID": f"e{n}", "sequenceNumber": str(10**20 + n), "region": REGION},
    }


def version(n: int, at: datetime) -> str:
    return f"{at:%Y%m%dT%H%M%SZ}-{10**20 + n:040d}-{n:016x}"


def fill(s3: Any, compact: int, objects: int) -> None:
    def put(item: tuple[str, bytes]) -> None:
        s3.put_object(Bucket=BUCKET, Key=item[0], Body=item[1])

    per_object, per_hour = 1000, 4
    compact_items = []
    for start in range(0, compact, per_object):
        hour = T0 + timedelta(hours=start // (per_object * per_hour))
        lines = []
        for n in range(start, min(start + per_object, compact)):
            at = hour + timedelta(seconds=n % 3600)
            lines.append(json.dumps({**body("events", n, at), "version": version(n, at)}, separators=(",", ":")))
        data = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
        compact_items.append((compact_object_key(PREFIX, "events", hour, f"batch-{start:08d}"), data))
    folder = table_folder(PREFIX, "orders")
    object_items = []
    for n in range(objects):
        at = T0 + timedelta(seconds=n * 7)
        document = body("orders", n, at)
        key = f"{folder}{document['encodedKey']}/{version(n, at)}.json"
        object_items.append((key, json.dumps(document, separators=(",", ":")).encode()))
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, compact_items + object_items))


# --- the child: one measure, in a process of its own -------------------------------------------


def child_query(table: str, cache: str, concurrency: int, config: str, sql: str = SQL) -> float:
    import contextlib  # noqa: PLC0415
    import io  # noqa: PLC0415
    from unittest import mock  # noqa: PLC0415

    import duckdb  # noqa: F401, PLC0415 - imported before the clock starts, as the CLI's own imports are

    from adapters.cli import archive_sources  # noqa: PLC0415
    from adapters.cli.main import main  # noqa: PLC0415
    from archiver.policy import Layout  # noqa: PLC0415
    from archiver.query import TableSource  # noqa: PLC0415

    # `events` is compact: until TableConfig.layout lands, the one function that reads a layout says so.
    read_source = archive_sources.table_source
    compact = {"events"}

    def source(table: Any) -> TableSource:
        found = read_source(table)
        return TableSource(found.table, found.prefix, Layout.COMPACT) if table.name in compact else found

    archive_sources.table_source = source  # type: ignore[assignment]
    argv = ["query", "--config", config, "--table", table, "--cache", cache, "--concurrency", str(concurrency), sql]
    out = io.StringIO()
    started = time.perf_counter()
    with mock.patch("adapters.cli.app.aws_clients", slow_clients), contextlib.redirect_stdout(out):
        code = main(argv)
    elapsed = time.perf_counter() - started
    assert code == 0, out.getvalue()
    return elapsed


def child_floor(table: str, concurrency: int) -> float:
    import duckdb  # noqa: PLC0415

    folder = compact_folder(PREFIX, table) if table == "events" else table_folder(PREFIX, table)
    started = time.perf_counter()
    s3 = with_latency(aws_clients(REGION, max(16, concurrency)).s3)  # in the time: the command builds its client too
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=folder)
        for item in page.get("Contents", [])
    ]
    with tempfile.TemporaryDirectory() as target:

        def get(indexed: tuple[int, str]) -> str:
            path = f"{target}/{indexed[0]:08d}{'.jsonl.gz' if table == 'events' else '.json'}"
            Path(path).write_bytes(s3.get_object(Bucket=BUCKET, Key=indexed[1])["Body"].read())
            return path

        with ThreadPoolExecutor(concurrency) as pool:
            files = list(pool.map(get, enumerate(keys)))
        downloaded = time.perf_counter()
        with duckdb.connect() as connection:
            connection.execute(
                # records=true: with one column and records='auto', DuckDB 2.0.1 reads each line as a value, 20x slower
                "SELECT date_trunc('hour', deletedAt) AS hour, count(*) FROM read_json(?, format='newline_delimited',"
                " records=true, columns={'deletedAt': 'TIMESTAMP'}) GROUP BY 1 ORDER BY 1",
                [files],
            ).fetchall()
    print(json.dumps({"download": downloaded - started}), file=sys.stderr)
    return time.perf_counter() - started


def child(argv: list[str]) -> int:
    import resource  # noqa: PLC0415

    kind, table, cache, concurrency, config = argv
    if kind == "floor":
        seconds = child_floor(table, int(concurrency))
    else:
        seconds = child_query(table, cache, int(concurrency), config, ITEM_SQL if kind == "item" else SQL)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb}))
    return 0


def measure(kind: str, table: str, cache: str, concurrency: int, config: str) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind, table, cache, str(concurrency), config],
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    for line in result.stderr.splitlines():
        if line.startswith('{"download"'):
            found |= json.loads(line)
    return found


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child(sys.argv[2:])
    options = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_argument("--compact", type=int, default=200_000, help="deletions in the compact table")
    options.add_argument("--objects", type=int, default=20_000, help="deletions in the objects table")
    options.add_argument("--concurrency", type=int, default=16)
    options.add_argument("--rounds", type=int, default=2)
    args = options.parse_args()

    port = free_port()
    server = start_server(port)
    os.environ.update(environment(f"http://127.0.0.1:{port}"))
    rows = []
    try:
        s3 = aws_clients(REGION, 16).s3
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        started = time.perf_counter()
        fill(s3, args.compact, args.objects)
        print(f"filled in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        with tempfile.TemporaryDirectory() as work:
            config = Path(work) / "bench.yaml"
            config.write_text(CONFIG.format(region=REGION, bucket=BUCKET))
            for table, layout, count in (("events", "compact", args.compact), ("orders", "objects", args.objects)):
                best: dict[str, dict[str, float]] = {}
                for round_ in range(args.rounds):
                    cache = str(Path(work) / f"cache-{table}-{round_}")
                    runs = {
                        "floor": measure("floor", table, cache, args.concurrency, str(config)),
                        "cold": measure("query", table, cache, args.concurrency, str(config)),
                        "warm": measure("query", table, cache, args.concurrency, str(config)),
                        "item": measure("item", table, cache, args.concurrency, str(config)),
                    }
                    for name, run in runs.items():
                        if name not in best or run["seconds"] < best[name]["seconds"]:
                            best[name] = run
                floor = best["floor"]["seconds"]
                label = f"{count:,} deletions, {layout}"
                rows += [
                    (label, "floor: boto3 list + parallel GET + DuckDB over the files", best["floor"], 1.0),
                    (label, "archiver query, cold cache", best["cold"], best["cold"]["seconds"] / floor),
                    (label, "archiver query, warm cache (no GET)", best["warm"], best["warm"]["seconds"] / floor),
                    (label, "the same, filtered on item (warm)", best["item"], best["item"]["seconds"] / floor),
                ]
    finally:
        server.terminate()
        server.wait()
    print(f"concurrency {args.concurrency}, +25 ms per S3 GET and LIST, best of {args.rounds} rounds\n")
    print("| table | measure | seconds | / floor | peak MB | of it, download |")
    print("|---|---|---:|---:|---:|---:|")
    for label, name, run, ratio in rows:
        download = f"{run['download']:.2f}" if "download" in run else ""
        print(f"| {label} | {name} | {run['seconds']:.2f} | {ratio:.2f} | {run['peak_mb']:.0f} | {download} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

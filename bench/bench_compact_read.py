"""Benchmark reading the compact layout against `objects`, on a moto server in its own process (not a test).

Issue 14 §5 (b) and (c), through the CLI as an operator runs it, with the latency of bench_restore.py
added in the calling thread by a botocore ``before-send`` hook (+25 ms to every S3 GetObject,
HeadObject and ListObjectsV2, +10 ms to every DynamoDB PutItem and GetItem):

  (b) `archiver restore` of 2,000 keys deleted in a window, from a table in the compact layout
      (batches of --batch deletions, one gzip object each) against the same deletions in an
      `objects` table: list, plan, read each body, conditional PutItem. Objects: a LIST per 1,000
      keys and a GET per key; compact: a LIST and a GET per compact object.
  (c) one key among 200,000 compact deletions with no window (`archiver list --key K --json`):
      every compact object is read (GETs in parallel, inflated as they arrive, lines without the
      key not parsed), against the same lookup on an `objects` table (one prefix LIST), and
      against reading the compact objects one at a time (--concurrency 1).

The 200,000 deletions of (c) are 200 objects of 1,000 lines built from one batch of realistic
~1 KB orders (bench_compact_sizes.py), each object's customer ids replaced by fresh UUIDs, so
every key is distinct and the gzip ratio is a real batch's. Each measure is the fastest of
--rounds; results are times, request counts and ratios. Run from the project root:

    .venv/bin/python bench/bench_compact_read.py [--keys 2000] [--deletions 200000] [--batch 100]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import os
import random
import re
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_compact_sizes import realistic_image  # noqa: E402
from bench_handler import environment, free_port, start_server  # noqa: E402
from bench_restore import LATENCY, REQUESTS, create_table, slow_clients  # noqa: E402

from adapters.aws.clients import aws_clients  # noqa: E402
from adapters.aws.s3_store import S3ArchiveStore  # noqa: E402
from adapters.cli.main import main as archiver  # noqa: E402
from adapters.logs import configure_logging  # noqa: E402
from archiver.layouts import compact_object_key  # noqa: E402
from tests.compact_objects import CompactDeletions, compact_line, gzip_lines  # noqa: E402
from tests.deletions import Deletions  # noqa: E402

REGION = "eu-west-1"
BUCKET = "bench-compact-read"
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
OBJECTS, COMPACT, BIG = "orders", "orders-compact", "orders-big-compact"
CONFIG = f"""
environment: local
region: {REGION}
bucket: {BUCKET}
tables:
"""
TABLE = """  - name: {name}
    key_schema: {{partition_key: {{name: PK, type: S}}, sort_key: {{name: SK, type: S}}}}
"""
_CUSTOMER = re.compile(rb"CUSTOMER#([0-9a-f-]{36})")


def realistic(seed: int, count: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [realistic_image(rng, n) for n in range(count)]


def key_of(image: dict[str, Any]) -> dict[str, Any]:
    return {"PK": image["PK"], "SK": image["SK"]}


def fill_window(store: S3ArchiveStore, count: int, batch: int) -> list[dict[str, Any]]:
    """The same ``count`` deletions (one a second from 10:00) in an objects table and, in batches, a compact one."""
    images = realistic(1, count)
    objects, compact = Deletions(store, OBJECTS), CompactDeletions(store, COMPACT)

    def one(n: int) -> None:
        objects.delete(key_of(images[n]), T0 + timedelta(seconds=n), images[n])

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(count)))
    records = [compact.record(key_of(image), T0 + timedelta(seconds=n), image) for n, image in enumerate(images)]
    for start in range(0, count, batch):
        compact.write(records[start : start + batch], f"batch-{start:06d}")
    return images


def fill_big(store: S3ArchiveStore, deletions: int) -> tuple[dict[str, Any], int]:
    """``deletions`` compact deletions in objects of 1,000 lines, an hour each; the key to look for."""
    compact = CompactDeletions(store, BIG)
    images = realistic(2, 1000)
    items = compact.items([compact.record(key_of(i), T0 + timedelta(seconds=n), i) for n, i in enumerate(images)])
    template = [compact_line(item, compact.policy) for item in items]
    objects = deletions // 1000
    wanted: dict[str, Any] = {}

    def one(index: int) -> None:
        # a line holds its customer id in its key, its encodedKey (# as !23) and its image: all renamed
        lines = [line.replace(_customer(line), str(uuid.uuid4()).encode()) for line in template]
        if index == objects * 2 // 3:
            wanted.update(json.loads(lines[500])["key"])
        hour = T0 - timedelta(hours=index)
        compact.put(compact_object_key("archive", BIG, hour, f"batch-{index:06d}"), gzip_lines(lines))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(objects)))
    return wanted, objects


def _customer(line: bytes) -> bytes:
    found = _CUSTOMER.search(line)
    assert found is not None
    return found[1]


def run_cli(argv: list[str]) -> tuple[float, str]:
    """One CLI command over the slow clients: seconds, and its stdout."""
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    with (
        mock.patch("adapters.cli.app.aws_clients", slow_clients),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        code = archiver(argv)
    elapsed = time.perf_counter() - started
    assert code == 0, (argv, out.getvalue()[-2000:], err.getvalue()[-2000:])
    return elapsed, out.getvalue()


def requests_made() -> str:
    gets, lists = REQUESTS.take("s3.GetObject"), REQUESTS.take("s3.ListObjectsV2")
    REQUESTS.counts.clear()
    return f"{gets:,} GETs, {lists:,} LISTs"


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_argument("--keys", type=int, default=2000)
    options.add_argument("--deletions", type=int, default=200_000)
    options.add_argument("--batch", type=int, default=100, help="deletions per compact object in (b)")
    options.add_argument("--concurrency", type=int, default=16)
    options.add_argument("--rounds", type=int, default=3)
    args = options.parse_args()
    n = str(args.concurrency)

    port = free_port()
    server = start_server(port)
    os.environ.update(environment(f"http://127.0.0.1:{port}"))
    configure_logging("WARNING", json=True, to_stderr=True)
    layout_line = "layout: compact\n    delivery: stream"
    rows: list[tuple[str, str, str]] = []
    try:
        plain = aws_clients(REGION, max_pool_connections=32)
        plain.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        store = S3ArchiveStore(plain.s3, BUCKET)
        images = fill_window(store, args.keys, args.batch)
        wanted, objects = fill_big(store, args.deletions)
        config = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-compact-read-{port}.yaml"
        tables = "".join(
            TABLE.format(name=name) + (f"    {layout_line}\n" if layout_line and name != OBJECTS else "")
            for name in (OBJECTS, COMPACT, BIG)
        )
        config.write_text(CONFIG + tables, encoding="utf-8")
        common = ["--config", str(config)]
        window = ["--deleted-after", "2026-11-25T10:00:00Z", "--deleted-before", "2026-11-25T11:00:00Z"]
        targets = (f"target-{i}" for i in itertools.count())

        # (b) restore of a window
        timings: dict[str, list[tuple[float, str]]] = {OBJECTS: [], COMPACT: []}
        for _ in range(args.rounds):
            for table in (OBJECTS, COMPACT):
                target = next(targets)
                create_table(plain.dynamodb, target)
                REQUESTS.counts.clear()
                elapsed, out = run_cli(["restore", *common, "--table", table, *window, "--to-table", target,
                                        "--concurrency", n])  # fmt: skip
                assert re.search(rf"^restored\s+{args.keys}$", out, re.MULTILINE), out
                timings[table].append((elapsed, requests_made()))
        (objects_s, objects_requests), (compact_s, compact_requests) = (min(timings[t]) for t in (OBJECTS, COMPACT))
        rows += [
            (f"(b) restore {args.keys:,} keys of a window, objects table", f"{objects_s:.2f} s", objects_requests),
            (
                f"(b) the same from compact objects of {args.batch} deletions",
                f"{compact_s:.2f} s",
                compact_requests,
            ),
            ("(b) objects / compact", f"{objects_s / compact_s:.2f}x", "compact is faster where > 1"),
        ]

        # (c) one key, no window
        key = json.dumps(wanted)
        objects_key = json.dumps(key_of(images[args.keys // 2]))
        lookups: dict[str, list[tuple[float, str]]] = {"objects": [], "parallel": [], "sequential": []}
        for _ in range(args.rounds):
            for name, table, concurrency, asked in (
                ("objects", OBJECTS, n, objects_key),
                ("parallel", BIG, n, key),
                ("sequential", BIG, "1", key),
            ):
                REQUESTS.counts.clear()
                elapsed, out = run_cli(["list", *common, "--table", table, "--key", asked, "--json",
                                        "--concurrency", concurrency])  # fmt: skip
                assert len(out.splitlines()) == 1, (name, asked, out)
                lookups[name].append((elapsed, requests_made()))
        (one_s, one_requests), (par_s, par_requests), (seq_s, seq_requests) = (
            min(lookups[k]) for k in ("objects", "parallel", "sequential")
        )
        rows += [
            ("(c) one key, objects table (one prefix LIST)", f"{one_s:.3f} s", one_requests),
            (
                f"(c) one key among {args.deletions:,} compact deletions, no window, {n} GETs at once",
                f"{par_s:.2f} s",
                f"{par_requests}; {args.deletions / par_s:,.0f} lines/s",
            ),
            (f"(c) the same, one GET at a time ({objects} objects)", f"{seq_s:.2f} s", seq_requests),
            ("(c) sequential / parallel", f"{seq_s / par_s:.2f}x", "faster"),
            ("(c) compact, no window / objects", f"{par_s / one_s:.1f}x", "slower: every object is read"),
        ]
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=60)

    width = max(len(row[0]) for row in rows)
    print(f"latency added: {', '.join(f'{op} +{s * 1000:.0f} ms' for op, s in LATENCY.items())}")
    print(f"{'measure':<{width}}  {'value':>10}  note")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>10}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

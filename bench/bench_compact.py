"""Benchmark the compact layout's write path over a moto server on 127.0.0.1 (not a test; prints markdown).

Issue 14 §5 (a): the handler writing compact batches of 1,000 vs raw boto3 ``put_object`` of one
object per record at 8 threads, both with 25 ms added PUT latency (a botocore ``before-send``
hook, as in ``bench_handler.py``): records/s and CPU ms per record, and against the core alone
(parse, build and compress, no I/O: the limit, which the handler should reach within 0.8x).
Compared in one run, in alternating rounds (the best round of each counts), as ratios:

  - handler, compact: ``handle()`` of an event source mapping batch ``{"Records": [1,000]}`` with
    ``ARCHIVER_LAYOUT=compact``, ``max_concurrency`` 8, INFO logs and EMF lines to /dev/null;
  - handler, objects: the same batch with the ``objects`` layout (one PUT per record, 8 at once);
  - raw boto3 ``put_object``: one object per record (the objects layout's bodies, built beforehand,
    not timed), 8 threads;
  - core alone: the Archiver over a store that keeps nothing: parse every record, build its line,
    pack and gzip the batch; no I/O, no logging. The limit the handler's compact path approaches;
  - and, as an extra row, the compact handler with 2 such batches in flight at once, so that one
    batch's PUT wait overlaps the other's CPU.

One invocation's PUT cannot start before its batch's last line is compressed, so one batch at a
time is at best core / (core + one PUT): the wait is the batch's, not per record.

Also, at the same ~1 KB items: objects per million deletions and bytes stored per deletion for
each layout, and what the PUTs cost per million deletions ($0.005 per 1,000 PUTs, us-east-1).

Items are ~1 KB of DynamoDB JSON that compresses as real data does (words, numbers, ids; not one
repeated character). CPU is ``time.process_time()`` of this process (every thread; the moto server
runs in its own) divided by the records.

Run from the project root:  .venv/bin/python bench/bench_compact.py [--latency-ms 25] [--batch 1000]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.aws.clients import aws_clients  # noqa: E402
from adapters.delivery import handle  # noqa: E402
from adapters.lambda_handler import build  # noqa: E402
from adapters.logs import configure_logging  # noqa: E402
from adapters.metrics import EMFMetrics  # noqa: E402
from adapters.settings import Settings  # noqa: E402
from archiver.policy import Layout, Policies, TablePolicy  # noqa: E402
from archiver.service import Archived, Archiver  # noqa: E402
from bench.bench_handler import (  # noqa: E402
    BUCKET,
    QUEUE,
    REGION,
    Timing,
    environment,
    free_port,
    hold_puts,
    raw_objects,
    start_server,
)
from tests.conftest import Events  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from archiver.ports import DeadLetter

ROUNDS = 3
THREADS = 8
#: Batches in flight at once in the extra row: two is enough for one batch's PUT wait to overlap the
#: other's CPU; more, in this one process, would measure contention for its one GIL instead (Lambda
#: runs concurrent invocations in separate instances, each with its own CPU).
IN_FLIGHT = 2
ITEM_BYTES = 1024
PUT_PRICE = 0.005 / 1000  # $ per PUT, S3 Standard, us-east-1 (adapters/cli/prices.json)
_WORDS = ["order", "paid", "shipped", "refund", "cart", "customer", "address", "street", "city", "parcel", "gift"]


def one_kb_image(keys: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """About ITEM_BYTES of DynamoDB JSON: the key, words, line items with ids and numbers."""
    image: dict[str, Any] = {
        **keys,
        "status": {"S": rng.choice(["new", "paid", "shipped", "cancelled"])},
        "total": {"N": f"{rng.randrange(100, 100000) / 100:.2f}"},
        "note": {"S": " ".join(rng.choice(_WORDS) for _ in range(30))},
        "lines": {"L": []},
    }
    while len(json.dumps(image)) < ITEM_BYTES - 60:
        line = {"sku": {"S": f"SKU-{rng.randrange(16**8):08x}"}, "qty": {"N": str(rng.randrange(1, 9))}}
        image["lines"]["L"].append({"M": line})
    return image


@dataclass
class Records:
    """Distinct REMOVEs of ~1 KB items, numbered on: a round never redelivers an earlier one."""

    events: Events = field(default_factory=Events)
    serial: int = 1

    def take(self, count: int) -> list[dict[str, Any]]:
        start, self.serial = self.serial, self.serial + count
        records = []
        for n in range(start, start + count):
            record = self.events.remove(n=n)
            record["dynamodb"]["OldImage"] = one_kb_image(record["dynamodb"]["Keys"], random.Random(n))
            records.append(record)
        return records


class KeepNothing:
    """An ArchiveStore that takes every object and keeps only its size: the core alone, no I/O."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def put(self, obj: Any) -> None:
        self.sizes.append(len(obj.body))

    def list_keys(self, prefix: str, start_after: str = "") -> Iterator[str]:
        return iter(())

    def get(self, key: str) -> bytes:
        raise KeyError(key)


class NoDeadLetters:
    def report(self, letter: DeadLetter) -> None:
        raise AssertionError(f"dead letter in a benchmark: {letter.reason}")


@dataclass(frozen=True)
class Contender:
    """One way of archiving a batch: ``prepare(records)`` does the untimed part and returns the timed action."""

    name: str
    kind: str  # "compact", "objects", "raw" or "core": what the ratios compare; others are extra rows
    prepare: Callable[[list[dict[str, Any]]], Callable[[], object]]
    batches: int = 1  # batches per round, each of --batch records


def contenders(clients: Any, queue_url: str, pool: ThreadPoolExecutor) -> list[Contender]:
    def handler(layout: str, at_once: int = 1) -> Callable[[list[dict[str, Any]]], Callable[[], object]]:
        settings = Settings(bucket=BUCKET, dlq_url=queue_url, max_concurrency=THREADS, layout=layout)
        archiver, metrics = build(settings, clients=clients), EMFMetrics()

        def invoke(records: list[dict[str, Any]]) -> None:
            answer = handle({"Records": records}, archiver, metrics)
            assert answer == {"batchItemFailures": []}, answer

        def prepare(records: list[dict[str, Any]]) -> Callable[[], object]:
            if at_once == 1:
                return lambda: invoke(records)
            size = len(records) // at_once
            batches = [records[i * size : (i + 1) * size] for i in range(at_once)]
            return lambda: list(pool.map(invoke, batches))

        return prepare

    def raw(records: list[dict[str, Any]]) -> Callable[[], object]:
        objects = raw_objects(records)

        def put(obj: Any) -> None:
            clients.s3.put_object(Bucket=BUCKET, Key=obj.key, Body=obj.body, ContentType="application/json")

        return lambda: list(pool.map(put, objects))

    def core(records: list[dict[str, Any]]) -> Callable[[], object]:
        archiver = Archiver(KeepNothing(), NoDeadLetters(), Policies(default=TablePolicy(layout=Layout.COMPACT)))

        def run() -> None:
            assert all(isinstance(o, Archived) for o in archiver.archive(records))

        return run

    return [
        Contender("handler, compact layout, one ESM batch", "compact", handler("compact")),
        Contender("raw boto3 put_object, one object per record", "raw", raw),
        Contender("core alone: parse, build, compress (no I/O)", "core", core),
        Contender("handler, objects layout, one ESM batch", "objects", handler("objects")),
        Contender(
            f"handler, compact layout, {IN_FLIGHT} ESM batches in flight",
            "compact-parallel",
            handler("compact", IN_FLIGHT),
            IN_FLIGHT,
        ),
    ]


def measure(path: Contender, records: list[dict[str, Any]], timing: Timing) -> None:
    action = path.prepare(records)
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    action()
    timing.wall.append((time.perf_counter() - wall) / len(records))
    timing.cpu.append((time.process_time() - cpu) / len(records))


def compare(paths: list[Contender], source: Records, batch: int, rounds: int) -> dict[str, Timing]:
    """Each path once on a small batch to warm up, then ``rounds`` rounds alternating the paths, so
    that whatever else the machine does falls on all of them alike."""
    for path in paths:
        measure(path, source.take(min(batch, 20) * path.batches), Timing())
    timings = {path.kind: Timing() for path in paths}
    for _ in range(rounds):
        for path in paths:
            measure(path, source.take(batch * path.batches), timings[path.kind])
    return timings


def throughput_table(paths: list[Contender], timings: dict[str, Timing], batch: int) -> list[str]:
    raw, core = timings["raw"], timings["core"]
    lines = [
        "| path | records per round | rec/s | CPU ms/record | rec/s vs raw | CPU vs raw | rec/s vs core "
        "| CPU vs core |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for path in paths:
        t = timings[path.kind]
        lines.append(
            f"| {path.name} | {batch * path.batches:,} | {t.rate:,.0f} | {t.cpu_ms:.3f} | {t.rate / raw.rate:.2f} "
            f"| {t.cpu_ms / raw.cpu_ms:.2f} | {t.rate / core.rate:.2f} | {t.cpu_ms / core.cpu_ms:.2f} |"
        )
    return lines


def storage_table(source: Records, batch: int) -> list[str]:
    """Objects and bytes per deletion of each layout, from the objects the core builds for one batch."""
    records = source.take(batch)
    objects_bodies = [len(obj.body) for obj in raw_objects(records)]
    kept = KeepNothing()
    Archiver(kept, NoDeadLetters(), Policies(default=TablePolicy(layout=Layout.COMPACT))).archive(records)
    rows = [("objects", len(objects_bodies), sum(objects_bodies)), ("compact", len(kept.sizes), sum(kept.sizes))]
    lines = [
        f"At ~{ITEM_BYTES:,} B items, batches of {batch:,} (one hour each):",
        "",
        "| layout | objects per million deletions | bytes stored per deletion | PUTs $ per million deletions |",
        "|---|---:|---:|---:|",
    ]
    for layout, count, size in rows:
        per_million = count / len(records) * 1_000_000
        lines.append(f"| {layout} | {per_million:,.0f} | {size / len(records):,.0f} | {per_million * PUT_PRICE:,.3f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=float, default=25.0, help="added to every S3 PutObject (default 25)")
    parser.add_argument("--batch", type=int, default=1000, help="records per batch (default 1,000)")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args(argv)

    port = free_port()
    server = start_server(port)
    os.environ.update(environment(f"http://127.0.0.1:{port}"))
    configure_logging("INFO", json=True)
    try:
        clients = aws_clients(region=REGION, max_pool_connections=16)
        clients.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        queue_url = clients.sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
        hold_puts(clients.s3, args.latency_ms / 1000)
        source = Records()
        with ThreadPoolExecutor(THREADS) as pool:
            paths = contenders(clients, queue_url, pool)
            with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):  # log and EMF lines
                timings = compare(paths, source, args.batch, args.rounds)
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=30)

    handler, core, parallel = timings["compact"], timings["core"], timings["compact-parallel"]
    out = [
        f"Every S3 PutObject held {args.latency_ms:g} ms; best of {args.rounds} alternating rounds; {THREADS} "
        f"threads; {os.cpu_count()} cores; CPU = process_time of this process (moto server apart) per record.",
        "",
        *throughput_table(paths, timings, args.batch),
        "",
        f"handler (compact) / core alone: {handler.rate / core.rate:.2f}x the records/s (target >= 0.80), "
        f"{handler.cpu_ms / core.cpu_ms:.2f}x the CPU per record; with {IN_FLIGHT} batches in flight (an ESM's "
        f"parallelization factor, or two shards), one's PUT wait overlapping the other's CPU: "
        f"{parallel.rate / core.rate:.2f}x",
        "",
        *storage_table(source, args.batch),
    ]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

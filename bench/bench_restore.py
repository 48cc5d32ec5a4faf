"""Benchmark recovery at incident scale on a moto server in its own process (not a test; prints a table).

Moto answers in ~3 ms where S3 and DynamoDB take ~5-25 ms, which would hide what concurrency is
for, so a botocore ``before-send`` hook adds latency in the calling thread: +10 ms to every
DynamoDB PutItem/GetItem and +25 ms to every S3 GetObject/HeadObject/ListObjectsV2.

  1. restore: items/s of 2,000 archived items put back by the Restorer (the core service the CLI
     runs: GET the chosen version, conditional PutItem) on a pool of N threads, against the
     ceiling of raw boto3 at the same concurrency (get_object + plain put_item in a
     ThreadPoolExecutor of N); target restore/raw >= 0.8. Also the whole `archiver restore`
     command (list the table, plan, restore) for the same 2,000 items, end to end.
  2. listing: a 20,000-object table, parallel slices (list_folder) against one sequential
     ListObjectsV2 walk, for two key shapes: USER#<n> (every key shares a long prefix) and random
     UUIDs. The number of LIST requests is counted too. Moto scans and sorts its whole bucket for
     every LIST (S3 does not), on one server process, so it charges extra requests far more than
     S3 would; the same listings are therefore also timed on an in-process S3-like store whose
     every page takes the same +25 ms, served in parallel, whatever its prefix.

Each measure is the fastest of ROUNDS alternating rounds. Run from the project root:

    .venv/bin/python bench/bench_restore.py [--items 2000] [--objects 20000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import io
import itertools
import json
import os
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_handler import environment, free_port, start_server  # noqa: E402

from adapters.aws.clients import AwsClients, aws_clients  # noqa: E402
from adapters.aws.dynamodb_items import DynamoDBItemTable  # noqa: E402
from adapters.aws.s3_store import S3ArchiveStore  # noqa: E402
from adapters.cli.catalog import list_folder  # noqa: E402
from adapters.cli.main import main as archiver  # noqa: E402
from adapters.logs import configure_logging  # noqa: E402
from archiver.archive import table_folder  # noqa: E402
from archiver.keys import encode_key  # noqa: E402
from archiver.listing import read_object_key  # noqa: E402
from archiver.restore_plan import plan_window  # noqa: E402
from archiver.restorer import Restorer  # noqa: E402
from archiver.windows import TimeWindow  # noqa: E402
from tests.deletions import Deletions  # noqa: E402

REGION = "eu-west-1"
BUCKET = "bench-restore"
PREFIX = "archive"
ROUNDS = 3
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
LATENCY = {
    "dynamodb.PutItem": 0.010,
    "dynamodb.GetItem": 0.010,
    "s3.GetObject": 0.025,
    "s3.HeadObject": 0.025,
    "s3.ListObjectsV2": 0.025,
}


class Requests:
    """Counts requests per operation (thread-safe), from the same hook that adds the latency."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def take(self, operation: str) -> int:
        with self._lock:
            return self.counts.pop(operation, 0)


REQUESTS = Requests()


def with_latency(client: Any) -> Any:
    """``client`` with LATENCY added before each matching request is sent (in the calling thread)."""
    for operation, seconds in LATENCY.items():
        service, name = operation.split(".")
        if client.meta.service_model.service_name != service:
            continue

        def wait(*, _seconds: float = seconds, _operation: str = operation, **_: Any) -> None:
            with REQUESTS._lock:
                REQUESTS.counts[_operation] += 1
            time.sleep(_seconds)

        client.meta.events.register(f"before-send.{service}.{name}", wait)
    return client


def slow_clients(region: str | None = None, max_pool_connections: int = 16) -> AwsClients:
    """aws_clients with latency on every client it builds (what the CLI gets during the benchmark)."""
    clients = aws_clients(region, max_pool_connections)
    build = clients._client

    def slow(name: str) -> Any:
        fresh = name not in clients._clients
        client = build(name)
        return with_latency(client) if fresh else client

    clients._client = slow  # type: ignore[method-assign]
    return clients


def create_table(dynamodb: Any, name: str) -> None:
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def image(n: int) -> dict[str, Any]:
    """About 1 KB: every common type, a 38-digit number, a binary."""
    return {
        "status": {"S": "shipped"},
        "total": {"N": f"{n}.{n:037d}"[:39]},
        "lines": {"L": [{"M": {"sku": {"S": f"SKU-{i}"}, "qty": {"N": str(i)}}} for i in range(5)]},
        "tags": {"SS": ["a", "b", "c"]},
        "blob": {"B": "AAECAwQFBgcICQ=="},
        "note": {"S": "x" * 700},
    }


def order_key(n: int) -> dict[str, Any]:
    return {"PK": {"S": f"USER#{n}"}, "SK": {"S": f"ORDER#{n:06d}"}}


def archive_items(store: S3ArchiveStore, table: str, count: int) -> None:
    deletions = Deletions(store, table)

    def one(n: int) -> None:
        deletions.delete(order_key(n), T0 + timedelta(seconds=n), image(n))

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(count)))


def time_restorer(clients: AwsClients, source: str, target: str, concurrency: int) -> float:
    store = S3ArchiveStore(clients.s3, BUCKET)
    folder = table_folder(PREFIX, source)
    names = (read_object_key(k, folder) for k in store.list_keys(folder))  # listing is measured on its own
    plans = plan_window((n for n in names if n is not None), TimeWindow())
    restorer = Restorer(store, DynamoDBItemTable(clients.dynamodb), folder, target, TimeWindow())
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        outcomes = list(restorer.run(plans, pool.map))
    elapsed = time.perf_counter() - started
    assert all(o.outcome.value == "restored" for o in outcomes), Counter(o.outcome for o in outcomes)
    return elapsed


def time_raw(clients: AwsClients, source: str, target: str, concurrency: int) -> float:
    s3, dynamodb = clients.s3, clients.dynamodb
    folder = table_folder(PREFIX, source)
    keys = list(S3ArchiveStore(s3, BUCKET).list_keys(folder))

    def one(object_key: str) -> None:
        body = json.loads(s3.get_object(Bucket=BUCKET, Key=object_key)["Body"].read())
        dynamodb.put_item(TableName=target, Item=body["image"])

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, keys))
    return time.perf_counter() - started


CONFIG = """
environment: local
region: {region}
bucket: {bucket}
tables:
  - name: {table}
    key_schema: {{partition_key: {{name: PK, type: S}}, sort_key: {{name: SK, type: S}}}}
"""


def time_cli(config_path: Path, target: str, concurrency: int) -> float:
    started = time.perf_counter()
    with mock.patch("adapters.cli.app.aws_clients", slow_clients), contextlib.redirect_stdout(io.StringIO()):
        code = archiver(
            [
                "restore",
                "--config",
                str(config_path),
                "--table",
                "orders",
                "--to-table",
                target,
                "--deleted-after",
                "2026-11-25",
                "--concurrency",
                str(concurrency),
            ]
        )
    assert code == 0
    return time.perf_counter() - started


def fill_listing(s3: Any, table: str, count: int, shape: str) -> str:
    folder = table_folder(PREFIX, table)

    def one(n: int) -> None:
        value = f"USER#{n}" if shape == "USER#<n>" else str(uuid.uuid4())
        version = f"20261125T100000Z-{n:040d}-{n:016x}"
        s3.put_object(Bucket=BUCKET, Key=f"{folder}{encode_key({'PK': {'S': value}})}/{version}.json", Body=b"{}")

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(count)))
    return folder


class LatentStore:
    """S3 as the listing sees it, without moto's cost: every page of ListObjectsV2 takes ``latency``,
    whatever its prefix, and pages are served in parallel. Keys are a sorted list (bisect)."""

    def __init__(self, keys: list[str], latency: float = LATENCY["s3.ListObjectsV2"], page: int = 1000) -> None:
        self.keys = sorted(keys)
        self.latency = latency
        self.page = page
        self.requests = 0
        self._lock = threading.Lock()

    def list_keys(self, prefix: str, start_after: str = "") -> Any:
        index = (
            bisect.bisect_right(self.keys, max(prefix, start_after))
            if start_after
            else bisect.bisect_left(self.keys, prefix)
        )
        while True:
            with self._lock:
                self.requests += 1
            time.sleep(self.latency)
            chunk = [k for k in self.keys[index : index + self.page] if k.startswith(prefix)]
            yield from chunk
            index += self.page
            if len(chunk) < self.page or index >= len(self.keys) or not self.keys[index].startswith(prefix):
                return  # S3 says IsTruncated: false here, so no request is made for an empty page

    def take(self) -> int:
        with self._lock:
            count, self.requests = self.requests, 0
        return count


def time_latent(
    keys: list[str], folder: str, concurrency: int
) -> tuple[tuple[float, int, int], tuple[float, int, int]]:
    store = LatentStore(keys)
    started = time.perf_counter()
    walked = sum(1 for _ in store.list_keys(folder))
    walk = (time.perf_counter() - started, walked, store.take())
    started = time.perf_counter()
    listed = list_folder(store, folder, concurrency=concurrency)  # type: ignore[arg-type]
    assert listed is not None
    return walk, (time.perf_counter() - started, len(listed), store.take())


def time_sequential_walk(store: S3ArchiveStore, folder: str) -> tuple[float, int, int]:
    started = time.perf_counter()
    count = sum(1 for _ in store.list_keys(folder))
    return time.perf_counter() - started, count, REQUESTS.take("s3.ListObjectsV2")


def time_parallel(store: S3ArchiveStore, folder: str, concurrency: int) -> tuple[float, int, int]:
    started = time.perf_counter()
    keys = list_folder(store, folder, concurrency=concurrency)
    elapsed = time.perf_counter() - started
    assert keys is not None
    return elapsed, len(keys), REQUESTS.take("s3.ListObjectsV2")


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_argument("--items", type=int, default=2000)
    options.add_argument("--objects", type=int, default=20_000)
    options.add_argument("--concurrency", type=int, default=16)
    args = options.parse_args()
    n = args.concurrency

    port = free_port()
    server = start_server(port)
    os.environ.update(environment(f"http://127.0.0.1:{port}"))
    configure_logging("WARNING", json=True, to_stderr=True)
    rows: list[tuple[str, str, str]] = []
    try:
        plain = aws_clients(REGION, max_pool_connections=max(16, n))
        plain.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        archive_items(S3ArchiveStore(plain.s3, BUCKET), "orders", args.items)
        slow = slow_clients(REGION, max_pool_connections=max(16, n))
        names = (f"target-{i}" for i in itertools.count())
        timings: dict[str, list[float]] = {"restorer": [], "raw": [], "cli": []}
        warm = next(names)
        create_table(plain.dynamodb, warm)
        time_raw(slow, "orders", warm, n)  # connections, pools, moto's first-use paths
        for _ in range(ROUNDS):
            for kind, run in (("restorer", time_restorer), ("raw", time_raw)):
                target = next(names)
                create_table(plain.dynamodb, target)
                timings[kind].append(run(slow, "orders", target, n))
            with_config = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-restore-{port}.yaml"
            with_config.write_text(CONFIG.format(region=REGION, bucket=BUCKET, table="orders"))
            target = next(names)
            create_table(plain.dynamodb, target)
            timings["cli"].append(time_cli(with_config, target, n))
        restorer, raw, cli = (min(timings[k]) for k in ("restorer", "raw", "cli"))
        REQUESTS.counts.clear()
        rows += [
            (f"restore {args.items:,} items, Restorer, concurrency {n}", f"{args.items / restorer:,.0f} items/s", ""),
            (f"raw get_object + put_item, concurrency {n}", f"{args.items / raw:,.0f} items/s", "ceiling"),
            ("  restore / raw", f"{raw / restorer:.2f}", "target >= 0.80"),
            (
                f"`archiver restore` end to end (list, plan, restore), concurrency {n}",
                f"{args.items / cli:,.0f} items/s",
                f"{cli:.2f} s",
            ),
        ]

        store = S3ArchiveStore(slow.s3, BUCKET)
        for shape in ("USER#<n>", "uuid"):
            table = f"list-{shape[:4].lower().strip('#<')}"
            folder = fill_listing(plain.s3, table, args.objects, shape)
            walks, parallels = [], []
            for _ in range(ROUNDS):
                walks.append(time_sequential_walk(store, folder))
                parallels.append(time_parallel(store, folder, n))
            walk, parallel = min(walks), min(parallels)
            assert walk[1] == parallel[1] == args.objects, (walk, parallel)
            keys = list(S3ArchiveStore(plain.s3, BUCKET).list_keys(folder))
            latent_walk, latent_parallel = min(time_latent(keys, folder, n) for _ in range(ROUNDS))
            assert latent_walk[1] == latent_parallel[1] == args.objects
            rows += [
                (
                    f"list {args.objects:,} objects ({shape}), one sequential walk",
                    f"{walk[0]:.2f} s",
                    f"{walk[2]} LISTs",
                ),
                (
                    f"list {args.objects:,} objects ({shape}), parallel slices, {n} threads",
                    f"{parallel[0]:.2f} s",
                    f"{parallel[2]} LISTs",
                ),
                ("  walk / parallel", f"{walk[0] / parallel[0]:.2f}x", "faster"),
                (
                    f"  the same on an S3-like store ({LATENCY['s3.ListObjectsV2'] * 1000:.0f} ms a page): walk",
                    f"{latent_walk[0]:.2f} s",
                    f"{latent_walk[2]} LISTs",
                ),
                ("  parallel slices", f"{latent_parallel[0]:.2f} s", f"{latent_parallel[2]} LISTs"),
                ("  walk / parallel", f"{latent_walk[0] / latent_parallel[0]:.2f}x", "faster"),
            ]
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=30)

    width = max(len(row[0]) for row in rows)
    print(f"latency added: {', '.join(f'{op} +{s * 1000:.0f} ms' for op, s in LATENCY.items())}")
    print(f"{'measure':<{width}}  {'value':>14}  note")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>14}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

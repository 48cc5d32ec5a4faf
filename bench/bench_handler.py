"""Benchmark the Lambda handler over a moto server on 127.0.0.1 (not a test; prints markdown tables).

Measures, in one run:
  1. throughput and CPU per record, with every S3 PutObject held back ``--latency-ms`` (25 by
     default: a botocore ``before-send`` hook, since moto answers in well under a millisecond and
     S3 in tens), of these paths, in alternating rounds (the best round of each counts):
       - the handler's batch path: a pipe batch through ``handle()`` at max_concurrency 8 and 1;
       - the handler's single-event path (bus delivery): one EventBridge event per ``handle()``;
       - raw boto3 ``put_object`` of the same bodies at the same concurrency, the ceiling;
       - the seed proof of concept's handler: per record a key ``PK_<pk>_SK_<sk>.json``,
         ``json.dumps`` of the old image and one ``put_object``, sequentially.
     The handler runs as deployed: INFO logs and EMF metric lines, to /dev/null. CPU is
     ``time.process_time()`` of this process (every thread; the moto server runs in its own)
     divided by the records, targets: batch CPU <= 1.1x raw at 8, rec/s >= 0.8x raw at 8;
  2. peak memory of the handler for a pipe batch of 100 REMOVEs of ~400 KB items, in a fresh
     subprocess (tracemalloc peak during ``handle()`` and ru_maxrss growth; target < 200 MB);
  3. cold-start import time of ``adapters.lambda_handler`` against ``import boto3`` alone, from
     ``python -X importtime`` in fresh subprocesses, fastest of several.

Run from the project root:  .venv/bin/python bench/bench_handler.py [--latency-ms 25] [--only throughput]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import re
import socket
import subprocess
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
from archiver.archive import build_archive_object  # noqa: E402
from archiver.policy import Policies, TablePolicy  # noqa: E402
from archiver.records import DeletedItem, read_record  # noqa: E402
from tests.conftest import Events  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable

REGION = "eu-west-1"
BUCKET = "bench-archive"
QUEUE = "bench-archive-dlq"
BATCH = 1000  # records per round at concurrency 8
SEQUENTIAL = 200  # records per round of the one-at-a-time paths (each waits out the latency)
BIG_BATCH, BIG_ITEM = 100, 400 * 1024
IMPORT_RUNS = 7
ROUNDS = 3  # per path; the best round counts
#: The venv has rich (a dev tool's dependency), which structlog imports when present; the Lambda
#: package does not ship it, so "as packaged" hides it.
AS_PACKAGED = "import sys; sys.modules['rich'] = None"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }


def removes(events: Events, start: int, count: int, padding: int = 0) -> list[dict]:
    return [events.remove(n=start + i, padding=padding) for i in range(count)]


def hold_puts(client: Any, seconds: float) -> None:
    """Every PutObject of ``client`` waits ``seconds`` before it is sent, as if S3 took that long."""

    def hold(**_: Any) -> None:
        time.sleep(seconds)

    if seconds > 0:
        client.meta.events.register("before-send.s3.PutObject", hold)


def seed_handler(event: dict[str, Any], s3: Any, bucket: str) -> None:
    """The proof of concept's handler: one object per REMOVE at ``PK_<pk>_SK_<sk>.json``, overwriting."""
    for record in event["Records"]:
        if record["eventName"] != "REMOVE":
            continue
        keys = record["dynamodb"]["Keys"]
        pk, sk = keys["PK"]["S"], keys["SK"]["S"]
        s3.put_object(Bucket=bucket, Key=f"PK_{pk}_SK_{sk}.json", Body=json.dumps(record["dynamodb"]["OldImage"]))


def raw_objects(records: list[dict]) -> list[Any]:
    """The handler's archive objects for ``records``, built beforehand (not timed), under their own prefix."""
    objects = []
    for record in records:
        item = read_record(record, Policies())
        assert isinstance(item, DeletedItem)
        objects.append(build_archive_object(item, TablePolicy(prefix="raw")))
    return objects


@dataclass
class Bench:
    """What every path runs against: one client (and its held-back puts), one record numbering."""

    clients: Any
    queue_url: str
    events: Events = field(default_factory=Events)
    serial: int = 1
    pools: dict[int, ThreadPoolExecutor] = field(default_factory=dict)

    def records(self, count: int) -> list[dict]:
        start, self.serial = self.serial, self.serial + count
        return removes(self.events, start, count)

    def pool(self, concurrency: int) -> ThreadPoolExecutor:
        """One warm pool per size, as the handler keeps one per process."""
        return self.pools.setdefault(concurrency, ThreadPoolExecutor(concurrency))

    def archiver(self, concurrency: int) -> Any:
        return build(Settings(bucket=BUCKET, dlq_url=self.queue_url, max_concurrency=concurrency), clients=self.clients)


@dataclass(frozen=True)
class Contender:
    """One way of archiving ``records``: ``prepare(bench, records)`` does the untimed part and
    returns the timed action."""

    name: str
    concurrency: int
    records: int
    prepare: Callable[[Bench, list[dict]], Callable[[], object]]
    kind: str  # "handler", "raw" or "seed": what the ratios compare


def handler_batch(concurrency: int) -> Callable[[Bench, list[dict]], Callable[[], object]]:
    def prepare(bench: Bench, records: list[dict]) -> Callable[[], object]:
        archiver, metrics = bench.archiver(concurrency), EMFMetrics()

        def run() -> None:
            answer = handle(list(records), archiver, metrics)
            assert answer == {"batchItemFailures": []}, answer

        return run

    return prepare


def handler_single_events(bench: Bench, records: list[dict]) -> Callable[[], object]:
    archiver, metrics = bench.archiver(8), EMFMetrics()
    deliveries = [bench.events.eventbridge(record) for record in records]

    def run() -> None:
        for event in deliveries:
            assert handle(event, archiver, metrics) is None

    return run


def raw_puts(concurrency: int) -> Callable[[Bench, list[dict]], Callable[[], object]]:
    def prepare(bench: Bench, records: list[dict]) -> Callable[[], object]:
        s3, objects = bench.clients.s3, raw_objects(records)

        def put(obj: Any) -> None:
            s3.put_object(Bucket=BUCKET, Key=obj.key, Body=obj.body, ContentType="application/json")

        if concurrency == 1:
            return lambda: [put(obj) for obj in objects]
        pool = bench.pool(concurrency)
        return lambda: list(pool.map(put, objects))

    return prepare


def seed(bench: Bench, records: list[dict]) -> Callable[[], object]:
    event, s3 = bench.events.esm(records), bench.clients.s3
    return lambda: seed_handler(event, s3, BUCKET)


def paths(batch: int, sequential: int) -> list[Contender]:
    return [
        Contender("handler, pipe batch", 8, batch, handler_batch(8), "handler"),
        Contender("raw boto3 put_object, same bodies", 8, batch, raw_puts(8), "raw"),
        Contender("handler, pipe batch", 1, sequential, handler_batch(1), "handler"),
        Contender("handler, one EventBridge event per call", 1, sequential, handler_single_events, "handler"),
        Contender("raw boto3 put_object, same bodies", 1, sequential, raw_puts(1), "raw"),
        Contender("seed POC handler", 1, sequential, seed, "seed"),
    ]


@dataclass
class Timing:
    wall: list[float] = field(default_factory=list)  # seconds per record, per round
    cpu: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return 1 / min(self.wall)

    @property
    def cpu_ms(self) -> float:
        return min(self.cpu) * 1000


def measure(bench: Bench, path: Contender, timing: Timing) -> None:
    action = path.prepare(bench, bench.records(path.records))
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    action()
    timing.wall.append((time.perf_counter() - wall) / path.records)
    timing.cpu.append((time.process_time() - cpu) / path.records)


def compare_paths(bench: Bench, every: list[Contender], rounds: int) -> dict[Contender, Timing]:
    """Each path once to warm up (connections, pools, caches), then ``rounds`` rounds alternating
    the paths, so that whatever else the machine does falls on all of them alike."""
    for path in every:
        measure(bench, Contender(path.name, path.concurrency, min(path.records, 20), path.prepare, path.kind), Timing())
    timings = {path: Timing() for path in every}
    for _ in range(rounds):
        for path in every:
            measure(bench, path, timings[path])
    return timings


def throughput_table(timings: dict[Contender, Timing]) -> list[str]:
    def find(kind: str, concurrency: int) -> Timing:
        return next(t for p, t in timings.items() if p.kind == kind and p.concurrency == concurrency)

    seed_timing = find("seed", 1)
    lines = [
        "| path | concurrency | records per round | rec/s | CPU ms/record "
        "| rec/s vs raw | CPU vs raw | rec/s vs seed | CPU vs seed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for path, timing in timings.items():
        ratios = ["", "", "", ""]
        if path.kind == "handler":
            raw = find("raw", path.concurrency)
            ratios = [
                f"{timing.rate / raw.rate:.2f}",
                f"{timing.cpu_ms / raw.cpu_ms:.2f}",
                f"{timing.rate / seed_timing.rate:.1f}x",
                f"{timing.cpu_ms / seed_timing.cpu_ms:.2f}",
            ]
        lines.append(
            f"| {path.name} | {path.concurrency} | {path.records:,} | {timing.rate:,.0f} | {timing.cpu_ms:.3f} | "
            + " | ".join(ratios)
            + " |"
        )
    return lines


MEMORY_SCRIPT = """
import gc, json, resource, sys, time, tracemalloc
from adapters.aws.clients import aws_clients
from adapters.delivery import handle
from adapters.lambda_handler import build
from adapters.logs import configure_logging
from adapters.settings import Settings
from tests.conftest import Events
configure_logging("WARNING", json=True)
events = Events()
records = [events.remove(n=500000 + i, padding={item}) for i in range({count})]
archiver = build(Settings(bucket="{bucket}", dlq_url="{queue}"), clients=aws_clients())
handle([events.remove(n=999999)], archiver)  # warm: clients, pool, connections
gc.collect()
with open("/proc/self/status") as status:  # the current RSS; ru_maxrss is the peak so far
    before = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
tracemalloc.start()
started = time.perf_counter()
answer = handle(records, archiver)
elapsed = time.perf_counter() - started
current, peak = tracemalloc.get_traced_memory()
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
assert answer == {{"batchItemFailures": []}}, answer
print(json.dumps({{"peak": peak, "rss_growth_kb": after - before, "rss_kb": after, "seconds": elapsed}}))
"""


def measure_memory(env: dict[str, str], queue_url: str) -> dict:
    script = MEMORY_SCRIPT.format(item=BIG_ITEM, count=BIG_BATCH, bucket=BUCKET, queue=queue_url)
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def import_microseconds(statement: str) -> int:
    """Cumulative import time of what ``statement`` loads beyond interpreter startup, per -X importtime."""

    def top_level(code: str) -> dict[str, int]:
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code],
            cwd=ROOT,
            env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            check=True,
        )
        out: dict[str, int] = {}
        for line in result.stderr.splitlines():
            match = _IMPORT_LINE.match(line)
            if match and match[3] == " ":  # one space: a top-level import, not a nested one
                out[match[4]] = int(match[2])
        return out

    startup = top_level("pass")
    return sum(us for name, us in top_level(statement).items() if name not in startup and name != "rich")


def fastest_import(statement: str) -> float:
    """The fastest of several runs, in ms: the least disturbed by whatever else the machine does."""
    return min(import_microseconds(statement) for _ in range(IMPORT_RUNS)) / 1000


SERVER_SCRIPT = """
import logging, sys, time
from moto.server import ThreadedMotoServer
{patches}
logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the access log
server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
server.start()
print("ready", flush=True)
sys.stdin.read()  # until the benchmark closes our stdin
server.stop()
"""


def start_server(port: int, patches: str = "") -> subprocess.Popen[str]:
    """ThreadedMotoServer in its own process: in ours it would share the GIL with the client threads
    and measure moto's contention with them rather than the handler.

    Args:
        patches: Python lines run in the server's process before it starts (a benchmark that must
            take an artefact of the fake out of its measurement says which, and why).
    """
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER_SCRIPT.format(patches=patches), str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    assert server.stdout.readline().strip() == "ready"
    return server


def markdown(rows: list[tuple[str, str, str]]) -> list[str]:
    return ["| measure | value | note |", "|---|---:|---|", *(f"| {a} | {b} | {c} |" for a, b, c in rows)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=float, default=25.0, help="added to every S3 PutObject (default 25)")
    parser.add_argument("--batch", type=int, default=BATCH, help="records per round at concurrency 8")
    parser.add_argument("--sequential", type=int, default=SEQUENTIAL, help="records per round of the others")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--only", choices=["throughput", "memory", "imports"], action="append", help="repeatable")
    args = parser.parse_args(argv)
    sections = set(args.only or ["throughput", "memory", "imports"])

    port = free_port()
    server = start_server(port)
    env = environment(f"http://127.0.0.1:{port}")
    os.environ.update(env)
    configure_logging("INFO", json=True)
    out: list[str] = []
    try:
        clients = aws_clients(region=REGION, max_pool_connections=16)
        clients.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        queue_url = clients.sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
        if "throughput" in sections:
            hold_puts(clients.s3, args.latency_ms / 1000)
            bench = Bench(clients, queue_url)
            with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):  # log and EMF lines
                timings = compare_paths(bench, paths(args.batch, args.sequential), args.rounds)
            out += [
                f"Every S3 PutObject held {args.latency_ms:g} ms; best of {args.rounds} alternating rounds; "
                f"{os.cpu_count()} cores; CPU = process_time of this process (moto server apart) per record.",
                "",
                *throughput_table(timings),
                "",
            ]
        memory = measure_memory(env, queue_url) if "memory" in sections else None
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=30)

    rows: list[tuple[str, str, str]] = []
    if memory:
        rows += [
            (
                f"peak traced memory, handle() of {BIG_BATCH} x {BIG_ITEM // 1024} KB items",
                f"{memory['peak'] / 2**20:,.1f} MB",
                "target < 200 MB",
            ),
            ("peak RSS above the RSS before handle()", f"{memory['rss_growth_kb'] / 1024:,.1f} MB", ""),
            ("ru_maxrss of the whole process", f"{memory['rss_kb'] / 1024:,.1f} MB", ""),
        ]
    if "imports" in sections:
        boto3_ms = fastest_import("import boto3")
        handler_ms = fastest_import("import adapters.lambda_handler")
        cold_ms = fastest_import("import adapters.lambda_handler, boto3")
        packaged_ms = fastest_import(f"{AS_PACKAGED}; import adapters.lambda_handler, boto3")
        rows += [
            (f"import boto3 (fastest of {IMPORT_RUNS}, -X importtime)", f"{boto3_ms:,.0f} ms", ""),
            ("import adapters.lambda_handler", f"{handler_ms:,.0f} ms", "boto3 loads on first call"),
            ("import adapters.lambda_handler + boto3", f"{cold_ms:,.0f} ms", f"{cold_ms / boto3_ms:.2f}x boto3"),
            ("the same without rich, as in the Lambda zip", f"{packaged_ms:,.0f} ms", f"{packaged_ms / boto3_ms:.2f}x"),
        ]
    if rows:
        out += markdown(rows)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

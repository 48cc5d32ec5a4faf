"""CPU time of the Lambda handler per invocation, per record and per KB of item (not a test).

The inputs of ``archiver cost``'s Lambda duration (adapters/cli/prices.json, ``cpu``): process
CPU time (``time.process_time``: every thread of this process, not the moto server, which runs
in its own) spent in ``handle()``, which parses the delivery, builds each archive object, signs
and sends each S3 PUT and logs the invocation's summary line (INFO, JSON, to /dev/null).

  1. one EventBridge event of one small REMOVE per invocation (bus delivery): CPU per invocation;
  2. a pipe batch of 1,000 small REMOVEs at concurrency 1: CPU per record (the invocation's own
     share spread over 1,000 records);
  3. a pipe batch of 100 REMOVEs of 100 KB items: the extra CPU per KB of item.

Best of a few rounds each (the least disturbed). This machine's core, not a Lambda vCPU: a Lambda
function gets a full vCPU at 1,769 MB and a share in proportion below that, which the cost model
applies. Run from the project root:  .venv/bin/python bench/bench_cpu.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.aws.clients import aws_clients  # noqa: E402
from adapters.delivery import handle  # noqa: E402
from adapters.lambda_handler import build  # noqa: E402
from adapters.logs import configure_logging  # noqa: E402
from adapters.settings import Settings  # noqa: E402
from bench.bench_handler import BUCKET, QUEUE, REGION, environment, free_port, start_server  # noqa: E402
from tests.conftest import Events  # noqa: E402

ROUNDS = 3
SINGLE_EVENTS = 300
BATCH = 1000
BIG_BATCH, BIG_KB = 100, 100


def cpu_ms(action) -> float:
    started = time.process_time()
    action()
    return (time.process_time() - started) * 1000


def main() -> int:
    port = free_port()
    server = start_server(port)
    os.environ.update(environment(f"http://127.0.0.1:{port}"))
    sink = open(os.devnull, "w")  # noqa: SIM115 - the summary lines' cost without a terminal's
    sys.stdout = sink
    configure_logging("INFO", json=True)
    try:
        clients = aws_clients(region=REGION, max_pool_connections=16)
        clients.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        queue_url = clients.sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
        archiver = build(Settings(bucket=BUCKET, dlq_url=queue_url, max_concurrency=1), clients=clients)
        events = Events()
        handle(events.pipe(events.removes(20)), archiver)  # warm: connections, caches
        serial = iter(range(1_000_000, 10_000_000, 10_000))

        def singles() -> None:
            start = next(serial)
            for i in range(SINGLE_EVENTS):
                handle(events.eventbridge(events.remove(n=start + i)), archiver)

        def batch(count: int, padding: int) -> float:
            start = next(serial)
            records = [events.remove(n=start + i, padding=padding) for i in range(count)]
            return cpu_ms(lambda: handle(records, archiver))

        per_invocation = min(cpu_ms(singles) for _ in range(ROUNDS)) / SINGLE_EVENTS
        per_record = min(batch(BATCH, 0) for _ in range(ROUNDS)) / BATCH
        per_big = min(batch(BIG_BATCH, BIG_KB * 1024) for _ in range(ROUNDS)) / BIG_BATCH
    finally:
        sys.stdout = sys.__stdout__
        sink.close()
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=30)

    per_kb = (per_big - per_record) / BIG_KB
    rows = [
        ("one EventBridge event of 1 small REMOVE, per invocation", f"{per_invocation:.2f} ms"),
        ("pipe batch of 1,000 small REMOVEs, concurrency 1, per record", f"{per_record:.2f} ms"),
        (f"pipe batch of {BIG_BATCH} REMOVEs of {BIG_KB} KB items, per record", f"{per_big:.2f} ms"),
        ("  extra per KB of item", f"{per_kb:.4f} ms"),
        ("  per invocation beyond its record", f"{per_invocation - per_record:.2f} ms"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"CPU time (process_time), best of {ROUNDS}, {os.cpu_count()} cores")
    for name, value in rows:
        print(f"{name:<{width}}  {value:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

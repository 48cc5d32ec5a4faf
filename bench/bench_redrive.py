"""Benchmark `archiver redrive` over a moto server in its own process (not a test; prints a table).

Measures records/second of a redrive of 1,000 dead letters (our own letters, one record each) with
8 workers, against the ceiling at the same concurrency: raw boto3, each thread receiving ten
messages, putting one object per record and deleting the ten in one batch (target: redrive >= 0.8
of raw). Each S3 PutObject gets ~25 ms of added latency (a botocore ``before-send`` hook), as a
write to S3 in a region costs: on a loopback moto the CPU would otherwise dominate and the ratio
would measure Python, not the pipeline. Both sides receive with the same wait (0 s here; the CLI
long-polls 1 s, which adds up to a second at the end of each queue). Fastest of 3 alternating rounds.

Run from the project root:  .venv/bin/python bench/bench_redrive.py
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.aws.clients import aws_clients  # noqa: E402
from adapters.aws.s3_store import S3ArchiveStore  # noqa: E402
from adapters.aws.sqs_dead_letters import full_message  # noqa: E402
from adapters.aws.sqs_queue import SQSDeadLetterQueue  # noqa: E402
from adapters.logs import configure_logging  # noqa: E402
from archiver.ports import DeadLetter  # noqa: E402
from archiver.redriver import HeldLetters, Redriver, RedriveSource  # noqa: E402
from archiver.service import Archiver  # noqa: E402
from bench.bench_handler import environment, free_port  # noqa: E402
from bench.bench_handler import start_server as moto_process  # noqa: E402
from tests.conftest import Events  # noqa: E402

if TYPE_CHECKING:
    import subprocess

REGION = "eu-west-1"
BUCKET = "bench-redrive"
LETTERS = 1000
CONCURRENCY = 8
PUT_LATENCY = 0.025
ROUNDS = 3
WAIT_SECONDS = 0


#: The moto server, in its own process, with one artefact of the fake removed: moto checks each
#: received message's retention by computing every attribute of the queue (three scans of all its
#: messages), so a receive costs O(10 x queue length) and 1,000 letters would measure moto's SQS,
#: not the redrive. Real SQS does no such thing; the letters here are minutes old (retention: days).
MOTO_PATCHES = """
from moto.sqs.models import SQSBackend
SQSBackend.is_message_valid_based_on_retention_period = lambda self, queue_name, message: True
"""


def start_server(port: int) -> subprocess.Popen[str]:
    return moto_process(port, MOTO_PATCHES)


def add_put_latency(s3: Any, seconds: float = PUT_LATENCY) -> None:
    """Every PutObject of this client waits ``seconds`` before it is sent (as if S3 were a region away)."""

    def delay(**_: Any) -> None:
        time.sleep(seconds)

    s3.meta.events.register("before-send.s3.PutObject", delay)


def fill(sqs: Any, queue_url: str, events: Events, start: int, count: int = LETTERS) -> None:
    """``count`` of our own letters, one distinct REMOVE each, as the function sends them."""
    entries = []
    for n in range(start, start + count):
        record = events.remove(n=n)
        body, attributes = full_message(DeadLetter(record["eventID"], "store down", "StoreUnavailableError", record))
        entries.append({"Id": str(len(entries)), "MessageBody": body, "MessageAttributes": attributes})
        if len(entries) == 10:
            sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
            entries = []
    if entries:
        sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)


class _Nowhere:
    """Letters kept in S3 and stream ranges: the benchmark's letters are all inline, so neither is read."""

    def read(self, *_: Any) -> Any:
        raise AssertionError("every letter here holds its record")


def time_redrive(clients: Any, queue_url: str, concurrency: int = CONCURRENCY) -> tuple[float, int]:
    """Seconds to redrive the queue with the command's own engine, and the records archived."""
    archiver = Archiver(store=S3ArchiveStore(clients.s3, BUCKET), dead_letters=HeldLetters())
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency, thread_name_prefix="redrive") as pool:
        redriver = Redriver(
            archiver,
            letters=_Nowhere(),
            ranges=_Nowhere(),
            mapper=pool.map,
            concurrency=concurrency,
            wait_seconds=WAIT_SECONDS,
        )
        results = redriver.run(RedriveSource("bench", SQSDeadLetterQueue(clients.sqs, queue_url))).results
    elapsed = time.perf_counter() - started
    assert all(result.deleted for result in results), [r for r in results if not r.deleted][:3]
    return elapsed, sum(result.archived for result in results)


def time_raw(clients: Any, queue_url: str, concurrency: int = CONCURRENCY) -> tuple[float, int]:
    """The ceiling: per thread, receive ten, put one object per record, delete the ten in one batch."""
    s3, sqs = clients.s3, clients.sqs
    done: set[str] = set()
    lock = threading.Lock()

    def worker() -> None:
        while True:
            messages = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=300,
                WaitTimeSeconds=WAIT_SECONDS,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                return
            for message in messages:
                record = json.loads(message["Body"])["record"]
                s3.put_object(
                    Bucket=BUCKET,
                    Key=f"raw/{message['MessageId']}.json",
                    Body=json.dumps(record).encode(),
                    ContentType="application/json",
                )
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
            with lock:  # moto may hand one message to two threads at once, as SQS may: count it once
                done.update(message["MessageId"] for message in messages)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    return time.perf_counter() - started, len(done)


def main() -> int:
    port = free_port()
    server = start_server(port)
    os.environ.update(environment(f"http://127.0.0.1:{port}"))
    configure_logging("WARNING", json=True)
    try:
        clients = aws_clients(region=REGION, max_pool_connections=CONCURRENCY * 2)
        clients.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        add_put_latency(clients.s3)
        queue_url = clients.sqs.create_queue(QueueName="bench-redrive-dlq")["QueueUrl"]
        events = Events()
        fill(clients.sqs, queue_url, events, 900_000, 50)  # warm connections and pools
        time_redrive(clients, queue_url)
        timings: dict[str, list[float]] = {"redrive": [], "raw": []}
        for round_ in range(ROUNDS):  # alternate, so machine noise hits both alike
            for kind, measure in (("redrive", time_redrive), ("raw", time_raw)):
                fill(clients.sqs, queue_url, events, 1 + (round_ * 2 + (kind == "raw")) * LETTERS)
                elapsed, records = measure(clients, queue_url)
                assert records == LETTERS, (kind, records)
                timings[kind].append(elapsed)
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=30)

    redrive, raw = min(timings["redrive"]), min(timings["raw"])
    rows = [
        (f"redrive {LETTERS:,} letters, {CONCURRENCY} workers", f"{LETTERS / redrive:,.0f} rec/s", ""),
        (f"raw receive/put/delete-batch, {CONCURRENCY} threads", f"{LETTERS / raw:,.0f} rec/s", "ceiling"),
        ("  redrive / raw", f"{raw / redrive:.2f}", "target >= 0.80"),
        (f"  (PutObject latency added: {PUT_LATENCY * 1000:.0f} ms; rounds: {ROUNDS}, fastest counts)", "", ""),
    ]
    width = max(len(row[0]) for row in rows)
    print(f"{'measure':<{width}}  {'value':>14}  note")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>14}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

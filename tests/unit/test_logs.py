"""Log lines: JSON where machines read them, each record line traceable, one summary per invocation.

The checks run in a subprocess because logging configuration is process-wide: configuring it here
would leak into every later test of this worker.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.logs import wants_json

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys
from concurrent.futures import ThreadPoolExecutor
import structlog
from botocore.exceptions import ClientError
from adapters.delivery import RecordMapper, handle
from adapters.logs import configure_logging
from adapters.aws.retries import RetryPolicy
from adapters.aws.s3_store import S3ArchiveStore
from archiver.service import Archiver
from tests.conftest import Events
from tests.fakes import FakeDeadLetterSink

class ThrottledOnceClient:
    '''Answers the first put with SlowDown, then accepts everything.'''
    def __init__(self):
        self.calls = 0
    def put_object(self, **request):
        self.calls += 1
        if self.calls == 1:
            raise ClientError({"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "PutObject")

class Clock:
    '''The handler's clock: 12.34 ms pass between the start of the invocation and its summary.'''
    ticks = iter([100.0, 100.01234])
    perf_counter = staticmethod(lambda: next(Clock.ticks))
    time = staticmethod(__import__("time").time)

import adapters.delivery
adapters.delivery.time = Clock
configure_logging(sys.argv[1], json=True)
events = Events()
good = events.remove(n=1)
bad = events.remove(n=2)
bad["dynamodb"]["OldImage"] = "garbage"
store = S3ArchiveStore(ThrottledOnceClient(), "bucket", retry=RetryPolicy(initial_wait=0.001, max_wait=0.001))
with ThreadPoolExecutor(2) as pool:
    archiver = Archiver(store=store, dead_letters=FakeDeadLetterSink(), mapper=RecordMapper(pool))
    structlog.contextvars.bind_contextvars(aws_request_id="req-1")
    handle(events.pipe([good, bad, events.load("pipe_batch")[0]]), archiver)
"""


def run_logged(level: str) -> list[dict]:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, level], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def lines() -> list[dict]:
    return run_logged("DEBUG")


def test_every_line_is_json_with_level_and_time(lines):
    assert lines
    assert all({"event", "level", "timestamp"} <= line.keys() for line in lines)


def test_record_lines_carry_table_record_id_and_encoded_key(lines):
    about_records = [line for line in lines if line["event"].startswith("record ")]

    assert {line["event"] for line in about_records} == {
        "record archived",
        "record skipped",
        "record not archived; dead-lettered",
    }
    for line in about_records:
        assert {"table", "record_id", "encoded_key"} <= line.keys()
    dead = next(line for line in about_records if "dead-lettered" in line["event"])
    assert dead["encoded_key"] == "PK(S)USER!23123!232*SK(S)ORDER!232024-11-25!232"
    assert dead["table"] == "orders"
    assert "OldImage" in dead["reason"]


def test_retries_logged_in_worker_threads_keep_the_request_id(lines):
    (retry,) = [line for line in lines if line["event"] == "aws call retrying"]

    assert retry["aws_request_id"] == "req-1"
    assert retry["record_id"] == "c4ca4238a0b923820dcc509a00000001"
    assert retry["table"] == "orders"
    assert retry["error_code"] == "SlowDown"
    assert retry["encoded_key"] == "PK(S)USER!23123!231*SK(S)ORDER!232024-11-25!231"


def test_one_summary_line_counts_each_outcome_with_elapsed_time(lines):
    (summary,) = [line for line in lines if line["event"] == "invocation summary"]

    assert summary["archived"] == summary["dead_lettered"] == summary["skipped"] == 1
    assert summary["failed"] == 0
    assert summary["records"] == 3
    assert summary["shape"] == "pipe-batch"
    assert summary["elapsed_ms"] == 12.3  # measured by the handler's clock, rounded to 0.1 ms


def test_level_filters_debug_lines():
    events = {line["event"] for line in run_logged("WARNING")}

    assert events == {"aws call retrying", "record not archived; dead-lettered"}


class Terminal:
    def isatty(self) -> bool:
        return True


def test_json_in_lambda_or_when_piped_text_in_a_terminal():
    assert wants_json({"AWS_LAMBDA_FUNCTION_NAME": "archiver"}, Terminal())
    assert wants_json({}, object())
    assert not wants_json({}, Terminal())

"""bench/bench_handler.py still runs: every path it compares, at a few records (the numbers are not checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def test_the_handler_bench_compares_every_path_and_prints_a_markdown_table() -> None:
    small = ["--only", "throughput", "--latency-ms", "1", "--batch", "12", "--sequential", "3", "--rounds", "1"]
    result = subprocess.run(
        [sys.executable, "bench/bench_handler.py", *small],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[0].startswith("| path | concurrency |")
    names = [row.split("|")[1].strip() for row in rows[1:]]
    assert names == [
        "handler, pipe batch",
        "raw boto3 put_object, same bodies",
        "handler, pipe batch",
        "handler, one EventBridge event per call",
        "raw boto3 put_object, same bodies",
        "seed POC handler",
    ]
    handler_at_8 = rows[1].split("|")
    assert all(cell.strip() for cell in handler_at_8[1:-1]), "the handler's row holds every ratio"

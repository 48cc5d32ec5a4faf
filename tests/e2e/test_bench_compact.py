"""bench/bench_compact.py still runs: every path it compares and the storage table, at a few records."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def test_the_compact_bench_compares_every_path_and_both_layouts_storage() -> None:
    small = ["--latency-ms", "1", "--batch", "12", "--rounds", "1"]
    result = subprocess.run(
        [sys.executable, "bench/bench_compact.py", *small],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    rows = [line.split("|")[1:-1] for line in result.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    names = [row[0].strip() for row in rows if len(row) == 8][1:]
    assert names == [
        "handler, compact layout, one ESM batch",
        "raw boto3 put_object, one object per record",
        "core alone: parse, build, compress (no I/O)",
        "handler, objects layout, one ESM batch",
        "handler, compact layout, 2 ESM batches in flight",
    ]
    storage = {row[0].strip(): row[1].strip() for row in rows if len(row) == 4 and row[0].strip() != "layout"}
    assert storage == {"objects": "1,000,000", "compact": f"{1_000_000 // 12:,}"}
    assert "handler (compact) / core alone:" in result.stdout

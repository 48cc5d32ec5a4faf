"""The compact benches still run, at a small scale (the numbers are not checked): bench_compact.py (the
write path and storage), bench_compact_read.py (restore, a key without a window) and bench_compact_sizes.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def test_the_compact_read_bench_measures_restore_and_a_key_without_a_window() -> None:
    small = ["--keys", "20", "--deletions", "3000", "--batch", "7", "--rounds", "1", "--concurrency", "4"]
    result = subprocess.run(
        [sys.executable, "bench/bench_compact_read.py", *small],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )

    rows = [line.split("  ")[0] for line in result.stdout.splitlines()[2:]]
    assert [row.split(" ")[0] for row in rows] == ["(b)"] * 3 + ["(c)"] * 5
    assert "3 GETs, 1 LISTs" in result.stdout  # 20 keys in batches of 7: three compact objects read


def test_the_compact_sizes_bench_reports_the_gzip_ratio_and_cpu() -> None:
    result = subprocess.run(
        [sys.executable, "bench/bench_compact_sizes.py", "--rounds", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )

    assert "ratio 0.1" in result.stdout and "CPU per record" in result.stdout


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

"""bench/bench_query.py still runs: every measure it compares, at a few deletions (the numbers are not checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def test_the_query_bench_compares_each_measure_with_its_floor() -> None:
    result = subprocess.run(
        [sys.executable, "bench/bench_query.py", "--compact", "1500", "--objects", "40", "--rounds", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )

    rows = [line.split("|")[1:-1] for line in result.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    assert [cell.strip() for cell in rows[0]] == [
        "table",
        "measure",
        "seconds",
        "/ floor",
        "peak MB",
        "of it, download",
    ]
    measures = [(row[0].strip(), row[1].strip().split(":")[0].split(",")[0]) for row in rows[1:]]
    assert measures == [
        (table, measure)
        for table in ("1,500 deletions, compact", "40 deletions, objects")
        for measure in ("floor", "archiver query", "archiver query", "the same")
    ]
    assert all(float(row[3]) > 0 for row in rows[1:])

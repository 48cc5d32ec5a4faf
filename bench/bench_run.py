"""How fast the local path is: `archiver demo` wall time, delete->object latency, and run throughput.

Not a test: numbers for the README and for noticing regressions. Run from the repo root:

    .venv/bin/python bench/bench_run.py [--latency-deletions 200] [--throughput-deletions 5000]

1. ``archiver demo`` as a subprocess of the installed console script (one warm-up, then the median of 3).
2. Latency: `archiver run` in a thread against an embedded moto server; for each of N deletions,
   the time from calling delete_item to the archive object being listable (median and worst).
3. Throughput: N deletions over two tables written first, then `archiver run --until-idle 1` timed;
   records per second = deletions / (elapsed - the idle second).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.aws.clients import aws_clients
from adapters.cli.demo import encoded_key_of
from adapters.cli.main import main
from adapters.config import load_config
from adapters.local.embedded import embedded_aws
from archiver.archive import key_folder

# Embedded servers in one process share moto's in-memory state, so each phase gets its own names.
CONFIG = """
environment: local
bucket: bench-{phase}
tables:
  - name: orders-{phase}
    key_schema: {{partition_key: {{name: PK, type: S}}, sort_key: {{name: SK, type: S}}}}
  - name: sessions-{phase}
    key_schema: {{partition_key: {{name: session_id, type: B}}}}
"""


def bench_demo(runs: int = 3) -> dict[str, float]:
    script = shutil.which("archiver") or str(Path(sys.executable).parent / "archiver")
    subprocess.run([script, "demo"], capture_output=True, check=True)  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([script, "demo"], capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return {"demo_median_s": round(statistics.median(times), 2), "demo_worst_s": round(max(times), 2)}


def _order(n: int) -> dict[str, Any]:
    return {"PK": {"S": f"USER#{n}"}, "SK": {"S": "PROFILE / #%"}}


def bench_latency(workdir: Path, deletions: int) -> dict[str, float]:
    config_path = workdir / "latency.yaml"
    config_path.write_text(CONFIG.format(phase="latency"))
    config = load_config(config_path)
    orders = config.tables[0].name
    with embedded_aws():
        assert main(["provision", "--config", str(config_path)]) == 0
        clients = aws_clients(config.region)
        dynamodb, s3 = clients.dynamodb, clients.s3
        for n in range(deletions):
            dynamodb.put_item(TableName=orders, Item={**_order(n), "v": {"S": "x" * 100}})
        state = str(workdir / "latency-state.json")
        run = threading.Thread(
            target=main, args=(["run", "--config", str(config_path), "--state", state, "--until-idle", "3"],)
        )
        run.start()
        time.sleep(1.0)  # let it read past the puts
        latencies = []
        for n in range(deletions):
            folder = key_folder("archive", orders, encoded_key_of(_order(n)))
            started = time.perf_counter()
            dynamodb.delete_item(TableName=orders, Key=_order(n))
            while s3.list_objects_v2(Bucket=config.bucket, Prefix=folder).get("KeyCount", 0) == 0:
                time.sleep(0.005)
            latencies.append(time.perf_counter() - started)
        run.join()
    return {
        "latency_median_ms": round(statistics.median(latencies) * 1000, 1),
        "latency_p95_ms": round(statistics.quantiles(latencies, n=20)[-1] * 1000, 1),
        "latency_worst_ms": round(max(latencies) * 1000, 1),
    }


def bench_throughput(workdir: Path, deletions: int) -> dict[str, float]:
    config_path = workdir / "throughput.yaml"
    config_path.write_text(CONFIG.format(phase="throughput"))
    config = load_config(config_path)
    orders, sessions = (table.name for table in config.tables)
    with embedded_aws():
        assert main(["provision", "--config", str(config_path)]) == 0
        dynamodb = aws_clients(config.region, max_pool_connections=16).dynamodb

        def churn(n: int) -> None:
            if n % 2:
                key: dict[str, Any] = {"session_id": {"B": n.to_bytes(4, "big") + b"\xff"}}
                table = sessions
            else:
                key, table = _order(n), orders
            dynamodb.put_item(TableName=table, Item={**key, "payload": {"S": "x" * 200}})
            dynamodb.delete_item(TableName=table, Key=key)

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(churn, range(deletions)))
        state = str(workdir / "throughput-state.json")
        started = time.perf_counter()
        code = main(["run", "--config", str(config_path), "--state", state, "--until-idle", "1", "--concurrency", "16"])
        elapsed = time.perf_counter() - started - 1.0
        s3 = aws_clients(config.region).s3
        objects = sum(
            page.get("KeyCount", 0) for page in s3.get_paginator("list_objects_v2").paginate(Bucket=config.bucket)
        )
    assert code == 0 and objects == deletions, (code, objects)
    return {
        "throughput_deletions": deletions,
        "throughput_elapsed_s": round(elapsed, 2),
        "throughput_records_per_s": round(deletions / elapsed, 1),
    }


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-deletions", type=int, default=200)
    parser.add_argument("--throughput-deletions", type=int, default=5000)
    parser.add_argument("--skip-demo", action="store_true")
    args = parser.parse_args()
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-run-") as directory:
        workdir = Path(directory)
        if not args.skip_demo:
            results |= bench_demo()
            print(json.dumps(results), file=sys.stderr)
        results |= bench_latency(workdir, args.latency_deletions)
        print(json.dumps(results), file=sys.stderr)
        results |= bench_throughput(workdir, args.throughput_deletions)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main_bench()

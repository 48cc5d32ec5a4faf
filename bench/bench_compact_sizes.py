"""What a compact object weighs and costs to build, on realistic ~1 KB items (not a test; prints a table).

The inputs of ``archiver cost``'s compact designs (adapters/cli/prices.json): the gzip ratio of a
compact object's JSON lines (S3 storage) and the CPU per record of building them (Lambda duration).

Items are orders as a shop keeps them, ~1 KB as DynamoDB counts an item (names + values): UUIDs,
e-mail, a postal address, ISO times, a 38-digit amount, line items with SKUs, tags, a 32-byte
random token (binary) and a sentence of free text, each drawn from a seeded random generator,
so runs are repeatable. Random bytes do not compress and repeated text compresses well; these
sit in between, as real tables do. Each line is what the compact layout stores (the archive body
plus ``version``, tests/compact_objects.py), gzip as ``gzip.compress`` writes it (mtime 0).

  1. bytes: the item as DynamoDB counts it, the line, and the gzip of a batch per line, for
     batches of 116 (1M deletions a month in 300 s windows) and 1,000, at gzip levels 6 and 9;
  2. CPU per record of building a batch's compact object from its stream records (parse the
     record, build the body, the JSON line, gzip the batch), best of a few rounds, on this core;
     the signed PUT of the one object is not included (one per batch, ~1 ms); and the extra CPU
     per KB of item, from a batch of 100 items padded with 100 KB of text.

Run from the project root:  .venv/bin/python bench/bench_compact_sizes.py
"""

from __future__ import annotations

import argparse
import base64
import gzip
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.compact_objects import CompactDeletions, compact_line  # noqa: E402
from tests.fakes import FakeArchiveStore  # noqa: E402

ROUNDS = 5
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
NOTE = (
    "please leave the parcel with the neighbour at number twelve if nobody answers gift wrap "
    "requested fragile handle with care deliver after six in the evening ring twice"
)
WORDS = NOTE.split()
CITIES = ("Lisboa", "Porto", "Berlin", "Lyon", "Leeds", "Utrecht", "Gdansk", "Bologna", "Cork", "Graz")
STREETS = ("Rua Augusta", "Hauptstrasse", "Rue de la Paix", "High Street", "Via Roma", "Main Road")
STATUSES = ("placed", "paid", "packed", "shipped", "delivered", "returned")


def realistic_image(rng: random.Random, n: int) -> dict[str, Any]:
    """One order, ~1 KB as DynamoDB counts it (see :func:`dynamodb_size`)."""
    placed = T0 - timedelta(days=rng.randint(0, 400), seconds=rng.randint(0, 86_400))
    lines = [
        {
            "M": {
                "sku": {"S": f"SKU-{rng.randint(10_000, 99_999)}-{rng.choice('ABCDEFGH')}"},
                "qty": {"N": str(rng.randint(1, 5))},
                "price": {"N": f"{rng.randint(1, 300)}.{rng.randint(0, 99):02d}"},
            }
        }
        for _ in range(rng.randint(3, 7))
    ]
    return {
        "PK": {"S": f"CUSTOMER#{uuid.UUID(int=rng.getrandbits(128))}"},
        "SK": {"S": f"ORDER#{placed:%Y%m%d}#{n:08d}"},
        "status": {"S": rng.choice(STATUSES)},
        "placedAt": {"S": placed.isoformat()},
        "updatedAt": {"S": (placed + timedelta(hours=rng.randint(1, 200))).isoformat()},
        "email": {"S": f"{rng.choice(WORDS)}.{rng.choice(WORDS)}{rng.randint(1, 999)}@example.com"},
        "address": {
            "M": {
                "street": {"S": f"{rng.choice(STREETS)} {rng.randint(1, 250)}"},
                "city": {"S": rng.choice(CITIES)},
                "postcode": {"S": f"{rng.randint(1000, 99999)}"},
                "country": {"S": rng.choice(("PT", "DE", "FR", "GB", "NL", "PL", "IT", "IE", "AT"))},
            }
        },
        "total": {"N": f"{rng.randint(1, 10**6)}.{rng.getrandbits(100):031d}"[:39]},
        "currency": {"S": "EUR"},
        "lines": {"L": lines},
        "tags": {"SS": sorted(rng.sample(["gift", "express", "b2b", "promo", "repeat", "vip", "eco"], 3))},
        "token": {"B": base64.b64encode(rng.randbytes(32)).decode()},
        "paymentId": {"S": str(uuid.UUID(int=rng.getrandbits(128)))},
        "note": {"S": " ".join(rng.choice(WORDS) for _ in range(rng.randint(50, 90)))},
        "version": {"N": str(rng.randint(1, 40))},
        "expiresAt": {"N": str(int((placed + timedelta(days=730)).timestamp()))},
    }


def dynamodb_size(value: Any) -> int:
    """An item's size roughly as DynamoDB counts it: names and values in bytes, numbers ~ digits / 2."""
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("S", "N", "B", "SS", "L", "M"):
        ((kind, inner),) = value.items()
        if kind == "S":
            return len(inner.encode())
        if kind == "N":
            return len(inner) // 2 + 1
        if kind == "B":
            return len(base64.b64decode(inner))
        if kind == "SS":
            return sum(len(s.encode()) for s in inner)
        if kind == "L":
            return 3 + sum(1 + dynamodb_size(v) for v in inner)
        return 3 + sum(len(k) + dynamodb_size(v) for k, v in inner.items())
    return sum(len(name) + dynamodb_size(attribute) for name, attribute in value.items())


def records(count: int, seed: int, padding_kb: int = 0) -> tuple[CompactDeletions, list[dict[str, Any]], float]:
    """A batch of REMOVEs of realistic orders (with ``padding_kb`` more of free text), and their mean
    DynamoDB size in bytes."""
    rng = random.Random(seed)
    deletions = CompactDeletions(FakeArchiveStore(), "orders")
    images = [realistic_image(rng, seed * 100_000 + n) for n in range(count)]
    for image in images:
        if padding_kb:
            words = " ".join(rng.choice(WORDS) for _ in range(padding_kb * 1024 // 6))
            image["comments"] = {"S": words[: padding_kb * 1024]}
    batch = [
        deletions.record({"PK": image["PK"], "SK": image["SK"]}, T0 + timedelta(seconds=n), image)
        for n, image in enumerate(images)
    ]
    return deletions, batch, sum(dynamodb_size(i) for i in images) / count


def build(deletions: CompactDeletions, batch: list[dict[str, Any]], level: int) -> tuple[bytes, bytes]:
    """What the writer does for a batch in one hour: parse, body, line, gzip. The lines and the object."""
    lines = b"".join(compact_line(item, deletions.policy) + b"\n" for item in deletions.items(batch))
    return lines, gzip.compress(lines, compresslevel=level, mtime=0)


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_argument(
        "--rounds", type=int, default=ROUNDS, help=f"CPU rounds, the fastest counts (default {ROUNDS})"
    )
    rounds = options.parse_args().rounds
    rows: list[tuple[str, str]] = []
    for size in (116, 1000):
        deletions, batch, item_bytes = records(size, seed=size)
        for level in (6, 9):
            lines, packed = build(deletions, batch, level)
            rows.append(
                (
                    f"batch of {size:,}, gzip -{level}",
                    f"item {item_bytes:,.0f} B, line {len(lines) / size:,.0f} B, gzip {len(packed) / size:,.0f} B "
                    f"a line: ratio {len(packed) / len(lines):.3f}",
                )
            )
    deletions, batch, small = records(1000, seed=7)
    big_deletions, big_batch, big = records(100, seed=8, padding_kb=100)
    build(deletions, batch, 6)  # warm
    for level in (6, 9):
        per_record = min(_cpu(lambda level=level: build(deletions, batch, level)) for _ in range(rounds)) / len(batch)
        per_big = min(_cpu(lambda level=level: build(big_deletions, big_batch, level)) for _ in range(rounds)) / 100
        per_kb = (per_big - per_record) / ((big - small) / 1024)
        rows.append((f"CPU per record, batch of 1,000, gzip -{level}", f"{per_record:.3f} ms"))
        rows.append((f"CPU per KB of item above that, gzip -{level}", f"{per_kb:.4f} ms"))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0


def _cpu(action: Any) -> float:
    started = time.process_time()
    action()
    return (time.process_time() - started) * 1000


if __name__ == "__main__":
    sys.exit(main())

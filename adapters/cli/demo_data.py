"""The demo's data: its configuration (config/local.yaml, else a built-in copy) and its items.

The items are chosen to break naive paths: keys with '#', '/', spaces, '%', emoji and raw bytes,
one order whose TTL attribute has passed, and a session attribute the configuration drops. The
bulk items (~1 KB each) read like real data (words, numbers, ids), so that the bytes per deletion
of the two layouts compare as they would on a real table. demo.py writes and deletes them.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from adapters.config import EnvironmentConfig, load_config, parse_config

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["BUILT_IN_CONFIG", "BULK", "COMPACT_TABLE", "bulk_item", "demo_config", "demo_items", "with_demo_layouts"]

LOCAL_CONFIG = Path("config/local.yaml")

#: Used when config/local.yaml is not there (the package installed elsewhere) or lacks the demo's tables.
BUILT_IN_CONFIG = """
environment: local
region: us-east-1
bucket: dynamo-archive-local
dead_letter_queue: dynamo-archive-local-dlq
tables:
  - name: orders
    ttl_attribute: expires_at
    key_schema:
      partition_key: {name: PK, type: S}
      sort_key: {name: SK, type: S}
  - name: sessions
    drop_attributes: [token]
    key_schema:
      partition_key: {name: session_id, type: B}
"""

_ORDER_KEYS = [
    ("USER#123", "PROFILE"),
    ("USER#123", "ORDER#2024/01/15 #7"),
    ("café 100% ☕", "emoji 🎉 and spaces"),
    ("a/b/../c", "%2F %25 *(S)x"),
    ("TTL#1", "expired"),
    ("KEEP#1", "never deleted"),
]
_SESSION_KEYS = [b"\x00\xff\xfe binary/key#%", b"\x89PNG\r\n\x1a\n", b"kept session"]
#: The table the demo archives compact (the other keeps one object per deletion), and its delivery.
COMPACT_TABLE = "sessions"
BULK = 50  # ~1 KB deletions per table, for the side-by-side numbers
_WORDS = [
    "order",
    "paid",
    "shipped",
    "refund",
    "cart",
    "customer",
    "address",
    "street",
    "city",
    "parcel",
    "label",
    "invoice",
    "note",
    "gift",
]


def demo_config(report: Callable[[str], None]) -> EnvironmentConfig:
    """config/local.yaml from the working directory when it has the demo's tables (the demo writes to
    those two only), else the built-in copy."""
    if LOCAL_CONFIG.is_file():
        config = load_config(LOCAL_CONFIG)
        schemas = {t.name: t.key_schema for t in config.tables}
        orders, sessions = schemas.get("orders"), schemas.get("sessions")
        if (
            orders is not None
            and orders.sort_key is not None
            and (orders.partition_key.type, orders.sort_key.type) == ("S", "S")
            and sessions is not None
            and sessions.sort_key is None
            and sessions.partition_key.type == "B"
        ):
            report(f"using {LOCAL_CONFIG} (its tables orders and sessions)")
            demo_tables = [t for t in config.tables if t.name in ("orders", "sessions")]
            return config.model_copy(update={"tables": demo_tables})
        report(f"{LOCAL_CONFIG} lacks the demo's tables; using the built-in local configuration")
    else:
        report(f"{LOCAL_CONFIG} not found here; using the built-in local configuration")
    return parse_config(yaml.safe_load(BUILT_IN_CONFIG), "<built-in local configuration>")


def with_demo_layouts(config: EnvironmentConfig) -> EnvironmentConfig:
    """``config`` with ``sessions`` archived compact, delivered in event source mapping batches.

    The demo shows both layouts side by side whatever ``config/local.yaml`` says of ``sessions``.
    """
    tables = [
        t.model_copy(update={"layout": "compact", "delivery": "stream"}) if t.name == COMPACT_TABLE else t
        for t in config.tables
    ]
    return config.model_copy(update={"tables": tables})


def demo_items(config: EnvironmentConfig) -> dict[str, list[dict[str, Any]]]:
    """The demo's items per table, in boto3's form (binary as bytes)."""
    orders, sessions = config.table("orders").key_schema, config.table("sessions").key_schema
    assert orders is not None and orders.sort_key is not None and sessions is not None  # checked in demo_config
    past = str(int(time.time()) - 3600)
    order_items = []
    for pk, sk in _ORDER_KEYS:
        item: dict[str, Any] = {orders.partition_key.name: {"S": pk}, orders.sort_key.name: {"S": sk}}
        item["status"] = {"S": "active"}
        if pk.startswith("TTL#"):
            item["expires_at"] = {"N": past}  # passed: archived as kind "ttl" (expired-ttl-attribute)
        order_items.append(item)
    session_items = [
        {sessions.partition_key.name: {"B": raw}, "user": {"S": "USER#123"}, "token": {"S": "secret, dropped"}}
        for raw in _SESSION_KEYS
    ]
    return {"orders": order_items, "sessions": session_items}


def bulk_item(table: str, names: list[str], n: int) -> dict[str, Any]:
    """A ~1 KB item that compresses as real data does (words, numbers, ids; not one repeated byte)."""
    rng = random.Random(f"{table}-{n}")  # noqa: S311 - sample data, not a secret
    key = f"BULK#{n:04d}"
    item: dict[str, Any] = {names[0]: {"B": key.encode()}} if table == COMPACT_TABLE else {names[0]: {"S": key}}
    if len(names) > 1:
        item[names[1]] = {"S": f"ITEM#{rng.randrange(10**6):06d}"}
    item["note"] = {"S": " ".join(rng.choice(_WORDS) for _ in range(60))}
    item["lines"] = {
        "L": [
            {"M": {"sku": {"S": f"SKU-{rng.randrange(16**8):08x}"}, "qty": {"N": str(rng.randrange(1, 9))}}}
            for _ in range(12)
        ]
    }
    item["total"] = {"N": f"{rng.randrange(100, 100000) / 100:.2f}"}
    return item

"""`archiver run` on a moto server with a compact table delivered as event source mapping batches:
every deletion archived exactly once (one line per deletion, read back and deduplicated by version)."""

from __future__ import annotations

import dataclasses
import gzip
import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from adapters.cli.demo import encoded_key_of
from adapters.cli.main import main
from adapters.config import load_config
from archiver.keys import encode_key
from archiver.layouts import read_compact_key

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalEnvironment

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("process_logging_left_alone")]


@pytest.fixture
def compact_orders(environment: LocalEnvironment) -> LocalEnvironment:
    """The environment with its orders table set to ``layout: compact``, ``delivery: stream`` and
    ``batch: {size: 7, window_seconds: 0}`` in its YAML."""
    path = Path(environment.config_path)
    entry = f"  - name: {environment.orders}\n"
    compact = f"{entry}    layout: compact\n    delivery: stream\n    batch: {{size: 7, window_seconds: 0}}\n"
    path.write_text(path.read_text().replace(entry, compact), encoding="utf-8")
    return dataclasses.replace(environment, config=load_config(path))


def _lines_of(env: LocalEnvironment, key: str) -> list[dict[str, Any]]:
    body = env.clients.s3.get_object(Bucket=env.config.bucket, Key=key)["Body"].read()
    return [json.loads(line) for line in gzip.decompress(body).splitlines()]


def _lines(env: LocalEnvironment) -> tuple[list[str], list[dict[str, Any]]]:
    """Every object of the orders table, and every line of its compact objects."""
    s3, keys, lines = env.clients.s3, [], []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=env.config.bucket, Prefix=f"archive/{env.orders}/"):
        for item in page.get("Contents", []):
            keys.append(item["Key"])
            if read_compact_key(item["Key"], "archive", env.orders):
                body = s3.get_object(Bucket=env.config.bucket, Key=item["Key"])["Body"].read()
                lines += [json.loads(line) for line in gzip.decompress(body).splitlines()]
    return keys, lines


def test_run_with_stream_delivery_archives_every_deletion_exactly_once_in_compact_objects(
    compact_orders: LocalEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    # given 30 deletions of orders, one key deleted twice, with an INSERT and a MODIFY among them
    env = compact_orders
    made: Counter[str] = Counter()
    for n in range(29):
        key = {"PK": {"S": f"USER#{n}"}, "SK": {"S": "ORDER/1 #"}}
        env.put(env.orders, {**key, "status": {"S": "new"}})
        if n == 3:
            env.put(env.orders, {**key, "status": {"S": "modified"}})
        env.delete(env.orders, key)
        made[encoded_key_of(key)] += 1
    again = {"PK": {"S": "USER#0"}, "SK": {"S": "ORDER/1 #"}}
    env.put(env.orders, {**again, "status": {"S": "re-created"}})
    env.delete(env.orders, again)
    made[encoded_key_of(again)] += 1

    # when `archiver run` delivers them in ESM batches of 7 to the handler
    assert env.run() == 0

    # then every object is a compact object, and its lines hold each deletion once
    keys, lines = _lines(env)
    assert keys and all(read_compact_key(key, "archive", env.orders) for key in keys)
    versions = {(line["encodedKey"], line["version"]) for line in lines}
    assert Counter(encoded_key for encoded_key, _ in versions) == made
    assert len(lines) == len(versions) == 30  # a clean run writes no deletion twice
    assert len(keys) >= 5  # batches of 7: one object per batch (and hour)
    out, err = capsys.readouterr()
    summary = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:]}
    assert summary[env.orders] == ["30", "0", "0", "0"]
    assert [line for line in err.splitlines() if line.startswith("WARNING")] == []

    # and the readers read what the writer wrote: `archiver list` shows each of those deletions once
    assert main(["list", "--config", env.config_path, "--table", env.orders, "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {(line["version"], line["objectKey"]) for line in listed} == {
        (line["version"], key) for key in keys for line in _lines_of(env, key)
    }
    assert Counter(encode_key(line["key"]) for line in listed) == made

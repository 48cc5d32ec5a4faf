"""`archiver list`, `show` and `restore` on a compact table, against a moto server: what an `objects`
table gives, with each deletion once although storage holds some twice.

The compact objects are built to the format's spec by tests/compact_objects.py from stream records
with chosen deletion times, in batches as a pipe delivers them, one retried and re-sliced.
"""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from adapters.cli.app import App
from adapters.cli.main import main
from adapters.config import load_config
from archiver.keys import encode_key
from archiver.layouts import compact_object_key
from tests.compact_objects import CompactDeletions
from tests.deletions import Deletions
from tests.e2e.test_cli_restore import EVERY_TYPE, INCIDENT_RESTORED, get, order, summary

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalEnvironment

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("process_logging_left_alone")]

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
START, END = "2026-11-25T10:00:00Z", "2026-11-25T11:00:00Z"
LISTED_FIELDS = {"table", "key", "version", "deletedAt", "objectKey"}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def env(environment: LocalEnvironment) -> LocalEnvironment:
    """The environment with its orders table in the compact layout (delivered in batches: a compact
    table's delivery is direct or stream)."""
    path = Path(environment.config_path)
    entry = f"  - name: {environment.orders}\n"
    path.write_text(
        path.read_text().replace(entry, f"{entry}    layout: compact\n    delivery: stream\n"), encoding="utf-8"
    )
    return dataclasses.replace(environment, config=load_config(path))


def compact(env: LocalEnvironment) -> CompactDeletions:
    return CompactDeletions(App(env.config, env.clients).store(), env.orders)


def incident(env: LocalEnvironment) -> list[str]:
    """The deletions of test_cli_restore's incident, delivered in two batches across hours 09 to 12,
    and a re-sliced retry that stores three of them a second time; the compact objects written."""
    d = compact(env)
    first = [
        d.record(order("every-type"), at(5), EVERY_TYPE),
        d.record(order("twice"), at(5), {"v": {"S": "first"}}),
        d.record(order("recreated"), at(5), {"v": {"S": "archived"}}),
        d.record(order("again-later"), at(5), {"v": {"S": "stale"}}),
        d.record(order("on-the-start"), at(0)),
        d.record(order("before"), at(-1)),
        d.record(order("no-image"), at(6), keys_only=True),
    ]
    second = [
        d.record(order("twice"), at(30), {"v": {"S": "second"}}),
        d.record(order("on-the-end"), at(60)),
        d.record(order("again-later"), at(120), {"v": {"S": "deleted for good"}}),
    ]
    written = d.write(first, "batch-1") + d.write(second, "batch-2")
    written += d.write(first[1:6], "batch-1-retried")  # bisected and retried: a sub-slice again
    env.put(env.orders, {**order("recreated"), "v": {"S": "live"}})
    return written


def listed(env: LocalEnvironment, capsys: pytest.CaptureFixture[str], *flags: str) -> list[dict[str, Any]]:
    assert main(["list", "--config", env.config_path, "--table", env.orders, "--json", *flags]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_list_on_a_compact_table_shows_each_deletion_once_with_the_fields_of_an_objects_table(
    env: LocalEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    written = incident(env)
    # and, for the shape, one deletion in the objects table beside it
    Deletions(App(env.config, env.clients).store(), env.sessions).delete({"session_id": {"B": "AQI="}}, at(1))

    window = listed(env, capsys, "--deleted-after", START, "--deleted-before", END)
    everything = listed(env, capsys)
    by_kind = listed(env, capsys, "--kind", "user", "--deleted-after", START, "--deleted-before", END)
    one_key = listed(env, capsys, "--key", json.dumps(order("twice")))
    assert main(["list", "--config", env.config_path, "--table", env.sessions, "--json"]) == 0
    (objects_line,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    names = [line["key"]["PK"]["S"].removeprefix("ORDER#") for line in window]
    assert names == ["twice", "no-image", "again-later", "recreated", "twice", "every-type", "on-the-start"]
    assert len(everything) == 10 and len({(line["key"]["PK"]["S"], line["version"]) for line in everything}) == 10
    assert {line["objectKey"] for line in everything} <= set(written)
    assert set(window[0]) == set(objects_line) == LISTED_FIELDS  # no kind: not asked for
    assert {k: type(v) for k, v in window[0].items()} == {k: type(v) for k, v in objects_line.items()}
    assert set(by_kind[0]) == LISTED_FIELDS | {"kind"} and len(by_kind) == 7
    assert [(line["kind"], line["deletedAt"]) for line in one_key] == [
        ("user", "2026-11-25T10:30:00Z"),
        ("user", "2026-11-25T10:05:00Z"),
    ]
    # a deletion stored twice is shown from the object whose key sorts first ('-' before '.')
    assert one_key[1]["objectKey"] == compact_object_key("archive", env.orders, at(5), "batch-1-retried")


def test_show_prints_the_body_an_objects_table_would_from_the_newest_line_of_the_key(
    env: LocalEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    written = incident(env)

    assert main(["show", "--config", env.config_path, "--table", env.orders, "--key", json.dumps(order("twice"))]) == 0
    captured = capsys.readouterr()

    body = json.loads(captured.out)
    assert body["image"]["v"] == {"S": "second"} and "version" not in body
    assert set(body) == {"schemaVersion", "table", "key", "encodedKey", "deletedAt", "deletion", "imageMissing",
                         "image", "droppedAttributes", "stream"}  # fmt: skip
    assert f"compact table and no window was given: reading all {len(written)} compact object(s)" in captured.err


def test_a_window_restore_of_a_compact_table_keeps_every_rule_of_an_objects_table(
    env: LocalEnvironment, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    incident(env)
    report = tmp_path / "report.jsonl"
    common = ["restore", "--config", env.config_path, "--table", env.orders, "--deleted-after", START,
              "--deleted-before", END]  # fmt: skip
    # a dry run first: nothing written
    assert main([*common, "--dry-run"]) == 0
    dry = summary(capsys.readouterr().out)
    assert (dry["would restore"], dry["present (live item kept)"], dry["skipped"]) == (3, 1, 2)
    assert get(env, order("twice")) is None

    code = main([*common, "--concurrency", "4", "--rate", "500", "--report", str(report)])

    assert code == 0
    assert summary(capsys.readouterr().out) == INCIDENT_RESTORED  # as for the objects table
    every = get(env, order("every-type"))
    assert every is not None and every["n"] == EVERY_TYPE["n"] and every["b"] == {"B": b"\x00\xff\x00\xff"}
    assert get(env, order("twice"))["v"] == {"S": "second"}  # type: ignore[index]
    assert get(env, order("recreated"))["v"] == {"S": "live"}  # type: ignore[index]
    for absent in ("again-later", "on-the-end", "before", "no-image"):
        assert get(env, order(absent)) is None, absent
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert len(lines) == 6 and all(line["objectKey"].endswith(".jsonl.gz") for line in lines)
    outcomes = {line["encodedKey"]: (line["outcome"], line.get("reason")) for line in lines}
    assert outcomes[encode_key(order("again-later"))] == ("skipped", "deleted again after the window")
    # and a second run restores nothing twice
    assert main(common) == 0
    again = summary(capsys.readouterr().out)
    assert (again["restored"], again["present (live item kept)"]) == (0, 4)


def test_one_key_and_a_list_of_keys_restore_from_a_compact_table(
    env: LocalEnvironment, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    incident(env)
    common = ["restore", "--config", env.config_path, "--table", env.orders]

    assert main([*common, "--key", json.dumps(order("twice")), "--dry-run"]) == 0
    assert '"second"' in capsys.readouterr().out
    assert main([*common, "--key", json.dumps(order("twice"))]) == 0
    assert "restored archive/" in capsys.readouterr().out
    keys = tmp_path / "keys.jsonl"
    keys.write_text("\n".join(json.dumps(order(name)) for name in ("before", "on-the-end", "nothing-of-it")) + "\n")
    assert main([*common, "--keys", str(keys), "--report", str(tmp_path / "r.jsonl")]) == 0
    rows = summary(capsys.readouterr().out)
    assert (rows["restored"], rows["skipped"], rows["nothing archived"]) == (2, 1, 1)
    # and the lines of `list --json` name the keys to restore, as for an objects table
    listing = listed(env, capsys, "--key", json.dumps(order("every-type")))
    keys.write_text("\n".join(json.dumps(line) for line in listing) + "\n")
    assert main([*common, "--keys", str(keys)]) == 0
    assert summary(capsys.readouterr().out)["restored"] == 1

    assert get(env, order("twice"))["v"] == {"S": "second"}  # type: ignore[index]
    assert get(env, order("before")) is not None and get(env, order("on-the-end")) is not None
    assert get(env, order("every-type")) is not None


def test_a_corrupt_compact_object_is_named_listing_goes_on_and_restore_writes_nothing(
    env: LocalEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    incident(env)
    broken = compact(env).put(compact_object_key("archive", env.orders, at(20), "batch-broken"), b"not gzip")
    common = ["--config", env.config_path, "--table", env.orders]

    assert main(["list", *common, "--json"]) == 1
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 10
    assert captured.err.startswith(f"archiver: error: {broken}: bad gzip (")

    assert main(["show", *common, "--key", json.dumps(order("twice"))]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["image"]["v"] == {"S": "second"}
    assert f"archiver: error: {broken}: bad gzip" in captured.err

    assert main(["restore", *common, "--deleted-after", START]) == 1
    captured = capsys.readouterr()
    assert f"archiver: error: {broken}: bad gzip" in captured.err
    assert "nothing was restored: 1 problem(s) reading the compact objects above" in captured.err
    assert get(env, order("twice")) is None


def test_a_query_row_pins_the_older_version_of_a_compact_key_deleted_again_later(
    env: LocalEnvironment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given "twice", deleted at 10:05 ("first") and again at 10:30 ("second"), in compact objects
    incident(env)
    versions = sorted(line["version"] for line in listed(env, capsys, "--key", json.dumps(order("twice"))))
    assert len(versions) == 2

    # when a row of `archiver query --format json` names the older version, and restore reads it
    row = {"table_name": env.orders, "key": order("twice"), "version": versions[0]}
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(row) + "\n"))
    assert main(["restore", "--config", env.config_path, "--table", env.orders, "--keys", "-"]) == 0

    # then exactly that version goes back, though the key was deleted again later (the operator chose it)
    assert summary(capsys.readouterr().out)["restored"] == 1
    assert get(env, order("twice"))["v"] == {"S": "first"}  # type: ignore[index]

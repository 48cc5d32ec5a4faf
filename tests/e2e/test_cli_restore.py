"""`archiver list` by time and `archiver restore` of a window or a list of keys, against a moto server.

The archive objects are written by the real Archiver from stream records with chosen deletion
times (tests/deletions.py); streams would add only waiting. Everything after that is the CLI as an
operator runs it: listing, dry run, restore with a report, a rerun, an interruption.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from adapters.aws.clients import AwsClients
from adapters.cli import restore as restore_command
from adapters.cli.app import App
from adapters.cli.main import main
from archiver.keys import encode_key
from tests.builders import EVERY_TYPE
from tests.deletions import Deletions
from tests.integration.faults import FlakyClient, client_error

if TYPE_CHECKING:
    import threading
    from collections.abc import Iterator
    from pathlib import Path

    from tests.e2e.conftest import LocalEnvironment

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("process_logging_left_alone")]

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
START, END = "2026-11-25T10:00:00Z", "2026-11-25T11:00:00Z"


#: The summary of restoring _incident's window: the same for every layout.
INCIDENT_RESTORED = {
    "restored": 3,
    "present (live item kept)": 1,
    "skipped": 2,
    "archived without an image (the stream carried no old image)": 1,
    "deleted again after the window": 1,
    "failed": 0,
}


def order(name: str) -> dict[str, Any]:
    return {"PK": {"S": f"ORDER#{name}"}, "SK": {"S": "v1"}}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def summary(out: str) -> dict[str, int]:
    """The summary table's rows (label -> count): the lines from its header on (a test's logs may come first)."""
    lines = out.splitlines()
    rows = {}
    for line in lines[next(i for i, line in enumerate(lines) if line.startswith("outcome")) + 1 :]:
        label, count = line.rsplit(None, 1)
        rows[label.strip()] = int(count)
    return rows


def deletions(env: LocalEnvironment) -> Deletions:
    return Deletions(App(env.config, env.clients).store(), env.orders)


def get(env: LocalEnvironment, key: dict[str, Any]) -> dict[str, Any] | None:
    return env.clients.dynamodb.get_item(TableName=env.orders, Key=key, ConsistentRead=True).get("Item")


def _incident(env: LocalEnvironment) -> None:
    """Deletions around the window 10:00 <= t < 11:00, and one dead letter in the table's folder."""
    d = deletions(env)
    d.delete(order("every-type"), at(5), EVERY_TYPE)
    d.delete(order("twice"), at(5), {"v": {"S": "first"}})
    d.delete(order("twice"), at(30), {"v": {"S": "second"}})
    d.delete(order("recreated"), at(5), {"v": {"S": "archived"}})
    env.put(env.orders, {**order("recreated"), "v": {"S": "live"}})
    d.delete(order("again-later"), at(5), {"v": {"S": "stale"}})
    d.delete(order("again-later"), at(120), {"v": {"S": "deleted for good"}})
    d.delete(order("on-the-start"), at(0))
    d.delete(order("on-the-end"), at(60))
    d.delete(order("before"), at(-1))
    d.delete(order("no-image"), at(6), keys_only=True)
    env.clients.s3.put_object(
        Bucket=env.config.bucket, Key=f"archive/{env.orders}/_dead-letters/letter-1.json", Body=b"not an archive"
    )


def test_a_window_restore_puts_back_each_key_once_and_never_over_a_live_item(
    environment: LocalEnvironment, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    env = environment
    _incident(env)
    report = tmp_path / "report.jsonl"
    common = ["restore", "--config", env.config_path, "--table", env.orders, "--deleted-after", START]
    # when the window is restored
    code = main([*common, "--deleted-before", END, "--concurrency", "4", "--rate", "500", "--report", str(report)])
    # then
    out = capsys.readouterr().out
    assert code == 0
    assert summary(out) == INCIDENT_RESTORED
    every = get(env, order("every-type"))
    assert every is not None
    assert every["n"] == EVERY_TYPE["n"] and every["b"] == {"B": b"\x00\xff\x00\xff"}
    assert sorted(every["bs"]["BS"]) == [b"\x01", b"\x02"] and sorted(every["ns"]["NS"]) == sorted(
        EVERY_TYPE["ns"]["NS"]
    )
    assert every["m"] == {"M": {"inner": {"L": [{"B": b"\x03"}, {"N": "-0.000001"}]}}}
    assert (every["l"], every["bool"], every["null"], every["s"]) == tuple(
        EVERY_TYPE[n] for n in ("l", "bool", "null", "s")
    )
    assert get(env, order("twice"))["v"] == {"S": "second"}  # type: ignore[index]
    assert get(env, order("recreated"))["v"] == {"S": "live"}  # type: ignore[index]
    assert get(env, order("on-the-start")) is not None
    for absent in ("again-later", "on-the-end", "before", "no-image"):
        assert get(env, order(absent)) is None, absent
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    outcomes = {line["encodedKey"]: (line["outcome"], line.get("reason")) for line in lines}
    assert outcomes[encode_key(order("again-later"))] == ("skipped", "deleted again after the window")
    assert outcomes[encode_key(order("recreated"))] == ("present", None)
    assert len(lines) == 6 and all("objectKey" in line for line in lines)
    # and a second run restores nothing twice
    assert main([*common, "--deleted-before", END]) == 0
    again = summary(capsys.readouterr().out)
    assert (again["restored"], again["present (live item kept)"]) == (0, 4)


def test_a_dry_run_writes_nothing_and_says_what_it_would_do(
    environment: LocalEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    env = environment
    _incident(env)
    code = main(["restore", "--config", env.config_path, "--table", env.orders, "--deleted-after", START,
                 "--deleted-before", END, "--dry-run"])  # fmt: skip
    rows = summary(capsys.readouterr().out)
    assert code == 0
    assert (rows["would restore"], rows["present (live item kept)"], rows["skipped"]) == (3, 1, 2)
    assert get(env, order("every-type")) is None and get(env, order("twice")) is None


def test_listing_by_time_and_kind_feeds_a_restore_of_those_keys(
    environment: LocalEnvironment, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    env = environment
    d = deletions(env)
    d.delete(order("start"), at(0))
    d.delete(order("inside"), at(59.99))
    d.delete(order("end"), at(60))
    d.delete(order("expired"), at(30), ttl=True)
    common = ["list", "--config", env.config_path, "--table", env.orders, "--deleted-after", START]
    # the window: its start included, its end excluded, newest first, JSON lines
    assert main([*common, "--deleted-before", END, "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["key"]["PK"]["S"] for line in lines] == ["ORDER#inside", "ORDER#expired", "ORDER#start"]
    assert set(lines[0]) == {"table", "key", "version", "deletedAt", "objectKey"}  # no kind: not read
    assert lines[0]["deletedAt"] == "2026-11-25T10:59:59Z" and lines[0]["table"] == env.orders
    # by kind: the metadata is read, and the kind shown
    assert main([*common, "--kind", "ttl", "--json"]) == 0
    (expired,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (expired["key"]["PK"]["S"], expired["kind"]) == ("ORDER#expired", "ttl")
    assert main([*common, "--deleted-before", END, "--kind", "user"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["deleted", "at", "kind"] and len(table) == 3
    # the listing's lines restore exactly those keys
    keys = tmp_path / "keys.jsonl"
    keys.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    assert main(["restore", "--config", env.config_path, "--table", env.orders, "--keys", str(keys)]) == 0
    assert summary(capsys.readouterr().out)["restored"] == 3
    assert get(env, order("end")) is None and get(env, order("inside")) is not None


def test_an_interrupted_restore_stops_after_the_writes_in_flight_and_a_rerun_finishes(
    environment: LocalEnvironment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = environment
    d = deletions(env)
    for n in range(12):
        d.delete(order(f"{n:02d}"), at(n))
    puts = {"n": 0}
    real = AwsClients.dynamodb.fget  # type: ignore[attr-defined]
    stops: list[threading.Event] = []  # the event each restore's Ctrl-C handler sets
    real_stop_on_ctrl_c = restore_command.stop_on_ctrl_c

    @contextlib.contextmanager
    def recorded_stop(what: str) -> Iterator[threading.Event]:
        with real_stop_on_ctrl_c(what) as stop:
            stops.append(stop)
            yield stop

    monkeypatch.setattr(restore_command, "stop_on_ctrl_c", recorded_stop)

    class CtrlCAfterThree:
        """Passes every call through; after the third put, the operator presses Ctrl-C."""

        def __init__(self, client: Any) -> None:
            self._client = client

        def __getattr__(self, name: str) -> Any:
            return getattr(self._client, name)

        def put_item(self, **request: Any) -> Any:
            answer = self._client.put_item(**request)
            puts["n"] += 1
            if puts["n"] == 3:
                os.kill(os.getpid(), signal.SIGINT)
                assert stops[-1].wait(timeout=30)  # the handler ran on the main thread: the restore is stopping
            return answer

    monkeypatch.setattr(AwsClients, "dynamodb", property(lambda self: CtrlCAfterThree(real(self))))
    args = [
        "restore",
        "--config",
        env.config_path,
        "--table",
        env.orders,
        "--deleted-after",
        START,
        "--concurrency",
        "1",
    ]
    # when interrupted
    assert main(args) == 1
    captured = capsys.readouterr()
    first = summary(captured.out)
    assert first["restored"] == 3 and first["not attempted (stopped)"] == 9
    assert "stopping after the writes in flight" in captured.err and "run the same command again" in captured.err
    # then a rerun, throttled now and then, finishes: nothing twice, everything back
    monkeypatch.setattr(AwsClients, "dynamodb", property(lambda self: _throttled(real(self))))
    assert main(args) == 0
    second = summary(capsys.readouterr().out)
    assert (second["restored"], second["present (live item kept)"], second["failed"]) == (9, 3, 0)
    assert all(get(env, order(f"{n:02d}")) is not None for n in range(12))


_THROTTLES: dict[int, FlakyClient] = {}


def _throttled(client: Any) -> FlakyClient:
    """One FlakyClient per real client: three throttled puts, then every call passes."""
    if id(client) not in _THROTTLES:
        fault = client_error("ProvisionedThroughputExceededException", 400, "PutItem")
        _THROTTLES[id(client)] = FlakyClient(client, faults={"put_item": [fault, None, fault, fault]})
    return _THROTTLES[id(client)]


def test_a_missing_target_table_is_one_line_naming_it(
    environment: LocalEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    env = environment
    deletions(env).delete(order("x"), at(1))
    args = ["restore", "--config", env.config_path, "--table", env.orders, "--deleted-after", START]
    assert main([*args, "--to-table", "no-such-table"]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    region = env.clients.dynamodb.meta.region_name
    assert line == (
        f"archiver: error: table 'no-such-table' does not exist in {region}; create it first, or name another "
        "with --to-table"
    )


def test_an_archived_object_that_is_not_json_is_named_not_a_traceback(
    environment: LocalEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    env = environment
    object_key = deletions(env).delete(order("x"), at(1))
    env.clients.s3.put_object(Bucket=env.config.bucket, Key=object_key, Body=b"\x00garbage")  # no metadata either
    common = ["--config", env.config_path, "--table", env.orders]
    assert main(["show", *common, "--key", json.dumps(order("x"))]) == 1
    assert capsys.readouterr().err.strip() == f"archiver: error: {object_key} is not an archive body: not JSON " + (
        "(Expecting value: line 1 column 1 (char 0))"
    )
    assert main(["list", *common, "--kind", "user"]) == 1
    captured = capsys.readouterr()
    assert captured.out.strip() == "(nothing archived)"
    assert captured.err.startswith(f"archiver: error: {object_key} is not an archive body")


def test_restore_flags_that_do_not_go_together_are_usage_errors(
    environment: LocalEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["restore", "--config", environment.config_path, "--table", environment.orders]
    assert main(base) == 2
    assert "say what to restore: --key JSON, --keys FILE, or a window --deleted-after TIME" in capsys.readouterr().err
    assert main([*base, "--key", json.dumps(order("x")), "--deleted-after", START]) == 2
    assert "--deleted-after go with --keys FILE or a window" in capsys.readouterr().err
    assert main([*base, "--deleted-after", "2026-11-25T10:00"]) == 2
    assert "has no time zone; add one, e.g. 2026-11-25T10:00:00Z for UTC" in capsys.readouterr().err


def test_show_prints_a_body_holding_a_lone_surrogate_as_its_escape_not_a_traceback(
    environment: LocalEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    env = environment
    object_key = deletions(env).delete(order("x"), at(1))
    body = json.loads(env.clients.s3.get_object(Bucket=env.config.bucket, Key=object_key)["Body"].read())
    body["image"]["note"] = {"S": "half \ud800 a pair"}
    stored = json.dumps(body).encode()  # ASCII with the \ud800 escape: valid UTF-8, as archive bodies are
    env.clients.s3.put_object(Bucket=env.config.bucket, Key=object_key, Body=stored)

    assert main(["show", "--config", env.config_path, "--table", env.orders, "--key", json.dumps(order("x"))]) == 0

    out = capsys.readouterr().out
    assert "half \\ud800 a pair" in out
    assert json.loads(out)["image"]["note"] == {"S": "half \ud800 a pair"}


def _table_keyed_by_pk_alone(env: LocalEnvironment) -> str:
    name = f"{env.orders}-by-pk"
    env.clients.dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


@pytest.mark.parametrize("how", [["--key", json.dumps(order("x"))], ["--deleted-after", START]])
def test_a_target_table_keyed_otherwise_is_refused_before_anything_is_read_or_written(
    environment: LocalEnvironment, capsys: pytest.CaptureFixture[str], how: list[str]
) -> None:
    # given an archived order (key PK, SK) and a table keyed by PK alone, which DynamoDB would let us write
    env = environment
    deletions(env).delete(order("x"), at(1))
    target = _table_keyed_by_pk_alone(env)
    capsys.readouterr()
    # when restored into it, one key or a window
    code = main(["restore", "--config", env.config_path, "--table", env.orders, *how, "--to-table", target])
    # then one line names both keys, and the table holds nothing
    assert code == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("archiver: error: ")
    assert f"the key is PK (S), SK (S), but table '{target}' is keyed by PK (S)" in line
    assert env.clients.dynamodb.scan(TableName=target)["Items"] == []


@pytest.mark.parametrize("dry_run", [["--dry-run"], []])
def test_an_item_larger_than_dynamodb_takes_is_too_large_in_a_dry_run_and_a_real_one(
    environment: LocalEnvironment, capsys: pytest.CaptureFixture[str], dry_run: list[str]
) -> None:
    # given an archived image of 500 KB (hand-made: DynamoDB itself takes at most 400 KB)
    env = environment
    deletions(env).delete(order("big"), at(1), {"note": {"S": "x" * 500_000}})
    capsys.readouterr()
    common = ["restore", "--config", env.config_path, "--table", env.orders]
    # when restored by its key, and in a window
    one = main([*common, "--key", json.dumps(order("big")), *dry_run])
    one_err = capsys.readouterr().err
    window = main([*common, "--deleted-after", START, *dry_run])
    window_out, window_err = capsys.readouterr()
    # then both say it is too large, and nothing is written
    assert (one, window) == (1, 1)
    assert ("would not restore: " if dry_run else "not restored: ") in one_err
    assert "too large: the item is 500,0" in one_err
    assert summary(window_out)["failed"] == 1
    assert "too large: the item is 500,0" in window_err
    assert get(env, order("big")) is None


def test_bad_input_is_one_line_naming_it_never_an_internal_error(
    environment: LocalEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given keys nested far beyond what the JSON parser follows, and times at the ends of the calendar
    env = environment
    deep = "[" * 100_000 + "]" * 100_000
    keys = tmp_path / "keys.jsonl"
    keys.write_text(deep + "\n", encoding="utf-8")
    base = ["--config", env.config_path, "--table", env.orders]
    cases = [
        (["restore", *base, "--keys", str(keys)], 1, "--keys line 1 is JSON nested too deep to read"),
        (["show", *base, "--key", deep], 1, "--key is JSON nested too deep to read"),
        (["show", *base, "--key", '{"PK": {"X": "1"}, "SK": "x"}'], 1, 'has type tag "X"; a key attribute\'s type'),
        (["list", *base, "--deleted-before", "0001-01-01T00:00:00+01:00"], 2, "is out of range in UTC"),
        (["restore", *base, "--deleted-after", "9999-12-31T23:00:00-01:00"], 2, "is out of range in UTC"),
    ]
    for argv, code, message in cases:
        # when each is run, then it exits with one line saying what is wrong, and no internal error
        assert main(argv) == code, argv[:3]
        err = capsys.readouterr().err
        assert message in err and "internal error" not in err, err[-300:]
    # and a window from the first day of the calendar is read like any other
    assert main(["list", *base, "--deleted-after", "0001-01-01"]) == 0
    assert capsys.readouterr().out.strip() == "(nothing archived)"

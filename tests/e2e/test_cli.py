"""`archiver` against a moto server over HTTP: every deletion archived exactly once, and found again."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from adapters.aws.stream_reader import StartFrom, StreamReader
from adapters.cli.app import App
from adapters.cli.demo import archived_counts, compare, encoded_key_of
from adapters.cli.main import main

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalEnvironment

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("process_logging_left_alone")]

AWKWARD = [("USER#1", "ORDER#2024/01 #7"), ("café 100% ☕", "🎉 spaces"), ("a/b/../c", "%2F *(S)x"), ("K", "kept")]
BINARY = [b"\x00\xff\xfe/#%", b"\x89PNG\r\n\x1a\n", b"AP9hYg=="]  # the last is base64 text as bytes


def _order(pk: str, sk: str, **attributes: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}, **{name: {"S": value} for name, value in attributes.items()}}


def _deletions_made(env: LocalEnvironment) -> Counter[tuple[str, str]]:
    """Writes, modifies and deletes items in both tables; returns the deletions made."""
    made: Counter[tuple[str, str]] = Counter()

    def delete(table: str, key: dict[str, Any]) -> None:
        env.delete(table, key)
        made[(table, encoded_key_of(key))] += 1

    for pk, sk in AWKWARD:
        env.put(env.orders, _order(pk, sk, status="new"))
    env.put(env.orders, _order("USER#1", "ORDER#2024/01 #7", status="modified"))  # MODIFY: not archived
    for pk, sk in AWKWARD[:-1]:
        delete(env.orders, _order(pk, sk))
    for round_ in ("second", "third"):  # the same key deleted three times in all
        env.put(env.orders, _order(*AWKWARD[0], status=round_))
        delete(env.orders, _order(*AWKWARD[0]))
    for raw in BINARY:
        env.put(env.sessions, {"session_id": {"B": raw}, "token": {"S": "dropped"}, "user": {"S": "u"}})
    for raw in BINARY[:2]:
        delete(env.sessions, {"session_id": {"B": raw}})
    env.put(env.sessions, {"session_id": {"B": BINARY[0]}, "user": {"S": "again"}})
    delete(env.sessions, {"session_id": {"B": BINARY[0]}})
    delete(env.sessions, {"session_id": {"B": BINARY[2]}})
    return made


def _store(env: LocalEnvironment) -> Any:
    return App(env.config, env.clients).store()


def test_every_deletion_including_repeats_and_binary_keys_is_archived_exactly_once(
    environment: LocalEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    # given deletions in two tables, one key deleted three times, binary keys
    made = _deletions_made(environment)
    # when the pipe runs until idle
    assert environment.run() == 0
    # then the bucket holds exactly one object per deletion, and nothing else
    found, unexpected = archived_counts(_store(environment), environment.config)
    assert compare(made, found, unexpected) == []
    assert sum(found.values()) == 9
    rows = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows == {environment.orders: ["5", "0", "0", "0"], environment.sessions: ["4", "0", "0", "0"]}


def test_a_restart_resumes_from_the_checkpoint_without_re_archiving(
    environment: LocalEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    env = environment
    for n in range(5):
        env.put(env.orders, _order(f"USER#{n}", "PROFILE"))
    for n in range(3):
        env.delete(env.orders, _order(f"USER#{n}", "PROFILE"))
    assert env.run() == 0
    capsys.readouterr()
    # when two more deletions happen and the pipe runs again on the same state file
    for n in range(3, 5):
        env.delete(env.orders, _order(f"USER#{n}", "PROFILE"))
    assert env.run() == 0
    # then only the new deletions are handled, and each key has exactly one object
    second = capsys.readouterr().out
    assert [line.split()[:2] for line in second.splitlines() if line.startswith(env.orders)] == [[env.orders, "2"]]
    found, unexpected = archived_counts(_store(env), env.config)
    made = Counter({(env.orders, encoded_key_of(_order(f"USER#{n}", "PROFILE"))): 1 for n in range(5)})
    assert compare(made, found, unexpected) == []
    # and the state holds one checkpoint: the orders stream's shard, at its last record (the last deletion)
    stream = env.clients.dynamodb.describe_table(TableName=env.orders)["Table"]["LatestStreamArn"]
    reader = App(env.config, env.clients).stream_reader()
    (shard,) = reader.shards(stream)
    iterator = reader.iterator(stream, shard.shard_id, None, StartFrom.TRIM_HORIZON)
    assert iterator is not None
    last = reader.read(stream, iterator).records[-1]
    assert last["eventName"] == "REMOVE" and last["dynamodb"]["Keys"] == _order("USER#4", "PROFILE")
    state = json.loads(Path(env.state).read_text())
    assert state["streams"] == {
        stream: {"table": env.orders, "shards": {shard.shard_id: last["dynamodb"]["SequenceNumber"]}}
    }


def test_list_show_and_restore_find_a_key_by_its_plain_values(
    environment: LocalEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    env = environment
    _deletions_made(env)
    assert env.run() == 0
    capsys.readouterr()
    common = ["--config", env.config_path, "--table", env.orders]
    plain = json.dumps({"PK": AWKWARD[0][0], "SK": AWKWARD[0][1]})
    # list: the three deletions of one key, newest first
    assert main(["list", *common, "--key", plain, "--json"]) == 0
    versions = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(versions) == 3 and [v["kind"] for v in versions] == ["user"] * 3
    assert versions == sorted(versions, key=lambda v: v["version"], reverse=True)
    # show: the latest body is the third round
    assert main(["show", *common, "--key", plain]) == 0
    assert json.loads(capsys.readouterr().out)["image"]["status"] == {"S": "third"}
    # a binary key, given in DynamoDB JSON
    binary = json.dumps({"session_id": {"B": base64.b64encode(BINARY[2]).decode()}})
    assert main(["show", "--config", env.config_path, "--table", env.sessions, "--key", binary]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["droppedAttributes"] == ["token"] and "token" not in body["image"]
    # the whole table, readable
    assert main(["list", "--config", env.config_path, "--table", env.sessions]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1 + 4
    # restore puts the item back once, and never over an existing one
    assert main(["restore", *common, "--key", plain]) == 0
    item = env.clients.dynamodb.get_item(TableName=env.orders, Key=_order(*AWKWARD[0]))["Item"]
    assert item["status"] == {"S": "third"}
    assert main(["restore", *common, "--key", plain]) == 1
    assert "exists" in capsys.readouterr().err


def test_a_state_file_of_another_stream_is_reported_not_silently_ignored(
    environment: LocalEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a state file whose checkpoint is for another stream of the table (a fresh moto server, or
    # a stream disabled and re-enabled: moto 5.2.5 cannot re-enable one, so the state is edited)
    env = environment
    env.put(env.orders, _order("A", "1"))
    env.delete(env.orders, _order("A", "1"))
    assert env.run() == 0
    state = json.loads(Path(env.state).read_text())
    ((arn, entry),) = state["streams"].items()
    state["streams"] = {arn.rsplit("/", 1)[0] + "/2020-01-01T00:00:00.000": entry}
    Path(env.state).write_text(json.dumps(state))
    capsys.readouterr()
    # when the pipe runs again
    assert env.run() == 0
    # then it says so, naming the table and what to do, and reads the current stream from the start
    err = capsys.readouterr().err
    assert f"WARNING table {env.orders}: its stream is now {arn}" in err
    assert "pass another --state" in err
    found, unexpected = archived_counts(_store(env), env.config)
    assert compare(Counter({(env.orders, encoded_key_of(_order("A", "1"))): 1}), found, unexpected) == []


def test_the_demo_archives_every_deletion_it_makes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "OK: 109 deletions, each archived exactly once" in out
    rows = {
        line.split()[1]: line.split()[:4] for line in out.splitlines() if line.startswith(("  objects ", "  compact "))
    }
    assert rows == {"orders": ["objects", "orders", "56", "56"], "sessions": ["compact", "sessions", "53", "1"]}


def test_the_console_script_explains_itself() -> None:
    script = Path(sys.executable).parent / "archiver"
    command = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "import sys; from adapters.cli.main import main; sys.exit(main())"]
    )
    result = subprocess.run([*command, "run", "--help"], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0
    assert "--until-idle SECONDS" in result.stdout
    # and the Lambda path never imports moto (it is the `local` extra, not a runtime dependency)
    lazy = subprocess.run(
        [sys.executable, "-c", "import sys, adapters.cli.main, adapters.lambda_handler; print('moto' in sys.modules)"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert lazy.stdout.strip() == "False"


def test_from_latest_archives_only_what_is_deleted_after_the_start(
    environment: LocalEnvironment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = environment
    env.put(env.orders, _order("before", "1"))
    env.delete(env.orders, _order("before", "1"))
    env.put(env.orders, _order("after", "1"))
    taken = threading.Event()  # set once the run holds its LATEST iterator on the orders stream
    take = StreamReader.iterator

    def iterator(self: StreamReader, stream_arn: str, *args: Any, **kwargs: Any) -> Any:
        position = take(self, stream_arn, *args, **kwargs)
        if f"table/{env.orders}/" in stream_arn:
            taken.set()
        return position

    monkeypatch.setattr(StreamReader, "iterator", iterator)
    codes: list[int] = []
    run = threading.Thread(target=lambda: codes.append(env.run("--from", "latest", "--until-idle", "3")))
    run.start()
    assert taken.wait(timeout=30)
    env.delete(env.orders, _order("after", "1"))
    run.join(timeout=30)
    assert codes == [0]
    found, unexpected = archived_counts(_store(env), env.config)
    assert compare(Counter({(env.orders, encoded_key_of(_order("after", "1"))): 1}), found, unexpected) == []

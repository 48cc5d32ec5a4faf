"""LocalPipe on a fake stream: nothing skipped, nothing re-archived, failures hold the checkpoint."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from adapters.aws.stream_reader import Batch, Shard, StartFrom, StreamPositionLostError
from adapters.local.checkpoints import Checkpoints
from adapters.local.local_pipe import LocalPipe, PipeSource

if TYPE_CHECKING:
    from pathlib import Path

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"
SOURCE = PipeSource("orders", ARN)


def _record(sequence: int, name: str = "REMOVE") -> dict[str, Any]:
    return {
        "eventID": f"e{sequence}",
        "eventName": name,
        "eventSourceARN": ARN,
        "dynamodb": {"SequenceNumber": str(sequence), "Keys": {"PK": {"S": f"k{sequence}"}}},
    }


class FakeStream:
    """A stream reader over in-memory shards; ``trimmed_before`` makes older checkpoints lost."""

    def __init__(self, shards: dict[Shard, list[dict[str, Any]]], trimmed_before: int = 0) -> None:
        self.data = {shard.shard_id: records for shard, records in shards.items()}
        self.shard_list = list(shards)
        self.trimmed_before = trimmed_before

    def shards(self, stream_arn: str) -> list[Shard]:
        return self.shard_list

    def iterator(self, stream_arn: str, shard_id: str, after: str | None, start: StartFrom) -> str | None:
        records = self.data[shard_id]
        if after is not None:
            if int(after) < self.trimmed_before:
                raise StreamPositionLostError("TrimmedDataAccessException")
            index = next(
                (i for i, r in enumerate(records) if int(r["dynamodb"]["SequenceNumber"]) > int(after)), len(records)
            )
        elif start is StartFrom.LATEST:
            index = len(records)
        else:
            index = next(
                (i for i, r in enumerate(records) if int(r["dynamodb"]["SequenceNumber"]) >= self.trimmed_before),
                len(records),
            )
        return f"{shard_id}@{index}"

    def read(self, stream_arn: str, iterator: str, limit: int = 1000) -> Batch:
        shard_id, index = iterator.split("@")
        records = self.data[shard_id][int(index) : int(index) + 2]  # small pages: several batches
        closed = next(s for s in self.shard_list if s.shard_id == shard_id).closed
        end = int(index) + len(records)
        done = closed and end >= len(self.data[shard_id])
        return Batch(records, None if done else f"{shard_id}@{end}")


class Handler:
    """Records delivered events; the eventIDs in ``failing`` raise that many times each."""

    def __init__(self, failing: dict[str, int] | None = None) -> None:
        self.delivered: list[str] = []
        self.failing = dict(failing or {})
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        event_id = event["detail"]["eventID"]
        with self.lock:
            if self.failing.get(event_id, 0) > 0:
                self.failing[event_id] -= 1
                raise RuntimeError(f"store down for {event_id}")
            self.delivered.append(event_id)


def _pipe(stream: FakeStream, handler: Handler, state: Checkpoints, warnings: list[str], **kwargs: Any) -> LocalPipe:
    return LocalPipe(stream, handler, state, warn=warnings.append, poll_interval=0.01, max_backoff=0.01, **kwargs)  # type: ignore[arg-type]


def test_only_removes_are_delivered_and_the_checkpoint_reaches_the_last_record(tmp_path: Path) -> None:
    stream = FakeStream({Shard("s1"): [_record(1, "INSERT"), _record(2), _record(3, "MODIFY"), _record(4)]})
    handler, warnings = Handler(), []
    state = Checkpoints.load(tmp_path / "state.json")
    assert _pipe(stream, handler, state, warnings).run([SOURCE], until_idle=0.05) == 0
    assert handler.delivered == ["e2", "e4"]
    assert Checkpoints.load(state.path).get(ARN, "s1") == "4"
    assert warnings == []


def test_a_restart_resumes_after_the_checkpoint_without_redelivering(tmp_path: Path) -> None:
    records = [_record(n) for n in range(1, 6)]
    stream = FakeStream({Shard("s1"): records[:3]})
    first, second = Handler(), Handler()
    _pipe(stream, first, Checkpoints.load(tmp_path / "s.json"), []).run([SOURCE], until_idle=0.05)
    stream.data["s1"] = records
    _pipe(stream, second, Checkpoints.load(tmp_path / "s.json"), []).run([SOURCE], until_idle=0.05)
    assert (sorted(first.delivered), sorted(second.delivered)) == (["e1", "e2", "e3"], ["e4", "e5"])


def test_a_failing_record_is_retried_and_holds_the_checkpoint_until_it_succeeds(tmp_path: Path) -> None:
    stream = FakeStream({Shard("s1"): [_record(1), _record(2), _record(3)]})
    handler, warnings = Handler(failing={"e2": 3}), []
    state = Checkpoints.load(tmp_path / "state.json")
    _pipe(stream, handler, state, warnings).run([SOURCE], until_idle=0.05)
    assert sorted(handler.delivered) == ["e1", "e2", "e3"]
    assert state.get(ARN, "s1") == "3"
    assert len(warnings) == 3 and "store down for e2" in warnings[0] and "checkpoint held" in warnings[0]


def test_stopping_while_a_record_fails_keeps_the_checkpoint_before_it(tmp_path: Path) -> None:
    stream = FakeStream({Shard("s1"): [_record(1), _record(2), _record(3)]})
    handler, warnings = Handler(failing={"e2": 10**6}), []
    state = Checkpoints.load(tmp_path / "state.json")
    stop = threading.Event()
    pipe = _pipe(stream, handler, state, warnings)
    timer = threading.Timer(0.2, stop.set)
    timer.start()
    unfinished = pipe.run([SOURCE], stop=stop)
    timer.join()
    assert unfinished == 1
    assert state.get(ARN, "s1") == "1"
    assert "the next run retries them" in warnings[-1]


def test_children_are_read_after_their_closed_parent(tmp_path: Path) -> None:
    stream = FakeStream(
        {
            Shard("child", parent_id="parent"): [_record(10), _record(11)],
            Shard("parent", closed=True): [_record(1), _record(2), _record(3)],
        }
    )
    handler = Handler()
    _pipe(stream, handler, Checkpoints.load(tmp_path / "s.json"), [], concurrency=1).run([SOURCE], until_idle=0.05)
    assert handler.delivered == ["e1", "e2", "e3", "e10", "e11"]


def test_a_checkpoint_older_than_the_stream_keeps_is_reported_and_reading_goes_on(tmp_path: Path) -> None:
    state = Checkpoints.load(tmp_path / "state.json")
    state.advance(ARN, "orders", "s1", "2")
    stream = FakeStream({Shard("s1"): [_record(n) for n in range(5, 8)]}, trimmed_before=5)
    handler, warnings = Handler(), []
    _pipe(stream, handler, state, warnings).run([SOURCE], until_idle=0.05)
    assert sorted(handler.delivered) == ["e5", "e6", "e7"]  # a page's records are delivered at once, in any order
    assert len(warnings) == 1 and "table orders" in warnings[0] and "older than the stream keeps" in warnings[0]


def test_a_stream_other_than_the_checkpointed_one_is_reported_and_read_from_trim_horizon(tmp_path: Path) -> None:
    state = Checkpoints.load(tmp_path / "state.json")
    state.advance("arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/OLD", "orders", "s1", "99")
    stream = FakeStream({Shard("s1"): [_record(1)]})
    handler, warnings = Handler(), []
    _pipe(stream, handler, state, warnings, start=StartFrom.LATEST).run([SOURCE], until_idle=0.05)
    assert handler.delivered == ["e1"]
    assert len(warnings) == 1 and "table orders" in warnings[0] and "stream/OLD" in warnings[0]


class FlakyStream(FakeStream):
    """Fails the first ``failures`` reads the way a throttled or restarting endpoint does."""

    def __init__(self, shards: dict[Shard, list[dict[str, Any]]], failures: int) -> None:
        super().__init__(shards)
        self.failures = failures

    def read(self, stream_arn: str, iterator: str, limit: int = 1000) -> Batch:
        if self.failures:
            self.failures -= 1
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "GetRecords")
        return super().read(stream_arn, iterator, limit)


def test_an_error_reading_the_stream_is_reported_and_reading_resumes_from_the_checkpoint(tmp_path: Path) -> None:
    stream = FlakyStream({Shard("s1"): [_record(1), _record(2)]}, failures=1)
    handler, warnings = Handler(), []
    pipe = _pipe(stream, handler, Checkpoints.load(tmp_path / "s.json"), warnings)
    pipe.run([SOURCE], until_idle=0.2)
    assert handler.delivered == ["e1", "e2"]
    assert len(warnings) == 1 and "ThrottlingException" in warnings[0] and "from the checkpoint" in warnings[0]

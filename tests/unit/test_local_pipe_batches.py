"""LocalPipe's batch deliveries on a fake stream and a fake clock: direct (a JSON list) and stream
({"Records": [...]}), by size, window and drain, retried from the first failed record, checkpointed."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import pytest

from adapters.aws.stream_reader import Batch, Shard
from adapters.local.checkpoints import Checkpoints
from adapters.local.deliveries import BatchBuffer, Batching, Delivery, first_failure
from adapters.local.local_pipe import LocalPipe, PipeSource
from tests.unit.test_cli_local_pipe import ARN, FakeStream, _record

if TYPE_CHECKING:
    from pathlib import Path


class Clock:
    """Monotonic seconds that move only when the stream is read: one second per read."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class TickingStream(FakeStream):
    """FakeStream (two records per read) whose every read takes one second of ``clock``."""

    def __init__(self, records: list[dict[str, Any]], clock: Clock) -> None:
        super().__init__({Shard("s1"): records})
        self.clock = clock

    def read(self, stream_arn: str, iterator: str, limit: int = 1000) -> Batch:
        self.clock.now += 1
        return super().read(stream_arn, iterator, limit)


class BatchHandler:
    """Records each event it is given; ``answers`` (popped in turn) say what it answers or raises."""

    def __init__(self, *answers: object, stop: threading.Event | None = None) -> None:
        self.events: list[Any] = []
        self.answers = list(answers)
        self.stop = stop

    def __call__(self, event: Any) -> object:
        self.events.append(event)
        answer = self.answers.pop(0) if self.answers else {"batchItemFailures": []}
        if self.stop is not None and not self.answers:
            self.stop.set()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def ids(self, event: Any) -> list[str]:
        records = event["Records"] if isinstance(event, dict) else event
        return [record["eventID"] for record in records]


def _run(
    records: list[dict[str, Any]], handler: BatchHandler, state: Checkpoints, batching: Batching, **kw: Any
) -> int:
    clock = Clock()
    pipe = LocalPipe(
        TickingStream(records, clock),
        handler,
        state,
        warn=kw.pop("warnings", []).append,
        poll_interval=0.001,
        max_backoff=0.001,
        clock=clock,
    )
    return pipe.run([PipeSource("orders", ARN, batching)], **kw)


def test_a_stream_delivery_sends_records_envelopes_of_removes_only_and_checkpoints_the_last_record(
    tmp_path: Path,
) -> None:
    records = [_record(1), _record(2, "INSERT"), _record(3), _record(4), _record(5, "MODIFY")]
    handler, state = BatchHandler(), Checkpoints.load(tmp_path / "s.json")

    _run(records, handler, state, Batching(Delivery.STREAM, size=2, window_seconds=100), until_idle=3)

    assert all(set(event) == {"Records"} for event in handler.events)
    assert [handler.ids(event) for event in handler.events] == [["e1", "e3"], ["e4"]]
    assert state.get(ARN, "s1") == "5"


def test_a_direct_delivery_sends_json_lists(tmp_path: Path) -> None:
    handler = BatchHandler()

    _run(
        [_record(n) for n in range(1, 6)],
        handler,
        Checkpoints.load(tmp_path / "s.json"),
        Batching(Delivery.DIRECT, size=3, window_seconds=100),
        until_idle=3,
    )

    assert all(isinstance(event, list) for event in handler.events)
    assert [handler.ids(event) for event in handler.events] == [["e1", "e2", "e3"], ["e4", "e5"]]


def test_without_a_window_each_read_is_delivered_at_once(tmp_path: Path) -> None:
    handler = BatchHandler()

    _run(
        [_record(n) for n in range(1, 6)],
        handler,
        Checkpoints.load(tmp_path / "s.json"),
        Batching(Delivery.STREAM, size=100),
        until_idle=3,
    )

    assert [handler.ids(event) for event in handler.events] == [["e1", "e2"], ["e3", "e4"], ["e5"]]


def test_a_batch_waits_for_its_window_while_records_arrive_then_goes_and_the_rest_goes_when_drained(
    tmp_path: Path,
) -> None:
    # given 10 deletions read two per second, batches of up to 100 with a 3 s window
    handler = BatchHandler()

    _run(
        [_record(n) for n in range(1, 11)],
        handler,
        Checkpoints.load(tmp_path / "s.json"),
        Batching(Delivery.STREAM, size=100, window_seconds=3),
        until_idle=3,
    )

    # then the first batch went when its first record had waited 3 s, the rest when the shard ran dry
    assert [len(event["Records"]) for event in handler.events] == [8, 2]


def test_a_partial_failure_is_retried_from_the_first_failed_record_and_holds_the_checkpoint(tmp_path: Path) -> None:
    # given a handler that reports the 2nd and 4th record of the first batch failed, once
    sequence = lambda n: _record(n)["dynamodb"]["SequenceNumber"]  # noqa: E731
    handler = BatchHandler({"batchItemFailures": [{"itemIdentifier": sequence(4)}, {"itemIdentifier": sequence(2)}]})
    state, warnings = Checkpoints.load(tmp_path / "s.json"), []

    _run(
        [_record(n) for n in range(1, 6)],
        handler,
        state,
        Batching(Delivery.STREAM, size=5, window_seconds=100),
        until_idle=3,
        warnings=warnings,
    )

    # then the retry carries the 2nd record and everything after it, as a mapping retries a stream batch
    assert [handler.ids(event) for event in handler.events] == [
        ["e1", "e2", "e3", "e4", "e5"],
        ["e2", "e3", "e4", "e5"],
    ]
    assert state.get(ARN, "s1") == "5"
    assert len(warnings) == 1 and "first failed record and those after it (4)" in warnings[0]


def test_a_handler_that_raises_gets_the_whole_batch_again(tmp_path: Path) -> None:
    handler = BatchHandler(RuntimeError("function timed out"))

    _run(
        [_record(1), _record(2)],
        handler,
        Checkpoints.load(tmp_path / "s.json"),
        Batching(Delivery.DIRECT, size=5, window_seconds=100),
        until_idle=3,
    )

    assert [handler.ids(event) for event in handler.events] == [["e1", "e2"], ["e1", "e2"]]


def test_stopping_while_a_batch_fails_keeps_the_checkpoint_before_its_failed_records(tmp_path: Path) -> None:
    # given a handler that fails the 3rd record and then the run is stopped
    stop = threading.Event()
    handler = BatchHandler({"batchItemFailures": [{"itemIdentifier": "e3"}]}, stop=stop)
    state, warnings = Checkpoints.load(tmp_path / "s.json"), []

    unfinished = _run(
        [_record(n) for n in range(1, 5)],
        handler,
        state,
        Batching(Delivery.DIRECT, size=4, window_seconds=100),
        stop=stop,
        warnings=warnings,
    )

    assert unfinished == 2
    assert state.get(ARN, "s1") == "2"
    assert "the next run retries them" in warnings[-1]


@pytest.mark.parametrize(
    ("answer", "starts_at"),
    [
        (None, None),
        ({"batchItemFailures": []}, None),
        ({"batchItemFailures": [{"itemIdentifier": "e2"}]}, 1),
        ({"batchItemFailures": [{"itemIdentifier": "not-in-the-batch"}]}, 0),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, 0),
        ({"statusCode": 200}, 0),
    ],
)
def test_an_answer_naming_what_is_not_in_the_batch_fails_the_whole_batch(answer: object, starts_at: int | None) -> None:
    assert first_failure(Delivery.DIRECT, [_record(1), _record(2)], answer) == starts_at


def test_a_batch_stays_under_the_payload_limit() -> None:
    # given room for about two records per invocation
    record_size = len(str(_record(1))) + 10
    buffer = BatchBuffer(Batching(Delivery.STREAM, size=100, max_payload_bytes=2 * record_size))
    buffer.add([_record(n) for n in range(1, 6)], now=0)

    batches = buffer.take(now=0, drained=True)

    assert [len(records) for records, _ in batches] == [2, 2, 1]
    assert [through for _, through in batches] == ["2", "4", "5"]

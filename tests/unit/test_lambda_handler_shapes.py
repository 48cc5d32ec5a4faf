"""handle(): each delivery shape is answered the way its platform expects, on fakes (no AWS)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import structlog

from adapters import lambda_handler
from adapters.delivery import EventNotArchivedError, RecordMapper, RecordNotArchivedError, handle
from adapters.settings import SettingsError
from archiver.keys import encode_key
from archiver.service import Archiver
from tests.fakes import FakeArchiveStore, FakeDeadLetterSink

ROOT = Path(__file__).resolve().parents[2]


def archiver(store: FakeArchiveStore | None = None, sink: FakeDeadLetterSink | None = None) -> Archiver:
    return Archiver(store=store or FakeArchiveStore(), dead_letters=sink or FakeDeadLetterSink())


def test_eventbridge_remove_is_archived_and_answered_with_nothing(events):
    store = FakeArchiveStore()

    answer = handle(events.eventbridge(), archiver(store))

    assert answer is None
    assert len(store.objects) == 1


def test_eventbridge_record_neither_archived_nor_dead_lettered_raises(events):
    store, sink = FakeArchiveStore(fail_next=1), FakeDeadLetterSink(broken=True)

    with pytest.raises(RecordNotArchivedError, match="a87ff679a2f3e71d9181a67b7542122c"):
        handle(events.eventbridge(), archiver(store, sink))


def test_eventbridge_record_dead_lettered_does_not_raise(events):
    sink = FakeDeadLetterSink()

    answer = handle(events.eventbridge(), archiver(FakeArchiveStore(fail_next=1), sink))

    assert answer is None
    assert [letter.record_id for letter in sink.letters] == ["a87ff679a2f3e71d9181a67b7542122c"]


def test_bare_record_that_fails_raises(events):
    with pytest.raises(RecordNotArchivedError):
        handle(events.remove(), archiver(FakeArchiveStore(fail_next=1), FakeDeadLetterSink(broken=True)))


def test_pipe_batch_all_archived_reports_no_failures(events):
    store = FakeArchiveStore()

    answer = handle(events.pipe(), archiver(store))

    assert answer == {"batchItemFailures": []}
    assert len(store.objects) == 1  # the INSERT is skipped


def test_pipe_batch_names_exactly_the_failed_records_by_event_id(events):
    records = events.removes(3)
    store, sink = FakeArchiveStore(fail_next=1), FakeDeadLetterSink(broken=True)

    answer = handle(events.pipe(records), archiver(store, sink))

    assert answer == {"batchItemFailures": [{"itemIdentifier": records[0]["eventID"]}]}
    assert len(store.objects) == 2


def test_esm_batch_names_failed_records_by_sequence_number(events):
    records = events.removes(2)
    store, sink = FakeArchiveStore(fail_next=2), FakeDeadLetterSink(broken=True)

    answer = handle(events.esm(records), archiver(store, sink))

    assert answer == {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in records]}


def test_dead_lettered_records_are_not_reported_as_batch_failures(events):
    sink = FakeDeadLetterSink()

    answer = handle(events.esm(events.removes(2)), archiver(FakeArchiveStore(fail_next=1), sink))

    assert answer == {"batchItemFailures": []}
    assert len(sink.letters) == 1


def test_unknown_envelope_is_dead_lettered_whole(events):
    sink = FakeDeadLetterSink()
    event = {"source": "aws.s3", "detail-type": "Object Created"}

    answer = handle(event, archiver(sink=sink))

    assert answer is None
    (letter,) = sink.letters
    assert letter.record == event
    assert "expected 'detail'" in letter.reason


@pytest.mark.parametrize(
    "make",
    [
        lambda events: {"Records": [events.remove(n=1)], "detail": events.remove(n=2)},
        lambda events: {**events.remove(n=1), "detail": events.remove(n=2)},
    ],
    ids=["records-and-detail", "record-with-detail"],
)
def test_an_event_fitting_two_shapes_is_one_dead_letter_holding_it_whole_and_nothing_archived(events, make):
    # given an event that reads as two deliveries, each holding a REMOVE
    store, sink = FakeArchiveStore(), FakeDeadLetterSink()
    event = make(events)

    answer = handle(event, archiver(store, sink))

    # then neither REMOVE is archived on its own: the whole event is one dead letter, with why
    assert answer is None
    assert store.objects == {}
    (letter,) = sink.letters
    assert letter.record == event
    assert letter.error == "UnknownEnvelope"
    assert "fits 2 delivery shapes" in letter.reason and "an EventBridge event ('detail')" in letter.reason


def test_a_record_nested_too_deep_is_its_own_dead_letter_and_the_batch_goes_on(events):
    # given a batch of a record whose image nests 5,000 maps deep (past Python's recursion limit) and a good one
    deep = events.remove(n=1)
    value: dict = {"S": "leaf"}
    for _ in range(5000):
        value = {"M": {"a": value}}
    deep["dynamodb"]["OldImage"]["deep"] = value
    good = events.remove(n=2)
    store, sink = FakeArchiveStore(), FakeDeadLetterSink()

    answer = handle(events.pipe([deep, good]), archiver(store, sink))

    # then the good one is archived and the deep one dead-lettered, with where and why
    assert answer == {"batchItemFailures": []}
    assert [key.split("/")[2] for key in store.objects] == [encode_key(good["dynamodb"]["Keys"])]
    (letter,) = sink.letters
    assert letter.record is deep
    assert "is nested 33 levels deep" in letter.reason and "at most 32" in letter.reason


def test_unknown_envelope_that_cannot_be_dead_lettered_raises(events):
    with pytest.raises(EventNotArchivedError, match="dead-letter queue failed"):
        handle("not an event", archiver(sink=FakeDeadLetterSink(broken=True)))


class SlowFirstStore(FakeArchiveStore):
    """Holds the first put back until the ``others`` puts have finished, so a pool completes out of
    input order (a condition, not a sleep: it finishes last however the threads are scheduled)."""

    def __init__(self) -> None:
        super().__init__()
        self.finished: list[str] = []
        self.first_key: str | None = None
        self.others = 0
        self._others_done = threading.Event()

    def put(self, obj):
        if obj.key == self.first_key:
            assert self._others_done.wait(timeout=30)
        super().put(obj)
        self.finished.append(obj.key)
        if obj.key != self.first_key and sum(k != self.first_key for k in self.finished) == self.others:
            self._others_done.set()


def test_pool_mapper_keeps_outcomes_in_input_order(events):
    records = events.removes(6)
    store = SlowFirstStore()
    with ThreadPoolExecutor(4) as pool:
        archiver_ = Archiver(store=store, dead_letters=FakeDeadLetterSink(), mapper=RecordMapper(pool))
        store.first_key = archiver_.archive(records[:1])[0].object_key
        store.objects.clear()
        store.finished.clear()
        store.others = len(records) - 1

        outcomes = archiver_.archive(records)

    assert store.finished[-1] == store.first_key  # the pool did finish out of order
    assert [o.record_id for o in outcomes] == [r["eventID"] for r in records]


def test_cold_start_with_a_wrong_setting_names_the_variable(monkeypatch, events):
    monkeypatch.delenv("ARCHIVER_BUCKET", raising=False)
    monkeypatch.setenv("ARCHIVER_MAX_CONCURRENCY", "0")
    lambda_handler._wiring.cache_clear()

    with pytest.raises(SettingsError) as raised:
        lambda_handler.handler(events.eventbridge(), None)

    assert "ARCHIVER_BUCKET" in str(raised.value)
    assert "ARCHIVER_MAX_CONCURRENCY" in str(raised.value)
    lambda_handler._wiring.cache_clear()


def test_importing_the_handler_needs_no_environment_and_loads_no_test_tools():
    environment = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}
    script = (
        "import sys, adapters.lambda_handler\n"
        "heavy = sorted(m for m in ('moto', 'yaml', 'boto3') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", script], env=environment, cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == ""


def test_a_single_record_runs_inline_with_its_record_id_bound_and_a_batch_on_the_pool(events):
    seen: list[tuple[int, object]] = []

    class RecordingStore(FakeArchiveStore):
        def put(self, obj):
            seen.append((threading.get_ident(), structlog.contextvars.get_contextvars().get("record_id")))
            super().put(obj)

    records = events.removes(3)
    with ThreadPoolExecutor(2) as pool:
        archiver = Archiver(RecordingStore(), FakeDeadLetterSink(), mapper=RecordMapper(pool))
        handle(events.eventbridge(records[0]), archiver)
        handle(events.pipe(records[1:]), archiver)

    (single_thread, single_id), *batch = seen
    assert (single_thread, single_id) == (threading.get_ident(), records[0]["eventID"])
    assert {thread for thread, _ in batch} != {threading.get_ident()}
    assert sorted(record_id for _, record_id in batch) == sorted(r["eventID"] for r in records[1:])

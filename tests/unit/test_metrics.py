"""EMF metric lines: what handle() reports per invocation, checked against the specification's rules.

https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.delivery import handle
from adapters.metrics import EMFMetrics, emf_documents
from archiver.service import Archived, Archiver, DeadLettered, Failed, Skipped
from tests.fakes import FakeArchiveStore, FakeDeadLetterSink

UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
    "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
    "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
    "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
}  # fmt: skip
COUNTS = ("Archived", "DeadLettered", "Failed", "Skipped")


def emf_violations(line: str, now_ms: int) -> list[str]:
    """What in ``line`` breaks the EMF specification (or CloudWatch's limits); empty if nothing."""
    document = json.loads(line)
    problems = []
    if not isinstance(document, dict):
        return ["the line is not a JSON object"]
    metadata = document.get("_aws")
    if not isinstance(metadata, dict) or set(metadata) - {"Timestamp", "CloudWatchMetrics", "LogGroupName"}:
        return [f"_aws is {metadata!r}"]
    timestamp = metadata.get("Timestamp")
    if type(timestamp) is not int or abs(timestamp - now_ms) > 60_000:
        problems.append(f"Timestamp {timestamp!r} is not epoch milliseconds of now")
    directives = metadata.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return [*problems, "CloudWatchMetrics is not a non-empty list"]
    for directive in directives:
        if set(directive) != {"Namespace", "Dimensions", "Metrics"}:
            problems.append(f"directive members {sorted(directive)}")
            continue
        namespace = directive["Namespace"]
        if not isinstance(namespace, str) or not 1 <= len(namespace) <= 255:
            problems.append(f"Namespace {namespace!r}")
        for dimension_set in directive["Dimensions"]:
            if not isinstance(dimension_set, list) or len(dimension_set) > 30:
                problems.append(f"dimension set {dimension_set!r}")
                continue
            for name in dimension_set:
                value = document.get(name)
                if not isinstance(value, str) or not value.strip() or not value.isascii() or len(value) > 1024:
                    problems.append(f"dimension {name!r} is {value!r}, not a top-level ASCII string")
        definitions = directive["Metrics"]
        if not isinstance(definitions, list) or not 1 <= len(definitions) <= 100:
            problems.append(f"{len(definitions)} metric definitions")
        for definition in definitions:
            if set(definition) - {"Name", "Unit", "StorageResolution"} or definition.get("Unit", "None") not in UNITS:
                problems.append(f"metric definition {definition!r}")
            value = document.get(definition.get("Name"))
            values = value if isinstance(value, list) else [value]
            if not values or len(values) > 100 or any(type(v) not in (int, float) for v in values):
                problems.append(f"metric {definition.get('Name')!r} is {value!r}, not a number or 1-100 numbers")
    return problems


class CollectedLines:
    """EMFMetrics' ``write``: keeps the lines, parsed and checked against the specification."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)

    def documents(self) -> list[dict[str, Any]]:
        now_ms = int(time.time() * 1000)
        assert all("\n" not in line for line in self.lines)
        for line in self.lines:
            assert emf_violations(line, now_ms) == [], line
        return [json.loads(line) for line in self.lines]


class SinkRefusing(FakeDeadLetterSink):
    """Takes every letter except those of ``refused`` record ids."""

    def __init__(self, refused: set[str]) -> None:
        super().__init__()
        self.refused = refused

    def report(self, letter):
        self.broken = letter.record_id in self.refused
        super().report(letter)


def totals(documents: list[dict[str, Any]], table: str | None = None) -> dict[str, int]:
    return {name: sum(d.get(name, 0) for d in documents if table is None or d["Table"] == table) for name in COUNTS}


@pytest.fixture
def lines() -> CollectedLines:
    return CollectedLines()


def test_one_document_per_table_in_the_configured_namespace(events, lines):
    # given a batch of two tables' deletions
    records = [*events.removes(3, table="orders"), *events.removes(2, table="customers")]
    for n, record in enumerate(records[3:], start=100):  # distinct keys from the orders'
        record["dynamodb"]["Keys"]["PK"]["S"] += str(n)
        record["dynamodb"]["OldImage"]["PK"]["S"] += str(n)  # an image holds its own key

    handle(events.pipe(records), Archiver(FakeArchiveStore(), FakeDeadLetterSink()), EMFMetrics("Team/Archive", lines))

    # then one valid document each, dimensioned by Table alone
    documents = lines.documents()
    assert sorted(d["Table"] for d in documents) == ["customers", "orders"]
    for document in documents:
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Team/Archive"
        assert directive["Dimensions"] == [["Table"]]
        assert [m["Name"] for m in directive["Metrics"]] == [*COUNTS, "ArchiveLag"]
    assert totals(documents, "orders") == {"Archived": 3, "DeadLettered": 0, "Failed": 0, "Skipped": 0}
    assert totals(documents, "customers") == {"Archived": 2, "DeadLettered": 0, "Failed": 0, "Skipped": 0}


def test_counts_add_up_to_the_records_handled(events, lines):
    # given one batch with an archived, a skipped, a dead-lettered and a failed record
    archived, dead_lettered, failed = events.removes(3)
    dead_lettered["dynamodb"]["OldImage"] = "garbage"
    failed["dynamodb"]["OldImage"] = "garbage"
    insert = {**events.remove(n=9), "eventName": "INSERT"}
    archiver = Archiver(FakeArchiveStore(), SinkRefusing({failed["eventID"]}))

    answer = handle(events.pipe([archived, insert, dead_lettered, failed]), archiver, EMFMetrics(write=lines))

    # then each is counted once, under its table, and only the failed one is retried
    assert answer == {"batchItemFailures": [{"itemIdentifier": failed["eventID"]}]}
    (document,) = lines.documents()
    assert document["Table"] == "orders"
    assert {name: document[name] for name in COUNTS} == {"Archived": 1, "DeadLettered": 1, "Failed": 1, "Skipped": 1}
    assert len(document["ArchiveLag"]) == 1


def test_a_failed_single_event_is_counted_before_the_platform_is_told(events, lines):
    archiver = Archiver(FakeArchiveStore(fail_next=1), FakeDeadLetterSink(broken=True))

    with pytest.raises(Exception, match="not archived"):
        handle(events.eventbridge(), archiver, EMFMetrics(write=lines))

    (document,) = lines.documents()
    assert totals([document]) == {"Archived": 0, "DeadLettered": 0, "Failed": 1, "Skipped": 0}
    assert "ArchiveLag" not in document
    assert [m["Name"] for m in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]] == list(COUNTS)


def test_archive_lag_is_milliseconds_from_each_deletion_to_its_archiving(events, lines):
    # given deletions made 7 s and 3 s ago (whole seconds, as AWS gives them)
    now = int(time.time())
    records = events.removes(2)
    records[0]["dynamodb"]["ApproximateCreationDateTime"] = now - 7
    records[1]["dynamodb"]["ApproximateCreationDateTime"] = now - 3

    before = time.time()
    handle(events.pipe(records), Archiver(FakeArchiveStore(), FakeDeadLetterSink()), EMFMetrics(write=lines))
    after = time.time()

    (document,) = lines.documents()
    for lag, deleted in zip(document["ArchiveLag"], (now - 7, now - 3), strict=True):
        assert (before - deleted) * 1000 - 1 <= lag <= (after - deleted) * 1000 + 1
    assert document["_aws"]["CloudWatchMetrics"][0]["Metrics"][-1] == {"Name": "ArchiveLag", "Unit": "Milliseconds"}


def test_more_than_100_lags_go_in_further_documents_that_hold_only_the_lag(events, lines):
    records = events.removes(250)

    handle(events.pipe(records), Archiver(FakeArchiveStore(), FakeDeadLetterSink()), EMFMetrics(write=lines))

    documents = lines.documents()
    assert [len(d["ArchiveLag"]) for d in documents] == [100, 100, 50]
    assert totals(documents) == {"Archived": 250, "DeadLettered": 0, "Failed": 0, "Skipped": 0}
    for later in documents[1:]:
        assert [m["Name"] for m in later["_aws"]["CloudWatchMetrics"][0]["Metrics"]] == ["ArchiveLag"]
        assert not set(COUNTS) & later.keys()


def test_an_unknown_event_is_counted_under_an_unknown_table(lines):
    sink = FakeDeadLetterSink()

    handle({"something": "else"}, Archiver(FakeArchiveStore(), sink), EMFMetrics(write=lines))

    (document,) = lines.documents()
    assert document["Table"] == "(unknown)"
    assert totals([document]) == {"Archived": 0, "DeadLettered": 1, "Failed": 0, "Skipped": 0}


def test_documents_of_outcomes_without_a_deletion_time_carry_no_lag():
    outcomes = [
        Archived("a", "orders", "PK(S)1", "archive/orders/PK(S)1/v.json", deleted_at=None),
        Skipped("b", "INSERT is not a deletion"),
        DeadLettered("c", "unreadable", "orders"),
        Failed("d", "both down", "orders"),
    ]

    documents = emf_documents("DynamoArchive", outcomes, [0.0] * 4, 1_700_000_000_000)

    assert [(d["Table"], totals([d])) for d in documents] == [
        ("(unknown)", {"Archived": 0, "DeadLettered": 0, "Failed": 0, "Skipped": 1}),
        ("orders", {"Archived": 1, "DeadLettered": 1, "Failed": 1, "Skipped": 0}),
    ]
    assert all("ArchiveLag" not in d for d in documents)


def test_a_lag_below_the_deletion_times_precision_is_zero_not_negative():
    deleted = datetime(2026, 1, 1, 12, 0, 1, tzinfo=UTC)  # rounded up from 12:00:00.6
    outcome = Archived("a", "orders", "k", "key", deleted_at=deleted)

    (document,) = emf_documents("DynamoArchive", [outcome], [deleted.timestamp() - 0.4], 0)

    assert document["ArchiveLag"] == [0]


def metric_lines(out: str) -> list[str]:
    """The EMF lines among whatever else went to stdout (log lines, in this process's configuration)."""
    return [line for line in out.splitlines() if '"_aws"' in line]


def test_without_metrics_handle_writes_none(events, capsys):
    handle(events.pipe(events.removes(2)), Archiver(FakeArchiveStore(), FakeDeadLetterSink()))

    assert metric_lines(capsys.readouterr().out) == []


def test_the_default_writer_puts_each_document_on_its_own_stdout_line(events, capsys):
    handle(events.pipe(events.removes(2)), Archiver(FakeArchiveStore(), FakeDeadLetterSink()), EMFMetrics())

    (line,) = metric_lines(capsys.readouterr().out)
    assert line.startswith("{") and line.endswith("}")
    assert emf_violations(line, int(time.time() * 1000)) == []

"""Reading a compact table from S3 (moto): which requests a window makes, and each deletion once.

Requests are counted with a botocore ``provide-client-params`` hook on the client, so what is asserted is what
would reach S3: the LISTs (and where they start) and the GETs (which objects).
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from adapters.aws.s3_store import S3ArchiveStore
from adapters.cli.compact_catalog import find_compact_version, list_compact_versions, plan_compact_restore
from adapters.config import TableConfig
from archiver.compact_reader import archive_body
from archiver.keys import encode_key
from archiver.layouts import compact_object_key, hour_folder
from archiver.restore_plan import DELETED_AGAIN, KeyStatus
from archiver.restorer import Restorer
from archiver.windows import TimeWindow
from tests.compact_objects import CompactDeletions, gzip_lines
from tests.fakes import FakeItemTable
from tests.integration.conftest import BUCKET, FAST

if TYPE_CHECKING:
    from archiver.listing import ArchiveName

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
TABLE = TableConfig(name="orders")


def order(name: str) -> dict[str, Any]:
    return {"PK": {"S": f"ORDER#{name}"}, "SK": {"S": "v1"}}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class Requests:
    """The S3 calls a client makes: operation -> count, and the keys GET asked for."""

    def __init__(self, client: Any) -> None:
        self.calls: Counter[str] = Counter()
        self.got: list[str] = []
        self.listed: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        client.meta.events.register("provide-client-params.s3.*", self._seen)

    def _seen(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        with self._lock:
            self.calls[model.name] += 1
            if model.name == "GetObject":
                self.got.append(params["Key"])
            if model.name == "ListObjectsV2":
                self.listed.append(params)

    def reset(self) -> None:
        self.calls.clear()
        self.got.clear()
        self.listed.clear()


@pytest.fixture
def requests(s3: Any) -> Requests:
    return Requests(s3)


@pytest.fixture
def store(s3: Any) -> S3ArchiveStore:
    return S3ArchiveStore(s3, BUCKET, retry=FAST, page_size=3)  # small pages: a listing of several


@pytest.fixture
def deletions(store: S3ArchiveStore) -> CompactDeletions:
    return CompactDeletions(store)


def hours_08_to_12(d: CompactDeletions) -> dict[int, list[str]]:
    """Two batches of deletions in each hour from 08:00 to 12:00, and one without a time; object keys by hour."""
    by_hour: dict[int, list[str]] = {}
    for hour in range(8, 13):
        for batch in ("a", "b"):
            minute = (hour - 10) * 60 + (5 if batch == "a" else 35)
            records = [d.record(order(f"{hour}{batch}{n}"), at(minute + n)) for n in range(2)]
            by_hour.setdefault(hour, []).extend(d.write(records, f"batch-{hour}-{batch}"))
    no_time = d.record(order("no-time"), T0)
    no_time["dynamodb"].pop("ApproximateCreationDateTime")
    by_hour[0] = d.write([no_time], "batch-epoch")
    return by_hour


@pytest.mark.parametrize(
    ("after", "before", "hours"),
    [
        (at(0), at(120), [10, 11]),  # on the hour: 12:00 is not read
        (at(30), at(90), [10, 11]),  # inside hours: both hours they touch
        (at(36), at(66), [10, 11]),  # a minute of each: both hours
        (at(60), None, [11, 12]),  # open end: every hour from the first
        (None, at(-60), [0, 8]),  # open start: the epoch hour's folder too (its lines have no time)
    ],
)
def test_a_window_reads_only_the_hour_folders_it_overlaps(
    deletions: CompactDeletions,
    store: S3ArchiveStore,
    requests: Requests,
    after: datetime | None,
    before: datetime | None,
    hours: list[int],
) -> None:
    by_hour = hours_08_to_12(deletions)
    requests.reset()
    window = TimeWindow(after, before)

    versions, problems = list_compact_versions(store, TABLE, None, window, with_kind=False)

    assert problems == []
    assert sorted(requests.got) == sorted(key for hour in hours for key in by_hour[hour])
    assert requests.listed[0]["Prefix"] == "archive/orders/compact/"
    assert requests.listed[0].get("StartAfter", "") == (hour_folder("archive", "orders", after) if after else "")
    assert requests.calls["ListObjectsV2"] <= len(requests.got) // 3 + 2  # pages of 3, and stopped at the end
    assert versions and all(window.contains(v.deleted_time) for v in versions)
    assert [v.version for v in versions] == sorted((v.version for v in versions), reverse=True)


def test_a_key_without_a_window_reads_every_compact_object_and_says_so(
    deletions: CompactDeletions, store: S3ArchiveStore, requests: Requests, capsys: pytest.CaptureFixture[str]
) -> None:
    by_hour = hours_08_to_12(deletions)
    requests.reset()

    versions, problems = list_compact_versions(store, TABLE, order("11b1"), TimeWindow(), with_kind=True)

    assert problems == []
    assert [(v.key, v.kind) for v in versions] == [(order("11b1"), "user")]
    assert versions[0].object_key == compact_object_key("archive", "orders", at(60), "batch-11-b")
    assert sorted(requests.got) == sorted(key for keys in by_hour.values() for key in keys)
    assert "no window was given: reading all 11 compact object(s)" in capsys.readouterr().err


def test_a_bisected_retry_leaves_list_show_and_restore_seeing_each_deletion_once(
    deletions: CompactDeletions, store: S3ArchiveStore
) -> None:
    # given a batch of six deletions across two hours, stored whole; then the pipe retried its second
    # half after a partial failure, and stored a sub-slice of it again under another name
    records = [deletions.record(order(f"k{n}"), at(40 + 5 * n), {"n": {"N": str(n)}}) for n in range(6)]
    whole = deletions.write(records, "batch-whole")
    again = deletions.write(records[3:5], "batch-retried")
    assert len(whole) == len(again) == 2  # hours 10 and 11 each time

    versions, problems = list_compact_versions(store, TABLE, None, TimeWindow(), with_kind=True)
    shown, line, _ = find_compact_version(store, TABLE, order("k4"), None)
    planned = plan_compact_restore(store, TABLE, TimeWindow(at(0), at(120)), None, concurrency=4, stop=lambda: False)
    assert planned is not None
    plans, index = planned
    writer = FakeItemTable()
    outcomes = list(Restorer(store, writer, "archive/orders/", "orders", TimeWindow(), bodies=index).run(plans))

    assert problems == []
    assert sorted(v.key["PK"]["S"] for v in versions) == [f"ORDER#k{n}" for n in range(6)]  # type: ignore[index]
    assert len({(v.encoded_key, v.version) for v in versions}) == 6
    assert archive_body(line)["image"]["n"] == {"N": "4"} and shown.key == order("k4")
    assert [len(plan.names or ()) for plan in plans] == [1] * 6
    assert [o.outcome for o in outcomes] == [KeyStatus.RESTORED] * 6 and writer.writes == 6


def test_a_restore_of_a_window_reads_from_its_first_hour_on_and_skips_a_key_deleted_again_later(
    deletions: CompactDeletions, store: S3ArchiveStore, requests: Requests
) -> None:
    # given deletions before, in and after the window 10:00-12:00, in hours 08 to 14
    batches = {
        "before": [deletions.record(order("old"), at(-100))],
        "in-10": [deletions.record(order("twice"), at(5), {"v": {"S": "first"}}),
                  deletions.record(order("again"), at(10), {"v": {"S": "stale"}})],
        "in-11": [deletions.record(order("twice"), at(70), {"v": {"S": "second"}}),
                  deletions.record(order("old"), at(80), {"v": {"S": "newer"}})],
        "after": [deletions.record(order("again"), at(250), {"v": {"S": "gone for good"}})],
    }  # fmt: skip
    written = {name: deletions.write(records, name) for name, records in batches.items()}
    requests.reset()
    window = TimeWindow(at(0), at(120))

    planned = plan_compact_restore(store, TABLE, window, None, concurrency=4, stop=lambda: False)
    assert planned is not None
    plans, index = planned
    writer = FakeItemTable()
    outcomes = {o.encoded_key: o for o in Restorer(store, writer, "", "orders", window, bodies=index).run(plans)}

    # then the objects of the window and after are read, not those before it, each once
    assert sorted(requests.got) == sorted(written["in-10"] + written["in-11"] + written["after"])
    restored = writer.tables["orders"]
    assert restored[encode_key(order("twice"))]["v"] == {"S": "second"}
    assert restored[encode_key(order("old"))]["v"] == {"S": "newer"}
    assert outcomes[encode_key(order("again"))].reason == DELETED_AGAIN
    assert encode_key(order("again")) not in restored
    # and only the bodies that can go back were kept
    kept = [name for name in index.names() if _has_body(index, name)]
    assert sorted(n.key["PK"]["S"] for n in kept) == ["ORDER#again", "ORDER#old", "ORDER#twice", "ORDER#twice"]  # type: ignore[index]


def _has_body(index: Any, name: ArchiveName) -> bool:
    try:
        index.body(name)
    except LookupError:
        return False
    return True


def test_a_corrupt_compact_object_is_named_and_the_others_are_read(
    deletions: CompactDeletions, store: S3ArchiveStore
) -> None:
    deletions.write([deletions.record(order("good"), at(1))], "batch-good")
    (bad_line_object,) = deletions.write([deletions.record(order("beside-a-bad-line"), at(2))], "batch-with-bad-line")
    lines = [*archive_lines(store, bad_line_object), b"{not json"]
    deletions.put(bad_line_object.replace("batch-with-bad-line", "batch-with-bad-line-2"), gzip_lines(lines))
    broken = deletions.put(compact_object_key("archive", "orders", at(3), "batch-broken"), b"\x1f\x8b\x08 broken")

    versions, problems = list_compact_versions(store, TABLE, None, TimeWindow(), with_kind=False)

    assert sorted(v.key["PK"]["S"] for v in versions) == ["ORDER#beside-a-bad-line", "ORDER#good"]  # type: ignore[index]
    assert len(problems) == 2
    assert problems[0].startswith(f"{broken}: bad gzip")
    assert problems[1].startswith(f"{bad_line_object.replace('bad-line', 'bad-line-2')}: line 2 is not JSON")


def archive_lines(store: S3ArchiveStore, object_key: str) -> list[bytes]:
    import gzip  # noqa: PLC0415

    return gzip.decompress(store.get(object_key)).splitlines()

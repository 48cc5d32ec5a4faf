"""Restorer on fakes: a window of deletions goes back once, never over a live item, with reasons for the rest."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from archiver.keys import encode_key
from archiver.listing import read_object_key
from archiver.policy import DeletionKind, TablePolicy
from archiver.restore_plan import DELETED_AGAIN, NO_IMAGE, KeyOutcome, KeyPlan, KeyStatus, plan_window
from archiver.restorer import Restorer
from archiver.windows import TimeWindow
from tests.deletions import Deletions
from tests.fakes import FakeArchiveStore, FakeItemTable

FOLDER = "archive/orders/"
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
WINDOW = TimeWindow(T0, T0 + timedelta(hours=1))


def order(n: int) -> dict[str, Any]:
    return {"PK": {"S": f"USER#{n}"}, "SK": {"S": "ORDER"}}


def minutes(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


@pytest.fixture
def store() -> FakeArchiveStore:
    return FakeArchiveStore()


@pytest.fixture
def writer() -> FakeItemTable:
    return FakeItemTable()


def restorer(store: FakeArchiveStore, writer: FakeItemTable, **options: Any) -> Restorer:
    return Restorer(store, writer, FOLDER, "orders", **({"window": WINDOW} | options))


def plans(store: FakeArchiveStore, window: TimeWindow = WINDOW) -> list[KeyPlan]:
    names = (read_object_key(k, FOLDER) for k in store.list_keys(FOLDER))
    return plan_window((n for n in names if n is not None), window)


def outcomes_by_key(outcomes: list[KeyOutcome]) -> dict[str, KeyOutcome]:
    return {o.encoded_key: o for o in outcomes}


def test_each_key_deleted_in_the_window_goes_back_as_its_newest_deletion_there(
    store: FakeArchiveStore, writer: FakeItemTable
) -> None:
    deletions = Deletions(store)
    deletions.delete(order(1), minutes(-5), {"v": {"S": "before the window"}})
    deletions.delete(order(1), minutes(10), {"v": {"S": "first in window"}})
    newest = deletions.delete(order(1), minutes(20), {"v": {"S": "second in window"}})
    deletions.delete(order(2), minutes(59), {"v": {"S": "last minute"}})
    deletions.delete(order(3), minutes(60), {"v": {"S": "at the end: outside"}})
    # when
    outcomes = list(restorer(store, writer).run(plans(store)))
    # then
    assert [o.outcome for o in outcomes] == [KeyStatus.RESTORED, KeyStatus.RESTORED]
    assert outcomes_by_key(outcomes)[encode_key(order(1))].object_key == newest
    items = writer.tables["orders"]
    assert items[encode_key(order(1))]["v"] == {"S": "second in window"}
    assert items[encode_key(order(2))]["v"] == {"S": "last minute"}
    assert encode_key(order(3)) not in items


def test_a_live_item_is_counted_present_and_kept(store: FakeArchiveStore, writer: FakeItemTable) -> None:
    Deletions(store).delete(order(1), minutes(5), {"v": {"S": "archived"}})
    writer.tables["orders"] = {encode_key(order(1)): {**order(1), "v": {"S": "re-created"}}}
    (outcome,) = restorer(store, writer).run(plans(store))
    assert outcome.outcome is KeyStatus.PRESENT
    assert writer.tables["orders"][encode_key(order(1))]["v"] == {"S": "re-created"}


def test_a_key_deleted_again_after_the_window_is_skipped_with_the_reason(
    store: FakeArchiveStore, writer: FakeItemTable
) -> None:
    deletions = Deletions(store)
    deletions.delete(order(1), minutes(5))
    later = deletions.delete(order(1), minutes(90))
    (outcome,) = restorer(store, writer).run(plans(store))
    assert (outcome.outcome, outcome.reason, outcome.object_key) == (KeyStatus.SKIPPED, DELETED_AGAIN, later)
    assert writer.tables == {}


def test_no_image_is_skipped_and_dropped_attributes_are_named(store: FakeArchiveStore, writer: FakeItemTable) -> None:
    Deletions(store).delete(order(1), minutes(5), keys_only=True)
    Deletions(store, policy=TablePolicy(drop_attributes=frozenset({"card"}))).delete(
        order(2), minutes(6), {"card": {"S": "4111"}, "v": {"S": "kept"}}
    )
    found = outcomes_by_key(list(restorer(store, writer).run(plans(store))))
    assert (found[encode_key(order(1))].outcome, found[encode_key(order(1))].reason) == (KeyStatus.SKIPPED, NO_IMAGE)
    assert (found[encode_key(order(2))].outcome, found[encode_key(order(2))].missing) == (KeyStatus.RESTORED, ("card",))
    assert writer.tables["orders"][encode_key(order(2))] == {**order(2), "v": {"S": "kept"}}


def test_the_kind_filter_restores_only_that_kind(store: FakeArchiveStore, writer: FakeItemTable) -> None:
    deletions = Deletions(store)
    deletions.delete(order(1), minutes(5))
    deletions.delete(order(2), minutes(6), ttl=True)
    found = outcomes_by_key(list(restorer(store, writer, kind=DeletionKind.USER).run(plans(store))))
    assert found[encode_key(order(1))].outcome is KeyStatus.RESTORED
    assert (found[encode_key(order(2))].outcome, found[encode_key(order(2))].reason) == (
        KeyStatus.SKIPPED,
        "deleted by ttl, not user",
    )


def test_a_dry_run_writes_nothing_and_says_what_it_would_do(store: FakeArchiveStore, writer: FakeItemTable) -> None:
    Deletions(store).delete(order(1), minutes(5))
    Deletions(store).delete(order(2), minutes(5))
    writer.tables["orders"] = {encode_key(order(2)): order(2)}
    outcomes = list(restorer(store, writer, dry_run=True).run(plans(store)))
    assert [o.outcome for o in outcomes] == [KeyStatus.WOULD_RESTORE, KeyStatus.PRESENT]
    assert writer.writes == 0


def test_a_stopped_run_finishes_what_it_began_and_a_rerun_restores_each_key_once(
    store: FakeArchiveStore, writer: FakeItemTable
) -> None:
    deletions = Deletions(store)
    for n in range(10):
        deletions.delete(order(n), minutes(n))
    stop = threading.Event()
    first: list[KeyOutcome] = []
    for outcome in restorer(store, writer).run(plans(store), stop=stop.is_set):
        first.append(outcome)
        if len(first) == 4:
            stop.set()  # as Ctrl-C does
    assert [o.outcome for o in first] == [KeyStatus.RESTORED] * 4 + [KeyStatus.NOT_ATTEMPTED] * 6
    second = list(restorer(store, writer).run(plans(store)))
    assert [o.outcome for o in second] == [KeyStatus.PRESENT] * 4 + [KeyStatus.RESTORED] * 6
    assert writer.writes == 10


def test_a_failed_key_does_not_stop_the_others_and_says_why(store: FakeArchiveStore, writer: FakeItemTable) -> None:
    deletions = Deletions(store)
    for n in range(3):
        deletions.delete(order(n), minutes(n))
    writer.fail_next = 1
    outcomes = list(restorer(store, writer).run(plans(store)))
    assert [o.outcome for o in outcomes] == [KeyStatus.FAILED, KeyStatus.RESTORED, KeyStatus.RESTORED]
    assert "injected failure" in (outcomes[0].reason or "")


def test_a_body_that_is_not_an_archive_fails_that_key_naming_the_object(
    store: FakeArchiveStore, writer: FakeItemTable
) -> None:
    object_key = Deletions(store).delete(order(1), minutes(5))
    store.objects[object_key] = b"<html>not json</html>"
    (outcome,) = restorer(store, writer).run(plans(store))
    assert outcome.outcome is KeyStatus.FAILED
    assert f"{object_key} is not a usable archive: the body is not JSON" in (outcome.reason or "")


@pytest.mark.parametrize(
    ("target_key", "shown"),
    [
        ({"id": "S"}, "id (S)"),
        ({"PK": "S"}, "PK (S)"),  # DynamoDB would take the item, under PK alone
        ({"PK": "S", "SK": "N"}, "PK (S), SK (N)"),
    ],
)
def test_a_target_table_keyed_otherwise_fails_before_any_write(
    store: FakeArchiveStore, writer: FakeItemTable, target_key: dict[str, str], shown: str
) -> None:
    Deletions(store).delete(order(1), minutes(5))
    (outcome,) = restorer(store, writer, target_key=target_key).run(plans(store))
    assert outcome.outcome is KeyStatus.FAILED
    assert outcome.reason == f"the key is PK (S), SK (S), but table 'orders' is keyed by {shown}"
    assert writer.writes == 0


@pytest.mark.parametrize("dry_run", [True, False])
def test_an_item_larger_than_a_table_takes_fails_as_too_large_before_any_write(
    store: FakeArchiveStore, writer: FakeItemTable, dry_run: bool
) -> None:
    # given an archived image of 500 KB (a table takes at most 400 KB)
    Deletions(store).delete(order(1), minutes(5), {"note": {"S": "x" * 500_000}})
    # when restored, or dry-run
    (outcome,) = restorer(store, writer, dry_run=dry_run).run(plans(store))
    # then it fails with the reason, and nothing is asked of the table
    assert outcome.outcome is KeyStatus.FAILED
    assert (outcome.reason or "").startswith("too large: the item is 500,0")
    assert "a table takes at most 409,600 (400 KB)" in (outcome.reason or "")
    assert writer.writes == 0


def test_an_item_just_within_the_limit_goes_back(store: FakeArchiveStore, writer: FakeItemTable) -> None:
    key_bytes = len("PK") + len("USER#1") + len("SK") + len("ORDER")
    Deletions(store).delete(order(1), minutes(5), {"note": {"S": "x" * (409_600 - key_bytes - len("note"))}})
    (outcome,) = restorer(store, writer).run(plans(store))
    assert outcome.outcome is KeyStatus.RESTORED


def test_keys_given_without_their_versions_are_listed_one_folder_each(
    store: FakeArchiveStore, writer: FakeItemTable
) -> None:
    deletions = Deletions(store)
    deletions.delete(order(1), minutes(5), {"v": {"S": "old"}})
    deletions.delete(order(1), minutes(500), {"v": {"S": "newest"}})
    deletions.delete(order(2), minutes(5))
    store.lists = 0
    given = [KeyPlan(encode_key(order(1))), KeyPlan(encode_key({"PK": {"S": "never"}, "SK": {"S": "archived"}}))]
    outcomes = list(restorer(store, writer, window=TimeWindow()).run(given))
    assert [o.outcome for o in outcomes] == [KeyStatus.RESTORED, KeyStatus.SKIPPED]
    assert outcomes[1].reason == "nothing archived"
    assert writer.tables["orders"][encode_key(order(1))]["v"] == {"S": "newest"}
    assert store.lists == 2  # one prefix query per key, never the table


def test_numbers_and_binaries_reach_the_writer_exactly_as_archived(
    store: FakeArchiveStore, writer: FakeItemTable
) -> None:
    image = {"n": {"N": "-0.00000000000000000000000000000000000012345678901234567890123456789012345678"}}
    image |= {"b": {"B": "AP8="}, "ns": {"NS": ["1E+125", "99999999999999999999999999999999999999"]}}
    Deletions(store).delete(order(1), minutes(5), image)
    (outcome,) = restorer(store, writer).run(plans(store))
    assert outcome.outcome is KeyStatus.RESTORED
    written = writer.tables["orders"][encode_key(order(1))]
    assert json.dumps(written, sort_keys=True) == json.dumps({**order(1), **image}, sort_keys=True)

"""archiver.layouts: the compact layout's folders, read back, and the hours a window overlaps."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from archiver.layouts import (
    EPOCH_HOUR,
    compact_folder,
    compact_object_key,
    hour_folder,
    hours_in_window,
    read_compact_key,
)
from archiver.windows import TimeWindow

MOMENTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


def test_object_key_names_the_utc_hour_of_the_deletion() -> None:
    moment = datetime(2026, 12, 6, 23, 59, 59, tzinfo=UTC)
    key = compact_object_key("archive", "events", moment, "batch-1")
    assert key == "archive/events/compact/dt=2026-12-06/hh=23/batch-1.jsonl.gz"


def test_a_deletion_without_time_is_filed_under_the_epoch_hour() -> None:
    assert hour_folder("archive", "events", EPOCH_HOUR).endswith("/compact/dt=1970-01-01/hh=00/")


@given(MOMENTS, st.text(alphabet="0123456789abcdefTZ-", min_size=1, max_size=40))
def test_a_compact_key_reads_back_its_hour_and_name(moment: datetime, name: str) -> None:
    key = compact_object_key("archive/x", "t.1", moment, name)
    read = read_compact_key(key, "archive/x", "t.1")
    assert read is not None
    assert read.hour == moment.replace(minute=0, second=0, microsecond=0)
    assert read.name == name


def test_other_keys_of_the_table_are_not_compact_objects() -> None:
    folder = compact_folder("archive", "t")
    for key in (
        "archive/t/PK(S)a/20261206T000000Z-" + "0" * 40 + "-0123456789abcdef.json",
        f"{folder}dt=2026-12-06/hh=24/x.jsonl.gz",
        f"{folder}dt=2026-13-06/hh=01/x.jsonl.gz",
        f"{folder}dt=2026-12-06/hh=01/x.json",
        f"{folder}dt=2026-12-06/hh=01/sub/x.jsonl.gz",
        "archive/other/compact/dt=2026-12-06/hh=01/x.jsonl.gz",
    ):
        assert read_compact_key(key, "archive", "t") is None, key


@given(MOMENTS, st.integers(min_value=1, max_value=72 * 3600))
def test_the_hours_of_a_window_hold_every_moment_in_it_and_no_more(after: datetime, seconds: int) -> None:
    window = TimeWindow(after, after + timedelta(seconds=seconds))
    hours = list(hours_in_window(window) or [])
    assert hours[0] <= after < hours[0] + timedelta(hours=1)
    assert hours[-1] < window.before  # type: ignore[operator]
    assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(hours))
    assert window.before <= hours[-1] + timedelta(hours=1)  # type: ignore[operator]


def test_an_open_window_lists_every_hour() -> None:
    assert hours_in_window(TimeWindow(after=datetime(2026, 1, 1, tzinfo=UTC))) is None

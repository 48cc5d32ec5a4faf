"""Deletions per bucket: the shape of an incident, gaps included."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from archiver.stats import MAX_FILLED_BUCKETS, Bucket, Counts, bucket_start, count_by_bucket

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_counts_per_minute_keep_the_quiet_minutes_between() -> None:
    # given deletions at 10:00:05, 10:00:50 (user, ttl) and 10:03:00 (user)
    deletions = [
        (T0 + timedelta(seconds=5), "user"),
        (T0 + timedelta(seconds=50), "ttl"),
        (T0 + timedelta(minutes=3), "user"),
    ]

    # when counted per minute with kinds
    counts = count_by_bucket(deletions, Bucket.MINUTE, kinds_read=True)
    buckets = counts.buckets

    # then four buckets, the two quiet minutes at zero, each split by kind
    assert [(b.start.minute, b.total, b.by_kind) for b in buckets] == [
        (0, 2, {"user": 1, "ttl": 1}),
        (1, 0, {}),
        (2, 0, {}),
        (3, 1, {"user": 1}),
    ]
    assert counts.timeless == 0
    assert buckets[0].json_line("orders") == {
        "table": "orders",
        "start": "2026-11-25T10:00:00Z",
        "deletions": 2,
        "user": 1,
        "ttl": 1,
    }


def test_without_kinds_a_bucket_says_only_its_total() -> None:
    buckets = count_by_bucket([(T0, None)], Bucket.HOUR, kinds_read=False).buckets

    assert buckets[0].by_kind is None
    assert buckets[0].json_line("orders") == {"table": "orders", "start": "2026-11-25T10:00:00Z", "deletions": 1}


def test_a_deletion_without_time_is_counted_apart() -> None:
    counts = count_by_bucket([(None, "user"), (T0, "user")], Bucket.DAY, kinds_read=True)

    assert [b.total for b in counts.buckets] == [1]
    assert counts.timeless == 1


def test_nothing_gives_no_bucket() -> None:
    assert count_by_bucket([], Bucket.HOUR, kinds_read=True) == Counts([], 0)


@given(
    st.lists(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))),
    st.sampled_from(list(Bucket)),
)
def test_every_deletion_is_in_exactly_one_bucket_that_holds_its_time(moments: list[datetime], by: Bucket) -> None:
    counts = count_by_bucket([(m, "user") for m in moments], by, kinds_read=True)

    assert sum(b.total for b in counts.buckets) == len(moments)
    assert len(counts.buckets) <= max(MAX_FILLED_BUCKETS, len(moments))
    for moment in moments:
        start = bucket_start(moment, by)
        assert start <= moment < start + by.width
        assert start in {b.start for b in counts.buckets}
    starts = [b.start for b in counts.buckets]
    steps = {later - earlier for earlier, later in itertools.pairwise(starts)}
    assert steps <= {by.width} if counts.gaps_filled else all(step >= by.width for step in steps)

"""`archiver stats`: deletions counted per minute, hour or day, split by kind, to see an incident's shape.

The first question of an incident is when it started and when it stopped. Counting deletions per
bucket answers it without reading a body where the layout allows: an ``objects`` table's deletion
times are in its object names. Buckets with no deletion between the first and the last one are
kept (at zero), because a gap is part of the answer.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from archiver.windows import iso

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["MAX_FILLED_BUCKETS", "Bucket", "BucketCount", "Counts", "bucket_start", "count_by_bucket"]

#: Past this many buckets from the first deletion to the last, the empty ones are left out: a
#: chart of a year by the minute would be half a million lines of nothing.
MAX_FILLED_BUCKETS = 5000


class Bucket(StrEnum):
    """How wide each count is."""

    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"

    @property
    def width(self) -> timedelta:
        return {Bucket.MINUTE: timedelta(minutes=1), Bucket.HOUR: timedelta(hours=1), Bucket.DAY: timedelta(days=1)}[
            self
        ]


def bucket_start(moment: datetime, by: Bucket) -> datetime:
    """The start (UTC) of the bucket holding ``moment``."""
    moment = moment.astimezone(UTC).replace(second=0, microsecond=0)
    if by is Bucket.MINUTE:
        return moment
    moment = moment.replace(minute=0)
    return moment if by is Bucket.HOUR else moment.replace(hour=0)


@dataclass(frozen=True, slots=True)
class BucketCount:
    """Deletions in ``[start, start + width)``; ``by_kind`` is None where kinds were not read."""

    start: datetime
    total: int
    by_kind: dict[str, int] | None = None

    def json_line(self, table: str) -> dict[str, Any]:
        line: dict[str, Any] = {"table": table, "start": iso(self.start), "deletions": self.total}
        if self.by_kind is not None:
            line |= {"user": self.by_kind.get("user", 0), "ttl": self.by_kind.get("ttl", 0)}
            other = self.total - line["user"] - line["ttl"]
            if other:
                line["unknownKind"] = other
        return line


@dataclass(frozen=True, slots=True)
class Counts:
    """The buckets, oldest first; how many deletions had no time (no bucket holds them); and whether
    the empty buckets between the first and the last are there (not past MAX_FILLED_BUCKETS)."""

    buckets: list[BucketCount]
    timeless: int = 0
    gaps_filled: bool = True


def count_by_bucket(deletions: Iterable[tuple[datetime | None, str | None]], by: Bucket, *, kinds_read: bool) -> Counts:
    """Counts per bucket from (deletion time, kind) pairs, oldest first, empty buckets in between kept.

    Args:
        kinds_read: the kinds are known (a compact line, a HEAD): split each count by kind.
    """
    totals: Counter[datetime] = Counter()
    kinds: dict[datetime, Counter[str]] = {}
    timeless = 0
    for moment, kind in deletions:
        if moment is None:
            timeless += 1
            continue
        start = bucket_start(moment, by)
        totals[start] += 1
        if kinds_read:
            kinds.setdefault(start, Counter())[kind or ""] += 1
    if not totals:
        return Counts([], timeless)
    first, last = min(totals), max(totals)
    fill = (last - first) / by.width < MAX_FILLED_BUCKETS
    starts: Iterable[datetime] = _every_bucket(first, last, by) if fill else sorted(totals)
    buckets = [BucketCount(s, totals[s], dict(kinds.get(s, Counter())) if kinds_read else None) for s in starts]
    return Counts(buckets, timeless, fill)


def _every_bucket(first: datetime, last: datetime, by: Bucket) -> Iterable[datetime]:
    start = first
    while start <= last:
        yield start
        start = bucket_start(start + by.width, by)

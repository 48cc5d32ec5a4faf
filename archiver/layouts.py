"""Where the compact layout puts a table's deletions: one gzip JSON-lines object per batch and hour.

``<prefix>/<table>/compact/dt=YYYY-MM-DD/hh=HH/<name>.jsonl.gz``

- ``dt`` and ``hh`` are the UTC hour of the deletions the object holds (their deletion time, never
  the clock), so a time window reads only the hour folders it overlaps, and Athena's partition
  projection (``dt`` as a date, ``hh`` as a two-digit integer) prunes the same way.
- ``compact`` can never be an encoded key's folder (each of those holds ``(`` or is
  ``sha256-<hex>``), and it does not start with ``_``, which Athena would skip.
- A record that carries no deletion time is filed under the epoch hour
  (``dt=1970-01-01/hh=00``): its lines say ``"deletedAt": null``, so no bounded window holds it,
  as for the ``objects`` layout.

The object's name is the writer's (:mod:`archiver.compact`); a reader takes any ``.jsonl.gz``
directly under an hour folder, and the same deletion may be in two objects (a retried batch,
re-sliced): every reader keeps one line per (table, encoded key, version).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from archiver.archive import table_folder

if TYPE_CHECKING:
    from collections.abc import Iterator

    from archiver.windows import TimeWindow

__all__ = [
    "COMPACT_FOLDER",
    "COMPACT_SUFFIX",
    "EPOCH_HOUR",
    "CompactName",
    "compact_folder",
    "compact_object_key",
    "hour_folder",
    "hour_of",
    "hours_in_window",
    "read_compact_key",
]

COMPACT_FOLDER = "compact"
COMPACT_SUFFIX = ".jsonl.gz"
#: The hour folder of records that carry no deletion time.
EPOCH_HOUR = datetime(1970, 1, 1, tzinfo=UTC)
_HOUR_PATH = re.compile(r"dt=(?P<day>\d{4}-\d{2}-\d{2})/hh=(?P<hour>\d{2})/(?P<name>[^/]+)")
_HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class CompactName:
    """What a compact object's key says: its table folder's hour (UTC, on the hour) and its name."""

    object_key: str
    hour: datetime
    name: str


def compact_folder(prefix: str, table: str) -> str:
    """The folder of every compact object of one table, ending in '/'."""
    return f"{table_folder(prefix, table)}{COMPACT_FOLDER}/"


def hour_of(moment: datetime | None) -> datetime:
    """The UTC hour a deletion at ``moment`` is filed under (the epoch hour for no time)."""
    if moment is None:
        return EPOCH_HOUR
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hour_folder(prefix: str, table: str, hour: datetime) -> str:
    """``<table folder>compact/dt=YYYY-MM-DD/hh=HH/`` for the hour holding ``hour``."""
    start = hour_of(hour)
    return f"{compact_folder(prefix, table)}dt={start:%Y-%m-%d}/hh={start:%H}/"


def compact_object_key(prefix: str, table: str, hour: datetime, name: str) -> str:
    """The key of the compact object ``name`` (without its suffix) in the hour holding ``hour``."""
    return f"{hour_folder(prefix, table, hour)}{name}{COMPACT_SUFFIX}"


def read_compact_key(object_key: str, prefix: str, table: str) -> CompactName | None:
    """The hour and name a compact object key of ``table`` says; None for anything else."""
    folder = compact_folder(prefix, table)
    if not object_key.startswith(folder) or not object_key.endswith(COMPACT_SUFFIX):
        return None
    match = _HOUR_PATH.fullmatch(object_key[len(folder) :])
    if match is None:
        return None
    try:
        hour = datetime.strptime(f"{match['day']}T{match['hour']}", "%Y-%m-%dT%H").replace(tzinfo=UTC)
    except ValueError:
        return None
    return CompactName(object_key, hour, match["name"].removesuffix(COMPACT_SUFFIX))


def hours_in_window(window: TimeWindow) -> Iterator[datetime] | None:
    """Each hour a bounded window overlaps, oldest first; None where an end is open (list them all).

    The hour holding ``after`` is included (it may hold deletions at or after it), the hour starting
    at ``before`` is not (``deleted-at < before``).
    """
    if window.after is None or window.before is None:
        return None
    after, before = window.after, window.before

    def hours() -> Iterator[datetime]:
        hour = hour_of(after)
        while hour < before:
            yield hour
            hour += _HOUR

    return hours()

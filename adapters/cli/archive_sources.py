"""Which archive objects a query or a count must read, found from their names before any is opened.

- ``objects`` tables: the table folder is listed in parallel slices (``catalog.list_folder``), and
  a version is kept when the deletion time its name starts with is in the window (as ``list``).
- ``compact`` tables: a bounded window lists only the ``dt=/hh=`` hour folders it overlaps, in
  parallel, one prefix each; an open end lists the table's ``compact/`` folder from (or up to) the
  window's hour, since S3 lists in key order and ``dt=YYYY-MM-DD/hh=HH`` sorts by time.

Nothing here reads a body; the window is applied again to each row's ``deleted_at`` by the engine,
since a compact hour holds the whole hour.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from adapters.cli.catalog import list_folder
from archiver.archive import table_folder
from archiver.layouts import compact_folder, hour_folder, hours_in_window, read_compact_key
from archiver.listing import read_object_key
from archiver.policy import Layout
from archiver.query import TableSource

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from datetime import datetime

    from adapters.config import TableConfig
    from archiver.ports import ArchiveStore
    from archiver.windows import TimeWindow

__all__ = ["SourceObject", "objects_to_read", "table_source"]

_HOUR = timedelta(hours=1)


def table_source(table: TableConfig) -> TableSource:
    """A configured table as a query or a count reads it: name, prefix and layout."""
    return TableSource(table.name, table.prefix, Layout(table.layout))


@dataclass(frozen=True, slots=True)
class SourceObject:
    """One object to read: whose, in which layout; for ``objects``, the key folder and version its name says."""

    table: str
    layout: Layout
    object_key: str
    encoded_key: str | None = None
    version: str | None = None
    deleted_at: datetime | None = None


def objects_to_read(
    store: ArchiveStore,
    sources: Sequence[TableSource],
    window: TimeWindow,
    *,
    concurrency: int = 16,
    on_page: Callable[[int], None] = lambda _: None,
) -> list[SourceObject]:
    """Every object of ``sources`` that may hold a deletion in ``window``, in table then key order.

    Raises:
        StoreUnavailableError: a listing failed (after the store's retries).
    """
    found: list[SourceObject] = []
    for source in sources:
        if source.layout is Layout.COMPACT:
            found += _compact_objects(store, source, window, concurrency, on_page)
        else:
            found += _versions(store, source, window, concurrency, on_page)
    return found


def _versions(
    store: ArchiveStore, source: TableSource, window: TimeWindow, concurrency: int, on_page: Callable[[int], None]
) -> list[SourceObject]:
    folder = table_folder(source.prefix, source.table)
    keys = list_folder(store, folder, concurrency=concurrency, on_page=on_page) or []
    names = (read_object_key(key, folder) for key in keys)
    return [
        SourceObject(source.table, Layout.OBJECTS, n.object_key, n.encoded_key, n.version, n.deleted_at)
        for n in names
        if n is not None and window.contains(n.deleted_at)
    ]


def _compact_objects(
    store: ArchiveStore, source: TableSource, window: TimeWindow, concurrency: int, on_page: Callable[[int], None]
) -> list[SourceObject]:
    hours = hours_in_window(window)
    if hours is not None:
        folders = [hour_folder(source.prefix, source.table, hour) for hour in hours]
        with ThreadPoolExecutor(concurrency, thread_name_prefix="list") as pool:
            listed = pool.map(lambda folder: _listed(store, folder, on_page=on_page), folders)
            keys = [key for page in listed for key in page]
    else:
        start = hour_folder(source.prefix, source.table, window.after) if window.after is not None else ""
        # the hour holding ``before`` may hold deletions before it: stop at the next hour's folder
        end = hour_folder(source.prefix, source.table, window.before + _HOUR) if window.before is not None else None
        keys = _listed(store, compact_folder(source.prefix, source.table), start, end, on_page)
    found = []
    for key in keys:
        name = read_compact_key(key, source.prefix, source.table)
        if name is not None and _overlaps(name.hour, window):
            found.append(SourceObject(source.table, Layout.COMPACT, key))
    return found


def _listed(
    store: ArchiveStore,
    prefix: str,
    start_after: str = "",
    end_before: str | None = None,
    on_page: Callable[[int], None] = lambda _: None,
) -> list[str]:
    """The keys under ``prefix`` after ``start_after`` and before ``end_before``, in order (a sequential walk)."""
    keys: list[str] = []
    listing: Iterable[str] = store.list_keys(prefix, start_after)
    for key in listing:
        if end_before is not None and key >= end_before:
            break
        keys.append(key)
    on_page(len(keys))
    return keys


def _overlaps(hour: datetime, window: TimeWindow) -> bool:
    """Whether the hour starting at ``hour`` can hold a deletion of ``window`` (the epoch hour holds
    records without a time, which only the unbounded window takes)."""
    if not window.bounded:
        return True
    return (window.after is None or hour + _HOUR > window.after) and (window.before is None or hour < window.before)

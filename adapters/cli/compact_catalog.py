"""Finding deletions in a compact table: `list`, `show` and `restore` read its compact objects through this.

A compact table keeps each delivered batch as one gzip JSON-lines object per hour
(``<prefix>/<table>/compact/dt=YYYY-MM-DD/hh=HH/<name>.jsonl.gz``, :mod:`archiver.layouts`), so the
only way to know which keys an object holds is to read it. What is read:

- a window reads only the hour folders it overlaps: one listing of the folder from the window's
  first hour, stopped at its end (hour folders sort by time), then a GET of each object in it;
- a key without a window reads every compact object of the table (it may be in any hour); the
  command says so on stderr, and progress shows the objects read;
- a restore of a window reads from the window's first hour to the newest: a key deleted again
  after the window must be seen to be skipped, and only the objects after the window can say so.

GETs run on a bounded pool, each object inflated as its bytes arrive
(:func:`archiver.compact_reader.read_compact_object`), and a deletion stored in two objects is
listed once (:class:`archiver.compact_reader.CompactIndex`). The names produced are the same
``ArchivedVersion`` entries an ``objects`` table gives, with the compact object's key as object key,
so every command prints and decides alike for both layouts.
"""

from __future__ import annotations

import functools
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol, TypeVar

from adapters.cli.app import say
from adapters.cli.catalog import ArchivedVersion, CatalogError, pick_version
from adapters.cli.progress import Progress
from archiver.compact_reader import CompactIndex, CompactRead, read_compact_object
from archiver.keys import encode_key
from archiver.layouts import compact_folder, hour_folder, hour_of, read_compact_key
from archiver.policy import Layout
from archiver.ports import ArchiveStore, ObjectNotFoundError, StoreUnavailableError
from archiver.restore_plan import KeyPlan, plan_window
from archiver.windows import TimeWindow, iso

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from datetime import datetime

    from adapters.config import TableConfig
    from archiver.listing import ArchiveName

__all__ = [
    "CompactSource",
    "compact_object_keys",
    "find_compact_version",
    "layout_of",
    "list_compact_versions",
    "plan_compact_restore",
    "read_compact_table",
]

T = TypeVar("T")

#: Compact objects read at once when the command has no --concurrency (show).
DEFAULT_CONCURRENCY = 16


class CompactSource(ArchiveStore, Protocol):
    """What reading compact objects needs beyond the core's ArchiveStore: a GET streamed to a reader."""

    def read_streamed(self, key: str, consume: Callable[[Iterator[bytes]], T], chunk_size: int = ...) -> T:
        """``consume`` of the object's body as it arrives (retried whole where the stream drops)."""


def layout_of(table: TableConfig) -> Layout:
    """The table's layout in the configuration, as the core's value."""
    return Layout(table.layout)


def compact_object_keys(store: ArchiveStore, prefix: str, table: str, reading: TimeWindow) -> list[str]:
    """The compact objects of ``table`` in the hour folders ``reading`` overlaps (every one for an open
    window), oldest hour first; anything else under the compact folder is left out.

    One listing from the first hour's folder, stopped where the hour after the window's end begins:
    keys sort by ``dt=``/``hh=``, so nothing outside the window's hours is fetched beyond the last
    page's tail.
    """
    folder = compact_folder(prefix, table)
    start_after = hour_folder(prefix, table, reading.after) if reading.after is not None else ""
    end_before = hour_folder(prefix, table, _hour_after(reading.before)) if reading.before is not None else None
    found: list[str] = []
    keys = store.list_keys(folder, start_after)
    try:
        for key in keys:
            if end_before is not None and key >= end_before:
                break
            if read_compact_key(key, prefix, table) is not None:
                found.append(key)
    finally:
        close = getattr(keys, "close", None)
        if close is not None:
            close()  # a generator asked for no more: it fetches no further page
    return found


def _hour_after(before: datetime) -> datetime:
    """The first hour holding nothing before ``before``: its own hour where it is on the hour, else the next."""
    hour = hour_of(before)
    return hour if hour == before else hour + timedelta(hours=1)


def read_compact_table(
    store: CompactSource,
    prefix: str,
    table: str,
    reading: TimeWindow,
    *,
    encoded_key: str | None = None,
    keep_body: Callable[[ArchiveName], bool] = lambda _: False,
    concurrency: int = DEFAULT_CONCURRENCY,
    stop: Callable[[], bool] = lambda: False,
) -> CompactIndex | None:
    """Every deletion (each once) in the compact objects of the hours ``reading`` overlaps; None if
    ``stop()`` turned true. An object that cannot be read or is corrupt is a problem in the index,
    named, and the other objects are read all the same.

    Args:
        encoded_key: only this key's deletions (the other lines are not even parsed).
        keep_body: which deletions' lines to keep for :meth:`CompactIndex.body`.
    """
    with Progress(f"listing compact objects of {table}") as listing:
        keys = compact_object_keys(store, prefix, table, reading)
        listing.advance(len(keys))
    if encoded_key is not None and not reading.bounded:
        say(f"note: {table} is a compact table and no window was given: reading all {len(keys)} compact object(s)")
    index = CompactIndex(keep_body)
    one = functools.partial(_read_one, store, table=table, encoded_key=encoded_key)
    pending: set[Future[CompactRead]] = set()
    waiting = iter(keys)
    with (
        ThreadPoolExecutor(concurrency, thread_name_prefix="compact") as pool,
        Progress(f"reading compact objects of {table}", len(keys)) as progress,
    ):
        while True:
            # at most two objects a thread in flight or done and unread: memory stays bounded
            pending |= {pool.submit(one, key) for key in _take(waiting, 2 * concurrency - len(pending))}
            if not pending:
                break
            if stop():
                for future in pending:
                    future.cancel()
                return None
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                index.add(future.result())
                progress.advance()
    index.problems.sort()
    return index


def _take(keys: Iterator[str], count: int) -> list[str]:
    return [key for _, key in zip(range(max(0, count)), keys, strict=False)]


def _read_one(store: CompactSource, object_key: str, *, table: str, encoded_key: str | None) -> CompactRead:
    consume = functools.partial(read_compact_object, object_key, table=table, encoded_key=encoded_key)
    try:
        return store.read_streamed(object_key, consume)
    except (StoreUnavailableError, ObjectNotFoundError) as error:
        return CompactRead(object_key, (), (f"{object_key}: could not be read ({error})",))


def _version(name: ArchiveName, table: str, kind: str | None) -> ArchivedVersion:
    return ArchivedVersion(
        name.object_key,
        table,
        name.encoded_key,
        name.key,
        name.version,
        iso(name.deleted_at),
        kind=kind,
        deleted_time=name.deleted_at,
    )


def list_compact_versions(
    store: CompactSource,
    table: TableConfig,
    key: Mapping[str, Mapping[str, str]] | None,
    window: TimeWindow,
    *,
    with_kind: bool,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> tuple[list[ArchivedVersion], list[str]]:
    """The versions in ``window`` (of one key, or every key), newest first, each deletion once, and the
    problems met (objects that could not be read, bad lines).

    ``with_kind``: fill in each version's kind (from its line: no extra request), where an ``objects``
    table's listing would have read it, so that both print the same fields.
    """
    index = read_compact_table(
        store,
        table.prefix,
        table.name,
        window,
        encoded_key=encode_key(key) if key is not None else None,
        concurrency=concurrency,
    )
    assert index is not None  # no stop given
    versions = [
        _version(name, table.name, index.kind(name) if with_kind else None)
        for name in index.names()
        if window.contains(name.deleted_at)
    ]
    return versions, index.problems


def find_compact_version(
    store: CompactSource,
    table: TableConfig,
    key: Mapping[str, Mapping[str, str]],
    version: str | None,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> tuple[ArchivedVersion, bytes, list[str]]:
    """The latest version of the key (or the one ``version`` starts), its line, and the problems met.

    Raises:
        CatalogError: nothing is archived for the key, or no (or more than one) version matches;
            the problems met are said first, since one of them may be why.
    """
    encoded = encode_key(key)
    index = read_compact_table(
        store,
        table.prefix,
        table.name,
        TimeWindow(),
        encoded_key=encoded,
        keep_body=lambda _: True,
        concurrency=concurrency,
    )
    assert index is not None  # no stop given
    versions = [_version(name, table.name, index.kind(name)) for name in index.names()]
    where = f"read {index.objects} compact object(s) under {compact_folder(table.prefix, table.name)}"
    try:
        chosen = pick_version(versions, key, table.name, version, where)
    except CatalogError:
        for problem in index.problems:
            say(f"archiver: error: {problem}")
        raise
    name = next(n for n in index.names() if n.version == chosen.version)
    return chosen, index.body(name), index.problems


def plan_compact_restore(
    store: CompactSource,
    table: TableConfig,
    window: TimeWindow,
    keys: Sequence[str] | None,
    *,
    concurrency: int,
    stop: Callable[[], bool],
) -> tuple[list[KeyPlan], CompactIndex] | None:
    """The keys to restore (those deleted in ``window``, or the encoded ``keys`` given), each with every
    version read, and the index that holds the bodies they may put back; None if stopped.

    Reads from the window's first hour to the newest (see the module docstring), and keeps the body
    of each deletion in the window of a wanted key only: a chosen version is always one of those.
    """
    wanted = set(keys) if keys is not None else None

    def restorable(name: ArchiveName) -> bool:
        return window.contains(name.deleted_at) and (wanted is None or name.encoded_key in wanted)

    reading = TimeWindow(window.after, None)
    index = read_compact_table(
        store, table.prefix, table.name, reading, keep_body=restorable, concurrency=concurrency, stop=stop
    )
    if index is None:
        return None
    names = index.names()
    if keys is None:
        return plan_window(names, window), index
    by_key: dict[str, list[ArchiveName]] = {}
    for name in names:
        by_key.setdefault(name.encoded_key, []).append(name)
    plans = [KeyPlan(key, tuple(sorted(by_key.get(key, ()), key=lambda n: n.version))) for key in keys]
    return plans, index

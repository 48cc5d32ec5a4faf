"""`archiver stats`: deletions per minute, hour or day as a bar chart, to see when an incident started and stopped.

What it reads, and what that costs:

- ``objects`` tables: object names only (a parallel listing, 1,000 names a request); the deletion
  time is in each name. The kind is not: it is in each object's metadata, one HEAD per object.
  So without ``--kind`` the counts are not split by kind (a note says what splitting would cost);
  with ``--kind`` every object in the window is HEADed in parallel and only that kind is counted.
- ``compact`` tables: the hour folders of the window are read (through the query engine's cache,
  so a later ``archiver query`` over the same window reads nothing again); the kind comes free.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from typing import TYPE_CHECKING, Any

from adapters.cli import archive_sources
from adapters.cli.app import open_app, say
from adapters.cli.catalog import parse_object_key, read_kinds
from adapters.cli.object_cache import open_cache
from adapters.cli.options import add_command, aws_options, window_options
from adapters.cli.progress import Progress
from adapters.cli.query_engine import DuckDBQueryEngine
from archiver.policy import Layout
from archiver.query import QueryRequest
from archiver.stats import Bucket, Counts, count_by_bucket
from archiver.windows import TimeWindow

if TYPE_CHECKING:
    import argparse
    from datetime import datetime

    from adapters.cli.app import App
    from archiver.query import TableSource

__all__ = ["register"]

_BAR_WIDTH = 50
#: What a HEAD costs (S3 Standard GET/HEAD tier, us-east-1, per 1,000; see adapters/cli/prices.json).
_USD_PER_1000_HEADS = 0.0004
_LABEL = {Bucket.MINUTE: "%Y-%m-%d %H:%M", Bucket.HOUR: "%Y-%m-%d %H:00", Bucket.DAY: "%Y-%m-%d"}


def _stats(args: argparse.Namespace) -> int:
    window = TimeWindow(args.deleted_after, args.deleted_before)
    by = Bucket(args.by)
    with open_app(args) as app:
        source = archive_sources.table_source(app.config.table(args.table))
        if source.layout is Layout.COMPACT:
            deletions, kinds_read = _compact_deletions(app, args, source, window), True
        else:
            deletions, kinds_read = _named_deletions(app, args, source, window)
    if args.kind is not None:
        deletions = [(moment, kind) for moment, kind in deletions if kind == args.kind]
    counts = count_by_bucket(deletions, by, kinds_read=kinds_read and args.kind is None)
    if args.json:
        for bucket in counts.buckets:
            print(json.dumps(bucket.json_line(source.table)))
    else:
        print(_chart(source.table, counts, by, window, args.kind))
    if counts.timeless:
        say(f"note: {counts.timeless} deletion(s) carry no time (no bucket holds them)")
    return 0


def _named_deletions(
    app: App, args: argparse.Namespace, source: TableSource, window: TimeWindow
) -> tuple[list[tuple[datetime | None, str | None]], bool]:
    """(time, kind) of each version in the window, from names; kinds by a HEAD each, only with --kind."""
    store = app.store()
    with Progress(f"listing {source.table}") as listing:
        found = archive_sources.objects_to_read(
            store, [source], window, concurrency=args.concurrency, on_page=listing.advance
        )
    if args.kind is None:
        cost = len(found) * _USD_PER_1000_HEADS / 1000
        seconds = len(found) / args.concurrency / 40  # ~25 ms a HEAD
        say(
            f"kinds not split: an objects table keeps each deletion's kind in its object's metadata, one HEAD "
            f"per object ({len(found):,} here: {f'${cost:.2f}' if cost >= 0.01 else 'under $0.01'}, "
            f"{f'about {seconds:.0f} s' if seconds >= 1 else 'under a second'} at {args.concurrency} at once); "
            "--kind user|ttl reads them"
        )
        return [(s.deleted_at, None) for s in found], False
    versions = [v for v in (parse_object_key(s.object_key, source.prefix, source.table) for s in found) if v]
    with ThreadPoolExecutor(args.concurrency) as pool, Progress("reading kinds", len(versions)) as progress:
        versions, problems = read_kinds(store, versions, pool.map, progress.advance)
    for problem in problems:
        say(f"archiver: error: {problem}")
    return [(v.deleted_time, v.kind) for v in versions], True


def _compact_deletions(
    app: App, args: argparse.Namespace, source: TableSource, window: TimeWindow
) -> list[tuple[datetime | None, str | None]]:
    """(time, kind) of each deletion in the window, read from the compact objects (cached)."""
    with open_cache(args.cache, args.no_cache, app.config.bucket) as cache:
        engine = DuckDBQueryEngine(app.store(), cache, concurrency=args.concurrency, say=say)
        result = engine.run(QueryRequest("SELECT deleted_at, kind FROM deletions", (source,), window))
    return [(_utc(moment), str(kind) if kind is not None else None) for moment, kind in result.rows]  # type: ignore[arg-type]


def _utc(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _chart(table: str, counts: Counts, by: Bucket, window: TimeWindow, kind: str | None) -> str:
    """A bar per bucket: user deletions as █, TTL deletions as ░ (where kinds were read)."""
    what = f"{kind} deletions" if kind else "deletions"
    if not counts.buckets:
        return f"{table}: no {what} {window.describe()}"
    busy = [b for b in counts.buckets if b.total]
    total = sum(b.total for b in busy)
    peak = max(busy, key=lambda b: b.total)
    lines = [
        f"{table}: {total:,} {what} {window.describe()}; first in {busy[0].start:{_LABEL[by]}}, "
        f"last in {busy[-1].start:{_LABEL[by]}} UTC, peak {peak.total:,} in {peak.start:{_LABEL[by]}}",
    ]
    if peak.by_kind is not None:
        lines.append("█ user  ░ ttl")
    if not counts.gaps_filled:
        lines.append(f"(only {by.value}s with deletions are shown: too many to draw every one)")
    width = len(f"{peak.total:,}")
    for bucket in counts.buckets:
        label = f"{bucket.start:{_LABEL[by]}}"
        if bucket.by_kind is None:
            bar = "█" * _length(bucket.total, peak.total)
            detail = ""
        else:
            user, ttl = bucket.by_kind.get("user", 0), bucket.by_kind.get("ttl", 0)
            bar = "█" * _length(user, peak.total) + "░" * _length(ttl, peak.total)
            detail = f"  user {user:,}, ttl {ttl:,}" if bucket.total else ""
        lines.append(f"{label}  {bucket.total:>{width},}  {bar.ljust(_BAR_WIDTH)}{detail}".rstrip())
    return "\n".join(lines)


def _length(count: int, peak: int) -> int:
    """Bar length: proportional to the peak, and never zero for a non-zero count."""
    return max(1, round(count * _BAR_WIDTH / peak)) if count else 0


def register(commands: Any) -> None:
    stats = add_command(
        commands,
        "stats",
        _stats,
        "deletions per minute, hour or day as a bar chart: when did it start, when did it stop",
        "Count a table's deletions per bucket (--by minute|hour|day, UTC), drawn as a bar chart, or JSON lines\n"
        "with --json (table, start, deletions, and user/ttl where kinds were read). For an objects table the\n"
        "times come from object names alone; the kind needs a HEAD per object, so counts are split by kind\n"
        "only with --kind (which reads them). A compact table's objects are read (and cached): kinds come free.",
        parents=[aws_options(), window_options()],
    )
    stats.add_argument("--table", required=True, help="a table named in the configuration")
    stats.add_argument("--by", choices=[b.value for b in Bucket], default="hour", help="bucket width (default hour)")
    stats.add_argument("--json", action="store_true", help="print JSON lines instead of the chart")
    cache = stats.add_mutually_exclusive_group()
    cache.add_argument("--cache", metavar="DIR", help="compact tables: keep fetched objects here")
    cache.add_argument("--no-cache", action="store_true", help="compact tables: fetch into a temporary folder")

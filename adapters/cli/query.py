"""`archiver query`: SQL over the ``deletions`` of the archive, on DuckDB here or on Athena in the account.

Flags in, one engine call, rendering out. The engine is chosen by ``--engine`` and built here; both
offer the relation :data:`archiver.query.DELETIONS_COLUMNS` describes, and the output is written by
``query_output`` whatever the engine.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

from adapters.cli import archive_sources
from adapters.cli.app import open_app, say
from adapters.cli.object_cache import open_cache
from adapters.cli.options import add_command, aws_options, bounded_int, utc_time
from adapters.cli.query_engine import DuckDBQueryEngine
from adapters.cli.query_output import print_result, write_output
from archiver.query import DELETIONS_COLUMNS, Column, QueryError, QueryRequest, QueryResult
from archiver.windows import TimeWindow

if TYPE_CHECKING:
    import argparse

    from adapters.cli.app import App
    from adapters.cli.object_cache import ObjectCache
    from archiver.query import QueryEngine

__all__ = ["register"]


def _query(args: argparse.Namespace) -> int:
    window = TimeWindow(args.deleted_after, args.deleted_before)
    with open_app(args) as app:
        names = args.table or [t.name for t in app.config.tables]
        request = QueryRequest(
            args.sql, tuple(archive_sources.table_source(app.config.table(n)) for n in names), window
        )
        with open_cache(args.cache, args.no_cache, app.config.bucket) as cache:
            result = _engine(args, app, cache).run(request)
    if args.output:
        say(write_output(result, args.output))
        return 0
    note = print_result(result, args.format)
    if note:
        say(note)
    return 0


def _engine(args: argparse.Namespace, app: App, cache: ObjectCache) -> QueryEngine:
    if args.engine == "athena":
        return _AthenaEngine(app)
    return DuckDBQueryEngine(app.store(), cache, concurrency=args.concurrency, say=say)


class _AthenaEngine:
    """The seam for ``--engine athena``: adapters/aws/athena_engine.py (another branch) runs the query
    on the Glue tables terraform/modules/archive-query creates; this turns its result into ours."""

    def __init__(self, app: App) -> None:
        self.app = app

    def run(self, request: QueryRequest) -> QueryResult:
        try:
            module: Any = importlib.import_module("adapters.aws.athena_engine")
        except ImportError:
            raise QueryError("--engine athena is not part of this installation; use --engine duckdb") from None
        sql_module: Any = sys.modules.get("adapters.aws.athena_sql")  # where its refusals come from, once imported
        named = [getattr(m, n, None) for m in (module, sql_module) for n in ("AthenaQueryError", "QueryRefusedError")]
        errors: tuple[type[Exception], ...] = tuple(
            e for e in named if isinstance(e, type) and issubclass(e, Exception)
        )
        client = self.app.clients.session.client("athena", config=self.app.clients.config)
        engine = module.AthenaQueryEngine.for_environment(
            client, self.app.config.environment, [(t.table, t.layout.value) for t in request.tables]
        )
        try:
            found = engine.run(request.sql, deleted_after=request.window.after, deleted_before=request.window.before)
        except errors as error:  # its own errors, said in one line as DuckDB's are
            raise QueryError(str(error)) from None
        say(f"athena: {found.bytes_scanned:,} bytes scanned, about ${found.cost_usd} (query {found.query_id})")
        columns = tuple(Column(name, kind) for name, kind in zip(found.columns, found.types, strict=True))
        return QueryResult(columns, found.rows)


def _described_columns() -> str:
    width = max(len(c.name) for c in DELETIONS_COLUMNS)
    return "\n".join(f"  {c.name.ljust(width)}  {c.type:<9}  {c.description}" for c in DELETIONS_COLUMNS)


def register(commands: Any) -> None:
    query = add_command(
        commands,
        "query",
        _query,
        "SQL over the archived deletions (DuckDB here, or Athena)",
        "Run one SELECT over the relation `deletions`: each archived deletion once, every configured table\n"  # noqa: S608 - help text
        "(or those named with --table), both layouts. Columns:\n"
        f"{_described_columns()}\n"
        "attr(image, 'name') gives a top-level attribute's value as VARCHAR. The window flags prune by object\n"
        "names and hour folders before anything is read; objects are cached locally (write-once).\n"
        "Example:\n"
        "  archiver query --deleted-after 2026-11-25T10:00Z --deleted-before 2026-11-25T11:00Z \\\n"
        "    \"SELECT attr(image, 'status') AS status, count(*) FROM deletions GROUP BY ALL\"",
        parents=[aws_options()],
    )
    query.add_argument("sql", metavar="SQL", help="one SELECT over `deletions`")
    query.add_argument(
        "--table", action="append", help="a configured table (repeat for more; default: every configured table)"
    )
    query.add_argument(
        "--deleted-after", type=utc_time, metavar="TIME", help="deletions at or after TIME (ISO 8601 UTC)"
    )
    query.add_argument("--deleted-before", type=utc_time, metavar="TIME", help="deletions strictly before TIME")
    query.add_argument(
        "--format",
        choices=["table", "json", "csv"],
        default="table",
        help="stdout as a table (default), JSON lines (JSON columns as JSON values) or CSV",
    )
    query.add_argument("--output", metavar="PATH", help="write the rows to PATH instead: .parquet, .csv or .jsonl")
    query.add_argument("--engine", choices=["duckdb", "athena"], default="duckdb", help="where the query runs")
    cache = query.add_mutually_exclusive_group()
    cache.add_argument("--cache", metavar="DIR", help="keep fetched objects here (default ~/.cache/dynamo-archive/...)")
    cache.add_argument("--no-cache", action="store_true", help="fetch into a temporary folder, removed on exit")
    query.add_argument(
        "--concurrency", type=bounded_int(1, 256), default=16, metavar="N", help="requests at once (default 16)"
    )

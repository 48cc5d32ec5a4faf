"""DuckDBQueryEngine: `archiver query` on the operator's machine, over objects fetched with boto3.

DuckDB's own S3 reader cannot be installed here (and would not see moto or LocalStack the same
way), so the objects are found by name (``archive_sources``), fetched once into the local cache
(``object_cache``) and read by DuckDB with fixed column types, in two ways:

- compact objects as stored (gzip JSON lines, many lines each): DuckDB reads the cached files
  themselves, and their names are mapped back to object keys through a small catalog file;
- ``objects`` bodies (one small file each: DuckDB spends ~0.5 ms per file it opens) and compact
  lines that DuckDB cannot read as stored (a lone surrogate escape) or that must carry ``item``
  (built in Python) go through one JSON-lines file (``deletion_lines``).

No path built from a key ever reaches DuckDB: cache files are named by digest, and a cache folder
whose name holds a glob character is refused.

The query then runs in a connection that can do nothing but read those files: the statement is
checked first (one SELECT or EXPLAIN, :func:`archiver.query.check_reads_only`, with DuckDB's own
parser naming its kind), and the connection is locked before the operator's SQL reaches it (no
file outside the query's folder and the cache, no extension loaded or installed, settings frozen),
so even a SELECT cannot read or write anything else on the machine.

Longer than most modules because the view's SQL (two sources, the window, the dedup, ``attr``)
is kept beside the code that fills its files.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.cli.archive_sources import objects_to_read
from adapters.cli.deletion_lines import LineWriter
from adapters.cli.progress import Progress
from archiver.policy import Layout
from archiver.query import RELATION, Column, QueryError, QueryResult, check_reads_only, describe_tables
from archiver.windows import iso

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    import duckdb

    from adapters.cli.archive_sources import SourceObject
    from adapters.cli.deletion_lines import WrittenLines
    from adapters.cli.object_cache import ObjectCache
    from archiver.ports import ArchiveStore
    from archiver.query import QueryRequest
    from archiver.windows import TimeWindow

__all__ = ["DuckDBQueryEngine", "needs_item"]

_BODY = (
    'STRUCT("encodedKey" VARCHAR, "key" JSON, "version" VARCHAR, "deletedAt" VARCHAR, '
    '"deletion" STRUCT("kind" VARCHAR), "imageMissing" BOOLEAN, "image" JSON)'
)
_LINE_COLUMNS = {"t": "VARCHAR", "o": "VARCHAR", "k": "VARCHAR", "v": "VARCHAR", "i": "VARCHAR", "b": _BODY}
#: A compact line as stored: the body's fields and ``version``.
_COMPACT_COLUMNS = {
    "encodedKey": "VARCHAR",
    "key": "JSON",
    "version": "VARCHAR",
    "deletedAt": "VARCHAR",
    "deletion": 'STRUCT("kind" VARCHAR)',
    "imageMissing": "BOOLEAN",
    "image": "JSON",
}


class _UnreadableAsStoredError(Exception):
    """DuckDB could not read a compact object as stored (a lone surrogate escape, a broken line)."""


#: attr(image, 'name'): a top-level attribute's value as VARCHAR. S, N (its exact text) and B as
#: stored, BOOL as true/false, NULL and a missing attribute as NULL, a set, list or map as its
#: DynamoDB JSON text. The name is looked up as a JSON pointer, so '.', '"' or '$' in it are plain.
_ATTR_MACRO = """
CREATE TEMP MACRO attr(image, name) AS (
  WITH v AS (SELECT json_extract(image, '/' || replace(replace(name, '~', '~0'), '/', '~1')) AS value),
       t AS (SELECT value, json_keys(value)[1] AS tag FROM v)
  SELECT CASE WHEN tag IS NULL OR tag = 'NULL' THEN NULL
              WHEN tag IN ('S', 'N', 'B', 'BOOL') THEN json_extract_string(value, '$.' || tag)
              ELSE CAST(json_extract(value, '$.' || tag) AS VARCHAR) END
  FROM t
)
"""


class DuckDBQueryEngine:
    """Runs queries over the ``deletions`` of the archive in ``store``, objects cached in ``cache``.

    Args:
        say: where a line for the person goes (what will be read, what was changed); stderr in the CLI.
    """

    def __init__(
        self,
        store: ArchiveStore,
        cache: ObjectCache,
        *,
        concurrency: int = 16,
        say: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.store = store
        self.cache = cache
        self.concurrency = concurrency
        self.say = say

    def run(self, request: QueryRequest) -> QueryResult:
        """See :class:`archiver.query.QueryEngine`."""
        duckdb = _duckdb()
        try:
            kinds = [statement.type.name for statement in duckdb.extract_statements(request.sql)]
        except duckdb.Error as error:
            raise QueryError(_one_line(error)) from None
        check_reads_only(kinds)
        with_item = needs_item(request.sql)
        sources = self._sources(request)
        files = self._fetch(sources)
        compact = [] if with_item else [s for s in sources if s.layout is Layout.COMPACT]
        with tempfile.TemporaryDirectory(prefix="archiver-query-") as folder:
            try:
                return self._query(request, Path(folder), sources, files, compact, with_item=with_item)
            except _UnreadableAsStoredError:  # a compact object DuckDB cannot read as it is: through Python
                return self._query(request, Path(folder), sources, files, [], with_item=with_item)

    def _query(
        self,
        request: QueryRequest,
        folder: Path,
        sources: list[SourceObject],
        files: dict[str, Path],
        compact: list[SourceObject],
        *,
        with_item: bool,
    ) -> QueryResult:
        """Run the query with ``compact`` objects read by DuckDB as stored, and the rest as one lines file."""
        duckdb = _duckdb()
        direct = {s.object_key for s in compact}
        lines_file = folder / "deletions.jsonl"
        written = self._write_lines([s for s in sources if s.object_key not in direct], files, lines_file, with_item)
        catalog = folder / "compact-files.jsonl"
        with catalog.open("w", encoding="utf-8") as out:
            for source in compact:
                out.write(json.dumps({"f": str(files[source.object_key]), "t": source.table, "o": source.object_key}))
                out.write("\n")
        paths = [str(files[s.object_key]) for s in compact]
        with duckdb.connect() as connection:
            _define_deletions(connection, lines_file, catalog, paths, request.window, with_item=with_item)
            _lock(connection, [str(folder), str(self.cache.folder)])
            try:
                cursor = connection.execute(request.sql)
                columns = tuple(Column(name, str(kind)) for name, kind, *_ in cursor.description or ())
                rows = cursor.fetchall()
            except duckdb.Error as error:
                if compact and "Malformed JSON" in str(error):
                    raise _UnreadableAsStoredError from error
                raise QueryError(_one_line(error, written, lines_file)) from None
        return QueryResult(columns, rows)

    def _fetch(self, sources: list[SourceObject]) -> dict[str, Path]:
        with Progress(f"reading {len(sources)} objects", len(sources)) as progress:
            fetched = self.cache.fetch(
                self.store, [s.object_key for s in sources], concurrency=self.concurrency, on_done=progress.advance
            )
        if fetched.downloaded:
            self.say(
                f"fetched {fetched.downloaded} objects ({fetched.downloaded_bytes:,} bytes) into {self.cache.folder}"
            )
        return fetched.files

    def _write_lines(
        self, sources: list[SourceObject], files: dict[str, Path], path: Path, with_item: bool
    ) -> WrittenLines:
        with path.open("wb") as out:
            written = LineWriter(out, with_item=with_item).write_all((s, files[s.object_key]) for s in sources)
        if written.lone_surrogates:
            self.say(
                f"note: {written.lone_surrogates} deletion(s) hold a lone surrogate (U+D800-U+DFFF alone), which "
                "DuckDB cannot hold: shown as U+FFFD (archiver show prints them exactly)"
            )
        for problem in written.unconvertible[:5]:
            self.say(f"note: item is NULL for {problem}")
        return written

    def _sources(self, request: QueryRequest) -> list[SourceObject]:
        what = f"{describe_tables(request.tables)}, deletions {request.window.describe()}"
        with Progress("listing the archive") as listing:
            sources = objects_to_read(
                self.store, request.tables, request.window, concurrency=self.concurrency, on_page=listing.advance
            )
        cached = sum(self.cache.path(s.object_key).exists() for s in sources)
        if not request.window.bounded:
            self.say(
                f"no window (--deleted-after/--deleted-before): reading the whole archive of {what}: "
                f"{len(sources)} objects, {cached} of them cached"
            )
        else:
            self.say(f"reading {len(sources)} objects ({cached} cached) of {what}")
        return sources


def needs_item(sql: str) -> bool:
    """Whether the query may use ``item`` (which costs parsing every line in Python to build).

    Read from DuckDB's own parse tree: a column reference named ``item``, or a ``*`` that does not
    exclude it. A query DuckDB cannot serialise (EXPLAIN, a syntax error) is judged by its words.
    """
    duckdb = _duckdb()
    with duckdb.connect() as connection:
        row = connection.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    tree = json.loads(row[0]) if row else {"error": True}
    if tree.get("error"):
        return re.search(r"\bitem\b|\*", sql, re.IGNORECASE) is not None
    return _uses_item(tree)


def _uses_item(node: Any) -> bool:
    if isinstance(node, list):
        return any(_uses_item(child) for child in node)
    if not isinstance(node, dict):
        return False
    kind = node.get("class")
    if kind == "COLUMN_REF" and any(str(name).lower() == "item" for name in node.get("column_names", ())):
        return True
    if kind == "STAR" and "item" not in {str(name).lower() for name in node.get("exclude_list", ())}:
        return True
    return any(_uses_item(child) for child in node.values())


def _define_deletions(
    connection: duckdb.DuckDBPyConnection,
    lines: Path,
    catalog: Path,
    compact_files: list[str],
    window: TimeWindow,
    *,
    with_item: bool,
) -> None:
    """The ``deletions`` view, each (table, key, version) once, and ``attr``.

    Two sources: the lines file (``objects`` bodies, and compact lines that went through Python),
    and compact objects read by DuckDB as stored (gzip JSON lines), their file names mapped back to
    object keys through ``catalog``. Every value in the SQL is ours: temporary and cache paths
    (digests; quoted) and the window's times.
    """
    wrapped = "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in _LINE_COLUMNS.items()) + "}"
    item = "i::JSON" if with_item else "NULL::JSON"
    branches = [
        f"""
        SELECT t AS table_name, coalesce(k, b.encodedKey) AS encoded_key, b.key AS key,
               coalesce(v, b.version) AS version, try_cast(b.deletedAt AS TIMESTAMP) AS deleted_at,
               b.deletion.kind AS kind, b.imageMissing AS image_missing,
               CASE WHEN b.imageMissing THEN NULL ELSE b.image END AS image, {item} AS item, o AS object_key
        FROM read_json({_quoted(str(lines))}, format = 'newline_delimited', records = true, columns = {wrapped})
        """  # noqa: S608
    ]
    if compact_files:
        stored = "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in _COMPACT_COLUMNS.items()) + "}"
        listed = "[" + ", ".join(_quoted(path) for path in compact_files) + "]"
        branches.append(
            f"""
            SELECT m.t AS table_name, c.encodedKey AS encoded_key, c.key AS key, c.version AS version,
                   try_cast(c.deletedAt AS TIMESTAMP) AS deleted_at, c.deletion.kind AS kind,
                   c.imageMissing AS image_missing, CASE WHEN c.imageMissing THEN NULL ELSE c.image END AS image,
                   NULL::JSON AS item, m.o AS object_key
            FROM read_json({listed}, format = 'newline_delimited', records = true, compression = 'gzip',
                           filename = true, columns = {stored}) AS c
            JOIN read_json({_quoted(str(catalog))}, format = 'newline_delimited', records = true,
                           columns = {{'f': 'VARCHAR', 't': 'VARCHAR', 'o': 'VARCHAR'}}) AS m ON c.filename = m.f
            """  # noqa: S608
        )
    conditions = ["TRUE"]
    if window.after is not None:
        conditions.append(f"deleted_at >= {_timestamp(window.after)}")
    if window.before is not None:
        conditions.append(f"deleted_at < {_timestamp(window.before)}")
    if window.bounded:
        conditions.append("deleted_at IS NOT NULL")
    view = f"""
        CREATE TEMP VIEW {RELATION} AS
        SELECT table_name, encoded_key, key, version, deleted_at, kind, image_missing, image,
               {"item, " if with_item else ""}object_key
        FROM ({" UNION ALL ".join(branches)})
        WHERE {" AND ".join(conditions)}
        QUALIFY row_number() OVER (PARTITION BY table_name, encoded_key, version ORDER BY object_key) = 1
        """  # noqa: S608
    connection.execute(view)
    connection.execute(_ATTR_MACRO)


def _lock(connection: duckdb.DuckDBPyConnection, folders: list[str]) -> None:
    """From here on the connection reads ``folders`` (the query's own, the cache) and nothing else,
    and its settings cannot change."""
    allowed = ", ".join(_quoted(folder + "/") for folder in folders)
    for setting in (
        f"SET temp_directory = {_quoted(folders[0] + '/spill')}",  # a sort too big for memory spills here
        f"SET allowed_directories = [{allowed}]",
        "SET enable_external_access = false",
        "SET autoinstall_known_extensions = false",
        "SET autoload_known_extensions = false",
        "SET lock_configuration = true",
    ):
        connection.execute(setting)


def _timestamp(moment: datetime) -> str:
    """A UTC time as a TIMESTAMP literal (DuckDB's TIMESTAMP has no zone: UTC throughout)."""
    return f"TIMESTAMP '{iso(moment).removesuffix('Z').replace('T', ' ')}'"


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _one_line(error: Exception, written: WrittenLines | None = None, lines_file: Path | None = None) -> str:
    """DuckDB's message on one line (its caret drawing left out); an unreadable body named by its object.

    DuckDB's line number for malformed JSON is not always the bad line's, so on that error (and only
    then) the file is read again here to find the first line that is not JSON.
    """
    parts = [line.strip() for line in str(error).split("\n\n")[0].splitlines() if line.strip()]
    message = " ".join(parts) or type(error).__name__
    if written is None or lines_file is None or "Malformed JSON" not in message:
        return message
    with lines_file.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                json.loads(line)
            except ValueError as bad:
                where = written.object_at(number)
                return f"archive object {where} is not JSON that the archiver writes ({bad}); DuckDB: {message}"
    return message


def _duckdb() -> Any:
    """duckdb, a CLI-side extra: a clear line where it is not installed."""
    try:
        import duckdb  # noqa: PLC0415 - only `query` and `stats` need it, and the Lambda package never has it
    except ImportError:
        raise QueryError(
            "archiver query needs DuckDB: pip install 'dynamo-archive[local]' (or pip install duckdb)"
        ) from None
    return duckdb

"""`archiver query`: the ``deletions`` relation every engine offers, and the rule that a query only reads.

The relation is the contract between an operator's SQL and whichever engine runs it (DuckDB on the
operator's machine, Athena in the account): the same columns, the same meaning, each deletion
(table, encoded key, version) once however often storage holds it. An engine is an adapter behind
:class:`QueryEngine`; the CLI picks one with ``--engine`` and renders what it returns.

A query reads the archive and nothing else: exactly one statement, and of a reading kind. The
engine names each statement's kind with its own parser (DuckDB: ``extract_statements``), so that a
``COPY`` hidden behind a comment or a string is still seen; the decision is made here, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from archiver.errors import RecoveryError
from archiver.policy import Layout
from archiver.windows import TimeWindow

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "DELETIONS_COLUMNS",
    "READING_STATEMENTS",
    "RELATION",
    "Column",
    "QueryEngine",
    "QueryError",
    "QueryRefusedError",
    "QueryRequest",
    "QueryResult",
    "TableSource",
    "check_reads_only",
    "describe_tables",
]

#: The one relation a query sees.
RELATION = "deletions"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a result: its name and its engine's type name (``JSON`` columns hold JSON text)."""

    name: str
    type: str
    description: str = ""

    @property
    def is_json(self) -> bool:
        return self.type.upper() == "JSON"


#: The columns of ``deletions``, in order: what a query may name, and what they mean.
DELETIONS_COLUMNS: tuple[Column, ...] = (
    Column("table_name", "VARCHAR", "the table the deletion was archived from"),
    Column("encoded_key", "VARCHAR", "the key as its folder name (archiver.keys.encode_key)"),
    Column("key", "JSON", "the key, DynamoDB JSON"),
    Column("version", "VARCHAR", "the version name: <UTC time>-<sequence number>-<event digest>"),
    Column("deleted_at", "TIMESTAMP", "the deletion time, UTC (NULL where the record carried none)"),
    Column("kind", "VARCHAR", "user (a caller) or ttl (DynamoDB's TTL sweeper)"),
    Column("image_missing", "BOOLEAN", "true where the stream carried no old image (KEYS_ONLY)"),
    Column("image", "JSON", "the archived image, DynamoDB JSON exactly as stored; NULL when missing"),
    Column("item", "JSON", "the same image as plain JSON, numbers with their exact digits; NULL when missing"),
    Column("object_key", "VARCHAR", "the S3 object holding the deletion"),
)

#: Statement kinds a query may be: each only reads (``DESCRIBE``, ``SHOW`` and ``SUMMARIZE`` are SELECTs).
READING_STATEMENTS = frozenset({"SELECT", "EXPLAIN"})


class QueryError(RecoveryError):
    """The engine could not run the query (bad SQL, a type error): the message is the engine's own."""


class QueryRefusedError(QueryError):
    """A query that would do something other than read the archive, or is not one statement."""


def check_reads_only(kinds: Sequence[str]) -> None:
    """Accept exactly one statement of a reading kind (``SELECT``, ``EXPLAIN``); refuse the rest.

    Args:
        kinds: the kind of each statement in the query text, as the engine's parser names them
            (``SELECT``, ``COPY``, ``ATTACH``, ``LOAD`` for ``INSTALL`` ...).

    Raises:
        QueryRefusedError: no statement, several, or one that is not a read.
    """
    if not kinds:
        raise QueryRefusedError(f"the query holds no statement; give one SELECT over {RELATION}")
    if len(kinds) > 1:
        raise QueryRefusedError(
            f"the query holds {len(kinds)} statements ({', '.join(kinds)}); give one SELECT over {RELATION}"
        )
    kind = kinds[0].upper()
    if kind not in READING_STATEMENTS:
        raise QueryRefusedError(
            f"a {kind} statement is refused: archiver query reads the archive and nothing else "
            f"(one SELECT over {RELATION}; to save the result, use --output PATH)"
        )


@dataclass(frozen=True, slots=True)
class TableSource:
    """One table whose archive a query reads: where its objects are, and how they are laid out."""

    table: str
    prefix: str
    layout: Layout = Layout.OBJECTS


@dataclass(frozen=True, slots=True)
class QueryRequest:
    """A query over the archive of ``tables``, limited to deletions in ``window``."""

    sql: str
    tables: tuple[TableSource, ...]
    window: TimeWindow = field(default_factory=TimeWindow)


@dataclass(frozen=True, slots=True)
class QueryResult:
    """What a query returned: its columns and its rows (one tuple per row, in column order)."""

    columns: tuple[Column, ...]
    rows: Sequence[tuple[object, ...]]


class QueryEngine(Protocol):
    """Runs a query over the ``deletions`` relation of the request's tables.

    The window prunes before anything is read where the layout allows (version names, ``dt=/hh=``
    folders) and is applied to ``deleted_at`` as well, so every engine returns the same rows.
    """

    def run(self, request: QueryRequest) -> QueryResult:
        """The query's result.

        Raises:
            QueryRefusedError: the SQL does more than read (see :func:`check_reads_only`).
            QueryError: the engine refused the SQL; the message is its own, on one line.
        """


def describe_tables(tables: Iterable[TableSource]) -> str:
    """``orders (objects), sessions (compact)``: what a query reads, for a person."""
    return ", ".join(f"{t.table} ({t.layout.value})" for t in tables)

"""The SQL that `archiver query --engine athena` sends: the user's query over the ``deletions`` relation.

The relation is a ``WITH deletions AS (...)`` prepended to the user's SQL, built here as text, with
no I/O, so that every rule is a unit test (``tests/unit/test_athena_sql.py``):

- One branch per archived table reads its Glue table (terraform/modules/archive-query): each row of
  it is one archive line in one string column, ``body`` (an objects body, or a compact line, which
  is that body plus ``version``), taken apart with Trino's ``json_extract_scalar`` / ``json_extract``.
- Columns, in order: table_name, encoded_key, key, version, deleted_at, kind, image_missing, image,
  object_key; the same as the DuckDB engine's relation, less ``item`` (below).
- The branches are ``UNION ALL``-ed and deduplicated with ``row_number() OVER (PARTITION BY
  table_name, encoded_key, version)``: storage may hold a deletion twice (a compact batch retried
  as another slice), and every reader shows it once.
- ``table_name`` is a literal per branch, so ``WHERE table_name = 'orders'`` lets Trino drop the
  other branches before anything is read.
- A time window (``after <= deleted-at < before``, as ``archiver list``) filters on the version's
  time; on compact tables it also bounds the ``dt``/``hh`` partitions, so only those hour folders
  are read. Objects tables have no time in their folder names: every object is read whatever the window.
- ``item`` (the image as plain JSON) is not offered: unmarshalling DynamoDB JSON needs recursion,
  which neither Trino SQL nor Athena (no SQL routines) has. A query naming ``item`` is refused
  before anything is billed, with the replacement (``attr`` or ``json_extract_scalar`` on ``image``).
- ``attr(image, 'name')`` (a top-level attribute's scalar as VARCHAR, as the DuckDB macro) is
  rewritten in the query text, since Athena cannot define functions.

This module is longer than most because the small SQL lexer that the three text checks share (read
only, no ``item``, ``attr`` rewriting) lives beside them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from archiver.query import QueryRefusedError  # one refusal type for both engines

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "DEFAULT_NAME_PREFIX",
    "DELETIONS_COLUMNS",
    "AthenaTable",
    "Layout",
    "QueryRefusedError",
    "build_query",
    "check_read_only",
    "database_name",
    "deletions_cte",
    "glue_table_name",
    "rewrite_attr",
    "workgroup_name",
]

#: The name_prefix of terraform/modules/archive-query (and of adapters.config.MODULE_NAME_PREFIX).
DEFAULT_NAME_PREFIX = "dynamo-archive"

#: The relation's columns on Athena, in order: the DuckDB engine's, less ``item``.
DELETIONS_COLUMNS = (
    "table_name",
    "encoded_key",
    "key",
    "version",
    "deleted_at",
    "kind",
    "image_missing",
    "image",
    "object_key",
)

Layout = Literal["objects", "compact"]

#: A version name at the end of an objects key: <YYYYMMDDTHHMMSSZ>-<40 digits>-<16 hex>.json.
_VERSION_IN_PATH = r"/([0-9]{8}T[0-9]{6}Z-[0-9]{40}-[0-9a-f]{16})\.json$"
_NO_TIME = "00000000T000000Z"


@dataclass(frozen=True, slots=True)
class AthenaTable:
    """One archived table as Athena sees it: the DynamoDB table name, its layout, its Glue table."""

    name: str
    layout: Layout
    glue_table: str

    @classmethod
    def named(cls, name: str, layout: Layout) -> AthenaTable:
        """The table with the Glue table name the archive-query module gives it."""
        return cls(name, layout, glue_table_name(name, layout))


# -- names, as terraform/modules/archive-query/main.tf gives them ------------------------------------


def database_name(environment: str, name_prefix: str = DEFAULT_NAME_PREFIX) -> str:
    return f"{name_prefix}_{environment}".lower().replace("-", "_")


def workgroup_name(environment: str, name_prefix: str = DEFAULT_NAME_PREFIX) -> str:
    return f"{name_prefix}-{environment}"


def glue_table_name(table: str, layout: Layout) -> str:
    """``<table>_<layout>`` where the table name is already a-z 0-9 _, else a safe stem plus 8 hex of
    sha1(table), so that two DynamoDB names never share a Glue table (orders-dev, orders_dev)."""
    if re.fullmatch(r"[a-z0-9_]{1,200}", table):
        stem = table
    else:
        stem = f"{re.sub(r'[^a-z0-9_]', '_', table.lower())[:200]}_{hashlib.sha1(table.encode()).hexdigest()[:8]}"  # noqa: S324 - a name, not security
    return f"{stem}_{layout}"


# -- the relation -----------------------------------------------------------------------------------


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _stamp(moment: datetime) -> str:
    """The version prefix of the first whole second at or after ``moment`` (versions hold whole seconds)."""
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment.strftime("%Y%m%dT%H%M%SZ")


def _version_window(after: datetime | None, before: datetime | None) -> list[str]:
    """Predicates on ``version`` for ``after <= deleted-at < before`` (the version's time, as
    archiver.recovery.TimeWindow reads it). A version without a time is in no bounded window."""
    predicates = []
    if after is not None:
        predicates.append(f"version >= {_literal(_stamp(after))}")
    if before is not None:
        predicates.append(f"version < {_literal(_stamp(before))}")
        if after is None:
            predicates.append(f"version NOT LIKE {_literal(_NO_TIME + '%')}")
    return predicates


def _hour_window(after: datetime | None, before: datetime | None) -> list[str]:
    """Predicates on the ``dt``/``hh`` partitions of a compact table that keep every hour folder a
    deletion of the window can be in (its deletion hour, UTC): a day range first, which partition
    projection prunes on its own, then the first and last hours of that range."""
    predicates = []
    if after is not None:
        first = after.astimezone(UTC)
        day = _literal(first.strftime("%Y-%m-%d"))
        predicates += [f"dt >= {day}", f"(dt > {day} OR hh >= {first.hour})"]
    if before is not None:
        last = before.astimezone(UTC) - timedelta(microseconds=1)  # the window ends before `before`
        day = _literal(last.strftime("%Y-%m-%d"))
        predicates += [f"dt <= {day}", f"(dt < {day} OR hh <= {last.hour})"]
    return predicates


def _branch(table: AthenaTable, database: str, after: datetime | None, before: datetime | None) -> str:
    """One table's rows, as the relation's columns; filtered by the window where one is given."""
    if table.layout == "objects":
        version = f'regexp_extract("$path", {_literal(_VERSION_IN_PATH)}, 1)'
        scan_filter = ["\"$path\" LIKE '%.json'"]
    else:
        version = "json_extract_scalar(body, '$.version')"
        scan_filter = _hour_window(after, before)
    where = f"\n        WHERE {' AND '.join(scan_filter)}" if scan_filter else ""
    # Quoted literals and identifiers of configured names only: nothing a querier typed goes in here.
    rows = f"""\
      SELECT *
      FROM (
        SELECT
          {_literal(table.name)} AS table_name,
          json_extract_scalar(body, '$.encodedKey') AS encoded_key,
          json_extract(body, '$.key') AS "key",
          {version} AS version,
          CAST(from_iso8601_timestamp(json_extract_scalar(body, '$.deletedAt')) AT TIME ZONE 'UTC' AS timestamp(3))
            AS deleted_at,
          json_extract_scalar(body, '$.deletion.kind') AS kind,
          CAST(json_extract_scalar(body, '$.imageMissing') AS boolean) AS image_missing,
          IF(json_extract_scalar(body, '$.imageMissing') = 'true', NULL, json_extract(body, '$.image')) AS image,
          regexp_replace("$path", '^s3://[^/]+/', '') AS object_key
        FROM {_identifier(database)}.{_identifier(table.glue_table)}{where}
      ) AS archived"""  # noqa: S608 - configured names, quoted
    keep = ["version IS NOT NULL", *_version_window(after, before)]
    return f"{rows}\n      WHERE {' AND '.join(keep)}"


def deletions_cte(
    tables: Sequence[AthenaTable],
    database: str,
    *,
    deleted_after: datetime | None = None,
    deleted_before: datetime | None = None,
) -> str:
    """``deletions AS (...)``: every table's archived deletions, each once.

    Raises:
        QueryRefusedError: no table, or a window that holds nothing.
    """
    if not tables:
        raise QueryRefusedError("no table to query: the configuration lists none (tables: in config/<env>.yaml)")
    if deleted_after is not None and deleted_before is not None and deleted_after >= deleted_before:
        raise QueryRefusedError(
            f"--deleted-after {deleted_after.isoformat()} is not before --deleted-before {deleted_before.isoformat()}: "
            "the window after <= deleted-at < before holds nothing"
        )
    union = "\n      UNION ALL\n".join(_branch(t, database, deleted_after, deleted_before) for t in tables)
    columns = ", ".join(_identifier(c) if c == "key" else c for c in DELETIONS_COLUMNS)
    return f"""deletions AS (
  SELECT {columns}
  FROM (
    SELECT
      stored.*,
      row_number() OVER (PARTITION BY table_name, encoded_key, version ORDER BY object_key) AS stored_copy
    FROM (
{union}
    ) AS stored
  ) AS numbered
  WHERE stored_copy = 1
)"""  # noqa: S608 - the branches above


def build_query(
    sql: str,
    tables: Sequence[AthenaTable],
    database: str,
    *,
    deleted_after: datetime | None = None,
    deleted_before: datetime | None = None,
) -> str:
    """The statement Athena runs: ``WITH deletions AS (...)`` and the user's query (its own ``WITH``
    merged into ours), after the checks and the ``attr`` rewriting.

    Raises:
        QueryRefusedError: not a single read-only query, it names ``item``, an ``attr`` call that is
            not ``attr(<expression>, '<name>')``, or no table / an empty window.
    """
    tokens = check_read_only(sql)
    _refuse_item(tokens)
    body = rewrite_attr(_strip_final_semicolon(sql, tokens))
    cte = deletions_cte(tables, database, deleted_after=deleted_after, deleted_before=deleted_before)
    significant = [t for t in _tokens(body) if t.kind not in _SPACE]
    if significant and significant[0].upper == "WITH":
        rest_at = significant[0].end
        recursive = ""
        if len(significant) > 1 and significant[1].upper == "RECURSIVE":
            recursive, rest_at = "RECURSIVE ", significant[1].end
        return f"WITH {recursive}{cte},\n{body[rest_at:].lstrip()}"
    return f"WITH {cte}\n{body.strip()}"


# -- a lexer just good enough to tell code from strings and comments ----------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # space, comment, string, quoted, word, number, symbol
    text: str
    start: int
    end: int

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else ""


_SPACE = frozenset({"space", "comment"})
_LEXER = re.compile(
    r"""(?P<space>\s+)
      | (?P<comment>--[^\n]*|/\*.*?\*/)
      | (?P<string>'(?:[^']|'')*')
      | (?P<quoted>"(?:[^"]|"")*")
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<number>[0-9][0-9.eE]*)
      | (?P<symbol>.)""",
    re.VERBOSE | re.DOTALL,
)


def _tokens(sql: str) -> list[_Token]:
    """The tokens of ``sql``. Raises QueryRefusedError for an unterminated string or comment."""
    found = []
    for match in _LEXER.finditer(sql):
        kind = match.lastgroup or "symbol"
        if kind == "symbol":
            unterminated = {"'": "string", '"': "quoted name"}.get(match.group())
            if sql.startswith("/*", match.start()):
                unterminated = "comment"
            if unterminated:
                raise QueryRefusedError(
                    f"the query has an unterminated {unterminated} at character {match.start() + 1}"
                )
        found.append(_Token(kind, match.group(), match.start(), match.end()))
    return found


#: First words of a query (read only). Trino's WITH is always followed by a query, never a write.
_READ_STARTS = frozenset({"SELECT", "WITH", "VALUES", "TABLE"})


def check_read_only(sql: str) -> list[_Token]:
    """The tokens of ``sql`` if it is one read-only query (SELECT, WITH ... SELECT, VALUES, TABLE).

    Trino's own check, beside its lexer: DuckDB's engine asks DuckDB's parser for each statement's
    kind (``archiver.query.check_reads_only``); Trino has no parser here, and ``EXPLAIN ANALYZE``
    would run (and bill) the query, so only plain queries pass. Both raise the core's
    ``QueryRefusedError`` before anything runs, naming the statement found.

    Raises:
        QueryRefusedError: empty, several statements, or a statement that is not a query.
    """
    tokens = _tokens(sql)
    significant = [t for t in tokens if t.kind not in _SPACE]
    if not significant:
        raise QueryRefusedError(
            "the query is empty; write a SELECT over deletions, e.g. SELECT count(*) FROM deletions"
        )
    semicolons = [i for i, t in enumerate(significant) if t.text == ";"]
    if semicolons and semicolons != [len(significant) - 1]:
        raise QueryRefusedError("the query holds several statements; send one SELECT (a final ';' is allowed)")
    first = significant[0]
    if first.upper not in _READ_STARTS and first.text != "(":
        raise QueryRefusedError(
            f"only queries run here (SELECT, WITH ... SELECT, VALUES, TABLE); the statement starts with {first.text!r}"
        )
    return tokens


def _strip_final_semicolon(sql: str, tokens: Sequence[_Token]) -> str:
    significant = [t for t in tokens if t.kind not in _SPACE]
    if significant and significant[-1].text == ";":
        return sql[: significant[-1].start] + sql[significant[-1].end :]
    return sql


def _refuse_item(tokens: Sequence[_Token]) -> None:
    for token in tokens:
        if (token.kind == "word" and token.upper == "ITEM") or (
            token.kind == "quoted" and token.text[1:-1].lower() == "item"
        ):
            raise QueryRefusedError(
                "column item is not available with --engine athena (Trino cannot unmarshal DynamoDB JSON, which "
                "needs recursion); read attributes from image: attr(image, 'plan') or "
                "json_extract_scalar(image, '$.plan.S') (docs/query-athena.md)"
            )


# -- attr(image, 'name') --------------------------------------------------------------------------------


def _attr_expression(image: str, name_literal: str) -> str:
    """A top-level attribute's scalar as VARCHAR (S, N as written, B as base64, BOOL as true/false;
    NULL, sets, M and L give NULL). The attribute is looked up once, bound by a one-element
    ``transform``, because Trino has no LET; the name stays a SQL literal, so no JSON path escaping."""
    lookup = f"element_at(CAST(({image}) AS map(varchar, map(varchar, json))), {name_literal})"
    scalars = ", ".join(f"CAST(element_at(attribute, '{t}') AS varchar)" for t in ("S", "N", "B", "BOOL"))
    return f"element_at(transform(ARRAY[{lookup}], attribute -> coalesce({scalars})), 1)"


def rewrite_attr(sql: str) -> str:
    """``sql`` with every ``attr(<expression>, '<name>')`` call replaced by its Trino expression.

    Raises:
        QueryRefusedError: an ``attr(`` call without exactly two arguments, the second a string literal.
    """
    tokens = _tokens(sql)
    for i, token in enumerate(tokens):
        if token.upper != "ATTR":
            continue
        before = next((t for t in reversed(tokens[:i]) if t.kind not in _SPACE), None)
        after = next((j for j in range(i + 1, len(tokens)) if tokens[j].kind not in _SPACE), None)
        if after is None or tokens[after].text != "(" or (before is not None and before.text == "."):
            continue
        arguments, close = _arguments(tokens, after)
        if len(arguments) != 2 or not arguments[0] or len(arguments[1]) != 1 or arguments[1][0].kind != "string":
            raise QueryRefusedError(
                "attr takes an expression and an attribute name in quotes, e.g. attr(image, 'plan'); "
                f"got {sql[token.start : tokens[close].end]!r}"
            )
        image = sql[arguments[0][0].start : arguments[0][-1].end]
        replaced = _attr_expression(rewrite_attr(image), arguments[1][0].text)
        return sql[: token.start] + replaced + rewrite_attr(sql[tokens[close].end :])
    return sql


def _arguments(tokens: Sequence[_Token], open_at: int) -> tuple[list[list[_Token]], int]:
    """The significant tokens of each top-level argument of the call opened at ``open_at``, and the
    index of its closing parenthesis."""
    arguments: list[list[_Token]] = [[]]
    depth = 0
    for j in range(open_at, len(tokens)):
        token = tokens[j]
        if token.text == "(":
            depth += 1
            if depth == 1:
                continue
        elif token.text == ")":
            depth -= 1
            if depth == 0:
                return ([] if arguments == [[]] else arguments), j
        elif token.text == "," and depth == 1:
            arguments.append([])
            continue
        if token.kind not in _SPACE:
            arguments[-1].append(token)
    raise QueryRefusedError("the query has an attr( call that is never closed")

"""A query's rows for a person (a table), for a program (JSON lines, CSV) or as a file (Parquet, CSV, JSON lines).

Whatever the engine, values are written the same way: a ``JSON`` column as the JSON value itself
(its text as the engine gave it, so a 38-digit number keeps its digits), times as ISO 8601 UTC
with ``Z``, decimals and big integers as their exact digits, binaries as base64, lists and
structs as JSON. A JSON line is therefore what ``archiver restore --keys -`` reads back.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import json
import math
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from adapters.cli import render
from archiver.query import QueryError
from archiver.windows import iso

if TYPE_CHECKING:
    from archiver.query import Column, QueryResult

__all__ = ["OUTPUT_SUFFIXES", "TABLE_ROWS_SHOWN", "json_lines", "print_result", "write_output"]

#: A terminal table past this many rows helps nobody; the rest are counted, and --format/--output give all.
TABLE_ROWS_SHOWN = 1000
OUTPUT_SUFFIXES = (".parquet", ".csv", ".jsonl")


def print_result(result: QueryResult, fmt: str, out: IO[str] | None = None) -> str | None:
    """The rows on ``out`` (stdout) as ``table``, ``json`` (lines) or ``csv``; a note for stderr, if any."""
    out = out or sys.stdout
    if fmt == "json":
        for line in json_lines(result):
            out.write(line + "\n")
    elif fmt == "csv":
        _write_csv(result, out)
    else:
        return _write_table(result, out)
    return None


def write_output(result: QueryResult, path: str) -> str:
    """The rows written to ``path``, in the format its suffix names; what was written, for stderr.

    Raises:
        QueryError: the suffix is none of .parquet, .csv, .jsonl, or the file cannot be written.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise QueryError(f"--output {path}: the suffix says the format; use one of {', '.join(OUTPUT_SUFFIXES)}")
    try:
        if suffix == ".parquet":
            _write_parquet(result, Path(path))
        else:
            with open(path, "w", encoding="utf-8", newline="") as file:
                print_result(result, "json" if suffix == ".jsonl" else "csv", file)
    except OSError as error:
        raise QueryError(f"--output {path}: cannot write it ({error.strerror or error})") from None
    return f"wrote {len(result.rows)} row(s) to {path}"


def json_lines(result: QueryResult) -> list[str]:
    """One JSON object per row; ``JSON`` columns as JSON values, never as strings holding JSON."""
    names = [json.dumps(c.name, ensure_ascii=False) for c in result.columns]
    lines = []
    for row in result.rows:
        cells = (
            f"{name}:{_json_value(value, column)}"
            for name, value, column in zip(names, row, result.columns, strict=True)
        )
        lines.append("{" + ",".join(cells) + "}")
    return lines


def _json_value(value: Any, column: Column) -> str:
    if column.is_json and isinstance(value, str):
        return value  # the engine's JSON text: its numbers' digits as they are
    return _json_text(value)


def _json_text(value: Any) -> str:
    """``value`` as JSON text: decimals with their exact digits, containers recursively."""
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else "null"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_json_text(str(k))}:{_json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_json_text(v) for v in value) + "]"
    return json.dumps(_plain(value), ensure_ascii=False)


def _plain(value: Any) -> Any:
    """A scalar as JSON has it: times ISO 8601 UTC, bytes base64, non-finite floats null, the rest text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime):
        return iso(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def _cell(value: Any, column: Column) -> str:
    """A value as text for CSV and the table: JSON columns as their JSON text, scalars as JSON has them."""
    if value is None:
        return ""
    if column.is_json and isinstance(value, str):
        return value
    if isinstance(value, Decimal | dict | list | tuple):
        return _json_text(value)
    plain = _plain(value)
    return plain if isinstance(plain, str) else json.dumps(plain)


def _write_csv(result: QueryResult, out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.name for c in result.columns])
    for row in result.rows:
        writer.writerow([_cell(value, column) for value, column in zip(row, result.columns, strict=True)])


def _write_table(result: QueryResult, out: IO[str]) -> str | None:
    shown = result.rows[:TABLE_ROWS_SHOWN]
    cells = [
        [_cell(v, c) if v is not None else "NULL" for v, c in zip(row, result.columns, strict=True)] for row in shown
    ]
    try:
        from rich.console import Console  # noqa: PLC0415 - CLI-only extra
        from rich.table import Table  # noqa: PLC0415
    except ImportError:
        out.write(render.table([c.name for c in result.columns], cells) + "\n")
    else:
        table = Table(*(c.name for c in result.columns), show_edge=False, header_style="bold")
        for row in cells:
            table.add_row(*row)
        Console(file=out, width=None if out.isatty() else 200, highlight=False).print(table)
    rows = len(result.rows)
    if rows > len(shown):
        return f"{rows} rows; the first {len(shown)} shown (--format json|csv or --output PATH give them all)"
    return f"{rows} row(s)"


def _write_parquet(result: QueryResult, path: Path) -> None:
    """Through DuckDB (the CLI's query extra): the rows as JSON lines with fixed column types, then COPY."""
    import duckdb  # noqa: PLC0415 - CLI-side extra

    with tempfile.TemporaryDirectory(prefix="archiver-output-") as folder:
        lines = Path(folder) / "rows.jsonl"
        names = [f"c{i}" for i in range(len(result.columns))]
        renamed = type(result)(
            tuple(type(c)(n, c.type) for n, c in zip(names, result.columns, strict=True)), result.rows
        )
        lines.write_text("".join(line + "\n" for line in json_lines(renamed)), encoding="utf-8")
        types = ", ".join(f"'{n}': '{_duckdb_type(c)}'" for n, c in zip(names, result.columns, strict=True))
        select = ", ".join(
            f'{n} AS "{c.name.replace(chr(34), chr(34) * 2)}"' for n, c in zip(names, result.columns, strict=True)
        )
        with duckdb.connect() as connection:
            connection.execute(
                f"COPY (SELECT {select} FROM read_json(?, format='newline_delimited', columns={{{types}}})) "  # noqa: S608 - names quoted
                "TO '" + str(path).replace("'", "''") + "' (FORMAT parquet)",
                [str(lines)],
            )


def _duckdb_type(column: Column) -> str:
    """The column's type where DuckDB knows it (the DuckDB engine's own names), else VARCHAR."""
    kind = column.type.upper()
    known = ("VARCHAR", "JSON", "BOOLEAN", "TIMESTAMP", "DATE", "BIGINT", "INTEGER", "HUGEINT", "DOUBLE", "DECIMAL")
    return column.type if kind.split("(")[0] in known else "VARCHAR"

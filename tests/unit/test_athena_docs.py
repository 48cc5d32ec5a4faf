"""docs/query-athena.md: its Athena examples pass the engine's checks, and the names it shows are the engine's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adapters.aws.athena_sql import AthenaTable, build_query, database_name, glue_table_name, workgroup_name

DOC = Path(__file__).resolve().parents[2] / "docs" / "query-athena.md"


def athena_examples() -> list[str]:
    """Each query of the doc's SQL blocks that is marked for Athena (or for either engine)."""
    queries = []
    for block in re.findall(r"```sql\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL):
        engine = None
        current: list[str] = []
        for line in block.splitlines():
            if line.startswith("-- DuckDB"):
                engine = "duckdb"
            elif line.startswith(("-- Athena", "-- Either")):
                engine = "athena"
            elif not line.startswith("--") and engine == "athena":
                current.append(line)
                if line.rstrip().endswith(";"):
                    queries.append("\n".join(current))
                    current = []
    return [q for q in queries if q.lstrip().upper().startswith(("SELECT", "WITH"))]


@pytest.mark.parametrize("sql", athena_examples())
def test_every_athena_example_passes_the_engines_checks(sql: str) -> None:
    statement = build_query(sql, [AthenaTable.named("orders", "objects")], "dynamo_archive_dev")

    assert "json_extract_string" not in statement, "DuckDB's function in an Athena example"
    assert "attr(" not in statement.replace("attribute", "")


def test_the_doc_shows_at_least_the_three_common_questions_for_athena() -> None:
    assert len(athena_examples()) >= 4


def test_names_in_the_doc_are_the_ones_the_engine_uses() -> None:
    text = DOC.read_text(encoding="utf-8")

    for name in (
        database_name("dev"),
        workgroup_name("dev"),
        glue_table_name("orders", "objects"),
        glue_table_name("orders-dev", "objects"),
    ):
        assert f"`{name}`" in text, name

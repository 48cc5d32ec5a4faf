"""The query's rules that need no archive: only reads are run, and item is built only where named."""

from __future__ import annotations

import re

import pytest

from adapters.cli.query_engine import needs_item
from archiver.query import DELETIONS_COLUMNS, QueryRefusedError, check_reads_only


@pytest.mark.parametrize("kinds", [["SELECT"], ["EXPLAIN"], ["select"]])
def test_one_reading_statement_is_accepted(kinds: list[str]) -> None:
    check_reads_only(kinds)


@pytest.mark.parametrize(
    ("kinds", "says"),
    [
        ([], "holds no statement"),
        (["SELECT", "SELECT"], "holds 2 statements (SELECT, SELECT)"),
        (["COPY"], "a COPY statement is refused: archiver query reads the archive and nothing else"),
        (["ATTACH"], "a ATTACH statement is refused"),
        (["LOAD"], "a LOAD statement is refused"),
        (["CREATE"], "a CREATE statement is refused"),
        (["PRAGMA"], "a PRAGMA statement is refused"),
        (["SET"], "a SET statement is refused"),
    ],
)
def test_anything_else_is_refused_saying_why(kinds: list[str], says: str) -> None:
    with pytest.raises(QueryRefusedError, match=re.escape(says)):
        check_reads_only(kinds)


@pytest.mark.parametrize(
    ("sql", "needed"),
    [
        ("SELECT count(*) FROM deletions", False),
        ("SELECT attr(image, 'status'), count(*) FROM deletions GROUP BY 1", False),
        ("SELECT * EXCLUDE (item) FROM deletions", False),
        ("SELECT item FROM deletions", True),
        ("SELECT d.item.total FROM deletions d", True),
        ("SELECT version FROM deletions WHERE item->>'$.status' = 'open'", True),
        ("SELECT * FROM deletions", True),
        ("SELECT d.* FROM deletions d", True),
        ("WITH x AS (SELECT ITEM FROM deletions) SELECT count(*) FROM x", True),
        ("EXPLAIN SELECT item FROM deletions", True),
        ("EXPLAIN SELECT version FROM deletions", False),
    ],
)
def test_item_is_built_only_where_a_query_may_use_it(sql: str, needed: bool) -> None:
    assert needs_item(sql) is needed


def test_the_relation_has_exactly_the_documented_columns() -> None:
    assert [c.name for c in DELETIONS_COLUMNS] == [
        "table_name", "encoded_key", "key", "version", "deleted_at", "kind",
        "image_missing", "image", "item", "object_key",
    ]  # fmt: skip
    assert [c.name for c in DELETIONS_COLUMNS if c.is_json] == ["key", "image", "item"]

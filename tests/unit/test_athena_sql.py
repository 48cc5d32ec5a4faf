"""The SQL sent to Athena, as text: the deletions relation, its dedup and windows, and the checks.

Nothing here runs the SQL (no Trino on this machine): what Trino would make of it is covered by
docs/query-athena.md's list of what was not verified. These tests pin what the text must say.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from adapters.aws.athena_sql import (
    DELETIONS_COLUMNS,
    AthenaTable,
    QueryRefusedError,
    build_query,
    check_read_only,
    database_name,
    deletions_cte,
    glue_table_name,
    rewrite_attr,
    workgroup_name,
)

DB = "dynamo_archive_dev"
ORDERS = AthenaTable.named("orders", "objects")
SESSIONS = AthenaTable.named("sessions-dev", "compact")


def branch(sql: str, table: str) -> str:
    """The text of one table's branch of the relation."""
    start = sql.index(f"'{table}' AS table_name")
    end = sql.find("UNION ALL", start)
    return sql[start : end if end != -1 else len(sql)]


# --- names, as the module gives them -------------------------------------------------------------------


def test_names_follow_the_module_for_an_environment() -> None:
    assert database_name("dev") == "dynamo_archive_dev"
    assert database_name("eu-prod", "Acme-Archive") == "acme_archive_eu_prod"
    assert workgroup_name("dev") == "dynamo-archive-dev"


def test_a_plain_table_name_keeps_its_name_in_glue() -> None:
    assert glue_table_name("orders", "objects") == "orders_objects"
    assert glue_table_name("orders_2", "compact") == "orders_2_compact"


def test_names_glue_cannot_hold_get_a_hash_so_they_never_collide() -> None:
    names = ["orders-dev", "orders_dev", "Orders_dev", "orders.dev"]

    glue = [glue_table_name(n, "objects") for n in names]

    assert len(set(glue)) == len(names)
    assert all(re.fullmatch(r"[a-z0-9_]+", g) for g in glue)
    assert glue[0] == "orders_dev_aed0986a_objects"


def test_a_long_table_name_stays_within_glue_limits() -> None:
    assert len(glue_table_name("t" * 255, "compact")) <= 255


# --- the relation ----------------------------------------------------------------------------------------


def test_relation_has_the_documented_columns_in_order() -> None:
    sql = deletions_cte([ORDERS, SESSIONS], DB)

    select = sql.splitlines()[1]

    assert select == "  SELECT " + ", ".join('"key"' if c == "key" else c for c in DELETIONS_COLUMNS)
    assert DELETIONS_COLUMNS == (
        "table_name", "encoded_key", "key", "version", "deleted_at", "kind", "image_missing", "image", "object_key",
    )  # fmt: skip
    for table in ("orders", "sessions-dev"):
        columns = branch(sql, table).split("\n        FROM ", 1)[0]
        aliases = re.findall(r'\bAS "?(\w+)"?,?$', columns, flags=re.MULTILINE)
        assert tuple(aliases) == DELETIONS_COLUMNS, table


def test_every_table_is_one_branch_of_a_union_read_from_its_glue_table() -> None:
    sql = deletions_cte([ORDERS, SESSIONS], DB)

    assert sql.count("UNION ALL") == 1
    assert f'FROM "{DB}"."orders_objects"' in branch(sql, "orders")
    assert f'FROM "{DB}"."{SESSIONS.glue_table}"' in branch(sql, "sessions-dev")


def test_deletions_stored_twice_are_kept_once_per_table_key_and_version() -> None:
    sql = deletions_cte([ORDERS, SESSIONS], DB)

    assert "row_number() OVER (PARTITION BY table_name, encoded_key, version ORDER BY object_key) AS stored_copy" in sql
    assert sql.rstrip().endswith("WHERE stored_copy = 1\n)")
    # The dedup runs over the union, not per branch: it is the outermost step.
    assert sql.index("UNION ALL") < sql.index("WHERE stored_copy = 1")


def test_objects_take_the_version_from_the_object_key_and_compact_from_the_line() -> None:
    sql = deletions_cte([ORDERS, SESSIONS], DB)

    objects, compact = branch(sql, "orders"), branch(sql, "sessions-dev")

    assert "regexp_extract(\"$path\", '/([0-9]{8}T[0-9]{6}Z-[0-9]{40}-[0-9a-f]{16})\\.json$', 1) AS version" in objects
    assert "\"$path\" LIKE '%.json'" in objects
    assert "json_extract_scalar(body, '$.version') AS version" in compact
    # Both drop what is not an archive version (stray files, the hidden _dead-letters folder aside).
    assert "WHERE version IS NOT NULL" in objects
    assert "WHERE version IS NOT NULL" in compact


def test_columns_come_from_the_body_as_the_archiver_writes_it() -> None:
    objects = branch(deletions_cte([ORDERS], DB), "orders")

    assert "json_extract_scalar(body, '$.encodedKey') AS encoded_key" in objects
    assert "json_extract(body, '$.key') AS \"key\"" in objects
    assert "from_iso8601_timestamp(json_extract_scalar(body, '$.deletedAt')) AT TIME ZONE 'UTC'" in objects
    assert "json_extract_scalar(body, '$.deletion.kind') AS kind" in objects
    assert "CAST(json_extract_scalar(body, '$.imageMissing') AS boolean) AS image_missing" in objects
    assert "IF(json_extract_scalar(body, '$.imageMissing') = 'true', NULL, json_extract(body, '$.image')) AS image" in (
        objects
    )
    assert "regexp_replace(\"$path\", '^s3://[^/]+/', '') AS object_key" in objects


def test_table_name_is_a_literal_so_a_filter_on_it_drops_other_tables_branches() -> None:
    sql = deletions_cte([AthenaTable.named("o'brien", "objects")], DB)

    assert "'o''brien' AS table_name" in sql


def test_without_a_window_nothing_limits_what_is_read() -> None:
    sql = deletions_cte([ORDERS, SESSIONS], DB)

    assert "dt " not in sql
    assert "hh " not in sql
    assert "version >=" not in sql


# --- windows --------------------------------------------------------------------------------------------

AFTER = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)
BEFORE = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)


def test_a_window_filters_both_layouts_on_the_versions_time() -> None:
    sql = deletions_cte([ORDERS, SESSIONS], DB, deleted_after=AFTER, deleted_before=BEFORE)

    for table in ("orders", "sessions-dev"):
        assert "version >= '20261125T103000Z' AND version < '20261126T000000Z'" in branch(sql, table)


def test_a_window_reads_only_the_compact_hour_folders_it_can_hold() -> None:
    sql = deletions_cte([SESSIONS], DB, deleted_after=AFTER, deleted_before=BEFORE)

    compact = branch(sql, "sessions-dev")

    # after 10:30 on the 25th: from hh=10 of that day; before midnight: up to hh=23 of the 25th.
    assert (
        "WHERE dt >= '2026-11-25' AND (dt > '2026-11-25' OR hh >= 10) "
        "AND dt <= '2026-11-25' AND (dt < '2026-11-25' OR hh <= 23)"
    ) in compact


def test_a_window_ending_inside_an_hour_keeps_that_hour() -> None:
    sql = deletions_cte([SESSIONS], DB, deleted_before=datetime(2026, 11, 26, 7, 0, 1, tzinfo=UTC))

    assert "dt <= '2026-11-26' AND (dt < '2026-11-26' OR hh <= 7)" in sql


def test_objects_have_no_partition_to_prune_whatever_the_window() -> None:
    objects = branch(deletions_cte([ORDERS], DB, deleted_after=AFTER), "orders")

    assert " dt " not in objects and "hh " not in objects


def test_a_fraction_of_a_second_rounds_the_bound_up_to_the_next_whole_second() -> None:
    # Versions hold whole seconds: 10:30:00 is before 10:30:00.5, 10:30:01 is not.
    sql = deletions_cte([ORDERS], DB, deleted_after=AFTER + timedelta(milliseconds=500))

    assert "version >= '20261125T103001Z'" in sql


def test_a_window_in_another_zone_is_read_in_utc() -> None:
    paris = datetime(2026, 11, 25, 11, 30, tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))

    sql = deletions_cte([SESSIONS], DB, deleted_after=paris)

    assert "version >= '20261125T113000Z'" in sql
    assert "hh >= 11" in sql


def test_an_end_alone_leaves_out_versions_without_a_time() -> None:
    sql = deletions_cte([ORDERS], DB, deleted_before=BEFORE)

    assert "version NOT LIKE '00000000T000000Z%'" in sql


def test_an_empty_window_is_refused() -> None:
    with pytest.raises(QueryRefusedError, match="holds nothing"):
        deletions_cte([ORDERS], DB, deleted_after=BEFORE, deleted_before=AFTER)


def test_no_table_is_refused() -> None:
    with pytest.raises(QueryRefusedError, match="no table"):
        deletions_cte([], DB)


# --- the user's query -------------------------------------------------------------------------------------


def test_the_users_query_follows_the_relation() -> None:
    sql = build_query("SELECT count(*) FROM deletions;", [ORDERS], DB)

    assert sql.startswith("WITH deletions AS (\n")
    assert sql.endswith(")\nSELECT count(*) FROM deletions")


def test_the_users_own_with_is_merged_into_ours() -> None:
    sql = build_query("-- hourly\nWITH h AS (SELECT 1 AS n) SELECT * FROM h, deletions", [ORDERS], DB)

    assert sql.startswith("WITH deletions AS (")
    assert "),\nh AS (SELECT 1 AS n) SELECT * FROM h, deletions" in sql
    assert sql.count("WITH ") == 1


def test_a_recursive_with_stays_recursive() -> None:
    sql = build_query("with recursive r(n) AS (SELECT 1) SELECT * FROM r", [ORDERS], DB)

    assert sql.startswith("WITH RECURSIVE deletions AS (")
    assert "),\nr(n) AS (SELECT 1) SELECT * FROM r" in sql


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "  select * from deletions",
        "/* c */ WITH x AS (SELECT 1) SELECT * FROM x",
        "VALUES 1",
        "TABLE deletions",
        "(SELECT 1)",
        "SELECT ';' AS semi;",
        "SELECT 'DROP TABLE x' AS s -- DELETE\n",
    ],
)
def test_read_only_queries_pass(sql: str) -> None:
    check_read_only(sql)


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("", "empty"),
        ("  -- only a comment", "empty"),
        ("DROP TABLE deletions", "starts with 'DROP'"),
        ("INSERT INTO t SELECT 1", "starts with 'INSERT'"),
        ("CREATE TABLE t AS SELECT 1", "starts with 'CREATE'"),
        ("UNLOAD (SELECT 1) TO 's3://x/' WITH (format = 'JSON')", "starts with 'UNLOAD'"),
        ("MSCK REPAIR TABLE t", "starts with 'MSCK'"),
        ("EXPLAIN ANALYZE SELECT 1", "starts with 'EXPLAIN'"),
        ("SELECT 1; DROP TABLE t", "several statements"),
        ("SELECT 1;;", "several statements"),
        ("SELECT 'unterminated", "unterminated string"),
        ('SELECT "unterminated', "unterminated quoted name"),
        ("SELECT 1 /* unterminated", "unterminated comment"),
    ],
)
def test_anything_but_one_query_is_refused_before_it_runs(sql: str, message: str) -> None:
    with pytest.raises(QueryRefusedError, match=re.escape(message)):
        build_query(sql, [ORDERS], DB)


def test_division_is_not_taken_for_a_comment() -> None:
    assert build_query("SELECT 4 / 2", [ORDERS], DB).endswith("SELECT 4 / 2")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT item FROM deletions",
        "SELECT json_extract_scalar(ITEM, '$.plan') FROM deletions",
        'SELECT d."item" FROM deletions d',
    ],
)
def test_item_is_refused_with_what_to_write_instead(sql: str) -> None:
    with pytest.raises(QueryRefusedError, match=r"item is not available .*attr\(image, 'plan'\)"):
        build_query(sql, [ORDERS], DB)


def test_item_inside_a_string_or_a_longer_name_is_not_the_column() -> None:
    build_query("SELECT attr(image, 'item'), 'item' AS items FROM deletions -- item", [ORDERS], DB)


# --- attr -------------------------------------------------------------------------------------------------


def test_attr_becomes_one_lookup_of_the_attribute_read_as_its_scalar() -> None:
    sql = rewrite_attr("SELECT attr(image, 'plan') AS plan FROM deletions")

    assert sql == (
        "SELECT element_at(transform(ARRAY[element_at(CAST((image) AS map(varchar, map(varchar, json))), 'plan')], "
        "attribute -> coalesce(CAST(element_at(attribute, 'S') AS varchar), "
        "CAST(element_at(attribute, 'N') AS varchar), "
        "CAST(element_at(attribute, 'B') AS varchar), CAST(element_at(attribute, 'BOOL') AS varchar))), 1) AS plan "
        "FROM deletions"
    )


def test_attr_names_are_sql_literals_so_any_attribute_name_works() -> None:
    sql = rewrite_attr("SELECT ATTR( image , 'it''s.$[\"x\"]' ) FROM deletions")

    assert "'it''s.$[\"x\"]')]" in sql
    assert "attr" not in sql.lower().replace("attribute", "")


def test_every_attr_call_is_rewritten_even_nested_or_in_strings_around() -> None:
    sql = rewrite_attr(
        "SELECT attr(image, 'a'), 'attr(x)', attr(image, 'b') FROM deletions WHERE attr(image,'c') = 'x'"
    )

    assert sql.count("transform(") == 3
    assert "'attr(x)'" in sql


def test_a_qualified_or_unrelated_attr_is_left_alone() -> None:
    assert rewrite_attr("SELECT t.attr(1) FROM t") == "SELECT t.attr(1) FROM t"
    assert rewrite_attr("SELECT attr FROM t") == "SELECT attr FROM t"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT attr(image) FROM d",
        "SELECT attr(image, name) FROM d",
        "SELECT attr(, 'x') FROM d",
        "SELECT attr(image, 'x'",
    ],
)
def test_attr_without_a_quoted_name_is_refused(sql: str) -> None:
    with pytest.raises(QueryRefusedError, match="attr"):
        rewrite_attr(sql)

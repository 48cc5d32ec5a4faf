"""`archiver query` on DuckDB against a moto server: columns, both layouts, dedup, pruning, cache, refusals.

Objects-layout deletions are written by the real Archiver (tests/deletions.py); compact objects are
made from the format's spec (tests/compact_lines.py). Until ``TableConfig.layout`` lands, the
sessions table is read as compact by replacing the one function that reads a table's layout.
"""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import duckdb
import pytest

from adapters.aws.s3_store import S3ArchiveStore
from adapters.cli import archive_sources
from adapters.cli.app import App
from adapters.cli.main import main
from archiver.keys import encode_key
from archiver.policy import Layout
from tests.builders import EVERY_TYPE
from tests.compact_lines import CompactLines
from tests.deletions import Deletions

if TYPE_CHECKING:
    from pathlib import Path

    from tests.e2e.conftest import LocalEnvironment

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("process_logging_left_alone")]

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
WINDOW = ["--deleted-after", "2026-11-25T10:00:00Z", "--deleted-before", "2026-11-25T11:00:00Z"]


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def order(name: str) -> dict[str, Any]:
    return {"PK": {"S": f"ORDER#{name}"}, "SK": {"S": "v1"}}


def session(n: int) -> dict[str, Any]:
    return {"session_id": {"B": f"c2Vzc2lvbi0{n}"}}


@dataclasses.dataclass
class Query:
    """Runs `archiver query` in-process with a cache folder of the test's own; counts the GETs."""

    env: LocalEnvironment
    cache: Path
    capsys: pytest.CaptureFixture[str]
    gets: list[str]

    def __call__(self, sql: str, *flags: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(["query", "--config", self.env.config_path, "--cache", str(self.cache), *flags, sql])
        out, err = self.capsys.readouterr()
        return code, out, err

    def rows(self, sql: str, *flags: str) -> list[dict[str, Any]]:
        code, out, err = self(sql, "--format", "json", *flags)
        assert code == 0, err
        return [json.loads(line, parse_float=Decimal, parse_int=Decimal) for line in out.splitlines()]


@pytest.fixture
def query(
    environment: LocalEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Query:
    gets: list[str] = []
    original_get = S3ArchiveStore.get

    def counted_get(self: S3ArchiveStore, key: str) -> bytes:
        gets.append(key)
        return original_get(self, key)

    monkeypatch.setattr(S3ArchiveStore, "get", counted_get)
    original_source = archive_sources.table_source

    def sessions_compact(table: Any) -> Any:
        found = original_source(table)
        return dataclasses.replace(found, layout=Layout.COMPACT) if table.name == environment.sessions else found

    monkeypatch.setattr(archive_sources, "table_source", sessions_compact)
    return Query(environment, tmp_path / "cache", capsys, gets)


def error_line(err: str) -> str:
    """The one error line on stderr (the lines before it say what was read); it is the last."""
    errors = [line for line in err.splitlines() if line.startswith("archiver: error")]
    assert len(errors) == 1, err
    assert err.endswith(errors[0] + "\n")
    return errors[0]


def orders(env: LocalEnvironment) -> Deletions:
    return Deletions(App(env.config, env.clients).store(), env.orders)


def put_compact(env: LocalEnvironment, name: str, lines: list[dict[str, Any]]) -> str:
    return CompactLines(env.sessions).put(env.clients.s3, env.config.bucket, name, lines)


def test_every_column_of_every_attribute_type(query: Query) -> None:
    # given a user deletion of an item with every attribute type, a TTL one, and one without an image
    env = query.env
    d = orders(env)
    object_key = d.delete(order("every-type"), at(5), EVERY_TYPE)
    d.delete(order("expired"), at(6), {"status": {"S": "old"}}, ttl=True)
    d.delete(order("keys-only"), at(7), keys_only=True)

    # when every column is selected
    rows = query.rows("SELECT * FROM deletions ORDER BY deleted_at")

    # then each column holds what the archive holds, the image exactly, the item with exact numbers
    every, expired, keys_only = rows
    assert every == {
        "table_name": env.orders,
        "encoded_key": encode_key(order("every-type")),
        "key": order("every-type"),
        "version": object_key.rsplit("/", 1)[1].removesuffix(".json"),
        "deleted_at": "2026-11-25T10:05:00Z",
        "kind": "user",
        "image_missing": False,
        "image": {**order("every-type"), **EVERY_TYPE},
        "item": {
            "PK": "ORDER#every-type",
            "SK": "v1",
            "s": "café ☕",
            "n": Decimal("12345678901234567890123456789012345678"),
            "b": "AP8A/w==",
            "ss": ["a", "b"],
            "ns": [Decimal("1.5"), Decimal("99999999999999999999999999999999999999")],
            "bs": ["AQ==", "Ag=="],
            "m": {"inner": ["Aw==", Decimal("-0.000001")]},
            "l": ["x", False, None],
            "bool": True,
            "null": None,
        },
        "object_key": object_key,
    }
    assert (expired["kind"], expired["item"]) == ("ttl", {**{"PK": "ORDER#expired", "SK": "v1"}, "status": "old"})
    assert (keys_only["image_missing"], keys_only["image"], keys_only["item"]) == (True, None, None)
    _, out, _ = query("SELECT item FROM deletions WHERE kind = 'user' AND NOT image_missing", "--format", "json")
    assert '"n":12345678901234567890123456789012345678,' in out  # the digits themselves, no exponent


def test_attr_gives_a_top_level_attribute_as_text(query: Query) -> None:
    orders(query.env).delete(order("every-type"), at(5), EVERY_TYPE)

    (row,) = query.rows(
        "SELECT attr(image, 'n') AS n, attr(image, 's') AS s, attr(image, 'bool') AS bool, "
        "attr(image, 'null') AS null_, attr(image, 'ss') AS ss, attr(image, 'absent') AS absent FROM deletions"
    )

    assert row == {
        "n": "12345678901234567890123456789012345678",
        "s": "café ☕",
        "bool": "true",
        "null_": None,
        "ss": '["a","b"]',
        "absent": None,
    }


def test_both_layouts_in_one_query(query: Query) -> None:
    # given two objects-layout deletions of orders and three compact ones of sessions, in two hours
    env = query.env
    d = orders(env)
    d.delete(order("1"), at(1))
    d.delete(order("2"), at(2))
    c = CompactLines(env.sessions)
    put_compact(env, "batch-a", [c.line(session(1), at(3)), c.line(session(2), at(4))])
    put_compact(env, "batch-b", [c.line(session(3), at(70), ttl=True)])

    # when they are counted per table and kind
    rows = query.rows("SELECT table_name, kind, count(*) AS n FROM deletions GROUP BY ALL ORDER BY ALL")

    # then both layouts are there
    assert rows == [
        {"table_name": env.orders, "kind": "user", "n": 2},
        {"table_name": env.sessions, "kind": "ttl", "n": 1},
        {"table_name": env.sessions, "kind": "user", "n": 2},
    ]
    assert query.rows("SELECT count(*) AS n FROM deletions", "--table", env.sessions) == [{"n": 3}]


def test_a_deletion_stored_twice_by_a_bisected_retry_is_one_row(query: Query) -> None:
    # given a batch A, B stored, and its retry re-sliced as B, C: B is in two objects
    env = query.env
    c = CompactLines(env.sessions)
    a, b, cc = c.line(session(1), at(1)), c.line(session(2), at(2)), c.line(session(3), at(3))
    first = put_compact(env, "batch-1", [a, b])
    second = put_compact(env, "batch-2", [b, cc])

    # when every deletion is listed
    rows = query.rows("SELECT encoded_key, object_key FROM deletions ORDER BY encoded_key", "--table", env.sessions)

    # then B is there once, from the first object by name
    assert [r["encoded_key"] for r in rows] == sorted(encode_key(session(n)) for n in (1, 2, 3))
    assert {r["encoded_key"]: r["object_key"] for r in rows}[encode_key(session(2))] == min(first, second)


def test_the_window_reads_only_its_objects_and_the_cache_makes_a_rerun_read_nothing(query: Query) -> None:
    # given deletions before, in and after 10:00-11:00 in both layouts
    env = query.env
    d = orders(env)
    inside = {d.delete(order("in-1"), at(5)), d.delete(order("in-2"), at(59))}
    d.delete(order("before"), at(-1))
    d.delete(order("after"), at(60))
    c = CompactLines(env.sessions)
    put_compact(env, "nine", [c.line(session(1), at(-30))])
    ten = put_compact(env, "ten", [c.line(session(2), at(10)), c.line(session(3), at(50))])
    put_compact(env, "eleven", [c.line(session(4), at(61))])

    # when the window is queried
    rows = query.rows("SELECT table_name, count(*) AS n FROM deletions GROUP BY 1 ORDER BY 1", *WINDOW)

    # then only the objects named in it, and the hour folder of it, were read
    assert rows == [{"table_name": env.orders, "n": 2}, {"table_name": env.sessions, "n": 2}]
    assert sorted(query.gets) == sorted([*inside, ten])

    # and the same query again reads nothing from S3
    query.gets.clear()
    assert query.rows("SELECT table_name, count(*) AS n FROM deletions GROUP BY 1 ORDER BY 1", *WINDOW) == rows
    assert query.gets == []


def test_keys_with_glob_characters_are_each_read_once(query: Query) -> None:
    # given keys whose encoded forms are glob patterns matching one another: PK(S)a*SK(S)b matches PK(S)aQQ*SK(S)b
    d = orders(query.env)
    keys = [
        {"PK": {"S": "a"}, "SK": {"S": "b"}},
        {"PK": {"S": "aQQ"}, "SK": {"S": "b"}},
        {"PK": {"S": "x(1)!*?[z]"}, "SK": {"S": "*"}},
    ]
    for n, key in enumerate(keys):
        d.delete(key, at(n))

    rows = query.rows("SELECT encoded_key, count(*) AS n FROM deletions GROUP BY 1 ORDER BY 1")

    assert rows == [{"encoded_key": k, "n": 1} for k in sorted(encode_key(key) for key in keys)]


@pytest.mark.parametrize(
    ("sql", "says"),
    [
        ("COPY (SELECT * FROM deletions) TO '/tmp/out.csv'", "a COPY statement is refused"),
        ("ATTACH '/tmp/other.db'", "a ATTACH statement is refused"),
        ("INSTALL httpfs", "a LOAD statement is refused"),
        ("CREATE TABLE t AS SELECT * FROM deletions", "a CREATE statement is refused"),
        ("SELECT 1; DROP TABLE x", "2 statements"),
        ("SELECT * FROM read_text('/etc/hostname')", "Permission Error"),
    ],
)
def test_a_statement_that_does_more_than_read_is_refused(query: Query, sql: str, says: str) -> None:
    orders(query.env).delete(order("1"), at(1))

    code, out, err = query(sql)

    assert code == 1
    assert out == ""
    assert error_line(err).startswith("archiver: error: ")
    assert says in error_line(err)


def test_a_bad_query_is_one_line_with_duckdbs_message(query: Query) -> None:
    orders(query.env).delete(order("1"), at(1))

    code, _, err = query("SELECT no_such_column FROM deletions")
    parse_code, _, parse_err = query("SELEKT 1")

    assert (code, parse_code) == (1, 1)
    assert "Binder Error" in error_line(err)
    assert "no_such_column" in error_line(err)
    assert "Parser Error" in error_line(parse_err)


def test_an_empty_window_gives_no_rows(query: Query) -> None:
    orders(query.env).delete(order("1"), at(-90))

    code, out, err = query("SELECT table_name, version FROM deletions", *WINDOW)
    assert code == 0
    assert "table_name" in out
    assert "0 row(s)" in err
    assert query.rows("SELECT * FROM deletions", *WINDOW) == []
    assert query.gets == []


def test_each_output_format(query: Query, tmp_path: Path) -> None:
    # given one deletion with a 38-digit number
    orders(query.env).delete(order("1"), at(1), {"n": {"N": "12345678901234567890123456789012345678"}})
    sql = "SELECT encoded_key, deleted_at, attr(image, 'n') AS n, item FROM deletions"

    # then a table, JSON lines, CSV, and files in each format hold the same row
    _, table, _ = query(sql)
    _, lines, _ = query(sql, "--format", "json")
    _, csv_text, _ = query(sql, "--format", "csv")
    assert "PK(S)ORDER!231*SK(S)v1" in table
    assert "2026-11-25T10:01:00Z" in table
    assert json.loads(lines)["item"]["n"] == 12345678901234567890123456789012345678
    assert csv_text.splitlines()[0] == "encoded_key,deleted_at,n,item"
    assert csv_text.splitlines()[1].startswith("PK(S)ORDER!231*SK(S)v1,2026-11-25T10:01:00Z,")
    for suffix in ("jsonl", "csv", "parquet"):
        path = tmp_path / f"out.{suffix}"
        code, out, err = query(sql, "--output", str(path))
        assert (code, out) == (0, ""), err
        assert f"wrote 1 row(s) to {path}" in err
    assert (tmp_path / "out.jsonl").read_text() == lines
    assert (tmp_path / "out.csv").read_text() == csv_text
    with duckdb.connect() as connection:
        (row,) = connection.execute("SELECT * FROM read_parquet(?)", [str(tmp_path / "out.parquet")]).fetchall()
    assert row[0] == "PK(S)ORDER!231*SK(S)v1"
    assert row[2] == "12345678901234567890123456789012345678"
    assert '"n":12345678901234567890123456789012345678' in row[3]


def test_a_query_not_naming_item_never_builds_it(query: Query, monkeypatch: pytest.MonkeyPatch) -> None:
    orders(query.env).delete(order("1"), at(1), EVERY_TYPE)

    def refuse(_: object) -> str:
        raise AssertionError("item built for a query that does not use it")

    monkeypatch.setattr("adapters.cli.deletion_lines.plain_json", refuse)

    assert query.rows("SELECT count(*) AS n, max(attr(image, 'n')) AS m FROM deletions") == [
        {"n": 1, "m": "12345678901234567890123456789012345678"}
    ]


def test_query_rows_restore_the_versions_they_name(query: Query, monkeypatch: pytest.MonkeyPatch) -> None:
    # given A deleted at 10:05 by the incident, re-created and deleted again at 10:30; B deleted at 10:10
    env = query.env
    d = orders(env)
    d.delete(order("A"), at(5), {"status": {"S": "lost"}, "n": {"N": "0.10"}})
    d.delete(order("A"), at(30), {"status": {"S": "second"}})
    d.delete(order("B"), at(10), {"status": {"S": "lost"}, "tags": {"SS": ["x"]}})

    # when the incident's deletions are found by content and piped into restore (dry run first)
    _, found, _ = query(
        "SELECT table_name, key, version FROM deletions WHERE attr(image, 'status') = 'lost'", "--format", "json"
    )
    assert len(found.splitlines()) == 2
    restore = ["restore", "--config", env.config_path, "--table", env.orders, "--keys", "-"]
    monkeypatch.setattr("sys.stdin", io.StringIO(found))
    assert main([*restore, "--dry-run"]) == 0
    assert env.clients.dynamodb.scan(TableName=env.orders)["Items"] == []
    monkeypatch.setattr("sys.stdin", io.StringIO(found))
    assert main(restore) == 0

    # then each key holds the version the row named, the older one of A included, values exact
    items = {i["PK"]["S"]: i for i in env.clients.dynamodb.scan(TableName=env.orders)["Items"]}
    assert items == {
        "ORDER#A": {**order("A"), "status": {"S": "lost"}, "n": {"N": "0.10"}},  # as archived, digit for digit
        "ORDER#B": {**order("B"), "status": {"S": "lost"}, "tags": {"SS": ["x"]}},
    }


def test_a_lone_surrogate_is_read_as_a_replacement_character_and_said(query: Query) -> None:
    # given a deletion whose string holds a lone surrogate (the archive writes it as the escape "\\ud800")
    orders(query.env).delete(order("odd"), at(1), {"s": {"S": "a\ud800b"}})

    code, out, err = query("SELECT attr(image, 's') AS s, item FROM deletions", "--format", "json")

    assert code == 0, err
    assert json.loads(out) == {"s": "a\ufffdb", "item": {"PK": "ORDER#odd", "SK": "v1", "s": "a\ufffdb"}}
    assert "1 deletion(s) hold a lone surrogate" in err


def test_an_object_that_is_not_an_archive_body_is_named(query: Query) -> None:
    env = query.env
    good = orders(env).delete(order("good"), at(1))
    broken = good.replace("ORDER!23good", "ORDER!23broken")
    env.clients.s3.put_object(Bucket=env.config.bucket, Key=broken, Body=b'{"table": "orders", "key": ')

    code, _, err = query("SELECT count(*) FROM deletions")

    assert code == 1
    assert f"archive object {broken} is not JSON that the archiver writes (" in error_line(err)


def test_a_compact_object_duckdb_cannot_read_as_stored_is_read_through_python(query: Query) -> None:
    # given a compact line whose string holds a lone surrogate escape, beside an ordinary one
    c = CompactLines(query.env.sessions)
    put_compact(query.env, "odd", [c.line(session(1), at(1), {"s": {"S": "a\ud800b"}}), c.line(session(2), at(2))])

    code, out, err = query("SELECT attr(image, 's') AS s FROM deletions ORDER BY version", "--format", "json")

    assert code == 0, err
    assert [json.loads(line) for line in out.splitlines()] == [{"s": "a\ufffdb"}, {"s": None}]
    assert "1 deletion(s) hold a lone surrogate" in err

"""`archiver stats` against a moto server: counts per bucket from names alone, kinds where they are cheap."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.aws.s3_store import S3ArchiveStore
from adapters.cli.main import main
from tests.compact_lines import CompactLines
from tests.e2e.test_cli_query import Query, at, order, orders, put_compact, query, session

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("process_logging_left_alone")]
__all__ = ["query"]  # the fixture, shared with the query tests


def stats(q: Query, table: str, *flags: str) -> tuple[int, str, str]:
    q.capsys.readouterr()
    code = main(["stats", "--config", q.env.config_path, "--table", table, "--cache", str(q.cache), *flags])
    out, err = q.capsys.readouterr()
    return code, out, err


@pytest.fixture
def heads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    read: list[str] = []
    original = S3ArchiveStore.deletion_kind

    def counted(self: S3ArchiveStore, key: str) -> str | None:
        read.append(key)
        return original(self, key)

    monkeypatch.setattr(S3ArchiveStore, "deletion_kind", counted)
    return read


def test_an_objects_table_is_counted_from_names_alone(query: Query, heads: list[str]) -> None:
    # given deletions at 10:01, twice at 10:02, and at 10:05 (one by TTL)
    d = orders(query.env)
    for minute, name in [(1, "a"), (2, "b"), (2, "c"), (5, "d")]:
        d.delete(order(name), at(minute + 0.5), ttl=name == "d")

    # when counted per minute
    code, out, err = stats(query, query.env.orders, "--by", "minute", "--json")

    # then each minute from the first to the last, quiet ones at zero, and no body or HEAD was read
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()] == [
        {"table": query.env.orders, "start": f"2026-11-25T10:0{m}:00Z", "deletions": n}
        for m, n in [(1, 1), (2, 2), (3, 0), (4, 0), (5, 1)]
    ]
    assert (query.gets, heads) == ([], [])
    assert "kinds not split" in err
    assert "one HEAD per object (4 here" in err


def test_kind_reads_each_objects_kind_with_a_head(query: Query, heads: list[str]) -> None:
    d = orders(query.env)
    d.delete(order("user"), at(1))
    d.delete(order("ttl"), at(2), ttl=True)
    d.delete(order("outside"), at(90), ttl=True)

    code, out, _ = stats(
        query, query.env.orders, "--kind", "ttl", "--json",
        "--deleted-after", "2026-11-25T10:00Z", "--deleted-before", "2026-11-25T11:00Z",
    )  # fmt: skip

    assert code == 0
    assert [json.loads(line)["deletions"] for line in out.splitlines()] == [1]
    assert len(heads) == 2  # the two objects in the window, not the one outside it


def test_a_compact_table_is_split_by_kind_and_drawn(query: Query) -> None:
    # given compact deletions at 10:xx (two user, one TTL) and 12:xx (one user)
    c = CompactLines(query.env.sessions)
    lines: list[dict[str, Any]] = [
        c.line(session(1), at(1)),
        c.line(session(2), at(2)),
        c.line(session(3), at(3), ttl=True),
    ]
    put_compact(query.env, "ten", lines)
    put_compact(query.env, "twelve", [c.line(session(4), at(125))])

    # when drawn per hour
    code, out, _ = stats(query, query.env.sessions)

    # then the chart says when it started and stopped, each hour split by kind, 11:00 at zero
    assert code == 0
    chart = out.splitlines()
    assert chart[0] == (
        f"{query.env.sessions}: 4 deletions at any time; first in 2026-11-25 10:00, last in 2026-11-25 12:00 UTC, "
        "peak 3 in 2026-11-25 10:00"
    )
    assert chart[1] == "█ user  ░ ttl"
    assert chart[2].startswith("2026-11-25 10:00  3  ")
    assert chart[2].endswith("user 2, ttl 1")
    assert chart[3] == "2026-11-25 11:00  0"
    assert "░" in chart[2]
    assert "░" not in chart[4]

"""--engine picks where a query runs: the Athena engine (another module) plugs in behind the same result."""

from __future__ import annotations

import sys
import types
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

import pytest

from adapters.aws.clients import aws_clients
from adapters.cli.app import App
from adapters.cli.query import _AthenaEngine
from adapters.config import parse_config
from archiver.policy import Layout
from archiver.query import QueryError, QueryRequest, TableSource
from archiver.windows import TimeWindow

if TYPE_CHECKING:
    from collections.abc import Iterator

CONFIG = {
    "environment": "prod",
    "account_id": "123456789012",
    "alarm_topic_arn": "arn:aws:sns:us-east-1:123456789012:alarms",
    "bucket": "archive-prod",
    "tables": [{"name": "orders"}],
}


class FakeAthenaError(Exception):
    pass


class FakeAthena:
    """What adapters/aws/athena_engine.py offers: for_environment(...).run(sql, deleted_after=, deleted_before=)."""

    calls: ClassVar[list[Any]] = []

    @classmethod
    def for_environment(cls, client: Any, environment: str, tables: list[tuple[str, str]]) -> FakeAthena:
        cls.calls.append((environment, tables))
        return cls()

    def run(self, sql: str, *, deleted_after: datetime | None, deleted_before: datetime | None) -> Any:
        self.calls.append((sql, deleted_after, deleted_before))
        if "boom" in sql:
            raise FakeAthenaError("FAILED: line 1:8: Column 'boom' cannot be resolved")
        return types.SimpleNamespace(
            query_id="q-1",
            columns=("table_name", "n"),
            types=("varchar", "bigint"),
            rows=(("orders", 3),),
            bytes_scanned=12_345,
            cost_usd=Decimal("0.00005"),
        )


@pytest.fixture
def athena(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    module = types.ModuleType("adapters.aws.athena_engine")
    module.AthenaQueryEngine = FakeAthena  # type: ignore[attr-defined]
    module.AthenaQueryError = FakeAthenaError  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "adapters.aws.athena_engine", module)
    FakeAthena.calls = []
    yield


def app() -> App:
    return App(parse_config(CONFIG), aws_clients("us-east-1"))


def request(sql: str) -> QueryRequest:
    window = TimeWindow(datetime(2026, 11, 25, 10, tzinfo=UTC), datetime(2026, 11, 25, 11, tzinfo=UTC))
    return QueryRequest(sql, (TableSource("orders", "archive", Layout.COMPACT),), window)


@pytest.mark.usefixtures("athena")
def test_the_athena_engine_gets_the_tables_window_and_sql_and_its_rows_come_back_as_ours() -> None:
    result = _AthenaEngine(app()).run(request("SELECT table_name, count(*) AS n FROM deletions GROUP BY 1"))

    assert [(c.name, c.type) for c in result.columns] == [("table_name", "varchar"), ("n", "bigint")]
    assert list(result.rows) == [("orders", 3)]
    assert FakeAthena.calls == [
        ("prod", [("orders", "compact")]),
        (
            "SELECT table_name, count(*) AS n FROM deletions GROUP BY 1",
            datetime(2026, 11, 25, 10, tzinfo=UTC),
            datetime(2026, 11, 25, 11, tzinfo=UTC),
        ),
    ]


@pytest.mark.usefixtures("athena")
def test_an_athena_error_is_one_query_error() -> None:
    with pytest.raises(QueryError, match="Column 'boom' cannot be resolved"):
        _AthenaEngine(app()).run(request("SELECT boom FROM deletions"))


def test_without_the_athena_module_the_engine_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "adapters.aws.athena_engine", None)  # an import of it fails

    with pytest.raises(QueryError, match="--engine athena is not part of this installation"):
        _AthenaEngine(app()).run(request("SELECT 1"))

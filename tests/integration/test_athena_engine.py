"""AthenaQueryEngine: start, wait with progress, page the rows, report bytes scanned and cost, fail in one line.

moto's Athena (in process) accepts any query, moves it QUEUED -> RUNNING -> SUCCEEDED and returns the
rows queued for it, but runs no SQL, never fails a query, reports no bytes scanned and has one page
only. So the flow is checked on moto where moto answers, and on ``ScriptedAthena`` (below: an
in-memory client answering as Athena's API documents, recording what it was asked) for FAILED and
CANCELLED with reasons, bytes scanned, several pages and stopping. The happy path runs on both, so
the fake stays honest. Waiting never sleeps: the engine's clock and sleep are injected.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import moto.athena.urls
import pytest
from moto.athena.models import QueryResults, athena_backends
from moto.athena.responses import AthenaResponse
from moto.moto_api import state_manager

from adapters.aws.athena_engine import (
    AthenaQueryEngine,
    AthenaQueryError,
    QueryProgress,
    athena_cost_usd,
)
from adapters.aws.athena_sql import AthenaTable, QueryRefusedError
from tests.integration.conftest import FAST, REGION
from tests.integration.faults import AfterCall, FlakyClient, client_error

ACCOUNT = "123456789012"  # moto's default account
WORKGROUP = "dynamo-archive-dev"
DATABASE = "dynamo_archive_dev"
TABLES = [AthenaTable.named("orders", "objects"), AthenaTable.named("sessions", "compact")]

COLUMNS = [
    {"Name": "table_name", "Label": "table_name", "Type": "varchar"},
    {"Name": "deletions", "Label": "deletions", "Type": "bigint"},
    {"Name": "first", "Label": "first", "Type": "timestamp"},
    {"Name": "image_missing", "Label": "image_missing", "Type": "boolean"},
    {"Name": "image", "Label": "image", "Type": "json"},
]


def row(*values: str | None) -> dict[str, Any]:
    return {"Data": [{} if v is None else {"VarCharValue": v} for v in values]}


HEADER = row("table_name", "deletions", "first", "image_missing", "image")
ROWS = [
    row("orders", "2", "2026-11-25 10:00:00.000", "false", '{"PK":{"S":"a"}}'),
    row("sessions", "1", None, "true", None),
]
EXPECTED = (
    ("orders", 2, datetime(2026, 11, 25, 10, 0), False, '{"PK":{"S":"a"}}'),
    ("sessions", 1, None, True, None),
)


class Clock:
    """A clock that moves only when the engine sleeps; it records every wait."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


class ScriptedAthena:
    """An in-memory Athena client: every query goes through ``states`` (the last one stays), with
    ``scanned`` bytes at each, and returns ``pages`` of rows (NextToken from one to the next).
    Records the starts and the stops it was asked for."""

    def __init__(
        self,
        states: list[str] | None = None,
        scanned: list[int] | None = None,
        reason: str | None = None,
        pages: list[list[dict[str, Any]]] | None = None,
        columns: list[dict[str, Any]] | None = None,
    ) -> None:
        self.states = list(states or ["QUEUED", "RUNNING", "SUCCEEDED"])
        self.scanned = list(scanned or [0] * len(self.states))
        self.reason = reason
        self.pages = pages if pages is not None else [[HEADER, *ROWS]]
        self.columns = columns if columns is not None else COLUMNS
        self.started: list[dict[str, Any]] = []
        self.stopped: list[str] = []
        self.looks = 0

    def start_query_execution(self, **kwargs: Any) -> dict[str, Any]:
        self.started.append(kwargs)
        return {"QueryExecutionId": f"q-{len(self.started)}"}

    def get_query_execution(self, *, QueryExecutionId: str) -> dict[str, Any]:
        at = min(self.looks, len(self.states) - 1)
        self.looks += 1
        state = "CANCELLED" if self.stopped else self.states[at]
        status: dict[str, Any] = {"State": state}
        if self.reason and state in {"FAILED", "CANCELLED"}:
            status["StateChangeReason"] = self.reason
        return {
            "QueryExecution": {
                "QueryExecutionId": QueryExecutionId,
                "Status": status,
                "Statistics": {"DataScannedInBytes": self.scanned[min(at, len(self.scanned) - 1)]},
            }
        }

    def get_query_results(self, *, QueryExecutionId: str, MaxResults: int, NextToken: str | None = None) -> Any:
        assert MaxResults <= 1000
        index = int(NextToken or 0)
        page: dict[str, Any] = {
            "ResultSet": {"Rows": self.pages[index], "ResultSetMetadata": {"ColumnInfo": self.columns}}
        }
        if index + 1 < len(self.pages):
            page["NextToken"] = str(index + 1)
        return page

    def stop_query_execution(self, *, QueryExecutionId: str) -> dict[str, Any]:
        self.stopped.append(QueryExecutionId)
        return {}


@pytest.fixture
def manual_progress():
    """moto moves a query one state further at each GetQueryExecution (RUNNING, then SUCCEEDED)."""
    state_manager.set_transition(model_name="athena::execution", transition={"progression": "manual", "times": 1})
    yield
    state_manager.unset_transition(model_name="athena::execution")


@pytest.fixture
def moto_athena(clients, manual_progress, monkeypatch):
    # moto 5.2.6 routes Athena requests to "/" only (the old JSON protocol); botocore 1.44 sends
    # Athena's REST-JSON paths (POST /query-executions ...), which moto's own router parses once
    # the URL reaches it. So widen the URL pattern: the requests are the real ones.
    monkeypatch.setattr(moto.athena.urls, "url_paths", {"{0}/.*$": AthenaResponse.dispatch})
    client = clients.session.client("athena", config=clients.config)
    client.create_work_group(
        Name=WORKGROUP,
        Configuration={
            "ResultConfiguration": {"OutputLocation": "s3://results/results/"},
            "EnforceWorkGroupConfiguration": True,
            "BytesScannedCutoffPerQuery": 10737418240,
        },
    )
    return client


def backend():
    return athena_backends[ACCOUNT][REGION]


@pytest.fixture(params=["fake", "moto"])
def athena(request):
    """The same client role, answered by the in-memory fake or by moto, both holding ROWS."""
    if request.param == "fake":
        return ScriptedAthena()
    client = request.getfixturevalue("moto_athena")
    backend().query_results_queue.append(QueryResults(rows=[HEADER, *ROWS], column_info=COLUMNS))
    return client


def engine(client: Any, clock: Clock | None = None, **options: Any) -> AthenaQueryEngine:
    clock = clock or Clock()
    return AthenaQueryEngine(
        client,
        workgroup=WORKGROUP,
        database=DATABASE,
        tables=TABLES,
        retry=FAST,
        clock=clock,
        sleep=clock.sleep,
        **options,
    )


# --- both clients ---------------------------------------------------------------------------------------


def test_query_waits_with_progress_and_returns_typed_rows_without_the_header(athena) -> None:
    clock = Clock()
    seen: list[QueryProgress] = []

    result = engine(athena, clock).run("SELECT table_name, count(*) FROM deletions GROUP BY 1", on_progress=seen.append)

    assert result.columns == ("table_name", "deletions", "first", "image_missing", "image")
    assert result.types == ("varchar", "bigint", "timestamp", "boolean", "json")
    assert result.rows == EXPECTED
    states = [p.state for p in seen]
    assert len(states) >= 2 and states[-1] == "SUCCEEDED"
    assert set(states[:-1]) <= {"QUEUED", "RUNNING"}
    # one wait per look at an unfinished query, each half as long again as the one before
    assert clock.waits == [0.5 * 1.5**i for i in range(len(states) - 1)]
    assert result.elapsed_s == sum(clock.waits)
    assert result.query_id == seen[0].query_id


def test_moto_receives_the_relation_and_the_users_query_in_the_workgroup_and_database(moto_athena) -> None:
    result = engine(moto_athena).run("SELECT count(*) FROM deletions WHERE table_name = 'orders'")

    execution = backend().executions[result.query_id]
    assert execution.query.startswith("WITH deletions AS (")
    assert execution.query.endswith("SELECT count(*) FROM deletions WHERE table_name = 'orders'")
    assert '"dynamo_archive_dev"."orders_objects"' in execution.query
    assert execution.workgroup.name == WORKGROUP
    assert execution.context == {"Catalog": "AwsDataCatalog", "Database": DATABASE}
    # moto scans nothing; Athena bills its 10 MB minimum for any query that ran.
    assert result.bytes_scanned == 0
    assert result.cost_usd == athena_cost_usd(0) > 0


def test_a_query_with_no_rows_gives_no_rows(moto_athena) -> None:
    result = engine(moto_athena).run("SELECT * FROM deletions WHERE false")

    assert result.rows == ()


def test_a_query_that_fails_without_a_reason_says_so_in_one_line(moto_athena) -> None:
    def fail(progress: QueryProgress) -> None:
        backend().executions[progress.query_id].status = "FAILED"

    with pytest.raises(AthenaQueryError) as raised:
        engine(moto_athena).run("SELECT 1", on_progress=fail)

    assert str(raised.value) == f"Athena query {raised.value.query_id} failed: Athena gave no reason"
    assert raised.value.cost_usd == 0


class RecordsStarts:
    """Delegates to an Athena client, keeping the ClientRequestToken of every start that reaches it."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.tokens: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def start_query_execution(self, **kwargs: Any) -> Any:
        self.tokens.append(kwargs["ClientRequestToken"])
        return self.client.start_query_execution(**kwargs)


def test_a_throttled_start_is_retried_as_the_same_request(moto_athena) -> None:
    recorded = RecordsStarts(moto_athena)
    flaky = FlakyClient(
        recorded,
        faults={
            # The start reaches Athena, then its answer is lost: the retry must not be a second query.
            "start_query_execution": [AfterCall(client_error("ThrottlingException", 400, "StartQueryExecution"))],
            "get_query_execution": [client_error("ThrottlingException", 400, "GetQueryExecution")],
        },
    )

    result = engine(flaky).run("SELECT 1")

    assert flaky.calls["start_query_execution"] == 2
    assert len(recorded.tokens) == 2
    assert recorded.tokens[0] == recorded.tokens[1], "a retried start carries the same ClientRequestToken"
    assert flaky.calls["get_query_execution"] == 3  # one throttled, then RUNNING, SUCCEEDED
    assert result.rows == ()


def test_a_refused_start_is_one_line_and_not_retried(moto_athena) -> None:
    flaky = FlakyClient(moto_athena, always={"start_query_execution": client_error("InvalidRequestException", 400)})

    with pytest.raises(AthenaQueryError, match=r"^athena.StartQueryExecution failed: InvalidRequestException: "):
        engine(flaky).run("SELECT 1")

    assert flaky.calls["start_query_execution"] == 1


def test_a_refused_query_never_reaches_athena() -> None:
    fake = ScriptedAthena()

    with pytest.raises(QueryRefusedError):
        engine(fake).run("DELETE FROM deletions")

    assert fake.started == []


# --- what moto cannot answer ------------------------------------------------------------------------------


def test_bytes_scanned_are_reported_with_their_cost_and_progress_shows_them_grow() -> None:
    fake = ScriptedAthena(scanned=[0, 3 * 2**30, 7 * 2**30])
    seen: list[QueryProgress] = []

    result = engine(fake).run("SELECT count(*) FROM deletions", on_progress=seen.append)

    assert [p.bytes_scanned for p in seen] == [0, 3 * 2**30, 7 * 2**30]
    assert result.bytes_scanned == 7 * 2**30
    assert result.cost_usd == Decimal("0.03417969")  # 7 GiB at $5 per TiB, rounded up to 1e-8


def test_a_failed_query_reports_athenas_reason_on_one_line_and_costs_nothing() -> None:
    fake = ScriptedAthena(
        states=["QUEUED", "FAILED"],
        scanned=[0, 5 * 2**20],
        reason="COLUMN_NOT_FOUND: line 3:8: Column 'plan' cannot be resolved\nat io.trino...",
    )

    with pytest.raises(AthenaQueryError) as raised:
        engine(fake).run("SELECT plan FROM deletions")

    assert str(raised.value) == "Athena query q-1 failed: COLUMN_NOT_FOUND: line 3:8: Column 'plan' cannot be resolved"
    assert raised.value.bytes_scanned == 5 * 2**20
    assert raised.value.cost_usd == 0  # Athena bills no failed query


def test_a_query_cancelled_at_the_bytes_scanned_limit_says_how_to_narrow_it_and_is_billed() -> None:
    fake = ScriptedAthena(
        states=["RUNNING", "CANCELLED"],
        scanned=[2**30, 10 * 2**30],
        reason="Query cancelled: the query reached the data scanned limit of the workgroup",
    )

    with pytest.raises(AthenaQueryError) as raised:
        engine(fake).run("SELECT * FROM deletions")

    message = str(raised.value)
    assert message.startswith(
        "Athena query q-1 was cancelled: Query cancelled: the query reached the data scanned limit"
    )
    assert "bytes_scanned_cutoff_per_query" in message and "--deleted-after" in message
    assert "\n" not in message
    assert raised.value.cost_usd == athena_cost_usd(10 * 2**30)


def test_rows_are_read_page_after_page_and_only_the_first_page_has_the_header() -> None:
    pages = [[HEADER, ROWS[0]], [ROWS[1]], [HEADER]]  # a data row equal to the header on a later page stays
    fake = ScriptedAthena(pages=pages)

    result = engine(fake).run("SELECT * FROM deletions")

    # (cells that are not of their column's type stay text)
    assert result.rows == (*EXPECTED, ("table_name", "deletions", "first", False, "image"))


def test_a_first_row_that_is_not_the_header_is_kept() -> None:
    fake = ScriptedAthena(pages=[[*ROWS]])

    assert engine(fake).run("SELECT 1").rows == EXPECTED


def test_a_query_still_running_at_the_timeout_is_stopped_on_athena() -> None:
    fake = ScriptedAthena(states=["QUEUED", "RUNNING"], scanned=[0, 42 * 2**20])
    clock = Clock()

    with pytest.raises(
        AthenaQueryError, match=r"^Athena query q-1 still RUNNING after \d+ s: stopped it \(timeout 10 s\)"
    ):
        engine(fake, clock, timeout_s=10).run("SELECT * FROM deletions")

    assert fake.stopped == ["q-1"]
    assert clock.now <= 10


def test_ctrl_c_while_waiting_stops_the_query_on_athena() -> None:
    fake = ScriptedAthena(states=["RUNNING"])
    clock = Clock()

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        AthenaQueryEngine(
            fake, workgroup=WORKGROUP, database=DATABASE, tables=TABLES, retry=FAST, clock=clock, sleep=interrupt
        ).run("SELECT 1")

    assert fake.stopped == ["q-1"]


def test_the_engine_for_an_environment_uses_the_modules_names() -> None:
    fake = ScriptedAthena()

    clock = Clock()
    engine_ = AthenaQueryEngine.for_environment(
        fake, "dev", [("orders-dev", "objects"), ("sessions-dev", "compact")], clock=clock, sleep=clock.sleep
    )
    engine_.run("SELECT 1")

    started = fake.started[0]
    assert started["WorkGroup"] == "dynamo-archive-dev"
    assert started["QueryExecutionContext"] == {"Catalog": "AwsDataCatalog", "Database": "dynamo_archive_dev"}
    assert '"dynamo_archive_dev"."orders_dev_aed0986a_objects"' in started["QueryString"]


# --- cost -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scanned", "usd"),
    [
        (0, "0.00004769"),  # the 10 MB minimum: 10 / 2**20 TB at $5
        (10 * 2**20, "0.00004769"),
        (10 * 2**20 + 1, "0.00005246"),  # rounded up to the next MB: 11 MB
        (2**40, "5.00000000"),
        (10 * 2**40, "50.00000000"),
    ],
)
def test_cost_is_5_dollars_per_tb_with_a_10_mb_minimum_rounded_up_to_the_mb(scanned: int, usd: str) -> None:
    assert athena_cost_usd(scanned) == Decimal(usd)

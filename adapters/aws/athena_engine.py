"""Runs a query over the ``deletions`` relation on Athena: start, wait with progress, page the rows.

The SQL comes from :mod:`adapters.aws.athena_sql` (the relation as a ``WITH``, checks, ``attr``);
this module only talks to Athena. Every call goes through :class:`RetryPolicy` (throttling, 5xx,
dropped connections), and ``StartQueryExecution`` carries a ``ClientRequestToken``, so a retried
start never runs (and bills) the query twice. Waiting polls ``GetQueryExecution`` with a growing
interval; the clock and the sleep are injected, so tests wait for nothing. A query stopped by a
person (Ctrl-C) or by ``timeout_s`` is stopped on Athena too, since it bills while it runs.

Cost: what Athena bills for the bytes the query scanned, reported with every result and with
every failure after the start (a cancelled query is billed for what it read).

A little over 300 lines: the result cells' conversion by Athena type (``_value``) stays beside the
paging that needs it, rather than in a module of its own for one function.
"""

from __future__ import annotations

import contextlib
import functools
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, Any, Protocol

from adapters.aws.athena_sql import (
    DEFAULT_NAME_PREFIX,
    AthenaTable,
    Layout,
    build_query,
    database_name,
    workgroup_name,
)
from adapters.aws.retries import AWSCallError, RetryPolicy

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

__all__ = [
    "ATHENA_USD_PER_TB",
    "AthenaClient",
    "AthenaQueryEngine",
    "AthenaQueryError",
    "QueryProgress",
    "QueryResult",
    "athena_cost_usd",
]

#: Athena SQL: $5.00 per TB scanned, each query rounded up to the next MB with a 10 MB minimum;
#: failed queries are not billed, cancelled ones are, for what they scanned. Source:
#: https://aws.amazon.com/athena/pricing/ (us-east-1; the same figures in athena.guide's "Athena
#: Basics: Pricing Model" and AWS's own cost examples). MB and TB as AWS bills data: 2**20, 2**40 bytes.
ATHENA_USD_PER_TB = Decimal("5.00")
_MB = 2**20
_MINIMUM_MB = 10
_MB_PER_TB = 2**20

_RUNNING = frozenset({"QUEUED", "RUNNING"})
_MAX_RESULTS = 1000  # GetQueryResults' page limit


def athena_cost_usd(bytes_scanned: int) -> Decimal:
    """What Athena bills for a query that scanned ``bytes_scanned`` (not for a failed query: 0)."""
    megabytes = max(-(-bytes_scanned // _MB), _MINIMUM_MB)
    return (ATHENA_USD_PER_TB * megabytes / _MB_PER_TB).quantize(Decimal("0.00000001"), rounding=ROUND_CEILING)


class AthenaClient(Protocol):
    """The four calls of boto3's Athena client this engine makes (a real client satisfies it)."""

    def start_query_execution(self, **kwargs: Any) -> Any: ...
    def get_query_execution(self, **kwargs: Any) -> Any: ...
    def get_query_results(self, **kwargs: Any) -> Any: ...
    def stop_query_execution(self, **kwargs: Any) -> Any: ...


class AthenaQueryError(Exception):
    """A query that did not give rows: one line for a person, and what it scanned and cost so far."""

    def __init__(self, message: str, *, query_id: str = "", bytes_scanned: int = 0, cost_usd: Decimal | None = None):
        super().__init__(message)
        self.query_id = query_id
        self.bytes_scanned = bytes_scanned
        self.cost_usd = Decimal(0) if cost_usd is None else cost_usd


@dataclass(frozen=True, slots=True)
class QueryProgress:
    """One look at a running query, handed to the progress callback at every poll."""

    query_id: str
    state: str
    elapsed_s: float
    bytes_scanned: int


@dataclass(frozen=True, slots=True)
class QueryResult:
    """The rows of a finished query (values converted by their Athena type), and what it cost."""

    query_id: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]
    bytes_scanned: int
    cost_usd: Decimal
    elapsed_s: float


class AthenaQueryEngine:
    """Runs queries over the ``deletions`` relation of ``tables`` in ``workgroup``, against ``database``.

    Args:
        client: a boto3 Athena client (built like every client here, botocore retries off).
        timeout_s: stop the query on Athena and give up after this long (None: wait as long as it runs).
        clock, sleep: time.monotonic and time.sleep, replaced in tests.
    """

    def __init__(
        self,
        client: AthenaClient,
        *,
        workgroup: str,
        database: str,
        tables: Sequence[AthenaTable],
        retry: RetryPolicy | None = None,
        timeout_s: float | None = None,
        first_poll_s: float = 0.5,
        max_poll_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.workgroup = workgroup
        self.database = database
        self.tables = tuple(tables)
        self.retry = retry or RetryPolicy()
        self.timeout_s = timeout_s
        self.first_poll_s = first_poll_s
        self.max_poll_s = max_poll_s
        self.clock = clock
        self.sleep = sleep

    @classmethod
    def for_environment(
        cls,
        client: AthenaClient,
        environment: str,
        tables: Iterable[tuple[str, Layout]],
        *,
        name_prefix: str = DEFAULT_NAME_PREFIX,
        **options: Any,
    ) -> AthenaQueryEngine:
        """The engine for the workgroup, database and Glue tables terraform/modules/archive-query
        creates for ``environment``: (table name, layout) pairs as in config/<env>.yaml."""
        return cls(
            client,
            workgroup=workgroup_name(environment, name_prefix),
            database=database_name(environment, name_prefix),
            tables=[AthenaTable.named(name, layout) for name, layout in tables],
            **options,
        )

    def run(
        self,
        sql: str,
        *,
        deleted_after: datetime | None = None,
        deleted_before: datetime | None = None,
        on_progress: Callable[[QueryProgress], None] | None = None,
    ) -> QueryResult:
        """Run ``sql`` over ``deletions`` (limited to the window, where given) and return its rows.

        Raises:
            QueryRefusedError: the query is not sent (not read-only, names ``item``, a bad ``attr``).
            AthenaQueryError: Athena refused, failed or cancelled it, or it ran out of time.
        """
        statement = build_query(
            sql, self.tables, self.database, deleted_after=deleted_after, deleted_before=deleted_before
        )
        started = self.clock()
        token = uuid.uuid4().hex  # one per run, so a retried start is the same request to Athena
        query_id = self._call(
            "athena.StartQueryExecution",
            lambda: self.client.start_query_execution(
                QueryString=statement,
                QueryExecutionContext={"Catalog": "AwsDataCatalog", "Database": self.database},
                WorkGroup=self.workgroup,
                ClientRequestToken=token,
            ),
        )["QueryExecutionId"]
        try:
            execution = self._wait(query_id, started, on_progress)
        except KeyboardInterrupt:
            self._stop(query_id)
            raise
        scanned = int(execution.get("Statistics", {}).get("DataScannedInBytes", 0))
        state = execution["Status"]["State"]
        if state != "SUCCEEDED":
            raise _failure(query_id, execution, scanned)
        columns, types, rows = self._rows(query_id)
        return QueryResult(
            query_id=query_id,
            columns=columns,
            types=types,
            rows=rows,
            bytes_scanned=scanned,
            cost_usd=athena_cost_usd(scanned),
            elapsed_s=self.clock() - started,
        )

    def _call(self, operation: str, fn: Callable[[], Any], **context: Any) -> Any:
        try:
            return self.retry.call(operation, fn, workgroup=self.workgroup, **context)
        except AWSCallError as error:
            raise AthenaQueryError(str(error), query_id=str(context.get("query_id", ""))) from error

    def _wait(self, query_id: str, started: float, on_progress: Callable[[QueryProgress], None] | None) -> Any:
        interval = self.first_poll_s
        while True:
            execution = self._call(
                "athena.GetQueryExecution",
                lambda: self.client.get_query_execution(QueryExecutionId=query_id),
                query_id=query_id,
            )["QueryExecution"]
            elapsed = self.clock() - started
            state = execution["Status"]["State"]
            if on_progress is not None:
                scanned = int(execution.get("Statistics", {}).get("DataScannedInBytes", 0))
                on_progress(QueryProgress(query_id, state, elapsed, scanned))
            if state not in _RUNNING:
                return execution
            if self.timeout_s is not None and elapsed + interval > self.timeout_s:
                self._stop(query_id)
                scanned = int(execution.get("Statistics", {}).get("DataScannedInBytes", 0))
                raise AthenaQueryError(
                    f"Athena query {query_id} still {state} after {elapsed:.0f} s: "
                    f"stopped it (timeout {self.timeout_s:g} s)",
                    query_id=query_id,
                    bytes_scanned=scanned,
                    cost_usd=athena_cost_usd(scanned) if scanned else Decimal(0),
                )
            self.sleep(interval)
            interval = min(interval * 1.5, self.max_poll_s)

    def _stop(self, query_id: str) -> None:
        """Stop a query we no longer wait for; a failure here must not hide why we stopped."""
        with contextlib.suppress(AthenaQueryError):
            self._call(
                "athena.StopQueryExecution",
                lambda: self.client.stop_query_execution(QueryExecutionId=query_id),
                query_id=query_id,
            )

    def _rows(self, query_id: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[object, ...], ...]]:
        """Every row of a finished query, page by page; the header row Athena puts first is dropped."""
        columns: tuple[str, ...] = ()
        types: tuple[str, ...] = ()
        rows: list[tuple[object, ...]] = []
        token: str | None = None
        first = True
        while True:
            arguments: dict[str, Any] = {"QueryExecutionId": query_id, "MaxResults": _MAX_RESULTS}
            if token:
                arguments["NextToken"] = token
            page = self._call(
                "athena.GetQueryResults",
                functools.partial(self.client.get_query_results, **arguments),
                query_id=query_id,
            )
            result_set = page["ResultSet"]
            data = [[cell.get("VarCharValue") for cell in row.get("Data", [])] for row in result_set.get("Rows", [])]
            if first:
                info = result_set.get("ResultSetMetadata", {}).get("ColumnInfo", [])
                columns = tuple(c.get("Label") or c["Name"] for c in info)
                types = tuple(c.get("Type", "varchar").lower() for c in info)
                # SELECT results start with the column labels; drop that row only when it is one.
                if data and tuple(data[0]) == columns:
                    data = data[1:]
                first = False
            rows += [tuple(_value(text, kind) for text, kind in zip(row, types, strict=False)) for row in data]
            token = page.get("NextToken")
            if not token:
                return columns, types, tuple(rows)


def _failure(query_id: str, execution: Any, scanned: int) -> AthenaQueryError:
    """FAILED or CANCELLED as one line: Athena's reason (its first line), and what was scanned."""
    status = execution["Status"]
    state = status["State"]
    reason = (status.get("StateChangeReason") or status.get("AthenaError", {}).get("ErrorMessage") or "").strip()
    reason = reason.splitlines()[0] if reason else "Athena gave no reason"
    billed = state == "CANCELLED"  # failed queries are not billed; cancelled ones are, for what they read
    cost = athena_cost_usd(scanned) if billed and scanned else Decimal(0)
    hint = ""
    if "scanned" in reason.lower() and "limit" in reason.lower():
        hint = (
            " (the workgroup's bytes_scanned_cutoff_per_query: narrow the query with --deleted-after/--deleted-before"
            " on compact tables or WHERE table_name = ..., or raise the cutoff in terraform)"
        )
    verb = "was cancelled" if state == "CANCELLED" else "failed"
    return AthenaQueryError(
        f"Athena query {query_id} {verb}: {reason}{hint}", query_id=query_id, bytes_scanned=scanned, cost_usd=cost
    )


def _value(text: str | None, kind: str) -> object:
    """An Athena result cell (always text) as the Python value its column type says."""
    if text is None:
        return None
    base = " ".join(re.sub(r"\(.*?\)", " ", kind).split())  # timestamp(3) with time zone -> timestamp with time zone
    try:
        if base in {"tinyint", "smallint", "integer", "int", "bigint"}:
            return int(text)
        if base in {"double", "real", "float"}:
            return float(text)
        if base == "decimal":
            return Decimal(text)
        if base == "boolean":
            return text == "true"
        if base == "date":
            return date.fromisoformat(text)
        if base == "timestamp":
            return datetime.fromisoformat(text)
        if base == "timestamp with time zone" and text.endswith(" UTC"):
            return datetime.fromisoformat(text.removesuffix(" UTC")).replace(tzinfo=UTC)
    except ValueError:
        return text
    return text

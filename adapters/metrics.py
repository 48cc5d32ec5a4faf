"""What each invocation did, as CloudWatch metrics written to stdout in the Embedded Metric Format.

Lambda sends the function's stdout to CloudWatch Logs, which turns every line that is an EMF
document into metric data: no ``PutMetricData`` call (no request per invocation, no latency, no
permission to grant), and the numbers sit in the same log stream as the lines that explain them.

Per invocation and table, one document in the configured namespace, with the single dimension
``Table`` (a record id as a dimension would make a metric per record):

- ``Archived``, ``DeadLettered``, ``Failed``, ``Skipped`` (Count), every one even at zero, so a
  period's sums add up to the records handled and an alarm sees a 0 rather than missing data;
- ``ArchiveLag`` (Milliseconds): per archived record, from its deletion (the stream record's
  ApproximateCreationDateTime, whole seconds in AWS) to the moment the handler saw it archived.
  Every value is sent, not a statistic set, so CloudWatch can give percentiles (p99) of it. EMF
  takes at most 100 values per metric in a document: the rest go in further documents of that
  table that hold only ``ArchiveLag``, so no count is ever sent twice.

Hand-written rather than Powertools' ``Metrics``: the documents are a few dicts, and Powertools
would be a new runtime dependency whose import adds to a cold start already 2.4 times a bare
``import boto3``; its metrics are also one process-wide object, where ``handle`` takes its
metrics as a collaborator (the CLI's local pipe passes :class:`NoMetrics`).

Specification: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from adapters.logs import write_line
from archiver.service import Archived, summarise

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from archiver.service import Outcome

__all__ = [
    "COUNTS",
    "DEFAULT_NAMESPACE",
    "DIMENSION",
    "LAG",
    "MAX_VALUES_PER_METRIC",
    "UNKNOWN_TABLE",
    "EMFMetrics",
    "Metrics",
    "NoMetrics",
    "emf_documents",
]

DEFAULT_NAMESPACE = "DynamoArchive"
DIMENSION = "Table"
#: Count metrics, in the order they are declared, and the outcome each counts (as summarise names it).
COUNTS: tuple[tuple[str, str], ...] = (
    ("Archived", "archived"),
    ("DeadLettered", "dead_lettered"),
    ("Failed", "failed"),
    ("Skipped", "skipped"),
)
LAG = "ArchiveLag"
#: EMF: a metric's member holds a number or an array of at most 100 numbers.
MAX_VALUES_PER_METRIC = 100
#: The Table of outcomes that name none (an unreadable record without eventSourceARN, an event of
#: unknown shape): a dimension value must be a non-empty string.
UNKNOWN_TABLE = "(unknown)"

_COUNT_DEFINITIONS = [{"Name": name, "Unit": "Count"} for name, _ in COUNTS]
_LAG_DEFINITION = {"Name": LAG, "Unit": "Milliseconds"}


class Metrics(Protocol):
    """Where :func:`adapters.delivery.handle` reports what one invocation did."""

    def publish(self, outcomes: Sequence[Outcome], settled_at: Sequence[float]) -> None:
        """Report ``outcomes``; ``settled_at[i]`` is when outcome i was known, in epoch seconds."""


class NoMetrics:
    """Metrics that go nowhere: most tests (the CLI's local pipe passes its Tally)."""

    def publish(self, outcomes: Sequence[Outcome], settled_at: Sequence[float]) -> None:
        return None


@dataclass(frozen=True)
class EMFMetrics:
    """Metrics as EMF documents, one JSON line each, written by ``write`` (stdout by default).

    Args:
        namespace: the CloudWatch namespace (``ARCHIVER_METRICS_NAMESPACE``).
        write: takes one line without its newline; tests collect them.
        clock: epoch seconds, for each document's ``Timestamp``.
    """

    namespace: str = DEFAULT_NAMESPACE
    write: Callable[[str], None] = write_line
    clock: Callable[[], float] = time.time

    def publish(self, outcomes: Sequence[Outcome], settled_at: Sequence[float]) -> None:
        timestamp_ms = int(self.clock() * 1000)
        for document in emf_documents(self.namespace, outcomes, settled_at, timestamp_ms):
            self.write(json.dumps(document, separators=(",", ":")))


def emf_documents(
    namespace: str, outcomes: Sequence[Outcome], settled_at: Sequence[float], timestamp_ms: int
) -> list[dict[str, Any]]:
    """The EMF documents for one invocation's ``outcomes``: per table (sorted), one with the counts
    and up to 100 ``ArchiveLag`` values, then one per further 100 values. None for no outcomes."""
    by_table: dict[str, list[tuple[Outcome, float]]] = {}
    for outcome, settled in zip(outcomes, settled_at, strict=True):
        by_table.setdefault(outcome.table or UNKNOWN_TABLE, []).append((outcome, settled))
    counts: dict[str, dict[str, int]] = {}
    lags: dict[str, list[int]] = {}
    for table, settled_outcomes in by_table.items():
        counted = summarise(outcome for outcome, _ in settled_outcomes)
        counts[table] = {metric: counted[name] for metric, name in COUNTS}
        # Never below 0: the deletion time is whole seconds, so a record archived within the
        # second it was deleted in can look archived before it was deleted.
        lags[table] = [
            max(0, round((settled - outcome.deleted_at.timestamp()) * 1000))
            for outcome, settled in settled_outcomes
            if isinstance(outcome, Archived) and outcome.deleted_at is not None
        ]
    documents = []
    for table in sorted(counts):
        values = lags[table]
        first, rest = values[:MAX_VALUES_PER_METRIC], values[MAX_VALUES_PER_METRIC:]
        documents.append(_document(namespace, table, timestamp_ms, counts[table], first))
        for start in range(0, len(rest), MAX_VALUES_PER_METRIC):
            documents.append(_document(namespace, table, timestamp_ms, {}, rest[start : start + MAX_VALUES_PER_METRIC]))
    return documents


def _document(namespace: str, table: str, timestamp_ms: int, counts: dict[str, int], lags: list[int]) -> dict[str, Any]:
    definitions = _COUNT_DEFINITIONS if counts else []
    document: dict[str, Any] = {
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [[DIMENSION]],
                    "Metrics": [*definitions, _LAG_DEFINITION] if lags else list(definitions),
                }
            ],
        },
        DIMENSION: table,
        **counts,
    }
    if lags:
        document[LAG] = lags
    return document

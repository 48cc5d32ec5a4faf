"""Shared fixtures: event factories over the sample payloads in ``tests/events/``.

Tests ask for a variant ("a REMOVE of this key", "that record in an EventBridge envelope") rather
than pasting JSON, so the documented shapes live in one place and each test shows only what it
changes. Every factory call returns a fresh deep copy: a test may break its copy freely.
"""

from __future__ import annotations

import copy
import json
import logging
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import structlog

from adapters.logs import _LineLogger

if TYPE_CHECKING:
    from collections.abc import Iterator

EVENTS = Path(__file__).parent / "events"
STREAM_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/{table}/stream/2024-11-01T00:00:00.000"


@cache
def _sample(name: str) -> Any:
    return json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))


class Events:
    """Builds delivery shapes and record variants from the samples."""

    def load(self, name: str) -> Any:
        """The sample ``tests/events/<name>.json`` as parsed JSON (a fresh copy)."""
        return copy.deepcopy(_sample(name))

    def remove(
        self,
        *,
        n: int = 0,
        table: str | None = None,
        keys: dict[str, Any] | None = None,
        old_image: dict[str, Any] | None = None,
        padding: int = 0,
        ttl: bool = False,
    ) -> dict[str, Any]:
        """A REMOVE from ``remove_record.json``; ``n`` makes the eventID, sequence and key unique.

        Args:
            padding: add a string attribute of this many characters to the old image (big items).
        """
        record: dict[str, Any] = self.load("ttl_remove" if ttl else "remove_record")
        dynamodb = record["dynamodb"]
        if n:
            record["eventID"] = f"{record['eventID'][:-8]}{n:08d}"
            dynamodb["SequenceNumber"] = str(int(dynamodb["SequenceNumber"]) + n)
            for attribute in dynamodb["Keys"].values():
                attribute["S"] = f"{attribute['S']}#{n}"
            for name, attribute in dynamodb["Keys"].items():
                dynamodb["OldImage"][name] = copy.deepcopy(attribute)
        if table is not None:
            record["eventSourceARN"] = STREAM_ARN.format(table=table)
        if keys is not None:
            dynamodb["Keys"] = keys
            dynamodb["OldImage"] = {**dynamodb["OldImage"], **copy.deepcopy(keys)}
        if old_image is not None:
            dynamodb["OldImage"] = {**copy.deepcopy(dynamodb["Keys"]), **old_image}
        if padding:
            dynamodb["OldImage"]["padding"] = {"S": "x" * padding}
        return record

    def removes(self, count: int, *, padding: int = 0, table: str | None = None) -> list[dict[str, Any]]:
        """``count`` distinct REMOVEs (distinct keys, eventIDs and sequence numbers)."""
        return [self.remove(n=i + 1, padding=padding, table=table) for i in range(count)]

    def eventbridge(self, record: object | None = None) -> dict[str, Any]:
        """``eventbridge_remove.json``: a pipe -> bus event; ``record`` replaces its ``detail``."""
        event: dict[str, Any] = self.load("eventbridge_remove")
        if record is not None:
            event["detail"] = record
        return event

    def pipe(self, records: list[Any] | None = None) -> list[Any]:
        """``pipe_batch.json`` (a JSON list, as a pipe gives a Lambda target), or ``records``."""
        return self.load("pipe_batch") if records is None else list(records)

    def sqs(self, carried: object | None = None) -> dict[str, Any]:
        """``sqs_batch.json``: an SQS event source mapping batch whose one message carries ``carried``
        (by default the EventBridge event) as its JSON body: what a rule -> queue -> function sends."""
        event: dict[str, Any] = self.load("sqs_batch")
        event["Records"][0]["body"] = json.dumps(self.eventbridge() if carried is None else carried)
        return event

    def sns(self, carried: object | None = None) -> dict[str, Any]:
        """``sns_notification.json``: an SNS notification whose message is ``carried`` as JSON (by
        default the EventBridge event): what a rule -> topic -> function sends."""
        event: dict[str, Any] = self.load("sns_notification")
        event["Records"][0]["Sns"]["Message"] = json.dumps(self.eventbridge() if carried is None else carried)
        return event

    def esm(self, records: list[Any] | None = None) -> dict[str, Any]:
        """``esm_batch.json`` (``{"Records": [...]}``), or ``records`` in that envelope."""
        event: dict[str, Any] = self.load("esm_batch")
        if records is not None:
            event["Records"] = list(records)
        return event


def without(record: dict[str, Any], path: str) -> dict[str, Any]:
    """``record`` with the dotted ``path`` (e.g. ``dynamodb.Keys``) removed, in place; returned."""
    *parents, last = path.split(".")
    target = record
    for part in parents:
        target = target[part]
    del target[last]
    return record


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def process_logging_left_alone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """main() configures structlog for the process, caching loggers on first use; in a test worker that
    would change what later tests of other modules capture. Here it filters the same, uncached, and the
    previous configuration comes back after the test."""
    saved = structlog.get_config()

    def configure(level: str = "INFO", *, to_stderr: bool = False, **_: object) -> None:
        structlog.configure(
            wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level]),
            logger_factory=lambda *_args: _LineLogger(to_stderr),
            cache_logger_on_first_use=False,
        )

    monkeypatch.setattr("adapters.logs.configure_logging", configure)
    yield
    structlog.configure(**saved)

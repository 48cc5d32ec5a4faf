"""A scheduled Lambda entry point: is every stream reader of the archive running? One EMF line per reader.

A pipe or event source mapping publishes metrics only while it delivers something, so a reader
that is stopped, disabled by Lambda, failed or deleted looks exactly like a quiet table: no data,
which every count alarm treats as fine while the stream's 24 hours run out. archive-environment
runs this function every 5 minutes; it lists the readers named ``<name prefix>...`` (pipes and
DynamoDB-stream mappings of functions, both named ``<name_prefix>-<table>`` by the table module)
and writes ``ReaderRunning`` (1 running, 0 anything else) with dimension ``Reader`` = that name.
Each table's ``reader-stopped`` alarm treats missing data as breaching, so a reader that is gone,
or this check failing, ends in the alarm too. Settings come from ``ARCHIVER_READER_PREFIX`` and
``ARCHIVER_METRICS_NAMESPACE``, read here because this is the entry point.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from adapters.logs import write_line

__all__ = ["METRIC", "handler", "reader_states", "readings"]

METRIC = "ReaderRunning"
DIMENSION = "Reader"


def reader_states(pipes: Any, lambda_: Any, prefix: str) -> dict[str, str]:
    """Reader name -> its state (a pipe's CurrentState, a mapping's State) for readers named ``prefix``..."""
    states: dict[str, str] = {}
    for page in pipes.get_paginator("list_pipes").paginate(NamePrefix=prefix):
        states.update({pipe["Name"]: pipe["CurrentState"] for pipe in page["Pipes"]})
    for page in lambda_.get_paginator("list_event_source_mappings").paginate():
        for mapping in page["EventSourceMappings"]:
            function = mapping["FunctionArn"].split(":")[6]  # arn:aws:lambda:<region>:<account>:function:<name>[:alias]
            if function.startswith(prefix) and ":dynamodb:" in mapping.get("EventSourceArn", ""):
                states[function] = mapping["State"]
    return states


def readings(states: dict[str, str], namespace: str, now_ms: int) -> list[dict[str, Any]]:
    """One EMF document per reader: 1 when running (a pipe RUNNING, a mapping Enabled), else 0."""
    return [
        {
            "_aws": {
                "Timestamp": now_ms,
                "CloudWatchMetrics": [
                    {
                        "Namespace": namespace,
                        "Dimensions": [[DIMENSION]],
                        "Metrics": [{"Name": METRIC, "Unit": "Count"}],
                    }
                ],
            },
            DIMENSION: name,
            METRIC: 1 if state in ("RUNNING", "Enabled") else 0,
            "State": state,
        }
        for name, state in sorted(states.items())
    ]


def handler(event: object, context: object) -> dict[str, str]:
    """List the readers, write their readings, return their states (for a person invoking it by hand)."""
    import boto3  # noqa: PLC0415 - imported on invocation, as the archiving function does

    states = reader_states(boto3.client("pipes"), boto3.client("lambda"), os.environ["ARCHIVER_READER_PREFIX"])
    for document in readings(states, os.environ["ARCHIVER_METRICS_NAMESPACE"], int(time.time() * 1000)):
        write_line(json.dumps(document, separators=(",", ":")))
    return states

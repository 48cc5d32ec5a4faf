"""The reader check sees a stopped pipe and a disabled mapping, on in-process moto."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import boto3
import pytest

from adapters import reader_check
from tests.integration.conftest import REGION

PREFIX = "dynamo-archive-"


def _package() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


@pytest.fixture
def readers(aws: None) -> dict[str, Any]:
    """A pipe per bus table (orders, customers), a mapping per stream table (events), and someone else's pipe."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    iam = boto3.client("iam", region_name=REGION)
    pipes = boto3.client("pipes", region_name=REGION)
    lambda_ = boto3.client("lambda", region_name=REGION)
    table = dynamodb.create_table(
        TableName="events",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    role = iam.create_role(RoleName="reader", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"}))["Role"]
    stream = table["LatestStreamArn"]
    for name in (f"{PREFIX}orders", f"{PREFIX}customers", "someone-elses-pipe"):
        pipes.create_pipe(Name=name, RoleArn=role["Arn"], Source=stream, Target=stream)
    function = lambda_.create_function(
        FunctionName=f"{PREFIX}events", Role=role["Arn"], Runtime="python3.13", Handler="handler.handler",
        Code={"ZipFile": _package()},
    )  # fmt: skip
    mapping = lambda_.create_event_source_mapping(
        FunctionName=function["FunctionArn"], EventSourceArn=stream, StartingPosition="TRIM_HORIZON"
    )
    return {"pipes": pipes, "lambda": lambda_, "mapping": mapping["UUID"]}


def test_every_archive_reader_is_reported_running_and_no_one_elses(readers: dict[str, Any]) -> None:
    states = reader_check.reader_states(readers["pipes"], readers["lambda"], PREFIX)

    assert set(states) == {f"{PREFIX}orders", f"{PREFIX}customers", f"{PREFIX}events"}
    documents = reader_check.readings(states, "DynamoArchive", now_ms=0)
    assert {d["Reader"]: d["ReaderRunning"] for d in documents} == dict.fromkeys(states, 1)


def test_a_stopped_pipe_and_a_disabled_mapping_read_zero(readers: dict[str, Any]) -> None:
    # given one pipe stopped by hand and the mapping disabled (as Lambda does when the stream is gone)
    readers["pipes"].stop_pipe(Name=f"{PREFIX}orders")
    readers["lambda"].update_event_source_mapping(UUID=readers["mapping"], Enabled=False)

    # when the check runs
    states = reader_check.reader_states(readers["pipes"], readers["lambda"], PREFIX)
    running = {d["Reader"]: d["ReaderRunning"] for d in reader_check.readings(states, "DynamoArchive", now_ms=0)}

    # then those two read 0, the other 1
    assert running == {f"{PREFIX}orders": 0, f"{PREFIX}events": 0, f"{PREFIX}customers": 1}


def test_each_reading_is_an_emf_document_cloudwatch_turns_into_a_metric() -> None:
    (document,) = reader_check.readings({"dynamo-archive-orders": "STOPPED"}, "Acme/Archive", now_ms=1_700_000_000_000)

    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert document["_aws"]["Timestamp"] == 1_700_000_000_000
    assert directive == {
        "Namespace": "Acme/Archive",
        "Dimensions": [["Reader"]],
        "Metrics": [{"Name": "ReaderRunning", "Unit": "Count"}],
    }
    assert (document["Reader"], document["ReaderRunning"], document["State"]) == ("dynamo-archive-orders", 0, "STOPPED")


def test_the_handler_writes_one_line_per_reader(
    readers: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ARCHIVER_READER_PREFIX", PREFIX)
    monkeypatch.setenv("ARCHIVER_METRICS_NAMESPACE", "DynamoArchive")

    states = reader_check.handler({}, None)

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(line["Reader"] for line in lines) == sorted(states)

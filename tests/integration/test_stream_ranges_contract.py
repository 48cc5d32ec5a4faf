"""One StreamRanges contract, two implementations: FakeStreamRanges and DynamoDBStreamRanges over moto.

Both read a range with both ends included and nothing outside it, say a shard the stream no longer
has is gone (past its retention), and say a range the shard has not reached is not readable now.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from adapters.aws.stream_ranges import DynamoDBStreamRanges
from adapters.aws.stream_reader import StartFrom, StreamReader
from archiver.dead_letters import StreamRange
from archiver.ports import StreamRangeGoneError, StreamRanges, StreamUnavailableError
from tests.conftest import STREAM_ARN, Events
from tests.fakes import FakeStreamRanges
from tests.integration.conftest import FAST

TABLE = "orders"


@dataclass(frozen=True)
class Backend:
    ranges: StreamRanges
    stream_arn: str
    shard_id: str
    records: list[dict]  # what the shard holds, oldest first (at least three records)


def _moto_stream(dynamodb, streams) -> tuple[str, str, list[dict]]:
    """A table with a stream, three items put and deleted; every record of its shard as wire JSON."""
    created = dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    arn = created["TableDescription"]["LatestStreamArn"]
    for n in range(3):
        dynamodb.put_item(TableName=TABLE, Item={"PK": {"S": f"USER#{n}"}})
        dynamodb.delete_item(TableName=TABLE, Key={"PK": {"S": f"USER#{n}"}})
    reader = StreamReader(streams)
    (shard,) = reader.shards(arn)
    iterator = reader.iterator(arn, shard.shard_id, None, StartFrom.TRIM_HORIZON)
    assert iterator is not None
    return arn, shard.shard_id, reader.read(arn, iterator).records


@pytest.fixture(params=["fake", "moto"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "fake":
        fake = FakeStreamRanges()
        arn, records = STREAM_ARN.format(table=TABLE), Events().removes(3, table=TABLE)
        fake.add(arn, "shardId-1", records)
        return Backend(fake, arn, "shardId-1", records)
    clients = request.getfixturevalue("clients")
    arn, shard, records = _moto_stream(clients.dynamodb, clients.dynamodbstreams)
    return Backend(DynamoDBStreamRanges(StreamReader(clients.dynamodbstreams), retry=FAST), arn, shard, records)


def sequence(record: dict) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def test_a_range_reads_both_ends_and_nothing_outside(backend):
    inside = backend.records[1:3]
    first, last = sequence(inside[0]), sequence(inside[-1])

    read = backend.ranges.read(StreamRange(backend.stream_arn, backend.shard_id, first, last))

    assert [sequence(r) for r in read] == [sequence(r) for r in inside]
    assert [r["dynamodb"]["Keys"] for r in read] == [r["dynamodb"]["Keys"] for r in inside]
    assert {r["eventSourceARN"] for r in read} == {backend.stream_arn}


def test_a_range_of_one_record_reads_that_record(backend):
    one = sequence(backend.records[-1])

    (record,) = backend.ranges.read(StreamRange(backend.stream_arn, backend.shard_id, one, one))

    assert record["eventName"] == backend.records[-1]["eventName"] == "REMOVE"


def test_a_shard_the_stream_no_longer_has_is_gone(backend):
    with pytest.raises(StreamRangeGoneError):
        backend.ranges.read(StreamRange(backend.stream_arn, "shardId-00000000000000000000-0000dead", "1", "2"))


def test_a_range_past_the_shards_newest_record_is_not_readable_now(backend):
    first = sequence(backend.records[0])
    beyond = str(int(sequence(backend.records[-1])) + 1_000_000)

    with pytest.raises(StreamUnavailableError):
        backend.ranges.read(StreamRange(backend.stream_arn, backend.shard_id, first, beyond))

"""Builders for stream records in the documented DynamoDB Streams shape, for unit tests.

Each returns a fresh dict, so a test can break one field without touching the others.
"""

from __future__ import annotations

from typing import Any

ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2024-01-01T00:00:00.000"
TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
#: An image with every DynamoDB type once, a 38-digit number and a non-ASCII string among them.
EVERY_TYPE: dict[str, Any] = {
    "s": {"S": "café ☕"},
    "n": {"N": "12345678901234567890123456789012345678"},
    "b": {"B": "AP8A/w=="},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1.5", "99999999999999999999999999999999999999"]},
    "bs": {"BS": ["AQ==", "Ag=="]},
    "m": {"M": {"inner": {"L": [{"B": "Aw=="}, {"N": "-0.000001"}]}}},
    "l": {"L": [{"S": "x"}, {"BOOL": False}, {"NULL": True}]},
    "bool": {"BOOL": True},
    "null": {"NULL": True},
}


def remove_record(
    *,
    event_id: str = "e1",
    keys: dict[str, Any] | None = None,
    old_image: dict[str, Any] | None = None,
    sequence: str = "111100000000000000001",
    created: object = 1700000000,
    arn: str | None = ARN,
    ttl: bool = False,
    view: str = "NEW_AND_OLD_IMAGES",
) -> dict[str, Any]:
    keys = keys if keys is not None else {"PK": {"S": "USER#123"}, "SK": {"S": "PROFILE"}}
    dynamodb: dict[str, Any] = {"Keys": keys, "SequenceNumber": sequence, "SizeBytes": 100, "StreamViewType": view}
    if created is not None:
        dynamodb["ApproximateCreationDateTime"] = created
    if view in ("NEW_AND_OLD_IMAGES", "OLD_IMAGE"):
        dynamodb["OldImage"] = old_image if old_image is not None else {**keys, "name": {"S": "Ada"}}
    record: dict[str, Any] = {
        "eventID": event_id,
        "eventName": "REMOVE",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": dynamodb,
    }
    if arn is not None:
        record["eventSourceARN"] = arn
    if ttl:
        record["userIdentity"] = dict(TTL_IDENTITY)
    return record


def insert_record(event_id: str = "i1") -> dict[str, Any]:
    record = remove_record(event_id=event_id)
    record["eventName"] = "INSERT"
    record["dynamodb"]["NewImage"] = record["dynamodb"].pop("OldImage")
    return record

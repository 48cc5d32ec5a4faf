"""DynamoDBItemTable: the ItemTable port on DynamoDB. A put never overwrites; throttling is retried.

Every put carries ``attribute_not_exists(<first key attribute>)``: DynamoDB writes the item only
where no item has its key and answers ``ConditionalCheckFailedException`` otherwise, which is
"present" (a live item, kept as it is), not an error. So a bulk restore cannot clobber an item
written since the deletion, and running it again after an interruption writes nothing twice.

Throttling (``ProvisionedThroughputExceededException``, ``ThrottlingException``), 5xx and dropped
connections are retried by :class:`~adapters.aws.retries.RetryPolicy`; a put whose write
succeeded but whose answer was lost is retried, meets its own item, and is counted present: the
item is back either way. A :class:`~adapters.aws.rate_limit.RateLimiter`, where given, is asked
before every attempt, so retries count against the cap too.

Items arrive as the archive holds them (wire DynamoDB JSON: binaries base64, numbers as text) and
go to boto3's low-level client as it wants them: binaries as bytes (:func:`item_from_wire`),
numbers untouched as strings, so a 38-digit number never passes through a float.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from adapters.aws.retries import AWSCallError, RetryPolicy, error_code
from archiver.ports import ItemTableError, TableNotFoundError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from mypy_boto3_dynamodb import DynamoDBClient

    from adapters.aws.rate_limit import RateLimiter

__all__ = ["DynamoDBItemTable", "item_from_wire"]

_PRESENT = "ConditionalCheckFailedException"
_NO_TABLE = "ResourceNotFoundException"


def item_from_wire(value: Any) -> Any:
    """An archived image (wire DynamoDB JSON, binaries as base64) -> what boto3's put_item takes.

    Only ``B`` and ``BS`` change (to bytes); ``N``/``NS`` stay the exact text DynamoDB sent.
    """
    if isinstance(value, dict):
        if len(value) == 1:
            ((kind, inner),) = value.items()
            if kind == "B" and isinstance(inner, str):
                return {"B": base64.b64decode(inner)}
            if kind == "BS" and isinstance(inner, list):
                return {"BS": [base64.b64decode(member) for member in inner]}
        return {name: item_from_wire(inner) for name, inner in value.items()}
    if isinstance(value, list):
        return [item_from_wire(inner) for inner in value]
    return value


class DynamoDBItemTable:
    """Conditional puts (and key-only reads, for dry runs) on any table of one client's region.

    Args:
        client: a DynamoDB client, ideally from ``adapters.aws.clients.aws_clients`` (botocore retries off).
        retry: attempts, total time and waits; tests pass tiny waits.
        limiter: caps calls per second across threads (``--rate``); None for no cap.
    """

    def __init__(
        self, client: DynamoDBClient, *, retry: RetryPolicy | None = None, limiter: RateLimiter | None = None
    ) -> None:
        self._client = client
        self._retry = retry or RetryPolicy()
        self._limiter = limiter

    def key_schema(self, table: str) -> dict[str, str]:
        """The table's key attributes, name -> S, N or B (DescribeTable): the check, before any write,
        that it exists and is keyed as the archived items are.

        Raises:
            TableNotFoundError: there is no such table here.
            ItemTableError: it could not be described.
        """
        try:
            described = self._call(
                "dynamodb:DescribeTable", lambda: self._client.describe_table(TableName=table), table
            )
        except ItemTableError as error:
            if isinstance(error.__cause__, AWSCallError) and error.__cause__.code == _NO_TABLE:
                region = self._client.meta.region_name
                raise TableNotFoundError(
                    f"table {table!r} does not exist in {region}; create it first, or name another with --to-table"
                ) from None
            raise
        types = {d["AttributeName"]: d["AttributeType"] for d in described["Table"].get("AttributeDefinitions", [])}
        return {
            element["AttributeName"]: types.get(element["AttributeName"], "?")
            for element in described["Table"]["KeySchema"]
        }

    def put_if_absent(self, table: str, item: Mapping[str, Any], key: Mapping[str, Mapping[str, str]]) -> bool:
        """Write ``item`` unless an item with ``key`` exists; True if written, False if one is there."""
        request: dict[str, Any] = {
            "TableName": table,
            "Item": item_from_wire(dict(item)),
            "ConditionExpression": "attribute_not_exists(#key)",
            "ExpressionAttributeNames": {"#key": sorted(key)[0]},
        }

        def attempt() -> bool:
            try:
                self._client.put_item(**request)
            except ClientError as error:
                if error_code(error) == _PRESENT:
                    return False
                raise
            return True

        return bool(self._call("dynamodb:PutItem", attempt, table))

    def exists(self, table: str, key: Mapping[str, Mapping[str, str]]) -> bool:
        """Whether an item has ``key`` now (a consistent GetItem of the key attributes only)."""
        names = {f"#k{i}": name for i, name in enumerate(sorted(key))}
        response = self._call(
            "dynamodb:GetItem",
            lambda: self._client.get_item(
                TableName=table,
                Key=item_from_wire(dict(key)),
                ProjectionExpression=", ".join(names),
                ExpressionAttributeNames=names,
                ConsistentRead=True,
            ),
            table,
        )
        return "Item" in response

    def _call(self, operation: str, fn: Callable[[], Any], table: str) -> Any:
        def attempt() -> Any:
            if self._limiter is not None:
                self._limiter.acquire()
            return fn()

        try:
            return self._retry.call(operation, attempt, table=table)
        except AWSCallError as error:
            raise ItemTableError(f"{error} (table {table!r})") from error

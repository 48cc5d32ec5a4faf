"""Create what a configuration names, where it is missing: its tables (with streams), bucket and queue.

For local endpoints (moto server, LocalStack): in AWS, Terraform owns these and the tables exist
already. Every step is idempotent, so `archiver provision` can be run again at any time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from adapters.aws.sqs_queue import queue_url_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from adapters.aws.clients import AwsClients
    from adapters.config import EnvironmentConfig, TableConfig

__all__ = ["ProvisionError", "provision", "queue_url"]

STREAM = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}


class ProvisionError(RuntimeError):
    """The configuration cannot be provisioned as it is; the message names the table and the fix."""


def _table_request(table: TableConfig) -> dict[str, Any]:
    schema = table.key_schema
    if schema is None:
        raise ProvisionError(
            f"table {table.name!r} has no key_schema in the configuration, so it cannot be created; add "
            "key_schema: {partition_key: {name: PK, type: S}, sort_key: {name: SK, type: S}} to it"
        )
    attributes = [schema.partition_key] + ([schema.sort_key] if schema.sort_key else [])
    return {
        "TableName": table.name,
        "AttributeDefinitions": [{"AttributeName": a.name, "AttributeType": a.type} for a in attributes],
        "KeySchema": [
            {"AttributeName": a.name, "KeyType": "HASH" if i == 0 else "RANGE"} for i, a in enumerate(attributes)
        ],
        "BillingMode": "PAY_PER_REQUEST",
        "StreamSpecification": STREAM,
    }


def _table(clients: AwsClients, table: TableConfig, request: dict[str, Any]) -> str:
    dynamodb = clients.dynamodb
    try:
        description = dynamodb.describe_table(TableName=table.name)["Table"]
    except dynamodb.exceptions.ResourceNotFoundException:
        dynamodb.create_table(**request)
        dynamodb.get_waiter("table_exists").wait(TableName=table.name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        return f"table {table.name}: created, stream NEW_AND_OLD_IMAGES"
    spec = description.get("StreamSpecification", {})
    if not spec.get("StreamEnabled"):
        dynamodb.update_table(TableName=table.name, StreamSpecification=STREAM)  # type: ignore[arg-type]
        return f"table {table.name}: exists; stream enabled (NEW_AND_OLD_IMAGES)"
    if spec.get("StreamViewType") not in ("NEW_AND_OLD_IMAGES", "OLD_IMAGE"):
        return (
            f"table {table.name}: exists, but its stream is {spec.get('StreamViewType')}: deletions will be "
            "archived without their old image; disable and re-enable it as NEW_AND_OLD_IMAGES"
        )
    return f"table {table.name}: exists, stream {spec.get('StreamViewType')}"


def _bucket(clients: AwsClients, config: EnvironmentConfig) -> str:
    s3 = clients.s3
    request: dict[str, Any] = {"Bucket": config.bucket}
    if config.region != "us-east-1":
        request["CreateBucketConfiguration"] = {"LocationConstraint": config.region}
    try:
        s3.create_bucket(**request)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            return f"bucket {config.bucket}: exists"
        raise
    return f"bucket {config.bucket}: created"


def queue_url(clients: AwsClients, config: EnvironmentConfig) -> str:
    """The dead-letter queue's URL.

    Raises:
        ProvisionError: the queue does not exist.
    """
    url = queue_url_of(clients.sqs, config.queue_name)
    if url is None:
        raise ProvisionError(
            f"dead-letter queue {config.queue_name!r} does not exist at this endpoint; create it (archiver "
            "provision does, locally)"
        )
    return url


def provision(config: EnvironmentConfig, clients: AwsClients, report: Callable[[str], None]) -> None:
    """Create each missing table (streams on), the bucket and the dead-letter queue; report each step.

    Raises:
        ProvisionError: a table has no key_schema (checked before anything is created).
    """
    requests = [(table, _table_request(table)) for table in config.tables]
    for table, request in requests:
        report(_table(clients, table, request))
    report(_bucket(clients, config))
    url = clients.sqs.create_queue(QueueName=config.queue_name)["QueueUrl"]
    report(f"queue {config.queue_name}: ready at {url}")

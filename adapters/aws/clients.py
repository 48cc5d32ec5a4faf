"""boto3 clients, built once per process, with botocore's own retries turned off.

Retries live in the adapters (tenacity), where the predicate knows which errors are worth another
try and every retry is logged. botocore would otherwise retry 5xx and dropped connections on its
own, underneath, multiplying attempts and hiding them; ``total_max_attempts=1`` means one HTTP
attempt per call (``max_attempts=1`` would still allow one retry). The endpoint comes from
``AWS_ENDPOINT_URL`` (or per-service ``AWS_ENDPOINT_URL_S3`` ...), which boto3 reads itself, so
moto server, LocalStack and AWS all work unchanged.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

__all__ = ["AwsClients", "aws_clients", "client_config"]


def client_config(max_pool_connections: int = 16) -> Config:
    return Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
        max_pool_connections=max_pool_connections,
    )


class AwsClients:
    """One client per service, built on first use and kept: a boto3 client is thread-safe and costly
    to build (it loads the service model), so every caller in the process shares it."""

    def __init__(self, session: boto3.Session, config: Config) -> None:
        self.session = session
        self.config = config
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _client(self, name: str) -> Any:
        with self._lock:  # boto3.Session.client is not thread-safe
            if name not in self._clients:
                self._clients[name] = self.session.client(name, config=self.config)  # type: ignore[call-overload]
            return self._clients[name]

    @property
    def s3(self) -> S3Client:
        return self._client("s3")  # type: ignore[no-any-return]

    @property
    def sqs(self) -> SQSClient:
        return self._client("sqs")  # type: ignore[no-any-return]

    @property
    def dynamodb(self) -> DynamoDBClient:
        return self._client("dynamodb")  # type: ignore[no-any-return]

    @property
    def dynamodbstreams(self) -> DynamoDBStreamsClient:
        return self._client("dynamodbstreams")  # type: ignore[no-any-return]


def aws_clients(region: str | None = None, max_pool_connections: int = 16) -> AwsClients:
    """Clients on a new session (region and endpoint from the environment unless given)."""
    return AwsClients(boto3.Session(region_name=region), client_config(max_pool_connections))

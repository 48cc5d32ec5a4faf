"""A moto server over HTTP per test worker, and a freshly provisioned environment per test.

Each pytest-xdist worker starts its own server on a free port (session scope is per worker). The
process environment is pointed at it per test (monkeypatch), not for the whole session, so unit
and integration tests in the same worker never reach it by accident. Each test gets its own
bucket, queue and tables (a random suffix), so tests share the server without seeing each other.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from adapters.aws.clients import AwsClients, aws_clients
from adapters.cli.main import main
from adapters.config import EnvironmentConfig, load_config
from adapters.local.embedded import FAKE_ENVIRONMENT, moto_server

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point this test's process environment at the worker's moto server."""
    for name, value in {**FAKE_ENVIRONMENT, "AWS_ENDPOINT_URL": moto_endpoint}.items():
        monkeypatch.setenv(name, value)
    return moto_endpoint


@dataclass(frozen=True)
class LocalEnvironment:
    """One provisioned environment: its config file, the parsed config, clients, a state file."""

    config_path: str
    config: EnvironmentConfig
    clients: AwsClients
    state: str
    orders: str
    sessions: str

    def run(self, *extra: str) -> int:
        """`archiver run` until idle for 1 s, in-process."""
        return main(["run", "--config", self.config_path, "--state", self.state, "--until-idle", "1", *extra])

    def put(self, table: str, item: dict[str, Any]) -> None:
        self.clients.dynamodb.put_item(TableName=table, Item=item)

    def delete(self, table: str, key: dict[str, Any]) -> None:
        self.clients.dynamodb.delete_item(TableName=table, Key=key)


def write_config(directory: Path, suffix: str) -> Path:
    path = directory / "local.yaml"
    path.write_text(
        f"""
environment: local
bucket: archive-{suffix}
dead_letter_queue: archive-{suffix}-dlq
tables:
  - name: orders-{suffix}
    ttl_attribute: expires_at
    key_schema:
      partition_key: {{name: PK, type: S}}
      sort_key: {{name: SK, type: S}}
  - name: sessions-{suffix}
    drop_attributes: [token]
    key_schema:
      partition_key: {{name: session_id, type: B}}
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def environment(aws: str, tmp_path: Path) -> LocalEnvironment:
    """A fresh environment on the worker's server, provisioned with `archiver provision`."""
    suffix = uuid.uuid4().hex[:10]
    path = write_config(tmp_path, suffix)
    assert main(["provision", "--config", str(path)]) == 0
    config = load_config(path)
    return LocalEnvironment(
        str(path),
        config,
        aws_clients(config.region),
        str(tmp_path / "state.json"),
        f"orders-{suffix}",
        f"sessions-{suffix}",
    )

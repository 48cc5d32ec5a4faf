"""An AWS stand-in for one process: a moto server on a free 127.0.0.1 port, for `--embedded` and tests.

moto is imported only inside :func:`embedded_aws`, so the Lambda package and the CLI without
``--embedded`` never import it (it is the ``local`` extra, not a runtime dependency). It runs as a
server over HTTP rather than ``mock_aws`` in-process because in-process moto 5 answers
DynamoDB Streams' DescribeStream with 404; over HTTP every client, thread and subprocess that reads
``AWS_ENDPOINT_URL`` reaches the same fake account.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["FAKE_ENVIRONMENT", "EmbeddedAWS", "LocalAWSError", "embedded_aws", "moto_server", "patched_environment"]

#: What the process environment holds while the server runs: fake credentials so no real account is
#: ever reached by accident, and the region moto's stream records report.
FAKE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class LocalAWSError(RuntimeError):
    """The embedded server cannot start (moto is not installed, or no port could be bound)."""


@dataclass(frozen=True, slots=True)
class EmbeddedAWS:
    """A running embedded server: where it listens."""

    endpoint_url: str


@contextlib.contextmanager
def patched_environment(values: dict[str, str]) -> Iterator[None]:
    """Set ``values`` in ``os.environ`` for the duration, then restore exactly what was there."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


@contextlib.contextmanager
def moto_server(host: str = "127.0.0.1", port: int = 0, quiet: bool = True) -> Iterator[str]:
    """Run a moto server on ``host`` (a free port unless ``port`` is given); yields its endpoint URL.

    The environment is left alone: tests that share one server across many tests point each test
    at it themselves, so nothing else in the process is redirected to it.

    Raises:
        LocalAWSError: moto is not installed or the server did not start.
    """
    try:
        from moto.server import ThreadedMotoServer  # noqa: PLC0415 - lazily: never on the Lambda path
    except ImportError as error:
        raise LocalAWSError(
            f"--embedded needs moto's server ({error}); install it with: pip install 'dynamo-archive[local]'"
        ) from None
    if quiet:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=not quiet)
    try:
        server.start()
    except OSError as error:
        raise LocalAWSError(f"cannot start the embedded AWS server on {host}:{port}: {error}") from None
    bound_host, bound_port = server.get_host_and_port()
    try:
        yield f"http://{bound_host}:{bound_port}"
    finally:
        server.stop()


@contextlib.contextmanager
def embedded_aws(host: str = "127.0.0.1", port: int = 0, quiet: bool = True) -> Iterator[EmbeddedAWS]:
    """Start a moto server (see :func:`moto_server`) and point this process at it until exit.

    While it runs, ``AWS_ENDPOINT_URL`` points at it and the process has fake credentials and
    region; both are restored on exit, so nothing after the block can reach the fake by mistake.

    Raises:
        LocalAWSError: moto is not installed or the server did not start.
    """
    with (
        moto_server(host, port, quiet) as endpoint,
        patched_environment({**FAKE_ENVIRONMENT, "AWS_ENDPOINT_URL": endpoint}),
    ):
        yield EmbeddedAWS(endpoint)

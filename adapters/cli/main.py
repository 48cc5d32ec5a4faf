"""`archiver`: the parser (each command group registers its own flags) and the error boundary.

User errors (bad configuration, bad ``--key``, unknown table, unreachable endpoint) are one line
on stderr and exit 1, never a traceback; usage errors exit 2. Logs and retry warnings go to
stderr too, so ``--json`` output on stdout always parses.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from adapters.cli import browse, configuration, cost, demo, query, redrive, restore, run, stats
from adapters.cli.app import say
from adapters.cli.catalog import CatalogError, KeyArgumentError
from adapters.config import ConfigError
from adapters.local.checkpoints import CheckpointError
from adapters.local.embedded import LocalAWSError
from adapters.local.local_pipe import SourceError
from adapters.local.provisioning import ProvisionError
from archiver.errors import RecoveryError
from archiver.ports import ItemTableError, QueueUnavailableError, StoreUnavailableError, TableNotFoundError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main", "parser"]

_USER_ERRORS = (
    ConfigError,
    KeyArgumentError,
    CatalogError,
    ProvisionError,
    SourceError,
    CheckpointError,
    LocalAWSError,
    StoreUnavailableError,
    QueueUnavailableError,
    RecoveryError,
    TableNotFoundError,
    ItemTableError,
)
#: In the order `archiver --help` lists them.
_GROUPS = (run, browse, query, stats, restore, redrive, configuration, cost, demo)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="archiver",
        description="Archive DynamoDB deletions to S3, locally: provision, run the pipe, look into the archive.",
        epilog="AWS_ENDPOINT_URL selects the endpoint (moto server, LocalStack); unset means AWS itself.",
    )
    commands = root.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for group in _GROUPS:
        group.register(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; 0 ok, 1 failed (the reason on stderr), 2 usage."""
    try:
        args = parser().parse_args(argv)
        from adapters.logs import configure_logging  # noqa: PLC0415 - structlog is for `run` and `demo` only

        configure_logging("INFO" if getattr(args, "verbose", False) else "WARNING", json=False, to_stderr=True)
        return int(args.command(args))
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2 if exit_.code else 0
    except _USER_ERRORS as error:
        say(f"archiver: error: {error}")
    except (EndpointConnectionError, NoCredentialsError) as error:
        endpoint = os.environ.get("AWS_ENDPOINT_URL", "AWS")
        say(f"archiver: error: cannot reach {endpoint}: {error}; is the server running (or use --embedded)?")
    except ClientError as error:
        say(f"archiver: error: {error}")
    except BotoCoreError as error:
        say(f"archiver: error: {type(error).__name__}: {error}")
    except KeyboardInterrupt:
        say("archiver: interrupted")
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as other tools do
        with contextlib.suppress(AttributeError, OSError, ValueError):  # a stdout without a descriptor
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the last flush must not fail again
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by a closed pipe
    except Exception as error:  # a bug of ours: one line, the traceback only when asked for
        if os.environ.get("ARCHIVER_TRACEBACK"):
            raise
        say(
            f"archiver: internal error: {type(error).__name__}: {error} (a bug: please report it with the "
            "command; ARCHIVER_TRACEBACK=1 shows where it happened)"
        )
    return 1

"""`archiver`: provision, run the local pipe, and look into the archive; composition root of the CLI.

Every command reads one environment's YAML (``--config``) and talks to whatever ``AWS_ENDPOINT_URL``
points at (AWS when unset), or with ``--embedded`` to a moto server it starts itself and stops on
exit. Each subcommand is a few lines of library calls; what they call lives in the modules next to
this one. User errors (bad configuration, bad ``--key``, unknown table, unreachable endpoint) are one
line on stderr and exit 1, never a traceback; usage errors exit 2.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import signal
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from adapters.archive_catalog import (
    CatalogError,
    KeyArgumentError,
    find_version,
    list_versions,
    parse_key_argument,
    restore_request,
)
from adapters.aws import aws_clients
from adapters.checkpoints import CheckpointError, Checkpoints
from adapters.config import ConfigError, EnvironmentConfig, load_config
from adapters.local_aws import LocalAWSError, embedded_aws
from adapters.local_pipe import LocalPipe, SourceError, Tally, stream_sources
from adapters.provisioning import ProvisionError, provision, queue_url
from adapters.stream_reader import StartFrom, StreamReader
from archiver.ports import StoreUnavailableError
from archiver.service import Archiver

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from adapters.archive_catalog import ArchivedVersion
    from adapters.aws import AwsClients
    from adapters.s3_store import S3ArchiveStore

__all__ = ["App", "build", "main"]

DEFAULT_CONFIG = "config/local.yaml"
_USER_ERRORS = (
    ConfigError,
    KeyArgumentError,
    CatalogError,
    ProvisionError,
    SourceError,
    CheckpointError,
    LocalAWSError,
    StoreUnavailableError,
)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class App:
    """What a command works with: the environment's configuration and clients for its endpoint."""

    config: EnvironmentConfig
    clients: AwsClients

    def store(self) -> S3ArchiveStore:
        from adapters.s3_store import S3ArchiveStore  # noqa: PLC0415 - only the commands that read the archive

        return S3ArchiveStore(self.clients.s3, self.config.bucket)


def build(app: App, mapper: Callable[..., Any] = map) -> Archiver:
    """The Archiver for every configured table: S3 store and SQS dead letters named by the config."""
    from adapters.sqs_dead_letters import SQSDeadLetterSink  # noqa: PLC0415 - only `run` needs it

    return Archiver(
        store=app.store(),
        dead_letters=SQSDeadLetterSink(app.clients.sqs, queue_url(app.clients, app.config)),
        policies=app.config.policies(),
        mapper=mapper,
    )


@contextlib.contextmanager
def _app(args: argparse.Namespace) -> Iterator[App]:
    config = load_config(args.config)
    with embedded_aws() if args.embedded else contextlib.nullcontext():
        yield App(config, aws_clients(config.region, max_pool_connections=max(10, getattr(args, "concurrency", 8))))


@contextlib.contextmanager
def _stop_on_ctrl_c() -> Iterator[threading.Event]:
    """An event set by the first Ctrl-C (finish the batch in flight, then stop); a second one aborts."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def on_interrupt(_signum: int, _frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        _say("stopping after the batch in flight (Ctrl-C again to abort)")

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def _format_summary(summary: dict[str, dict[str, int]], tables: Sequence[str]) -> str:
    rows: list[tuple[str, ...]] = [("table", "archived", "skipped", "dead-lettered", "failed")]
    for table in tables:
        counts = summary.get(table, {})
        rows.append((table, *(str(counts.get(n, 0)) for n in ("archived", "skipped", "dead_lettered", "failed"))))
    rows += [
        (t, *(str(c[n]) for n in ("archived", "skipped", "dead_lettered", "failed")))
        for t, c in summary.items()
        if t not in tables
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    )


def _format_versions(versions: Sequence[ArchivedVersion]) -> str:
    if not versions:
        return "(nothing archived)"
    rows: list[tuple[str, ...]] = [("deleted at", "kind", "key", "object key")]
    for v in versions:
        key = json.dumps(v.key, ensure_ascii=False, separators=(",", ":")) if v.key is not None else "(in body)"
        rows.append((v.deleted_at or "-", v.kind or "-", key, v.object_key))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join("  ".join([*(c.ljust(w) for c, w in zip(row[:3], widths, strict=True)), row[3]]) for row in rows)


# --- the subcommands -------------------------------------------------------------------------------


def _provision(args: argparse.Namespace) -> int:
    with _app(args) as app:
        provision(app.config, app.clients, print)
    return 0


def _run(args: argparse.Namespace) -> int:
    with _app(args) as app:
        if args.embedded:  # the embedded server starts empty: without this there would be nothing to read
            provision(app.config, app.clients, _say)
        tally = Tally()
        archiver = build(app, tally.mapper)
        from adapters.lambda_handler import handle  # noqa: PLC0415 - imports structlog and the store

        reader = StreamReader(app.clients.dynamodbstreams, binary_keys_double_encoded="AWS_ENDPOINT_URL" in os.environ)
        state = Checkpoints.load(args.state or f".archiver-state-{app.config.environment}.json")
        pipe = LocalPipe(
            reader,
            functools.partial(handle, archiver=archiver),
            state,
            start=StartFrom(args.start),
            concurrency=args.concurrency,
            warn=_say,
            progress=_say if args.verbose else lambda _: None,
        )
        tables = [table.name for table in app.config.tables]
        sources = stream_sources(app.clients.dynamodb, tables)
        _say(
            f"reading {len(sources)} stream(s), checkpoints in {state.path}"
            + (" (Ctrl-C stops)" if args.until_idle is None else "")
        )
        with _stop_on_ctrl_c() as stop:
            unfinished = pipe.run(sources, args.until_idle, stop)
        print(_format_summary(tally.summary(), tables))
    return 0 if unfinished == 0 else 1


def _key_of(app: App, args: argparse.Namespace) -> tuple[Any, Any]:
    table = app.config.table(args.table)
    return table, parse_key_argument(args.key, table.key_schema) if args.key else None


def _list(args: argparse.Namespace) -> int:
    with _app(args) as app:
        table, key = _key_of(app, args)
        versions = list_versions(app.store(), table.prefix, table.name, key, read_bodies=key is not None or args.kind)
    if args.json:
        print(json.dumps([_version_json(v) for v in versions], indent=2, ensure_ascii=False))
    else:
        print(_format_versions(versions))
    return 0


def _version_json(version: ArchivedVersion) -> dict[str, Any]:
    return {
        "deletedAt": version.deleted_at or None,
        "kind": version.kind,
        "key": version.key,
        "version": version.version,
        "objectKey": version.object_key,
    }


def _show(args: argparse.Namespace) -> int:
    with _app(args) as app:
        table, key = _key_of(app, args)
        store = app.store()
        body = store.get(find_version(store, table.prefix, table.name, key, args.version).object_key)
    print(json.dumps(json.loads(body), indent=2, ensure_ascii=False))
    return 0


def _restore(args: argparse.Namespace) -> int:
    with _app(args) as app:
        table, key = _key_of(app, args)
        store = app.store()
        version = find_version(store, table.prefix, table.name, key, args.version)
        request = restore_request(json.loads(store.get(version.object_key)), args.to_table or table.name)
        if args.dry_run:
            print(f"would put into {request['TableName']} (only if absent), from {version.object_key}:")
            print(json.dumps(json.loads(store.get(version.object_key))["image"], indent=2, ensure_ascii=False))
            return 0
        try:
            app.clients.dynamodb.put_item(**request)
        except app.clients.dynamodb.exceptions.ConditionalCheckFailedException:
            _say(f"archiver: not restored: the item exists in {request['TableName']}; it was not overwritten")
            return 1
    print(f"restored {version.object_key} into {request['TableName']}")
    return 0


def _config_validate(args: argparse.Namespace) -> int:
    config = load_config(args.path)
    print(f"{args.path}: ok (environment {config.environment}, tables: {', '.join(t.name for t in config.tables)})")
    return 0


def _config_schema(_args: argparse.Namespace) -> int:
    print(json.dumps(EnvironmentConfig.model_json_schema(), indent=2))
    return 0


def _demo(_args: argparse.Namespace) -> int:
    from adapters.demo import run_demo  # noqa: PLC0415 - the demo is not part of the other commands

    return run_demo(print)


# --- the parser --------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    aws = argparse.ArgumentParser(add_help=False)
    aws.add_argument(
        "--config", default=DEFAULT_CONFIG, metavar="PATH", help=f"environment YAML (default {DEFAULT_CONFIG})"
    )
    aws.add_argument(
        "--embedded",
        action="store_true",
        help="start a moto server on a free 127.0.0.1 port for this command, and stop it on exit",
    )

    def key_options(required: bool) -> argparse.ArgumentParser:
        options = argparse.ArgumentParser(add_help=False)
        options.add_argument("--table", required=True, help="a table named in the configuration")
        options.add_argument(
            "--key",
            required=required,
            metavar="JSON",
            help='the item key: DynamoDB JSON {"PK": {"S": "USER#123"}}, or plain {"PK": "USER#123"} where the '
            "table's key_schema is configured (binary values as base64)"
            + ("" if required else "; without it, the whole table"),
        )
        return options

    some_key, one_key = key_options(required=False), key_options(required=True)
    version = argparse.ArgumentParser(add_help=False)
    version.add_argument(
        "--version", metavar="V", help="an archived version (or its unique start); default: the latest"
    )

    parser = argparse.ArgumentParser(
        prog="archiver",
        description="Archive DynamoDB deletions to S3, locally: provision, run the pipe, look into the archive.",
        epilog="AWS_ENDPOINT_URL selects the endpoint (moto server, LocalStack); unset means AWS itself.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    def command(
        name: str,
        handler: Callable[[argparse.Namespace], int],
        summary: str,
        description: str,
        parents: list[argparse.ArgumentParser],
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name, help=summary, description=description, parents=parents, formatter_class=formatter
        )
        sub.set_defaults(command=handler)
        return sub

    command(
        "provision",
        _provision,
        "create the configured tables (with streams), bucket and dead-letter queue where missing",
        "Create what the configuration names, where it is missing: each table from its key_schema with a\n"
        "NEW_AND_OLD_IMAGES stream, the archive bucket, and the dead-letter queue. Safe to run again.",
        [aws],
    )
    run = command(
        "run",
        _run,
        "read the tables' streams and archive every deletion (the local EventBridge pipe)",
        "Read every shard of every configured table's stream (parents before children), wrap each REMOVE\n"
        "as EventBridge delivers it, and hand it to the Lambda handler's code. The last handled record of\n"
        "each shard is checkpointed in --state once it and all before it are archived or dead-lettered,\n"
        "so a restart resumes there; a failing record is retried with backoff and holds the checkpoint.",
        [aws],
    )
    run.add_argument(
        "--from",
        dest="start",
        choices=[s.value for s in StartFrom],
        default=StartFrom.TRIM_HORIZON.value,
        help="where a shard without checkpoint starts (default trim-horizon)",
    )
    run.add_argument(
        "--until-idle",
        type=float,
        metavar="SECONDS",
        help="exit, with a summary, once no record arrived for this long (default: run until Ctrl-C)",
    )
    run.add_argument("--state", metavar="PATH", help="checkpoint file (default .archiver-state-<environment>.json)")
    run.add_argument("--concurrency", type=int, default=8, metavar="N", help="records archived at once (default 8)")
    run.add_argument("--verbose", action="store_true", help="print one line per batch read")
    listing = command(
        "list",
        _list,
        "list archived versions of one key, or of a whole table, newest first",
        "List archived deletions newest first: of one key (--key, one prefix query) or of the whole table.",
        [aws, some_key],
    )
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.add_argument("--kind", action="store_true", help="for a table listing, read each body for the kind column")
    command(
        "show",
        _show,
        "print one archived body",
        "Print one archived body: the latest version of the key unless --version.",
        [aws, one_key, version],
    )
    restore = command(
        "restore",
        _restore,
        "put an archived item back into a table, only if it is absent",
        "Put the archived image back (the latest unless --version), only if no item with that key exists.",
        [aws, one_key, version],
    )
    restore.add_argument("--to-table", metavar="T2", help="restore into this table instead")
    restore.add_argument("--dry-run", action="store_true", help="print what would be put, and put nothing")
    config = commands.add_parser(
        "config", help="check a configuration file, or print its JSON schema", description="Check configuration files."
    )
    config_commands = config.add_subparsers(title="commands", metavar="COMMAND", required=True)
    validate = config_commands.add_parser(
        "validate",
        help="exit 0 if PATH is a valid configuration, else 1 with why",
        description="Validate one environment's YAML; errors name the table and the field.",
    )
    validate.add_argument("path", metavar="PATH")
    validate.set_defaults(command=_config_validate)
    config_commands.add_parser(
        "schema", help="print the configuration's JSON schema", description="Print EnvironmentConfig's JSON schema."
    ).set_defaults(command=_config_schema)
    command(
        "demo",
        _demo,
        "archive sample deletions on an embedded moto server, and show where they went",
        "On an embedded moto server: provision config/local.yaml, write items with awkward keys to two\n"
        "tables, delete them (one twice), run until idle, and check that every deletion was archived\n"
        "exactly once. Exits 0 only if so.",
        [],
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; 0 ok, 1 failed (the reason on stderr), 2 usage."""
    try:
        args = _parser().parse_args(argv)
        from adapters.logs import configure_logging  # noqa: PLC0415 - structlog is for `run` and `demo` only

        configure_logging("INFO" if getattr(args, "verbose", False) else "WARNING", json=False)
        return int(args.command(args))
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2 if exit_.code else 0
    except _USER_ERRORS as error:
        _say(f"archiver: error: {error}")
    except (EndpointConnectionError, NoCredentialsError) as error:
        endpoint = os.environ.get("AWS_ENDPOINT_URL", "AWS")
        _say(f"archiver: error: cannot reach {endpoint}: {error}; is the server running (or use --embedded)?")
    except ClientError as error:
        _say(f"archiver: error: {error}")
    except BotoCoreError as error:
        _say(f"archiver: error: {type(error).__name__}: {error}")
    except KeyboardInterrupt:
        _say("archiver: interrupted")
    return 1

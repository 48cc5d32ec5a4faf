"""Logging: JSON lines where machines read them (Lambda, pipes, files), readable text in a terminal.

Every line about a record carries ``table``, ``record_id`` (the eventID where the record has one)
and ``encoded_key``, so one deletion can be followed through CloudWatch Logs Insights with a single
filter; each invocation ends with one summary line holding the count per outcome and the elapsed
milliseconds. Configuration is explicit (``configure_logging``), called by the entry points, never
at import: importing an adapter must not change how the host process logs.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import TYPE_CHECKING, Any

import structlog

from archiver.service import Archived, DeadLettered, Failed, Skipped, summarise

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from archiver.service import Outcome

__all__ = ["configure_logging", "log_outcomes", "wants_json", "write_line"]

_log = structlog.get_logger("adapters.lambda_handler")
_lines = threading.Lock()


def write_line(line: str, *, to_stderr: bool = False) -> None:
    """Write ``line`` and a newline, whole, to whatever ``sys.stdout`` (or ``sys.stderr``) is now.

    Binding the stream once (structlog's PrintLogger does) breaks when a test runner or a tool
    swaps ``sys.stdout`` later; the lock keeps lines from concurrent worker threads whole, log
    lines and metric lines alike (CloudWatch Logs reads one JSON document per line).
    """
    stream = sys.stderr if to_stderr else sys.stdout
    with _lines:
        stream.write(line + "\n")
        stream.flush()


class _LineLogger:
    """structlog's logger: each rendered event is one :func:`write_line`."""

    def __init__(self, to_stderr: bool) -> None:
        self._to_stderr = to_stderr

    def msg(self, message: str) -> None:
        write_line(message, to_stderr=self._to_stderr)

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


def wants_json(environ: Mapping[str, str] | None = None, stream: Any = None) -> bool:
    """JSON in Lambda (``AWS_LAMBDA_FUNCTION_NAME`` set) or whenever output is not a terminal."""
    environ = os.environ if environ is None else environ
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(environ.get("AWS_LAMBDA_FUNCTION_NAME")) or not (callable(isatty) and isatty())


def configure_logging(level: str = "INFO", *, json: bool | None = None, to_stderr: bool = False) -> None:
    """Configure structlog for this process: ``level`` is DEBUG, INFO, WARNING or ERROR.

    Args:
        json: force JSON lines (True) or console text (False); None decides with :func:`wants_json`.
        to_stderr: write to stderr (the CLI: its stdout is for results a pipe may parse); Lambda
            sends both streams to CloudWatch Logs, so the function keeps stdout.
    """
    as_json = wants_json() if json is None else json
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    if as_json:
        processors += [structlog.processors.format_exc_info, structlog.processors.JSONRenderer(default=str)]
    else:
        processors.append(structlog.dev.ConsoleRenderer(colors=(sys.stderr if to_stderr else sys.stdout).isatty()))
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=lambda *_args: _LineLogger(to_stderr),
        cache_logger_on_first_use=True,
    )


def log_outcomes(outcomes: Sequence[Outcome], *, shape: str, elapsed_ms: float) -> dict[str, int]:
    """One line per record that was not archived (and per archived one at DEBUG), then the summary.

    Each line carries the encoded key the core computed for the record (None where it could not be
    read, and for INSERT or MODIFY). Returns the counts per outcome, as logged.
    """
    verbose = _log.is_enabled_for(logging.DEBUG)  # else archived and skipped records cost no call at all
    for outcome in outcomes:
        match outcome:
            case Archived() | Skipped() if not verbose:
                continue
            case Archived(record_id, table, encoded_key, object_key):
                _log.debug(
                    "record archived", record_id=record_id, table=table, encoded_key=encoded_key, object_key=object_key
                )
            case Skipped(record_id, reason, table, encoded_key):
                _log.debug("record skipped", record_id=record_id, table=table, encoded_key=encoded_key, reason=reason)
            case DeadLettered(record_id, reason, table, encoded_key):
                _log.warning(
                    "record not archived; dead-lettered",
                    record_id=record_id,
                    table=table,
                    encoded_key=encoded_key,
                    reason=reason,
                )
            case Failed(record_id, reason, table, encoded_key):
                _log.error(
                    "record not archived and not dead-lettered; the platform will retry it",
                    record_id=record_id,
                    table=table,
                    encoded_key=encoded_key,
                    reason=reason,
                )
    counts = summarise(outcomes)
    _log.info("invocation summary", shape=shape, records=len(outcomes), elapsed_ms=round(elapsed_ms, 1), **counts)
    return counts

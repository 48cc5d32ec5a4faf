"""Flags shared by several commands, declared once, and the argparse types that check ranges.

A command module adds its own flags next to its function; only what two or more commands take
lives here. Range checks happen in the parser, so ``--concurrency 0`` is a usage error (exit 2)
naming the flag, never a traceback from deep inside a thread pool.
"""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING, Any

from archiver.windows import WindowError, parse_time

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

__all__ = [
    "DEFAULT_CONFIG",
    "MAX_WHOLE_NUMBER",
    "add_command",
    "aws_options",
    "bounded_float",
    "bounded_int",
    "key_options",
    "shown_text",
    "utc_time",
    "version_option",
    "window_options",
]

DEFAULT_CONFIG = "config/local.yaml"
#: The largest whole number any flag takes where it names no bound of its own: far past every use,
#: and small enough that a number of thousands of digits is "out of range", not "not a whole number".
MAX_WHOLE_NUMBER = 10**18
#: Longest flag text echoed whole in a message; a longer one is shown by its ends and its length.
_SHOWN_CHARACTERS = 40


def shown_text(text: str) -> str:
    """``text`` for a one-line message: whole if short, else its two ends and how long it is."""
    if len(text) <= _SHOWN_CHARACTERS:
        return text
    return f"{text[:12]}...{text[-8:]} ({len(text)} characters)"


def bounded_int(low: int, high: int = MAX_WHOLE_NUMBER) -> Callable[[str], int]:
    """An argparse type: a whole number in ``[low, high]``.

    A text of more than 40 characters is refused as too long, and a number of more digits than
    ``high`` has as out of range, before either is read: Python refuses to read integers of over
    4,300 digits, and would call such a number "not a whole number".
    """
    accepted = f"expected a whole number from {low:,} to {high:,}"

    def parse(text: str) -> int:
        if len(text.strip()) > _SHOWN_CHARACTERS:
            raise argparse.ArgumentTypeError(
                f"{shown_text(text)} is too long (at most {_SHOWN_CHARACTERS} characters); {accepted}"
            )
        digits = text.strip().lstrip("+-").replace("_", "")
        if digits.isdigit() and len(digits.lstrip("0")) > len(str(high)):
            raise argparse.ArgumentTypeError(f"{text.strip()} is out of range; {accepted}")
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{shown_text(text)!r} is not a whole number; {accepted}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range; {accepted}")
        return value

    return parse


def bounded_float(low: float, *, inclusive: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number above ``low`` (or at least ``low`` where ``inclusive``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{shown_text(text)!r} is not a number") from None
        if not math.isfinite(value) or value < low or (value == low and not inclusive):
            bound = f"at least {low:g}" if inclusive else f"above {low:g}"
            raise argparse.ArgumentTypeError(f"{shown_text(text)} is out of range; expected a finite number {bound}")
        return value

    return parse


def utc_time(text: str) -> datetime:
    """An argparse type: an ISO 8601 time in UTC (``2026-11-25T10:00:00Z``; a date alone is midnight UTC)."""
    try:
        return parse_time(text)
    except WindowError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def aws_options() -> argparse.ArgumentParser:
    """--config and --embedded: which environment, and which endpoint."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--config", default=DEFAULT_CONFIG, metavar="PATH", help=f"environment YAML (default {DEFAULT_CONFIG})"
    )
    options.add_argument(
        "--embedded",
        action="store_true",
        help="start a moto server on a free 127.0.0.1 port for this command, and stop it on exit",
    )
    return options


def key_options(*, required: bool, without: str = "the whole table") -> argparse.ArgumentParser:
    """--table and --key: one configured table, and (required or not: then ``without`` says what else) one key."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--table", required=True, help="a table named in the configuration")
    options.add_argument(
        "--key",
        required=required,
        metavar="JSON",
        help='the item key: DynamoDB JSON {"PK": {"S": "USER#123"}}, or plain {"PK": "USER#123"} where the '
        "table's key_schema is configured (binary values as base64)" + ("" if required else f"; without it, {without}"),
    )
    return options


def window_options(*, concurrency: int = 16) -> argparse.ArgumentParser:
    """--deleted-after/--deleted-before (after <= deleted-at < before), --kind and --concurrency:
    which deletions of a table, and how many requests at once."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--deleted-after",
        type=utc_time,
        metavar="TIME",
        help="deletions at or after TIME, ISO 8601 UTC (2026-11-25T10:00:00Z; a date alone is midnight UTC)",
    )
    options.add_argument(
        "--deleted-before", type=utc_time, metavar="TIME", help="deletions strictly before TIME (same format)"
    )
    options.add_argument(
        "--kind", choices=["user", "ttl"], help="only deletions of this kind: by a caller (user) or by TTL (ttl)"
    )
    options.add_argument(
        "--concurrency",
        type=bounded_int(1, 256),
        default=concurrency,
        metavar="N",
        help=f"requests at once, 1-256 (default {concurrency})",
    )
    return options


def version_option() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--version", metavar="V", help="an archived version (or its unique start); default: the latest"
    )
    return options


def add_command(
    commands: Any,
    name: str,
    handler: Callable[[argparse.Namespace], int],
    summary: str,
    description: str,
    *,
    parents: list[argparse.ArgumentParser] | None = None,
) -> argparse.ArgumentParser:
    """One subcommand whose ``--help`` shows ``description`` as written (line breaks kept)."""
    sub: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=description,
        parents=parents or [],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub.set_defaults(command=handler)
    return sub

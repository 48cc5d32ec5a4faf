"""Flags shared by several commands, declared once, and the argparse types that check ranges.

A command module adds its own flags next to its function; only what two or more commands take
lives here. Range checks happen in the parser, so ``--concurrency 0`` is a usage error (exit 2)
naming the flag, never a traceback from deep inside a thread pool.
"""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "DEFAULT_CONFIG",
    "Subcommands",
    "add_command",
    "aws_options",
    "bounded_float",
    "bounded_int",
    "key_options",
    "version_option",
]

DEFAULT_CONFIG = "config/local.yaml"
Subcommands = "argparse._SubParsersAction[argparse.ArgumentParser]"


def bounded_int(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number in ``[low, high]``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            shown = f"from {low} to {high}" if high is not None else f"of at least {low}"
            raise argparse.ArgumentTypeError(f"{value} is out of range; expected a whole number {shown}")
        return value

    return parse


def bounded_float(low: float, *, inclusive: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number above ``low`` (or at least ``low`` where ``inclusive``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or value < low or (value == low and not inclusive):
            bound = f"at least {low:g}" if inclusive else f"above {low:g}"
            raise argparse.ArgumentTypeError(f"{text} is out of range; expected a number {bound}")
        return value

    return parse


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


def key_options(*, required: bool) -> argparse.ArgumentParser:
    """--table and --key: one configured table, and (required or not) one item key."""
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

"""`archiver cost`: what archiving a month of deletions costs per table, for each delivery design.

The arithmetic is in cost_model.py; this module reads the shipped price book (prices.json: each
unit price and input with its source) and the configuration, applies the flags, and prints a table
with its assumptions, or JSON (cost_render.py writes both). Nothing here talks to AWS.
"""

from __future__ import annotations

import argparse
import json
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import TYPE_CHECKING, Any

from adapters.cli import cost_render
from adapters.cli.cost_model import PriceBook, Volume, cost_rows, read_price_book
from adapters.cli.cost_render import plain
from adapters.cli.options import DEFAULT_CONFIG, add_command, bounded_int, shown_text
from adapters.config import load_config

if TYPE_CHECKING:
    from collections.abc import Callable

    from adapters.config import TableConfig

__all__ = [
    "MAX_DELETIONS_PER_MONTH",
    "MAX_ITEM_KB",
    "MAX_MS",
    "MAX_WRITES_PER_DELETION",
    "MIN_ITEM_KB",
    "load_price_book",
    "register",
]

#: DynamoDB's largest item, and the smallest one worth a price (a byte).
MAX_ITEM_KB = Decimal(400)
MIN_ITEM_KB = Decimal("0.001")
#: Deletions a month beyond any one table (10**15 is over 385 million a second), and stream records
#: per deletion beyond any item's life: the bounds keep every amount exact to a hundredth of a cent.
MAX_DELETIONS_PER_MONTH = 10**15
MAX_WRITES_PER_DELETION = 10**6
#: A wait or a CPU time per record longer than Lambda's 15-minute limit is no function's.
MAX_MS = Decimal(900_000)
#: The longest number a flag takes, as text: 5,000 digits is a mistake, not a volume.
_MAX_NUMBER_CHARACTERS = 40
#: Flags that replace an input of the price book.
_INPUT_FLAGS = {
    "s3_latency_ms": "s3_latency_ms",
    "cpu_ms_per_record": "cpu_ms_per_record",
    "failure_rate": "failure_rate",
}


def load_price_book() -> PriceBook:
    """The price book shipped with the package (adapters/cli/prices.json)."""
    text = resources.files("adapters.cli").joinpath("prices.json").read_text(encoding="utf-8")
    return read_price_book(json.loads(text))


def _cost(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    tables = [config.table(args.table).name] if args.table else [t.name for t in config.tables]
    given = {name: getattr(args, flag) for flag, name in _INPUT_FLAGS.items() if getattr(args, flag) is not None}
    book = load_price_book().with_inputs(given)
    bill_uncertain = args.uncertain == "billed"
    rows = [
        row.rounded()
        for table in tables
        for writes in args.writes_per_deletion
        for item_kb in args.item_kb
        for row in cost_rows(
            table,
            Volume(args.deletions_per_month, writes, item_kb),
            _batched(book, config.table(table), args),
            bill_uncertain=bill_uncertain,
        )
    ]
    if args.json:
        print(cost_render.as_json(book, rows))
    else:
        print(cost_render.as_text(book, rows, bill_uncertain=bill_uncertain, markdown=args.markdown))
    return 0


def _batched(book: PriceBook, table: TableConfig, args: argparse.Namespace) -> PriceBook:
    """The book with the batch size and window of the flags, else of the table's ``batch`` in the YAML
    (where it gives one; else the book's own designs count)."""
    given = table.batch
    size = args.batch_size if args.batch_size is not None else (given.size if given else None)
    window = args.batching_window_s if args.batching_window_s is not None else (given.window_seconds if given else None)
    return book.with_batching(size, window)


def _decimal(low: Decimal, high: Decimal, *, inclusive_low: bool = False) -> Callable[[str], Decimal]:
    """An argparse type: an exact, finite decimal above ``low`` (or from it, ``inclusive_low``), at most ``high``.

    NaN and infinities are refused before any comparison (a NaN compares by raising), and so is a
    text longer than any number in the range needs.
    """
    accepted = f"expected a number {'from' if inclusive_low else 'above'} {plain(low)} up to {plain(high)}"

    def parse(text: str) -> Decimal:
        if len(text.strip()) > _MAX_NUMBER_CHARACTERS:
            raise argparse.ArgumentTypeError(
                f"{shown_text(text)} is too long (at most {_MAX_NUMBER_CHARACTERS} characters); {accepted}"
            )
        try:
            value = Decimal(text.strip())
        except InvalidOperation:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number; {accepted}") from None
        if not value.is_finite() or value < low or (value == low and not inclusive_low) or value > high:
            raise argparse.ArgumentTypeError(f"{text} is out of range; {accepted}")
        return value

    return parse


def register(commands: Any) -> None:
    cost = add_command(
        commands,
        "cost",
        _cost,
        "estimate the monthly AWS cost per table of each delivery design (no AWS calls)",
        "Estimate what a month of deletions costs per configured table, for five designs:\n"
        "  seed-poc  every stream record through an unfiltered pipe and the bus, filtered at the rule;\n"
        "            one x86_64 128 MB invocation per deletion\n"
        "  bus       the pipe keeps only REMOVEs; one arm64 256 MB invocation per deletion\n"
        "  direct    the pipe keeps only REMOVEs and invokes the function with batches; no bus\n"
        "  compact   as direct, writing the compact layout (one gzip object per batch and hour)\n"
        "  stream    an event source mapping (no pipe) invokes the function with batches; compact layout\n"
        "Parts by service (pipe, bus, Lambda requests and duration, S3 PUT and storage, SQS, stream\n"
        "reads) add up to each row's total. Prices (us-east-1) and inputs come from the package's\n"
        "prices.json, each with its source; the notes under the table say what is assumed and what is\n"
        "uncertain. Several --writes-per-deletion or --item-kb values give a row per combination.",
    )
    cost.add_argument(
        "--config", default=DEFAULT_CONFIG, metavar="PATH", help=f"environment YAML (default {DEFAULT_CONFIG})"
    )
    cost.add_argument("--table", help="only this configured table (default: every table, each with the same volume)")
    cost.add_argument(
        "--deletions-per-month",
        required=True,
        type=bounded_int(1, MAX_DELETIONS_PER_MONTH),
        metavar="N",
        help=f"deletions archived a month, 1 to {MAX_DELETIONS_PER_MONTH:,}",
    )
    cost.add_argument(
        "--writes-per-deletion",
        required=True,
        nargs="+",
        type=bounded_int(1, MAX_WRITES_PER_DELETION),
        metavar="W",
        help="stream records per deletion, the REMOVE included (1: items are only deleted; 10: an INSERT, "
        f"8 MODIFYs and the REMOVE), 1 to {MAX_WRITES_PER_DELETION:,}",
    )
    cost.add_argument(
        "--item-kb",
        required=True,
        nargs="+",
        type=_decimal(MIN_ITEM_KB, MAX_ITEM_KB, inclusive_low=True),
        metavar="K",
        help=f"item size in KB ({MIN_ITEM_KB} to {MAX_ITEM_KB}: a byte to DynamoDB's item limit)",
    )
    cost.add_argument(
        "--s3-latency-ms",
        type=_decimal(Decimal(0), MAX_MS),
        metavar="MS",
        help=f"wait for one S3 PUT, above 0 up to {MAX_MS} (default: prices.json)",
    )
    cost.add_argument(
        "--cpu-ms-per-record",
        type=_decimal(Decimal(0), MAX_MS),
        metavar="MS",
        help=f"handler CPU per record on a full vCPU, above 0 up to {MAX_MS} (default: prices.json, measured by "
        "bench/bench_cpu.py)",
    )
    cost.add_argument(
        "--failure-rate",
        type=_decimal(Decimal(0), Decimal(1), inclusive_low=True),
        metavar="R",
        help="share of deletions dead-lettered, 0 to 1 (default: prices.json)",
    )
    cost.add_argument(
        "--uncertain",
        choices=["billed", "free"],
        default="billed",
        help="count the parts AWS leaves open (pipe filtered-out requests, stream reads) as billed (default) or free",
    )
    cost.add_argument(
        "--batch-size",
        type=bounded_int(1, 10_000),
        metavar="N",
        help="records a batch holds at most, for the batched designs (direct, compact, stream); default: the "
        "table's batch.size in the YAML where set, else prices.json",
    )
    cost.add_argument(
        "--batching-window-s",
        type=bounded_int(0, 300),
        metavar="S",
        help="seconds a batch gathers records, 0 to 300, for the batched designs; default: the table's "
        "batch.window_seconds in the YAML where set, else prices.json",
    )
    output = cost.add_mutually_exclusive_group()
    output.add_argument(
        "--json", action="store_true", help="print {prices, rows} as JSON (parts add up to monthly_usd)"
    )
    output.add_argument("--markdown", action="store_true", help="print the table and notes as Markdown")

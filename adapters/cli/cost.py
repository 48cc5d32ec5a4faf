"""`archiver cost`: what archiving a month of deletions costs per table, for each delivery design.

The arithmetic is in cost_model.py; this module reads the shipped price book (prices.json: each
unit price and input with its source) and the configuration, applies the flags, and prints a table
with its assumptions, or JSON. Nothing here talks to AWS.

It runs past 300 lines because a third of it is prose: the notes printed under the table, and the
flags' help, which say what each number assumes.
"""

from __future__ import annotations

import argparse
import json
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import TYPE_CHECKING, Any

from adapters.cli import render
from adapters.cli.cost_model import PARTS, UNCERTAIN_PARTS, PriceBook, Row, Volume, cost_rows, read_price_book
from adapters.cli.options import DEFAULT_CONFIG, add_command, bounded_int, shown_text
from adapters.config import load_config

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from adapters.config import TableConfig

__all__ = [
    "MAX_DELETIONS_PER_MONTH",
    "MAX_ITEM_KB",
    "MAX_MS",
    "MAX_WRITES_PER_DELETION",
    "MIN_ITEM_KB",
    "exact_json",
    "load_price_book",
    "notes",
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
        print(exact_json({"prices": _prices_json(book), "rows": [_row_json(r) for r in rows]}))
        return 0
    header, cells, numeric = _table(rows, with_low_total=bill_uncertain)
    if args.markdown:
        print(render.markdown_table([_escape(h) for h in header], cells, numeric=numeric))
    else:
        print(render.table(header, cells, numeric=numeric))
    print()
    print(_format_notes(notes(book, bill_uncertain=bill_uncertain), markdown=args.markdown))
    return 0


def _batched(book: PriceBook, table: TableConfig, args: argparse.Namespace) -> PriceBook:
    """The book with the batch size and window of the flags, else of the table's ``batch`` in the YAML
    (where it gives one; else the book's own designs count)."""
    given = table.batch
    size = args.batch_size if args.batch_size is not None else (given.size if given else None)
    window = args.batching_window_s if args.batching_window_s is not None else (given.window_seconds if given else None)
    return book.with_batching(size, window)


def _table(rows: Sequence[Row], *, with_low_total: bool) -> tuple[list[str], list[list[str]], list[int]]:
    """Header and cells: the volume, the design, one column per part (uncertain ones starred), totals."""
    header = [
        "table",
        "writes/deletion",
        "item KB",
        "design",
        *(f"{p}*" if p in UNCERTAIN_PARTS else p for p in PARTS),
        "monthly USD",
    ]
    if with_low_total:
        header.append("without *")
    cells = []
    for row in rows:
        line = [row.table, str(row.volume.writes_per_deletion), _plain(row.volume.item_kb), row.design]
        line += [f"{row.parts[p]:.4f}" for p in PARTS] + [f"{row.monthly_usd:.4f}"]
        if with_low_total:
            line.append(f"{row.monthly_usd - sum((row.parts[p] for p in UNCERTAIN_PARTS), Decimal(0)):.4f}")
        cells.append(line)
    return header, cells, [1, 2, *range(4, len(header))]


def notes(book: PriceBook, *, bill_uncertain: bool) -> list[tuple[str, list[str]]]:
    """The assumptions behind the numbers and what is uncertain, as (heading, items), from ``book``."""
    i, designs = book.input, book.designs.values()
    batched = [d.name for d in designs if d.batch_size > 1]
    compact = [d.name for d in designs if d.layout == "compact"]
    mapped = [d.name for d in designs if d.reader == "mapping"]
    given = sorted(n for n, v in book.inputs.items() if v.source == "given on the command line")
    unverified = sorted(n for n, p in book.prices.items() if p.status.startswith("NOT VERIFIED"))
    unverified += sorted(n for n, v in book.inputs.items() if v.source.startswith("NOT VERIFIED"))
    starred = "included in 'monthly USD', left out of 'without *'" if bill_uncertain else "left at 0 (--uncertain free)"
    return [
        (
            f"USD a month in {book.region}, prices as of {book.as_of} (adapters/cli/prices.json names the source of "
            f"each). * uncertain: {starred}; see below.",
            [],
        ),
        (
            "Designs",
            [
                f"{d.name}: {d.summary}; {d.architecture}, {d.memory_mb} MB"
                + (
                    f", batches of up to {d.batch_size} within {_plain(d.batching_window_s)} s, "
                    f"{d.concurrency} puts at once"
                    if d.batch_size > 1
                    else ""
                )
                + f" ({d.source})"
                for d in designs
            ],
        ),
        (
            "Assumptions",
            [
                f"Sizes: a stream record is its image(s) plus {_plain(i('overhead_kb'))} KB (keys, stream metadata, "
                "EventBridge envelope); a REMOVE carries the old image, an INSERT the new one, a MODIFY both. Of W "
                "writes per deletion one is the REMOVE, one the INSERT and W - 2 are MODIFYs.",
                f"The pipe, the bus and SQS bill each record per started {_plain(i('chunk_kb'))} KB; an asynchronous "
                f"invocation is one Lambda request up to {_plain(i('lambda_async_included_kb'))} KB and one more per "
                f"{_plain(i('chunk_kb'))} KB above.",
                f"Lambda duration (objects layout): CPU {_plain(i('cpu_ms_per_invocation'))} ms per invocation + "
                f"{_plain(i('cpu_ms_per_record'))} ms per record + {_plain(i('cpu_ms_per_kb'))} ms per KB of item "
                f"on a full vCPU (bench/bench_cpu.py), stretched by {_plain(i('full_vcpu_memory_mb'))} MB / memory "
                f"below that, plus {_plain(i('s3_latency_ms'))} ms per S3 PUT (puts of a batch in waves of its "
                "concurrency), rounded up to whole milliseconds.",
                *(
                    [
                        f"{', '.join(batched)}: a batch holds min(batch size, 1 + deletions per second x batching "
                        f"window, as many records as fit in {_plain(i('invocation_payload_kb'))} KB) deletions, for "
                        "deletions spread evenly over the month: at low volume the window, not the size, bounds a "
                        "batch; bursts (TTL sweeps) fill batches and cost less. --batch-size and "
                        "--batching-window-s (or the table's batch in the YAML) set them for every batched design."
                    ]
                    if batched
                    else []
                ),
                *(
                    [
                        f"{', '.join(compact)} (compact layout): one S3 PUT per batch and hour it spans (1 + span / "
                        f"3600 s on average, no PUT per deletion); CPU {_plain(i('compact_cpu_ms_per_record'))} ms per "
                        f"record + {_plain(i('compact_cpu_ms_per_kb'))} ms per KB to build and gzip the lines "
                        f"(bench/bench_compact_sizes.py); storage {_plain(i('compact_gzip_ratio'))} of item + "
                        f"{_plain(i('overhead_kb'))} KB, gzip measured on realistic ~1 KB items."
                    ]
                    if compact
                    else []
                ),
                *(
                    [
                        f"{', '.join(mapped)}: an event source mapping reads the stream and applies its filter free "
                        "of charge; no pipe, so no pipe requests and no stream read requests."
                    ]
                    if mapped
                    else []
                ),
                f"S3 storage: the month's objects (item + {_plain(i('overhead_kb'))} KB each) for one month in S3 "
                "Standard; each later month adds its own.",
                f"SQS: {_plain(i('failure_rate') * 100)}% of deletions dead-lettered, each sent, received and deleted "
                "once.",
                "Not included: free tiers (per account, shared with everything else), CloudWatch Logs, X-Ray, KMS, "
                "data transfer, retries, cold starts.",
                *([f"Given on the command line: {', '.join(given)}."] if given else []),
            ],
        ),
        (
            "Uncertain (*)",
            [
                "pipe filtered-out requests: whether a pipe bills the stream records its filter drops. Secondary "
                "sources say pipe requests are counted after filtering (then this is 0); the AWS page could not be "
                "read to confirm. seed-poc filters nothing at the pipe: all its records are pipe requests.",
                "DynamoDB Streams reads: whether a pipe's GetRecords calls are billed as stream read requests "
                "(Lambda's are free; Pipes' are not documented): "
                f"{_plain(i('stream_shards_per_table'))} shard(s) x {_plain(i('stream_polls_per_second'))} polls a "
                "second, all month, whatever the traffic, without the 2.5 million free a month.",
                f"Not verified: {', '.join(unverified) or 'none'} (prices.json says what was checked for each).",
            ],
        ),
    ]


def _format_notes(sections: Sequence[tuple[str, Sequence[str]]], *, markdown: bool) -> str:
    blocks = []
    for heading, items in sections:
        if markdown:
            title = f"**{_escape(heading)}**" if items else _escape(heading)
            blocks.append("\n".join([title, *([""] if items else []), *(f"- {_escape(item)}" for item in items)]))
        else:
            blocks.append("\n".join([heading + (":" if items else ""), *(f"  - {item}" for item in items)]))
    return ("\n\n" if markdown else "\n").join(blocks)


def _escape(text: str) -> str:
    """Markdown: the footnote star as a literal, not emphasis."""
    return text.replace("*", "\\*")


def _prices_json(book: PriceBook) -> dict[str, Any]:
    return {
        "region": book.region,
        "as_of": book.as_of,
        "unit_prices": {
            name: {"usd": str(p.usd), "per": p.per, "unit": p.unit, "source": p.source, "status": p.status}
            for name, p in book.prices.items()
        },
        "inputs": {name: {"value": str(v.value), "source": v.source} for name, v in book.inputs.items()},
    }


def _row_json(row: Row) -> dict[str, Any]:
    return {
        "table": row.table,
        "design": row.design,
        "writes_per_deletion": row.volume.writes_per_deletion,
        "item_kb": row.volume.item_kb,
        "monthly_usd": row.monthly_usd,
        "parts": dict(row.parts),
    }


def exact_json(value: object, level: int = 0) -> str:
    """``value`` as ``json.dumps(value, indent=2)`` writes it, except that a Decimal is a JSON number
    whose text is the decimal's own (``11644.2456``), never a float's.

    A float keeps about 17 digits: a month's total of 13 digits before the point and 4 after came
    out as ``9491458719482.314`` while its parts summed to ``...482.3144``. Written exactly, parts
    read with ``json.loads(text, parse_float=Decimal)`` add up to the total to the last digit.
    """
    if isinstance(value, Decimal):
        return format(value, "f")  # positional: JSON has no NaN, and the flags admit only finite numbers
    pad, inner = "  " * level, "  " * (level + 1)
    if isinstance(value, dict) and value:
        members = (f"{inner}{json.dumps(str(k))}: {exact_json(v, level + 1)}" for k, v in value.items())
        return "{\n" + ",\n".join(members) + f"\n{pad}}}"
    if isinstance(value, list) and value:
        return "[\n" + ",\n".join(f"{inner}{exact_json(v, level + 1)}" for v in value) + f"\n{pad}]"
    return json.dumps(value)


def _plain(value: Decimal) -> str:
    """1769, 0.0022, 0.1: without exponent or trailing zeros."""
    return format(value.normalize(), "f")


def _decimal(low: Decimal, high: Decimal, *, inclusive_low: bool = False) -> Callable[[str], Decimal]:
    """An argparse type: an exact, finite decimal above ``low`` (or from it, ``inclusive_low``), at most ``high``.

    NaN and infinities are refused before any comparison (a NaN compares by raising), and so is a
    text longer than any number in the range needs.
    """
    accepted = f"expected a number {'from' if inclusive_low else 'above'} {_plain(low)} up to {_plain(high)}"

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

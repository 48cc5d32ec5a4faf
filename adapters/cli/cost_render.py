"""How `archiver cost` shows its rows: an aligned or Markdown table with the notes under it, or JSON.

The notes say what each number assumes and what is uncertain, from the price book itself (each
design, each input and whether it was given on the command line), so that a printed estimate
never outlives its assumptions. JSON amounts are written exactly (see :func:`exact_json`).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from adapters.cli import render
from adapters.cli.cost_model import PARTS, UNCERTAIN_PARTS, PriceBook, Row

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["as_json", "as_text", "exact_json", "notes", "plain"]


def as_json(book: PriceBook, rows: Sequence[Row]) -> str:
    """``{prices, rows}``: every unit price and input with its source, and each row's parts and total."""
    return exact_json({"prices": _prices_json(book), "rows": [_row_json(r) for r in rows]})


def as_text(book: PriceBook, rows: Sequence[Row], *, bill_uncertain: bool, markdown: bool) -> str:
    """The rows as a table (aligned, or Markdown), a blank line, and the notes."""
    header, cells, numeric = _table(rows, with_low_total=bill_uncertain)
    if markdown:
        shown = render.markdown_table([_escape(h) for h in header], cells, numeric=numeric)
    else:
        shown = render.table(header, cells, numeric=numeric)
    return f"{shown}\n\n{_format_notes(notes(book, bill_uncertain=bill_uncertain), markdown=markdown)}"


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
        line = [row.table, str(row.volume.writes_per_deletion), plain(row.volume.item_kb), row.design]
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
                    f", batches of up to {d.batch_size} within {plain(d.batching_window_s)} s, "
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
                f"Sizes: a stream record is its image(s) plus {plain(i('overhead_kb'))} KB (keys, stream metadata, "
                "EventBridge envelope); a REMOVE carries the old image, an INSERT the new one, a MODIFY both. Of W "
                "writes per deletion one is the REMOVE, one the INSERT and W - 2 are MODIFYs.",
                f"The pipe, the bus and SQS bill each record per started {plain(i('chunk_kb'))} KB; an asynchronous "
                f"invocation is one Lambda request up to {plain(i('lambda_async_included_kb'))} KB and one more per "
                f"{plain(i('chunk_kb'))} KB above.",
                f"Lambda duration (objects layout): CPU {plain(i('cpu_ms_per_invocation'))} ms per invocation + "
                f"{plain(i('cpu_ms_per_record'))} ms per record + {plain(i('cpu_ms_per_kb'))} ms per KB of item "
                f"on a full vCPU (bench/bench_cpu.py), stretched by {plain(i('full_vcpu_memory_mb'))} MB / memory "
                f"below that, plus {plain(i('s3_latency_ms'))} ms per S3 PUT (puts of a batch in waves of its "
                "concurrency), rounded up to whole milliseconds.",
                *(
                    [
                        f"{', '.join(batched)}: a batch holds min(batch size, 1 + deletions per second x batching "
                        f"window, as many records as fit in {plain(i('invocation_payload_kb'))} KB) deletions, for "
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
                        f"3600 s on average, no PUT per deletion); CPU {plain(i('compact_cpu_ms_per_record'))} ms per "
                        f"record + {plain(i('compact_cpu_ms_per_kb'))} ms per KB to build and gzip the lines "
                        f"(bench/bench_compact_sizes.py); storage {plain(i('compact_gzip_ratio'))} of item + "
                        f"{plain(i('overhead_kb'))} KB, gzip measured on realistic ~1 KB items."
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
                f"S3 storage: the month's objects (item + {plain(i('overhead_kb'))} KB each) for one month in S3 "
                "Standard; each later month adds its own.",
                f"SQS: {plain(i('failure_rate') * 100)}% of deletions dead-lettered, each sent, received and deleted "
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
                f"{plain(i('stream_shards_per_table'))} shard(s) x {plain(i('stream_polls_per_second'))} polls a "
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


def plain(value: Decimal) -> str:
    """1769, 0.0022, 0.1: without exponent or trailing zeros."""
    return format(value.normalize(), "f")

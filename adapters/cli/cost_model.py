"""What a month of deletions costs, per design: volumes and unit prices in, dollars per service out.

Pure arithmetic, no I/O: ``archiver cost`` (cost.py) reads the shipped price book (prices.json,
where every price and input names its source) and the configuration; this module computes. Amounts
are Decimals and exact; :meth:`Row.rounded` rounds each part to a hundredth of a cent and makes the
total the sum of the rounded parts, so what is printed always adds up.

The designs differ in what reads the stream, where INSERT and MODIFY records are dropped, the
function, and the layout the function writes:

- ``seed-poc``: the pipe passes every stream record to the bus, a rule keeps the REMOVEs, one
  invocation per deletion on Lambda's defaults (x86_64, 128 MB);
- ``bus``: the pipe keeps only REMOVEs, so only deletions reach the bus; one arm64 invocation each;
- ``direct``: the pipe keeps only REMOVEs and invokes the function with batches, no bus;
- ``compact``: as ``direct``, and the function writes the compact layout: one gzip object per batch
  and hour instead of one object per deletion;
- ``stream``: an event source mapping (no pipe) reads the stream, keeps only REMOVEs and invokes
  the function with batches; compact layout. A mapping's reads and its filtering are free.

A batch holds what arrives within the batching window, up to the batch size and the invocation's
6 MB payload; at low volume the window, not the size, bounds it (1 M deletions a month are 0.38 a
second: ~115 in 300 s). A compact batch writes one object per hour its deletions span: on average
``1 + span / 3600`` PUTs (at most one per deletion).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "PARTS",
    "UNCERTAIN_PARTS",
    "Design",
    "Input",
    "PriceBook",
    "Row",
    "UnitPrice",
    "Volume",
    "async_requests",
    "chunks",
    "cost_row",
    "cost_rows",
    "read_price_book",
]

PIPE = "pipe requests"
PIPE_FILTERED = "pipe filtered-out requests"
BUS = "bus events"
LAMBDA_REQUESTS = "Lambda requests"
LAMBDA_DURATION = "Lambda duration"
S3_PUT = "S3 PUT"
S3_STORAGE = "S3 storage"
SQS = "SQS"
STREAM_READS = "DynamoDB Streams reads"
#: Every row has every part, in this order (zero where a design has no such cost).
PARTS = (PIPE, PIPE_FILTERED, BUS, LAMBDA_REQUESTS, LAMBDA_DURATION, S3_PUT, S3_STORAGE, SQS, STREAM_READS)
#: Parts AWS's pages leave open: whether a pipe bills the records its filter drops, and whether
#: its reads of a DynamoDB stream are billed as stream read requests (Lambda's are free).
UNCERTAIN_PARTS = (PIPE_FILTERED, STREAM_READS)

_CENT_HUNDREDTH = Decimal("0.0001")
_MB_PER_GB = Decimal(1024)
_KB_PER_GB = Decimal(1024 * 1024)


@dataclass(frozen=True, slots=True)
class Volume:
    """One table's month: deletions, stream records per deletion (the REMOVE included), item size."""

    deletions: int
    writes_per_deletion: int
    item_kb: Decimal


@dataclass(frozen=True, slots=True)
class UnitPrice:
    """``usd`` per ``per`` units (0.40 per 1,000,000 requests), with where it comes from."""

    usd: Decimal
    per: Decimal
    unit: str
    source: str
    status: str

    @property
    def each(self) -> Decimal:
        return self.usd / self.per


@dataclass(frozen=True, slots=True)
class Input:
    """An assumption of the model (CPU per record, S3 latency, ...) and where its value comes from."""

    value: Decimal
    source: str


@dataclass(frozen=True, slots=True)
class Design:
    """One way to deliver deletions: what reads the stream, where records are filtered, what invokes
    the function and how, and the layout it writes."""

    name: str
    summary: str
    filtered_at: Literal["pipe", "rule", "mapping"]
    target: Literal["bus", "function"]
    architecture: Literal["x86_64", "arm64"]
    memory_mb: int
    batch_size: int
    batching_window_s: Decimal
    concurrency: int
    source: str
    reader: Literal["pipe", "mapping"] = "pipe"
    layout: Literal["objects", "compact"] = "objects"


@dataclass(frozen=True, slots=True)
class PriceBook:
    """Unit prices of one region on one date, the model's inputs, and the designs compared."""

    region: str
    as_of: str
    prices: Mapping[str, UnitPrice]
    inputs: Mapping[str, Input]
    designs: Mapping[str, Design]

    def price(self, name: str) -> Decimal:
        return self.prices[name].each

    def input(self, name: str) -> Decimal:
        return self.inputs[name].value

    def with_batching(self, size: int | None, window_s: int | None) -> PriceBook:
        """This book with every design that hands the function batches (not one event at a time)
        batching up to ``size`` records within ``window_s`` seconds; None keeps the design's own."""

        def batching(design: Design) -> Design:
            if design.target != "function":
                return design
            return replace(
                design,
                batch_size=design.batch_size if size is None else size,
                batching_window_s=design.batching_window_s if window_s is None else Decimal(window_s),
            )

        return replace(self, designs={name: batching(d) for name, d in self.designs.items()})

    def with_inputs(self, given: Mapping[str, Decimal], source: str = "given on the command line") -> PriceBook:
        """This book with some inputs replaced (flags such as --s3-latency-ms)."""
        unknown = set(given) - set(self.inputs)
        if unknown:
            raise KeyError(f"no such input: {', '.join(sorted(unknown))}")
        return replace(self, inputs={**self.inputs, **{name: Input(v, source) for name, v in given.items()}})


@dataclass(frozen=True, slots=True)
class Row:
    """The monthly cost of one design for one table's volume, by service (exact amounts)."""

    table: str
    design: str
    volume: Volume
    parts: Mapping[str, Decimal]

    @property
    def monthly_usd(self) -> Decimal:
        return sum(self.parts.values(), Decimal(0))

    def rounded(self) -> Row:
        """Each part to a hundredth of a cent; the total is then exactly the sum of the printed parts."""
        return replace(self, parts={n: v.quantize(_CENT_HUNDREDTH, ROUND_HALF_UP) for n, v in self.parts.items()})


def read_price_book(data: Mapping[str, Any]) -> PriceBook:
    """The price book from prices.json's parsed content (numbers as strings, read as exact Decimals)."""
    return PriceBook(
        region=data["region"],
        as_of=data["as_of"],
        prices={
            name: UnitPrice(Decimal(p["usd"]), Decimal(p["per"]), p["unit"], p["source"], p["status"])
            for name, p in data["unit_prices"].items()
        },
        inputs={name: Input(Decimal(i["value"]), i["source"]) for name, i in data["inputs"].items()},
        designs={
            name: Design(
                name=name,
                summary=d["summary"],
                filtered_at=d["filtered_at"],
                target=d["target"],
                architecture=d["architecture"],
                memory_mb=int(d["memory_mb"]),
                batch_size=int(d["batch_size"]),
                batching_window_s=Decimal(d["batching_window_s"]),
                concurrency=int(d["concurrency"]),
                source=d["source"],
                reader=d.get("reader", "pipe"),
                layout=d.get("layout", "objects"),
            )
            for name, d in data["designs"].items()
        },
    )


def chunks(size_kb: Decimal, chunk_kb: Decimal = Decimal(64)) -> int:
    """Requests billed for one payload: one per started chunk (64 KB -> 1, 65 KB -> 2)."""
    return max(1, math.ceil(size_kb / chunk_kb))


def async_requests(size_kb: Decimal, included_kb: Decimal, chunk_kb: Decimal = Decimal(64)) -> int:
    """Lambda requests billed for one asynchronous invocation: one, plus one per chunk above ``included_kb``."""
    return 1 + (chunks(size_kb - included_kb, chunk_kb) if size_kb > included_kb else 0)


def cost_rows(table: str, volume: Volume, book: PriceBook, *, bill_uncertain: bool = True) -> list[Row]:
    """One row per design of the book, in its order."""
    return [cost_row(table, design, volume, book, bill_uncertain=bill_uncertain) for design in book.designs.values()]


def cost_row(table: str, design: Design, volume: Volume, book: PriceBook, *, bill_uncertain: bool = True) -> Row:
    """The month of ``volume`` through ``design``, by service.

    Sizes (NEW_AND_OLD_IMAGES): a REMOVE carries the old image, an INSERT the new one and a MODIFY
    both, each plus ``overhead_kb``; of a deletion's W records one is the REMOVE, one (W >= 2) the
    INSERT and W - 2 are MODIFYs. Pipes, buses and SQS bill per 64 KB chunk of each record.

    Args:
        bill_uncertain: count the parts in UNCERTAIN_PARTS (the conservative case), or leave them at 0.
    """
    n, k = Decimal(volume.deletions), volume.item_kb
    chunk_kb, overhead = book.input("chunk_kb"), book.input("overhead_kb")
    removal_kb = k + overhead
    removal = chunks(removal_kb, chunk_kb)
    # Chunks of the records other than the REMOVE, per deletion: what filtering drops.
    others = (chunks(k + overhead, chunk_kb) if volume.writes_per_deletion >= 2 else 0) + max(
        0, volume.writes_per_deletion - 2
    ) * chunks(2 * k + overhead, chunk_kb)
    filtered_at_pipe = design.filtered_at == "pipe"
    via_bus = design.target == "bus"
    via_pipe = design.reader == "pipe"  # a mapping's reads and filtering are free
    compact = design.layout == "compact"

    per_second = n / (book.input("hours_per_month") * 3600)
    per_invocation = _records_per_invocation(design, volume, book)
    invocations = n / per_invocation
    # a compact batch writes one object per hour it spans (a batch of r deletions spans (r - 1) / rate),
    # and never more objects than it holds deletions
    spanned = min(per_invocation, 1 + (per_invocation - 1) / per_second / 3600)
    puts = invocations * spanned if compact else n
    requests_each = async_requests(removal_kb, book.input("lambda_async_included_kb"), chunk_kb) if via_bus else 1
    seconds = Decimal(_invocation_ms(per_invocation, puts / invocations, k, design, book)) / 1000
    gigabytes = Decimal(design.memory_mb) / _MB_PER_GB
    month_seconds = book.input("hours_per_month") * 3600
    stream_reads = book.input("stream_shards_per_table") * book.input("stream_polls_per_second") * month_seconds
    stored_kb = removal_kb * book.input("compact_gzip_ratio") if compact else removal_kb
    passed = removal + (0 if filtered_at_pipe else others)  # chunks each deletion costs the pipe and the bus
    parts = {
        PIPE: n * passed * book.price("pipe_request") if via_pipe else Decimal(0),
        PIPE_FILTERED: n * others * book.price("pipe_request")
        if via_pipe and filtered_at_pipe and bill_uncertain
        else Decimal(0),
        BUS: n * passed * book.price("bus_event") if via_bus else Decimal(0),
        LAMBDA_REQUESTS: invocations * requests_each * book.price("lambda_request"),
        LAMBDA_DURATION: invocations * seconds * gigabytes * book.price(f"lambda_gb_second_{design.architecture}"),
        S3_PUT: puts * book.price("s3_put"),
        S3_STORAGE: n * stored_kb / _KB_PER_GB * book.price("s3_storage_gb_month"),
        SQS: n * book.input("failure_rate") * (2 * removal + 1) * book.price("sqs_request"),
        STREAM_READS: stream_reads * book.price("streams_read_request") if via_pipe and bill_uncertain else Decimal(0),
    }
    return Row(table=table, design=design.name, volume=volume, parts={name: parts[name] for name in PARTS})


def _records_per_invocation(design: Design, volume: Volume, book: PriceBook) -> Decimal:
    """Deletions per invocation: 1, or a batch that fills for the batching window at an even rate, up to
    the batch size and as many as the invocation's payload holds."""
    if design.batch_size == 1:
        return Decimal(1)
    per_second = Decimal(volume.deletions) / (book.input("hours_per_month") * 3600)
    fit = max(1, math.floor(book.input("invocation_payload_kb") / (volume.item_kb + book.input("overhead_kb"))))
    return min(Decimal(design.batch_size), Decimal(fit), 1 + per_second * design.batching_window_s)


def _invocation_ms(records: Decimal, puts: Decimal, item_kb: Decimal, design: Design, book: PriceBook) -> int:
    """Billed milliseconds of one invocation: CPU slowed by the memory's vCPU share, then S3 waits.

    Below ``full_vcpu_memory_mb`` a function gets that share of a vCPU, so CPU time stretches by
    the inverse. The ``puts`` of a batch wait in waves of ``concurrency``; their waits are added to
    the CPU rather than overlapped with it (an upper bound). Lambda bills whole milliseconds.

    A compact batch builds its lines and gzips them (``compact_cpu_*``, no signed PUT per record)
    and makes one PUT per hour it spans.
    """
    per = "compact_cpu" if design.layout == "compact" else "cpu"
    cpu = book.input("cpu_ms_per_invocation") + records * (
        book.input(f"{per}_ms_per_record") + book.input(f"{per}_ms_per_kb") * item_kb
    )
    stretch = max(Decimal(1), book.input("full_vcpu_memory_mb") / design.memory_mb)
    waves = math.ceil(puts / design.concurrency)
    return math.ceil(cpu * stretch + waves * book.input("s3_latency_ms"))

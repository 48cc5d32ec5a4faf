"""`archiver cost`: the cost model's arithmetic (hypothesis), the shipped price book, and the command."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.cli.cost import load_price_book
from adapters.cli.cost_model import (
    PARTS,
    UNCERTAIN_PARTS,
    PriceBook,
    Row,
    Volume,
    async_requests,
    chunks,
    cost_row,
    cost_rows,
)
from adapters.cli.cost_render import exact_json
from adapters.cli.main import main

pytestmark = pytest.mark.usefixtures("process_logging_left_alone")

LOCAL = str(Path(__file__).parents[2] / "config" / "local.yaml")
BOOK = load_price_book()

volumes = st.builds(
    Volume,
    deletions=st.integers(1, 10**10),
    writes_per_deletion=st.integers(1, 50),
    item_kb=st.decimals(Decimal("0.001"), Decimal(400), places=3),
)
books = st.builds(
    lambda latency, cpu, failures: BOOK.with_inputs(
        {"s3_latency_ms": latency, "cpu_ms_per_record": cpu, "failure_rate": failures}
    ),
    st.decimals(Decimal("0.1"), Decimal(1000), places=1),
    st.decimals(Decimal("0.01"), Decimal(50), places=2),
    st.decimals(Decimal(0), Decimal(1), places=4),
)


def _row(design: str, volume: Volume, book: PriceBook = BOOK, *, bill_uncertain: bool = True) -> Row:
    return cost_row("orders", book.designs[design], volume, book, bill_uncertain=bill_uncertain)


# --- the model ------------------------------------------------------------------------------------


@given(volumes, books, st.booleans())
def test_printed_parts_add_up_to_the_printed_total(volume: Volume, book: PriceBook, bill_uncertain: bool) -> None:
    for row in cost_rows("orders", volume, book, bill_uncertain=bill_uncertain):
        printed = row.rounded()
        assert tuple(printed.parts) == PARTS
        assert all(part == part.quantize(Decimal("0.0001")) and part >= 0 for part in printed.parts.values())
        assert printed.monthly_usd == sum(printed.parts.values(), Decimal(0))
        assert abs(printed.monthly_usd - row.monthly_usd) <= Decimal("0.00005") * len(PARTS)


@pytest.mark.parametrize(
    ("size_kb", "expected"),
    [("0.5", 1), ("64", 1), ("64.001", 2), ("65", 2), ("128", 2), ("129", 3), ("801", 13)],
)
def test_a_payload_is_billed_per_started_64_kb_chunk(size_kb: str, expected: int) -> None:
    assert chunks(Decimal(size_kb)) == expected


def test_an_item_whose_event_crosses_64_kb_costs_a_second_bus_event_and_pipe_request() -> None:
    # given an event is the item plus 1 KB of keys, stream metadata and envelope
    fits, spills = (_row("bus", Volume(1_000_000, 1, Decimal(kb))) for kb in (63, 64))

    assert fits.parts["bus events"] == Decimal("1.00")  # 1 M events of 64 KB: one chunk each
    assert spills.parts["bus events"] == Decimal("2.00")  # 65 KB: two
    assert spills.parts["pipe requests"] == 2 * fits.parts["pipe requests"]


def test_an_asynchronous_invocation_costs_more_requests_only_above_256_kb() -> None:
    assert [async_requests(Decimal(kb), Decimal(256)) for kb in ("1", "256", "257", "320", "321", "401")] == [
        1,
        1,
        2,
        2,
        3,
        4,
    ]


@given(volumes, books, st.booleans())
def test_seed_poc_never_costs_less_than_bus_with_the_same_function(
    volume: Volume, book: PriceBook, bill_uncertain: bool
) -> None:
    # given the seed's design with the bus design's function (architecture, memory, concurrency)
    bus = book.designs["bus"]
    seed = dataclasses.replace(
        book.designs["seed-poc"], architecture=bus.architecture, memory_mb=bus.memory_mb, concurrency=bus.concurrency
    )

    seed_row = cost_row("orders", seed, volume, book, bill_uncertain=bill_uncertain)

    assert seed_row.monthly_usd >= _row("bus", volume, book, bill_uncertain=bill_uncertain).monthly_usd


def _books_with_latency_up_to(milliseconds: int) -> st.SearchStrategy[PriceBook]:
    return books.map(lambda b: b.with_inputs({"s3_latency_ms": min(b.input("s3_latency_ms"), Decimal(milliseconds))}))


@given(volumes.filter(lambda v: v.writes_per_deletion >= 2), _books_with_latency_up_to(500), st.booleans())
def test_seed_poc_costs_more_than_bus_once_a_deletion_has_other_writes(
    volume: Volume, book: PriceBook, bill_uncertain: bool
) -> None:
    # the seed's x86 128 MB function bills fewer GB-s than arm64 256 MB while it waits on S3, about
    # 1.25e-9 USD per ms of wait: less than the one more bus event a deletion (1e-6) while S3
    # answers within 0.8 s
    seed = _row("seed-poc", volume, book, bill_uncertain=bill_uncertain)

    assert seed.monthly_usd > _row("bus", volume, book, bill_uncertain=bill_uncertain).monthly_usd


def test_with_deletions_only_seed_poc_is_slightly_cheaper_than_bus() -> None:
    # the other side of the trade: at W = 1 the bus saves nothing and pays for its larger function
    volume = Volume(1_000_000, 1, Decimal(1))

    assert _row("seed-poc", volume).monthly_usd < _row("bus", volume).monthly_usd


@given(volumes.map(lambda v: dataclasses.replace(v, writes_per_deletion=1)), books)
def test_with_deletions_only_seed_poc_and_bus_differ_in_the_function_alone(volume: Volume, book: PriceBook) -> None:
    seed, bus = _row("seed-poc", volume, book), _row("bus", volume, book)

    assert {p for p in PARTS if seed.parts[p] != bus.parts[p]} <= {"Lambda duration"}


@given(volumes, books)
def test_the_uncertain_parts_are_all_that_free_leaves_out(volume: Volume, book: PriceBook) -> None:
    for billed, free in zip(
        cost_rows("t", volume, book), cost_rows("t", volume, book, bill_uncertain=False), strict=True
    ):
        assert all(free.parts[p] == 0 for p in UNCERTAIN_PARTS)
        assert {p for p in PARTS if billed.parts[p] != free.parts[p]} <= set(UNCERTAIN_PARTS)


def test_direct_batches_fill_with_the_deletion_rate() -> None:
    slow, fast = (_row("direct", Volume(n, 1, Decimal(1))) for n in (1_000_000, 100_000_000))

    # 1 M a month is 0.38 a second: about 2.9 per 5 s window; 100 M fill batches of 10
    assert slow.parts["Lambda requests"] == pytest.approx(Decimal("0.0689"), abs=Decimal("0.0001"))
    assert fast.parts["Lambda requests"] == Decimal(100_000_000) / 10 * Decimal("0.0000002")


def test_compact_and_stream_cost_what_issue_14_expects_at_1_kb_and_batches_of_1000() -> None:
    # given 1 M deletions a month of 1 KB items, the uncertain parts left out (as "without *")
    volume = Volume(1_000_000, 1, Decimal(1))
    direct, compact, stream, bus = (
        _row(d, volume, bill_uncertain=False).rounded() for d in ("direct", "compact", "stream", "bus")
    )

    assert direct.monthly_usd == Decimal("5.5863")  # today's cheapest
    assert Decimal("0.40") < compact.monthly_usd < Decimal("0.50")  # issue 14: about $0.45
    assert Decimal("0.04") < stream.monthly_usd < Decimal("0.08")  # issue 14: about $0.05
    # made of: the pipe's $0.40 a million for compact; for both, PUTs of ~8,700 batches, ~1.08 objects each
    assert compact.parts["pipe requests"] == Decimal("0.4000") and stream.parts["pipe requests"] == 0
    assert compact.parts["S3 PUT"] == stream.parts["S3 PUT"] == Decimal("0.0470")
    assert bus.monthly_usd > direct.monthly_usd


def test_at_low_volume_the_batching_window_bounds_a_compact_batch_and_the_size_at_high_volume() -> None:
    slow, fast = (_row("compact", Volume(n, 1, Decimal(1))) for n in (1_000_000, 100_000_000))

    # 1 M a month is 0.3805 a second: 1 + 0.3805 x 300 = 115.2 deletions a batch
    per_second = Decimal(1_000_000) / (730 * 3600)
    batches = Decimal(1_000_000) / (1 + per_second * 300)
    assert slow.parts["Lambda requests"] == batches * Decimal("0.0000002")
    assert slow.parts["S3 PUT"] == batches * (1 + Decimal(300) / 3600) * Decimal("0.000005")  # some cross an hour
    assert fast.parts["Lambda requests"] == Decimal(100_000_000) / 1000 * Decimal("0.0000002")


def test_a_batch_holds_no_more_records_than_an_invocation_s_6_mb_payload() -> None:
    big = _row("compact", Volume(100_000_000, 1, Decimal(400)))

    # 6,144 KB / 401 KB a record: 15 a batch, whatever the batch size
    assert big.parts["Lambda requests"] == Decimal(100_000_000) / 15 * Decimal("0.0000002")


@given(volumes, books, st.booleans())
def test_an_event_source_mapping_costs_the_compact_design_less_its_pipe(
    volume: Volume, book: PriceBook, bill_uncertain: bool
) -> None:
    compact, stream = (_row(d, volume, book, bill_uncertain=bill_uncertain) for d in ("compact", "stream"))
    pipe_parts = {"pipe requests", "pipe filtered-out requests", "DynamoDB Streams reads"}

    assert all(stream.parts[p] == 0 for p in pipe_parts)
    assert all(stream.parts[p] == compact.parts[p] for p in set(PARTS) - pipe_parts)


@given(volumes, books, st.booleans(), st.integers(1, 1000), st.integers(0, 300))
def test_the_compact_layout_never_costs_more_than_objects_batched_alike(
    volume: Volume, book: PriceBook, bill_uncertain: bool, size: int, window: int
) -> None:
    book = book.with_batching(size, window)
    direct, compact = (_row(d, volume, book, bill_uncertain=bill_uncertain) for d in ("direct", "compact"))

    assert compact.parts["S3 PUT"] <= direct.parts["S3 PUT"]
    assert compact.parts["S3 storage"] < direct.parts["S3 storage"]
    assert compact.monthly_usd <= direct.monthly_usd


def test_every_shipped_price_and_input_says_where_it_comes_from() -> None:
    assert BOOK.region == "us-east-1"
    assert set(BOOK.designs) == {"seed-poc", "bus", "direct", "compact", "stream"}
    for price in BOOK.prices.values():
        assert price.source.startswith("https://aws.amazon.com/")
        assert price.status and price.usd > 0 and price.per > 0
    assert all(value.source for value in BOOK.inputs.values())


# --- the command ----------------------------------------------------------------------------------


def _cost(*args: str) -> list[str]:
    return ["cost", "--config", LOCAL, "--deletions-per-month", "1000000", *args]


def test_cost_explains_itself(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: archiver cost")
    for flag in ("--deletions-per-month", "--writes-per-deletion", "--item-kb", "--s3-latency-ms", "--json"):
        assert flag in out


def test_cost_json_has_prices_and_a_row_per_table_volume_and_design(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_cost("--writes-per-deletion", "1", "10", "--item-kb", "1", "--json")) == 0

    document: dict[str, Any] = json.loads(capsys.readouterr().out, parse_float=Decimal)
    assert set(document) == {"prices", "rows"}
    assert document["prices"]["region"] == "us-east-1"
    assert document["prices"]["unit_prices"]["pipe_request"]["source"].startswith("https://")
    rows = document["rows"]
    assert [(r["table"], r["writes_per_deletion"], r["design"]) for r in rows] == [
        (table, writes, design)
        for table in ("orders", "sessions", "events")
        for writes in (1, 10)
        for design in ("seed-poc", "bus", "direct", "compact", "stream")
    ]
    for row in rows:
        assert set(row) == {"table", "design", "writes_per_deletion", "item_kb", "monthly_usd", "parts"}
        assert list(row["parts"]) == list(PARTS)
        assert sum(Decimal(str(v)) for v in row["parts"].values()) == Decimal(str(row["monthly_usd"]))


def test_cost_flags_replace_the_book_s_inputs(capsys: pytest.CaptureFixture[str]) -> None:
    def duration(*flags: str) -> Decimal:
        assert main(_cost("--table", "orders", "--writes-per-deletion", "1", "--item-kb", "1", "--json", *flags)) == 0
        rows = json.loads(capsys.readouterr().out, parse_float=Decimal)["rows"]
        return Decimal(str(rows[1]["parts"]["Lambda duration"]))

    assert duration("--s3-latency-ms", "100") > duration() > duration("--cpu-ms-per-record", "0.1")


def test_cost_batches_as_the_flags_say(capsys: pytest.CaptureFixture[str]) -> None:
    def requests(*flags: str) -> dict[str, Decimal]:
        assert main(_cost("--table", "orders", "--writes-per-deletion", "1", "--item-kb", "1", "--json", *flags)) == 0
        rows = json.loads(capsys.readouterr().out, parse_float=Decimal)["rows"]
        return {row["design"]: Decimal(str(row["parts"]["Lambda requests"])) for row in rows}

    default, small, short = requests(), requests("--batch-size", "50"), requests("--batching-window-s", "10")

    assert small["compact"] == small["stream"] == Decimal("0.004")  # 20,000 batches of 50: the size bounds them
    assert short["compact"] > default["compact"]  # 10 s windows hold ~4.8 deletions
    assert small["bus"] == default["bus"]  # one event an invocation, whatever the batch


def test_cost_takes_the_batch_from_the_table_s_yaml_where_it_has_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "env.yaml"
    config.write_text(
        "environment: local\nbucket: archive-test\ntables:\n"
        "  - {name: orders, delivery: direct, layout: compact, batch: {size: 50}}\n"
    )
    args = ["--table", "orders", "--writes-per-deletion", "1", "--item-kb", "1", "--json"]

    assert main(["cost", "--config", str(config), "--deletions-per-month", "1000000", *args]) == 0

    rows = json.loads(capsys.readouterr().out, parse_float=Decimal)["rows"]
    assert {r["design"]: r["parts"]["Lambda requests"] for r in rows}["compact"] == Decimal("0.004")


def test_cost_prints_a_table_with_its_assumptions_and_uncertain_prices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_cost("--table", "orders", "--writes-per-deletion", "10", "--item-kb", "100")) == 0

    out = capsys.readouterr().out
    header, *lines = out.splitlines()
    assert header.split()[:4] == ["table", "writes/deletion", "item", "KB"]
    assert "pipe filtered-out requests*" in header and "without *" in header
    assert [line.split()[3] for line in lines[:3]] == ["seed-poc", "bus", "direct"]
    for heading in ("Designs:", "Assumptions:", "Uncertain (*):"):
        assert heading in out
    assert "Not verified: streams_read_request" in out


def test_cost_markdown_escapes_the_footnote_star(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_cost("--table", "orders", "--writes-per-deletion", "1", "--item-kb", "1", "--markdown")) == 0

    first, rule, *_ = capsys.readouterr().out.splitlines()
    assert first.startswith("| table |") and "requests\\* |" in first
    assert rule.startswith("|---|---:|")


@pytest.mark.parametrize(
    "flags",
    [
        ["--writes-per-deletion", "0", "--item-kb", "1"],
        ["--writes-per-deletion", "1", "--item-kb", "0"],
        ["--writes-per-deletion", "1", "--item-kb", "401"],
        ["--writes-per-deletion", "1", "--item-kb", "lots"],
        ["--writes-per-deletion", "1", "--item-kb", "1", "--failure-rate", "1.5"],
        ["--writes-per-deletion", "1", "--item-kb", "1", "--s3-latency-ms", "0"],
        ["--writes-per-deletion", "1", "--item-kb", "1", "--json", "--markdown"],
        ["--item-kb", "1"],
    ],
    ids=" ".join,
)
def test_cost_refuses_impossible_volumes_as_usage_errors(flags: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_cost(*flags)) == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith("archiver cost: error: ") and "--" in error  # names the flag


FIVE_THOUSAND_DIGITS = "9" * 5000


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--item-kb", "NaN"], "--item-kb: NaN is out of range; expected a number from 0.001 up to 400"),
        (["--item-kb", "sNaN"], "--item-kb: sNaN is out of range"),
        (["--item-kb", "1e-999999"], "--item-kb: 1e-999999 is out of range"),
        (["--item-kb", "1", "--s3-latency-ms", "NaN"], "--s3-latency-ms: NaN is out of range; expected a number above"),
        (["--item-kb", "1", "--s3-latency-ms", "Infinity"], "--s3-latency-ms: Infinity is out of range"),
        (["--item-kb", "1", "--s3-latency-ms", "1e999999"], "above 0 up to 900000"),
        (["--item-kb", "1", "--cpu-ms-per-record", "1e30"], "--cpu-ms-per-record: 1e30 is out of range"),
        (
            ["--item-kb", "1", "--failure-rate=-NaN"],
            "--failure-rate: -NaN is out of range; expected a number from 0",
        ),
        (["--item-kb", "1." + "0" * 5000], "(5002 characters) is too long (at most 40 characters); expected a number"),
        (["--item-kb", "1", "--deletions-per-month", FIVE_THOUSAND_DIGITS], "(5000 characters) is too long"),
        (["--item-kb", "1", "--deletions-per-month", "9" * 30], "from 1 to 1,000,000,000,000,000"),
        (["--item-kb", "1", "--deletions-per-month", "1000000000000001"], "1000000000000001 is out of range"),
        (["--item-kb", "1", "--writes-per-deletion", "1000001"], "from 1 to 1,000,000"),
        (["--item-kb", "1", "--deletions-per-month", "10.5"], "'10.5' is not a whole number; expected a whole"),
    ],
    ids=lambda value: value[-1][:30] if isinstance(value, list) else None,
)
def test_cost_refuses_non_finite_and_absurd_numbers_saying_what_it_accepts(
    flags: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # the flags given last win: argparse keeps the last --deletions-per-month
    assert main(_cost("--writes-per-deletion", "1", *flags)) == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith("archiver cost: error: argument --")
    assert said in error
    assert len(error) < 200  # a 5,000-digit value is not echoed whole
    assert "Decimal(" not in error and "internal error" not in error


def test_the_largest_volumes_accepted_are_priced_and_their_json_parts_add_up_exactly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given every flag at the top of its range: totals of 17 digits and more, past what a float keeps
    flags = ["--deletions-per-month", "1000000000000000", "--writes-per-deletion", "1000000", "--item-kb", "400"]
    flags += ["--s3-latency-ms", "900000", "--cpu-ms-per-record", "900000", "--failure-rate", "1"]
    assert main(["cost", "--config", LOCAL, "--table", "orders", *flags, "--json"]) == 0
    # then, read back as exact decimals, each row's parts sum to its total to the last digit
    rows = json.loads(capsys.readouterr().out, parse_float=Decimal)["rows"]
    assert len(rows) == 5  # seed-poc, bus, direct, compact, stream
    for row in rows:
        assert row["monthly_usd"] > 10**11  # 16 significant digits and more (compact designs batch the PUTs)
        assert sum(row["parts"].values(), Decimal(0)) == row["monthly_usd"]
        assert row["monthly_usd"].as_tuple().exponent == -4  # a hundredth of a cent, written out


def test_exact_json_is_json_dumps_with_decimals_written_exactly() -> None:
    plain = {"a": [1, 'x\u00e9"', None, True, {}, []], "b": {"c": 2.5}, "": "empty key"}
    assert exact_json(plain) == json.dumps(plain, indent=2)
    amounts = {"usd": Decimal("18199997941321834.8172"), "zero": Decimal("0.0000"), "tiny": Decimal("1E-7")}
    text = exact_json(amounts)
    assert '"usd": 18199997941321834.8172' in text and '"tiny": 0.0000001' in text
    assert json.loads(text, parse_float=Decimal) == amounts


def test_cost_names_an_unknown_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_cost("--table", "ghosts", "--writes-per-deletion", "1", "--item-kb", "1")) == 1

    err = capsys.readouterr().err
    assert "table 'ghosts' is not in the configuration" in err
    assert "Traceback" not in err

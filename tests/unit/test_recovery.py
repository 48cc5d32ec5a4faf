"""Recovery decisions: the time window, which version goes back, what a body puts back, and --keys lines."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archiver.archive import ArchiveBodyError, version_time
from archiver.key_arguments import KeyArgumentError, key_from_line, keys_from_lines
from archiver.keys import encode_key
from archiver.listing import ArchiveName, read_object_key
from archiver.policy import DeletionKind
from archiver.restore_plan import (
    DELETED_AGAIN,
    NO_IMAGE,
    NOTHING_ARCHIVED,
    NOTHING_IN_WINDOW,
    ArchivedImage,
    Chosen,
    KeyOutcome,
    KeyStatus,
    Skip,
    choose_version,
    image_to_restore,
    plan_window,
    summary_rows,
)
from archiver.windows import TimeWindow, WindowError, parse_time

FOLDER = "archive/orders/"
ORDER = {"PK": {"S": "USER#1"}, "SK": {"S": "ORDER#7"}}
ENCODED = encode_key(ORDER)
T0 = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)


def version_at(moment: datetime | None, sequence: int = 1, digest: str = "0123456789abcdef") -> str:
    stamp = moment.strftime("%Y%m%dT%H%M%SZ") if moment else "00000000T000000Z"
    return f"{stamp}-{sequence:040d}-{digest}"


def name_at(moment: datetime | None, sequence: int = 1, encoded: str = ENCODED) -> ArchiveName:
    version = version_at(moment, sequence)
    found = read_object_key(f"{FOLDER}{encoded}/{version}.json", FOLDER)
    assert found is not None
    return found


# -- time --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-25T10:00:00Z", T0),
        ("2026-11-25T10:00Z", T0),
        ("2026-11-25T10:00:00.250Z", T0 + timedelta(milliseconds=250)),
        ("2026-11-25T10:00:00+00:00", T0),
        ("2026-11-25T11:00:00+01:00", T0),
        ("2026-11-25", T0.replace(hour=0)),
    ],
)
def test_times_are_iso_8601_utc_and_a_date_alone_is_midnight(text: str, expected: datetime) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("yesterday", "not an ISO 8601 time"),
        ("2026-13-01", "not an ISO 8601 time"),
        ("2026-11-25T10:00:00", "no time zone; add one, e.g. 2026-11-25T10:00:00Z for UTC"),
        ("0001-01-01T00:00:00+01:00", "out of range in UTC; expected a time from 0001-01-01T00:00:00Z to 9999-12-31"),
        ("9999-12-31T23:00:00-01:00", "out of range in UTC; expected a time from 0001-01-01T00:00:00Z to 9999-12-31"),
    ],
)
def test_a_time_that_is_not_utc_iso_8601_says_what_is_expected(text: str, message: str) -> None:
    with pytest.raises(WindowError, match=message):
        parse_time(text)


@pytest.mark.parametrize(
    "text",
    ["yesterday", "2026-13-01", "20261125", "2026-W48-3", "2026-11-25T10:00", "2026-11-25T10:00:00.5", "20261125T1000"],
)
def test_every_form_an_error_suggests_is_one_the_parser_accepts(text: str) -> None:
    # given a time the parser refuses
    with pytest.raises(WindowError) as refused:
        parse_time(text)
    # then each form its message suggests ("e.g. X", "or X") parses, and a time without a zone keeps its moment
    suggested = re.findall(r"\b(?:e\.g\.|or) (\S+)", str(refused.value))
    assert suggested, str(refused.value)
    parsed = [parse_time(form) for form in suggested]
    if "no time zone" in str(refused.value):
        assert parsed[0].replace(tzinfo=None) == datetime.fromisoformat(text)


def test_the_first_and_last_moments_in_range_parse() -> None:
    assert parse_time("0001-01-01").year == 1
    assert parse_time("9999-12-31T23:59:59.999999Z").year == 9999


def test_the_window_includes_its_start_and_excludes_its_end() -> None:
    window = TimeWindow(T0, T0 + timedelta(hours=1))
    assert window.contains(T0)
    assert window.contains(T0 + timedelta(minutes=59, seconds=59))
    assert not window.contains(T0 + timedelta(hours=1))
    assert not window.contains(T0 - timedelta(seconds=1))
    assert not window.contains(None)  # a deletion without a time cannot be placed in a bounded window
    assert TimeWindow().contains(None)


def test_an_empty_window_is_refused_naming_both_ends() -> None:
    with pytest.raises(WindowError, match="2026-11-25T10:00:00Z is not before --deleted-before 2026-11-25T10:00:00Z"):
        TimeWindow(T0, T0)


def test_the_deletion_time_is_read_from_the_version_name() -> None:
    assert version_time(version_at(T0)) == T0
    assert version_time(version_at(None)) is None
    with pytest.raises(ValueError, match="not an archive version"):
        version_time("20261125T100000Z-1-x")


# -- object keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "object_key",
    [
        f"{FOLDER}_dead-letters/{version_at(T0)}.json",
        f"{FOLDER}_dead-letters/{ENCODED}/{version_at(T0)}.json",
        f"{FOLDER}_dead-letters/2026/11/25/letter.json",
        f"{FOLDER}_dead-letters/2026-11-25/{'0' * 64}.json",
        f"{FOLDER}_dead-letters",
        f"{FOLDER}{ENCODED}/notes.txt",
        f"{FOLDER}{ENCODED}/not-a-version.json",
        f"{FOLDER}{ENCODED}/{version_at(T0)}.json/extra",
        f"{FOLDER}PK(S)not!canonical!ZZ/{version_at(T0)}.json",
        f"archive/other/{ENCODED}/{version_at(T0)}.json",
    ],
)
def test_dead_letters_and_strays_are_not_archive_versions(object_key: str) -> None:
    assert read_object_key(object_key, FOLDER) is None


def test_an_archive_object_key_gives_key_version_and_time() -> None:
    name = read_object_key(f"{FOLDER}{ENCODED}/{version_at(T0)}.json", FOLDER)
    assert name == ArchiveName(f"{FOLDER}{ENCODED}/{version_at(T0)}.json", ENCODED, ORDER, version_at(T0), T0)
    digest = "sha256-" + "a" * 64
    found = read_object_key(f"{FOLDER}{digest}/{version_at(T0)}.json", FOLDER)
    assert found is not None and found.key is None and found.encoded_key == digest


# -- which version ---------------------------------------------------------------------------------

_moments = st.one_of(
    st.none(), st.integers(min_value=0, max_value=40).map(lambda minutes: T0 + timedelta(minutes=minutes))
)


@st.composite
def _histories(draw: st.DrawFn) -> list[ArchiveName]:
    """One key's versions: deletion times in any order; sequence numbers rise with time, as in a stream."""
    moments = draw(st.lists(_moments, max_size=6))
    ordered = sorted(moments, key=lambda m: (m is not None, m or T0))
    return [name_at(moment, sequence) for sequence, moment in enumerate(ordered, start=1)]


_windows = st.builds(
    lambda a, b: TimeWindow(*sorted((a, b))) if a != b else TimeWindow(a, None),
    st.integers(min_value=0, max_value=40).map(lambda m: T0 + timedelta(minutes=m)),
    st.integers(min_value=0, max_value=40).map(lambda m: T0 + timedelta(minutes=m)),
) | st.builds(TimeWindow)


@given(_histories(), _windows)
def test_the_chosen_version_is_the_newest_in_the_window(names: list[ArchiveName], window: TimeWindow) -> None:
    choice = choose_version(names, window)
    in_window = [n for n in names if window.contains(n.deleted_at)]
    if isinstance(choice, Chosen):
        assert window.contains(choice.name.deleted_at)
        assert choice.name.version == max(n.version for n in in_window)
    else:
        assert not in_window or choice.reason == DELETED_AGAIN


@given(_histories(), _windows)
def test_a_key_whose_newest_version_is_after_the_window_is_never_restored(
    names: list[ArchiveName], window: TimeWindow
) -> None:
    newest = max(names, key=lambda n: n.version, default=None)
    if newest is not None and window.is_after(newest.deleted_at):
        assert choose_version(names, window) == Skip(DELETED_AGAIN, newest)


def test_a_key_deleted_twice_in_the_window_gets_its_later_deletion_back() -> None:
    names = [name_at(T0 + timedelta(minutes=5), 1), name_at(T0 + timedelta(minutes=10), 2)]
    assert choose_version(names, TimeWindow(T0, T0 + timedelta(hours=1))) == Chosen(names[1])


def test_nothing_in_the_window_and_nothing_archived_are_reasons_too() -> None:
    before = name_at(T0 - timedelta(minutes=5))
    assert choose_version([before], TimeWindow(T0, None)) == Skip(NOTHING_IN_WINDOW, before)
    assert choose_version([], TimeWindow()) == Skip(NOTHING_ARCHIVED)


def test_the_unbounded_window_restores_the_newest_version_even_without_a_time() -> None:
    undated = name_at(None)
    assert choose_version([undated], TimeWindow()) == Chosen(undated)


@given(st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), _moments), max_size=12), _windows)
def test_the_plan_holds_each_key_with_a_deletion_in_the_window_once_with_all_its_versions(
    drawn: list[tuple[str, datetime | None]], window: TimeWindow
) -> None:
    names = [name_at(moment, sequence, encode_key({"PK": {"S": pk}})) for sequence, (pk, moment) in enumerate(drawn, 1)]
    plans = plan_window(names, window)
    expected = {n.encoded_key for n in names if window.contains(n.deleted_at)}
    assert [p.encoded_key for p in plans] == sorted(expected)
    for plan in plans:
        assert plan.names == tuple(
            sorted((n for n in names if n.encoded_key == plan.encoded_key), key=lambda n: n.version)
        )


# -- what goes back ---------------------------------------------------------------------------------


def _body(**changes: object) -> bytes:
    body: dict[str, object] = {
        "key": ORDER,
        "deletion": {"kind": "user", "evidence": "none"},
        "imageMissing": False,
        "image": {**ORDER, "total": {"N": "12345678901234567890123456789012345678"}, "raw": {"B": "AP8="}},
        "droppedAttributes": [],
    }
    return json.dumps(body | changes).encode()


def test_the_image_goes_back_with_numbers_as_their_exact_text() -> None:
    image = image_to_restore(_body(), ENCODED)
    assert isinstance(image, ArchivedImage)
    assert image.item["total"] == {"N": "12345678901234567890123456789012345678"}
    assert image.key == ORDER and image.kind == "user" and image.missing == ()


def test_dropped_attributes_are_restored_without_them_and_named() -> None:
    image = image_to_restore(_body(droppedAttributes=["card_number"]), ENCODED)
    assert isinstance(image, ArchivedImage) and image.missing == ("card_number",)


def test_an_archive_without_image_or_of_another_kind_is_skipped_with_its_reason() -> None:
    assert image_to_restore(_body(imageMissing=True, image=None), ENCODED) == Skip(NO_IMAGE)
    assert image_to_restore(_body(deletion={"kind": "ttl"}), ENCODED, DeletionKind.USER) == Skip(
        "deleted by ttl, not user"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not JSON"),
        (b"[1]", "a JSON list, not an object"),
        (b"\xff\xfe", "not JSON"),
        (json.dumps({"image": {}}).encode(), "key is unusable"),
        (json.dumps({"key": {"PK": {"S": "other"}}}).encode(), "not the"),
    ],
)
def test_a_body_that_is_not_an_archive_is_an_error_saying_why(body: bytes, message: str) -> None:
    with pytest.raises(ArchiveBodyError, match=message):
        image_to_restore(body, ENCODED)


# -- --keys lines -------------------------------------------------------------------------------------

TYPES = {"PK": "S", "SK": "S"}


def _listing_line(object_key: str, table: str = "orders") -> str:
    return json.dumps({"table": table, "key": None, "version": "v", "deletedAt": None, "objectKey": object_key})


def test_a_line_is_a_key_in_either_key_form_or_a_listing_line() -> None:
    digest = "sha256-" + "b" * 64
    assert key_from_line(json.dumps(ORDER), 1, None, "orders", FOLDER) == ENCODED
    assert key_from_line('{"PK": "USER#1", "SK": "ORDER#7"}', 1, TYPES, "orders", FOLDER) == ENCODED
    listing = _listing_line(f"{FOLDER}{ENCODED}/{version_at(T0)}.json")
    assert key_from_line(listing, 1, TYPES, "orders", FOLDER) == ENCODED
    assert key_from_line(_listing_line(f"{FOLDER}{digest}/{version_at(T0)}.json"), 1, None, "orders", FOLDER) == digest


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "--keys line 3 is not JSON"),
        ('{"PK": "USER#1"}', "--keys line 3 names PK; this table's key is PK \\(S\\), SK \\(S\\)"),
        (
            '{"PK": 1.5, "SK": "x"}',
            "--keys line 3 attribute 'PK' is 1.5; an S value is given as a JSON string",
        ),
        (
            _listing_line(f"archive/sessions/{ENCODED}/v.json", "sessions"),
            'listing of table "sessions", not of "orders"',
        ),
        (_listing_line(f"{FOLDER}_dead-letters/x.json"), "not an archive version under archive/orders/"),
        ("[" * 100_000 + "]" * 100_000, "--keys line 3 is JSON nested too deep to read \\(200,000 characters\\)"),
        (
            '{"PK": {"X": "1"}, "SK": "x"}',
            "--keys line 3 attribute 'PK' has type tag \"X\"; a key attribute's type is S, N or B",
        ),
        (_listing_line(f"{FOLDER}compact/dt=2026-11-25/hh=10/b.jsonl.gz"), "not an archive version"),  # no key
        (
            json.dumps(
                {"table": "orders", "key": {"PK": {"X": "1"}}, "version": "v", "objectKey": f"{FOLDER}compact/b"}
            ),
            "--keys line 3: its key is not a key",
        ),
    ],
)
def test_a_bad_line_is_named_by_its_number(line: str, message: str) -> None:
    with pytest.raises(KeyArgumentError, match=message):
        keys_from_lines(["", json.dumps(ORDER), line], TYPES, "orders", FOLDER)


@pytest.mark.parametrize("number", ["1.000000000000000000001", "12345678901234567890123"])
def test_a_plain_number_in_a_line_reaches_the_key_exactly_not_as_a_float(number: str) -> None:
    # a JSON number parsed as a float keeps 17 digits: 1.000000000000000000001 would be the key 1
    line = f'{{"PK": "USER#1", "SK": {number}}}'
    assert key_from_line(line, 1, {"PK": "S", "SK": "N"}, "orders", FOLDER) == f"PK(S)USER!231*SK(N){number}"


def test_a_listing_line_of_a_compact_table_names_its_own_key_not_the_object_s() -> None:
    line = json.dumps(
        {"table": "orders", "key": ORDER, "version": version_at(T0), "objectKey": f"{FOLDER}compact/dt=2026-11-25/"
         "hh=10/batch.jsonl.gz"}
    )  # fmt: skip

    assert key_from_line(line, 1, None, "orders", FOLDER) == ENCODED


def test_each_key_is_restored_once_however_often_the_lines_name_it() -> None:
    other = {"PK": {"S": "USER#2"}, "SK": {"S": "ORDER#1"}}
    lines = [json.dumps(ORDER), "", _listing_line(f"{FOLDER}{ENCODED}/{version_at(T0)}.json"), json.dumps(other)]
    assert keys_from_lines(lines, None, "orders", FOLDER) == [ENCODED, encode_key(other)]


# -- outcomes -------------------------------------------------------------------------------------------


def test_the_summary_counts_each_outcome_and_each_skip_reason() -> None:
    outcomes = [
        KeyOutcome("a", KeyStatus.RESTORED),
        KeyOutcome("b", KeyStatus.RESTORED, missing=("card",)),
        KeyOutcome("c", KeyStatus.PRESENT),
        KeyOutcome("d", KeyStatus.SKIPPED, reason=DELETED_AGAIN),
        KeyOutcome("e", KeyStatus.SKIPPED, reason=DELETED_AGAIN),
        KeyOutcome("f", KeyStatus.SKIPPED, reason=NO_IMAGE),
        KeyOutcome("g", KeyStatus.FAILED, reason="boom"),
        KeyOutcome("h", KeyStatus.NOT_ATTEMPTED),
    ]
    assert summary_rows(outcomes) == [
        ("restored", 2),
        ("present (live item kept)", 1),
        ("  of the restored: without dropped attributes", 1),
        ("skipped", 3),
        (f"  {NO_IMAGE}", 1),
        (f"  {DELETED_AGAIN}", 2),
        ("failed", 1),
        ("not attempted (stopped)", 1),
    ]
    assert summary_rows([KeyOutcome("a", KeyStatus.WOULD_RESTORE)])[0] == ("would restore", 1)
    assert summary_rows([KeyOutcome("a", KeyStatus.FAILED)], dry_run=True)[0] == ("would restore", 0)


def test_a_report_line_leaves_out_what_it_does_not_know() -> None:
    assert KeyOutcome("a", KeyStatus.PRESENT).report_line() == {"encodedKey": "a", "outcome": "present"}
    line = KeyOutcome("a", KeyStatus.RESTORED, ORDER, "v", "k", missing=("card",)).report_line()
    assert line == {
        "encodedKey": "a",
        "outcome": "restored",
        "key": ORDER,
        "version": "v",
        "objectKey": "k",
        "missingAttributes": ["card"],
    }

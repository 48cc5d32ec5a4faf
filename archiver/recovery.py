"""Recovery decisions: which archived version of a key goes back, and what a request to restore means.

Everything here is decided without I/O, so that the rules an operator relies on during an
incident are properties tested on their own (``tests/unit/test_recovery*.py``):

- A time window is ``after <= deleted-at < before``, read from the version name (no GET).
- Per key, the newest archived version whose deletion time is in the window is the one restored;
  a key whose newest version overall is after the window was deleted again later and is skipped,
  because restoring it would bring back data that was deliberately removed since.
- The key space of a table folder is cut into disjoint slices (:func:`split_slice`) so that a
  table of millions of objects is listed in parallel, never twice, never with a gap.
- A line of ``--keys`` (a ``--key`` form or a ``list --json`` line) becomes one encoded key.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from archiver.keys import InvalidKeyError, canonical_key, decode_key, encode_key, is_digest

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from archiver.policy import DeletionKind

__all__ = [
    "DELETED_AGAIN",
    "KEY_ALPHABET",
    "NOTHING_ARCHIVED",
    "NOTHING_IN_WINDOW",
    "NO_IMAGE",
    "ArchiveBodyError",
    "ArchiveName",
    "ArchivedImage",
    "Chosen",
    "KeyArgumentError",
    "KeyOutcome",
    "KeyPlan",
    "ListingSlice",
    "Outcome",
    "RecoveryError",
    "Skip",
    "TimeWindow",
    "WindowError",
    "choose_version",
    "continue_slice",
    "image_to_restore",
    "iso",
    "key_from_line",
    "keys_from_lines",
    "parse_key_argument",
    "parse_time",
    "plan_window",
    "read_archive_body",
    "read_object_key",
    "split_slice",
    "summarise",
    "version_time",
]

DELETED_AGAIN = "deleted again after the window"
NO_IMAGE = "archived without an image (the stream carried no old image)"
NOTHING_IN_WINDOW = "no deletion in the window"
NOTHING_ARCHIVED = "nothing archived"

_VERSION = re.compile(r"(?P<stamp>\d{8}T\d{6}Z)-\d{40}-[0-9a-f]{16}")
_NO_TIME = "00000000T000000Z"
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_KEY_TYPES = ("S", "N", "B")


class RecoveryError(ValueError):
    """What an operator asked for cannot be done as asked; the message names the input and the fix."""


class KeyArgumentError(RecoveryError):
    """A --key (or a --keys line) that is not a key of the table; the message shows what is accepted."""


class WindowError(RecoveryError):
    """A time window that is empty or not a time."""


class ArchiveBodyError(ValueError):
    """An archive object whose body is not what the archiver writes (not JSON, no key, another key)."""


# -- time ---------------------------------------------------------------------------------------


def parse_time(text: str) -> datetime:
    """An ISO 8601 time in UTC -> an aware datetime; a date alone is midnight UTC.

    Accepted: ``2026-11-25``, ``2026-11-25T10:00Z``, ``2026-11-25T10:00:00Z``, fractions of a
    second, and an explicit offset (``+00:00``; another offset is converted to UTC). A time without
    a zone is refused rather than guessed: on the day it matters, local time is the likeliest slip.

    Raises:
        WindowError: not an ISO 8601 date or time, or a time without a zone.
    """
    shown = text.strip()
    try:
        moment = datetime.fromisoformat(shown)
    except ValueError:
        raise WindowError(
            f"{text!r} is not an ISO 8601 time; expected e.g. 2026-11-25T10:00:00Z or 2026-11-25 (midnight UTC)"
        ) from None
    if moment.tzinfo is None:
        if _DATE_ONLY.fullmatch(shown) is None:
            raise WindowError(f"{text!r} has no time zone; add Z for UTC, e.g. {shown}Z")
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso(moment: datetime | None) -> str:
    """``2026-11-25T10:00:00Z`` (whole seconds keep no fraction); ``""`` for no time."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def version_time(version: str) -> datetime | None:
    """The deletion time a version name starts with; None where the record carried no time.

    Raises:
        ValueError: ``version`` is not a version name (``<YYYYMMDDTHHMMSSZ>-<40 digits>-<16 hex>``).
    """
    match = _VERSION.fullmatch(version)
    if match is None:
        raise ValueError(f"{version!r} is not an archive version (<YYYYMMDDTHHMMSSZ>-<40 digits>-<16 hex>)")
    stamp = match["stamp"]
    if stamp == _NO_TIME:
        return None
    return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Deletions with ``after <= deleted-at < before``; an open end is None.

    The unbounded window (both None) holds every version, including those whose record carried no
    time; a bounded one holds only versions with a time, since nothing else can be placed in it.
    """

    after: datetime | None = None
    before: datetime | None = None

    def __post_init__(self) -> None:
        if self.after is not None and self.before is not None and self.after >= self.before:
            raise WindowError(
                f"--deleted-after {iso(self.after)} is not before --deleted-before {iso(self.before)}: "
                "the window after <= deleted-at < before holds nothing"
            )

    @property
    def bounded(self) -> bool:
        return self.after is not None or self.before is not None

    def contains(self, moment: datetime | None) -> bool:
        if moment is None:
            return not self.bounded
        return (self.after is None or self.after <= moment) and (self.before is None or moment < self.before)

    def is_after(self, moment: datetime | None) -> bool:
        """Whether ``moment`` is at or past the window's end."""
        return moment is not None and self.before is not None and moment >= self.before

    def describe(self) -> str:
        """The window in words, for a person: "at or after X and before Y"."""
        parts = [f"at or after {iso(self.after)}"] if self.after else []
        parts += [f"before {iso(self.before)}"] if self.before else []
        return " and ".join(parts) or "at any time"


# -- object keys --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArchiveName:
    """What an archive object's key says: which key, which version, deleted when (no body read)."""

    object_key: str
    encoded_key: str
    key: Mapping[str, Mapping[str, str]] | None  # None for a digest-form key: only the body has it
    version: str
    deleted_at: datetime | None


def read_object_key(object_key: str, folder: str) -> ArchiveName | None:
    """The archive version ``object_key`` names under the table ``folder``; None for anything else.

    Anything else includes the dead letters a table keeps under ``<folder>_dead-letters/`` (no
    encoded key has no ``(`` and is not a digest), stray files and half-written names: a listing
    or a restore skips them rather than guessing.
    """
    if not object_key.startswith(folder) or not object_key.endswith(".json"):
        return None
    encoded, _, file_name = object_key[len(folder) :].partition("/")
    if not encoded or not file_name or "/" in file_name:
        return None
    version = file_name.removesuffix(".json")
    try:
        deleted_at = version_time(version)
        key = decode_key(encoded)
    except ValueError:
        return None
    return ArchiveName(object_key, encoded, key, version, deleted_at)


#: Every character of an object key the archiver writes below a table folder: S3's safe
#: characters (``0-9 a-z A-Z ! - _ . * ' ( )``) and ``/``, in ascending order.
KEY_ALPHABET = "".join(sorted("!'()*-./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"))
#: Sorts after every character of KEY_ALPHABET: ``<shared>~`` is past every key that starts with
#: ``<shared>`` and continues in the alphabet.
_PAST = "~"


@dataclass(frozen=True, slots=True)
class ListingSlice:
    """The keys under ``prefix`` that sort after ``start_after`` (where not "") and before ``end_before``
    (where given; the store cannot stop there, so the reader drops what is past it)."""

    prefix: str
    start_after: str = ""
    end_before: str | None = None


def continue_slice(piece: ListingSlice, page: Sequence[str]) -> ListingSlice:
    """The rest of ``piece`` after its full page ``page``, as one slice (read on sequentially)."""
    return ListingSlice(piece.prefix, page[-1], piece.end_before)


#: How many characters above the page's common prefix a split also branches at: the rest of a
#: big slice is then read in parallel at once (UUIDs: the page covers part of the 0... keys, and
#: 1... to f... are siblings one level up) instead of page after page.
_LEVELS_ABOVE = 2


def split_slice(piece: ListingSlice, page: Sequence[str], folder: str) -> list[ListingSlice]:
    """Disjoint slices that together hold every key of ``piece`` after ``page``, its full first page.

    ``shared`` is the prefix common to the whole page, and ``page[-1]`` continues it with the
    character ``at``. Every key of ``piece`` after ``page[-1]`` starts with ``shared`` and
    continues with a character from ``at`` on, or branches off one of the last characters of
    ``shared`` to a greater one, or sorts after all of that. At each of these positions, the
    characters the page's keys use (digits for ``USER#<n>``, hex for UUIDs) each get a slice of
    their own, a prefix, and a run of characters they do not use gets one range slice, so that the
    guess costs one request where it is wrong rather than one per character; what is past the
    last position is one range, the rest of ``piece``. A prefix slice ends where the range after
    it starts (``<prefix>~``, past every character of the alphabet).

    The slices are disjoint (distinct prefixes, and ranges between and past them), so nothing is
    listed twice, and together they hold every key written in :data:`KEY_ALPHABET`, so no archive
    object is missed; a key with another character at a split point (never an archive object) may
    or may not be seen. Each slice holds fewer keys than ``piece``, so splitting ends.

    The common prefix is what makes this fast for real keys: where every key starts with
    ``PK(S)USER!23``, the split happens after it, at the first character that varies.

    Slices that cannot hold an archive version (a ``/`` right after something that is no encoded
    key, such as ``_dead-letters/``) are dropped.
    """
    first, last = page[0], page[-1]
    shared = _shared_prefix(first, last)
    at = last[len(shared)] if len(last) > len(shared) else ""
    end = piece.end_before
    slices = [ListingSlice(shared + at, last, _earlier(shared + at + _PAST, end))] if at in KEY_ALPHABET and at else []
    lowest = max(len(piece.prefix), len(shared) - _LEVELS_ABOVE)
    rest = last
    for position in range(len(shared), lowest - 1, -1):
        base = shared[:position]
        lower = at if position == len(shared) else shared[position]
        used = _used_characters(page, position)
        previous, unused_run = lower, False
        for c in KEY_ALPHABET:
            if c <= lower:
                continue
            if c not in used:
                unused_run = True
                continue
            if unused_run:  # the characters between previous and c: one range
                slices.append(ListingSlice(base, _after(base, previous, last), _earlier(base + c, end)))
                unused_run = False
            slices.append(ListingSlice(base + c, "", _earlier(base + c + _PAST, end)))
            previous = c
        rest = _after(base, previous, last)
        if position > lowest and previous < KEY_ALPHABET[-1]:  # the run after the last used character
            slices.append(ListingSlice(base, rest, _earlier(base + _PAST, end)))
    slices = [
        s
        for s in slices
        if _may_hold_versions(s.prefix[len(folder) :])
        and (s.end_before is None or s.end_before > s.start_after)
        and (end is None or s.prefix < end)
    ]
    slices.append(ListingSlice(piece.prefix, rest, end))
    return slices


def _after(shared: str, previous: str, last: str) -> str:
    """Past every key that starts with ``shared + previous`` (and past ``last``, the page's end)."""
    return max(last, shared + previous + _PAST) if previous else last


def _earlier(bound: str, end: str | None) -> str:
    return bound if end is None else min(bound, end)


def _used_characters(page: Sequence[str], position: int) -> set[str]:
    """The characters the page's keys use from ``position`` to the end of that part of the key
    (up to ``/``: the encoded key's characters differ from a version's)."""
    used: set[str] = set()
    for key in page:
        part = key[position:]
        used.update(part[: part.index("/")] if "/" in part else part)
    return used | {"*", "/"}


def _shared_prefix(first: str, last: str) -> str:
    length = 0
    for a, b in zip(first, last, strict=False):
        if a != b:
            break
        length += 1
    return first[:length]


def _may_hold_versions(relative: str) -> bool:
    """Whether keys ``<folder><relative>...`` can be archive versions (``<encoded key>/<version>.json``)."""
    if "/" not in relative:
        return True
    encoded, _, rest = relative.partition("/")
    if "/" in rest:
        return False
    return "(" in encoded or is_digest(encoded)


# -- which version --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Chosen:
    """The version to put back."""

    name: ArchiveName


@dataclass(frozen=True, slots=True)
class Skip:
    """Nothing is put back for this key, for ``reason``; ``name`` is the version it concerns, if any."""

    reason: str
    name: ArchiveName | None = None


def choose_version(names: Sequence[ArchiveName], window: TimeWindow) -> Chosen | Skip:
    """The newest version of one key deleted in ``window``, unless the key was deleted again after it.

    ``names`` are every archived version of the key (any order). Versions sort in deletion order,
    so the newest overall is the largest; if it is past the window, the key came back after the
    window and was deleted again, and putting the in-window version back would resurrect stale data.
    """
    if not names:
        return Skip(NOTHING_ARCHIVED)
    newest = max(names, key=lambda n: n.version)
    if window.is_after(newest.deleted_at):
        return Skip(DELETED_AGAIN, newest)
    in_window = [n for n in names if window.contains(n.deleted_at)]
    if not in_window:
        return Skip(NOTHING_IN_WINDOW, newest)
    return Chosen(max(in_window, key=lambda n: n.version))


@dataclass(frozen=True, slots=True)
class KeyPlan:
    """One key to restore: its encoded key, and its versions where a listing found them already."""

    encoded_key: str
    names: tuple[ArchiveName, ...] | None = None


def plan_window(names: Iterable[ArchiveName], window: TimeWindow) -> list[KeyPlan]:
    """From a whole table's versions, the keys with a deletion in ``window``, each with all its versions."""
    by_key: dict[str, list[ArchiveName]] = {}
    for name in names:
        by_key.setdefault(name.encoded_key, []).append(name)
    return [
        KeyPlan(encoded, tuple(sorted(versions, key=lambda n: n.version)))
        for encoded, versions in sorted(by_key.items())
        if any(window.contains(n.deleted_at) for n in versions)
    ]


# -- what goes back ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArchivedImage:
    """An archived item ready to put back: wire DynamoDB JSON (binaries as base64, numbers as text)."""

    key: Mapping[str, Mapping[str, str]]
    item: Mapping[str, Any]
    kind: str
    missing: tuple[str, ...]  # attributes the table's policy dropped when archiving


def read_archive_body(body: bytes) -> dict[str, Any]:
    """An archive object's body as a JSON object.

    Raises:
        ArchiveBodyError: it is not JSON, or not an object (written by hand, truncated, not ours).
    """
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArchiveBodyError(f"not JSON ({error})") from None
    if not isinstance(document, dict):
        raise ArchiveBodyError(f"a JSON {type(document).__name__}, not an object")
    return document


def image_to_restore(body: bytes, encoded_key: str, kind: DeletionKind | None = None) -> ArchivedImage | Skip:
    """The item an archived body puts back, or why it puts back nothing.

    Skipped: the archive has no image (``imageMissing``), or ``kind`` is given and this deletion
    is of another kind. An image whose policy dropped attributes is restored, naming them.

    Raises:
        ArchiveBodyError: the body is not JSON, has no key, or its key is not the one its folder names.
    """
    try:
        document = read_archive_body(body)
    except ArchiveBodyError as error:
        raise ArchiveBodyError(f"the body is {error}") from None
    try:
        key = canonical_key(document.get("key"))  # type: ignore[arg-type]
        found = encode_key(key)
    except InvalidKeyError as error:
        raise ArchiveBodyError(f"the body's key is unusable: {error}") from None
    if found != encoded_key:
        raise ArchiveBodyError(f"the body holds key {found!r}, not the {encoded_key!r} its folder names")
    deletion = document.get("deletion")
    found_kind = str(deletion.get("kind") or "") if isinstance(deletion, dict) else ""
    if kind is not None and found_kind != kind:
        return Skip(f"deleted by {found_kind or 'an unknown kind'}, not {kind}")
    image = document.get("image")
    if document.get("imageMissing") or not isinstance(image, dict):
        return Skip(NO_IMAGE)
    item = {**document["key"], **image}  # the image holds the key; a hand-made one may not
    dropped = document.get("droppedAttributes")
    missing = tuple(str(name) for name in dropped) if isinstance(dropped, list) else ()
    return ArchivedImage(key, item, found_kind, missing)


# -- outcomes -----------------------------------------------------------------------------------------


class Outcome(StrEnum):
    """What happened to one key."""

    RESTORED = "restored"
    WOULD_RESTORE = "would restore"  # --dry-run
    PRESENT = "present"  # a live item has the key: never overwritten
    SKIPPED = "skipped"
    FAILED = "failed"
    NOT_ATTEMPTED = "not attempted"  # stopped (Ctrl-C) before this key


@dataclass(frozen=True, slots=True)
class KeyOutcome:
    """One key's outcome, as the summary counts it and the report writes it."""

    encoded_key: str
    outcome: Outcome
    key: Mapping[str, Mapping[str, str]] | None = None
    version: str | None = None
    object_key: str | None = None
    reason: str | None = None
    missing: tuple[str, ...] = ()

    def report_line(self) -> dict[str, Any]:
        """The report's JSON line: fields that say nothing are left out."""
        line: dict[str, Any] = {"encodedKey": self.encoded_key, "outcome": self.outcome.value}
        optional = {
            "key": self.key,
            "version": self.version,
            "objectKey": self.object_key,
            "reason": self.reason,
            "missingAttributes": list(self.missing) or None,
        }
        return line | {name: value for name, value in optional.items() if value is not None}


def summarise(outcomes: Iterable[KeyOutcome]) -> list[tuple[str, int]]:
    """Rows (label, count): restored or would restore, present, skipped per reason, failed, not attempted.

    The first three are always there (at zero too), so a summary always reads the same; the rest
    appear where something happened.
    """
    counts: Counter[Outcome] = Counter()
    reasons: Counter[str] = Counter()
    incomplete = 0
    dry_run = False
    for outcome in outcomes:
        counts[outcome.outcome] += 1
        dry_run = dry_run or outcome.outcome is Outcome.WOULD_RESTORE
        if outcome.outcome is Outcome.SKIPPED:
            reasons[outcome.reason or "?"] += 1
        if outcome.missing and outcome.outcome in (Outcome.RESTORED, Outcome.WOULD_RESTORE):
            incomplete += 1
    put = Outcome.WOULD_RESTORE if dry_run else Outcome.RESTORED
    rows = [(put.value, counts[put]), ("present (live item kept)", counts[Outcome.PRESENT])]
    if incomplete:
        rows.append((f"  of the {put.value}: without dropped attributes", incomplete))
    rows.append(("skipped", counts[Outcome.SKIPPED]))
    rows += [(f"  {reason}", n) for reason, n in sorted(reasons.items())]
    rows.append(("failed", counts[Outcome.FAILED]))
    if counts[Outcome.NOT_ATTEMPTED]:
        rows.append(("not attempted (stopped)", counts[Outcome.NOT_ATTEMPTED]))
    return rows


# -- keys given by the operator -------------------------------------------------------------------


def _typed(what: str, name: str, value: object, kind: str) -> dict[str, str]:
    if value is None or isinstance(value, bool | dict | list):
        raise KeyArgumentError(f"{what} attribute {name!r} is {value!r}; expected a plain {kind} value")
    if kind == "N" and isinstance(value, str | Decimal | float):  # float: only NaN and Infinity (_json)
        return {"N": str(value)}
    if isinstance(value, str):
        return {kind: value}  # B: base64 text, as DynamoDB JSON writes it
    raise KeyArgumentError(f"{what} attribute {name!r} is {value!r}; a {kind} value is given as a JSON string")


def _json(text: str) -> Any:
    """JSON with exact numbers: parsed as floats, they keep 17 digits where a DynamoDB number has 38."""
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


def _key_of(given: object, types: Mapping[str, str] | None, what: str) -> dict[str, dict[str, str]]:
    if not isinstance(given, dict) or not given:
        raise KeyArgumentError(f"{what} is {given!r}; expected a JSON object of key attributes")
    expected = dict(types or {})
    if expected and set(given) != set(expected):
        wanted = ", ".join(f"{name} ({kind})" for name, kind in expected.items())
        raise KeyArgumentError(f"{what} names {', '.join(sorted(given))}; this table's key is {wanted}")
    key: dict[str, Any] = {}
    for name, value in given.items():
        if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _KEY_TYPES:
            key[name] = value
        elif name in expected:
            key[name] = _typed(what, name, value, expected[name])
        else:
            raise KeyArgumentError(
                f"{what} attribute {name!r} is {value!r}: without a key_schema for the table, give DynamoDB "
                f'JSON such as {{"{name}": {{"S": "..."}}}}'
            )
    try:
        return canonical_key(key)
    except InvalidKeyError as error:
        raise KeyArgumentError(f"{what}: {error}") from None


def parse_key_argument(text: str, types: Mapping[str, str] | None, what: str = "--key") -> dict[str, dict[str, str]]:
    """``--key`` JSON -> a canonical key: DynamoDB JSON, or plain values typed by ``types``.

    ``types`` maps the table's key attribute names to S, N or B where its key schema is known:
    ``{"PK": {"S": "USER#123"}}`` is always accepted, ``{"PK": "USER#123"}`` only then.

    Raises:
        KeyArgumentError: not JSON, not an object, or not this table's key attributes.
    """
    try:
        given = _json(text)
    except json.JSONDecodeError as error:
        raise KeyArgumentError(
            f"{what} is not JSON ({error.msg} at character {error.pos}); expected e.g. "
            '\'{"PK": {"S": "USER#123"}}\' or, with a configured key_schema, \'{"PK": "USER#123"}\''
        ) from None
    return _key_of(given, types, what)


def _is_listing_line(given: object) -> bool:
    return isinstance(given, dict) and "objectKey" in given and "version" in given and "key" in given


def key_from_line(line: str, number: int, types: Mapping[str, str] | None, table: str, folder: str) -> str:
    """One ``--keys`` line -> the encoded key it names.

    A line is a ``--key`` form (DynamoDB JSON, or plain values where ``types`` is known) or a line
    of ``archiver list --json`` (``table``, ``key``, ``version``, ``objectKey`` ...), whose object
    key is read, so digest-form keys, whose key only the body holds, work too. The version of a
    listing line is not pinned: which version goes back is the restore's decision (the window).

    Raises:
        KeyArgumentError: the line names no key of ``table`` (the message gives the line number).
    """
    what = f"--keys line {number}"
    try:
        given = _json(line)
    except json.JSONDecodeError as error:
        raise KeyArgumentError(
            f"{what} is not JSON ({error.msg} at character {error.pos}); expected a key such as "
            '{"PK": {"S": "USER#123"}} or a line of `archiver list --json`'
        ) from None
    if not _is_listing_line(given):
        return encode_key(_key_of(given, types, what))
    if given.get("table") != table:
        raise KeyArgumentError(f"{what} is a listing of table {given.get('table')!r}, not of {table!r}")
    name = read_object_key(str(given["objectKey"]), folder)
    if name is None:
        raise KeyArgumentError(f"{what}: objectKey {given['objectKey']!r} is not an archive version under {folder}")
    return name.encoded_key


def keys_from_lines(lines: Iterable[str], types: Mapping[str, str] | None, table: str, folder: str) -> list[str]:
    """Every key the lines name, once each, in the order first named; blank lines are ignored.

    A ``list --json`` of a window has one line per version, so one key may appear many times.
    """
    seen: dict[str, None] = {}
    for number, line in enumerate(lines, start=1):
        if line.strip():
            seen.setdefault(key_from_line(line, number, types, table, folder), None)
    return list(seen)

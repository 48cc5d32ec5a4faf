"""Restore planning: which archived version of a key goes back, what it puts back, and how it ended.

Decided without I/O, so the rules an operator relies on during an incident are tested on their own:

- Per key, the newest archived version whose deletion time is in the window is the one restored;
  a key whose newest version overall is after the window was deleted again later and is skipped,
  because restoring it would bring back data that was deliberately removed since.
- An archived body puts back its image, never one whose key differs from the folder it is in.
- An image goes only to a table keyed by the same attributes, of the same types, and only if the
  table can hold it (400 KB): both are checked before any write, in a dry run too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from archiver.archive import ArchiveBodyError, read_archive_body
from archiver.item_size import MAX_ITEM_BYTES, item_size
from archiver.keys import InvalidKeyError, canonical_key, encode_key

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from archiver.listing import ArchiveName
    from archiver.policy import DeletionKind
    from archiver.windows import TimeWindow

__all__ = [
    "DELETED_AGAIN",
    "NOTHING_ARCHIVED",
    "NOTHING_IN_WINDOW",
    "NO_IMAGE",
    "PINNED_NOT_ARCHIVED",
    "PINNED_OUTSIDE_WINDOW",
    "ArchivedImage",
    "Chosen",
    "KeyOutcome",
    "KeyPlan",
    "KeyStatus",
    "Skip",
    "choose_version",
    "image_to_restore",
    "key_mismatch",
    "key_types_of",
    "plan_window",
    "refusal",
    "summary_rows",
]

DELETED_AGAIN = "deleted again after the window"
NO_IMAGE = "archived without an image (the stream carried no old image)"
NOTHING_IN_WINDOW = "no deletion in the window"
NOTHING_ARCHIVED = "nothing archived"
PINNED_NOT_ARCHIVED = "the version named is not archived"
PINNED_OUTSIDE_WINDOW = "the version named is outside the window"


@dataclass(frozen=True, slots=True)
class Chosen:
    """The version to put back."""

    name: ArchiveName


@dataclass(frozen=True, slots=True)
class Skip:
    """Nothing is put back for this key, for ``reason``; ``name`` is the version it concerns, if any."""

    reason: str
    name: ArchiveName | None = None


def choose_version(names: Sequence[ArchiveName], window: TimeWindow, pinned: str | None = None) -> Chosen | Skip:
    """The newest version of one key deleted in ``window``, unless the key was deleted again after it.

    ``names`` are every archived version of the key (any order). Versions sort in deletion order,
    so the newest overall is the largest; if it is past the window, the key came back after the
    window and was deleted again, and putting the in-window version back would resurrect stale data.

    A ``pinned`` version (a ``archiver query`` row's) is chosen as it is, even where the key was
    deleted again later: the operator chose that deletion. It must be archived, and in the window
    where one is given (two flags that disagree write nothing).
    """
    if pinned is not None:
        match = next((n for n in names if n.version == pinned), None)
        if match is None:
            return Skip(PINNED_NOT_ARCHIVED)
        if window.bounded and not window.contains(match.deleted_at):
            return Skip(PINNED_OUTSIDE_WINDOW, match)
        return Chosen(match)
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
    """One key to restore: its encoded key, its versions where a listing found them already, and the
    version to restore where the operator named one (``version``; else the window decides)."""

    encoded_key: str
    names: tuple[ArchiveName, ...] | None = None
    version: str | None = None


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


@dataclass(frozen=True, slots=True)
class ArchivedImage:
    """An archived item ready to put back: wire DynamoDB JSON (binaries as base64, numbers as text)."""

    key: Mapping[str, Mapping[str, str]]
    item: Mapping[str, Any]
    kind: str
    missing: tuple[str, ...]  # attributes the table's policy dropped when archiving


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


def key_types_of(key: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """A key's attribute names and types: ``{"PK": {"S": "a"}}`` -> ``{"PK": "S"}``."""
    return {name: next(iter(value), "?") for name, value in key.items()}


def key_mismatch(given: Mapping[str, str], key_schema: Mapping[str, str], table: str) -> str | None:
    """Why a key of ``given`` names and types cannot be a key of ``table``, keyed by ``key_schema``; None
    where it can.

    The names and the types must both match: an item whose key misses an attribute of the table's key
    is refused by DynamoDB, but one whose key has an extra attribute is taken, under another key.
    """
    if dict(given) == dict(key_schema):
        return None
    return f"the key is {_key_shown(given)}, but table {table!r} is keyed by {_key_shown(key_schema)}"


def refusal(image: ArchivedImage, key_schema: Mapping[str, str] | None, table: str) -> str | None:
    """Why ``table`` would refuse ``image``, found before asking it; None where it would take it.

    ``key_schema`` is the table's key (name -> type) where known; the size is counted as DynamoDB
    counts it (:func:`archiver.item_size.item_size`).
    """
    if key_schema is not None:
        mismatch = key_mismatch(key_types_of(image.key), key_schema, table)
        if mismatch is not None:
            return mismatch
    size = item_size(image.item)
    if size > MAX_ITEM_BYTES:
        return (
            f"too large: the item is {size:,} bytes as DynamoDB counts them, and a table takes at most "
            f"{MAX_ITEM_BYTES:,} (400 KB)"
        )
    return None


def _key_shown(types: Mapping[str, str]) -> str:
    return ", ".join(f"{name} ({kind})" for name, kind in sorted(types.items()))


class KeyStatus(StrEnum):
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
    outcome: KeyStatus
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


def summary_rows(outcomes: Iterable[KeyOutcome], *, dry_run: bool = False) -> list[tuple[str, int]]:
    """Rows (label, count): restored (would restore, in a ``dry_run``), present, skipped per reason,
    failed, not attempted.

    The first three are always there (at zero too), so a summary always reads the same; the rest
    appear where something happened.
    """
    counts: Counter[KeyStatus] = Counter()
    reasons: Counter[str] = Counter()
    incomplete = 0
    for outcome in outcomes:
        counts[outcome.outcome] += 1
        dry_run = dry_run or outcome.outcome is KeyStatus.WOULD_RESTORE
        if outcome.outcome is KeyStatus.SKIPPED:
            reasons[outcome.reason or "?"] += 1
        if outcome.missing and outcome.outcome in (KeyStatus.RESTORED, KeyStatus.WOULD_RESTORE):
            incomplete += 1
    put = KeyStatus.WOULD_RESTORE if dry_run else KeyStatus.RESTORED
    rows = [(put.value, counts[put]), ("present (live item kept)", counts[KeyStatus.PRESENT])]
    if incomplete:
        rows.append((f"  of the {put.value}: without dropped attributes", incomplete))
    rows.append(("skipped", counts[KeyStatus.SKIPPED]))
    rows += [(f"  {reason}", n) for reason, n in sorted(reasons.items())]
    rows.append(("failed", counts[KeyStatus.FAILED]))
    if counts[KeyStatus.NOT_ATTEMPTED]:
        rows.append(("not attempted (stopped)", counts[KeyStatus.NOT_ATTEMPTED]))
    return rows

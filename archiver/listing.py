"""Listing a table's archive: what an object key names, and disjoint key-space slices to list in parallel.

The key space of a table folder is cut into disjoint slices (:func:`split_slice`) so that a table
of millions of objects is listed in parallel, never twice, never with a gap; each key is read as
an :class:`ArchiveName` without reading its body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from archiver.archive import version_time
from archiver.keys import decode_key, is_digest

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

__all__ = [
    "KEY_ALPHABET",
    "ArchiveName",
    "ListingSlice",
    "continue_slice",
    "deletion_id",
    "read_object_key",
    "split_slice",
]


@dataclass(frozen=True, slots=True)
class ArchiveName:
    """What an archive object's key says: which key, which version, deleted when (no body read)."""

    object_key: str
    encoded_key: str
    key: Mapping[str, Mapping[str, str]] | None  # None for a digest-form key: only the body has it
    version: str
    deleted_at: datetime | None


def deletion_id(name: ArchiveName) -> tuple[str, str]:
    """What makes a deletion itself within one table's archive: (encoded key, version).

    Storage may hold a deletion twice (the compact layout, after a retried batch); both copies
    have this identity, stable across redeliveries, and every reader shows one per identity.
    """
    return name.encoded_key, name.version


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

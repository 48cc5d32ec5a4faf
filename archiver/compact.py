"""The compact layout's writer: the deletions of one delivered batch -> one gzip JSON-lines object per hour.

``<prefix>/<table>/compact/dt=YYYY-MM-DD/hh=HH/<name>.jsonl.gz`` (folders: :mod:`archiver.layouts`).

A line is exactly the ``objects`` layout's body (:func:`archiver.archive.body_fields`, the same
fields and ``schemaVersion``) plus ``"version"``, the name that deletion's object would have had,
serialised the same way (sorted keys, no spaces, UTF-8, lone surrogates escaped), with one
addition: U+2028 and U+2029 are written as their JSON escapes, because ``str.splitlines`` and
older JavaScript split a line there; ``json.loads`` gives back the same string either way.

Deterministic, so that a redelivered batch writes nothing new:

- the lines of an object are sorted by version (deletion time, sequence number, eventID digest),
  then encoded key, not kept in delivery order: the same deletions give the same bytes however the
  platform ordered or re-sliced them, and a retried slice's lines compare line for line with the
  object its first delivery wrote;
- a deletion that appears twice in one batch (same key and version, same line) is written once;
- the name is ``<first version>-<last version>-<16 hex of sha256 of the uncompressed lines>``: a
  function of the content only (nothing from the clock or a counter), so a redelivered identical
  batch names the same object and its conditional PUT is answered 412, "already archived". It
  hashes the uncompressed lines, not the gzip bytes, so a runtime whose zlib compresses otherwise
  still names the same object. 166 characters: with a 128-byte prefix and a 255-byte table name
  the key stays under 600 bytes, well within S3's 1,024;
- gzip in one member at a fixed level with header mtime 0 (Python writes no file name), so the same
  lines give the same bytes. Every gzip reader (``gzip.decompress``, ``gzip.open``, ``zcat``,
  DuckDB, Athena) reads the file whole.

A retried slice of a batch (a partial-failure retry starts from the failed record, bisection
halves a batch) is other content, so another object in the same hour: a deletion may be stored
twice, and every reader keeps one line per (table, encoded key, version).
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from archiver.archive import VERSION_LENGTH, body_fields, encode_body, version_of
from archiver.layouts import compact_object_key, hour_of

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from archiver.policy import TablePolicy
    from archiver.records import DeletedItem

__all__ = [
    "COMPRESS_LEVEL",
    "CompactLine",
    "CompactObject",
    "Packing",
    "compact_line",
    "pack_lines",
    "versions_in_name",
]

#: zlib's default. On 1,000 lines of ~1 KB items: 5% larger than level 9 at 40% of its CPU, 25%
#: smaller than level 1 at 2.5 times its CPU (about 13 ms a batch; parsing the records costs 10 times that).
COMPRESS_LEVEL = 6
_DIGEST_LENGTH = 16
_NAME = re.compile(rf"(?P<first>.{{{VERSION_LENGTH}}})-(?P<last>.{{{VERSION_LENGTH}}})-[0-9a-f]{{{_DIGEST_LENGTH}}}")
_LINE_SEPARATORS = ((b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"))


@dataclass(frozen=True, slots=True)
class CompactLine:
    """One deletion as a compact line, and which object it belongs in: its table's prefix, the
    table, and the UTC hour of its deletion."""

    prefix: str
    table: str
    hour: datetime
    encoded_key: str
    version: str
    text: bytes  # one JSON object, without the newline


@dataclass(frozen=True, slots=True)
class CompactObject:
    """One compact object: its key, its gzip body, and what it holds (for logs and dead letters)."""

    key: str
    body: bytes  # gzip of the lines, each ending in "\n"
    table: str
    hour: datetime
    lines: int
    first_version: str
    last_version: str


@dataclass(frozen=True, slots=True)
class Packing:
    """The compact objects of one batch, and where each line given went.

    ``placement[i]`` is the index in ``objects`` of the object holding line ``i``, or, where no
    object may hold it, the reason (the same key and version as an earlier line, other content).
    """

    objects: tuple[CompactObject, ...]
    placement: tuple[int | str, ...]


def compact_line(item: DeletedItem, policy: TablePolicy) -> CompactLine:
    """``item``'s line under ``policy``: its archive body plus its version, as JSON on one line."""
    fields = body_fields(item, policy)
    version = version_of(item)
    fields["version"] = version
    text = encode_body(fields)
    for raw, escaped in _LINE_SEPARATORS:
        if raw in text:  # only inside a JSON string: the escape reads back as the same character
            text = text.replace(raw, escaped)
    return CompactLine(policy.prefix, item.table, hour_of(item.deleted_at), item.encoded_key, version, text)


def pack_lines(lines: Sequence[CompactLine]) -> Packing:
    """One object per (table, hour) among ``lines``, each line once, sorted by version and key.

    A line whose key and version an earlier line has, with the same text, is the same deletion
    delivered twice: the object holds it once, and both are placed in it. With other text (two
    records claiming one deletion) the later one is placed nowhere, with the reason, as the
    ``objects`` layout refuses a second body under one object key.
    """
    groups: dict[tuple[str, str, datetime], dict[tuple[str, str], int]] = {}
    placement: list[int | str] = [-1] * len(lines)
    for index, line in enumerate(lines):
        members = groups.setdefault((line.prefix, line.table, line.hour), {})
        first = members.setdefault((line.version, line.encoded_key), index)
        if lines[first].text != line.text:
            placement[index] = (
                f"another record of this batch is version {line.version} of key {line.encoded_key} "
                "with other content; the first one is archived"
            )
    objects: list[CompactObject] = []
    where: dict[tuple[str, str, datetime], int] = {}
    for group, members in groups.items():
        where[group] = len(objects)
        objects.append(_compact_object(group, [lines[members[member]] for member in sorted(members)]))
    for index, line in enumerate(lines):
        if placement[index] == -1:
            placement[index] = where[(line.prefix, line.table, line.hour)]
    return Packing(tuple(objects), tuple(placement))


def versions_in_name(name: str) -> tuple[str, str] | None:
    """The first and last version a compact object's name says it holds; None for another name."""
    match = _NAME.fullmatch(name)
    return (match["first"], match["last"]) if match else None


def _compact_object(group: tuple[str, str, datetime], ordered: list[CompactLine]) -> CompactObject:
    prefix, table, hour = group
    content = b"\n".join([line.text for line in ordered]) + b"\n"
    first, last = ordered[0].version, ordered[-1].version
    name = f"{first}-{last}-{hashlib.sha256(content).hexdigest()[:_DIGEST_LENGTH]}"
    return CompactObject(
        key=compact_object_key(prefix, table, hour, name),
        body=gzip.compress(content, COMPRESS_LEVEL, mtime=0),
        table=table,
        hour=hour,
        lines=len(ordered),
        first_version=first,
        last_version=last,
    )

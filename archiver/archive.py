"""DeletedItem -> ArchiveObject: where a deletion lands in the bucket, and what the object says.

Object key: ``<prefix>/<table>/<encoded key>/<version>.json``, with the version
``<UTC time YYYYMMDDTHHMMSSZ>-<sequence number, 40 digits>-<16 hex of sha256(eventID)>``:

- each deletion of a key gets its own object (the sequence number and eventID differ),
- a redelivered event gets the same object (nothing in it comes from the clock or a counter),
- versions sort lexicographically in deletion order (fixed-width time, then sequence number),
- two events that share a sequence number, as published samples do, still differ by eventID.

The body is deterministic too (sorted keys, no "archived at"), so a redelivery writes the same bytes.

The body is always valid UTF-8 JSON. Characters are written as themselves, except lone surrogates
(U+D800..U+DFFF alone), which no UTF-8 text can hold but a hand-made event can carry as the JSON
escape ``"\\ud800"``: those are written as that escape again, so the body stays valid UTF-8 and
``json.loads`` gives back the exact string. Escaping only them, rather than writing the whole
body as ASCII, leaves every other body byte for byte as before.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import date

    from archiver.policy import TablePolicy
    from archiver.records import DeletedItem

__all__ = [
    "DEAD_LETTER_FOLDER",
    "SCHEMA_VERSION",
    "VERSION_LENGTH",
    "ArchiveBodyError",
    "ArchiveObject",
    "body_fields",
    "build_archive_object",
    "dead_letter_key",
    "encode_body",
    "escape_lone_surrogates",
    "key_folder",
    "read_archive_body",
    "table_folder",
    "version_of",
    "version_time",
]

SCHEMA_VERSION = 1
#: The folder, inside a table's folder, of dead letters too large for their queue. No encoded key
#: can be named so (each holds ``(``, or is ``sha256-<hex>``), so it never mixes with archived keys.
DEAD_LETTER_FOLDER = "_dead-letters"
VERSION_LENGTH = 16 + 1 + 40 + 1 + 16
_NO_TIME = "00000000T000000Z"
_VERSION = re.compile(r"(?P<stamp>\d{8}T\d{6}Z)-\d{40}-[0-9a-f]{16}")
#: A code point UTF-8 cannot encode; in JSON text it can only stand inside a string.
_SURROGATE = re.compile("[\ud800-\udfff]")


class ArchiveBodyError(ValueError):
    """An archive object whose body is not what the archiver writes (not JSON, no key, another key)."""


@dataclass(frozen=True, slots=True)
class ArchiveObject:
    """One archived deletion: the object key and its UTF-8 JSON body, plus what goes in metadata."""

    key: str
    body: bytes
    table: str
    encoded_key: str
    kind: str


def table_folder(prefix: str, table: str) -> str:
    """The common prefix of every object of one table, ending in '/'."""
    return "/".join(part for part in (prefix, table) if part) + "/"


def key_folder(prefix: str, table: str, encoded_key: str) -> str:
    """The common prefix of every version of one key, ending in '/' (so it is no other key's)."""
    return f"{table_folder(prefix, table)}{encoded_key}/"


def dead_letter_key(prefix: str, table: str, written_on: date, digest: str) -> str:
    """Where a dead letter too large for its queue is kept: ``<table folder>_dead-letters/<day>/<digest>.json``.

    The digest is of the letter's content, so sending the same letter again names the same object.
    """
    return f"{table_folder(prefix, table)}{DEAD_LETTER_FOLDER}/{written_on.isoformat()}/{digest}.json"


def version_of(item: DeletedItem) -> str:
    """The version name of ``item``'s deletion (see the module docstring); read back by :func:`version_time`."""
    stamp = item.deleted_at.strftime("%Y%m%dT%H%M%SZ") if item.deleted_at else _NO_TIME
    return f"{stamp}-{item.sequence_number:040d}-{item.event_id_digest}"


def body_fields(item: DeletedItem, policy: TablePolicy) -> dict[str, Any]:
    """What an archive body says about ``item`` under ``policy``, as a JSON-ready dict.

    Both layouts write it: an ``objects`` object is exactly this, a ``compact`` line is this plus
    its ``version`` (``archiver/compact.py``), so a reader of either sees the same fields.
    """
    key_names = set(item.key)
    dropped = sorted(name for name in policy.drop_attributes if name in item.image and name not in key_names)
    image = None if item.image_missing else {n: v for n, v in item.image.items() if n not in dropped}
    return {
        "schemaVersion": SCHEMA_VERSION,
        "table": item.table,
        "key": item.key,
        "encodedKey": item.encoded_key,
        "deletedAt": item.deleted_at.isoformat().replace("+00:00", "Z") if item.deleted_at else None,
        "deletion": {"kind": item.kind.value, "evidence": item.evidence.value},
        "imageMissing": item.image_missing,
        "image": image,
        "droppedAttributes": dropped,
        "stream": {
            "eventID": item.event_id or None,
            "sequenceNumber": str(item.sequence_number),
            "region": item.region or None,
            "eventSourceARN": item.event_source_arn or None,
            "streamViewType": item.stream_view_type or None,
            "approximateCreationDateTime": item.raw_creation_time,
        },
    }


def escape_lone_surrogates(json_text: str) -> str:
    """JSON text that UTF-8 can hold: each lone surrogate written as its ``\\uXXXX`` escape.

    Valid for JSON text only (a surrogate can only stand inside a string there), and exact:
    ``json.loads`` gives back the same string. Bodies, ``show`` and ``--json`` output all use it,
    because a terminal or a pipe in UTF-8 refuses such a character outright.
    """
    return _SURROGATE.sub(lambda lone: f"\\u{ord(lone[0]):04x}", json_text)


def encode_body(fields: dict[str, Any]) -> bytes:
    """``fields`` as the archive writes JSON: sorted keys, no spaces, UTF-8, lone surrogates escaped.

    Deterministic (the same fields give the same bytes), so a redelivery writes what was written.
    """
    text = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return escape_lone_surrogates(text).encode("utf-8")


def build_archive_object(item: DeletedItem, policy: TablePolicy) -> ArchiveObject:
    """The object that archives ``item`` under ``policy``; the same item always gives the same object."""
    key = f"{key_folder(policy.prefix, item.table, item.encoded_key)}{version_of(item)}.json"
    return ArchiveObject(
        key=key,
        body=encode_body(body_fields(item, policy)),
        table=item.table,
        encoded_key=item.encoded_key,
        kind=item.kind.value,
    )


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

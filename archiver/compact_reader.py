"""Reading the compact layout: the bytes of one compact object -> its deletions, or what is wrong with it.

A compact object (:mod:`archiver.layouts` names where) is gzip, possibly several members one after
another, of JSON lines; each line is one deletion's archive body (what the ``objects`` layout stores
as its own object, :func:`archiver.archive.build_archive_object`) plus ``"version"``, its version
name. Each line becomes an :class:`~archiver.listing.ArchiveName` whose ``object_key`` is the
compact object's, so listing, choosing and restoring decide exactly as for the ``objects`` layout.

- The gzip stream is inflated as its chunks arrive (the adapter passes the response body's chunks),
  so an object is never held compressed and inflated at once, and its CRC is checked at each
  member's end. An object whose gzip is broken anywhere yields no deletion at all: lines before
  the break were never checked by a CRC. It is reported by name; other objects are unaffected.
- A line that is not an archive line (not JSON, no version, another table, a key that does not
  encode to its ``encodedKey``) is reported with its number; the object's other lines count.
- Storage may hold one deletion in two objects (a retried batch is often a different slice of the
  stream). :class:`CompactIndex` keeps one line per (encoded key, version), the one place where the
  compact layout's copies are merged, so every reader shows each deletion once.

Pure: chunks in, values out; the GETs, the threads and the progress are the adapter's.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archiver.archive import ArchiveBodyError, read_archive_body, version_time
from archiver.keys import InvalidKeyError, encode_key
from archiver.listing import ArchiveName, deletion_id
from archiver.ports import ObjectNotFoundError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

__all__ = ["CompactFormatError", "CompactIndex", "CompactLine", "CompactRead", "read_compact_object"]

#: ``wbits`` for zlib to read (and check) one gzip member: header, deflate data, CRC-32 and size.
_GZIP = 16 + zlib.MAX_WBITS


class CompactFormatError(ValueError):
    """A compact object's bytes are not gzip (or end inside a member); the message says how."""


@dataclass(frozen=True, slots=True)
class CompactLine:
    """One deletion read from a compact object: its name, its kind, and the line as stored.

    ``body`` is the line's bytes, the archive body plus ``"version"``; :func:`archive_body` drops that
    field again for a reader that prints the body as the ``objects`` layout stores it.
    """

    name: ArchiveName
    kind: str
    body: bytes


@dataclass(frozen=True, slots=True)
class CompactRead:
    """What one compact object holds: its deletions in line order, and one problem per thing wrong."""

    object_key: str
    lines: tuple[CompactLine, ...]
    problems: tuple[str, ...] = ()
    #: Lines in the object (those skipped because they cannot be the key asked for included).
    line_count: int = 0


def read_compact_object(
    object_key: str, chunks: Iterable[bytes], table: str, *, encoded_key: str | None = None
) -> CompactRead:
    """The deletions of table ``table`` that the compact object ``object_key`` holds.

    Args:
        chunks: the object's bytes, as they arrive (one ``bytes`` is fine too, in a list).
        encoded_key: only this key's deletions are wanted: a line that does not contain it as text
            cannot be one of them and is not parsed (the encoded key's characters need no JSON
            escape), which makes finding one key among millions of lines cheap.

    Never raises for bad content: a broken gzip stream makes ``lines`` empty and is the one problem;
    each bad line is a problem naming its number.
    """
    wanted = encoded_key.encode("ascii") if encoded_key is not None else None
    lines: list[CompactLine] = []
    problems: list[str] = []
    number = 0
    try:
        for number, line in enumerate(_split_lines(_inflate(chunks)), start=1):
            if not line.strip() or (wanted is not None and wanted not in line):
                continue
            try:
                found = read_compact_line(line, object_key, table)
            except CompactFormatError as error:
                problems.append(f"{object_key}: line {number} {error}")
                continue
            if encoded_key is None or found.name.encoded_key == encoded_key:
                lines.append(found)
    except CompactFormatError as error:
        where = f" after line {number}" if number else ""
        return CompactRead(object_key, (), (f"{object_key}: bad gzip{where} ({error}); none of its lines is used",))
    return CompactRead(object_key, tuple(lines), tuple(problems), number)


def read_compact_line(line: bytes, object_key: str, table: str) -> CompactLine:
    """One line of a compact object of ``table`` as a deletion.

    Raises:
        CompactFormatError: the line is not JSON, not an object, or not an archive line of ``table``
            (the message completes "line N ...").
    """
    try:
        document = read_archive_body(line)
    except ArchiveBodyError as error:
        raise CompactFormatError(f"is {error}") from None
    version = document.get("version")
    try:
        deleted_at = version_time(version) if isinstance(version, str) else None
    except ValueError:
        version = None
    if not isinstance(version, str):
        raise CompactFormatError(f"has no archive version (got {document.get('version')!r})")
    if document.get("table") != table:
        raise CompactFormatError(f"is a deletion of table {document.get('table')!r}, not {table!r}")
    key = document.get("key")
    try:
        encoded = encode_key(key)  # type: ignore[arg-type]  # it raises for anything not a key
    except InvalidKeyError as error:
        raise CompactFormatError(f"has an unusable key: {error}") from None
    if document.get("encodedKey") != encoded:
        raise CompactFormatError(f"says encodedKey {document.get('encodedKey')!r}, but its key encodes to {encoded!r}")
    return CompactLine(ArchiveName(object_key, encoded, key, version, deleted_at), _kind(document), line)


def archive_body(line: bytes) -> dict[str, Any]:
    """A compact line as the archive body the ``objects`` layout would store (without ``"version"``)."""
    document: dict[str, Any] = json.loads(line)
    document.pop("version", None)
    return document


def _kind(document: dict[str, Any]) -> str:
    deletion = document.get("deletion")
    return str(deletion.get("kind") or "") if isinstance(deletion, dict) else ""


def _inflate(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The inflated bytes of a gzip stream of one or more members, as its chunks arrive.

    As :func:`gzip.decompress` reads it: members one after the other, zero bytes between or after
    them ignored (padding), anything else after a member is an error, and so is a stream that
    ends inside a member or holds none.

    Raises:
        CompactFormatError: not gzip, a failed CRC, or truncated.
    """
    inflater = zlib.decompressobj(_GZIP)
    inside = False  # the current member has begun and not ended
    members = 0
    for chunk in chunks:
        data = chunk
        while data:
            if not inside:
                data = data.lstrip(b"\x00")
                if not data:
                    break
            inside = True
            try:
                out = inflater.decompress(data)
            except zlib.error as error:
                raise CompactFormatError(str(error)) from None
            if out:
                yield out
            if not inflater.eof:
                break
            members += 1
            inside = False
            data = inflater.unused_data
            inflater = zlib.decompressobj(_GZIP)
    if inside:
        raise CompactFormatError("the object ends inside a gzip member: truncated")
    if not members:
        raise CompactFormatError("the object holds no gzip member: empty")


def _split_lines(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """The lines (without their newline) of a byte stream cut anywhere; the last may have no newline."""
    rest = b""
    for piece in pieces:
        rest += piece
        *complete, rest = rest.split(b"\n")
        yield from complete
    if rest:
        yield rest


class CompactIndex:
    """The deletions read from a table's compact objects, each once, and the bodies to restore.

    Built as each object is read (:meth:`add`, from one thread); a body is kept only where
    ``keep_body`` says so (a listing keeps none, a restore those it may put back), so a big window
    costs memory only for what is used. As an ArchiveBodies port, it gives the Restorer the chosen
    version's line without a second GET.

    Which copy of a deletion stored twice is kept does not depend on the order objects were read
    in: the one in the object whose key sorts first.
    """

    def __init__(self, keep_body: Callable[[ArchiveName], bool] = lambda _: False) -> None:
        self._keep_body = keep_body
        self._lines: dict[tuple[str, str], CompactLine] = {}
        self._bodies: dict[tuple[str, str], bytes] = {}
        self.problems: list[str] = []
        self.objects = 0
        self.lines = 0  # lines read, copies included: more than len(names()) where storage holds copies

    def add(self, read: CompactRead) -> None:
        """Take one object's deletions (merging copies) and its problems."""
        self.objects += 1
        self.problems.extend(read.problems)
        for line in read.lines:
            self.lines += 1
            identity = deletion_id(line.name)
            held = self._lines.get(identity)
            if held is not None and held.name.object_key <= line.name.object_key:
                continue
            self._lines[identity] = CompactLine(line.name, line.kind, b"")
            if self._keep_body(line.name):
                self._bodies[identity] = line.body

    def names(self) -> list[ArchiveName]:
        """One name per deletion, newest first (as a listing of the ``objects`` layout sorts)."""
        names = (line.name for line in self._lines.values())
        return sorted(names, key=lambda n: (n.version, n.object_key), reverse=True)

    def kind(self, name: ArchiveName) -> str:
        """The deletion kind the line of ``name`` says ("" where it says none)."""
        return self._lines[deletion_id(name)].kind

    def body(self, name: ArchiveName) -> bytes:
        """The stored line of ``name``'s deletion (the ArchiveBodies port).

        Raises:
            ObjectNotFoundError: no body of that deletion was kept (or it was never read).
        """
        try:
            return self._bodies[deletion_id(name)]
        except KeyError:
            raise ObjectNotFoundError(f"no line of {name.encoded_key} version {name.version} was read") from None

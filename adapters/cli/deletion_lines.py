"""Deletions DuckDB cannot take from the cached objects as they are, as one JSON-lines file it reads in one pass.

That is every ``objects`` body (DuckDB spends about half a millisecond on each file it opens, so
20,000 bodies took 7 to 11 s as files where the same bytes in one file took 0.08 s, and 0.4 s to
write), and the compact lines of a query that uses ``item`` or that DuckDB could not read as
stored. Each line wraps one deletion as stored, without parsing it:

    {"t": <table>, "o": <object key>, "k": <key folder>, "v": <version>, ["i": <item text>,] "b": <body>}

``k`` and ``v`` come from an ``objects`` version's name (a compact line carries its own
``encodedKey`` and ``version``); ``o`` gives the ``object_key`` column back with no file name to
map. Only two things make a line be parsed here:

- ``item`` is asked for: the image's plain JSON (:func:`archiver.plain_json.plain_json`) is built
  in Python, as a string, because DuckDB keeps a JSON value's number text only where it is given
  the text (parsing would turn 38 digits into a double);
- the body holds a lone surrogate escape (``"\\ud800"``), which the archive writes for a string
  DynamoDB never had, and DuckDB refuses to read: such a string is read with U+FFFD in its place,
  and counted, so the command can say so.
"""

from __future__ import annotations

import bisect
import gzip
import json
import re
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from archiver.plain_json import PlainJsonError, plain_json
from archiver.policy import Layout

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from adapters.cli.archive_sources import SourceObject

__all__ = ["LineWriter", "WrittenLines"]

#: A ``\\u`` escape of a surrogate: only bodies holding one are parsed to check them.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass
class WrittenLines:
    """What went into the file: which object each line came from, and what had to be changed."""

    lines: int = 0
    #: (first line number, object key) per object, ascending: a DuckDB error's line -> its object.
    starts: list[tuple[int, str]] = field(default_factory=list)
    lone_surrogates: int = 0
    unconvertible: list[str] = field(default_factory=list)  # why an item could not be built, per line

    def object_at(self, line: int) -> str | None:
        """The object key the 1-based ``line`` came from."""
        index = bisect.bisect_right(self.starts, (line, "\uffff")) - 1
        return self.starts[index][1] if index >= 0 else None


class LineWriter:
    """Writes the wrapped lines of objects to ``out``; ``with_item`` adds the image's plain JSON."""

    def __init__(self, out: IO[bytes], *, with_item: bool) -> None:
        self.out = out
        self.with_item = with_item
        self.written = WrittenLines()

    def write_all(self, objects: Iterable[tuple[SourceObject, Path]]) -> WrittenLines:
        for source, path in objects:
            self.write(source, path.read_bytes())
        return self.written

    def write(self, source: SourceObject, data: bytes) -> None:
        """The deletions of one object: its body (``objects``) or each of its lines (``compact``)."""
        self.written.starts.append((self.written.lines + 1, source.object_key))
        head = b'{"t":' + _text(source.table) + b',"o":' + _text(source.object_key)
        if source.layout is Layout.COMPACT:
            lines = [line for line in gzip.decompress(data).split(b"\n") if line.strip()]
        else:
            head += b',"k":' + _text(source.encoded_key) + b',"v":' + _text(source.version)
            lines = [data.replace(b"\n", b" ").replace(b"\r", b" ")]  # JSON text has no raw newline in a string
        for line in lines:
            body = self._checked(line)
            item = b',"i":' + self._item(body) if self.with_item else b""
            self.out.write(head + item + b',"b":' + body + b"}\n")
        self.written.lines += len(lines)

    def _checked(self, line: bytes) -> bytes:
        if b"\\u" not in line or not _SURROGATE_ESCAPE.search(line):
            return line
        try:
            text = json.dumps(json.loads(line), ensure_ascii=False, separators=(",", ":"))
        except ValueError:
            return line  # not JSON: DuckDB names the line
        replaced, count = _SURROGATE.subn("\ufffd", text)
        self.written.lone_surrogates += bool(count)
        return replaced.encode("utf-8")

    def _item(self, body: bytes) -> bytes:
        try:
            document: Any = json.loads(body)
        except ValueError:
            return b"null"  # not JSON: DuckDB reports the line
        image = document.get("image") if isinstance(document, dict) else None
        if not isinstance(image, dict) or document.get("imageMissing"):
            return b"null"
        try:
            return _text(plain_json(image))
        except PlainJsonError as error:
            self.written.unconvertible.append(f"{document.get('encodedKey')}: {error}")
            return b"null"


def _text(value: str | None) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")

"""Compact objects for the query tests, made from the spec (main's tests/compact_objects.py is another builder).

``<prefix>/<table>/compact/dt=YYYY-MM-DD/hh=HH/<name>.jsonl.gz``: gzip (here as one member per
line group, to prove readers take several) of JSON lines, each an ``objects`` body plus ``version``.
The bodies come from the real Archiver (tests/deletions.py) over an in-memory store.
"""

from __future__ import annotations

import gzip
import io
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from archiver.archive import escape_lone_surrogates, version_time
from archiver.layouts import compact_object_key
from tests.deletions import Deletions
from tests.fakes import FakeArchiveStore

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["CompactLines", "compact_bytes"]


def compact_bytes(lines: Sequence[dict[str, Any]], *, members: int = 2) -> bytes:
    """The lines as gzip JSON lines, split over ``members`` gzip members (mtime 0: same lines, same bytes)."""
    text = [
        escape_lone_surrogates(json.dumps(line, ensure_ascii=False, separators=(",", ":"), sort_keys=True)) + "\n"
        for line in lines
    ]  # as the archive writes a body: a lone surrogate as its escape
    size = max(1, -(-len(text) // members))
    out = io.BytesIO()
    for start in range(0, len(text), size):
        out.write(gzip.compress("".join(text[start : start + size]).encode("utf-8"), mtime=0))
    return out.getvalue()


class CompactLines:
    """Deletions of ``table`` made as compact lines; :meth:`put` files them in one compact object."""

    def __init__(self, table: str, prefix: str = "archive") -> None:
        self.table = table
        self.prefix = prefix
        self._store = FakeArchiveStore()
        self._deletions = Deletions(self._store, table)

    def line(
        self, key: dict[str, Any], at: datetime, image: dict[str, Any] | None = None, *, ttl: bool = False
    ) -> dict[str, Any]:
        """One deletion as a compact line: the objects body plus its ``version``."""
        object_key = self._deletions.delete(key, at, image, ttl=ttl)
        version = object_key.rsplit("/", 1)[1].removesuffix(".json")
        return {**json.loads(self._store.objects[object_key]), "version": version}

    def put(self, s3: Any, bucket: str, name: str, lines: Sequence[dict[str, Any]]) -> str:
        """Write ``lines`` as one compact object in the hour of the first line's deletion; its key."""
        hour = version_time(lines[0]["version"])
        assert isinstance(hour, datetime)
        key = compact_object_key(self.prefix, self.table, hour, name)
        s3.put_object(Bucket=bucket, Key=key, Body=compact_bytes(lines))
        return key

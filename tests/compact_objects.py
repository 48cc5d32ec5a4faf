"""Compact objects for tests, built to the format's spec (docs/archive-format.md, "compact layout").

``<prefix>/<table>/compact/dt=YYYY-MM-DD/hh=HH/<name>.jsonl.gz``: gzip (mtime 0) of JSON lines, each
line exactly the ``objects`` layout's archive body plus ``"version"``. The writer
(``archiver/compact.py``) is built alongside the readers; until the two meet, readers are tested on
objects made here from the same core functions the writer uses (``build_archive_object``,
``version_of``), so a divergence shows up as a failing reader test once the integrator switches
this builder to the writer.
"""

from __future__ import annotations

import gzip
import itertools
import json
from typing import TYPE_CHECKING, Any

from archiver.archive import ArchiveObject, build_archive_object, version_of
from archiver.layouts import compact_object_key, hour_of
from archiver.policy import Policies, TablePolicy
from archiver.records import DeletedItem, read_record
from tests.deletions import removal

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import datetime

    from archiver.ports import ArchiveStore


def compact_line(item: DeletedItem, policy: TablePolicy) -> bytes:
    """One line: the archive body plus its version, as JSON (no newline)."""
    document = json.loads(build_archive_object(item, policy).body)
    document["version"] = version_of(item)
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def gzip_lines(lines: Iterable[bytes]) -> bytes:
    """One gzip member (mtime 0, so the same lines give the same bytes) of the lines, newline-ended."""
    return gzip.compress(b"".join(line + b"\n" for line in lines), mtime=0)


class CompactDeletions:
    """Deletions of ``table`` written as compact objects into ``store``, as the compact writer would.

    :meth:`record` makes a stream record (sequence numbers rise with each, as in a stream);
    :meth:`write` stores a batch of them: one object per hour the batch's deletions fall in.
    """

    def __init__(self, store: ArchiveStore, table: str = "orders", policy: TablePolicy | None = None) -> None:
        self.store = store
        self.table = table
        self.policy = policy or TablePolicy()
        self._policies = Policies(tables={table: self.policy})
        self._numbers = itertools.count(1)

    def record(
        self,
        key: dict[str, Any],
        at: datetime,
        image: dict[str, Any] | None = None,
        *,
        ttl: bool = False,
        keys_only: bool = False,
    ) -> dict[str, Any]:
        """A REMOVE of ``key`` (its image: ``key`` plus ``image``) at ``at``."""
        return removal(self.table, next(self._numbers), key, at, image, ttl=ttl, keys_only=keys_only)

    def items(self, records: Sequence[dict[str, Any]]) -> list[DeletedItem]:
        items = [read_record(record, self._policies) for record in records]
        assert all(isinstance(item, DeletedItem) for item in items), items
        return items  # type: ignore[return-value]

    def write(self, records: Sequence[dict[str, Any]], name: str) -> list[str]:
        """Store ``records`` as one batch named ``name``: one object per hour; their keys, oldest hour first."""
        by_hour: dict[datetime, list[bytes]] = {}
        for item in self.items(records):
            by_hour.setdefault(hour_of(item.deleted_at), []).append(compact_line(item, self.policy))
        written = []
        for hour, lines in sorted(by_hour.items()):
            written.append(self.put(compact_object_key(self.policy.prefix, self.table, hour, name), gzip_lines(lines)))
        return written

    def put(self, object_key: str, body: bytes) -> str:
        """Store ``body`` at ``object_key`` as it is (a test's hand-made or broken object too)."""
        self.store.put(ArchiveObject(object_key, body, self.table, "", ""))
        return object_key

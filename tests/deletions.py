"""Deletions: archive objects written through the real Archiver, with deletion times the test chooses.

Recovery tests need deletions at known times (inside a window, on its edges, after it). Waiting
on DynamoDB Streams would add nothing but time, so each deletion is a stream record built with
``tests.builders.remove_record`` and archived by :class:`archiver.service.Archiver` over whatever
store the test uses (the fake, or S3 on moto): the objects are exactly what the Lambda writes.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from archiver.policy import Policies, TablePolicy
from archiver.service import Archived, Archiver
from tests.builders import remove_record
from tests.fakes import FakeDeadLetterSink

if TYPE_CHECKING:
    from datetime import datetime

    from archiver.ports import ArchiveStore

ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/{table}/stream/2026-01-01T00:00:00.000"


def removal(
    table: str,
    n: int,
    key: dict[str, Any],
    at: datetime,
    image: dict[str, Any] | None = None,
    *,
    ttl: bool = False,
    keys_only: bool = False,
) -> dict[str, Any]:
    """The ``n``-th REMOVE of ``table``'s stream: ``key`` (its image: ``key`` plus ``image``) deleted at ``at``."""
    return remove_record(
        event_id=f"event-{table}-{n}",
        keys=key,
        old_image={**key, **(image or {})},
        sequence=str(10**20 + n),
        created=int(at.timestamp()),
        arn=ARN.format(table=table),
        ttl=ttl,
        view="KEYS_ONLY" if keys_only else "NEW_AND_OLD_IMAGES",
    )


class Deletions:
    """Archives deletions of ``table`` into ``store``; sequence numbers rise with each call, as in a stream."""

    def __init__(self, store: ArchiveStore, table: str = "orders", policy: TablePolicy | None = None) -> None:
        self.table = table
        self._archiver = Archiver(
            store=store, dead_letters=FakeDeadLetterSink(), policies=Policies(tables={table: policy or TablePolicy()})
        )
        self._numbers = itertools.count(1)

    def delete(
        self,
        key: dict[str, Any],
        at: datetime,
        image: dict[str, Any] | None = None,
        *,
        ttl: bool = False,
        keys_only: bool = False,
    ) -> str:
        """Archive one deletion of ``key`` (its image: ``key`` plus ``image``) at ``at``; its object key."""
        record = removal(self.table, next(self._numbers), key, at, image, ttl=ttl, keys_only=keys_only)
        (outcome,) = self._archiver.archive([record])
        assert isinstance(outcome, Archived), outcome
        return outcome.object_key

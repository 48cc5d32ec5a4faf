"""What a redrive says about each message it handled, and the summary of a run, by shape and by reason.

Values only: :mod:`archiver.redriver` makes them, the CLI renders them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from archiver.dead_letters import LetterShape

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["LeftBecause", "MessageResult", "QueueRedrive", "left_rows", "shape_rows"]


class LeftBecause(StrEnum):
    """Why a message stays in its queue, as the summary groups them."""

    NOT_ARCHIVED = "not archived"
    BEYOND_RETENTION = "beyond stream retention"
    STREAM_NOT_READ = "stream not read"
    LETTER_NOT_READ = "letter not read"
    NOT_REDRIVABLE = "cannot be re-run"
    INTERNAL_ERROR = "internal error"
    UNKNOWN_SHAPE = "unknown shape"
    OTHER_TABLE = "another table"
    DRY_RUN = "dry run"
    NOT_DELETED = "delete refused"

    @property
    def records_missed(self) -> bool:
        """Whether a record in the message is still not archived (the exit code says so)."""
        return self not in (
            LeftBecause.UNKNOWN_SHAPE,
            LeftBecause.OTHER_TABLE,
            LeftBecause.DRY_RUN,
            LeftBecause.NOT_DELETED,
        )


_RECORDS_NOT_MISSED = frozenset(
    {LeftBecause.UNKNOWN_SHAPE, LeftBecause.OTHER_TABLE, LeftBecause.DRY_RUN, LeftBecause.NOT_DELETED}
)


@dataclass(frozen=True, slots=True)
class MessageResult:
    """What became of one message: ``left`` is None once it is deleted, else why it stays."""

    queue: str
    message_id: str
    shape: LetterShape
    records: int = 0  # records found to re-run
    archived: int = 0
    deleted: bool = False
    left: LeftBecause | None = None
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.left is not None and self.left.records_missed


@dataclass(frozen=True, slots=True)
class QueueRedrive:
    """One queue's run: a result per message handled; messages left that the queue kept hidden
    (id -> why: they come back after their visibility timeout); and the error that ended the run early."""

    results: tuple[MessageResult, ...]
    still_hidden: dict[str, str] = field(default_factory=dict)
    error: str | None = None


def shape_rows(results: Iterable[MessageResult]) -> list[tuple[str, int, int, int, int, int]]:
    """Per shape, in the order shapes are declared: messages, records found, archived, deleted, left."""
    results = list(results)
    rows = []
    for shape in LetterShape:
        mine = [result for result in results if result.shape is shape]
        if mine:
            rows.append(
                (
                    shape.value,
                    len(mine),
                    sum(r.records for r in mine),
                    sum(r.archived for r in mine),
                    sum(r.deleted for r in mine),
                    sum(r.left is not None for r in mine),
                )
            )
    return rows


def left_rows(results: Iterable[MessageResult]) -> list[tuple[str, str, str, int, str]]:
    """The messages left, grouped by queue, shape and reason: how many, and the first one's reason in full."""
    counts: Counter[tuple[str, str, str]] = Counter()
    example: dict[tuple[str, str, str], str] = {}
    for result in results:
        if result.left is not None:
            group = (result.queue, result.shape.value, result.left.value)
            counts[group] += 1
            example.setdefault(group, result.detail)
    return [(*group, count, example[group]) for group, count in sorted(counts.items())]

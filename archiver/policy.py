"""What to archive from one table, and how: the per-table settings the core decides with."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["MAX_PREFIX_BYTES", "DeletionKind", "Layout", "Policies", "PolicyError", "TablePolicy", "check_prefix"]

#: The longest archive prefix; the object key budget in ``keys.py`` counts on it.
MAX_PREFIX_BYTES = 128
_PREFIX = re.compile(r"[A-Za-z0-9!_.*'()-]+(?:/[A-Za-z0-9!_.*'()-]+)*")


class PolicyError(ValueError):
    """A per-table setting that cannot work; the message names it and what is accepted."""


class DeletionKind(StrEnum):
    """Who deleted the item: a caller (``user``) or DynamoDB's time-to-live sweeper (``ttl``)."""

    USER = "user"
    TTL = "ttl"


def check_prefix(prefix: str) -> str:
    """Return ``prefix`` if it is usable as the start of every object key, else raise PolicyError."""
    if prefix == "":
        return prefix
    if (
        len(prefix.encode()) > MAX_PREFIX_BYTES
        or _PREFIX.fullmatch(prefix) is None
        or any(part in {".", ".."} for part in prefix.split("/"))
    ):
        raise PolicyError(
            f"prefix {prefix!r} is not accepted: use at most {MAX_PREFIX_BYTES} bytes of "
            "A-Z a-z 0-9 ! - _ . * ' ( ) in '/'-separated parts, without a leading or trailing '/'"
        )
    return prefix


class Layout(StrEnum):
    """How a table's deletions are laid out in the bucket (:mod:`archiver.layouts` names the paths)."""

    OBJECTS = "objects"  # one object per deletion, under its key's folder
    COMPACT = "compact"  # one gzip JSON-lines object per delivered batch and hour


@dataclass(frozen=True, slots=True)
class TablePolicy:
    """How one table's deletions are archived.

    Attributes:
        prefix: the first part of every object key of this table (``archive`` by default).
        capture: which deletions to archive; the others are skipped with that reason.
        ttl_attribute: the table's TTL attribute, so that a TTL deletion replicated into another
            region of a global table (which carries no TTL identity) is still recognised.
        drop_attributes: top-level attributes removed before archiving (never key attributes).
        layout: one object per deletion, or one compact object per batch and hour.
    """

    prefix: str = "archive"
    capture: frozenset[DeletionKind] = frozenset({DeletionKind.USER, DeletionKind.TTL})
    ttl_attribute: str | None = None
    drop_attributes: frozenset[str] = frozenset()
    layout: Layout = Layout.OBJECTS

    def __post_init__(self) -> None:
        check_prefix(self.prefix)
        if not self.capture:
            raise PolicyError("capture is empty: name one or both of 'user', 'ttl'")


@dataclass(frozen=True, slots=True)
class Policies:
    """The policies of every configured table, and what applies to any other.

    A record from a table nobody configured is still archived, under ``default``: losing a
    deletion because of a missing line of configuration is the failure this tool exists to prevent.
    """

    default: TablePolicy = TablePolicy()
    tables: Mapping[str, TablePolicy] = field(default_factory=dict)
    #: The table to archive under when a record carries no usable eventSourceARN.
    fallback_table: str | None = None

    def for_table(self, table: str) -> TablePolicy:
        return self.tables.get(table, self.default)

"""Time windows an operator names: ``after <= deleted-at < before``, in UTC, read without I/O.

A window is compared with the deletion time a version name starts with (no GET), so listing,
restoring and querying a window read only what the names say lies in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from archiver.errors import RecoveryError

__all__ = ["TimeWindow", "WindowError", "iso", "parse_time"]

_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


class WindowError(RecoveryError):
    """A time window that is empty or not a time."""


def parse_time(text: str) -> datetime:
    """An ISO 8601 time in UTC -> an aware datetime; a date alone is midnight UTC.

    Accepted: ``2026-11-25``, ``2026-11-25T10:00Z``, ``2026-11-25T10:00:00Z``, fractions of a
    second, and an explicit offset (``+00:00``; another offset is converted to UTC), from
    0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z. A time without a zone is refused rather
    than guessed: on the day it matters, local time is the likeliest slip. Every form an error
    message suggests is one this function accepts.

    Raises:
        WindowError: not an ISO 8601 date or time, a time without a zone, or out of range in UTC.
    """
    stripped = text.strip()
    try:
        moment = datetime.fromisoformat(stripped)
    except ValueError:
        raise WindowError(
            f"{text!r} is not an ISO 8601 time; expected e.g. 2026-11-25T10:00:00Z or 2026-11-25 (midnight UTC)"
        ) from None
    if moment.tzinfo is None:
        if _DATE_ONLY.fullmatch(stripped) is None:
            raise WindowError(f"{text!r} has no time zone; add one, e.g. {iso(moment.replace(tzinfo=UTC))} for UTC")
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise WindowError(
            f"{text!r} is out of range in UTC; expected a time from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z"
        ) from None


def iso(moment: datetime | None) -> str:
    """``2026-11-25T10:00:00Z`` (whole seconds keep no fraction); ``""`` for no time."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Deletions with ``after <= deleted-at < before``; an open end is None.

    The unbounded window (both None) holds every version, including those whose record carried no
    time; a bounded one holds only versions with a time, since nothing else can be placed in it.
    """

    after: datetime | None = None
    before: datetime | None = None

    def __post_init__(self) -> None:
        if self.after is not None and self.before is not None and self.after >= self.before:
            raise WindowError(
                f"--deleted-after {iso(self.after)} is not before --deleted-before {iso(self.before)}: "
                "the window after <= deleted-at < before holds nothing"
            )

    @property
    def bounded(self) -> bool:
        return self.after is not None or self.before is not None

    def contains(self, moment: datetime | None) -> bool:
        if moment is None:
            return not self.bounded
        return (self.after is None or self.after <= moment) and (self.before is None or moment < self.before)

    def is_after(self, moment: datetime | None) -> bool:
        """Whether ``moment`` is at or past the window's end."""
        return moment is not None and self.before is not None and moment >= self.before

    def describe(self) -> str:
        """The window in words, for a person: "at or after X and before Y"."""
        parts = [f"at or after {iso(self.after)}"] if self.after else []
        parts += [f"before {iso(self.before)}"] if self.before else []
        return " and ".join(parts) or "at any time"

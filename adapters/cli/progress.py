"""Progress of long commands (restore, redrive, listing a big table) on stderr, for a person.

A live bar (rich) where stderr is a terminal; otherwise nothing per item, because a log file or a
pipe gains nothing from a repainted line and stdout must stay clean for ``--json``. rich is a
CLI-only extra (``pip install 'dynamo-archive[local]'``): the Lambda package never ships it, and
without it the command runs the same, silently.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["Progress"]


class Progress:
    """Counts done items (thread-safe) and shows them as a bar while it is open.

    Args:
        description: what is being counted, e.g. ``"restoring orders"``.
        total: how many items are expected, where known (else a running count).
        enabled: None shows the bar only where stderr is a terminal and rich is installed.
    """

    def __init__(self, description: str, total: int | None = None, *, enabled: bool | None = None) -> None:
        self.description = description
        self.total = total
        self.done = 0
        self._lock = threading.Lock()
        self._enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Self:
        if self._enabled:
            try:
                from rich.progress import (  # noqa: PLC0415 - CLI-only extra, loaded when a bar is shown
                    BarColumn,
                    MofNCompleteColumn,
                    TextColumn,
                    TimeElapsedColumn,
                    TimeRemainingColumn,
                )
                from rich.progress import Progress as Bar  # noqa: PLC0415
            except ImportError:
                return self
            from rich.console import Console  # noqa: PLC0415

            self._bar = Bar(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=self.total)
        return self

    def advance(self, count: int = 1) -> None:
        with self._lock:
            self.done += count
        if self._bar is not None:
            self._bar.advance(self._task, count)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

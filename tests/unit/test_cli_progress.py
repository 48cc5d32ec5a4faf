"""Progress counts every item, from many threads, whether or not a bar is shown."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from adapters.cli.progress import Progress


@pytest.mark.parametrize("enabled", [False, True])
def test_progress_counts_every_advance_from_many_threads(enabled: bool) -> None:
    with Progress("restoring", total=1000, enabled=enabled) as progress, ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: progress.advance(), range(1000)))

    assert progress.done == 1000

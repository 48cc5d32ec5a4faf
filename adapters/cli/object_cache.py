"""A local copy of archive objects, by object key: what `archiver query` and `stats` read twice is fetched once.

Archive objects are write-once (``If-None-Match``), so a copy never goes stale: a second query over
the same window reads nothing from S3. Files are named by the SHA-256 of the object key, never by
the key itself: an encoded key holds glob characters (``*``, ``(``, ``!``) that a query engine
would expand, and may pass a file name's length. Each file is written whole or not at all (a
temporary file, then a rename), so an interrupted fetch leaves no half object to be read later.

The default folder is ``$XDG_CACHE_HOME/dynamo-archive/<digest of endpoint and bucket>/``
(``~/.cache`` without it): two buckets, or the same bucket name on a test server and on AWS, never
share entries. A test server that is restarted empty and refilled under the same bucket name
breaks the write-once promise; use ``--no-cache`` (or delete the folder) there.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from archiver.errors import RecoveryError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from archiver.ports import ArchiveStore

__all__ = ["CacheError", "Fetched", "ObjectCache", "default_cache_folder", "open_cache"]

#: What DuckDB reads as a glob in a path (FACTS.md); a folder holding one is refused, not escaped.
_GLOB = re.compile(r"[*?\[\]{}]")


class CacheError(RecoveryError):
    """The cache folder cannot be used (not writable, or a name a query engine would glob)."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """The local file of every object asked for, by object key, and how many came from S3."""

    files: dict[str, Path]
    downloaded: int
    downloaded_bytes: int


def default_cache_folder(endpoint: str | None, bucket: str) -> Path:
    """``<cache home>/dynamo-archive/<16 hex of sha256(endpoint, bucket)>``; endpoint None is AWS itself."""
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256(f"{endpoint or 'aws'}\n{bucket}".encode()).hexdigest()[:16]
    return home / "dynamo-archive" / digest


@contextlib.contextmanager
def open_cache(folder: str | None, no_cache: bool, bucket: str) -> Iterator[ObjectCache]:
    """The cache ``--cache DIR`` names, or the default one for the endpoint and ``bucket``; with
    ``--no-cache``, a temporary folder removed with what it holds when the command ends."""
    if no_cache:
        with tempfile.TemporaryDirectory(prefix="dynamo-archive-") as temporary:
            yield ObjectCache(Path(temporary))
        return
    yield ObjectCache(Path(folder) if folder else default_cache_folder(os.environ.get("AWS_ENDPOINT_URL"), bucket))


class ObjectCache:
    """Archive objects under ``folder``, one file each, named by the digest of the object key."""

    def __init__(self, folder: Path) -> None:
        folder = folder.expanduser().absolute()
        if _GLOB.search(str(folder)):
            raise CacheError(
                f"--cache {folder}: a query engine would read its name as a pattern ({_GLOB.pattern}); "
                "choose a folder without those characters"
            )
        self.folder = folder

    def path(self, object_key: str) -> Path:
        """Where ``object_key``'s copy is (or would be): its digest, with the suffix the reader needs."""
        digest = hashlib.sha256(object_key.encode("utf-8")).hexdigest()
        suffix = ".jsonl.gz" if object_key.endswith(".gz") else ".json"
        return self.folder / digest[:2] / f"{digest}{suffix}"

    def fetch(
        self,
        store: ArchiveStore,
        object_keys: Sequence[str],
        *,
        concurrency: int = 16,
        on_done: Callable[[int], None] = lambda _: None,
    ) -> Fetched:
        """A local file for every key: copies already here are used, the others are fetched in parallel.

        Raises:
            CacheError: the folder cannot be written.
            StoreUnavailableError, ObjectNotFoundError: an object could not be read (after retries).
        """
        files = {key: self.path(key) for key in object_keys}
        missing = [key for key, path in files.items() if not path.exists()]
        on_done(len(files) - len(missing))
        if not missing:
            return Fetched(files, 0, 0)
        try:
            for prefix in {files[key].parent for key in missing}:
                prefix.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CacheError(f"cache folder {self.folder}: cannot write it ({error.strerror})") from None

        def one(key: str) -> int:
            body = store.get(key)
            _write_whole(files[key], body)
            on_done(1)
            return len(body)

        with ThreadPoolExecutor(concurrency, thread_name_prefix="get") as pool:
            sizes = list(pool.map(one, missing))
        return Fetched(files, len(missing), sum(sizes))


def _write_whole(path: Path, body: bytes) -> None:
    """``body`` at ``path``, atomically: a reader sees the whole object or no file."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(body)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise

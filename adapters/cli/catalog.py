"""Finding archived deletions again: `archiver list`, `show` and `restore` read through this.

A key given on the command line is parsed once (:func:`parse_key_argument`), encoded with the
same ``encode_key`` the archiver used, and its versions are listed with ONE prefix query on its
folder (``key_folder``): the encoding guarantees that folder holds no other key. A whole table is
listed as disjoint slices of its key space in parallel (:func:`list_folder`, slices cut by
``archiver.listing.split_slice``), because one sequential ListObjectsV2 walk of millions of
objects takes minutes at 1,000 keys a request. Deletion times come from the object keys; the
deletion kind from each object's metadata (a HEAD, no body), and bodies are opened only when asked.
"""

from __future__ import annotations

import dataclasses
import json
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from adapters.aws.dynamodb_items import item_from_wire
from archiver.archive import ArchiveBodyError, key_folder, read_archive_body, table_folder
from archiver.key_arguments import KeyArgumentError
from archiver.key_arguments import parse_key_argument as parse_key_text
from archiver.keys import encode_key
from archiver.listing import ListingSlice, continue_slice, read_object_key, split_slice
from archiver.ports import ArchiveStore, ObjectNotFoundError
from archiver.windows import iso

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime

    from adapters.config import KeySchema
    from archiver.ports import Mapper

__all__ = [
    "PAGE_SIZE",
    "ArchiveCatalog",
    "ArchivedVersion",
    "CatalogError",
    "KeyArgumentError",
    "find_version",
    "item_from_wire",
    "key_types",
    "list_folder",
    "list_table_versions",
    "list_versions",
    "parse_key_argument",
    "parse_object_key",
    "pick_version",
    "read_body",
    "read_kinds",
]

#: Keys per ListObjectsV2 page (S3's maximum): a slice whose first page is full is split.
PAGE_SIZE = 1000


class CatalogError(LookupError):
    """Nothing archived matches what was asked for, or what is archived cannot be read."""


class ArchiveCatalog(ArchiveStore, Protocol):
    """What listing needs beyond the core's ArchiveStore: the kind from an object's metadata."""

    def deletion_kind(self, key: str) -> str | None:
        """The deletion kind an object's metadata records (no body read); None where it has none."""


@dataclass(frozen=True, slots=True)
class ArchivedVersion:
    """One archive object, described from its key (and its metadata or body, where read)."""

    object_key: str
    table: str
    encoded_key: str
    key: Mapping[str, Mapping[str, str]] | None  # None for a digest-form key (only the body has it)
    version: str
    deleted_at: str  # ISO 8601 UTC, from the version's time stamp; "" where the record had none
    kind: str | None = None  # user / ttl, from the metadata or body; None where not read
    deleted_time: datetime | None = None  # deleted_at as a time, for windows

    def json_line(self) -> dict[str, Any]:
        """The `list --json` line: what a person or `restore --keys` reads back; kind where it was read."""
        line = {
            "table": self.table,
            "key": self.key,
            "version": self.version,
            "deletedAt": self.deleted_at or None,
            "objectKey": self.object_key,
        }
        return line if self.kind is None else {**line, "kind": self.kind}


def key_types(schema: KeySchema | None) -> dict[str, str] | None:
    """The key attribute names and types a configured key_schema gives, for plain --key values."""
    if schema is None:
        return None
    types: dict[str, str] = {schema.partition_key.name: schema.partition_key.type}
    if schema.sort_key is not None:
        types[schema.sort_key.name] = schema.sort_key.type
    return types


def parse_key_argument(text: str, schema: KeySchema | None) -> dict[str, dict[str, str]]:
    """``--key`` JSON -> a canonical key: DynamoDB JSON, or plain values typed from the key schema.

    Accepted: ``{"PK": {"S": "USER#123"}, "SK": {"S": "PROFILE"}}``, and where the table's
    key_schema is configured ``{"PK": "USER#123", "SK": "PROFILE"}`` (a binary value as base64).

    Raises:
        KeyArgumentError: not JSON, not an object, or not this table's key attributes.
    """
    return parse_key_text(text, key_types(schema))


def parse_object_key(object_key: str, prefix: str, table: str) -> ArchivedVersion | None:
    """What an object key says about its deletion; None for an object that is not an archive version
    (such as the table's ``_dead-letters/`` folder)."""
    name = read_object_key(object_key, table_folder(prefix, table))
    if name is None:
        return None
    return ArchivedVersion(
        object_key, table, name.encoded_key, name.key, name.version, iso(name.deleted_at), deleted_time=name.deleted_at
    )


def read_body(store: ArchiveStore, object_key: str) -> dict[str, Any]:
    """An archive object's body as JSON.

    Raises:
        CatalogError: it is not a JSON object (written by hand, truncated, not ours).
    """
    try:
        return read_archive_body(store.get(object_key))
    except ArchiveBodyError as error:
        raise CatalogError(f"{object_key} is not an archive body: {error}") from None


def _with_body(store: ArchiveStore, version: ArchivedVersion) -> ArchivedVersion:
    body = read_body(store, version.object_key)
    deletion = body.get("deletion")
    kind = str(deletion.get("kind") or "") if isinstance(deletion, dict) else ""
    key = version.key if version.key is not None else body.get("key")
    return dataclasses.replace(version, key=key, kind=kind)


def _read_slice(store: ArchiveStore, piece: ListingSlice, limit: int) -> tuple[ListingSlice, list[str]]:
    """The first ``limit`` keys of a slice: one ListObjectsV2 page where ``limit`` is the store's page size."""
    keys = store.list_keys(piece.prefix, piece.start_after)
    page: list[str] = []
    try:
        for key in keys:
            if piece.end_before is not None and key >= piece.end_before:
                break
            page.append(key)
            if len(page) == limit:
                break
    finally:
        close = getattr(keys, "close", None)
        if close is not None:
            close()  # a generator asked for no more: it fetches no further page
    return piece, page


def list_folder(
    store: ArchiveStore,
    folder: str,
    *,
    concurrency: int = 8,
    page_size: int = PAGE_SIZE,
    stop: Callable[[], bool] = lambda: False,
    on_page: Callable[[int], None] = lambda _: None,
) -> list[str] | None:
    """Every key under ``folder`` that can be an archive version, ascending; None if ``stop()`` turned true.

    The folder's first page is read; a slice whose page is full is split into disjoint slices
    after the page (``split_slice``) while fewer than ``concurrency`` slices are in flight, and
    read on page by page otherwise, so that threads are kept busy without a request more than
    that needs. A small table costs one request, as a sequential walk would; each key is read
    once (a split slice's page is kept, not read again).

    Raises:
        StoreUnavailableError: a page could not be read (after the store's retries).
    """
    found: list[str] = []
    pool = ThreadPoolExecutor(concurrency, thread_name_prefix="list")
    try:
        pending: set[Future[tuple[ListingSlice, list[str]]]] = {
            pool.submit(_read_slice, store, ListingSlice(folder), page_size)
        }
        while pending:
            if stop():
                return None
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                piece, page = future.result()
                found.extend(page)
                on_page(len(page))
                if len(page) < page_size:
                    continue
                idle = len(pending) < concurrency
                following = split_slice(piece, page, folder) if idle else [continue_slice(piece, page)]
                pending |= {pool.submit(_read_slice, store, s, page_size) for s in following}
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    found.sort()
    return found


def list_table_versions(
    store: ArchiveStore,
    prefix: str,
    table: str,
    *,
    concurrency: int = 8,
    page_size: int = PAGE_SIZE,
    on_page: Callable[[int], None] = lambda _: None,
) -> list[ArchivedVersion]:
    """Every archived version of a table (parallel listing), newest first; dead letters and strays left out."""
    keys = list_folder(
        store, table_folder(prefix, table), concurrency=concurrency, page_size=page_size, on_page=on_page
    )
    found = [v for v in (parse_object_key(k, prefix, table) for k in keys or []) if v is not None]
    found.sort(key=lambda v: (v.version, v.object_key), reverse=True)
    return found


def list_versions(
    store: ArchiveStore,
    prefix: str,
    table: str,
    key: Mapping[str, Mapping[str, str]] | None = None,
    read_bodies: bool = False,
) -> list[ArchivedVersion]:
    """Archived versions of one key (one prefix query) or of the whole table, newest first.

    Raises:
        CatalogError: ``read_bodies`` and a body is not JSON (the message names its object key).
    """
    folder = key_folder(prefix, table, encode_key(key)) if key is not None else table_folder(prefix, table)
    found = [v for v in (parse_object_key(k, prefix, table) for k in store.list_keys(folder)) if v is not None]
    found.sort(key=lambda v: (v.version, v.object_key), reverse=True)
    return [_with_body(store, v) for v in found] if read_bodies else found


def read_kinds(
    store: ArchiveCatalog,
    versions: list[ArchivedVersion],
    mapper: Mapper = map,
    on_read: Callable[[], None] = lambda: None,
) -> tuple[list[ArchivedVersion], list[str]]:
    """The versions with their kind (a HEAD each; the body only where the metadata has none), and one
    line per object whose kind could not be read, naming it (those keep kind None)."""

    def one(version: ArchivedVersion) -> tuple[ArchivedVersion, str | None]:
        try:
            kind = store.deletion_kind(version.object_key)
            if kind is None:
                return _with_body(store, version), None  # written without metadata (by hand, or copied)
        except (CatalogError, ObjectNotFoundError) as error:
            return version, str(error)
        finally:
            on_read()
        return dataclasses.replace(version, kind=kind), None

    read = list(mapper(one, versions))
    return [v for v, _ in read], [problem for _, problem in read if problem is not None]


def find_version(
    store: ArchiveStore, prefix: str, table: str, key: Mapping[str, Mapping[str, str]], version: str | None
) -> ArchivedVersion:
    """The latest archived version of the key, or the one whose version starts with ``version``.

    Raises:
        CatalogError: nothing is archived for the key, or no (or more than one) version matches.
    """
    folder = key_folder(prefix, table, encode_key(key))
    return pick_version(list_versions(store, prefix, table, key), key, table, version, f"looked under {folder}")


def pick_version(
    versions: list[ArchivedVersion], key: Mapping[str, Mapping[str, str]], table: str, version: str | None, where: str
) -> ArchivedVersion:
    """Of one key's versions (newest first), the latest, or the one whose version starts with ``version``.

    Raises:
        CatalogError: there is none (``where`` says where it was looked for), or no (or more than one) match.
    """
    shown = json.dumps(key, ensure_ascii=False)
    if not versions:
        raise CatalogError(f"nothing is archived for {shown} in table {table!r} ({where})")
    if version is None:
        return versions[0]
    matches = [v for v in versions if v.version.startswith(version)]
    if len(matches) != 1:
        listed = ", ".join(v.version for v in versions)
        raise CatalogError(
            f"{len(matches)} archived versions of {shown} start with {version!r}; the versions are: {listed}"
        )
    return matches[0]

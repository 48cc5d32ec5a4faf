"""S3ArchiveStore: the ArchiveStore port on one S3 bucket, write-once, with bounded retries.

Every put is conditional (``IfNoneMatch="*"``): S3 writes the object only if the key is free and
answers 412 ``PreconditionFailed`` otherwise, so an archived deletion is never overwritten. An
object key is derived from the deletion itself (time, sequence number, eventID; see
``archiver/archive.py``) and its body is deterministic, so the usual writer of a taken key is an
earlier delivery of the same record. On a 412 the stored body is read back (one GET, only on this
path) and compared byte for byte: the same body is a success (this deletion is archived already);
another body is :class:`~archiver.ports.ObjectConflictError`, and the service dead-letters the
record with the reason. That is a redelivery carrying another image for the same version (an
altered record), or one archived before under other ``drop_attributes``: either way the stored
object is kept and the difference is reported, never dropped in silence.

How the retries combine, and the trap they must survive:

- ``adapters/aws.py`` turns botocore's retries off (``total_max_attempts=1``), so each tenacity
  attempt in :class:`~adapters.aws.retries.RetryPolicy` is exactly one HTTP request, and the policy
  alone decides what is retried (throttling, 5xx, 409 ``ConditionalRequestConflict``, dropped
  connections) and logs each retry. With botocore retries on as well, attempts multiply.
- A put can *succeed* in S3 and still look failed here: the connection drops or a 500 comes back
  after S3 committed the write. The retry then meets its own object and is answered 412; the body
  read back is its own, so the lost answer ends ``Archived`` (one object, no dead letter) instead
  of a false failure; treating every 412 as an error would dead-letter a record that is archived.
- 409 ``ConditionalRequestConflict`` means another conditional write to the same key is in flight
  (a duplicate delivery handled concurrently); retrying gets the 412 above once that one lands.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, unquote

import structlog
from botocore.exceptions import ClientError

from adapters.aws.retries import AWSCallError, RetryPolicy, error_code, http_status
from archiver.compact import CompactObject
from archiver.ports import ObjectConflictError, ObjectNotFoundError, StoreUnavailableError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from mypy_boto3_s3 import S3Client

    from archiver.archive import ArchiveObject

__all__ = [
    "COMPACT_CONTENT_TYPE",
    "METADATA_KIND",
    "S3ArchiveStore",
    "already_exists",
    "encryption_parameters",
]

METADATA_KIND = "archiver-deletion-kind"
#: A compact object is a gzip file (of JSON lines); see ``S3ArchiveStore.put`` for why not Content-Encoding.
COMPACT_CONTENT_TYPE = "application/gzip"
_ALREADY_EXISTS = "PreconditionFailed"
T = TypeVar("T")
_log = structlog.get_logger("adapters.aws.s3_store")


class S3ArchiveStore:
    """Archive objects in ``bucket``, encrypted at rest (SSE-S3, or SSE-KMS with ``kms_key_id``).

    An object's only user metadata is its deletion kind (see ``_metadata``): its table and encoded
    key are in its key already, and every header is CPU on each put.

    Args:
        client: an S3 client, ideally from ``adapters.aws.clients.aws_clients`` (botocore retries off).
        bucket: the archive bucket.
        kms_key_id: a KMS key id, ARN or alias for SSE-KMS; ``None`` for SSE-S3 (AES256).
        retry: attempts, total time and waits; tests pass tiny waits.
        page_size: keys per ListObjectsV2 page (S3's maximum, 1,000, unless a test wants pages).
    """

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        kms_key_id: str | None = None,
        *,
        retry: RetryPolicy | None = None,
        page_size: int = 1000,
    ) -> None:
        self._client = client
        self.bucket = bucket
        self.kms_key_id = kms_key_id
        self._retry = retry or RetryPolicy()
        self._page_size = page_size
        self._encryption = encryption_parameters(kms_key_id)

    def put(self, obj: ArchiveObject | CompactObject) -> None:
        """Write ``obj`` unless its key exists; then the stored body must be ``obj``'s (this deletion,
        or this batch, archived already).

        A compact object is stored as the gzip file it is: ``Content-Type: application/gzip`` and no
        ``Content-Encoding``. With ``Content-Encoding: gzip`` browsers, ``curl --compressed`` and
        other HTTP clients would unpack it on download, so a ``.jsonl.gz`` would arrive as plain JSON
        lines of another length than stored; without it, what is downloaded is what S3 holds.
        It carries no metadata: its lines mix deletion kinds, and each line says its own.

        Raises:
            ObjectConflictError: the key holds another body (kept as it is).
            StoreUnavailableError: it could not be written, or the existing object not read.
        """
        if isinstance(obj, CompactObject):
            context: dict[str, Any] = {"table": obj.table, "object_key": obj.key, "lines": obj.lines}
            headers: dict[str, Any] = {"ContentType": COMPACT_CONTENT_TYPE}
        else:
            context = {"table": obj.table, "encoded_key": obj.encoded_key, "object_key": obj.key}
            headers = {"ContentType": "application/json", "Metadata": _metadata(obj)}

        def attempt() -> bool:
            try:
                self._client.put_object(
                    Bucket=self.bucket,
                    Key=obj.key,
                    Body=obj.body,
                    IfNoneMatch="*",
                    **headers,
                    **self._encryption,
                )
            except ClientError as error:
                if already_exists(error):
                    return False
                raise
            return True

        if self._call("s3:PutObject", attempt, **context):
            return
        try:
            stored = self.get(obj.key)
        except ObjectNotFoundError:  # removed between the 412 and the read (a lifecycle expiry): not ours to judge
            raise StoreUnavailableError(
                f"s3:PutObject was answered 412 for {obj.key!r} but the object was gone when read back; "
                f"redrive the record to write it (bucket {self.bucket!r})"
            ) from None
        if stored != obj.body:
            _log.warning("archive object holds another body; kept as it is", stored_bytes=len(stored), **context)
            raise ObjectConflictError(obj.key)
        _log.debug("archive object exists with this body; this deletion is archived already", **context)

    def list_keys(self, prefix: str, start_after: str = "") -> Iterator[str]:
        """Every key under ``prefix`` after ``start_after``, ascending (S3 lists in UTF-8 binary
        order), page by page: a page is fetched only when the one before is used up.

        Pages by continuation token rather than with a paginator so that each page is one retried
        call: a paginator's generator is dead after its first exception, and retrying ``next()`` on
        it would end the listing early, silently.
        """
        token: str | None = None
        while True:
            request: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": self._page_size}
            if token:
                request["ContinuationToken"] = token
            elif start_after:
                request["StartAfter"] = start_after
            page = self._call("s3:ListObjectsV2", partial(self._client.list_objects_v2, **request), prefix=prefix)
            for item in page.get("Contents", []):
                yield item["Key"]
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    def get(self, key: str) -> bytes:
        """The object's body; ObjectNotFoundError if there is none."""

        def attempt() -> bytes:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
            return response["Body"].read()  # inside the attempt: a dropped stream is retried too

        try:
            return self._call("s3:GetObject", attempt, object_key=key)
        except StoreUnavailableError as error:
            if isinstance(error.__cause__, AWSCallError) and error.__cause__.code in ("NoSuchKey", "404"):
                raise ObjectNotFoundError(f"no object {key!r} in bucket {self.bucket!r}") from None
            raise

    def read_streamed(self, key: str, consume: Callable[[Iterator[bytes]], T], chunk_size: int = 256 * 1024) -> T:
        """``consume(chunks)`` of the object's body as it arrives, for a reader that need not hold it whole
        (a compact object is inflated chunk by chunk).

        The GET and ``consume`` are one attempt: a stream that drops half-way is retried from the
        start, so ``consume`` must be a pure function of the chunks (it may run more than once).

        Raises:
            ObjectNotFoundError: no object has this key.
            StoreUnavailableError: it could not be read.
        """

        def attempt() -> T:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
            return consume(response["Body"].iter_chunks(chunk_size))

        try:
            return self._call("s3:GetObject", attempt, object_key=key)
        except StoreUnavailableError as error:
            if isinstance(error.__cause__, AWSCallError) and error.__cause__.code in ("NoSuchKey", "404"):
                raise ObjectNotFoundError(f"no object {key!r} in bucket {self.bucket!r}") from None
            raise

    def deletion_kind(self, key: str) -> str | None:
        """The deletion kind the object's metadata records (a HEAD: no body travels); None if it has none.

        Raises:
            ObjectNotFoundError: no object has this key.
            StoreUnavailableError: it could not be read.
        """
        try:
            head = self._call(
                "s3:HeadObject", partial(self._client.head_object, Bucket=self.bucket, Key=key), object_key=key
            )
        except StoreUnavailableError as error:
            if isinstance(error.__cause__, AWSCallError) and error.__cause__.code in ("NoSuchKey", "404"):
                raise ObjectNotFoundError(f"no object {key!r} in bucket {self.bucket!r}") from None
            raise
        kind = head.get("Metadata", {}).get(METADATA_KIND)
        return unquote(kind) if kind else None

    def _call(self, operation: str, fn: Callable[[], T], **context: Any) -> T:
        try:
            return self._retry.call(operation, fn, bucket=self.bucket, **context)
        except AWSCallError as error:
            raise StoreUnavailableError(f"{error} (bucket {self.bucket!r})", attempts=error.attempts) from error


def encryption_parameters(kms_key_id: str | None) -> dict[str, Any]:
    """The PutObject parameters that encrypt an object in the archive bucket: SSE-KMS with ``kms_key_id``
    and an S3 Bucket Key (which spares one KMS call per object: cost, and KMS throttling), else SSE-S3.

    Every writer of the bucket (archive objects, oversized dead letters) uses these, so nothing in it
    is encrypted differently from the rest.
    """
    if kms_key_id:
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id, "BucketKeyEnabled": True}
    return {"ServerSideEncryption": "AES256"}


def already_exists(error: Exception) -> bool:
    """Whether a conditional put was refused because the key holds an object (412 PreconditionFailed)."""
    return isinstance(error, ClientError) and (error_code(error) == _ALREADY_EXISTS or http_status(error) == 412)


def _metadata(obj: ArchiveObject) -> dict[str, str]:
    """The object's user metadata: only the deletion kind, which ``archiver list --kind`` reads with a
    HEAD (no body travels). The table and the encoded key are not repeated here: the object key
    (``<prefix>/<table>/<encoded key>/<version>.json``) already carries both. Each metadata entry is
    one more HTTP header that botocore builds, validates and signs on every put, CPU time on a
    function billed by its duration.

    User metadata travels in HTTP headers, so it must be ASCII: anything else is %-encoded. The kind
    is ASCII by construction; it is quoted all the same, to be safe.
    """
    return {METADATA_KIND: _ascii(obj.kind)}


def _ascii(value: str) -> str:
    return value if value.isascii() and value.isprintable() else quote(value, safe="")

"""S3DeadLetterOverflow: where a dead letter too large for its queue is kept whole, in the archive bucket.

SQS takes at most 1 MiB per message (less where a queue sets a smaller MaximumMessageSize). A letter
above that used to travel reduced to its keys and identifiers, and for an event we could not read
at all (600 records under an unknown key) nothing of the deletions remained anywhere. Now the whole
letter, the very JSON the message would have held, is written to the archive bucket and the message
says where (see :class:`~adapters.aws.sqs_dead_letters.SQSDeadLetterSink`).

Layout: ``<prefix>/<table>/_dead-letters/<YYYY-MM-DD>/<sha256 of the letter>.json``
(:func:`archiver.archive.dead_letter_key`), inside the table's folder because that is all the
function's role may write (``terraform/modules/table-archive/iam.tf`` grants PutObject on
``<prefix>/<table>/*`` only). A letter that names no table, with no ``ARCHIVER_TABLE`` to fall back
on, is therefore not written: the sink's report then fails, so the invocation fails for it and
the platform keeps the record (never a letter that holds none). (The deployed function always has
``ARCHIVER_TABLE``; only a hand-built sink can meet this.)

Objects are written once (``IfNoneMatch="*"``) and named by their content, so a retried send
writes nothing new: a 412 means this very letter is there already. They are encrypted exactly as
archive objects are (:func:`~adapters.aws.s3_store.encryption_parameters`), and expire with the
table's retention, since the table's lifecycle rule covers its whole folder.

:class:`S3KeptLetters` reads them back (the KeptLetters port), for `archiver redrive`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import structlog
from botocore.exceptions import ClientError

from adapters.aws.retries import AWSCallError, RetryPolicy
from adapters.aws.s3_store import S3ArchiveStore, already_exists, encryption_parameters
from archiver.archive import dead_letter_key
from archiver.policy import Policies

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_s3 import S3Client

    from archiver.ports import DeadLetter

__all__ = ["LetterLocation", "LetterNotWrittenError", "S3DeadLetterOverflow", "S3KeptLetters"]

_log = structlog.get_logger("adapters.aws.s3_dead_letters")


class LetterNotWrittenError(Exception):
    """The letter could not be kept in the bucket (no table to file it under, or S3 refused)."""


@dataclass(frozen=True, slots=True)
class LetterLocation:
    """Where a whole letter is kept, and how to check it is the one meant."""

    bucket: str
    key: str
    size: int  # bytes of the stored letter
    sha256: str  # hex digest of those bytes (also the object's name)


def _today() -> date:
    return datetime.now(UTC).date()


class S3DeadLetterOverflow:
    """Writes whole dead letters to ``bucket``, write-once, encrypted as the archive objects are.

    Args:
        client: an S3 client, ideally from ``adapters.aws.clients.aws_clients`` (botocore retries off).
        bucket: the archive bucket.
        kms_key_id: as for :class:`~adapters.aws.s3_store.S3ArchiveStore`; None for SSE-S3.
        policies: the tables' prefixes, and the table to file a letter under when it names none.
        retry: attempts, total time and waits; tests pass tiny waits.
        today: the day a letter is filed under (UTC); tests fix it.
    """

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        kms_key_id: str | None = None,
        *,
        policies: Policies | None = None,
        retry: RetryPolicy | None = None,
        today: Callable[[], date] = _today,
    ) -> None:
        self._client = client
        self.bucket = bucket
        self._encryption = encryption_parameters(kms_key_id)
        self._policies = policies or Policies()
        self._retry = retry or RetryPolicy()
        self._today = today

    def write(self, letter: DeadLetter, body: str) -> LetterLocation:
        """Keep ``body`` (the letter's full message body) and say where it is.

        Raises:
            LetterNotWrittenError: the letter names no table and none is configured, or S3 kept
                failing; the message says which.
        """
        table = letter.table or self._policies.fallback_table
        if not table:
            raise LetterNotWrittenError(
                "the letter names no table and ARCHIVER_TABLE is unset, so it has no folder the function may write to"
            )
        data = body.encode("utf-8", "surrogatepass")
        digest = hashlib.sha256(data).hexdigest()
        key = dead_letter_key(self._policies.for_table(table).prefix, table, self._today(), digest)
        context = {"table": table, "record_id": letter.record_id, "object_key": key, "bucket": self.bucket}

        def attempt() -> None:
            try:
                self._client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=data,
                    ContentType="application/json",
                    IfNoneMatch="*",
                    **self._encryption,
                )
            except ClientError as error:
                if already_exists(error):  # named by its content: this very letter is kept already
                    return
                raise

        try:
            self._retry.call("s3:PutObject", attempt, **context)
        except AWSCallError as error:
            raise LetterNotWrittenError(f"{error} (bucket {self.bucket!r}, key {key!r})") from error
        _log.info("dead letter kept in the archive bucket", size=len(data), **context)
        return LetterLocation(self.bucket, key, len(data), digest)


class S3KeptLetters:
    """The KeptLetters port: a kept letter read back from the bucket its message names.

    Raises ObjectNotFoundError (expired with the table's retention, or deleted) or
    StoreUnavailableError, as :meth:`S3ArchiveStore.get` does.
    """

    def __init__(self, client: S3Client, *, retry: RetryPolicy | None = None) -> None:
        self._client = client
        self._retry = retry

    def read(self, bucket: str, key: str) -> bytes:
        return S3ArchiveStore(self._client, bucket, retry=self._retry).get(key)

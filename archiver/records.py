"""One raw DynamoDB stream record -> a DeletedItem, a NotADeletion, or an Unreadable with its reason.

This is the edge of the core: whatever arrives (a well-formed record, a published sample with
placeholder ARNs, a hand-written test event, garbage) is parsed once here. After it, no field is
optional "just in case"; a record that cannot be understood becomes an ``Unreadable`` whose reason
names the field, the value received and what would be accepted, and the service dead-letters it.

The attribute values inside the record (its ``Keys`` and ``OldImage``) are checked in
attribute_values.py; the record's other fields, its deletion kind and time, here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Context, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from archiver.attribute_values import InvalidFieldError, check_image_key, read_attribute, shown
from archiver.keys import InvalidKeyError, canonical_key, encode_key, read_number
from archiver.policy import DeletionKind, Policies

__all__ = [
    "TTL_PRINCIPAL",
    "DeletedItem",
    "NotADeletion",
    "ParsedRecord",
    "TtlEvidence",
    "Unreadable",
    "read_record",
    "record_id_of",
    "table_from_arn",
]

TTL_PRINCIPAL = "dynamodb.amazonaws.com"
_TABLE_ARN = re.compile(r"arn:aws[a-z-]*:dynamodb:[^:]*:[^:]*:table/(?P<table>[A-Za-z0-9_.-]{3,255})(?:/stream/\S+)?")
#: Seconds since the epoch above this are milliseconds (the year 5138 in seconds).
_MILLISECONDS_ABOVE = 100_000_000_000
#: Reads a creation time's text whatever the thread's decimal context: malformed raises, nothing rounds.
_READING = Context(traps=[InvalidOperation])


class TtlEvidence(StrEnum):
    """What decided the deletion kind, recorded in the archive so the decision can be audited."""

    USER_IDENTITY = "userIdentity"  # the record says the TTL service deleted it
    EXPIRED_ATTRIBUTE = "expired-ttl-attribute"  # the configured TTL attribute had passed
    NONE = "none"  # nothing says TTL: a user deletion


@dataclass(frozen=True, slots=True)
class DeletedItem:
    """A REMOVE record understood: everything the archive needs, validated."""

    record_id: str
    table: str
    key: Mapping[str, Mapping[str, str]]  # canonical
    encoded_key: str
    image: Mapping[str, Any]  # the old image as received (DynamoDB JSON); empty when missing
    image_missing: bool
    deleted_at: datetime | None  # None where the record carries no ApproximateCreationDateTime
    kind: DeletionKind
    evidence: TtlEvidence
    event_id: str
    event_id_digest: str  # of eventID, or of the whole record where it has none
    sequence_number: int
    region: str
    event_source_arn: str
    stream_view_type: str
    raw_creation_time: object


@dataclass(frozen=True, slots=True)
class NotADeletion:
    """An INSERT or MODIFY: nothing to archive."""

    record_id: str
    event_name: str
    table: str | None = None


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A record that cannot be archived as it is; ``reason`` names the field and the fix."""

    record_id: str
    reason: str
    table: str | None = None


ParsedRecord = DeletedItem | NotADeletion | Unreadable


def record_id_of(raw: object, index: int) -> str:
    """The record's eventID, else its sequence number, else its place in the batch."""
    if isinstance(raw, Mapping):
        event_id = raw.get("eventID")
        if isinstance(event_id, str) and event_id:
            return event_id
        dynamodb = raw.get("dynamodb")
        if isinstance(dynamodb, Mapping) and isinstance(dynamodb.get("SequenceNumber"), str):
            return f"seq:{dynamodb['SequenceNumber']}"
    return f"record#{index}"


def table_from_arn(arn: object) -> str | None:
    """The table name in a table or stream ARN, or None where there is none to read."""
    if not isinstance(arn, str):
        return None
    match = _TABLE_ARN.fullmatch(arn)
    return match["table"] if match else None


def read_record(raw: object, policies: Policies, index: int = 0) -> ParsedRecord:
    """Parse one stream record as delivered (any envelope already removed)."""
    record_id = record_id_of(raw, index)
    if not isinstance(raw, Mapping):
        return Unreadable(
            record_id,
            f"record is a {type(raw).__name__}, not a JSON object; expected a "
            "DynamoDB stream record with eventName and dynamodb",
        )
    event_name = raw.get("eventName")
    table = table_from_arn(raw.get("eventSourceARN")) or policies.fallback_table
    if event_name in ("INSERT", "MODIFY"):
        return NotADeletion(record_id, event_name, table)
    if event_name != "REMOVE":
        return Unreadable(record_id, f"eventName is {event_name!r}; expected 'INSERT', 'MODIFY' or 'REMOVE'", table)
    if table is None:
        return Unreadable(
            record_id,
            f"eventSourceARN {raw.get('eventSourceARN')!r} names no table and no fallback table is "
            "configured; expected arn:aws:dynamodb:REGION:ACCOUNT:table/NAME[/stream/LABEL], or set "
            "ARCHIVER_TABLE",
        )
    try:
        return _read_removal(raw, record_id, table, policies)
    except InvalidFieldError as error:
        return Unreadable(record_id, str(error), table)


def _read_removal(raw: Mapping[str, Any], record_id: str, table: str, policies: Policies) -> DeletedItem:
    dynamodb = raw.get("dynamodb")
    if not isinstance(dynamodb, Mapping):
        raise InvalidFieldError(f"dynamodb is {shown(dynamodb)}; a REMOVE record needs a 'dynamodb' object with Keys")
    keys = dynamodb.get("Keys")
    if not isinstance(keys, Mapping) or not keys:
        raise InvalidFieldError(
            f'dynamodb.Keys is {shown(keys)}; expected the item key in DynamoDB JSON, e.g. {{"PK": {{"S": "USER#1"}}}}'
        )
    try:
        key = canonical_key({name: read_attribute(value, f"dynamodb.Keys.{name}") for name, value in keys.items()})
        encoded = encode_key(key)
    except InvalidKeyError as error:
        raise InvalidFieldError(f"dynamodb.Keys: {error}") from None
    old = dynamodb.get("OldImage")
    if old is None:
        image: dict[str, Any] = {}
    elif isinstance(old, Mapping):
        image = {name: read_attribute(value, f"dynamodb.OldImage.{name}") for name, value in old.items()}
    else:
        raise InvalidFieldError(f"dynamodb.OldImage is {shown(old)}; expected an object of attributes or no field")
    check_image_key(key, image, keys)
    policy = policies.for_table(table)
    raw_time = dynamodb.get("ApproximateCreationDateTime")
    seconds = _creation_seconds(raw_time)
    deleted_at = _as_datetime(seconds, raw_time)
    kind, evidence = _deletion_kind(raw.get("userIdentity"), image, seconds, policy.ttl_attribute)
    event_id = raw.get("eventID")
    if event_id is not None and not isinstance(event_id, str):
        raise InvalidFieldError(f"eventID is {shown(event_id)}; expected a string")
    digest_of = event_id or _content(raw)
    return DeletedItem(
        record_id=record_id,
        table=table,
        key=key,
        encoded_key=encoded,
        image=image,
        image_missing=old is None,
        deleted_at=deleted_at,
        kind=kind,
        evidence=evidence,
        event_id=event_id or "",
        event_id_digest=hashlib.sha256(digest_of.encode("utf-8", "surrogatepass")).hexdigest()[:16],
        sequence_number=_sequence_number(dynamodb.get("SequenceNumber")),
        region=_region(raw),
        event_source_arn=str(raw.get("eventSourceARN") or ""),
        stream_view_type=str(dynamodb.get("StreamViewType") or ""),
        raw_creation_time=raw_time,
    )


def _content(raw: Mapping[str, Any]) -> str:
    """The record as canonical JSON, to identify a record that has no eventID."""
    try:
        return json.dumps(raw, sort_keys=True, default=str)
    except (RecursionError, TypeError, ValueError) as error:
        raise InvalidFieldError(
            f"record has no eventID and cannot be identified by its content ({type(error).__name__}: its "
            f"fields nest deeper than JSON can be written, or have keys that are not strings); expected an eventID"
        ) from None


def _creation_seconds(value: object) -> Decimal | None:
    """ApproximateCreationDateTime as exact epoch seconds: int, float, exponent string, or milliseconds.

    Exact so that the TTL comparison sees the time the record says, not a rounded one: no decimal
    arithmetic in the thread's context (which keeps 28 digits), milliseconds are scaled by moving
    the exponent.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidFieldError(f"dynamodb.ApproximateCreationDateTime is {shown(value)}; expected epoch seconds")
    try:
        seconds = Decimal(value) if isinstance(value, int) else Decimal(str(value).strip(), _READING)
    except InvalidOperation:
        raise InvalidFieldError(
            f"dynamodb.ApproximateCreationDateTime is {shown(value)}; expected epoch seconds "
            "such as 1693997155 or 1.44130524E9"
        ) from None
    if not seconds.is_finite() or seconds < 0:
        raise InvalidFieldError(f"dynamodb.ApproximateCreationDateTime is {shown(value)}; expected epoch seconds >= 0")
    if seconds > _MILLISECONDS_ABOVE:
        sign, digits, exponent = seconds.as_tuple()
        assert isinstance(exponent, int)  # finite
        seconds = Decimal((sign, digits, exponent - 3))
    return seconds


def _as_datetime(seconds: Decimal | None, raw: object) -> datetime | None:
    """The deletion time as an aware datetime (to the microsecond, as datetime holds it)."""
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(float(seconds), tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidFieldError(
            f"dynamodb.ApproximateCreationDateTime is {shown(raw)}; too far in the future"
        ) from None


def _sequence_number(value: object) -> int:
    if value is None:
        return 0
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) > 40:
        raise InvalidFieldError(f"dynamodb.SequenceNumber is {shown(value)}; expected a string of up to 40 digits")
    return int(value)


def _region(raw: Mapping[str, Any]) -> str:
    region = raw.get("awsRegion")
    if isinstance(region, str) and region:
        return region
    arn = raw.get("eventSourceARN")
    parts = arn.split(":") if isinstance(arn, str) else []
    return parts[3] if len(parts) > 3 else ""


def _deletion_kind(
    identity: object, image: Mapping[str, Any], deleted_at_seconds: Decimal | None, ttl_attribute: str | None
) -> tuple[DeletionKind, TtlEvidence]:
    """TTL when the record says so, or when the TTL attribute had passed at the deletion time.

    Global tables replicate a TTL deletion to the other regions as an ordinary REMOVE without the
    service identity, so the identity alone would call those user deletions. Both times are exact
    (epoch seconds as written), and comparing Decimals is exact, so a TTL one digit past the 28th
    after the deletion time is still in the future.
    """
    if (
        isinstance(identity, Mapping)
        and identity.get("type") == "Service"
        and identity.get("principalId") == TTL_PRINCIPAL
    ):
        return DeletionKind.TTL, TtlEvidence.USER_IDENTITY
    if ttl_attribute and deleted_at_seconds is not None:
        expiry = image.get(ttl_attribute)
        if isinstance(expiry, Mapping) and isinstance(expiry.get("N"), str):
            try:
                expires = read_number(expiry["N"])
            except InvalidKeyError:  # the image was validated; a TTL that is no number is no evidence
                return DeletionKind.USER, TtlEvidence.NONE
            if expires <= deleted_at_seconds:
                return DeletionKind.TTL, TtlEvidence.EXPIRED_ATTRIBUTE
    return DeletionKind.USER, TtlEvidence.NONE

"""One raw DynamoDB stream record -> a DeletedItem, a NotADeletion, or an Unreadable with its reason.

This is the edge of the core: whatever arrives (a well-formed record, a published sample with
placeholder ARNs, a hand-written test event, garbage) is parsed once here. After it, no field is
optional "just in case"; a record that cannot be understood becomes an ``Unreadable`` whose reason
names the field, the value received and what would be accepted, and the service dead-letters it.

It is longer than most modules (about 400 lines) because it is one reading of one record: every
check a record must pass before it may be archived is here, in the order the record is read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Context, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from archiver.keys import InvalidKeyError, canonical_key, encode_key, read_number
from archiver.policy import DeletionKind, Policies

__all__ = [
    "MAX_NESTING",
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
_TYPES = frozenset({"S", "N", "B", "SS", "NS", "BS", "M", "L", "BOOL", "NULL"})
#: DynamoDB nests attributes at most 32 levels deep (in maps and lists): an image deeper than that
#: cannot have come from a table, and reading one level at a time must stop before Python's recursion limit.
MAX_NESTING = 32
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


class _Invalid(ValueError):
    pass


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
    except _Invalid as error:
        return Unreadable(record_id, str(error), table)


def _read_removal(raw: Mapping[str, Any], record_id: str, table: str, policies: Policies) -> DeletedItem:
    dynamodb = raw.get("dynamodb")
    if not isinstance(dynamodb, Mapping):
        raise _Invalid(f"dynamodb is {_shown(dynamodb)}; a REMOVE record needs a 'dynamodb' object with Keys")
    keys = dynamodb.get("Keys")
    if not isinstance(keys, Mapping) or not keys:
        raise _Invalid(
            f'dynamodb.Keys is {_shown(keys)}; expected the item key in DynamoDB JSON, e.g. {{"PK": {{"S": "USER#1"}}}}'
        )
    try:
        key = canonical_key({name: _attribute(value, f"dynamodb.Keys.{name}") for name, value in keys.items()})
        encoded = encode_key(key)
    except InvalidKeyError as error:
        raise _Invalid(f"dynamodb.Keys: {error}") from None
    old = dynamodb.get("OldImage")
    if old is None:
        image: dict[str, Any] = {}
    elif isinstance(old, Mapping):
        image = {name: _attribute(value, f"dynamodb.OldImage.{name}") for name, value in old.items()}
    else:
        raise _Invalid(f"dynamodb.OldImage is {_shown(old)}; expected an object of attributes or no field")
    _check_image_key(key, image, keys)
    policy = policies.for_table(table)
    raw_time = dynamodb.get("ApproximateCreationDateTime")
    seconds = _creation_seconds(raw_time)
    deleted_at = _as_datetime(seconds, raw_time)
    kind, evidence = _deletion_kind(raw.get("userIdentity"), image, seconds, policy.ttl_attribute)
    event_id = raw.get("eventID")
    if event_id is not None and not isinstance(event_id, str):
        raise _Invalid(f"eventID is {_shown(event_id)}; expected a string")
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


def _check_image_key(key: Mapping[str, Mapping[str, str]], image: Mapping[str, Any], keys: Mapping[str, Any]) -> None:
    """Refuse a record whose old image holds another key than its ``Keys``.

    The archive files a deletion under ``Keys`` and a restore writes the image, so such a record
    would put one item back under another item's key. DynamoDB sends the deleted item's own key in
    both, so only an altered or hand-made record disagrees; it is dead-lettered here, once, and no
    restore ever meets it. Values compare as DynamoDB compares keys: numbers by value (``1.0`` is
    ``1``), binaries by their bytes. An image without a key attribute is left alone: a restore takes
    that attribute from ``Keys``.
    """
    for name, expected in key.items():
        if name not in image or image[name] == keys[name]:  # the usual case: the same text, the same value
            continue
        try:
            same = canonical_key({name: image[name]}) == {name: expected}
        except InvalidKeyError:  # a set, a map, a malformed number: no key value at all
            same = False
        if not same:
            raise _Invalid(
                f"dynamodb.OldImage.{name} is {_json_shown(image[name])} but dynamodb.Keys.{name} is "
                f"{_json_shown(keys[name])}: the image of a deleted item holds the key it was deleted under, so "
                f"this record was altered or made by hand; make the two agree and redrive it"
            )


def _json_shown(value: object) -> str:
    """A validated attribute value as DynamoDB JSON, shortened to keep a message one readable line."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return f"{text[:80]}... ({len(text)} characters)" if len(text) > 100 else text


def _content(raw: Mapping[str, Any]) -> str:
    """The record as canonical JSON, to identify a record that has no eventID."""
    try:
        return json.dumps(raw, sort_keys=True, default=str)
    except (RecursionError, TypeError, ValueError) as error:
        raise _Invalid(
            f"record has no eventID and cannot be identified by its content ({type(error).__name__}: its "
            f"fields nest deeper than JSON can be written, or have keys that are not strings); expected an eventID"
        ) from None


def _shown(value: object) -> str:
    if value is None:
        return "missing"
    try:
        text = repr(value)
    except RecursionError:  # nested deeper than repr goes: show the outer levels
        text = reprlib.repr(value)
    return f"{text[:60]}..." if len(text) > 60 else text


def _creation_seconds(value: object) -> Decimal | None:
    """ApproximateCreationDateTime as exact epoch seconds: int, float, exponent string, or milliseconds.

    Exact so that the TTL comparison sees the time the record says, not a rounded one: no decimal
    arithmetic in the thread's context (which keeps 28 digits), milliseconds are scaled by moving
    the exponent.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _Invalid(f"dynamodb.ApproximateCreationDateTime is {_shown(value)}; expected epoch seconds")
    try:
        seconds = Decimal(value) if isinstance(value, int) else Decimal(str(value).strip(), _READING)
    except InvalidOperation:
        raise _Invalid(
            f"dynamodb.ApproximateCreationDateTime is {_shown(value)}; expected epoch seconds "
            "such as 1693997155 or 1.44130524E9"
        ) from None
    if not seconds.is_finite() or seconds < 0:
        raise _Invalid(f"dynamodb.ApproximateCreationDateTime is {_shown(value)}; expected epoch seconds >= 0")
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
        raise _Invalid(f"dynamodb.ApproximateCreationDateTime is {_shown(raw)}; too far in the future") from None


def _sequence_number(value: object) -> int:
    if value is None:
        return 0
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) > 40:
        raise _Invalid(f"dynamodb.SequenceNumber is {_shown(value)}; expected a string of up to 40 digits")
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


def _attribute(value: object, where: str, depth: int = 0) -> dict[str, Any]:
    """Validate one AttributeValue (recursively) and return it as received.

    An AttributeValue serialised by the Java SDK v1 carries all ten type keys, nine of them null;
    those nulls are dropped, nothing else is changed.

    ``depth`` is how many maps and lists hold the value (0 for an item's attribute). A value deeper
    than :data:`MAX_NESTING` is refused before its members are read, so the recursion never goes
    deeper than DynamoDB's own limit, whatever the record holds.
    """
    if depth > MAX_NESTING:
        raise _Invalid(
            f"{_path(where)} is nested {depth} levels deep in maps and lists; DynamoDB nests attributes at most "
            f"{MAX_NESTING} levels deep, so no item of a table holds this"
        )
    if isinstance(value, Mapping) and len(value) > 1:
        value = {kind: inner for kind, inner in value.items() if inner is not None}
    if not isinstance(value, Mapping) or len(value) != 1:
        raise _Invalid(f'{where} is {_shown(value)}; expected one typed value such as {{"S": "text"}}')
    ((kind, inner),) = value.items()
    if kind not in _TYPES:
        if depth == 0 and where.startswith("dynamodb.Keys."):  # not one of ten: a key is one of three
            raise _Invalid(f"{where} has type {kind!r}; a key attribute is S, N or B")
        raise _Invalid(f"{where} has type {kind!r}; expected one of {', '.join(sorted(_TYPES))}")
    checked: Any = inner
    if kind in ("S", "N", "B"):
        _scalar(kind, inner, f"{where}.{kind}")
    elif kind in ("SS", "NS", "BS"):
        if not isinstance(inner, list):
            raise _Invalid(f"{where}.{kind} is {_shown(inner)}; expected a list")
        for i, member in enumerate(inner):
            _scalar(kind[0], member, f"{where}.{kind}[{i}]")
    elif kind == "M":
        if not isinstance(inner, Mapping):
            raise _Invalid(f"{where}.M is {_shown(inner)}; expected an object")
        checked = {name: _attribute(member, f"{where}.M.{name}", depth + 1) for name, member in inner.items()}
    elif kind == "L":
        if not isinstance(inner, list):
            raise _Invalid(f"{where}.L is {_shown(inner)}; expected a list")
        checked = [_attribute(member, f"{where}.L[{i}]", depth + 1) for i, member in enumerate(inner)]
    elif kind == "BOOL":
        if not isinstance(inner, bool):
            raise _Invalid(f"{where}.BOOL is {_shown(inner)}; expected true or false")
    elif inner is not True:
        raise _Invalid(f"{where}.NULL is {_shown(inner)}; expected true")
    return {kind: checked}


def _path(where: str) -> str:
    """A path for a message: names can be long, and 32 of them longer; keep both ends."""
    return where if len(where) <= 400 else f"{where[:200]}...{where[-200:]}"


def _scalar(kind: str, value: object, where: str) -> None:
    if not isinstance(value, str):
        raise _Invalid(f"{where} is {_shown(value)}; expected a string")
    if kind == "N":
        try:  # a number DynamoDB would refuse, it could not have sent: say so rather than archive it
            read_number(value, where)
        except InvalidKeyError as error:
            raise _Invalid(str(error)) from None
    elif kind == "B":
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise _Invalid(f"{where} is {_shown(value)}; expected base64-encoded bytes") from None

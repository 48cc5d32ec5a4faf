"""A stream record as boto3 parses it -> the JSON the service sends, as a pipe delivers it.

GetRecords' answer, parsed by boto3, holds bytes and datetimes; a pipe (and the core) sees binary
values as base64 text, ``ApproximateCreationDateTime`` as epoch seconds, and ``eventSourceARN``
set (GetRecords leaves it out; a pipe adds it, and the core reads the table from it). moto 5.2 also
encodes binary key values twice, which :func:`repair_keys` undoes where it can tell.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["repair_keys", "to_wire"]


def _wire_value(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {name: _wire_value(inner) for name, inner in value.items()}
    if isinstance(value, list | tuple | set):
        return [_wire_value(inner) for inner in value]
    return value


def to_wire(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """A record as boto3 parsed it -> the JSON the service sends (and a pipe delivers)."""
    wire: dict[str, Any] = _wire_value(dict(record))
    wire.setdefault("eventSourceARN", stream_arn)
    return wire


def _undo_double_base64(value: str) -> str:
    """``base64(base64(b))`` -> ``base64(b)``, only where the inner text is canonical base64."""
    try:
        inner = base64.b64decode(value, validate=True)
        text = inner.decode("ascii")
        if base64.b64encode(base64.b64decode(text, validate=True)).decode("ascii") == text:
            return text
    except (binascii.Error, ValueError):
        pass
    return value


def repair_keys(record: dict[str, Any], binary_keys_double_encoded: bool) -> dict[str, Any]:
    """Fix ``dynamodb.Keys`` of a wire record whose server encodes binary keys twice (moto 5.2).

    Where the record has an OldImage, the key attributes are taken from it (DynamoDB guarantees
    they are equal, so this is right against AWS too). Without one (a KEYS_ONLY stream), a B value
    is decoded once more only when ``binary_keys_double_encoded`` says the server is known to do it
    and the value really is base64 of base64 text; against AWS leave that flag off, since a binary
    key may legitimately be base64 text.
    """
    dynamodb = record.get("dynamodb")
    if not isinstance(dynamodb, dict) or not isinstance(dynamodb.get("Keys"), dict):
        return record
    keys: dict[str, Any] = dynamodb["Keys"]
    old = dynamodb.get("OldImage")
    repaired: dict[str, Any] = {}
    for name, value in keys.items():
        if isinstance(old, dict) and name in old:
            repaired[name] = old[name]
        elif binary_keys_double_encoded and isinstance(value, dict) and isinstance(value.get("B"), str):
            repaired[name] = {"B": _undo_double_base64(value["B"])}
        else:
            repaired[name] = value
    return {**record, "dynamodb": {**dynamodb, "Keys": repaired}}

"""An item's size as DynamoDB counts it, so a restore refuses an item the table would refuse, before asking.

DynamoDB takes items of at most 400 KB (409,600 bytes), where an item's size is the sum, over its
attributes, of the attribute name's UTF-8 length and the value's size (Developer Guide, "DynamoDB
item sizes and formats"):

- ``S``: UTF-8 bytes; ``B``: raw bytes (not the base64 text); ``BOOL``, ``NULL``: 1 byte;
- ``N``: 1 byte per two significant digits (leading and trailing zeros trimmed), plus 1 byte;
- ``SS``, ``NS``, ``BS``: the sum of their members' sizes;
- ``L``, ``M``: 3 bytes, plus per element 1 byte and its size (a map's keys count as names).

The number rule is documented as approximate; over an item of hundreds of kilobytes the difference
is a few bytes, so an item within that of the limit may still be refused by the table itself.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_ITEM_BYTES", "item_size"]

#: The most a DynamoDB item may hold: 400 KB.
MAX_ITEM_BYTES = 400 * 1024
_SCALAR_OVERHEAD = 1  # BOOL, NULL, and the extra byte of a number
_CONTAINER_OVERHEAD = 3  # L, M
_ELEMENT_OVERHEAD = 1  # per element of an L or M


def item_size(item: Mapping[str, Any]) -> int:
    """The size of ``item`` (wire DynamoDB JSON: ``{"name": {"S": "..."}}``, binaries as base64) in bytes.

    A value of no DynamoDB type counts by its JSON text, so a malformed item is never reported smaller
    than it is; the table refuses it for its form anyway.
    """
    return sum(_utf8(name) + _value_size(value) for name, value in item.items())


def _value_size(value: object) -> int:
    if not isinstance(value, Mapping) or len(value) != 1:
        return _utf8(str(value))
    ((kind, inner),) = value.items()
    match kind:
        case "S":
            return _utf8(str(inner))
        case "N":
            return _number_size(str(inner))
        case "B":
            return _binary_size(inner)
        case "BOOL" | "NULL":
            return _SCALAR_OVERHEAD
        case "SS" if isinstance(inner, list):
            return sum(_utf8(str(member)) for member in inner)
        case "NS" if isinstance(inner, list):
            return sum(_number_size(str(member)) for member in inner)
        case "BS" if isinstance(inner, list):
            return sum(_binary_size(member) for member in inner)
        case "L" if isinstance(inner, list):
            return _CONTAINER_OVERHEAD + sum(_ELEMENT_OVERHEAD + _value_size(member) for member in inner)
        case "M" if isinstance(inner, Mapping):
            return _CONTAINER_OVERHEAD + sum(
                _ELEMENT_OVERHEAD + _utf8(str(name)) + _value_size(member) for name, member in inner.items()
            )
    return _utf8(str(inner))


def _utf8(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _number_size(text: str) -> int:
    mantissa = text.lstrip("+-").lower().partition("e")[0]
    digits = mantissa.replace(".", "").strip("0")
    return (len(digits) + 1) // 2 + _SCALAR_OVERHEAD


def _binary_size(value: object) -> int:
    text = str(value)
    try:
        return len(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        return _utf8(text)

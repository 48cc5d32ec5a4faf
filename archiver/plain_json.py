"""DynamoDB JSON -> plain JSON text, every number exact: what ``archiver query`` shows as ``item``.

An archived image is DynamoDB JSON (``{"total": {"N": "12.50"}}``), exact but tiring to read and
to query. Its plain form (``{"total": 12.50}``) is built here as *text*, never through a float: a
DynamoDB number has up to 38 significant digits, a float 17, and the whole point of the archive
is that what comes back is what was deleted. The text keeps the number's own digits (``12.50``
stays ``12.50``); only what JSON cannot spell is respelt with the same value (``+5`` -> ``5``,
``.5`` -> ``0.5``, ``007`` -> ``7``, ``5.`` -> ``5``).

=========  =====================================
DynamoDB   plain JSON
=========  =====================================
S          string
N          number, its digits as stored
B          string (base64, as stored)
BOOL       true / false
NULL       null
SS BS      array of strings
NS         array of numbers
L          array, each element converted
M          object, each value converted
=========  =====================================

Pure (text in, text out), so the rules are hypothesis-tested in ``tests/unit/test_plain_json.py``.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any

from archiver.archive import escape_lone_surrogates

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["PlainJsonError", "plain_json", "plain_number"]

#: A JSON number as RFC 8259 spells it.
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
#: A decimal number as DynamoDB or a person may write it: sign, digits with an optional point, exponent.
_LOOSE_NUMBER = re.compile(r"(?P<sign>[+-]?)(?P<int>\d*)(?:\.(?P<frac>\d*))?(?:(?P<e>[eE])(?P<exp>[+-]?\d+))?")


class PlainJsonError(ValueError):
    """A value that is not DynamoDB JSON (no single type tag, or a tag DynamoDB does not have)."""


def plain_number(text: str) -> str:
    """``text`` (a DynamoDB N value) as a JSON number with the same digits.

    Raises:
        PlainJsonError: ``text`` is not a finite decimal number.
    """
    if _JSON_NUMBER.fullmatch(text):
        return text
    match = _LOOSE_NUMBER.fullmatch(text.strip())
    if match is None or not (match["int"] or match["frac"]) or not _finite(text):
        raise PlainJsonError(f"N value {text!r} is not a decimal number")
    whole = match["int"].lstrip("0") or "0"
    number = ("-" if match["sign"] == "-" else "") + whole
    if match["frac"]:
        number += "." + match["frac"]
    if match["e"]:
        number += match["e"] + match["exp"]
    return number


def _finite(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except InvalidOperation:
        return False


def plain_json(image: Mapping[str, Any]) -> str:
    """The plain JSON text of an image (a map of attribute name -> DynamoDB JSON value).

    Attribute order is kept; lone surrogates are written as their ``\\uXXXX`` escape, so the text
    is valid UTF-8 (see :func:`archiver.archive.escape_lone_surrogates`).

    Raises:
        PlainJsonError: a value is not DynamoDB JSON; the message names its path.
    """
    parts: list[str] = []
    _write_map(image, parts, "")
    return escape_lone_surrogates("".join(parts))


def _write_map(values: Mapping[str, Any], parts: list[str], path: str) -> None:
    if not isinstance(values, dict):
        raise PlainJsonError(f"{path or 'the image'} is {type(values).__name__}; expected a map of attributes")
    parts.append("{")
    first = True
    for name, value in values.items():
        if not first:
            parts.append(",")
        first = False
        parts.append(encode_basestring(name))
        parts.append(":")
        _write_value(value, parts, f"{path}.{name}" if path else name)
    parts.append("}")


def _write_value(value: Any, parts: list[str], path: str) -> None:
    if not isinstance(value, dict) or len(value) != 1:
        raise PlainJsonError(f"{path}: {value!r} is not DynamoDB JSON (one type tag, such as {{'S': 'x'}})")
    ((tag, inner),) = value.items()
    if tag in ("S", "B") and isinstance(inner, str):
        parts.append(encode_basestring(inner))
    elif tag == "N" and isinstance(inner, str):
        parts.append(_number(inner, path))
    elif tag == "BOOL" and isinstance(inner, bool):
        parts.append("true" if inner else "false")
    elif tag == "NULL":
        parts.append("null")
    elif tag == "M":
        _write_map(inner, parts, path)
    elif tag in ("L", "SS", "NS", "BS") and isinstance(inner, list):
        parts.append("[")
        for index, element in enumerate(inner):
            if index:
                parts.append(",")
            where = f"{path}[{index}]"
            if tag == "L":
                _write_value(element, parts, where)
            elif not isinstance(element, str):
                raise PlainJsonError(f"{where}: {element!r} in a {tag} set is not a string")
            elif tag == "NS":
                parts.append(_number(element, where))
            else:
                parts.append(encode_basestring(element))
        parts.append("]")
    else:
        raise PlainJsonError(f"{path}: {value!r} is not DynamoDB JSON (type {tag!r} with this value)")


def _number(text: str, path: str) -> str:
    try:
        return plain_number(text)
    except PlainJsonError as error:
        raise PlainJsonError(f"{path}: {error}") from None

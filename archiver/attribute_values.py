"""Whether a record's DynamoDB JSON (its ``Keys`` and ``OldImage``) could have come from a table.

records.py reads a stream record field by field; the attribute values inside it are checked here,
one AttributeValue at a time and recursively: the ten type keys, strings where DynamoDB sends
strings, numbers DynamoDB would accept, base64 binaries, at most :data:`MAX_NESTING` levels of maps
and lists, and an old image holding the key its ``Keys`` name. What fails raises
:class:`InvalidFieldError`, whose message names the field, the value received and what would be
accepted; records.py turns it into an ``Unreadable`` and the service dead-letters the record.
"""

from __future__ import annotations

import base64
import binascii
import json
import reprlib
from collections.abc import Mapping
from typing import Any

from archiver.keys import InvalidKeyError, canonical_key, read_number

__all__ = ["MAX_NESTING", "InvalidFieldError", "check_image_key", "read_attribute", "shown"]

_TYPES = frozenset({"S", "N", "B", "SS", "NS", "BS", "M", "L", "BOOL", "NULL"})
#: DynamoDB nests attributes at most 32 levels deep (in maps and lists): an image deeper than that
#: cannot have come from a table, and reading one level at a time must stop before Python's recursion limit.
MAX_NESTING = 32


class InvalidFieldError(ValueError):
    """A field of a stream record that no table could have sent; the message is the reason it is refused."""


def shown(value: object) -> str:
    """A received value for a one-line message: ``missing`` for None, else its repr, shortened."""
    if value is None:
        return "missing"
    try:
        text = repr(value)
    except RecursionError:  # nested deeper than repr goes: show the outer levels
        text = reprlib.repr(value)
    return f"{text[:60]}..." if len(text) > 60 else text


def check_image_key(key: Mapping[str, Mapping[str, str]], image: Mapping[str, Any], keys: Mapping[str, Any]) -> None:
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
            raise InvalidFieldError(
                f"dynamodb.OldImage.{name} is {_json_shown(image[name])} but dynamodb.Keys.{name} is "
                f"{_json_shown(keys[name])}: the image of a deleted item holds the key it was deleted under, so "
                f"this record was altered or made by hand; make the two agree and redrive it"
            )


def _json_shown(value: object) -> str:
    """A validated attribute value as DynamoDB JSON, shortened to keep a message one readable line."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return f"{text[:80]}... ({len(text)} characters)" if len(text) > 100 else text


def read_attribute(value: object, where: str, depth: int = 0) -> dict[str, Any]:
    """Validate one AttributeValue (recursively) and return it as received.

    An AttributeValue serialised by the Java SDK v1 carries all ten type keys, nine of them null;
    those nulls are dropped, nothing else is changed.

    ``depth`` is how many maps and lists hold the value (0 for an item's attribute). A value deeper
    than :data:`MAX_NESTING` is refused before its members are read, so the recursion never goes
    deeper than DynamoDB's own limit, whatever the record holds.
    """
    if depth > MAX_NESTING:
        raise InvalidFieldError(
            f"{_path(where)} is nested {depth} levels deep in maps and lists; DynamoDB nests attributes at most "
            f"{MAX_NESTING} levels deep, so no item of a table holds this"
        )
    if isinstance(value, Mapping) and len(value) > 1:
        value = {kind: inner for kind, inner in value.items() if inner is not None}
    if not isinstance(value, Mapping) or len(value) != 1:
        raise InvalidFieldError(f'{where} is {shown(value)}; expected one typed value such as {{"S": "text"}}')
    ((kind, inner),) = value.items()
    if kind not in _TYPES:
        if depth == 0 and where.startswith("dynamodb.Keys."):  # not one of ten: a key is one of three
            raise InvalidFieldError(f"{where} has type {kind!r}; a key attribute is S, N or B")
        raise InvalidFieldError(f"{where} has type {kind!r}; expected one of {', '.join(sorted(_TYPES))}")
    checked: Any = inner
    if kind in ("S", "N", "B"):
        _scalar(kind, inner, f"{where}.{kind}")
    elif kind in ("SS", "NS", "BS"):
        if not isinstance(inner, list):
            raise InvalidFieldError(f"{where}.{kind} is {shown(inner)}; expected a list")
        for i, member in enumerate(inner):
            _scalar(kind[0], member, f"{where}.{kind}[{i}]")
    elif kind == "M":
        if not isinstance(inner, Mapping):
            raise InvalidFieldError(f"{where}.M is {shown(inner)}; expected an object")
        checked = {name: read_attribute(member, f"{where}.M.{name}", depth + 1) for name, member in inner.items()}
    elif kind == "L":
        if not isinstance(inner, list):
            raise InvalidFieldError(f"{where}.L is {shown(inner)}; expected a list")
        checked = [read_attribute(member, f"{where}.L[{i}]", depth + 1) for i, member in enumerate(inner)]
    elif kind == "BOOL":
        if not isinstance(inner, bool):
            raise InvalidFieldError(f"{where}.BOOL is {shown(inner)}; expected true or false")
    elif inner is not True:
        raise InvalidFieldError(f"{where}.NULL is {shown(inner)}; expected true")
    return {kind: checked}


def _path(where: str) -> str:
    """A path for a message: names can be long, and 32 of them longer; keep both ends."""
    return where if len(where) <= 400 else f"{where[:200]}...{where[-200:]}"


def _scalar(kind: str, value: object, where: str) -> None:
    if not isinstance(value, str):
        raise InvalidFieldError(f"{where} is {shown(value)}; expected a string")
    if kind == "N":
        try:  # a number DynamoDB would refuse, it could not have sent: say so rather than archive it
            read_number(value, where)
        except InvalidKeyError as error:
            raise InvalidFieldError(str(error)) from None
    elif kind == "B":
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidFieldError(f"{where} is {shown(value)}; expected base64-encoded bytes") from None

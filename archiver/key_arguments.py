"""Keys an operator types: ``--key`` JSON and ``--keys`` lines, each to one canonical (encoded) key.

A line is a ``--key`` form (DynamoDB JSON, or plain values where the key schema is known), a line
of ``archiver list --json``, or a row of ``archiver query --format json`` (any row with ``key``,
optionally ``table_name`` and ``version``: a row's version pins what goes back). Numbers are read
exactly (38 digits), never as floats.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from archiver.archive import version_time
from archiver.errors import RecoveryError, shown
from archiver.keys import InvalidKeyError, canonical_key, encode_key
from archiver.layouts import COMPACT_FOLDER
from archiver.listing import read_object_key

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "KeyArgumentError",
    "KeyLine",
    "key_from_line",
    "key_lines",
    "keys_from_lines",
    "parse_key_argument",
    "read_key_line",
]

_KEY_TYPES = ("S", "N", "B")
_A = {"S": "an", "N": "an", "B": "a"}  # the article, as the letter is read out


class KeyArgumentError(RecoveryError):
    """A --key (or a --keys line) that is not a key of the table; the message shows what is accepted."""


def _typed(what: str, name: str, value: object, kind: str) -> dict[str, str]:
    if value is None or isinstance(value, bool | dict | list):
        raise KeyArgumentError(f"{what} attribute {name!r} is {shown(value)}; expected {_A[kind]} {kind} value")
    if kind == "N" and isinstance(value, str | Decimal | float):  # float: only NaN and Infinity (_json)
        return {"N": str(value)}
    if isinstance(value, str):
        return {kind: value}  # B: base64 text, as DynamoDB JSON writes it
    raise KeyArgumentError(
        f"{what} attribute {name!r} is {shown(value)}; {_A[kind]} {kind} value is given as a JSON string, e.g. "
        f'{{"{name}": "{value}"}}'
    )


def _json(text: str, what: str, expected: str) -> Any:
    """JSON with exact numbers: parsed as floats, they keep 17 digits where a DynamoDB number has 38.

    Raises:
        KeyArgumentError: not JSON, or nested deeper than the parser follows (``expected`` says what is).
    """
    try:
        return json.loads(text, parse_float=Decimal, parse_int=Decimal)
    except json.JSONDecodeError as error:
        raise KeyArgumentError(
            f"{what} is not JSON ({error.msg} at character {error.pos}); expected {expected}"
        ) from None
    except RecursionError:
        raise KeyArgumentError(
            f"{what} is JSON nested too deep to read ({len(text):,} characters); expected {expected}"
        ) from None


def _key_of(given: object, types: Mapping[str, str] | None, what: str) -> dict[str, dict[str, str]]:
    if not isinstance(given, dict) or not given:
        raise KeyArgumentError(f"{what} is {shown(given)}; expected a JSON object of key attributes")
    expected = dict(types or {})
    if expected and set(given) != set(expected):
        wanted = ", ".join(f"{name} ({kind})" for name, kind in expected.items())
        raise KeyArgumentError(f"{what} names {', '.join(sorted(given))}; this table's key is {wanted}")
    key: dict[str, Any] = {}
    for name, value in given.items():
        if isinstance(value, dict) and len(value) == 1:
            ((tag, _),) = value.items()
            if tag not in _KEY_TYPES:
                raise KeyArgumentError(
                    f"{what} attribute {name!r} has type tag {shown(tag)}; a key attribute's type is S, N or B, "
                    f'e.g. {{"{name}": {{"S": "USER#123"}}}}'
                )
            if name in expected and tag != expected[name]:
                raise KeyArgumentError(
                    f"{what} attribute {name!r} is given as {tag}, but this table's key_schema says {expected[name]}: "
                    f"a key of another type is another key; give it as {expected[name]}"
                )
            key[name] = value
        elif name in expected:
            key[name] = _typed(what, name, value, expected[name])
        else:
            raise KeyArgumentError(
                f"{what} attribute {name!r} is {shown(value)}: without a key_schema for the table, give DynamoDB "
                f'JSON such as {{"{name}": {{"S": "..."}}}}'
            )
    try:
        return canonical_key(key)
    except InvalidKeyError as error:
        raise KeyArgumentError(f"{what}: {error}") from None


def parse_key_argument(text: str, types: Mapping[str, str] | None, what: str = "--key") -> dict[str, dict[str, str]]:
    """``--key`` JSON -> a canonical key: DynamoDB JSON, or plain values typed by ``types``.

    ``types`` maps the table's key attribute names to S, N or B where its key schema is known:
    ``{"PK": {"S": "USER#123"}}`` is always accepted, ``{"PK": "USER#123"}`` only then.

    Raises:
        KeyArgumentError: not JSON, not an object, or not this table's key attributes.
    """
    expected = '\'{"PK": {"S": "USER#123"}}\' or, with a configured key_schema, \'{"PK": "USER#123"}\''
    return _key_of(_json(text, what, f"e.g. {expected}"), types, what)


def _is_listing_line(given: object) -> bool:
    return isinstance(given, dict) and "objectKey" in given and "version" in given and "key" in given


def _is_query_row(given: object) -> bool:
    """A row of ``archiver query --format json``: its ``key`` is DynamoDB JSON, attribute -> typed value.

    (A ``--key`` form of a table whose key attribute is called ``key`` has a typed value there,
    ``{"key": {"S": "x"}}``, whose value is a string, not a map: the two never meet.)
    """
    if not isinstance(given, dict) or "objectKey" in given:
        return False
    key = given.get("key")
    return isinstance(key, dict) and bool(key) and all(isinstance(value, dict) for value in key.values())


@dataclass(frozen=True, slots=True)
class KeyLine:
    """A key a ``--keys`` line names, and the version it pins (a query row's ``version``), if any."""

    encoded_key: str
    version: str | None = None


def read_key_line(line: str, number: int, types: Mapping[str, str] | None, table: str, folder: str) -> KeyLine:
    """One ``--keys`` line -> the key it names, and the version a query row pins.

    A row of ``archiver query --format json`` names its key in ``key`` (DynamoDB JSON); a
    ``table_name`` must be ``table``; a ``version`` is the exact version to restore (the operator
    chose it, even an older one of a key deleted again later).

    Raises:
        KeyArgumentError: the line names no key of ``table``, or a version that is no version name.
    """
    what = f"--keys line {number}"
    given = _json(line, what, 'a key such as {"PK": {"S": "USER#123"}} or a line of `archiver list --json`')
    if not _is_query_row(given):
        return KeyLine(key_from_line(line, number, types, table, folder))
    if given.get("table_name", table) != table:
        raise KeyArgumentError(f"{what} is a row of table {shown(given.get('table_name'))}, not of {shown(table)}")
    version = given.get("version")
    if version is not None:
        try:
            version_time(str(version))
        except ValueError as error:
            raise KeyArgumentError(f"{what}: version {error}") from None
    return KeyLine(encode_key(_key_of(given["key"], None, f"{what} key")), None if version is None else str(version))


def key_lines(lines: Iterable[str], types: Mapping[str, str] | None, table: str, folder: str) -> list[KeyLine]:
    """Every key the lines name, once each, in the order first named; blank lines are ignored.

    A key named twice with the same pin (or none) is one key; with two different pins it is
    refused, since one key can only go back once and the lines do not say which version wins.

    Raises:
        KeyArgumentError: a line names no key, or two lines pin different versions of one key.
    """
    seen: dict[str, tuple[int, KeyLine]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        found = read_key_line(line, number, types, table, folder)
        first = seen.setdefault(found.encoded_key, (number, found))
        if first[1] != found:
            pins = [f"line {n}: {k.version or 'no version (the window decides)'}" for n, k in (first, (number, found))]
            raise KeyArgumentError(
                f"--keys names {found.encoded_key} twice with different versions ({'; '.join(pins)}); "
                "keep one line per key"
            )
    return [key_line for _, key_line in seen.values()]


def key_from_line(line: str, number: int, types: Mapping[str, str] | None, table: str, folder: str) -> str:
    """One ``--keys`` line -> the encoded key it names.

    A line is a ``--key`` form (DynamoDB JSON, or plain values where ``types`` is known), a line
    of ``archiver list --json`` (``table``, ``key``, ``version``, ``objectKey`` ...), whose object
    key is read, so digest-form keys, whose key only the body holds, work too (a compact table's
    line names a compact object that holds many keys, and always carries its key, which is read),
    or a query row (:func:`read_key_line`). The version of a listing line is not pinned: which
    version goes back is the restore's decision (the window).

    Raises:
        KeyArgumentError: the line names no key of ``table`` (the message gives the line number).
    """
    what = f"--keys line {number}"
    given = _json(line, what, 'a key such as {"PK": {"S": "USER#123"}} or a line of `archiver list --json`')
    if _is_query_row(given):
        return read_key_line(line, number, types, table, folder).encoded_key
    if not _is_listing_line(given):
        return encode_key(_key_of(given, types, what))
    if given.get("table") != table:
        raise KeyArgumentError(f"{what} is a listing of table {shown(given.get('table'))}, not of {shown(table)}")
    object_key = str(given["objectKey"])
    name = read_object_key(object_key, folder)
    if name is not None:
        return name.encoded_key
    if object_key.startswith(f"{folder}{COMPACT_FOLDER}/") and isinstance(given["key"], dict):
        # a compact object holds many keys: the line's key is the one (never a digest: the line has it)
        try:
            return encode_key(given["key"])
        except InvalidKeyError as error:
            raise KeyArgumentError(f"{what}: its key is not a key: {error}") from None
    raise KeyArgumentError(f"{what}: objectKey {shown(object_key)} is not an archive version under {folder}")


def keys_from_lines(lines: Iterable[str], types: Mapping[str, str] | None, table: str, folder: str) -> list[str]:
    """Every key the lines name, once each, in the order first named; blank lines are ignored.

    A ``list --json`` of a window has one line per version, so one key may appear many times.
    """
    seen: dict[str, None] = {}
    for number, line in enumerate(lines, start=1):
        if line.strip():
            seen.setdefault(key_from_line(line, number, types, table, folder), None)
    return list(seen)

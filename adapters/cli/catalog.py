"""Finding archived deletions again: `archiver list`, `show` and `restore` read through this.

A key given on the command line is parsed once (:func:`parse_key_argument`), encoded with the
same ``encode_key`` the archiver used, and its versions are listed with ONE prefix query on its
folder (``key_folder``): the encoding guarantees that folder holds no other key. A table listing
reads what it can from the object keys (``decode_key``) and opens bodies only when asked.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from archiver.archive import DEAD_LETTER_FOLDER, key_folder, table_folder
from archiver.keys import InvalidKeyError, canonical_key, decode_key, encode_key

if TYPE_CHECKING:
    from collections.abc import Mapping

    from adapters.config import KeySchema
    from archiver.ports import ArchiveStore

__all__ = [
    "ArchivedVersion",
    "CatalogError",
    "KeyArgumentError",
    "find_version",
    "item_from_wire",
    "list_versions",
    "parse_key_argument",
    "parse_object_key",
    "restore_request",
]

_TYPES = ("S", "N", "B")


class KeyArgumentError(ValueError):
    """A --key that is not a key of the table; the message shows what would be accepted."""


class CatalogError(LookupError):
    """Nothing archived matches what was asked for."""


@dataclass(frozen=True, slots=True)
class ArchivedVersion:
    """One archive object, described from its key (and its body, where read)."""

    object_key: str
    table: str
    encoded_key: str
    key: Mapping[str, Mapping[str, str]] | None  # None for a digest-form key (only the body has it)
    version: str
    deleted_at: str  # ISO 8601 UTC, from the version's time stamp; "" where the record had none
    kind: str | None = None  # user / ttl, from the body; None where the body was not read


def _typed(name: str, value: object, kind: str) -> dict[str, str]:
    if value is None or isinstance(value, bool | dict | list):
        raise KeyArgumentError(f"--key attribute {name!r} is {value!r}; expected a plain {kind} value")
    if kind == "N" and isinstance(value, str | Decimal | float):  # float: only NaN and Infinity now
        return {"N": str(value)}
    if isinstance(value, str):
        return {kind: value}  # B: base64 text, as DynamoDB JSON writes it
    raise KeyArgumentError(f"--key attribute {name!r} is {value!r}; a {kind} value is given as a JSON string")


def parse_key_argument(text: str, schema: KeySchema | None) -> dict[str, dict[str, str]]:
    """``--key`` JSON -> a canonical key: DynamoDB JSON, or plain values typed from the key schema.

    Accepted: ``{"PK": {"S": "USER#123"}, "SK": {"S": "PROFILE"}}``, and where the table's
    key_schema is configured ``{"PK": "USER#123", "SK": "PROFILE"}`` (a binary value as base64).

    Raises:
        KeyArgumentError: not JSON, not an object, or not this table's key attributes.
    """
    try:
        given = json.loads(text, parse_float=Decimal, parse_int=Decimal)  # exact: a float keeps 17 digits, N 38
    except json.JSONDecodeError as error:
        raise KeyArgumentError(
            f"--key is not JSON ({error.msg} at character {error.pos}); expected e.g. "
            '\'{"PK": {"S": "USER#123"}}\' or, with a configured key_schema, \'{"PK": "USER#123"}\''
        ) from None
    if not isinstance(given, dict) or not given:
        raise KeyArgumentError(f"--key is {given!r}; expected a JSON object of key attributes")
    expected: dict[str, str] = {}
    if schema is not None:
        expected = {schema.partition_key.name: schema.partition_key.type}
        if schema.sort_key is not None:
            expected[schema.sort_key.name] = schema.sort_key.type
        if set(given) != set(expected):
            wanted = ", ".join(f"{name} ({kind})" for name, kind in expected.items())
            raise KeyArgumentError(f"--key names {', '.join(sorted(given))}; this table's key is {wanted}")
    key: dict[str, Any] = {}
    for name, value in given.items():
        if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _TYPES:
            key[name] = value
        elif name in expected:
            key[name] = _typed(name, value, expected[name])
        else:
            raise KeyArgumentError(
                f"--key attribute {name!r} is {value!r}: without a key_schema for the table, give DynamoDB "
                f'JSON such as {{"{name}": {{"S": "..."}}}}'
            )
    try:
        return canonical_key(key)
    except InvalidKeyError as error:
        raise KeyArgumentError(f"--key: {error}") from None


def _iso(version: str) -> str:
    stamp = version[:16]
    if stamp.startswith("00000000"):
        return ""
    return f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}Z"


def parse_object_key(object_key: str, prefix: str, table: str) -> ArchivedVersion | None:
    """What an object key says about its deletion; None for an object that is not an archive version.

    The table's ``_dead-letters/`` folder (letters too large for their queue) is passed over on
    purpose: it holds no deletion, and no encoded key can be named so.
    """
    folder = table_folder(prefix, table)
    if not object_key.startswith(folder) or not object_key.endswith(".json"):
        return None
    encoded, _, file_name = object_key[len(folder) :].partition("/")
    if not encoded or encoded == DEAD_LETTER_FOLDER or not file_name or "/" in file_name:
        return None
    version = file_name.removesuffix(".json")
    try:
        key = decode_key(encoded)
    except ValueError:
        return None
    return ArchivedVersion(object_key, table, encoded, key, version, _iso(version))


def _with_body(store: ArchiveStore, version: ArchivedVersion) -> ArchivedVersion:
    body = json.loads(store.get(version.object_key))
    kind = str(body.get("deletion", {}).get("kind") or "")
    key = version.key if version.key is not None else body.get("key")
    return ArchivedVersion(
        version.object_key, version.table, version.encoded_key, key, version.version, version.deleted_at, kind
    )


def list_versions(
    store: ArchiveStore,
    prefix: str,
    table: str,
    key: Mapping[str, Mapping[str, str]] | None = None,
    read_bodies: bool = False,
) -> list[ArchivedVersion]:
    """Archived versions of one key (one prefix query) or of the whole table, newest first."""
    folder = key_folder(prefix, table, encode_key(key)) if key is not None else table_folder(prefix, table)
    found = [v for v in (parse_object_key(k, prefix, table) for k in store.list_keys(folder)) if v is not None]
    found.sort(key=lambda v: (v.version, v.object_key), reverse=True)
    return [_with_body(store, v) for v in found] if read_bodies else found


def find_version(
    store: ArchiveStore, prefix: str, table: str, key: Mapping[str, Mapping[str, str]], version: str | None
) -> ArchivedVersion:
    """The latest archived version of the key, or the one whose version starts with ``version``.

    Raises:
        CatalogError: nothing is archived for the key, or no (or more than one) version matches.
    """
    versions = list_versions(store, prefix, table, key)
    shown = json.dumps(key, ensure_ascii=False)
    if not versions:
        folder = key_folder(prefix, table, encode_key(key))
        raise CatalogError(f"nothing is archived for {shown} in table {table!r} (looked under {folder})")
    if version is None:
        return versions[0]
    matches = [v for v in versions if v.version.startswith(version)]
    if len(matches) != 1:
        listed = ", ".join(v.version for v in versions)
        raise CatalogError(
            f"{len(matches)} archived versions of {shown} start with {version!r}; the versions are: {listed}"
        )
    return matches[0]


def item_from_wire(value: Any) -> Any:
    """An archived image (wire DynamoDB JSON, binaries as base64) -> what boto3's put_item takes."""
    if isinstance(value, dict):
        if len(value) == 1:
            ((kind, inner),) = value.items()
            if kind == "B" and isinstance(inner, str):
                return {"B": base64.b64decode(inner)}
            if kind == "BS" and isinstance(inner, list):
                return {"BS": [base64.b64decode(member) for member in inner]}
        return {name: item_from_wire(inner) for name, inner in value.items()}
    if isinstance(value, list):
        return [item_from_wire(inner) for inner in value]
    return value


def restore_request(body: Mapping[str, Any], table: str) -> dict[str, Any]:
    """The PutItem request that puts an archived image back, only where no item has its key.

    Raises:
        CatalogError: the archive holds no image (the stream had no old images), so nothing to put.
    """
    if body.get("imageMissing") or not isinstance(body.get("image"), dict):
        raise CatalogError(
            f"the archived deletion of {json.dumps(body.get('key'))} holds no image (its stream carried no old "
            "images), so there is nothing to restore"
        )
    key_name = sorted(body["key"])[0]
    return {
        "TableName": table,
        "Item": item_from_wire(body["image"]),
        "ConditionExpression": "attribute_not_exists(#key)",
        "ExpressionAttributeNames": {"#key": key_name},
    }

"""The item key <-> S3 path segment encoding: one key, one segment, never shared.

The encoded key is a single path segment (it never contains ``/``), so the folder of a key,
``<encoded>/``, can only be a prefix of another folder if the two encodings are equal: listing
one key's versions with one prefix query never returns another key's objects.

Readable form, attributes sorted by name and joined by ``*``::

    <name>(<type>)<value>*<name>(<type>)<value>

- ``<type>`` is ``S``, ``N`` or ``B``;
- names and ``S`` values keep ``A-Z a-z 0-9 - _ .`` and write every other UTF-8 byte as ``!HH``
  (upper-case hex), so ``(``, ``)`` and ``*`` never occur inside them and the form parses back;
- ``N`` values are written in the canonical form of their number (``1.50``, ``15E-1`` -> ``1.5``;
  ``-0`` -> ``0``), because DynamoDB treats those as one key; the form is exact to DynamoDB's 38
  significant digits (no rounding anywhere), and a number DynamoDB would refuse is refused;
- ``B`` values are the bytes in unpadded base64url, whose alphabet is all literal.

A readable form longer than :data:`MAX_ENCODED_KEY_BYTES` is replaced by its digest form
``sha256-<64 hex digits>`` (a hash of the readable form, so still injective in practice); the
archive body always holds the full key. The digest form has no ``(``, the readable form always
has one, so the two never meet.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from decimal import Context, Decimal, Inexact, InvalidOperation, Rounded

from archiver.errors import shown

__all__ = [
    "DIGEST_PREFIX",
    "KEY_TYPES",
    "MAX_ENCODED_KEY_BYTES",
    "MAX_NUMBER_DIGITS",
    "MAX_NUMBER_EXPONENT",
    "MIN_NUMBER_EXPONENT",
    "NUMBER_RANGE",
    "InvalidKeyError",
    "canonical_key",
    "canonical_number",
    "decode_key",
    "encode_key",
    "is_digest",
    "read_number",
]

#: Budget for the key's part of an object key. With a prefix of at most 128 bytes, a table name of
#: at most 255, three separators, a version of 74 and ".json", a full object key stays under S3's
#: 1,024 bytes: 128 + 1 + 255 + 1 + 512 + 1 + 74 + 5 = 977.
MAX_ENCODED_KEY_BYTES = 512
DIGEST_PREFIX = "sha256-"
KEY_TYPES = frozenset({"S", "N", "B"})
#: DynamoDB's numbers, as documented: at most 38 significant digits, and a magnitude from 1E-130 to
#: 9.9999999999999999999999999999999999999E+125 (the leading digit's exponent from -130 to 125), or 0.
MAX_NUMBER_DIGITS = 38
MIN_NUMBER_EXPONENT = -130
MAX_NUMBER_EXPONENT = 125
NUMBER_RANGE = "up to 38 significant digits, magnitude 1E-130 to 9.9999999999999999999999999999999999999E+125, or 0"
#: Reads a number's text without consulting the thread's context: a malformed text raises rather
#: than becoming NaN, and were anything ever to round, Inexact/Rounded would raise too.
_READING = Context(traps=[InvalidOperation, Inexact, Rounded])

_LITERAL = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
_ESCAPES = tuple(chr(b) if b in _LITERAL else f"!{b:02X}" for b in range(256))
_ESCAPED = re.compile(r"(?:[A-Za-z0-9._-]|![0-9A-F]{2})*")
_ATTRIBUTE = re.compile(r"(?P<name>[^()*]*)\((?P<type>[SNB])\)(?P<value>[^()*]*)")
_DIGEST = re.compile(r"sha256-[0-9a-f]{64}")
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


class InvalidKeyError(ValueError):
    """A key that is not a DynamoDB key: the message names the attribute and what is accepted."""


def read_number(value: str, field: str = "N value") -> Decimal:
    """Return the exact value of a DynamoDB number, refusing one DynamoDB would refuse.

    Exact whatever the caller's decimal context: the text is read with a local context that
    traps (never rounds), and the result is rebuilt from its digits, so 38 significant digits
    stay 38 where Python's default context would keep 28.

    Args:
        field: what the value is, for the message (``"dynamodb.OldImage.price.N"``).

    Raises:
        InvalidKeyError: not a decimal number, or outside :data:`NUMBER_RANGE`.
    """
    sign, digits, exponent = _number_parts(value, field)
    return Decimal((sign, tuple(int(d) for d in digits) or (0,), exponent))


def canonical_number(value: str, field: str = "N value") -> str:
    """Return the one spelling of a DynamoDB number that all its equal spellings share.

    DynamoDB compares numbers by value (``1.5 == 1.50 == 15E-1``), so a path built from the
    spelling would give one key two folders. The spelling is positional (``1E+2`` -> ``100``,
    ``-0`` -> ``0``) and built from the digits by string operations: no decimal arithmetic, so
    nothing is rounded and two different numbers never share a spelling.

    Raises:
        InvalidKeyError: not a decimal number, or outside :data:`NUMBER_RANGE` (never rounded).
    """
    sign, digits, exponent = _number_parts(value, field)
    if not digits:
        return "0"
    if exponent >= 0:
        text = digits + "0" * exponent
    elif -exponent < len(digits):
        text = f"{digits[:exponent]}.{digits[exponent:]}"
    else:
        text = "0." + "0" * (-exponent - len(digits)) + digits
    return f"-{text}" if sign else text


def _number_parts(value: str, field: str) -> tuple[int, str, int]:
    """(sign, significant digits without trailing zeros, exponent of the last digit); zero is (0, "", 0)."""
    shown = _shown_number(value)
    try:
        number = Decimal(value, _READING)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidKeyError(
            f"{field} is {shown}, which is not a number; expected a decimal such as '42', '-1.5' or '1E+3'"
        ) from None
    if not number.is_finite():
        raise InvalidKeyError(f"{field} is {shown}, which is not finite; DynamoDB numbers are finite decimals")
    if number.is_zero():
        return 0, "", 0
    sign, coefficient, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite
    digits = "".join(map(str, coefficient)).rstrip("0")
    exponent += len(coefficient) - len(digits)
    if len(digits) > MAX_NUMBER_DIGITS:
        raise InvalidKeyError(
            f"{field} is {shown}, which has {len(digits)} significant digits; DynamoDB refuses more than "
            f"{MAX_NUMBER_DIGITS} rather than round (accepted: {NUMBER_RANGE})"
        )
    if not MIN_NUMBER_EXPONENT <= exponent + len(digits) - 1 <= MAX_NUMBER_EXPONENT:
        raise InvalidKeyError(f"{field} is {shown}, whose magnitude DynamoDB refuses (accepted: {NUMBER_RANGE})")
    return sign, digits, exponent


def _shown_number(value: object) -> str:
    if isinstance(value, str) and len(value) > 60:
        return f"{value[:50]!r}... ({len(value)} characters)"
    return repr(value)


def _canonical_binary(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidKeyError(
            f"B value {value[:40]!r} is not base64; binary key values arrive base64-encoded"
        ) from None


def canonical_key(keys: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """Return the key in canonical DynamoDB JSON: names sorted, numbers and binaries normalised.

    Raises:
        InvalidKeyError: the key is empty, an attribute is not one of ``{"S"|"N"|"B": str}``, or a
            value is not valid for its type.
    """
    if not isinstance(keys, Mapping) or not keys:
        raise InvalidKeyError(
            f'key {shown(keys)} is empty or not a mapping; expected DynamoDB JSON such as {{"PK": {{"S": "USER#123"}}}}'
        )
    out: dict[str, dict[str, str]] = {}
    for name in sorted(keys):
        if not isinstance(name, str):
            raise InvalidKeyError(f"key attribute name {name!r} is not a string")
        attribute = keys[name]
        if not isinstance(attribute, Mapping) or len(attribute) != 1:
            raise InvalidKeyError(
                f"key attribute {name!r} is {shown(attribute)}; expected exactly one of "
                '{"S": ...}, {"N": ...}, {"B": ...}'
            )
        ((kind, value),) = attribute.items()
        if kind not in KEY_TYPES or not isinstance(value, str):
            raise InvalidKeyError(
                f"key attribute {name!r} has type {shown(kind)} with value {shown(value)}; key attributes are "
                "S, N or B with a string value"
            )
        if kind == "N":
            value = canonical_number(value, f"key attribute {name!r} (N)")
        elif kind == "B":
            value = base64.b64encode(_canonical_binary(value)).decode("ascii")
        else:
            _utf8(value, name)
        out[name] = {kind: value}
    return out


def _utf8(text: str, field: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidKeyError(
            f"{field!r} holds {text[:40]!r}, which is not valid Unicode (a lone surrogate); DynamoDB strings are UTF-8"
        ) from None


def _escape(text: str, field: str) -> str:
    return "".join(_ESCAPES[b] for b in _utf8(text, field))


def _unescape(text: str) -> str:
    if _ESCAPED.fullmatch(text) is None:
        raise ValueError(f"{text!r} is not an escaped name or value")
    raw = bytearray()
    i = 0
    while i < len(text):
        if text[i] == "!":
            raw.append(int(text[i + 1 : i + 3], 16))
            i += 3
        else:
            raw.append(ord(text[i]))
            i += 1
    return raw.decode("utf-8")


def _readable(canonical: Mapping[str, Mapping[str, str]]) -> str:
    parts = []
    for name, attribute in canonical.items():
        ((kind, value),) = attribute.items()
        if kind == "B":
            text = base64.urlsafe_b64encode(base64.b64decode(value)).decode("ascii").rstrip("=")
        else:
            text = _escape(value, name)
        parts.append(f"{_escape(name, name)}({kind}){text}")
    return "*".join(parts)


def encode_key(keys: Mapping[str, Mapping[str, str]]) -> str:
    """Return the key's part of the S3 object path: one segment, S3-safe, at most 512 bytes.

    Args:
        keys: the item key as in a stream record's ``dynamodb.Keys``, e.g.
            ``{"PK": {"S": "USER#123"}, "SK": {"N": "42"}}``; binary values base64-encoded.

    Raises:
        InvalidKeyError: the key is not a valid DynamoDB key (the message says which attribute and why).
    """
    readable = _readable(canonical_key(keys))
    if len(readable) <= MAX_ENCODED_KEY_BYTES:  # ASCII only, so characters are bytes
        return readable
    return DIGEST_PREFIX + hashlib.sha256(readable.encode("ascii")).hexdigest()


def is_digest(encoded: str) -> bool:
    """True where the encoded key is the digest form, whose key only the archive body holds."""
    return _DIGEST.fullmatch(encoded) is not None


def decode_key(encoded: str) -> dict[str, dict[str, str]] | None:
    """Return the canonical key that ``encode_key`` turned into ``encoded``, or None for a digest.

    Raises:
        ValueError: ``encoded`` is not something ``encode_key`` produces.
    """
    if is_digest(encoded):
        return None
    key: dict[str, dict[str, str]] = {}
    for part in encoded.split("*"):
        match = _ATTRIBUTE.fullmatch(part)
        if match is None:
            raise ValueError(f"{encoded!r} is not an encoded key: part {part!r} is not <name>(<type>)<value>")
        name, kind, text = match["name"], match["type"], match["value"]
        try:
            name = _unescape(name)
            if kind == "B":
                if _B64URL.fullmatch(text) is None:
                    raise ValueError(f"{text!r} is not unpadded base64url")
                raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
                value = base64.b64encode(raw).decode("ascii")
            else:
                value = _unescape(text)
        except (ValueError, binascii.Error) as error:
            raise ValueError(f"{encoded!r} is not an encoded key: {error}") from None
        if name in key:
            raise ValueError(f"{encoded!r} is not an encoded key: attribute {name!r} appears twice")
        key[name] = {kind: value}
    if list(key) != sorted(key) or encode_key(key) != encoded:
        raise ValueError(f"{encoded!r} is not in canonical form; encode the key with encode_key")
    return key

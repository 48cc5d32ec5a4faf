"""Hypothesis strategies for DynamoDB keys: every shape the key encoding must survive.

Key attributes are S, N or B; a key has one (partition) or two (partition + sort) attributes;
partition values run to 2,048 bytes, sort values to 1,024, names to 255. Strings are any Unicode
(astral characters, '/', '_', '#', '%', '.', spaces, control characters), but never lone
surrogates, which are not UTF-8 and which DynamoDB therefore cannot hold.
"""

from __future__ import annotations

import base64
from decimal import Decimal

from hypothesis import strategies as st

PARTITION_BYTES = 2048
SORT_BYTES = 1024
NAME_BYTES = 255

#: Characters the old naming tripped on, mixed in so that short strings hit them often.
AWKWARD = "/_#%. \t\n\x00\x7f!*'()~+=&?:@😀𝄞é中"

_chars = st.characters(codec="utf-8")
_awkward_text = st.text(st.one_of(st.sampled_from(AWKWARD), _chars), min_size=1, max_size=40)
_long_text = st.integers(min_value=1, max_value=PARTITION_BYTES).flatmap(
    lambda n: st.text(st.one_of(st.sampled_from("ab/#%😀"), _chars), min_size=n, max_size=n)
)


def _fits(limit: int) -> st.SearchStrategy[str]:
    return st.one_of(_awkward_text, _long_text).filter(lambda s: len(s.encode()) <= limit)


def numbers() -> st.SearchStrategy[Decimal]:
    """Numbers DynamoDB accepts: up to 38 significant digits, magnitude 1E-130 .. 9.99E+125."""
    mantissas = st.integers(min_value=-(10**38) + 1, max_value=10**38 - 1)
    exponents = st.integers(min_value=-130, max_value=88)
    return st.builds(lambda m, e: Decimal(m).scaleb(e), mantissas, exponents).filter(
        lambda d: d.is_zero() or -130 <= d.adjusted() <= 125
    )


def spellings(number: Decimal) -> st.SearchStrategy[str]:
    """Different texts DynamoDB reads as the same number: trailing zeros, exponent forms, signs."""
    plain = format(number, "f")
    return st.sampled_from(
        [
            plain,
            plain + ("0" if "." in plain else ".0"),
            format(number, "E"),
            format(number, "e"),
            f"{number.normalize()}",
            f"+{plain}" if not plain.startswith("-") else plain,
            format(number.scaleb(-1), "f") + "E1" if not number.is_zero() else "-0",
        ]
    )


def values(kind: str, limit: int) -> st.SearchStrategy[str]:
    if kind == "S":
        return _fits(limit)
    if kind == "N":
        return numbers().map(str)
    return st.binary(min_size=1, max_size=limit).map(lambda b: base64.b64encode(b).decode())


def attribute(limit: int) -> st.SearchStrategy[dict[str, str]]:
    return st.sampled_from(["S", "N", "B"]).flatmap(lambda k: values(k, limit).map(lambda v: {k: v}))


names = st.one_of(st.sampled_from(["PK", "SK", "pk", "id", "user_id", "a.b", "#x"]), _fits(NAME_BYTES))


@st.composite
def keys(draw: st.DrawFn) -> dict[str, dict[str, str]]:
    """A key as it appears in a stream record's dynamodb.Keys."""
    partition_name = draw(names)
    key = {partition_name: draw(attribute(PARTITION_BYTES))}
    if draw(st.booleans()):
        sort_name = draw(names.filter(lambda n: n != partition_name))
        key[sort_name] = draw(attribute(SORT_BYTES))
    return key

"""Hypothesis strategies for DynamoDB keys: every shape the key encoding must survive.

Key attributes are S, N or B; a key has one (partition) or two (partition + sort) attributes;
partition values run to 2,048 bytes, sort values to 1,024, names to 255. Strings are any Unicode
(astral characters, '/', '_', '#', '%', '.', spaces, control characters), but never lone
surrogates, which are not UTF-8 and which DynamoDB therefore cannot hold. Numbers have up to 38
significant digits, over half of them more than the 28 Python's default decimal context keeps, and
are built and spelt from an integer mantissa and exponent, with no decimal arithmetic.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from fractions import Fraction

from hypothesis import assume, event
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


#: DynamoDB keeps 38 significant digits; Python's default decimal context keeps 28.
MAX_DIGITS = 38
DEFAULT_CONTEXT_DIGITS = 28


@dataclass(frozen=True, slots=True)
class Number:
    """A number as an integer mantissa times a power of ten: exact, with no decimal context anywhere.

    The reference for the key encoding is built from these by string operations alone, so a
    canonicalisation that rounded (Python's default context keeps 28 digits) cannot also shape
    what the tests expect of it.
    """

    mantissa: int
    exponent: int

    @property
    def significant(self) -> str:
        """The digits from the first non-zero one to the last non-zero one ("" for zero)."""
        return str(abs(self.mantissa)).rstrip("0") if self.mantissa else ""

    @property
    def value(self) -> Fraction:
        return Fraction(self.mantissa) * Fraction(10) ** self.exponent

    def canonical(self) -> str:
        """The positional spelling without exponent, leading or trailing zeros; "0" for zero."""
        digits = self.significant
        if not digits:
            return "0"
        exponent = self.exponent + len(str(abs(self.mantissa))) - len(digits)  # of the last digit
        if exponent >= 0:
            text = digits + "0" * exponent
        else:
            point = len(digits) + exponent
            text = f"{digits[:point]}.{digits[point:]}" if point > 0 else "0." + "0" * -point + digits
        return f"-{text}" if self.mantissa < 0 else text

    def fits_dynamodb(self) -> bool:
        """Within DynamoDB's numbers: at most 38 significant digits, leading digit 1E-130 .. 1E+125."""
        digits = self.significant
        if not digits:
            return True
        leading = self.exponent + len(str(abs(self.mantissa))) - 1
        return len(digits) <= MAX_DIGITS and -130 <= leading <= 125


@st.composite
def numbers(draw: st.DrawFn) -> Number:
    """Numbers DynamoDB accepts: 1 to 38 significant digits, a leading digit from 1E-130 to 1E+125,
    some trailing zeros, and zero. Over half have more than the 28 digits Python's default decimal
    context keeps, where a canonicalisation that rounds gives two numbers one spelling."""
    if draw(st.integers(min_value=0, max_value=20)) == 0:
        return Number(0, draw(st.integers(min_value=-140, max_value=140)))
    shortest = DEFAULT_CONTEXT_DIGITS + 1 if draw(st.booleans()) else 1
    count = draw(st.integers(min_value=shortest, max_value=MAX_DIGITS))
    significant = _significant(draw, count)
    zeros = draw(st.integers(min_value=0, max_value=4))  # trailing zeros in the mantissa: not significant
    leading = draw(st.integers(min_value=-130, max_value=125))
    if count > DEFAULT_CONTEXT_DIGITS:
        event(f"more than {DEFAULT_CONTEXT_DIGITS} significant digits")
    sign = draw(st.sampled_from([1, -1]))
    return Number(sign * significant * 10**zeros, leading - (count - 1) - zeros)


def _significant(draw: st.DrawFn, count: int) -> int:
    """An integer of exactly ``count`` digits whose last digit is not 0."""
    head = draw(st.integers(min_value=10 ** (count - 2), max_value=10 ** (count - 1) - 1)) if count > 1 else 0
    return head * 10 + draw(st.integers(min_value=1, max_value=9))


@st.composite
def refused_numbers(draw: st.DrawFn) -> Number:
    """Numbers DynamoDB refuses: 39 to 45 significant digits, or a magnitude out of its range."""
    if draw(st.booleans()):
        count = draw(st.integers(min_value=MAX_DIGITS + 1, max_value=MAX_DIGITS + 7))
        significant = _significant(draw, count)
        return Number(significant, draw(st.integers(min_value=-130, max_value=80)))
    small = draw(numbers())
    assume(small.mantissa != 0)
    leading = small.exponent + len(str(abs(small.mantissa))) - 1
    shift = draw(st.one_of(st.integers(126 - leading, 400 - leading), st.integers(-400 - leading, -131 - leading)))
    return Number(small.mantissa, small.exponent + shift)


def spellings(number: Number) -> st.SearchStrategy[str]:
    """Different texts DynamoDB reads as the same number: trailing and leading zeros, exponent forms,
    signs. Built by string operations from the mantissa, so no spelling is rounded on the way."""
    m, e = number.mantissa, number.exponent
    sign = "-" if m < 0 else ""
    digits = str(abs(m))
    return st.sampled_from(
        [
            f"{m}E{e}",
            f"{m}e{e:+d}",
            f"{sign}{digits[0]}{'.' + digits[1:] if digits[1:] else ''}E{e + len(digits) - 1}",
            number.canonical(),
            _positional(m * 1000, e - 3),  # trailing zeros after the point
            f"{sign}00{_positional(abs(m), e)}",
            f"+{_positional(m, e)}" if m >= 0 else _positional(m, e),
            f"{m}00E{e - 2}" if m else "-0",
        ]
    )


def _positional(mantissa: int, exponent: int) -> str:
    """mantissa x 10^exponent written without an exponent, keeping every digit of the mantissa."""
    sign, digits = ("-" if mantissa < 0 else ""), str(abs(mantissa))
    if exponent >= 0:
        return sign + digits + "0" * exponent
    digits = digits.rjust(-exponent + 1, "0")
    return f"{sign}{digits[:exponent]}.{digits[exponent:]}"


def values(kind: str, limit: int) -> st.SearchStrategy[str]:
    if kind == "S":
        return _fits(limit)
    if kind == "N":
        return numbers().flatmap(spellings)
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

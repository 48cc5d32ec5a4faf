"""DynamoDB JSON -> plain JSON (the ``item`` column): every type converted, every number exact."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archiver.plain_json import PlainJsonError, plain_json, plain_number
from tests.builders import EVERY_TYPE
from tests.strategies import numbers, spellings

_text = st.text(st.characters(codec="utf-8"), max_size=12)


def exact(text: str) -> Any:
    """JSON read with every number as a Decimal (a float would keep 17 of 38 digits)."""
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


@st.composite
def dynamodb_values(draw: st.DrawFn, depth: int = 3) -> tuple[dict[str, Any], Any]:
    """A DynamoDB JSON value and the plain value it stands for (numbers as Fractions)."""
    scalars = ["S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS"]
    kind = draw(st.sampled_from(scalars + (["M", "L"] if depth else [])))
    if kind in ("S", "B"):
        text = draw(_text)
        return {kind: text}, text
    if kind == "N":
        number = draw(numbers())
        return {"N": draw(spellings(number))}, number.value
    if kind == "BOOL":
        flag = draw(st.booleans())
        return {"BOOL": flag}, flag
    if kind == "NULL":
        return {"NULL": True}, None
    if kind in ("SS", "BS"):
        texts = draw(st.lists(_text, min_size=1, max_size=3, unique=True))
        return {kind: texts}, texts
    if kind == "NS":
        drawn = draw(st.lists(numbers(), min_size=1, max_size=3))
        return {"NS": [draw(spellings(n)) for n in drawn]}, [n.value for n in drawn]
    children = draw(st.lists(dynamodb_values(depth - 1), max_size=3))
    if kind == "L":
        return {"L": [v for v, _ in children]}, [p for _, p in children]
    names = draw(st.lists(_text, min_size=len(children), max_size=len(children), unique=True))
    return {"M": {n: v for n, (v, _) in zip(names, children, strict=True)}}, {
        n: p for n, (_, p) in zip(names, children, strict=True)
    }


def as_fractions(value: Any) -> Any:
    if isinstance(value, Decimal):
        return Fraction(value)
    if isinstance(value, list):
        return [as_fractions(v) for v in value]
    if isinstance(value, dict):
        return {k: as_fractions(v) for k, v in value.items()}
    return value


@given(st.lists(st.tuples(_text, dynamodb_values()), max_size=5, unique_by=lambda pair: pair[0]))
def test_every_value_reads_back_as_its_plain_value_with_exact_numbers(attributes: list[tuple[str, Any]]) -> None:
    # given an image of any attributes, numbers of up to 38 digits spelt in any way DynamoDB accepts
    image = {name: value for name, (value, _) in attributes}
    expected = {name: plain for name, (_, plain) in attributes}

    # when it is converted
    text = plain_json(image)

    # then the text is JSON whose every value is the plain one, each number the same exact value
    assert as_fractions(exact(text)) == expected
    assert list(exact(text)) == [name for name, _ in attributes]  # attribute order kept


@given(numbers())
def test_a_number_keeps_its_own_digits(number: Any) -> None:
    # given a number as DynamoDB streams it (canonical text: no exponent, no padding)
    text = number.canonical()

    # then its plain form is that very text: 38 digits stay 38 digits
    assert plain_number(text) == text


@pytest.mark.parametrize(
    ("given_text", "plain"),
    [
        ("12.50", "12.50"),
        ("12345678901234567890123456789012345678", "12345678901234567890123456789012345678"),
        ("-0.000001", "-0.000001"),
        ("+5", "5"),
        (".5", "0.5"),
        ("5.", "5"),
        ("007", "7"),
        ("-007.50", "-7.50"),
        ("1E+2", "1E+2"),
        ("1.5e-7", "1.5e-7"),
    ],
)
def test_a_number_json_cannot_spell_is_respelt_with_the_same_digits(given_text: str, plain: str) -> None:
    assert plain_number(given_text) == plain
    assert Decimal(plain) == Decimal(given_text)


@pytest.mark.parametrize("text", ["", "abc", "NaN", "Infinity", "1.2.3", "--1", "."])
def test_a_non_number_is_refused_naming_it(text: str) -> None:
    with pytest.raises(PlainJsonError, match="not a decimal number"):
        plain_number(text)


def test_every_type_in_one_image() -> None:
    image = EVERY_TYPE

    assert plain_json(image) == (
        '{"s":"café ☕","n":12345678901234567890123456789012345678,"b":"AP8A/w==","ss":["a","b"],'
        '"ns":[1.5,99999999999999999999999999999999999999],"bs":["AQ==","Ag=="],'
        '"m":{"inner":["Aw==",-0.000001]},"l":["x",false,null],"bool":true,"null":null}'
    )


def test_a_lone_surrogate_is_written_as_its_escape() -> None:
    assert plain_json({"s": {"S": "a\ud800b"}}) == '{"s":"a\\ud800b"}'


@pytest.mark.parametrize(
    ("image", "path"),
    [
        ({"x": {"S": "a", "N": "1"}}, "x"),
        ({"x": {"Q": "a"}}, "x"),
        ({"x": {"M": {"y": {"N": "one"}}}}, "x.y"),
        ({"x": {"NS": ["1", 2]}}, r"x\[1\]"),
        ({"x": "plain"}, "x"),
    ],
)
def test_what_is_not_dynamodb_json_is_refused_naming_the_path(image: dict[str, Any], path: str) -> None:
    with pytest.raises(PlainJsonError, match=rf"^{path}:"):
        plain_json(image)

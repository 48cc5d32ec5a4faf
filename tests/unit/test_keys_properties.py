"""Properties of the key/path encoding (issue 2, 2a-2f), over every key shape in tests/strategies.py.

Each property is one the proof of concept's ``PK_<v>_SK_<v>.json`` naming broke;
tests/unit/test_legacy_naming.py shows hypothesis finding those breaks.
"""

from __future__ import annotations

import base64
import re
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from archiver.archive import VERSION_LENGTH, key_folder
from archiver.keys import (
    MAX_ENCODED_KEY_BYTES,
    NUMBER_RANGE,
    InvalidKeyError,
    canonical_key,
    decode_key,
    encode_key,
    is_digest,
)
from archiver.policy import MAX_PREFIX_BYTES
from tests import strategies as kst

PROPERTY = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
S3_SAFE = re.compile(r"[A-Za-z0-9!\-_.*'()]+")


@PROPERTY
@given(kst.keys(), kst.keys())
@example({"PK": {"S": "1"}}, {"PK": {"N": "1"}})
@example({"PK": {"S": "a"}}, {"pk": {"S": "a"}})
@example({"PK": {"S": "A_SK_B"}}, {"PK": {"S": "A"}, "SK": {"S": "B"}})
@example({"a": {"S": "x*b(S)y"}}, {"a": {"S": "x"}, "b": {"S": "y"}})
def test_different_keys_never_share_a_path(first: dict, second: dict) -> None:
    # given two keys that DynamoDB holds apart (judged without the code under test)
    assume(not dynamodb_equal(first, second))
    # then their encodings differ, and neither folder is a prefix of the other
    a, b = encode_key(first), encode_key(second)
    assert a != b
    folder_a, folder_b = key_folder("archive", "t" * 3, a), key_folder("archive", "t" * 3, b)
    assert not folder_a.startswith(folder_b)
    assert not folder_b.startswith(folder_a)


def dynamodb_equal(first: dict, second: dict) -> bool:
    """Whether DynamoDB holds two keys as one: same names and types, numbers equal by exact value,
    binaries equal as bytes. The reference for the encoding, so it uses none of archiver.keys."""

    def value(kind: str, text: str) -> object:
        if kind == "N":
            return Fraction(text)  # exact: a Fraction of a decimal text never rounds
        if kind == "B":
            return base64.b64decode(text)
        return text

    def held(key: dict) -> dict:
        return {name: (kind, value(kind, text)) for name, attr in key.items() for kind, text in attr.items()}

    return held(first) == held(second)


@PROPERTY
@given(kst.numbers().flatmap(lambda n: st.tuples(st.just(n), kst.spellings(n), kst.spellings(n))))
@example((kst.Number(15, -1), "1.50", "15E-1"))
@example((kst.Number(15, -1), "15E-1", "0.15e1"))
@example((kst.Number(0, 0), "-0", "0"))
@example((kst.Number(1, 2), "100", "1E+2"))
@example((kst.Number(10**38 - 1, 88), "9.9999999999999999999999999999999999999E+125", f"{10**38 - 1}E88"))
@example((kst.Number(-1, -130), "-1E-130", "-0." + "0" * 129 + "1"))
def test_equal_numbers_encode_equally_and_exactly(drawn: tuple[kst.Number, str, str]) -> None:
    # given two spellings of one number of up to 38 significant digits
    number, first, second = drawn
    assert Fraction(first) == Fraction(second) == number.value
    # then both encode to the exact positional form built from the mantissa, and decode to it
    expected = f"PK(N){number.canonical()}"
    assert encode_key({"PK": {"N": first}}) == encode_key({"PK": {"N": second}}) == expected
    assert decode_key(expected) == {"PK": {"N": number.canonical()}}


@PROPERTY
@given(kst.numbers(), st.sampled_from([1, -1]))
def test_numbers_a_last_digit_apart_encode_differently(number: kst.Number, step: int) -> None:
    # given a number and its neighbour in the last significant digit (the 38th, for the longest)
    neighbour = kst.Number(number.mantissa + step, number.exponent)
    assume(neighbour.fits_dynamodb())
    # then DynamoDB holds them apart, and so does the encoding
    assert encode_key({"PK": {"N": str(number.mantissa) + f"E{number.exponent}"}}) != encode_key(
        {"PK": {"N": f"{neighbour.mantissa}E{neighbour.exponent}"}}
    )


@PROPERTY
@given(kst.refused_numbers().flatmap(kst.spellings))
def test_numbers_dynamodb_refuses_are_refused_never_rounded(text: str) -> None:
    with pytest.raises(InvalidKeyError, match=re.escape(NUMBER_RANGE)) as refused:
        encode_key({"PK": {"N": text}})
    assert "'PK'" in str(refused.value)


@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        ("12345678901234567890123456789012345678", "PK(N)12345678901234567890123456789012345678"),
        ("12345678901234567890123456789012345679", "PK(N)12345678901234567890123456789012345679"),
        ("1", "PK(N)1"),
        ("1.0000000000000000000000000000000000001", "PK(N)1.0000000000000000000000000000000000001"),
        ("1.0000000000000000000000000001", "PK(N)1.0000000000000000000000000001"),
        ("1.50", "PK(N)1.5"),
        ("15E-1", "PK(N)1.5"),
        ("0.15e1", "PK(N)1.5"),
        ("-0", "PK(N)0"),
        ("9.9999999999999999999999999999999999999E+125", "PK(N)" + "9" * 38 + "0" * 88),
        ("-1E-130", "PK(N)-0." + "0" * 129 + "1"),
    ],
)
def test_numbers_encode_exactly_to_38_digits_and_decode_back(text: str, encoded: str) -> None:
    # 28 digits (Python's default decimal context) gave the first two, and the next three, one folder each
    assert encode_key({"PK": {"N": text}}) == encoded
    assert decode_key(encoded) == {"PK": {"N": encoded.removeprefix("PK(N)")}}


def test_equal_bytes_encode_equally_whatever_the_base64_spelling() -> None:
    # "QQ==" and "QR==" both decode to b"A" (the second has stray low bits)
    assert encode_key({"k": {"B": "QQ=="}}) == encode_key({"k": {"B": "QR=="}})
    assert decode_key(encode_key({"k": {"B": "QR=="}})) == {"k": {"B": "QQ=="}}


@PROPERTY
@given(kst.keys())
def test_decode_returns_the_canonical_key_unless_digested(key: dict) -> None:
    encoded = encode_key(key)
    decoded = decode_key(encoded)
    if is_digest(encoded):
        assert decoded is None
    else:
        assert decoded == canonical_key(key)


@PROPERTY
@given(kst.keys())
def test_encoding_is_s3_safe_and_one_segment(key: dict) -> None:
    encoded = encode_key(key)
    assert S3_SAFE.fullmatch(encoded), encoded
    assert "/" not in encoded
    assert encoded not in {"", ".", ".."}


@PROPERTY
@given(kst.keys(), st.integers(min_value=0, max_value=MAX_PREFIX_BYTES))
def test_full_object_key_fits_s3s_limit(key: dict, prefix_length: int) -> None:
    # given the longest table name and a prefix up to the allowed length
    table, prefix = "T" * 255, "p" * prefix_length
    # when the object key is built
    object_key = key_folder(prefix, table, encode_key(key)) + "v" * VERSION_LENGTH + ".json"
    # then it is within S3's 1,024 bytes
    assert len(object_key.encode()) <= 1024
    assert len(encode_key(key)) <= MAX_ENCODED_KEY_BYTES


def test_longest_keys_fall_back_to_a_deterministic_digest() -> None:
    # given a 2,048-byte partition key and a 1,024-byte sort key (DynamoDB's limits)
    key = {"PK": {"S": "😀" * 512}, "SK": {"S": "x" * 1024}}
    # then the path is a digest, the same every time, and different from its neighbour's
    assert is_digest(encode_key(key))
    assert encode_key(key) == encode_key(dict(reversed(key.items())))
    assert encode_key(key) != encode_key({**key, "SK": {"S": "x" * 1023 + "y"}})
    assert "(" not in encode_key(key)


def test_readable_examples() -> None:
    assert encode_key({"PK": {"S": "USER#123"}, "SK": {"S": "PROFILE"}}) == "PK(S)USER!23123*SK(S)PROFILE"
    assert encode_key({"SK": {"S": "PROFILE"}, "PK": {"S": "USER#123"}}) == "PK(S)USER!23123*SK(S)PROFILE"
    assert encode_key({"PK": {"S": "a/b 😀"}}) == "PK(S)a!2Fb!20!F0!9F!98!80"
    assert encode_key({"PK": {"N": "1.50"}}) == "PK(N)1.5"
    assert encode_key({"id": {"B": "AAEqQQ=="}}) == "id(B)AAEqQQ"


@pytest.mark.parametrize(
    ("key", "field"),
    [
        ({}, "empty"),
        ({"PK": {"S": 1}}, "'PK'"),
        ({"PK": {"BOOL": True}}, "'PK'"),
        ({"PK": {"S": "a", "N": "1"}}, "'PK'"),
        ({"PK": {"N": "one"}}, "'one'"),
        ({"PK": {"N": "1E+200"}}, "1E+200"),
        ({"PK": {"N": "1" * 39}}, "'PK' (N) is '" + "1" * 39 + "', which has 39 significant digits"),
        ({"PK": {"N": "1E+126"}}, "'PK' (N) is '1E+126', whose magnitude DynamoDB refuses"),
        ({"PK": {"N": "-1E-131"}}, "'PK' (N) is '-1E-131', whose magnitude DynamoDB refuses"),
        ({"PK": {"B": "not base64!"}}, "not base64"),
        ({"PK": {"S": "\ud800"}}, "surrogate"),
    ],
)
def test_invalid_keys_are_refused_with_the_field_named(key: dict, field: str) -> None:
    with pytest.raises(InvalidKeyError, match=re.escape(field)):
        encode_key(key)


@pytest.mark.parametrize(
    "encoded",
    ["", "PK", "PK(X)a", "PK(S)a*PK(S)a", "PK(S)!2f", "PK(S)a b", "SK(S)b*PK(S)a", "PK(N)1.50", "sha256-xyz"],
)
def test_decode_refuses_what_encode_never_writes(encoded: str) -> None:
    with pytest.raises(ValueError, match=r"encoded key|canonical"):
        decode_key(encoded)

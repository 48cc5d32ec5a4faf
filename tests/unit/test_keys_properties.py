"""Properties of the key/path encoding (issue 2, 2a-2f), over every key shape in tests/strategies.py.

Each property is one the proof of concept's ``PK_<v>_SK_<v>.json`` naming broke;
tests/unit/test_legacy_naming.py shows hypothesis finding those breaks.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from archiver.archive import VERSION_LENGTH, key_folder
from archiver.keys import (
    MAX_ENCODED_KEY_BYTES,
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
    # given two keys that DynamoDB holds apart
    assume(canonical_key(first) != canonical_key(second))
    # then their encodings differ, and neither folder is a prefix of the other
    a, b = encode_key(first), encode_key(second)
    assert a != b
    folder_a, folder_b = key_folder("archive", "t" * 3, a), key_folder("archive", "t" * 3, b)
    assert not folder_a.startswith(folder_b)
    assert not folder_b.startswith(folder_a)


@PROPERTY
@given(kst.numbers().flatmap(lambda n: st.tuples(kst.spellings(n), kst.spellings(n))))
@example(("1.5", "1.50"))
@example(("15E-1", "0.15e1"))
@example(("-0", "0"))
@example(("100", "1E+2"))
def test_equal_numbers_encode_equally(spelled: tuple[str, str]) -> None:
    first, second = spelled
    assert Decimal(first) == Decimal(second)
    assert encode_key({"PK": {"N": first}}) == encode_key({"PK": {"N": second}})


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

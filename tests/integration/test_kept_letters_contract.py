"""One KeptLetters contract, two implementations: FakeKeptLetters and S3KeptLetters over moto."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from adapters.aws.s3_dead_letters import S3KeptLetters
from archiver.ports import KeptLetters, ObjectNotFoundError, StoreUnavailableError
from tests.fakes import FakeKeptLetters
from tests.integration.conftest import BUCKET, FAST

if TYPE_CHECKING:
    from collections.abc import Callable

KEY = "archive/orders/_dead-letters/2026-11-25/abc.json"


@dataclass(frozen=True)
class Backend:
    letters: KeptLetters
    keep: Callable[[str, bytes], None]  # writes a letter under KEY's bucket, as the overflow does
    unavailable: KeptLetters


@pytest.fixture(params=["fake", "moto"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "fake":
        fake = FakeKeptLetters()
        return Backend(fake, lambda key, data: fake.letters.__setitem__((BUCKET, key), data), FakeKeptLetters(True))
    s3 = request.getfixturevalue("s3")
    return Backend(
        S3KeptLetters(s3, retry=FAST),
        lambda key, data: s3.put_object(Bucket=BUCKET, Key=key, Body=data),
        S3KeptLetters(s3, retry=FAST),  # reads from a bucket that does not exist, below
    )


def test_a_kept_letter_reads_back_byte_for_byte(backend):
    data = '{"kind": "archiver-dead-letter", "note": "é"}'.encode()
    backend.keep(KEY, data)

    assert backend.letters.read(BUCKET, KEY) == data


def test_a_letter_not_there_raises_object_not_found(backend):
    with pytest.raises(ObjectNotFoundError):
        backend.letters.read(BUCKET, KEY)


def test_a_store_that_cannot_be_read_raises_store_unavailable(backend):
    with pytest.raises(StoreUnavailableError):
        backend.unavailable.read("no-such-bucket-here", KEY)

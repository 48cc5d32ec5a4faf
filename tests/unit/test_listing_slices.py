"""split_slice: the slices of a parallel listing hold every archive object exactly once.

The listing is simulated over an in-memory sorted key set with tiny pages, so that hypothesis
splits again and again, including at common prefixes, at the alphabet's ends and next to
dead letters and strays. The adapter that runs it on threads is tested against the fake and moto
in tests/integration/test_parallel_listing.py.
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import TYPE_CHECKING

from hypothesis import given, settings
from hypothesis import strategies as st

from archiver.keys import encode_key
from archiver.listing import KEY_ALPHABET, ListingSlice, continue_slice, read_object_key, split_slice
from tests import strategies as kst

if TYPE_CHECKING:
    from collections.abc import Callable

FOLDER = "archive/orders/"


def walk(
    keys: list[str], page_size: int, folder: str = FOLDER, split: Callable[[int], bool] = lambda _: True
) -> list[str]:
    """What the parallel listing reads, in any order: pages of slices, split (or read on) while full.

    ``split(n)`` says whether the n-th full page is split or read on (the lister splits while
    threads are idle); the order slices are read in is the lister's business, not the result's.
    """
    ordered = sorted(keys)
    out: list[str] = []
    queue = [ListingSlice(folder)]
    full = 0
    while queue:
        piece = queue.pop()
        # what the store returns (prefix and start_after), cut where the slice ends
        page = [k for k in ordered if k.startswith(piece.prefix) and k > piece.start_after][:page_size]
        end = piece.end_before
        page = list(itertools.takewhile(lambda k, end=end: end is None or k < end, page))
        out += page
        if len(page) == page_size:
            full += 1
            queue += split_slice(piece, page, folder) if split(full) else [continue_slice(piece, page)]
        assert full < 10 * len(keys) + 10, "splitting does not end"
    return out


_versions = st.builds(
    lambda day, sequence, digest: f"202611{day:02d}T100000Z-{sequence:040d}-{digest:016x}",
    st.integers(min_value=1, max_value=28),
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=2**64 - 1),
)
_archive_keys = st.builds(lambda key, version: f"{FOLDER}{encode_key(key)}/{version}.json", kst.keys(), _versions)
#: Keys with long shared prefixes, as real ones have (USER#1, USER#10 ...), to exercise the jump.
_shaped_keys = st.builds(
    lambda n, version: f"{FOLDER}{encode_key({'PK': {'S': f'USER#{n}'}, 'SK': {'S': 'PROFILE'}})}/{version}.json",
    st.integers(min_value=0, max_value=500),
    _versions,
)
_alphabet_keys = st.text(st.sampled_from(KEY_ALPHABET), min_size=1, max_size=8).map(lambda s: FOLDER + s)
#: Few characters, so that keys share prefixes and pages split at them; "~" and "\x7f" sort past the alphabet.
_crowded_keys = st.text(st.sampled_from("ab01(/~\x7f"), min_size=1, max_size=6).map(lambda s: FOLDER + s)
_strays = st.one_of(
    st.text(min_size=1, max_size=6).map(lambda s: FOLDER + s),
    # next to the characters the split relies on: "~" sorts after the alphabet, "\x7f" after "~"
    st.text(st.sampled_from("0123PK(S)USER!_~\x7fé/"), min_size=1, max_size=12).map(lambda s: FOLDER + s),
    st.sampled_from([f"{FOLDER}_dead-letters/{n}.json" for n in range(5)]),
    st.sampled_from(["archive/orders", "archive/order", "archive/orders-2/x", "zzz"]),
)


@settings(max_examples=300)
@given(
    st.lists(st.one_of(_archive_keys, _shaped_keys, _alphabet_keys, _crowded_keys), unique=True, max_size=60),
    st.lists(_strays, unique=True, max_size=10),
    st.integers(min_value=1, max_value=4),
    st.lists(st.booleans(), min_size=1),
)
def test_every_archive_object_is_listed_exactly_once(
    keys: list[str], strays: list[str], page_size: int, splits: list[bool]
) -> None:
    everything = set(keys) | set(strays)
    listed = walk(list(everything), page_size, split=lambda n: splits[n % len(splits)])
    counts = Counter(listed)
    # nothing twice, nothing invented
    assert all(n == 1 for n in counts.values())
    assert set(listed) <= {k for k in everything if k.startswith(FOLDER)}
    # every archive version, and every key of the alphabet that no split could rule out, is there
    archive = {k for k in everything if read_object_key(k, FOLDER) is not None}
    assert archive <= set(listed)
    plain = {k for k in keys if "/" not in k[len(FOLDER) :] and set(k[len(FOLDER) :]) <= set(KEY_ALPHABET)}
    assert plain <= set(listed)


@given(st.lists(_shaped_keys, unique=True, min_size=1, max_size=80), st.integers(min_value=2, max_value=8))
def test_the_listing_is_the_sequential_walks_set(keys: list[str], page_size: int) -> None:
    assert sorted(walk(keys, page_size)) == sorted(keys)


def test_a_full_page_of_dead_letters_is_not_split_into_their_folder() -> None:
    letters = [f"{FOLDER}_dead-letters/{n:03d}.json" for n in range(40)]
    archived = [f"{FOLDER}{encode_key({'PK': {'S': x}})}/20261125T100000Z-{1:040d}-{0:016x}.json" for x in "ab"]
    # a page of the "_" slice that is all dead letters: its split descends no further into them
    slices = split_slice(ListingSlice(f"{FOLDER}_"), letters[:4], FOLDER)
    assert [s for s in slices if s.prefix.startswith(f"{FOLDER}_dead-letters/")] == []
    listed = walk([*letters, *archived], 4)
    assert set(archived) <= set(listed)
    assert len(listed) < len(letters)  # most dead letters were never read


def test_a_key_past_the_alphabet_after_a_split_prefix_is_listed_once() -> None:
    # the slice after "a1" ends at "a~", where the rest starts: "a~~" belongs to the rest only
    keys = [f"{FOLDER}a0", f"{FOLDER}a1", f"{FOLDER}a~~", f"{FOLDER}b"]
    assert Counter(walk(keys, 2)) == Counter(keys)

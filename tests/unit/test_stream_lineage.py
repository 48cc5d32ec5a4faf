"""Shard lineage: parents are read before children, and nothing is dropped, whatever the order given."""

from __future__ import annotations

import random

from adapters.aws.stream_reader import Shard, order_shards, readable_shards


def _ids(shards: list[Shard]) -> list[str]:
    return [shard.shard_id for shard in shards]


def test_parents_come_before_children_whatever_order_describe_stream_gives() -> None:
    # given a split and a second-generation split, shuffled
    shards = [
        Shard("s1"),
        Shard("s2", parent_id="s1", closed=True),
        Shard("s3", parent_id="s1"),
        Shard("s4", parent_id="s2"),
        Shard("s0"),
    ]
    for seed in range(20):
        shuffled = shards[:]
        random.Random(seed).shuffle(shuffled)
        # when ordered
        ordered = _ids(order_shards(shuffled))
        # then each shard appears once, after its parent
        assert sorted(ordered) == ["s0", "s1", "s2", "s3", "s4"]
        assert ordered.index("s1") < ordered.index("s2") < ordered.index("s4")
        assert ordered.index("s1") < ordered.index("s3")


def test_a_parent_trimmed_away_counts_as_done() -> None:
    # given a child whose parent is older than the stream keeps (not in DescribeStream any more)
    shards = [Shard("child", parent_id="gone")]
    # then the child is readable at once
    assert _ids(readable_shards(shards, finished=set())) == ["child"]


def test_a_child_waits_until_its_parent_is_finished() -> None:
    shards = [Shard("parent", closed=True), Shard("child", parent_id="parent")]
    assert _ids(readable_shards(shards, finished=set())) == ["parent"]
    assert _ids(readable_shards(shards, finished={"parent"})) == ["child"]
    assert readable_shards(shards, finished={"parent", "child"}) == []


def test_a_lineage_cycle_still_yields_every_shard_once() -> None:
    shards = [Shard("a", parent_id="b"), Shard("b", parent_id="a")]
    assert sorted(_ids(order_shards(shards))) == ["a", "b"]


def test_siblings_keep_the_order_of_their_ids() -> None:
    shards = [Shard("c", parent_id="p"), Shard("b", parent_id="p"), Shard("p")]
    assert _ids(order_shards(shards)) == ["p", "b", "c"]

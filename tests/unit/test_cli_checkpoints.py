"""The state file of `archiver run`: keyed by stream and shard, monotonic, replaced atomically."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from adapters.local.checkpoints import CheckpointError, Checkpoints, done_prefix

if TYPE_CHECKING:
    from pathlib import Path

OLD = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"
NEW = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-02-01T00:00:00.000"


def test_a_missing_file_means_no_checkpoints(tmp_path: Path) -> None:
    assert Checkpoints.load(tmp_path / "state.json").get(OLD, "shard-1") is None


def test_an_advance_survives_a_reload(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    Checkpoints.load(path).advance(OLD, "orders", "shard-1", "110")
    assert Checkpoints.load(path).get(OLD, "shard-1") == "110"
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind


def test_the_same_shard_id_in_two_streams_keeps_two_checkpoints(tmp_path: Path) -> None:
    # moto gives every table's shard the same id; a re-enabled stream reuses ids too
    state = Checkpoints.load(tmp_path / "state.json")
    state.advance(OLD, "orders", "shard-1", "110")
    state.advance(NEW, "orders", "shard-1", "5")
    assert (state.get(OLD, "shard-1"), state.get(NEW, "shard-1")) == ("110", "5")
    assert state.streams_of("orders") == [OLD, NEW]


def test_a_checkpoint_never_moves_back(tmp_path: Path) -> None:
    state = Checkpoints.load(tmp_path / "state.json")
    state.advance(OLD, "orders", "shard-1", "110")
    state.advance(OLD, "orders", "shard-1", "99")
    assert Checkpoints.load(state.path).get(OLD, "shard-1") == "110"


def test_a_failed_write_leaves_the_old_file_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.json"
    Checkpoints.load(path).advance(OLD, "orders", "shard-1", "110")
    before = path.read_text()

    def broken_replace(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("adapters.local.checkpoints.os.replace", broken_replace)
    with pytest.raises(CheckpointError, match="cannot write the state file"):
        Checkpoints.load(path).advance(OLD, "orders", "shard-1", "120")
    assert path.read_text() == before
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("content", ["not json", "[]", json.dumps({"version": 2, "streams": {}}), '{"version": 1}'])
def test_a_file_that_is_not_a_state_file_is_an_error_naming_it(tmp_path: Path, content: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(content)
    with pytest.raises(CheckpointError, match="not an archiver state file"):
        Checkpoints.load(path)


@pytest.mark.parametrize(
    ("done", "prefix"),
    [([], 0), ([True, True], 2), ([True, False, True], 1), ([False, True], 0)],
)
def test_the_checkpoint_moves_only_past_a_done_prefix(done: list[bool], prefix: int) -> None:
    assert done_prefix(done) == prefix

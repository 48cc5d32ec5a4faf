"""Where `archiver run` got to in each shard: a small JSON file, replaced atomically.

Keyed by stream ARN and shard id, because shard ids are not unique across streams (moto gives every
table's shard the same id, and a re-enabled stream starts new shards) and sequence numbers restart
on a fresh moto server. A checkpoint names the last record of a shard that is archived, dead-lettered
or not ours (INSERT/MODIFY), with every record before it, so a restart resumes just after it and
neither skips nor re-archives.

File shape::

    {"version": 1,
     "streams": {"<stream arn>": {"table": "orders", "shards": {"<shard id>": "<sequence number>"}}}}
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["CheckpointError", "Checkpoints", "done_prefix"]

_VERSION = 1


class CheckpointError(ValueError):
    """The state file cannot be read or written; the message names the file and the fix."""


def done_prefix(done: list[bool]) -> int:
    """How many records from the start are done: the checkpoint may move past those and no further.

    Records of one batch finish in any order (they are archived concurrently); moving the
    checkpoint past a record still failing would lose it on restart.
    """
    count = 0
    for finished in done:
        if not finished:
            break
        count += 1
    return count


class Checkpoints:
    """The checkpoints of every shard read so far, saved to ``path`` after each advance."""

    def __init__(self, path: Path, streams: dict[str, dict[str, Any]] | None = None) -> None:
        self.path = path
        self._streams: dict[str, dict[str, Any]] = streams or {}

    @classmethod
    def load(cls, path: str | Path) -> Checkpoints:
        """The checkpoints in ``path``; none if the file does not exist yet.

        Raises:
            CheckpointError: the file exists but is not a checkpoint file.
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path)
        except OSError as error:
            raise CheckpointError(f"{path}: cannot read the state file: {error.strerror or error}") from None
        try:
            data = json.loads(text)
            streams = data["streams"]
            if data.get("version") != _VERSION or not isinstance(streams, dict):
                raise ValueError("unknown version")
            for arn, entry in streams.items():
                if not (isinstance(arn, str) and isinstance(entry["table"], str) and isinstance(entry["shards"], dict)):
                    raise ValueError(arn)
                if not all(isinstance(v, str) and v.isdigit() for v in entry["shards"].values()):
                    raise ValueError(arn)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise CheckpointError(
                f"{path}: not an archiver state file (expected version {_VERSION} with streams -> table, "
                "shards); move it away to start from --from, or pass another --state"
            ) from None
        return cls(path, streams)

    def get(self, stream_arn: str, shard_id: str) -> str | None:
        """The last handled sequence number of this shard of this stream, if any."""
        entry = self._streams.get(stream_arn)
        return None if entry is None else entry["shards"].get(shard_id)

    def streams_of(self, table: str) -> list[str]:
        """The stream ARNs this table has checkpoints for (more than one after a re-enable)."""
        return sorted(arn for arn, entry in self._streams.items() if entry["table"] == table)

    def advance(self, stream_arn: str, table: str, shard_id: str, sequence_number: str) -> None:
        """Record that the shard is done up to ``sequence_number``, and save the file atomically."""
        entry = self._streams.setdefault(stream_arn, {"table": table, "shards": {}})
        current = entry["shards"].get(shard_id)
        if current is not None and int(current) >= int(sequence_number):
            return
        entry["shards"][shard_id] = sequence_number
        self.save()

    def save(self) -> None:
        """Write temp file + fsync + os.replace: a crash leaves the old file or the new, never half."""
        text = json.dumps({"version": _VERSION, "streams": self._streams}, indent=2, sort_keys=True)
        directory = self.path.parent if str(self.path.parent) else Path()
        try:
            directory.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    out.write(text + "\n")
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temp, self.path)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError as error:
            raise CheckpointError(f"{self.path}: cannot write the state file: {error.strerror or error}") from None

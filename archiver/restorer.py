"""Restorer: archived items back into a table, one outcome per key, never over a live item.

The decisions are :mod:`archiver.restore_plan`'s; this service wires them to the ports: it reads the
chosen version from the ArchiveStore and puts its image through an ItemTable, whose put is
conditional on the key being free. That one condition is what makes a restore safe to run again
after an interruption: every key restored the first time is ``present`` the second time.

Every path (one ``--key``, a list, a window) goes through :meth:`Restorer.prepare` then
:meth:`Restorer.put`, so each checks the target's key schema and the item's size before writing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from archiver.archive import ArchiveBodyError
from archiver.listing import read_object_key
from archiver.ports import ItemTableError, ObjectNotFoundError, StoreUnavailableError
from archiver.restore_plan import (
    ArchivedImage,
    KeyOutcome,
    KeyPlan,
    KeyStatus,
    Skip,
    choose_version,
    image_to_restore,
    refusal,
)
from archiver.windows import TimeWindow

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from archiver.listing import ArchiveName
    from archiver.policy import DeletionKind
    from archiver.ports import ArchiveBodies, ArchiveStore, ItemTable, Mapper

__all__ = ["Restorer"]


@dataclass(frozen=True)
class Restorer:
    """Restores keys of the table archived under ``folder`` into ``table``.

    Attributes:
        folder: the archived table's folder, ``<prefix>/<table>/``.
        table: the table written to (the archived one, or another with the same key).
        window: which deletions count; unbounded, the newest version of each key.
        kind: restore only keys whose chosen deletion is of this kind.
        dry_run: write nothing; say what would be written (``would restore``, or ``present``).
        target_key: the written table's key (name -> S, N or B), where known: an archived key of
            other attributes or types fails with the reason instead of reaching the table.
        bodies: where a chosen version's body is read; None reads its own object from ``store``
            (the ``objects`` layout). A compact table's listing passes the lines it read, and its
            plans carry every version found, so the Restorer neither lists nor GETs again.
    """

    store: ArchiveStore
    items: ItemTable
    folder: str
    table: str
    window: TimeWindow = field(default_factory=TimeWindow)
    kind: DeletionKind | None = None
    dry_run: bool = False
    target_key: Mapping[str, str] | None = None
    bodies: ArchiveBodies | None = None

    def run(
        self,
        plans: Iterable[KeyPlan],
        mapper: Mapper = map,
        stop: Callable[[], bool] = lambda: False,
    ) -> Iterator[KeyOutcome]:
        """One outcome per plan, in order; once ``stop()`` is true, the keys not begun are ``not attempted``.

        ``mapper`` runs the keys (a bounded thread pool's ``map`` in the CLI); a key already begun
        when ``stop()`` turns true finishes, so a write in flight is never abandoned half-way.
        """

        def one(plan: KeyPlan) -> KeyOutcome:
            if stop():
                return KeyOutcome(plan.encoded_key, KeyStatus.NOT_ATTEMPTED)
            return self.restore(plan)

        return mapper(one, plans)

    def restore(self, plan: KeyPlan) -> KeyOutcome:
        """The outcome of one key; an unexpected error fails that key only, with the reason."""
        try:
            return self._restore(plan)
        except Exception as error:  # noqa: BLE001 - a bug for one key must not stop the others
            return KeyOutcome(
                plan.encoded_key, KeyStatus.FAILED, reason=f"internal error: {type(error).__name__}: {error}"
            )

    def _restore(self, plan: KeyPlan) -> KeyOutcome:
        encoded = plan.encoded_key
        try:
            names = plan.names if plan.names is not None else self._versions(encoded)
        except StoreUnavailableError as error:
            return KeyOutcome(encoded, KeyStatus.FAILED, reason=f"listing its versions failed: {error}")
        choice = choose_version(names, self.window, plan.version)
        if isinstance(choice, Skip):
            return _skipped(encoded, choice)
        prepared = self.prepare(choice.name)
        return prepared if isinstance(prepared, KeyOutcome) else self.put(prepared, choice.name)

    def prepare(self, name: ArchiveName) -> ArchivedImage | KeyOutcome:
        """The image version ``name`` puts back, checked against the table; or the outcome saying why not.

        Nothing is written: a key that cannot go back (no image, another kind, another key schema, too
        large for the table) ends here, so a dry run reports exactly what a real run would.
        """
        try:
            body = self.bodies.body(name) if self.bodies is not None else self.store.get(name.object_key)
            decided = image_to_restore(body, name.encoded_key, self.kind)
        except (StoreUnavailableError, ObjectNotFoundError) as error:
            return _failed(name, f"reading the archive failed: {error}")
        except ArchiveBodyError as error:
            return _failed(name, f"{name.object_key} is not a usable archive: {error}")
        if isinstance(decided, Skip):
            return _skipped(name.encoded_key, Skip(decided.reason, name))
        refused = refusal(decided, self.target_key, self.table)
        if refused is not None:
            return _failed(name, refused, decided)
        return decided

    def put(self, image: ArchivedImage, name: ArchiveName) -> KeyOutcome:
        """Write ``image`` where no item has its key (in a dry run, say whether it would be)."""
        try:
            outcome = self._write(image)
        except ItemTableError as error:
            return _failed(name, str(error), image)
        return KeyOutcome(name.encoded_key, outcome, image.key, name.version, name.object_key, missing=image.missing)

    def _versions(self, encoded: str) -> tuple[ArchiveName, ...]:
        names = (read_object_key(k, self.folder) for k in self.store.list_keys(f"{self.folder}{encoded}/"))
        return tuple(n for n in names if n is not None)

    def _write(self, image: ArchivedImage) -> KeyStatus:
        if self.dry_run:
            return KeyStatus.PRESENT if self.items.exists(self.table, image.key) else KeyStatus.WOULD_RESTORE
        written = self.items.put_if_absent(self.table, image.item, image.key)
        return KeyStatus.RESTORED if written else KeyStatus.PRESENT


def _skipped(encoded: str, skip: Skip) -> KeyOutcome:
    name = skip.name
    if name is None:
        return KeyOutcome(encoded, KeyStatus.SKIPPED, reason=skip.reason)
    return KeyOutcome(encoded, KeyStatus.SKIPPED, name.key, name.version, name.object_key, skip.reason)


def _failed(name: ArchiveName, reason: str, image: ArchivedImage | None = None) -> KeyOutcome:
    key = image.key if image is not None else name.key
    return KeyOutcome(name.encoded_key, KeyStatus.FAILED, key, name.version, name.object_key, reason)

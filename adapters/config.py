"""The environment's YAML file (``config/<env>.yaml``): the archive bucket and the tables to archive.

The same file is read by Terraform (``yamldecode``), so it holds plain YAML values only, and the
per-table fields here are exactly the table module's variables (``tests/terraform`` checks it).
Errors name the file, the table and the field, and say what is accepted.

Over 300 lines because the file is one contract with two readers: the models, the limits each
delivery imposes (which the Terraform module repeats, checked by ``tests/terraform``) and the
loader that refuses what PyYAML would otherwise choke on belong together.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal, NamedTuple

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator, model_validator

from adapters.fields import BucketName, KeyPrefix, TableName
from archiver.archive import table_folder
from archiver.policy import DeletionKind, Policies, TablePolicy
from archiver.policy import Layout as ArchiveLayout

__all__ = [
    "BATCH_DEFAULTS",
    "BATCH_LIMITS",
    "MAX_CONFIG_BYTES",
    "MAX_LIFECYCLE_DAYS",
    "MAX_YAML_DEPTH",
    "MODULE_NAME_PREFIX",
    "Batch",
    "ConfigError",
    "Delivery",
    "EffectiveBatch",
    "EnvironmentConfig",
    "KeyAttribute",
    "KeySchema",
    "Layout",
    "Retention",
    "TableConfig",
    "load_config",
]

#: The table module's default ``name_prefix`` (terraform/modules/table-archive/variables.tf); the
#: environments do not set it, so every name the module gives starts with it.
MODULE_NAME_PREFIX = "dynamo-archive"

#: A configuration is a few KB; more is the wrong file (``--config /dev/zero`` read until MemoryError).
MAX_CONFIG_BYTES = 1024 * 1024
#: The deepest nesting a configuration needs is 4 (tables, a table, key_schema, a key); PyYAML's
#: composer recurses per level, so 100,000 ``[`` ended in a RecursionError.
MAX_YAML_DEPTH = 32
#: S3 lifecycle ``Days`` is a 32-bit integer (LifecycleExpiration, Transition); the provider
#: refuses a larger number at plan time with no word of which table it came from.
MAX_LIFECYCLE_DAYS = 2**31 - 1

Layout = Literal["objects", "compact"]
Delivery = Literal["bus", "direct", "stream"]


class EffectiveBatch(NamedTuple):
    """Records per invocation and seconds spent gathering them, after the delivery's defaults."""

    size: int
    window_seconds: int


#: What each delivery batches when the YAML says nothing (the table module's ``local.batch_defaults``,
#: checked by tests/terraform): bus and direct as before; stream gathers more, because a mapping's
#: reads are free and a compact file holds one invocation's deletions.
BATCH_DEFAULTS: dict[str, EffectiveBatch] = {
    "bus": EffectiveBatch(10, 5),
    "direct": EffectiveBatch(10, 5),
    "stream": EffectiveBatch(1000, 10),
}
#: The largest batch each delivery takes, and why (the module's ``batch`` validation repeats them).
#: Every batching window is at most 300 s (Pipes and event source mappings alike).
BATCH_LIMITS: dict[str, tuple[int, str]] = {
    "bus": (10, "the pipe puts a batch on the bus with one PutEvents call, which takes at most 10 entries"),
    "direct": (
        1000,
        "the pipe cuts an execution at 5 minutes and a synchronous invocation carries at most 6 MB; the "
        "function (timeout at most 240 s) must archive the whole batch well within both",
    ),
    "stream": (10000, "an event source mapping on a DynamoDB stream reads at most 10,000 records per batch"),
}
MAX_BATCH_WINDOW_SECONDS = 300


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names file, table and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KeyAttribute(_Strict):
    name: str = Field(min_length=1, max_length=255, description="Attribute name.")
    type: Literal["S", "N", "B"] = Field(description="S (string), N (number) or B (binary).")


class KeySchema(_Strict):
    """The table's key, for local provisioning only: in AWS the table exists already."""

    partition_key: KeyAttribute
    sort_key: KeyAttribute | None = None


class Retention(_Strict):
    """Lifecycle of this table's archive objects (merged into the bucket's one lifecycle configuration)."""

    # StrictInt: YAML's `true` would otherwise be read as 1 day.
    transition_after_days: StrictInt | None = Field(
        None,
        ge=30,
        le=MAX_LIFECYCLE_DAYS,
        description="Move objects to STANDARD_IA after this many days (objects layout: only objects above 128 KiB).",
    )
    expire_after_days: StrictInt | None = Field(
        None, ge=1, le=MAX_LIFECYCLE_DAYS, description="Delete archive objects after this many days."
    )

    @model_validator(mode="after")
    def _order(self) -> Retention:
        if (
            self.transition_after_days is not None
            and self.expire_after_days is not None
            and self.expire_after_days < self.transition_after_days + 30
        ):
            raise ValueError("expire_after_days must be greater than transition_after_days by at least 30 days")
        return self


class Batch(_Strict):
    """How the pipe or mapping batches this table's deletions; a field left out takes its delivery's default."""

    size: StrictInt | None = Field(
        None, ge=1, description="Records per invocation (at most: bus 10, direct 1000, stream 10000)."
    )
    window_seconds: StrictInt | None = Field(
        None, ge=0, le=MAX_BATCH_WINDOW_SECONDS, description="Seconds spent gathering a batch, 0 to 300."
    )


class TableConfig(_Strict):
    """One table to archive, with its per-table settings (each one a variable of the Terraform module)."""

    name: TableName = Field(description="The DynamoDB table name.")
    prefix: KeyPrefix = Field("archive", description="First part of this table's object keys.")
    capture: list[DeletionKind] = Field(
        default_factory=lambda: [DeletionKind.USER, DeletionKind.TTL],
        min_length=1,
        description="Which deletions to archive: user, ttl, or both.",
    )
    ttl_attribute: str | None = Field(None, min_length=1, description="The table's TTL attribute, if any.")
    drop_attributes: list[str] = Field(default_factory=list, description="Top-level attributes not archived.")
    retention: Retention = Field(Retention(), description="Lifecycle of the archive objects.")
    delivery: Delivery = Field(
        "bus",
        description="bus: pipe -> EventBridge bus -> rule -> function; direct: pipe -> function; "
        "stream: a Lambda event source mapping on the table's stream -> function (no pipe).",
    )
    layout: Layout = Field(
        "objects",
        description="objects: one object per deletion; compact: one file per batch (needs delivery direct or stream).",
    )
    batch: Batch | None = Field(
        None, description="Records per invocation and batching window; defaults depend on the delivery."
    )
    key_schema: KeySchema | None = Field(None, description="The table's key (local provisioning only).")

    @model_validator(mode="after")
    def _delivery_limits(self) -> TableConfig:
        if self.layout == "compact" and self.delivery == "bus":
            raise ValueError(
                "field layout: 'compact' needs delivery 'direct' or 'stream' (got delivery 'bus'): a bus "
                "invokes the function with one record, so every file would hold one deletion"
            )
        size = None if self.batch is None else self.batch.size
        most, why = BATCH_LIMITS[self.delivery]
        if size is not None and size > most:
            raise ValueError(f"field batch.size: {size} is more than delivery {self.delivery!r} takes ({most}): {why}")
        return self

    @property
    def effective_batch(self) -> EffectiveBatch:
        """Batch size and window as deployed: the YAML's ``batch``, its gaps filled with the delivery's defaults."""
        default = BATCH_DEFAULTS[self.delivery]
        given = self.batch or Batch()
        return EffectiveBatch(
            default.size if given.size is None else given.size,
            default.window_seconds if given.window_seconds is None else given.window_seconds,
        )

    @property
    def folder(self) -> str:
        """Where this table's objects go: ``<prefix>/<table>/``."""
        return table_folder(self.prefix, self.name)

    @property
    def dead_letter_queue_name(self) -> str:
        """The name ``terraform/modules/table-archive`` gives this table's dead-letter queue.

        The module's ``local.name`` plus ``-dlq``: ``<name_prefix>-<table>``, or where that has a '.'
        or passes 56 characters (Lambda function names allow neither), its first 47 characters with
        '.' as '-' and 8 hex digits of the table name's SHA-1 (tests/terraform checks both agree).
        """
        base = f"{MODULE_NAME_PREFIX}-{self.name}"
        safe = base.replace(".", "-")
        if safe != base or len(base) > 56:
            safe = f"{safe[:47]}-{hashlib.sha1(self.name.encode()).hexdigest()[:8]}"  # noqa: S324 - a name, not a secret
        return f"{safe}-dlq"

    def policy(self) -> TablePolicy:
        return TablePolicy(
            prefix=self.prefix,
            capture=frozenset(self.capture),
            ttl_attribute=self.ttl_attribute,
            drop_attributes=frozenset(self.drop_attributes),
            layout=ArchiveLayout(self.layout),
        )


class EnvironmentConfig(_Strict):
    """One environment: where its archive lives and which tables feed it."""

    environment: str = Field(pattern=r"^[a-z][a-z0-9-]{0,19}$", description="Short name: local, dev, prod.")
    region: str = Field("us-east-1", pattern=r"^[a-z]{2}(-[a-z]+)+-\d$", description="AWS region.")
    bucket: BucketName = Field(description="The archive bucket for all tables.")
    dead_letter_queue: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,80}$", description="Local queue name; default <bucket>-dlq."
    )
    account_id: str | None = Field(
        None,
        pattern=r"^\d{12}$",
        description="The AWS account this environment is deployed to (the provider's allowed_account_ids); "
        "required except for local.",
    )
    alarm_topic_arn: str | None = Field(
        None,
        pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$",
        description="SNS topic every alarm of the environment notifies; required except for local.",
    )
    tables: list[TableConfig] = Field(min_length=1, description="The tables to archive.")

    @field_validator("account_id", mode="before")
    @classmethod
    def _account_is_text(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValueError(
                "write the account id in quotes (account_id: '012345678901'): YAML reads bare digits as a "
                "number and drops leading zeros"
            )
        return value

    @model_validator(mode="after")
    def _deployed_environments_say_where_and_who_hears(self) -> EnvironmentConfig:
        # Terraform deploys every environment but local: the provider refuses any other account,
        # and an alarm that notifies nobody protects nothing.
        if self.environment != "local":
            missing = [name for name in ("account_id", "alarm_topic_arn") if getattr(self, name) is None]
            if missing:
                raise ValueError(
                    f"field {' and '.join(missing)} required for environment {self.environment!r} (only local "
                    "runs without them): account_id: '<12 digits>', "
                    "alarm_topic_arn: arn:aws:sns:<region>:<account>:<topic>"
                )
        return self

    @field_validator("tables")
    @classmethod
    def _unique(cls, tables: list[TableConfig]) -> list[TableConfig]:
        names = [t.name for t in tables]
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise ValueError(f"table(s) listed twice: {', '.join(doubled)}")
        # A folder inside another table's: that table's PutObject grant (<folder>*) and lifecycle
        # rules (prefix <folder>) would reach these objects; Terraform refuses it at plan time too.
        nested = [
            f"table {inner.name!r} (prefix {inner.prefix!r}) has its folder {inner.folder} inside table "
            f"{outer.name!r}'s folder {outer.folder}"
            for outer in tables
            for inner in tables
            if inner is not outer and inner.folder.startswith(outer.folder)
        ]
        if nested:
            raise ValueError(
                "; ".join(nested) + ": give each table a prefix under which no other table's folder starts"
            )
        return tables

    @property
    def queue_name(self) -> str:
        return self.dead_letter_queue or f"{self.bucket}-dlq"

    def table(self, name: str) -> TableConfig:
        for table in self.tables:
            if table.name == name:
                return table
        known = ", ".join(t.name for t in self.tables)
        raise ConfigError(f"table {name!r} is not in the configuration; configured tables: {known}")

    def policies(self) -> Policies:
        return Policies(tables={t.name: t.policy() for t in self.tables})


def _where(data: Any, loc: tuple[int | str, ...]) -> str:
    """Say 'table orders, field capture[0]' rather than 'tables.2.capture.0'."""
    if len(loc) >= 2 and loc[0] == "tables" and isinstance(loc[1], int):
        tables = data.get("tables") if isinstance(data, dict) else None
        entry = tables[loc[1]] if isinstance(tables, list) and loc[1] < len(tables) else None
        name = entry.get("name") if isinstance(entry, dict) else None
        table = f"table {name!r}" if name else f"table #{loc[1] + 1}"
        rest = ".".join(str(p) for p in loc[2:])
        return f"{table}, field {rest}" if rest else table
    return "field " + ".".join(str(p) for p in loc) if loc else "top level"


def parse_config(data: Any, source: str = "<config>") -> EnvironmentConfig:
    try:
        return EnvironmentConfig.model_validate(data)
    except ValidationError as error:
        lines = [f"{source}: {len(error.errors())} problem(s):"]
        for item in error.errors():
            # A check over a whole table or the table list names the values it objects to: its input
            # shown as "got" would only repeat the file.
            whole = item["type"] == "value_error" and isinstance(item.get("input"), dict | list)
            got = "" if item["type"] == "missing" or whole else f" (got {item.get('input')!r})"
            lines.append(f"  - {_where(data, tuple(item['loc']))}: {item['msg']}{got}")
        raise ConfigError("\n".join(lines)) from None


class _PlainLoader(yaml.SafeLoader):
    """safe_load, minus what a configuration never needs and an attacker can abuse.

    - A key given twice is refused: YAML would let the last one win, silently.
    - Anchors and aliases are refused when the parser meets them, before anything is expanded:
      a dozen lines of nested aliases (an alias bomb) would otherwise take seconds and gigabytes.
      Terraform's ``yamldecode`` reads this file too, and plain values are all it needs.
    - Nesting deeper than :data:`MAX_YAML_DEPTH` is refused where it starts: the composer recurses
      once per level, so 100,000 ``[`` ended in a RecursionError instead of an answer.
    """

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.MarkedYAMLError(
                problem="anchors and aliases (& and *) are not accepted; write the values out",
                problem_mark=event.start_mark,
            )
        if self._depth >= MAX_YAML_DEPTH:
            raise yaml.MarkedYAMLError(
                problem=f"nested more than {MAX_YAML_DEPTH} levels deep; a configuration needs 4",
                problem_mark=event.start_mark,
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)  # type: ignore[arg-type]
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.MarkedYAMLError(
                    problem=f"key {key!r} is given twice in one mapping; keep one", problem_mark=key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_error(path: Path, error: yaml.YAMLError) -> str:
    """One line: file, line and column (1-based), and the problem."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    return f"{where}: not valid YAML: {problem}"


def load_config(path: str | Path) -> EnvironmentConfig:
    """Read and validate one environment's YAML file.

    Raises:
        ConfigError: unreadable, larger than :data:`MAX_CONFIG_BYTES`, not UTF-8, not YAML (one line
            with line and column), or not a valid configuration (each problem naming the table and
            the field).
    """
    path = Path(path)
    try:
        with path.open("rb") as file:  # at most one byte past the cap: /dev/zero never ends
            raw = file.read(MAX_CONFIG_BYTES + 1)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the configuration: {error.strerror or error}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{path}: larger than {MAX_CONFIG_BYTES // 1024 // 1024} MiB; "
            "a configuration is a few KB: is this the right file?"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}:{line}: not UTF-8 (byte 0x{raw[error.start]:02x} at offset {error.start}); save the file as UTF-8"
        ) from None
    try:
        data = yaml.load(text, Loader=_PlainLoader)  # noqa: S506 - _PlainLoader is a SafeLoader
    except yaml.YAMLError as error:
        raise ConfigError(_yaml_error(path, error)) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with environment, bucket and tables at the top level")
    return parse_config(data, str(path))

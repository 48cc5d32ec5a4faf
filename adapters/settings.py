"""Settings of the Lambda function, read from ``ARCHIVER_*`` environment variables at cold start.

The Terraform module passes exactly these variables (``tests/terraform`` checks both sides agree).
A wrong value fails the cold start with a message naming the variable and what it accepts, rather
than archiving under a setting nobody meant.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from adapters.fields import BucketName, KeyPrefix, TableName
from archiver.policy import DeletionKind, Layout, Policies, TablePolicy

__all__ = ["ENV_PREFIX", "Settings", "SettingsError", "load_settings"]

ENV_PREFIX = "ARCHIVER_"


class SettingsError(ValueError):
    """The environment does not configure a working archiver; the message names the variables."""


def _split(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """What one deployed function needs; every field is ``ARCHIVER_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    bucket: BucketName = Field(description="The archive bucket (required).")
    prefix: KeyPrefix = Field("archive", description="First part of every object key.")
    dlq_url: str | None = Field(None, description="SQS queue URL for records that could not be archived.")
    table: TableName | None = Field(
        None, description="Table to archive under when a record carries no usable eventSourceARN."
    )
    capture: Annotated[frozenset[DeletionKind], NoDecode] = Field(
        frozenset({DeletionKind.USER, DeletionKind.TTL}), min_length=1, description="Comma-separated: user, ttl."
    )
    ttl_attribute: str | None = Field(None, description="The table's TTL attribute, if it has one.")
    drop_attributes: Annotated[frozenset[str], NoDecode] = Field(
        frozenset(), description="Comma-separated top-level attributes to leave out of the archive."
    )
    layout: Layout = Field(
        Layout.OBJECTS, description="objects: one object per deletion; compact: one gzip object per batch and hour."
    )
    kms_key_id: str | None = Field(None, description="KMS key for SSE-KMS; SSE-S3 when unset.")
    max_concurrency: int = Field(8, ge=1, le=64, description="Records of one batch archived at once.")
    log_level: str = Field("INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$", description="Log level.")
    metrics_namespace: str = Field(
        "DynamoArchive",
        min_length=1,
        max_length=255,
        pattern="^[0-9A-Za-z._/#: -]+$",
        description="CloudWatch namespace of the EMF metrics the function writes (not AWS/..., reserved).",
    )

    _split_capture = field_validator("capture", "drop_attributes", mode="before")(_split)

    @field_validator("metrics_namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        # CloudWatch refuses custom metrics in AWS/ namespaces: EMF lines there would turn into no metric at all.
        if value.startswith("AWS/"):
            raise ValueError(
                f"{value!r} starts with AWS/, which CloudWatch reserves for AWS services; use e.g. DynamoArchive"
            )
        return value

    @field_validator("dlq_url", "table", "ttl_attribute", "kms_key_id", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    def policies(self) -> Policies:
        """The core's view of these settings: one policy for whatever table the records name."""
        policy = TablePolicy(
            prefix=self.prefix,
            capture=self.capture,
            ttl_attribute=self.ttl_attribute,
            drop_attributes=self.drop_attributes,
            layout=self.layout,
        )
        return Policies(default=policy, fallback_table=self.table)


def load_settings() -> Settings:
    """Settings from the environment, or a SettingsError naming each wrong variable and the fix."""
    try:
        return Settings()
    except ValidationError as error:
        problems = []
        for item in error.errors():
            variable = ENV_PREFIX + "_".join(str(part) for part in item["loc"][:1]).upper()
            shown = "" if item["type"] == "missing" else f" (got {item.get('input')!r})"
            problems.append(f"{variable}: {item['msg']}{shown}")
        raise SettingsError("invalid archiver settings: " + "; ".join(problems)) from None

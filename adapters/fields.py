"""The field types the function's settings and the environment's YAML share, each with its one check.

A bucket, a table name and a key prefix are validated the same way wherever they are read: in
``ARCHIVER_*`` variables at the function's cold start (:mod:`adapters.settings`) and in
``config/<env>.yaml`` (:mod:`adapters.config`). Declaring each as an annotated type here, rather
than a validator in each model, keeps the two from drifting apart.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from adapters.aws.names import check_bucket_name, check_table_name
from archiver.policy import check_prefix

__all__ = ["BucketName", "KeyPrefix", "TableName"]

#: An S3 bucket name AWS accepts (3-63 characters, lower case, no IP form ...).
BucketName = Annotated[str, AfterValidator(check_bucket_name)]
#: A DynamoDB table name AWS accepts (3-255 of ``A-Z a-z 0-9 _ . -``).
TableName = Annotated[str, AfterValidator(check_table_name)]
#: The first part of a table's object keys: S3-safe characters in '/'-separated parts, at most 128 bytes.
#: Its PolicyError is a ValueError, so pydantic reports it as the field's.
KeyPrefix = Annotated[str, AfterValidator(check_prefix)]

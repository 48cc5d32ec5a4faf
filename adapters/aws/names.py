"""The names AWS accepts for a bucket and a table, checked before anything is written under them.

A name AWS would refuse must fail where it is configured (the function's cold start, the YAML
check), naming the setting, rather than turn every deletion into a dead letter at run time. And
a table name becomes a folder of every object key: only DynamoDB's own alphabet may get there.
"""

from __future__ import annotations

import re

__all__ = ["check_bucket_name", "check_table_name"]

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_ADDRESS = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_TABLE = re.compile(r"[A-Za-z0-9_.-]{3,255}")


def check_bucket_name(name: str) -> str:
    """Return ``name`` if S3 accepts it for a general purpose bucket, else raise ValueError saying why."""
    why = None
    if _BUCKET.fullmatch(name) is None:
        why = "3 to 63 of a-z 0-9 . - , starting and ending with a letter or digit"
    elif ".." in name:
        why = "no two adjacent periods"
    elif _IP_ADDRESS.fullmatch(name):
        why = "not formatted as an IP address"
    elif name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        why = f"not starting with {', '.join(_RESERVED_PREFIXES)} nor ending with {', '.join(_RESERVED_SUFFIXES)}"
    if why:
        raise ValueError(f"{name!r} is not a bucket name S3 accepts: {why}")
    return name


def check_table_name(name: str) -> str:
    """Return ``name`` if DynamoDB accepts it as a table name, else raise ValueError saying why."""
    if _TABLE.fullmatch(name) is None:
        raise ValueError(f"{name!r} is not a DynamoDB table name: 3 to 255 of A-Z a-z 0-9 _ . -")
    return name

"""The error every operator request raises when it cannot be done as asked, and how a value appears in it.

Its subclasses live beside what they check (``WindowError`` in :mod:`archiver.windows`,
``KeyArgumentError`` in :mod:`archiver.key_arguments`); an entry point catches this one class and
prints its message, which names the input and the fix. Values in messages are written by
:func:`shown`, as the JSON a person typed or a sender wrote, never as Python (``Decimal('123')``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal

__all__ = ["RecoveryError", "shown"]

_LIMIT = 200


class RecoveryError(ValueError):
    """What an operator asked for cannot be done as asked; the message names the input and the fix."""


def shown(value: object, limit: int = _LIMIT) -> str:
    """``value`` as JSON (a number as it was written, ``123`` or ``1.50``), cut to ``limit`` characters."""
    try:
        text = _json(value)
    except RecursionError:
        text = f"a JSON {'object' if isinstance(value, Mapping) else 'array'} nested too deep to show"
    return text if len(text) <= limit else f"{text[: limit - 3]}... ({len(text):,} characters)"


def _json(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)}: {_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_json(v) for v in value) + "]"
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)

"""The error every operator request raises when it cannot be done as asked.

Its subclasses live beside what they check (``WindowError`` in :mod:`archiver.windows`,
``KeyArgumentError`` in :mod:`archiver.key_arguments`); an entry point catches this one class and
prints its message, which names the input and the fix.
"""

from __future__ import annotations

__all__ = ["RecoveryError"]


class RecoveryError(ValueError):
    """What an operator asked for cannot be done as asked; the message names the input and the fix."""

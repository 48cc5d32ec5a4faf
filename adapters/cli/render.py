"""Tables for a person: every command renders its rows here, aligned the same way."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["markdown_table", "table"]


def table(
    header: Sequence[str], rows: Sequence[Sequence[object]], *, numeric: Sequence[int] = (), last_free: bool = False
) -> str:
    """``header`` and ``rows`` as aligned columns, two spaces apart.

    Args:
        numeric: indexes of columns aligned right (counts).
        last_free: leave the last column unpadded (long object keys would widen every line).
    """
    cells = [[str(cell) for cell in row] for row in [header, *rows]]
    padded = len(header) - 1 if last_free else len(header)
    widths = [max(len(row[i]) for row in cells) for i in range(padded)]
    lines = []
    for row in cells:
        parts = [
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i]) for i, cell in enumerate(row[:padded])
        ]
        parts += row[padded:]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]], *, numeric: Sequence[int] = ()) -> str:
    """``header`` and ``rows`` as a Markdown (GitHub) table; ``numeric`` columns aligned right."""
    lines = ["| " + " | ".join(str(cell) for cell in header) + " |"]
    lines.append("|" + "|".join("---:" if i in numeric else "---" for i in range(len(header))) + "|")
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)

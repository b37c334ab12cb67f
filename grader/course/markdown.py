"""Number and table formatting shared by the worked-number blocks of reference/*.md."""

from __future__ import annotations

import numpy as np


def num(v: float) -> str:
    """One number to 10 significant digits (-0.0 printed as 0)."""
    return f"{float(v) + 0.0:.10g}"


def vec(a) -> str:
    """A 1-D array (or a number) as [a, b, c] to 10 significant digits."""
    a = np.atleast_1d(np.asarray(a, dtype=np.float64))
    return "[" + ", ".join(num(v) for v in a) + "]"


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)

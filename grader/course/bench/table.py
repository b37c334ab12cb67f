"""``Table``: a titled markdown table with notes; pipes in cells escaped, short rows padded."""

from __future__ import annotations

import dataclasses
from typing import Any


def cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ").strip()


@dataclasses.dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)

    def add(self, *cells: Any) -> None:
        cells = [cell(c) for c in cells]
        cells += [""] * (len(self.columns) - len(cells))
        self.rows.append(cells[: len(self.columns)])

    def skip(self, label: str, reason: str) -> None:
        self.add(label, f"skipped: {reason}")

    def fail(self, label: str, reason: str) -> None:
        self.add(label, f"failed: {reason}")

    def markdown(self) -> str:
        lines = [
            f"### {self.title}",
            "",
            "| " + " | ".join(cell(c) for c in self.columns) + " |",
            "| " + " | ".join("---" for _ in self.columns) + " |",
        ]
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        if self.notes:
            lines.append("")
            lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

"""reference/*.md: rewrite the generated blocks (worked numbers) and draw the figures.

A note marks a block with ``<!-- BEGIN GENERATED: name -->`` ... ``<!-- END GENERATED: name -->``;
``grader/course/worked/<topic>.py`` defines ``BLOCKS = {name: fn}`` (markdown computed from
``solutions/``) and optionally ``FIGURES = {"file.png": fn(path)}``.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from pathlib import Path

from grader.course import worked

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "reference"
FIGURES = REFERENCE / "figures"
_BLOCK = re.compile(
    r"(<!-- BEGIN GENERATED: (?P<name>[\w.-]+) -->\n)(?P<body>.*?)(<!-- END GENERATED: (?P=name) -->)", re.S
)


def _registry(attr: str) -> dict[str, Callable]:
    found: dict[str, Callable] = {}
    for info in pkgutil.iter_modules(worked.__path__):
        module = importlib.import_module(f"{worked.__name__}.{info.name}")
        found.update(getattr(module, attr, {}))
    return found


def render(text: str, blocks: dict[str, Callable[[], str]]) -> str:
    def fill(match: re.Match) -> str:
        name = match.group("name")
        if name not in blocks:
            raise KeyError(f"no generator for block {name!r}")
        return match.group(1) + blocks[name]().rstrip("\n") + "\n" + match.group(4)

    return _BLOCK.sub(fill, text)


def stale_notes() -> list[str]:
    blocks = _registry("BLOCKS")
    return [p.name for p in sorted(REFERENCE.glob("*.md")) if render(p.read_text(), blocks) != p.read_text()]


def write_notes() -> list[Path]:
    blocks = _registry("BLOCKS")
    changed = []
    for path in sorted(REFERENCE.glob("*.md")):
        text = path.read_text()
        new = render(text, blocks)
        if new != text:
            path.write_text(new)
            changed.append(path)
    return changed


def write_figures(dest: Path = FIGURES) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for name, fn in sorted(_registry("FIGURES").items()):
        fn(dest / name)
        out.append(dest / name)
    return out

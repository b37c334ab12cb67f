"""``course bench``: it runs and writes a well-formed report. No timed assertions: times are
printed for people to read, never checked."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from grader.course import bench

ROOT = Path(__file__).resolve().parents[1]
CELL_SPLIT = re.compile(r"(?<!\\)\|")


def tables(text: str) -> list[list[list[str]]]:
    """Every markdown table in ``text`` as rows of cells (header first, separator included)."""
    blocks, current = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append([c.strip() for c in CELL_SPLIT.split(line.strip())[1:-1]])
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def assert_well_formed(table: list[list[str]]) -> None:
    header, separator, *rows = table
    assert rows, f"table without rows: {header}"
    assert all(c == "---" for c in separator) and len(separator) == len(header), separator
    for row in rows:
        assert len(row) == len(header), f"{row} has {len(row)} cells, header has {len(header)}"
        assert row[0], f"row without a label: {row}"


# -- the helpers --------------------------------------------------------------------------------
def test_table_renders_a_well_formed_markdown_table_with_skip_rows():
    t = bench.Table("demo", ["contender", "median s", "ratio"])
    t.add("grade", "1.00", "1.00x")
    t.add("a | b", "2.00")  # a pipe in a cell is escaped, a short row padded
    t.skip("nbgrader autograde", "grader.course.nbgrader does not exist yet")
    t.notes.append("a note")
    found = tables(t.markdown())
    assert len(found) == 1
    assert_well_formed(found[0])
    assert found[0][4][1] == "skipped: grader.course.nbgrader does not exist yet"


def test_alternate_rotates_the_order_and_drops_skipped_contenders():
    calls = []

    def contender(name, seconds):
        def run():
            calls.append(name)
            return seconds
        return run

    def missing():
        raise bench.Skipped("not there yet")

    samples, dropped = bench.alternate({"a": contender("a", 1.0), "b": contender("b", 2.0), "c": missing},
                                       reps=3, warmup=1)
    assert dropped == {"c": "skipped: not there yet"}
    assert samples == {"a": [1.0, 1.0, 1.0], "b": [2.0, 2.0, 2.0]}
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]  # warm-up, then ab, ba, ab
    assert bench.paired_ratio(samples["b"], samples["a"]) == (2.0, 2.0, 2.0)


def test_a_class_mixes_reference_copies_and_broken_variants(tmp_path):
    vs = bench.variants(["losses", "chain_rule"])
    members = bench.class_members(10, vs)
    assert sum(v.key == "reference" for v in members) == 6
    assert {v.key for v in members} - {"reference"}
    for i, v in enumerate(vs):
        folder = v.build(tmp_path / f"s{i}")
        assert (folder / "losses.py").is_file() and not (folder / "__init__.py").exists()


# -- the command --------------------------------------------------------------------------------
@pytest.mark.slow
def test_course_bench_quick_writes_a_well_formed_report(tmp_path):
    out = tmp_path / "bench.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPLAB_BENCH_")}
    proc = subprocess.run([sys.executable, "-m", "grader.course.cli", "bench", "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=900, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = out.read_text()
    assert text.startswith("# Benchmarks")
    assert "`course bench --quick --out" in text  # the exact command
    for fact in ("cores", "memory", "Python", "numpy", "torch", "tensorflow"):
        assert fact in text, f"machine description lacks {fact}"
    sections = re.findall(r"^## (\d)\. ", text, re.M)
    assert sections == ["1", "2", "3", "4", "5"]
    found = tables(text)
    assert len(found) >= 5
    for table in found:
        assert_well_formed(table)
    cells = [c for table in found for row in table[2:] for c in row]
    assert not [c for c in cells if c.startswith("failed:")], [c for c in cells if c.startswith("failed:")]
    assert any(re.fullmatch(r"\d+\.\d+x \(\d+\.\d+-\d+\.\d+\)", c) for c in cells), "no ratio in any table"
    assert "| contender |" in proc.stdout  # the tables are printed too

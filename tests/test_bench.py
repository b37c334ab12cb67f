"""``course bench``: it runs and writes a well-formed report. No timed assertions: times are
printed for people to read, never checked."""

import ast
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.course import cli
from grader.course.bench import settings as bench_settings
from grader.course.bench.contenders import class_members, variants
from grader.course.bench.stats import Skipped, alternate, paired_ratio
from grader.course.bench.table import Table

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "grader" / "course" / "bench"
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
    t = Table("demo", ["contender", "median s", "ratio"])
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
        raise Skipped("not there yet")

    samples, dropped = alternate({"a": contender("a", 1.0), "b": contender("b", 2.0), "c": missing}, reps=3, warmup=1)
    assert dropped == {"c": "skipped: not there yet"}
    assert samples == {"a": [1.0, 1.0, 1.0], "b": [2.0, 2.0, 2.0]}
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]  # warm-up, then ab, ba, ab
    assert paired_ratio(samples["b"], samples["a"]) == (2.0, 2.0, 2.0)


def test_a_class_mixes_reference_copies_and_broken_variants(tmp_path):
    vs = variants(["losses", "chain_rule"])
    members = class_members(10, vs)
    assert sum(v.key == "reference" for v in members) == 6
    assert {v.key for v in members} - {"reference"}
    for i, v in enumerate(vs):
        folder = v.build(tmp_path / f"s{i}")
        assert (folder / "losses.py").is_file() and not (folder / "__init__.py").exists()


# -- the settings: flags, never the environment -------------------------------------------------
def parse(*argv: str) -> bench_settings.Settings:
    return bench_settings.from_args(cli.build_parser().parse_args(["bench", *argv]))


def test_a_class_of_300_is_projected_from_the_start_and_the_warm_rate():
    from grader.course.bench.klass import projected

    # a batch of 6 took 42 s, 4.5 s per student once warm: 15 s of start, then 300 x 4.5 s
    big, seq = projected([42.0, 45.0], [4.5, 5.0], [72.0, 78.0], 6, 300)
    assert big == pytest.approx([15.0 + 1350.0, 15.0 + 1500.0])
    assert seq == pytest.approx([3600.0, 3900.0])  # 12 and 13 s per student, one after another
    assert projected([20.0], [4.0], [], 6, 300)[0] == [1200.0]  # never a negative start


def test_the_flags_are_parsed_into_settings(tmp_path):
    s = parse("--reps", "4", "--class-size", "9", "--tasks", "chain_rule,losses", "--out", str(tmp_path / "b.md"))
    assert (s.reps, s.class_reps, s.class_size, s.quick) == (4, 4, 9, False)
    assert s.tasks == ["losses", "chain_rule"]  # rubric order
    assert s.out == tmp_path / "b.md"
    assert s.command == f"course bench --reps 4 --class-size 9 --tasks chain_rule,losses --out {tmp_path / 'b.md'}"
    from grader.rubric import TASKS

    full = parse()
    assert full.tasks == [t.name for t in TASKS if t.check_files()] and len(full.tasks) == len(TASKS)
    assert (full.class_size, full.out, full.command) == (
        bench_settings.DEFAULT_CLASS,
        bench_settings.REPORT,
        "course bench",
    )
    quick = parse("--quick")
    assert quick.quick and quick.tasks == list(bench_settings.QUICK_TASKS)
    assert quick.class_size == bench_settings.QUICK_CLASS and quick.reps == bench_settings.QUICK_REPS
    assert parse("--quick", "--class-size", "3").class_size == 3
    assert (full.sequential_sample, full.only) == (full.class_size, list(bench_settings.COMPARISONS))


def test_a_large_class_can_be_graded_one_after_another_in_part_and_the_run_limited_to_it():
    s = parse("--class-size", "300", "--sequential-sample", "10", "--only", "memory,class", "--reps", "1")
    assert (s.class_size, s.sequential_sample, s.class_reps) == (300, 10, 1)
    assert s.only == ["class", "memory"]  # report order
    assert s.command == "course bench --reps 1 --class-size 300 --sequential-sample 10 --only memory,class"


def test_bad_flags_are_a_usage_error(capsys):
    with pytest.raises(ValueError, match="unknown task"):
        parse("--tasks", "losses,nope")
    assert cli.main(["bench", "--reps", "0"]) == 2
    assert "--reps must be at least 1" in capsys.readouterr().err
    assert cli.main(["bench", "--class-size", "4", "--sequential-sample", "5"]) == 2
    assert "--sequential-sample must be at most the class size (4), got 5" in capsys.readouterr().err
    assert cli.main(["bench", "--only", "class,speed"]) == 2
    assert "--only: unknown comparison(s) speed" in capsys.readouterr().err


def test_the_bench_reads_no_environment_and_no_private_member_of_other_modules():
    for path in sorted(BENCH.glob("*.py")):
        text = path.read_text()
        assert "BPLAB_BENCH" not in text and "getenv" not in text, path.name
        if path.name != "contenders.py":  # grading_env: the environment handed to the child processes
            assert "os.environ" not in text, path.name
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom):
                names = [a.name for a in node.names]
                assert not [n for n in names if n.startswith("_") and not n.startswith("__")], (path.name, names)
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                owner = node.value.id if isinstance(node.value, ast.Name) else ast.unparse(node.value)
                assert owner in ("self", "cls"), f"{path.name}:{node.lineno}: {owner}.{node.attr}"


def test_in_process_workers_replace_the_plugins_worker_only_inside_the_context():
    import grader.plugin
    from grader.course.bench.inprocess import InProcessWorker, in_process_workers
    from grader.sandbox import Worker

    with in_process_workers():
        assert grader.plugin.Worker is InProcessWorker
    assert grader.plugin.Worker is Worker


def test_the_in_process_grader_scores_like_grade(tmp_path):
    """Handles passed back as arguments (autograd), callbacks (gradcheck), import failures."""
    from grader.runner import DEFAULT_SEED

    tasks = "losses,autograd,gradcheck"
    got = {}
    for key, v in (("reference", variants(["losses"])[0]), ("stubs", variants(["losses"])[1])):
        out = tmp_path / f"{key}.json"
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "grader.course.bench.inprocess_child",
                "grade",
                "--submissions",
                str(v.build(tmp_path / key)),
                "--tasks",
                tasks,
                "--seed",
                str(DEFAULT_SEED),
                "--out",
                str(out),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=ROOT,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        got[key] = json.loads(out.read_text())
    assert got["reference"]["score"] == got["reference"]["max_score"] > 0
    assert got["stubs"]["score"] == 0 and got["stubs"]["max_score"] == got["reference"]["max_score"]


# -- the wheel: no bench in it ------------------------------------------------------------------
@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a clean copy of the tree (no stale build/ of the checkout), as the
    Gradescope bundle builds it."""
    from grader.course.gradescope import build_wheel

    found = build_wheel(tmp_path_factory.mktemp("wheel"))
    assert found is not None, "pip could not build the wheel"
    return found


def test_the_wheel_leaves_the_bench_out_and_its_course_bench_says_where_it_runs(wheel, tmp_path):
    names = zipfile.ZipFile(wheel).namelist()
    assert "grader/course/cli.py" in names and "grader/runner.py" in names
    assert not [n for n in names if n.startswith("grader/course/bench")], [n for n in names if "bench" in n]
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, grader.course.cli as c; assert c.__file__.startswith("
            f"{str(unpacked)!r}), c.__file__; sys.exit(c.main(sys.argv[1:]))",
            "bench",
            "--class-size",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={"PYTHONPATH": str(unpacked), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip() == cli.BENCH_ELSEWHERE


# -- the command --------------------------------------------------------------------------------
@pytest.mark.slow
def test_course_bench_quick_writes_a_well_formed_report(tmp_path):
    out = tmp_path / "bench.md"
    proc = subprocess.run(
        [sys.executable, "-m", "grader.course.cli", "bench", "--quick", "--sequential-sample", "1", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = out.read_text()
    assert text.startswith("# Benchmarks")
    assert "`course bench --quick --sequential-sample 1 --out" in text  # the exact command
    for fact in ("cores", "memory", "Python", "numpy", "torch", "tensorflow"):
        assert fact in text, f"machine description lacks {fact}"
    sections = re.findall(r"^## (\d)\. ", text, re.M)
    assert sections == ["1", "2", "3", "4", "5", "6"]
    found = tables(text)
    assert len(found) >= 5
    for table in found:
        assert_well_formed(table)
    headline = found[0]  # the class: batch, sequential, the floor, the targets
    assert [row[0] for row in headline[2:]] == [
        "grade --batch",
        "2 x grade (the first 1 graded, x 2/1)",  # one graded one after another, its time doubled
        "grade --batch, a class of 300 (projected)",  # a class of 2 on 2 cores: no warm grade, and it says so
        "floor: the checks' own compute",
    ]
    assert "target" in headline[0] and ">= 2.5x" in headline[2][-1]
    assert "only the first 1 (reference copy x1) are graded" in headline[3][1]
    assert "agree for 1/1 students (those graded both ways)" in text
    cells = [c for table in found for row in table[2:] for c in row]
    assert not [c for c in cells if c.startswith("failed:")], [c for c in cells if c.startswith("failed:")]
    assert any(re.fullmatch(r"\d+\.\d+x \(\d+\.\d+-\d+\.\d+\)", c) for c in cells), "no ratio in any table"
    assert "| contender |" in proc.stdout  # the tables are printed too
    assert "Sections identical (pairs, order, percentages, highlighted code): yes." in text


def test_only_runs_the_comparisons_named(tmp_path, monkeypatch):
    from grader.course.bench import report
    from grader.course.bench.table import Table

    ran = []

    def section(name):
        def run(settings, work, ctx, log):
            ran.append(name)
            t = Table(f"{name} table", ["comparison", "result"])
            t.add(name, "ran")
            return [t]

        return run

    monkeypatch.setattr(
        report, "SECTIONS", [(n, f"{i + 1}. {n}", section(n)) for i, n in enumerate(bench_settings.COMPARISONS)]
    )
    out = tmp_path / "bench.md"
    assert cli.main(["bench", "--quick", "--only", "memory,one", "--out", str(out)]) == 0
    assert ran == ["one", "memory"]
    text = out.read_text()
    assert re.findall(r"^## (.+)$", text, re.M) == ["2. one", "5. memory"]
    assert "Comparisons (`--only`): one, memory" in text

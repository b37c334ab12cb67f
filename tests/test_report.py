"""Named mistakes and the class report: every diagnosis has a stable id in results.json
and the batch records; ``grade --batch`` writes ``report.html`` (``course report`` rebuilds it), a
self-contained page checked in a real headless browser (Debian's chromium) against gradebook.csv,
summary.json and the students' results. One small class (fast tasks only) is graded once for the
module; the other tests build results by hand (fast)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from grader import gradients
from grader.gradients import CheckFailure, Diagnosis, Mistake, assert_close, assert_grad_close, slug
from grader.results import Results
from grader.results import TestResult as Check

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent / "mistakes"))
from run_catalog import catalog  # noqa: E402

TASKS = ["losses", "chain_rule"]
HOSTILE = "<img src=x onerror=alert(1)>"  # a student folder name; it hangs at import (a limit)
CHROMIUM = next((p for p in (shutil.which("chromium"), "/usr/bin/chromium") if p and Path(p).is_file()), None)
ARTIFACTS = Path(os.environ.get("BPLAB_TEST_ARTIFACTS") or ROOT / "build" / "test-artifacts")


# -- named mistakes: ids in gradients ----------------------------------------------------------------
def test_diagnoses_have_stable_ids_and_unchanged_messages():
    with pytest.raises(CheckFailure) as exc:
        assert_close(np.array([2.0, 4.0]), np.array([1.0, 2.0]), "f(x)")
    assert str(exc.value) == (
        "f(x): wrong values; worst entry at index (1,): expected 2, got 4; max abs error 2, "
        "max rel error 0.333. Likely: off by a factor of 2 (a derivative of a square, or a 1/2 "
        "in the loss?)"
    )
    assert exc.value.diagnosis == Diagnosis(
        "factor_2", "off by a factor of 2 (a derivative of a square, or a 1/2 in the loss?)"
    )
    named = "used sigma'(a) = sigma(y)(1 - sigma(y)) instead of sigma'(z)"
    with pytest.raises(CheckFailure) as exc:
        assert_close([3.0], [1.0], "g", mistakes={named: [3.0]})
    assert str(exc.value).endswith(f". Likely: {named}")
    assert exc.value.diagnosis.id == slug(named)
    assert slug(named).startswith("used_sigma_prime_a_sigma_y_1_sigma_y") and len(slug(named)) <= 48 + 7
    assert slug("used u instead of 2u") == "used_u_instead_of_2u"
    assert slug("the sigmoid's derivative") == "the_sigmoids_derivative"
    assert slug(named) != slug(named + " (another message)")  # cut messages keep apart by their hash
    explicit = Mistake("sigma_prime_at_a", named)
    with pytest.raises(CheckFailure) as exc:
        assert_grad_close(np.array([3.0]), np.array([1.0]), "W", "h", mistakes={explicit: np.array([3.0])})
    assert str(exc.value).endswith(f". Likely: {named}") and exc.value.diagnosis.id == "sigma_prime_at_a"
    assert exc.value.diagnosis.qualified("backprop") == {"id": "backprop.sigma_prime_at_a", "message": named}
    assert Diagnosis("backprop.x", "m").qualified("backprop")["id"] == "backprop.x"
    with pytest.raises(CheckFailure) as exc:  # shape hints, and a failure wrapped by a check
        try:
            assert_close(np.zeros((3, 2)), np.zeros((2, 3)), "k")
        except CheckFailure as inner:
            raise CheckFailure(f"{inner}\nthe graph: ...") from None
    assert [d.id for d in gradients.diagnoses_of(exc.value)] == ["transposed"]
    assert gradients.diagnoses_of(CheckFailure("no hint")) == []
    assert gradients.diagnoses_of(BaseExceptionGroup("g", [CheckFailure("x", diagnosis="named")])) == [
        Diagnosis("named", "named")
    ]


def test_results_json_carries_mistakes_and_variant_and_reads_them_back():
    res = Results(seed=5, tasks=["losses"], isolation="test")
    res.tests.append(
        Check("losses", "test_a", 1.0, output="x. Likely: m", mistakes=[{"id": "losses.M<b>", "message": "m\x1b[31m"}])
    )
    res.tests.append(Check("losses", "test_b", 1.0, score=1.0, status="passed"))
    data = res.to_json()
    assert data["tests"][0]["mistakes"] == [{"id": "losses.m_b_", "message": "m"}]
    assert data["tests"][1]["mistakes"] == []
    assert "variant" not in data["extra_data"]  # without a key: as before
    res.variant = {"id": "abc", "seed": 7, "student": "s", "assignment": "backprop-lab"}
    back = Results.from_json(res.to_json())
    assert back.tests[0].mistakes == [{"id": "losses.m_b_", "message": "m"}]
    assert back.to_json()["extra_data"]["variant"]["id"] == "abc"


def test_report_escapes_every_student_text(tmp_path):
    """Names, check messages, test names and statuses hold markup and control characters: the page
    shows them as text (results built by hand, no grading)."""
    from grader import batch
    from grader.course import report

    evil = "<script>alert(1)</script>\x1b[31m"
    res = Results(seed=1, tasks=["losses"], isolation="test")
    res.tests.append(
        Check(
            "losses",
            f"test_x {evil}",
            2.0,
            output=f"got {evil}. Likely: {evil}",
            mistakes=[{"id": "losses.evil", "message": evil}],
        )
    )
    res.tests.append(Check("losses", "test_ok", 12.0, score=12.0, status="passed"))
    name = '"><svg onload=alert(2)>'
    data = res.to_json()
    data["extra_data"]["batch"] = {"student": name, "source": str(tmp_path / "gone")}
    (tmp_path / name).mkdir()
    (tmp_path / name / "results.json").write_text(json.dumps(data))
    entries = [batch.Entry(name, tmp_path / "gone"), batch.Entry("=cmd|' /C calc'!A0", None, "error: <b>bad</b>")]
    states = {name: {"state": "graded", "data": data}}
    rows = [batch.row_for(e, states.get(e.student), ["losses"]) for e in entries]
    (tmp_path / "gradebook.csv").write_text(batch.gradebook_csv(rows, ["losses"]))
    (tmp_path / "summary.json").write_text(json.dumps({"tasks": ["losses"], "students": 2}))
    page = report.render(tmp_path)
    for raw in ("<script>alert", "<svg", "<b>bad", "\x1b"):
        assert raw not in page, raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;svg onload=alert(2)&gt;" in page
    assert 'data-mistake="losses.evil"' in page and "&lt;b&gt;bad&lt;/b&gt;" in page
    assert page.count("<script>") == 1  # the report's own script only
    assert "submissions not found" in page  # similarity says why it could not read the code


# -- a small class, graded once ------------------------------------------------------------------------
def _reference(dest: Path) -> Path:
    dest.mkdir(parents=True)
    for path in (ROOT / "solutions").glob("*.py"):
        if path.name != "__init__.py":
            shutil.copyfile(path, dest / path.name)
    return dest


def _plant(folder: Path, task: str, name: str) -> None:
    mistake = catalog(task)[name]
    path = folder / f"{task}.py"
    source = path.read_text()
    assert mistake["find"] in source
    path.write_text(source.replace(mistake["find"], mistake["replace"], mistake.get("count", 1)))


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("report")
    cls = base / "class"
    cls.mkdir()
    _reference(cls / "ref")
    ana = _reference(cls / "ana")
    _plant(ana, "chain_rule", "neuron_sigma_prime_of_a")
    _plant(ana, "losses", "mse_grad_forgot_mean")
    shutil.copytree(ana, cls / "ben")  # the same code: a similar pair, the same misconceptions
    _plant(_reference(cls / "cy"), "chain_rule", "f_grad_used_u_not_2u")
    shutil.copytree(ROOT / "assignments", cls / "stubs", ignore=shutil.ignore_patterns("__pycache__"))
    hostile = _reference(cls / HOSTILE)
    (hostile / "losses.py").write_text((hostile / "losses.py").read_text() + "\nwhile True:\n    pass\n")
    (cls / "notes.txt").write_text("not a submission")
    out = base / "out"
    env = dict(os.environ)
    args = [a for t in TASKS for a in ("--task", t)] + ["--timeout-scale", "0.15"]  # the hang at import: 9 s, not 60 s
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli",
            str(cls),
            "--batch",
            "--out",
            str(out),
            "--workers",
            "2",
            "--quiet",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=base,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def _results(out: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/results.json")}


def _recount(out: Path) -> dict[str, set[str]]:
    """Named mistake id -> the students whose results.json name it."""
    found: dict[str, set[str]] = {}
    for student, data in _results(out).items():
        for test in data["tests"]:
            for m in test["mistakes"]:
                found.setdefault(m["id"], set()).add(student)
    return found


def test_batch_records_named_mistakes(graded):
    results = _results(graded)
    ana = results["ana"]
    named = {m["id"]: m["message"] for t in ana["tests"] for m in t["mistakes"]}
    sigma = [i for i in named if i == "chain_rule.sigma_prime_at_a"]
    assert sigma and "losses.forgot_1_over_m" in named, named
    for test in ana["tests"]:  # each message is the "Likely:" text the student reads, unchanged
        for m in test["mistakes"]:
            assert f"Likely: {m['message']}" in test["output"]
    assert ana["extra_data"]["batch"]["mistakes"] == sorted(named)
    assert results["ben"]["extra_data"]["batch"]["mistakes"] == sorted(named)  # same code, same ids
    cy = {m["id"] for t in results["cy"]["tests"] for m in t["mistakes"]}
    assert "chain_rule.used_u_not_2u" in cy
    assert all(t["mistakes"] == [] for t in results["ref"]["tests"])
    assert "variant" not in ana["extra_data"] and ana["extra_data"]["batch"]["variant"] is None  # no key
    summary = json.loads((graded / "summary.json").read_text())
    assert summary["mistakes"] == {i: len(s) for i, s in _recount(graded).items()}


def test_report_is_self_contained_offline_and_escaped(graded):
    page = (graded / "report.html").read_text(encoding="utf-8")
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert not re.search(r"<(?:link|iframe|object|embed)\b|<script[^>]+src|@import|url\(", page, re.I)
    assert page.count("<img ") == 3 and page.count('src="data:image/png;base64,') == 3  # total + 2 tasks
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert 'href="%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E/feedback.md"' in page
    assert 'href="ana/feedback.md"' in page


def test_similarity_lists_the_copied_pair_and_not_the_stub(graded):
    page = (graded / "report.html").read_text(encoding="utf-8")
    pairs = set(re.findall(r'data-pair="([^"]+)"', page))
    assert {"chain_rule::ana::ben", "losses::ana::ben"} <= pairs
    assert not any("stubs" in p for p in pairs)
    assert "<mark>" in page


def test_many_copies_are_compared_once_and_only_the_shown_pairs_rendered(tmp_path, monkeypatch):
    import copydetect

    from grader.course import report

    calls = []
    real = copydetect.compare_files
    monkeypatch.setattr(copydetect, "compare_files", lambda *a: calls.append(a) or real(*a))

    code = (Path(__file__).resolve().parents[1] / "solutions" / "chain_rule.py").read_text()
    n = 9  # 36 pairs of copies: more than the report shows
    graded = []
    for i in range(n):
        (tmp_path / f"s{i}").mkdir()
        (tmp_path / f"s{i}" / "chain_rule.py").write_text(code)
        graded.append({"source": str(tmp_path / f"s{i}"), "folder": f"s{i}", "name": f"s{i}"})
    section = report.similarity({"tasks": ["chain_rule"], "graded": graded})["tasks"][0]
    assert len(calls) == 1  # nine copies of one file: one fingerprint, one comparison
    assert len(section["pairs"]) == report.MAX_PAIRS and section["more"] == n * (n - 1) // 2 - report.MAX_PAIRS
    for pair in section["pairs"]:
        assert float(pair["sim_a"]) == float(pair["sim_b"]) == 100
        assert "<mark>" in pair["code_a"] and "<mark>" in pair["code_b"] and "slices" not in pair


def test_the_quick_screen_gives_copydetects_numbers_for_every_pair():
    """``_overlap`` against copydetect's own ``compare_files`` on near copies (the reference with each
    planted mistake of the catalog), a stub with a function added, and unrelated code under the same name."""
    import itertools

    from copydetect import CodeFingerprint, compare_files, defaults

    from grader.course import report, stubs

    root = Path(__file__).resolve().parents[1]
    k = defaults.NOISE_THRESHOLD
    window = max(1, defaults.GUARANTEE_THRESHOLD - defaults.NOISE_THRESHOLD + 1)
    checked = listed = 0
    repeated = gapped = False
    for task, other in (("losses", "autograd"), ("chain_rule", "losses"), ("minibatch", "backprop")):
        file = f"{task}.py"
        reference = (root / "solutions" / file).read_text()
        texts = [reference, (root / "solutions" / f"{other}.py").read_text(), reference[: len(reference) // 3]]
        texts += [reference + "\n" + reference]  # every hash twice
        texts += [stubs.expected_files()[file] + "\ndef mine(x):\n    return [v * 2 + 1 for v in x if v > 0]\n"]
        texts += [reference.replace(m["find"], m["replace"]) for m in catalog(task).values()][:12]
        stub = stubs.expected_files()[file]
        boiler = CodeFingerprint(file, k, 1, fp=io.StringIO(stub))
        boilerplate = np.unique(np.array(sorted(boiler.hashes), dtype=np.int64))
        prints = [CodeFingerprint(file, k, window, boilerplate=boilerplate, fp=io.StringIO(t)) for t in texts]
        # without boilerplate too (a task without a stub): copydetect's removal of the stub also drops
        # every hash a file repeats, so only these keep a hash at several positions
        prints += [CodeFingerprint(file, k, window, fp=io.StringIO(t)) for t in texts[:4]]
        repeated |= any(len(report._Positions(fp).distinct) < len(report._Positions(fp).hashes) for fp in prints)
        for fa, fb in itertools.combinations(prints, 2):
            want_overlap, (want_a, want_b), slices = compare_files(fa, fb)
            got = report._overlap(report._Positions(fa), report._Positions(fb), k)
            assert got == (int(want_overlap), float(want_a), float(want_b))
            checked += 1
            listed += max(want_a, want_b) >= report.SIMILARITY_THRESHOLD
            gapped |= slices[0].ndim == 2 and slices[0].shape[1] > 1  # copied runs apart by k tokens or more
    assert checked > 200 and 0 < listed < checked  # near copies and unrelated code both met
    assert (repeated, gapped) == (True, True)  # a hash at several positions, and runs the sum must not join


def every_pair_by_copydetect(task: str, stub: str, codes: dict, names: dict, threshold: float) -> dict:
    """The section as the report made it before the screen: copydetect's compare_files on every pair."""
    import itertools

    from copydetect import CodeFingerprint, compare_files, defaults

    from grader.course import report
    from grader.rubric import BY_NAME

    k, window = defaults.NOISE_THRESHOLD, max(1, defaults.GUARANTEE_THRESHOLD - defaults.NOISE_THRESHOLD + 1)
    file = BY_NAME[task].file
    boiler = CodeFingerprint(file, k, 1, fp=io.StringIO(stub))
    boilerplate = np.unique(np.array(sorted(boiler.hashes), dtype=np.int64)) if boiler.hashes else None
    prints, untouched = {}, 0
    for folder, code in sorted(codes.items()):
        if code.strip() == stub.strip():
            untouched += 1
            continue
        fp = CodeFingerprint(file, k, window, boilerplate=boilerplate, fp=io.StringIO(code))
        if fp.token_coverage > 0:
            prints[folder] = (fp, code)
    pairs = []
    for a, b in itertools.combinations(sorted(prints), 2):
        overlap, (sim_a, sim_b), slices = compare_files(prints[a][0], prints[b][0])
        if overlap >= report.MIN_OVERLAP and max(sim_a, sim_b) >= threshold:
            pairs.append(
                {
                    "a": names[a],
                    "b": names[b],
                    "sim_a": report._num(round(100 * float(sim_a), 1)),
                    "sim_b": report._num(round(100 * float(sim_b), 1)),
                    "overlap": int(overlap),
                    "key": max(float(sim_a), float(sim_b)),
                    "slices": slices,
                }
            )
    pairs.sort(key=lambda p: (-p["key"], p["a"]["name"], p["b"]["name"]))
    for pair in pairs[: report.MAX_PAIRS]:
        pair["code_a"] = report._highlight(prints[pair["a"]["folder"]][1], pair["slices"][0])
        pair["code_b"] = report._highlight(prints[pair["b"]["folder"]][1], pair["slices"][1])
    for pair in pairs:
        del pair["slices"]
    shown = pairs[: report.MAX_PAIRS]
    return {
        "task": task,
        "file": file,
        "compared": len(prints),
        "untouched": untouched,
        "pairs": shown,
        "more": max(0, len(pairs) - report.MAX_PAIRS),
    }


@pytest.mark.parametrize("task", ["losses", "chain_rule"])
def test_the_section_is_the_one_comparing_every_pair_gave(task):
    """Pairs, order, percentages, highlighted code and the count of the rest: as when copydetect's
    compare_files measured every pair (copies in both orders, stubs, near copies, unrelated code)."""
    from grader.course import report, stubs

    root = Path(__file__).resolve().parents[1]
    reference = (root / "solutions" / f"{task}.py").read_text()
    stub = stubs.expected_files()[f"{task}.py"]
    codes = {
        "a_reference": reference,
        "c_copy_of_a": reference,  # a copy after b: the pairs (a, b) and (b, c) are the same two files in both orders
        "d_half": reference[: len(reference) // 2],
        "e_other_task": (root / "solutions" / "autograd.py").read_text(),
        "f_stub": stub,
        "g_stub_and_a_line": stub + "\nx = 1  # started\n",
    }
    mistakes = [reference.replace(m["find"], m["replace"]) for m in catalog(task).values()]
    codes["b_mistake"] = mistakes[0]
    codes.update({f"m{i:02d}": text for i, text in enumerate(mistakes[1:10])})
    names = {folder: {"folder": folder, "name": folder} for folder in codes}
    want = every_pair_by_copydetect(task, stub, codes, names, report.SIMILARITY_THRESHOLD)
    assert report.similar_pairs(task, stub, codes, names, report.SIMILARITY_THRESHOLD) == want
    assert report.similar_pairs(task, stub, codes, names, report.SIMILARITY_THRESHOLD, measure="copydetect") == want
    assert want["more"] > 0 and want["untouched"] == 1  # more pairs listed than shown; the untouched stub left out


def test_similarity_spread_over_processes_equals_one_process(tmp_path):
    from grader.course import report

    root = Path(__file__).resolve().parents[1]
    graded = []
    for i, source in enumerate(["solutions", "solutions", "assignments", "solutions"]):
        folder = tmp_path / f"s{i}"
        folder.mkdir()
        for task in ("chain_rule", "losses"):
            code = (root / source / f"{task}.py").read_text()
            (folder / f"{task}.py").write_text(code + ("\n# mine\n" if i == 3 else ""))
        graded.append({"source": str(folder), "folder": f"s{i}", "name": f"s{i}"})
    cls = {"tasks": ["chain_rule", "losses"], "graded": graded}
    one, two = report.similarity(cls, workers=1), report.similarity(cls, workers=2)
    assert one == two
    assert [len(t["pairs"]) for t in one["tasks"]] == [3, 3] and [t["untouched"] for t in one["tasks"]] == [1, 1]


def test_course_report_rebuilds_it(graded, tmp_path, capsys):
    from grader.course import cli

    dest = tmp_path / "again.html"
    assert cli.main(["report", str(graded), "--out", str(dest)]) == 0
    assert "wrote" in capsys.readouterr().out
    again = dest.read_text(encoding="utf-8")
    for pattern in (r'data-mistake="[^"]+"', r'data-student="[^"]+"', r'id="total-mean">[^<]+'):
        assert re.findall(pattern, again) == re.findall(pattern, (graded / "report.html").read_text(encoding="utf-8"))
    assert cli.main(["report", str(tmp_path)]) == 2  # not a results folder
    assert cli.main(["report", str(graded), "--threshold", "0"]) == 2


class _Page(HTMLParser):
    """The tables (rows of (attributes, text) cells, keyed by the table's id) and the texts of
    elements with an id, from the DOM the browser dumped."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[tuple[dict, list[tuple[dict, str]]]]] = {}
        self.ids: dict[str, str] = {}
        self.body: dict = {}
        self._table = self._row = self._cell = self._id = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "body":
            self.body = a
        if tag == "table":
            self._table = a.get("id", "")
        elif tag == "tr" and self._table is not None:
            self._row = (a, [])
        elif tag in ("td", "th") and self._row is not None:
            self._cell = [a, ""]
        if "id" in a and tag != "table":
            self._id = a["id"]
            self.ids[self._id] = ""

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data
        if self._id is not None:
            self.ids[self._id] += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row[1].append((self._cell[0], self._cell[1].strip()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables.setdefault(self._table or "", []).append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        self._id = None


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed (.ci/setup.sh installs it as root: apt-get install chromium)",
)
def test_report_in_a_headless_browser(graded, tmp_path):
    """The page loads in chromium without a console message, its script runs, and every number it
    shows equals gradebook.csv, summary.json and the students' results; a screenshot is kept."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "class_report.png"
    shot.unlink(missing_ok=True)
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1280,2200",
        "--hide-scrollbars",
    ]
    url = (graded / "report.html").resolve().as_uri()
    dom = subprocess.run(
        [CHROMIUM, *flags, f"--user-data-dir={tmp_path / 'dom'}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    consoles = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert consoles == [], consoles  # no error, no CSP refusal, nothing logged
    snap = subprocess.run(
        [CHROMIUM, *flags, f"--user-data-dir={tmp_path / 'shot'}", f"--screenshot={shot}", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert snap.returncode == 0 and shot.stat().st_size > 10_000, snap.stderr[-2000:]

    page = _Page()
    page.feed(dom.stdout)
    assert int(page.body.get("data-ready", "0")) >= 5  # the sorting script ran over every table
    with open(graded / "gradebook.csv", newline="") as fh:
        book = {row["student"]: row for row in csv.DictReader(fh)}
    summary = json.loads((graded / "summary.json").read_text())
    # the overview equals summary.json
    assert int(page.ids["n-students"]) == summary["students"] == len(book) == 7
    assert int(page.ids["n-graded"]) == summary["graded"] == 6
    assert int(page.ids["n-not-graded"]) == len(summary["errors"]) == 1
    assert float(page.ids["total-mean"]) == summary["mean"]
    assert float(page.ids["total-median"]) == summary["median"]
    # every student's row equals their gradebook row
    rows = {
        r[0]["data-student"]: {c[0].get("data-task") or c[0].get("data-col"): c[1] for c in r[1]}
        for r in page.tables["student-table"]
        if "data-student" in r[0]
    }
    graded_rows = {name: row for name, row in book.items() if row["status"].startswith("graded")}
    assert set(rows) == set(graded_rows) and HOSTILE in rows
    for name, row in graded_rows.items():
        for task in TASKS:
            assert float(rows[name][task]) == float(row[task]), (name, task)
        assert float(rows[name]["total"]) == float(row["total"]), name
    # per task means in the table equal the gradebook's
    tasks = {
        r[0]["data-task"]: {c[0].get("data-col"): c[1] for c in r[1]}
        for r in page.tables["task-table"]
        if "data-task" in r[0]
    }
    for task in TASKS:
        values = [float(r[task]) for r in graded_rows.values()]
        assert float(tasks[task]["mean"]) == round(sum(values) / len(values), 3)
    # misconception counts equal the students' results
    recount = _recount(graded)
    shown = {
        r[0]["data-mistake"]: {c[0].get("data-col"): c[1] for c in r[1]}
        for r in page.tables["mistake-table"]
        if "data-mistake" in r[0]
    }
    assert set(shown) == set(recount) and recount
    for ident, students in recount.items():
        assert int(shown[ident]["students"]) == len(students), ident
    counts = [int(shown[i]["students"]) for i in shown]
    assert counts == sorted(counts, reverse=True)  # ranked, most common first
    # limits and entries that could not be graded
    limited = [r[0].get("data-student") for r in page.tables["limit-table"] if "data-student" in r[0]]
    assert limited == [HOSTILE] == list(summary["limits"])
    not_graded = [r[0].get("data-entry") for r in page.tables["not-graded-table"] if "data-entry" in r[0]]
    assert not_graded == ["notes.txt"]
    # the item analysis: one row per check, its pass count equal to the results
    results = _results(graded)
    items = {
        r[0]["data-item"]: {c[0].get("data-col"): c[1] for c in r[1]}
        for r in page.tables["item-table"]
        if "data-item" in r[0]
    }
    for key, cells in items.items():
        task, name = key.split("::", 1)
        passed = sum(
            t["status"] == "passed"
            for d in results.values()
            for t in d["tests"]
            if t["task"] == task and t["name"] == name
        )
        assert int(cells["passed"]) == passed, key

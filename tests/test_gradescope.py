"""The Gradescope bundle end to end: `course gradescope` builds it, its `run_autograder` grades a fake
/autograder tree with the grader installed FROM THE BUNDLE'S WHEEL, and results.json follows
Gradescope's schema (reference: full marks, stubs: zero, broken uploads: a message, not a crash)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

from grader.rubric import BY_NAME, TASKS

ROOT = Path(__file__).resolve().parents[1]
FAST = os.environ.get("BPLAB_TEST_TASKS", "losses,chain_rule,gradcheck").split(",")
GRADED = [t for t in FAST if t in BY_NAME and BY_NAME[t].check_files()]
pytestmark = pytest.mark.skipif(not GRADED, reason="no checks for the fast tasks yet")

VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
FORMAT = {"enum": ["text", "html", "simple_format", "md", "ansi"]}
TEST_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "score", "max_score", "status", "visibility"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "name_format": FORMAT,
        "number": {"type": "string"},
        "score": {"type": "number"},
        "max_score": {"type": "number", "minimum": 0},
        "status": {"enum": ["passed", "failed"]},
        "output": {"type": "string"},
        "output_format": FORMAT,
        "tags": {"type": "array", "items": {"type": "string"}},
        "visibility": VISIBILITY,
        "extra_data": {"type": "object"},
    },
}
RESULTS_SCHEMA = {  # https://gradescope-autograders.readthedocs.io/en/latest/specs/
    "type": "object",
    "additionalProperties": False,
    "required": ["score", "tests", "output"],
    "properties": {
        "score": {"type": "number", "minimum": 0},
        "max_score": {"type": "number"},
        "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "output_format": FORMAT,
        "test_output_format": FORMAT,
        "test_name_format": FORMAT,
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": TEST_SCHEMA},
        "leaderboard": {"type": "array"},
    },
}


def validate(data: dict) -> None:
    jsonschema.validate(data, RESULTS_SCHEMA)
    assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))
    for t in data["tests"]:
        assert 0 <= t["score"] <= t["max_score"]
        assert (t["status"] == "passed") == (t["score"] == t["max_score"])


def test_schema_rejects_what_gradescope_would():  # the check itself has teeth
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {
                "score": 1,
                "output": "",
                "tests": [{"name": "x", "score": 1, "max_score": 1, "status": "ok", "visibility": "visible"}],
            },
            RESULTS_SCHEMA,
        )
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"score": 1, "output": "", "tests": [], "task": "extra key"}, RESULTS_SCHEMA)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> dict:
    """Build the bundle once; unpack it; install its wheel (no dependencies) into a private folder."""
    tmp = tmp_path_factory.mktemp("gradescope")
    out = tmp / "autograder.zip"
    proc = subprocess.run(
        [sys.executable, "-m", "grader.course.cli", "gradescope", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    source = tmp / "source"
    with zipfile.ZipFile(out) as zf:
        modes = {i.filename: (i.external_attr >> 16) for i in zf.infolist()}
        zf.extractall(source)
    for name in ("setup.sh", "run_autograder"):
        (source / name).chmod(modes[name] & 0o777)
    wheels = list(source.glob("backprop_lab-*.whl"))
    site = tmp / "site"
    if wheels:
        pip = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--no-index",
                "--target",
                str(site),
                str(wheels[0]),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert pip.returncode == 0, pip.stderr
    else:  # the source-tree fallback
        shutil.copytree(source / "backprop-lab" / "grader", site / "grader")
        shutil.copytree(source / "backprop-lab" / "solutions", site / "solutions")
    return {"zip": out, "modes": modes, "source": source, "site": site, "wheels": wheels, "stdout": proc.stdout}


def test_bundle_layout(bundle):
    modes = bundle["modes"]
    assert {"setup.sh", "run_autograder", "constraints.txt", "bplab.json"} <= set(modes)
    for name in ("setup.sh", "run_autograder"):
        assert modes[name] & stat.S_IXUSR, f"{name} must be executable"
        text = (bundle["source"] / name).read_text()
        assert text.startswith("#!/usr/bin/env bash\n")
        assert subprocess.run(["bash", "-n", str(bundle["source"] / name)]).returncode == 0
    assert (bundle["source"] / "constraints.txt").read_text() == (ROOT / ".ci" / "constraints.txt").read_text()
    setup = (bundle["source"] / "setup.sh").read_text()
    assert "constraints.txt" in setup and "download.pytorch.org/whl/cpu" in setup and "bubblewrap" in setup
    config = json.loads((bundle["source"] / "bplab.json").read_text())
    assert config["hidden_visibility"] == "after_published"
    # the hidden checks and the reference travel in the package (and nothing else grades)
    site = bundle["site"]
    for task in GRADED:
        assert (site / "grader" / "checks" / "hidden" / f"test_{task}.py").is_file()
        assert (site / "solutions" / f"{task}.py").is_file()
        assert task in config["checks"]["hidden"]
    assert bundle["wheels"], "a wheel is built here (the source-tree fallback is for machines without pip)"


def fake_root(tmp: Path, bundle: dict, files: dict[str, bytes] | None = None, from_dir: Path | None = None) -> Path:
    root = tmp / "autograder"
    shutil.copytree(bundle["source"], root / "source", symlinks=True)
    sub = root / "submission"
    sub.mkdir(parents=True)
    if from_dir is not None:
        for path in from_dir.glob("*.py"):
            if path.name != "__init__.py":
                shutil.copyfile(path, sub / path.name)
    for name, data in (files or {}).items():
        (sub / name).parent.mkdir(parents=True, exist_ok=True)
        (sub / name).write_bytes(data)
    (root / "results").mkdir()
    return root


def run_autograder(
    root: Path, bundle: dict, cwd: Path | None = None, **env: str
) -> tuple[subprocess.CompletedProcess, dict]:
    full_env = {
        **os.environ,
        "AUTOGRADER_ROOT": str(root),
        "BPLAB_PYTHON": sys.executable,
        "PYTHONPATH": str(bundle["site"]),
        "BPLAB_TASKS": ",".join(GRADED),
        **env,
    }
    proc = subprocess.run(
        [str(root / "source" / "run_autograder")],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=cwd or root,
        env=full_env,
    )
    data = json.loads((root / "results" / "results.json").read_text())
    validate(data)
    return proc, data


def test_reference_full_marks(tmp_path, bundle):
    root = fake_root(tmp_path, bundle, from_dir=ROOT / "solutions")
    proc, data = run_autograder(root, bundle)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # graded by the wheel's grader, not the working tree's
    assert data["extra_data"]["gradescope"]["grader_file"].startswith(str(bundle["site"]))
    assert data["max_score"] == sum(BY_NAME[t].points for t in GRADED)
    assert data["score"] == data["max_score"], [
        t["name"] + ": " + t["output"][:200] for t in data["tests"] if t["status"] != "passed"
    ]
    assert {t["extra_data"]["task"] for t in data["tests"]} == set(GRADED)
    vis = {t["visibility"] for t in data["tests"]}
    assert vis == {"visible", "after_published"}
    assert data["output"].startswith(f"Score: {data['score']:g} / {data['max_score']:g}")
    assert "after the grades are published" in data["output"]
    assert data["stdout_visibility"] == "hidden"


def test_stubs_zero_and_visibility_option(tmp_path, bundle):
    root = fake_root(tmp_path, bundle, from_dir=ROOT / "assignments")
    proc, data = run_autograder(root, bundle, BPLAB_HIDDEN_VISIBILITY="visible")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert data["score"] == 0 and data["max_score"] == sum(BY_NAME[t].points for t in GRADED)
    assert all(t["status"] == "failed" and t["output"] for t in data["tests"])
    assert {t["visibility"] for t in data["tests"]} == {"visible"}
    assert "Hidden checks" not in data["output"]  # everything is shown, per task
    for task in GRADED:
        assert f"Task {BY_NAME[task].number} ({task}.py): 0 / {BY_NAME[task].points:g}" in data["output"]


@pytest.mark.parametrize("sandbox", ["bubblewrap", "refused", "opted-in"])
def test_zip_upload_and_student_code_runs_as_its_own_uid(tmp_path, bundle, sandbox):
    """A .zip upload is unpacked; the student's module runs in the sandbox as a worker uid under
    root. Where bubblewrap cannot run, run_autograder refuses (exit 3, a neutral message for the
    student) unless the bundle opted in with BPLAB_ALLOW_UNSANDBOXED=1, which every result states."""
    import io

    from grader.sandbox.isolation import UID_RANGE

    task = BY_NAME[GRADED[0]]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in (ROOT / "solutions").glob("*.py"):
            if path.name not in ("__init__.py", task.file):
                zf.write(path, f"my_work/{path.name}")
        zf.writestr(f"my_work/{task.file}", "import os\nraise RuntimeError(f'running as uid={os.getuid()}')\n")
    root = fake_root(tmp_path, bundle, files={"submission.zip": buf.getvalue()})
    env = {} if sandbox == "bubblewrap" else {"BPLAB_SANDBOX": "off"}
    if sandbox == "opted-in":
        env["BPLAB_ALLOW_UNSANDBOXED"] = "1"
    proc, data = run_autograder(root, bundle, **env)
    if sandbox == "refused":
        assert proc.returncode == 3 and "refusing to grade" in proc.stdout, proc.stdout[-2000:]
        assert data["score"] == 0 and "could not start its sandbox" in data["output"]
        return
    assert proc.returncode == 0, proc.stderr[-3000:]
    last = data["output"].splitlines()[-1]
    assert last.startswith("Isolation: " + ("bubblewrap" if sandbox == "bubblewrap" else "NO SANDBOX")), last
    failed = [t for t in data["tests"] if t["extra_data"]["task"] == task.name]
    assert failed and all(t["score"] == 0 for t in failed)
    uid = int(failed[0]["output"].split("running as uid=")[1].split()[0].rstrip(")"))
    if sandbox == "bubblewrap" and os.geteuid() == 0:
        assert UID_RANGE[0] <= uid <= UID_RANGE[1]
    if sandbox == "opted-in":
        assert "opted in" in last
    others = [t for t in data["tests"] if t["extra_data"]["task"] != task.name]
    assert others
    assert all(t["status"] == "passed" for t in others), [t["output"][:200] for t in others if t["status"] != "passed"]


HOSTILE_UPLOAD = {  # the upload tries to become part of the trusted process that scores it
    "grader/__init__.py": b"",
    "grader/course/__init__.py": b"",
    "grader/course/gradescope.py": b"import json, os, sys\nroot = sys.argv[-1]\nopen(os.path.join(root, 'results', "
    b"'results.json'), 'w').write(json.dumps({'score': 100, 'tests': []}))\n",
    "sitecustomize.py": b"import os\nos.environ['BPLAB_SEED'] = '1'\nraise SystemExit('sitecustomize ran')\n",
    "usercustomize.py": b"raise SystemExit('usercustomize ran')\n",
    "conftest.py": b"import pytest\n@pytest.hookimpl(tryfirst=True)\ndef pytest_runtest_call(item):\n    pass\n",
    "pytest.ini": b"[pytest]\naddopts = -p no:grader\n",
    "numpy.py": b"raise SystemExit('fake numpy imported')\n",
    "evil.pth": b"import os; os._exit(0)\n",
}


def test_an_upload_cannot_enter_the_trusted_process(tmp_path, bundle):
    """run_autograder runs from a neutral folder with -P -s: the upload's own grader/, sitecustomize,
    conftest, numpy.py, .pth and pytest.ini are inert; the stub chain_rule.py scores 0."""
    files = {k: v for k, v in HOSTILE_UPLOAD.items()}
    files["chain_rule.py"] = (ROOT / "assignments" / "chain_rule.py").read_bytes()
    root = fake_root(tmp_path, bundle, files=files)
    proc, data = run_autograder(root, bundle, cwd=root / "submission", BPLAB_TASKS="chain_rule")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert data["score"] == 0 and data["max_score"] == BY_NAME["chain_rule"].points
    assert data["extra_data"]["gradescope"]["grader_file"].startswith(str(bundle["site"]))


def test_not_a_submission_gets_a_message(tmp_path, bundle):
    root = fake_root(tmp_path, bundle, files={"report.pdf": b"%PDF-1.4"})
    proc, data = run_autograder(root, bundle)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert data["score"] == 0 and data["tests"] == []
    assert "could not be graded" in data["output"] and "no assignment files found" in data["output"]
    assert str(root) not in data["output"]  # no server paths in what students see


@pytest.mark.slow
def test_reference_full_marks_all_tasks(tmp_path, bundle):
    root = fake_root(tmp_path, bundle, from_dir=ROOT / "solutions")
    proc, data = run_autograder(root, bundle, BPLAB_TASKS="")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {t["extra_data"]["task"] for t in data["tests"]} == {t.name for t in TASKS if t.check_files()}
    assert data["score"] == data["max_score"] > 0


def test_hostile_messages_reach_results_json_as_plain_text(tmp_path, bundle):
    """A lone surrogate, terminal escapes, a fence-closing message and HTML in the student's
    exception: results.json is written, valid UTF-8, without control
    characters, and the run does not count as a grader bug."""
    task = BY_NAME[GRADED[0]]
    hostile = (
        (ROOT / "solutions" / task.file).read_text()
        + """

def _evil(*args, **kwargs):
    raise ValueError("bad \\ud800 value \\x1b]0;pwned\\x07\\x1b[31m red\\n```\\n# All checks passed\\n<img src=x onerror=alert(1)>")


for _name in [n for n, v in list(globals().items()) if callable(v) and not n.startswith("_")
              and getattr(v, "__module__", None) == __name__]:
    globals()[_name] = _evil
"""
    )
    root = fake_root(tmp_path, bundle, from_dir=ROOT / "solutions", files={task.file: hostile.encode()})
    proc, data = run_autograder(root, bundle)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    raw = (root / "results" / "results.json").read_bytes().decode("utf-8")
    assert "\\u001b" not in raw and "\\u0007" not in raw and "\\ud800" not in raw.replace("\\\\ud800", "")
    failed = [t for t in data["tests"] if t["extra_data"]["task"] == task.name and t["status"] == "failed"]
    assert failed and any("bad \\ud800 value" in t["output"] and "<img src=x" in t["output"] for t in failed)
    assert "\x1b" not in proc.stdout and "pwned" not in proc.stdout  # the log (the table) too
    assert data["score"] < data["max_score"]
    assert data["output_format"] == data["test_output_format"] == "text"  # shown as text, never HTML


def test_variants_from_the_bundle_key_and_the_submitters(tmp_path, bundle):
    """With a key in the bundle, each submitter (Gradescope's submission_metadata.json) is graded on
    their own hidden inputs; the same submitter twice gets the same results; without a submitter,
    the upload is not graded."""
    key = b"0123456789abcdef0123456789abcdef"
    buggy = (
        (ROOT / "solutions" / "losses.py")
        .read_text()
        .replace("return 2.0 * (y_pred - y_true) / y_pred.size", "return 2.0 * (y_pred - y_true)")
    )
    outputs = {}
    for name, users in (
        ("ann", [{"id": "101", "email": "ann@x"}]),
        ("ann2", [{"id": "101", "email": "ann@x"}]),
        ("ben", [{"id": "202", "email": "ben@x"}]),
    ):
        root = fake_root(tmp_path / name, bundle, files={"losses.py": buggy.encode()})
        (root / "source" / "variants.key").write_bytes(key)
        (root / "submission_metadata.json").write_text(json.dumps({"users": users}))
        proc, data = run_autograder(root, bundle, BPLAB_TASKS="losses")
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert data["extra_data"]["variant"]["id"] and "key" not in json.dumps(data["extra_data"]["variant"])
        outputs[name] = (
            data["extra_data"]["variant"]["seed"],
            [t["output"] for t in data["tests"] if t["visibility"] != "visible"],
        )  # hidden: seeded
    assert outputs["ann"] == outputs["ann2"]
    assert outputs["ann"][0] != outputs["ben"][0] and outputs["ann"][1] != outputs["ben"][1]
    root = fake_root(tmp_path / "nobody", bundle, files={"losses.py": buggy.encode()})
    (root / "source" / "variants.key").write_bytes(key)
    proc, data = run_autograder(root, bundle, BPLAB_TASKS="losses")
    assert data["score"] == 0 and "names no submitter" in data["output"]

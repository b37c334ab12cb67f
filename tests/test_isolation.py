"""Hostile submissions are contained: they score nothing for their task, leave the other tasks
intact, cannot read the reference or the hidden checks, cannot forge results, and leave no process.

The hostile code replaces chain_rule.py in a copy of the reference; losses.py stays correct.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from processes import processes_naming

from grader import runner
from grader.sandbox import template
from grader.sandbox.isolation import isolation

ROOT = Path(__file__).resolve().parents[1]
WRONG = """
import numpy as np
def f_example(x): return 0.0
def f_example_grad(x): return 0.0
def compose(f, df, g, dg): return (lambda x: 0.0), (lambda x: 0.0)
def neuron_forward(w, x, b): return 0.0
def neuron_backward(w, x, b, dL_dy): return {}
"""


def attack_in_functions(body: str) -> str:
    """Every function runs ``body`` (then returns a wrong answer)."""
    indented = "\n".join("    " + line for line in body.strip().splitlines())
    names = [
        "f_example(x)",
        "f_example_grad(x)",
        "compose(f, df, g, dg)",
        "neuron_forward(w, x, b)",
        "neuron_backward(w, x, b, dL_dy)",
    ]
    return "import os, sys, time\nimport numpy as np\n" + "".join(
        f"def {sig}:\n{indented}\n    return 0.0\n" for sig in names
    )


ATTACKS = {
    "infinite_loop": (attack_in_functions("while True:\n    pass"), "timed out"),
    "sleep": (attack_in_functions("time.sleep(10 ** 6)"), "timed out"),
    # touching 2 GiB takes about 2 s here, longer than the scaled call limit: the message may say
    # either; tests/test_red_team.py checks the memory message at the normal limits
    "memory_bomb": (attack_in_functions("hog = bytearray(6 * 1024 ** 3)"), None),
    "output_flood": (attack_in_functions("while True:\n    os.write(1, b'x' * 2 ** 20)"), "size limit"),
    "os_exit_at_import": ("import os\nos._exit(0)\n", "exited with status 0"),
    "sys_exit_at_import": ("import sys\nsys.exit(0)\n", "sys.exit(0)"),
    "monkeypatch_numpy": (
        WRONG
        + """
np.allclose = lambda *a, **k: True
np.isclose = lambda *a, **k: np.ones(1, bool)
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
import builtins
builtins.AssertionError = type("Nope", (Exception,), {})
""",
        None,
    ),
    "kill_parent": (
        attack_in_functions("""
import signal
for target in (os.getppid(), 1):
    try:
        os.kill(target, signal.SIGKILL)
    except OSError:
        pass
try:
    os.kill(-1, signal.SIGKILL)
except OSError:
    pass"""),
        None,
    ),
    "read_reference": (
        WRONG
        + """
import glob, os
for pattern in ("/work/*/solutions/chain_rule.py", os.path.expanduser("~/**/solutions/chain_rule.py"),
                "/**/solutions/chain_rule.py", "/**/checks/hidden/test_chain_rule.py"):
    for path in glob.glob(pattern, recursive=True):
        try:
            exec(open(path).read())
        except Exception:
            pass
""",
        None,
    ),
    "import_solutions": ("from solutions.chain_rule import *\n", "could not be imported"),
    "forge_results": (
        attack_in_functions("""
import glob, json
fake = json.dumps({"score": 100, "max_score": 100, "tests": []})
print(fake)
for folder in ["/tmp", os.getcwd(), "..", "../..", "/autograder/results", *glob.glob("/tmp/*")]:
    try:
        open(os.path.join(folder, "results.json"), "w").write(fake)
    except OSError:
        pass"""),
        None,
    ),
    "fork_and_escape": (
        attack_in_functions("""
if os.fork() == 0:
    os.setsid()
    time.sleep(10 ** 6)"""),
        None,
    ),
}


@pytest.fixture(scope="module")
def reference_scores(tmp_path_factory):
    sub = tmp_path_factory.mktemp("reference")
    for path in (ROOT / "solutions").glob("*.py"):
        shutil.copyfile(path, sub / path.name)
    res = runner.grade(sub, runner.GradeOptions(tasks=("chain_rule", "losses")))
    return res.by_task()


@pytest.fixture(params=["checkout", "wheel", "wheel-template"])
def grade_command(request) -> list[str]:
    """``grade`` as this checkout runs it, and as a non-editable install in a fresh venv runs it:
    with fresh workers, and with workers forked from a template (a batch's default)."""
    if request.param == "checkout":
        return [sys.executable, "-m", "grader.cli"]
    command = [str(request.getfixturevalue("installed_grade"))]
    if request.param == "wheel-template":
        if template.unavailable(isolation()):
            pytest.skip(f"no template workers here: {template.unavailable(isolation())}")
        command += ["--worker-start", "template"]
    return command


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_hostile_submission_is_contained(attack, tmp_path, reference_scores, grade_command):
    source, expected_message = ATTACKS[attack]
    sub = tmp_path / "sub"
    sub.mkdir()
    for path in (ROOT / "solutions").glob("*.py"):
        shutil.copyfile(path, sub / path.name)
    (sub / "chain_rule.py").write_text(source)
    out = tmp_path / "out" / "results.json"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = subprocess.run(
        [
            *grade_command,
            str(sub),
            "--task",
            "chain_rule",
            "--task",
            "losses",
            "--json",
            str(out),
            "--quiet",
            "--timeout-scale",
            "0.15",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(scratch)},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data["extra_data"]["isolation"].startswith("bubblewrap"), data["extra_data"]["isolation"]
    if "--worker-start" in grade_command:
        assert "forked from a template" in data["extra_data"]["isolation"]
    per_task = {}
    for test in data["tests"]:
        per_task.setdefault(test["task"], []).append(test)
    assert sum(t["score"] for t in per_task["chain_rule"]) == 0
    assert reference_scores["chain_rule"]["max_score"] == 8
    assert sum(t["max_score"] for t in per_task["chain_rule"]) == 8
    assert reference_scores["losses"]["max_score"] > 0
    assert sum(t["score"] for t in per_task["losses"]) == reference_scores["losses"]["score"], per_task["losses"][0][
        "output"
    ][:2000]
    if expected_message:
        outputs = " ".join(t["output"] for t in per_task["chain_rule"])
        assert expected_message in outputs, outputs[:1000]
    deadline = time.monotonic() + 5  # killed processes may take a moment to be reaped
    while (left := processes_naming(str(scratch))) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == []


def test_isolation_in_force_is_reported():
    iso = isolation()
    assert iso.description
    if not iso.sandboxed:
        assert "NO SANDBOX" in iso.description

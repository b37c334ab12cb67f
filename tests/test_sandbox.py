"""The worker and its proxies, on small hand-written modules: what crosses the boundary, what
the sandbox forbids, and what happens when student code misbehaves."""

import os
from pathlib import Path

import numpy as np
import pytest

from grader.sandbox import ImportFailed, Limits, StudentError, Worker, WorkerDied
from grader.sandbox.isolation import UID_RANGE, isolation
from grader.sandbox.proxy import InputMutated, Remote, Student

ROOT = Path(__file__).resolve().parents[1]

MODULE = """
import os, socket, sys
import numpy as np

def double(a):
    return a * 2

def inplace(a):
    a += 1
    return float(a.sum())

def boom():
    raise ValueError("bad shape (3,)")

def todo():
    raise NotImplementedError("Task 9.1: implement todo")

class Box:
    def __init__(self, v):
        self.v = np.asarray(v, dtype=float)
    def __add__(self, other):
        return Box(self.v + (other.v if isinstance(other, Box) else other))
    __radd__ = __add__
    def total(self):
        return float(self.v.sum())

def gen(n):
    for i in range(n):
        yield i, np.full(2, i)

def environment():
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=1)
        net = "reachable"
    except OSError as exc:
        net = type(exc).__name__
    visible = os.path.exists(%r)
    return {"uid": os.getuid(), "network": net, "project_visible": visible, "ppid": os.getppid()}

def apply(f, x):
    return f(x)

def unsendable():
    return np.array([object()], dtype=object)
""" % str(ROOT / "solutions" / "losses.py")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy")
    (folder / "toy.py").write_text(MODULE)
    student = Student(lambda: Worker(folder, "toy", Limits(call_timeout=5)), "toy")
    yield student
    student.close()


def test_plain_values_cross_and_come_back_as_float64(toy):
    got = toy.toy.double(np.arange(3, dtype=np.float32))
    assert type(got) is np.ndarray and got.dtype == np.float64
    np.testing.assert_array_equal(got, [0, 2, 4])


def test_in_place_changes_are_recorded_not_trusted_for_the_value(toy):
    before = len(toy.mutations)
    assert toy.toy.inplace(np.zeros(3)) == 3.0  # the value check is not decided by the worker's report
    assert "modified its input a in place" in toy.mutations[-1] and len(toy.mutations) == before + 1
    with pytest.raises(InputMutated, match="no other check of this task passed"):
        toy.assert_inputs_unmodified()  # a stub keeps its inputs too: that alone earns nothing
    toy.checks_passed = 1
    with pytest.raises(InputMutated, match="modified its input"):
        toy.assert_inputs_unmodified()
    assert toy.toy.inplace.options(allow_mutation=True)(np.zeros(3)) == 3.0
    assert len(toy.mutations) == before + 1


def test_callbacks_run_on_the_trusted_side_and_record_their_arguments(toy):
    seen = toy.callback(lambda v: float(np.sum(v) * 10))
    assert toy.toy.apply(seen, np.array([1.0, 2.0])) == 30.0
    (arg,) = seen.calls[0]
    np.testing.assert_array_equal(arg, [1.0, 2.0])
    shaped = toy.callback(lambda v: float(np.sum(v)), like=(np.zeros(2),))
    with pytest.raises(StudentError, match=r"refused the call: the arguments\[0\] should have shape \(2,\)"):
        toy.toy.apply(shaped, np.zeros((5000, 1, 1)))  # student-shaped arrays never reach trusted numpy
    assert shaped.calls == []
    refusing = toy.callback(lambda v: (_ for _ in ()).throw(ValueError("no")))
    with pytest.raises(StudentError, match="ValueError"):
        toy.toy.apply(refusing, 1.0)


def test_student_exceptions_carry_type_message_and_line(toy):
    with pytest.raises(StudentError) as info:
        toy.toy.boom()
    assert info.value.type == "ValueError" and "bad shape" in str(info.value) and "toy.py:" in str(info.value)
    with pytest.raises(StudentError, match="not implemented yet.*Task 9.1"):
        toy.toy.todo()
    with pytest.raises(StudentError, match="has no attribute 'missing'"):
        toy.toy.missing()


def test_objects_stay_in_the_worker_as_handles(toy):
    box = toy.toy.Box([1.0, 2.0])
    assert isinstance(box, Remote) and box.type_name == "Box"
    total = (1 + box + box).call_method("total")
    assert total == 8.0
    np.testing.assert_array_equal(box.v, [1.0, 2.0])
    items = list(toy.toy.gen(3))
    assert [i for i, _ in items] == [0, 1, 2]


def test_trusted_source_runs_in_the_worker(toy):
    cube_sum = toy.source("lambda x: float((x ** 3).sum())")
    assert toy.toy.apply(cube_sum, np.array([1.0, 2.0])) == 9.0


def test_unplain_results_stay_behind_as_handles_never_unpickled(toy):
    got = toy.toy.unsendable()
    assert isinstance(got, Remote) and got.type_name == "ndarray"


def test_sandbox_hides_the_project_and_the_network(toy):
    env = toy.toy.environment()
    assert isolation().sandboxed, isolation().problem
    assert env["project_visible"] is False
    assert env["network"] != "reachable"
    assert env["ppid"] in (0, 1)  # a pid namespace: the grader is not even nameable
    if os.geteuid() == 0:
        assert UID_RANGE[0] <= env["uid"] <= UID_RANGE[1]


def test_timeouts_kill_and_the_next_call_gets_a_fresh_worker(tmp_path):
    (tmp_path / "slow.py").write_text(
        "import time\ndef nap(s):\n    time.sleep(s)\n    return s\ndef fast():\n    return 1\n"
    )
    student = Student(lambda: Worker(tmp_path, "slow", Limits(call_timeout=0.5)), "slow")
    try:
        with pytest.raises(WorkerDied, match="timed out after 0.5 s") as died:
            student.slow.nap(30)
        assert died.value.limit == "timed out"
        student.new_check()  # what the plugin does at the start of each check
        with pytest.raises(WorkerDied, match="not called again after timing out") as died:
            student.slow.nap(0)  # a function that timed out once is not waited on again
        assert died.value.limit == "timed out"
        student.new_check()
        assert student.slow.fast() == 1  # other functions get a fresh worker
        assert student.restarts == 1
    finally:
        student.close()


def test_import_failures_are_reported_once_with_the_reason(tmp_path):
    (tmp_path / "broken.py").write_text("def f(:\n    pass\n")
    with pytest.raises(ImportFailed, match="SyntaxError.*line 1"):
        Worker(tmp_path, "broken").start()
    (tmp_path / "quits.py").write_text("import sys\nsys.exit(3)\n")
    with pytest.raises(ImportFailed, match=r"sys.exit\(3\)"):
        Worker(tmp_path, "quits").start()


def test_weaker_isolation_is_never_silent(monkeypatch):
    from grader import runner
    from grader.options import GradeOptions
    from grader.sandbox import SandboxUnavailable

    off = GradeOptions(sandbox=False)
    iso = isolation(False)
    assert iso.kind == "none" and "NO SANDBOX" in iso.description and "--no-sandbox" in iso.description
    with pytest.raises(SandboxUnavailable, match="refusing to grade.*--allow-unsandboxed"):
        runner.isolation_line(off)
    assert "opted in" in runner.isolation_line(off.replace(allow_unsandboxed=True))
    assert "local check" in runner.isolation_line(off.replace(public_only=True))


def test_zero_d_arrays_stay_zero_d_and_numpy_defers_to_handles(toy):
    got = toy.toy.apply(toy.source("lambda x: np.array(x.shape == ())"), np.array(2.0))
    assert got.shape == () and bool(got) is True  # a 0-d array arrived 0-d, and came back 0-d
    box = toy.toy.Box([1.0, 2.0])
    total = (np.array([1.0, 1.0]) + box).call_method("total")
    assert total == 5.0
    assert hasattr(box, "v") and not hasattr(box, "nothing_here")


HOSTILE_WIRE = """
import os, struct
def nested():
    fd = int(os.environ["BPLAB_FDS"].split(",")[1])
    text = b"[" * 100000 + b"]" * 100000
    os.write(fd, struct.pack(">II", len(text), 0) + text)
    import time; time.sleep(60)
def garbage():
    fd = int(os.environ["BPLAB_FDS"].split(",")[1])
    os.write(fd, struct.pack(">II", 2, 0) + b"[]")
    import time; time.sleep(60)
def forge_then_sleep():
    import protocol, time
    fd = int(os.environ["BPLAB_FDS"].split(",")[1])
    protocol.write_frame(fd, protocol.dumps({"ok": 1.0}))  # answer early, then stop reading
    time.sleep(60)
"""


@pytest.mark.parametrize("attack, message", [("nested", "malformed answer"), ("garbage", "malformed answer")])
def test_forged_frames_kill_the_worker_not_the_grader(tmp_path, attack, message):
    (tmp_path / "wire.py").write_text(HOSTILE_WIRE)
    student = Student(lambda: Worker(tmp_path, "wire", Limits(call_timeout=5)), "wire")
    try:
        with pytest.raises(WorkerDied, match=message):
            getattr(student.wire, attack)()
    finally:
        student.close()


def test_a_worker_that_stops_reading_cannot_stall_a_big_request(tmp_path):
    (tmp_path / "wire.py").write_text(HOSTILE_WIRE)
    student = Student(lambda: Worker(tmp_path, "wire", Limits(call_timeout=1)), "wire")
    try:
        assert student.wire.forge_then_sleep() == 1.0  # a forged answer is just an answer
        with pytest.raises(WorkerDied, match="timed out"):  # 8 MB: far more than a pipe holds
            student.wire.forge_then_sleep(np.zeros(1_000_000))
    finally:
        student.close()


def test_filling_the_output_is_a_limit_and_saying_so_is_not(tmp_path):
    """The output limit is seen on this side (the size of the output file it opened), not taken from
    the error the worker reports, which the student's code can raise itself."""
    (tmp_path / "loud.py").write_text(
        "import errno, sys\n"
        "def flood():\n"
        "    while True:\n"
        "        sys.stdout.write('x' * 65536)\n"
        "        sys.stdout.flush()\n"
        "def pretend():\n"
        "    raise OSError(errno.EFBIG, 'File too large')\n"
    )
    student = Student(lambda: Worker(tmp_path, "loud", Limits(file_bytes=1 << 20, call_timeout=30)), "loud")
    try:
        with pytest.raises(StudentError, match="output / file size limit of 1 MiB exceeded") as raised:
            student.loud.flood()
        assert raised.value.limit == "output / file size limit"
        student.close()  # a fresh worker, a fresh output file
        with pytest.raises(StudentError, match="output / file size limit") as raised:
            student.loud.pretend()  # the same message, from the student's own raise
        assert raised.value.limit == ""
    finally:
        student.close()


def test_a_crash_while_starting_is_retried_once_and_said(tmp_path):
    """A library's abort at start-up (here: the first worker) costs nothing; a module that always
    crashes still costs its task."""
    crashing, fine = tmp_path / "crashing", tmp_path / "fine"
    for folder, body in ((crashing, "import os\nos.abort()\n"), (fine, "def one():\n    return 1\n")):
        folder.mkdir()
        (folder / "lib.py").write_text(body)
    folders = iter([crashing, fine])
    student = Student(lambda: Worker(next(folders), "lib"), "lib")
    try:
        assert student.lib.one() == 1
        assert "crashed while starting" in student.notes[0] and "SIGABRT" in student.notes[0]
        assert student.retried_starts == 1  # counted on the trusted side: the plugin marks the check with it
        from grader import batch  # the gradebook's status says so too

        data = {"tests": [{"task": "lib", "output": "Note: " + student.notes[0], "retried": True}]}
        assert batch.status_of(data) == "graded; worker crash at start-up retried: lib"
        assert batch.status_of({"tests": [{"task": "lib", "output": "Note: " + student.notes[0]}]}) == "graded"
    finally:
        student.close()
    always = Student(lambda: Worker(crashing, "lib"), "lib")
    try:
        with pytest.raises(WorkerDied, match="SIGABRT") as died:
            always.lib.one()
        assert len(always.notes) == 1  # retried once, then it is the student's
        assert died.value.limit == "killed"
    finally:
        always.close()


def test_grade_refuses_without_a_sandbox_unless_told(tmp_path):
    import json
    import subprocess
    import sys

    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "chain_rule.py").write_text((ROOT / "solutions" / "chain_rule.py").read_text())
    env = dict(os.environ)
    env.pop("BPLAB_ISOLATION_PROBED", None)
    cmd = [sys.executable, "-m", "grader.cli", str(sub), "--task", "chain_rule", "--quiet", "--no-sandbox"]
    refused = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert refused.returncode == 3 and "refusing to grade" in refused.stderr
    batch = subprocess.run(
        cmd + ["--out", str(tmp_path / "results")], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
    )
    assert batch.returncode == 3 and "refusing to grade" in batch.stderr
    out = tmp_path / "out.json"
    allowed = subprocess.run(
        cmd + ["--allow-unsandboxed", "--json", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert allowed.returncode == 0, allowed.stderr
    data = json.loads(out.read_text())
    assert "NO SANDBOX" in data["extra_data"]["isolation"] and "opted in" in data["extra_data"]["isolation"]
    assert data["extra_data"]["options"]["sandbox"] is False and data["extra_data"]["options"]["allow_unsandboxed"]
    assert data["score"] == data["max_score"] == 8


def test_a_method_of_a_remote_object_is_one_request(tmp_path):
    """``obj.method(...)`` on a handle is routed by the method names the worker announced: one
    request, the same result as ``call_method``; plain attributes are still read from the worker."""
    (tmp_path / "shapes.py").write_text(
        "class Box:\n"
        "    def __init__(self, v):\n        self.v = v\n"
        "    def doubled(self, k=2):\n        return self.v * k\n"
        "def make(v):\n    return Box(v)\n"
    )
    from grader.sandbox import Limits, Worker
    from grader.sandbox.proxy import RemoteMethod, Student

    student = Student(lambda: Worker(tmp_path, "shapes", Limits()), "shapes")
    try:
        box = student.shapes.make(21)
        method = box.doubled
        assert isinstance(method, RemoteMethod)
        sent = []
        original = student.request
        student.request = lambda message, *a, **k: sent.append(message["op"]) or original(message, *a, **k)
        assert method() == 42 and box.doubled(k=3) == 63 and box.v == 21
        assert sent == ["call", "call", "getattr"]
    finally:
        student.close()

"""Regression tests for the red team's findings against the worker: each attack below once gained
points or cost someone else points; now it is contained.

- a worker that forges its own "inputs unmodified" report gains at most the small inputs check;
- a duck-typed stand-in for a torch model that describes Linear layers it does not compute fails;
- one worker holding thousands of threads does not stop another worker from starting threads;
- everything a worker can write to its scratch space counts against one small limit (and, where
  the machine has cgroups, against its memory limit);
- a function that hangs is waited on once; killing ``grade`` leaves no process of it behind.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from processes import processes_naming

from grader import runner
from grader.sandbox import Limits, Worker, WorkerDied
from grader.sandbox.isolation import SCRATCH_BYTES, isolation
from grader.sandbox.proxy import Student

ROOT = Path(__file__).resolve().parents[1]


def reference_copy(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for path in (ROOT / "solutions").glob("*.py"):
        if path.name != "__init__.py":
            shutil.copyfile(path, dest / path.name)
    return dest


def task_score(results, task: str) -> float:
    return sum(t.score for t in results.tests if t.task == task)


ZEROES_ITS_INPUT = """
_honest_mse = mse
def mse(y_pred, y_true):
    value = _honest_mse(y_pred, y_true)
    y_pred[...] = 0.0  # the caller's array
    return value
"""

FORGES_THE_REPORT = """
import __main__  # the worker program itself: student code can rewrite it
__main__._mutated = lambda snapshot: []
"""


def test_forging_the_mutation_report_gains_at_most_the_inputs_check(tmp_path):
    honest = reference_copy(tmp_path / "honest")
    (honest / "losses.py").write_text((honest / "losses.py").read_text() + ZEROES_ITS_INPUT)
    forged = reference_copy(tmp_path / "forged")
    (forged / "losses.py").write_text((honest / "losses.py").read_text() + FORGES_THE_REPORT)
    h = runner.grade(honest, runner.GradeOptions(tasks=("losses",)))
    f = runner.grade(forged, runner.GradeOptions(tasks=("losses",)))
    inputs_check = [t for t in h.tests if t.name.startswith("test_inputs_left_unmodified")]
    assert inputs_check and not inputs_check[0].passed and inputs_check[0].max_score == 0.5
    assert "modified its input" in inputs_check[0].output
    assert task_score(h, "losses") == 13.5  # only the inputs check is lost
    assert task_score(f, "losses") - task_score(h, "losses") <= 0.5


FAKE_TORCH_MODEL = """
import numpy as np

class _Param:
    def __init__(self, shape):
        self.a = np.full(shape, 0.5)
    def detach(self): return self
    def cpu(self): return self
    def double(self): return self
    def numpy(self): return self.a

class _Layer:
    def __init__(self, shapes):
        self.shapes = shapes
    def named_parameters(self):
        return [(k, _Param(s)) for k, s in self.shapes.items()]

class Linear(_Layer): pass
class ReLU(_Layer): pass

class FakeSequential:
    def __init__(self, D, H, C):
        self.children = [("0", Linear({"weight": (H, D), "bias": (H,)})), ("1", ReLU({})),
                         ("2", Linear({"weight": (C, H), "bias": (C,)}))]
    def named_children(self): return self.children
    def state_dict(self): return {}
    def parameters(self):
        import torch
        return iter([torch.zeros(1)])
    def __call__(self, X):
        import torch
        return torch.zeros(len(X), 10)

def build_model(in_features=784, hidden=256, out_features=10):
    return FakeSequential(in_features, hidden, out_features)
"""


@pytest.mark.slow
def test_a_duck_typed_model_that_describes_layers_it_does_not_compute_fails(tmp_path):
    sub = reference_copy(tmp_path / "sub")
    source = (sub / "torch_training.py").read_text()
    (sub / "torch_training.py").write_text(source + FAKE_TORCH_MODEL)
    res = runner.grade(sub, runner.GradeOptions(tasks=("torch_training",)))
    layers = next(t for t in res.tests if t.name.startswith("test_build_model_layers"))
    assert not layers.passed and "random inputs, against its own layers" in layers.output, layers.output


THREADS = """
import threading, time

def hold_threads():
    started = 0
    try:
        while started < 20000:
            threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
            started += 1
    except RuntimeError:
        pass
    return started

def start_threads(n):
    done = []
    threads = [threading.Thread(target=lambda: done.append(1)) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(done)

def uid():
    import os
    return os.getuid()
"""


def test_one_workers_threads_do_not_starve_another_worker(tmp_path):
    (tmp_path / "threads.py").write_text(THREADS)
    limits = Limits(call_timeout=60)
    hog = Student(lambda: Worker(tmp_path, "threads", limits), "threads")
    victim = Student(lambda: Worker(tmp_path, "threads", limits), "threads")
    try:
        held = hog.threads.hold_threads()
        assert held < limits.max_processes  # stopped by its own limit, not the machine's
        assert victim.threads.start_threads(200) == 200  # while the hog still holds them all
        if os.geteuid() == 0:
            assert hog.threads.uid() != victim.threads.uid()  # a uid per concurrent worker
        cgroup = hog._worker.cgroup
        if cgroup is not None and cgroup.version == "v1" and len(cgroup.dirs) == 3:  # a cpu controller here
            assert (cgroup.dirs[2] / "cpu.cfs_quota_us").read_text().strip() == "100000"  # one core in all
    finally:
        hog.close()
        victim.close()


SCRATCH = '''
import os

def fill(folders, chunk_mib=16):
    """Write 16 MiB files (each a new name) into each folder until it refuses; bytes kept per folder."""
    written = {}
    for n, folder in enumerate(folders):
        try:
            os.makedirs(folder, exist_ok=True)
            for i in range(64):
                with open(os.path.join(folder, f"fill-{n}-{i}.bin"), "wb") as fh:
                    fh.write(b"x" * (chunk_mib * 2 ** 20))
        except OSError:
            pass
        written[folder] = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder)
                              if f.startswith(f"fill-{n}-")) if os.path.isdir(folder) else 0
    return written

def fill_and_allocate(mib):
    fill(["/tmp"])
    hog = bytearray(mib * 2 ** 20)
    for i in range(0, len(hog), 4096):
        hog[i] = 1
    return len(hog)
'''


def test_all_scratch_space_together_is_one_small_limit(tmp_path):
    assert isolation().sandboxed, isolation().problem
    (tmp_path / "scratch.py").write_text(SCRATCH)
    student = Student(lambda: Worker(tmp_path, "scratch", Limits(call_timeout=60)), "scratch")
    try:
        home = "/tmp/home"
        written = student.scratch.fill(["/tmp", "/var/tmp", home, "/dev/shm"])
        assert sum(written.values()) <= SCRATCH_BYTES, written
        assert written["/dev/shm"] == 0, written
    finally:
        student.close()


def test_scratch_files_count_against_the_memory_limit_where_there_are_cgroups(tmp_path):
    if not isolation().cgroups:
        pytest.skip("no cgroups on this machine: the scratch space is bounded by its size alone")
    (tmp_path / "scratch.py").write_text(SCRATCH)
    limits = Limits(call_timeout=60, memory_bytes=400 * 2**20)
    student = Student(lambda: Worker(tmp_path, "scratch", limits), "scratch")
    try:
        assert student.scratch.fill_and_allocate(100) == 100 * 2**20  # 128 + 100 MiB fit in 400
        student.close()
        with pytest.raises(WorkerDied, match="memory limit"):
            student.scratch.fill_and_allocate(320)  # 128 MiB of files + 320 MiB of memory do not
    finally:
        student.close()


HANGS = "def mse(*args, **kwargs):\n    while True:\n        pass\n"


def test_a_hanging_function_is_waited_on_once(tmp_path):
    sub = reference_copy(tmp_path / "sub")
    (sub / "losses.py").write_text((sub / "losses.py").read_text() + HANGS)
    res = runner.grade(sub, runner.GradeOptions(tasks=("losses",), timeout_scale=0.1))
    outputs = [t.output for t in res.tests if "mse()" in t.output]
    assert any("timed out" in o and "not called again" not in o for o in outputs)
    assert any("not called again after timing out" in o for o in outputs)


def test_killing_grade_leaves_no_process_behind(tmp_path):
    sub = reference_copy(tmp_path / "sub")
    (sub / "losses.py").write_text((sub / "losses.py").read_text() + HANGS.replace("mse", "softmax"))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "grader.cli", str(sub), "--task", "losses", "--task", "chain_rule", "--quiet"],
        cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(scratch)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not any("worker.py" in p for p in processes_naming(str(scratch))):
            assert time.monotonic() < deadline and proc.poll() is None, "no worker started"
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 15
    while (left := processes_naming(str(scratch))) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == []


def test_a_memory_bomb_is_stopped_with_a_memory_message(tmp_path):
    (tmp_path / "bomb.py").write_text("def hog():\n    block = bytearray(6 * 1024 ** 3)\n    return len(block)\n")
    student = Student(lambda: Worker(tmp_path, "bomb", Limits(call_timeout=60)), "bomb")
    try:
        with pytest.raises(WorkerDied, match="memory limit of 2 GiB") as died:
            student.bomb.hog()
        assert died.value.limit == "memory limit"
    finally:
        student.close()


def test_flooding_a_trusted_callback_is_bounded(tmp_path):
    """What student code sends through a function the check handed it is kept on the trusted side,
    so it is bounded: a flood kills the worker instead of the grader's memory."""
    (tmp_path / "flood.py").write_text(
        "import numpy as np\ndef flood(f):\n    for _ in range(1000):\n        f(np.zeros(500_000))\n    return 0\n"
    )
    student = Student(lambda: Worker(tmp_path, "flood", Limits(call_timeout=60)), "flood")
    try:
        seen = student.callback(lambda v: 0.0)
        with pytest.raises(WorkerDied, match="more than 64 MiB"):
            student.flood.flood(seen)
        assert len(seen.calls) <= 17
    finally:
        student.close()

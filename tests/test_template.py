"""Workers forked from a pre-imported template: each in a room of its own, like a fresh worker.

A batch forks its workers from a template that imported numpy, torch or keras once. What a worker
can see and do must not depend on how it started: its own uid, no capabilities, only its own box
and scratch, pid 1 and 2 in its pid namespace, no network, nothing open but its pipes, and nothing
one worker does reaches the next one forked from the same template.
"""

import os
import signal
from pathlib import Path

import pytest

from grader.sandbox import ImportFailed, Limits, Worker, WorkerDied, template
from grader.sandbox import isolation as isolation_module
from grader.sandbox.isolation import isolation
from grader.sandbox.proxy import Student

ISO = isolation()
pytestmark = pytest.mark.skipif(
    bool(template.unavailable(ISO)), reason=f"no template workers here: {template.unavailable(ISO)}"
)

PROBE = """
import os, socket, sys
import numpy as np

def room():
    status = dict(l.split(":\\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\\t" in l)
    fds = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
    fds = [fd for fd in fds if os.path.exists(f"/proc/self/fd/{fd}")]  # the listing's own fd is gone
    box = os.path.dirname(os.getcwd())
    return {
        "uid": [os.getuid(), os.geteuid(), os.getgid()],
        "groups": os.getgroups(),
        "caps": [status[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapAmb")],
        "no_new_privs": status["NoNewPrivs"].strip(),
        "pid": os.getpid(),
        "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "fds": fds,
        "box": box,
        "next_to_box": sorted(os.listdir(os.path.dirname(box))),
        "tmp": sorted(os.listdir("/tmp")),
        "interfaces": sorted(l.split(":")[0].strip() for l in open("/proc/net/dev").read().splitlines()[2:]),
        "env": sorted(os.environ),
        "cwd_writable": os.access(os.getcwd(), os.W_OK),
    }

def leave_traces(secret):
    open("/tmp/trace.txt", "w").write(secret)
    np.allclose = lambda *a, **k: True  # in this worker's memory only
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind("\\0bplab-trace")
    s.listen(1)
    globals()["kept"] = s
    return True

def look_for_traces(other_box):
    found = []
    if os.path.exists("/tmp/trace.txt"):
        found.append("scratch")
    try:
        os.listdir(other_box)
        found.append("other box")
    except OSError:
        pass
    if np.allclose(np.zeros(2), np.ones(2)):
        found.append("numpy patched")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect("\\0bplab-trace")
        found.append("socket")
    except OSError:
        pass
    for pid in range(1, 64):
        if pid != os.getpid():
            try:
                os.kill(pid, 0)
                found.append(f"signal pid {pid}")
            except OSError:
                pass
    return found

SYSCALLS = {"x86_64": (248, 250), "aarch64": (217, 219)}.get(os.uname().machine)  # add_key, keyctl

def keyring_put(secret):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    data = secret.encode()
    return libc.syscall(SYSCALLS[0], b"user", b"bplab-trace", data, len(data), ctypes.c_int(-4)) > 0  # into @u

def keyring_find():
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.syscall(SYSCALLS[1], 10, ctypes.c_int(-4), b"user", b"bplab-trace", 0) > 0  # KEYCTL_SEARCH @u

def session_keyring():
    import ctypes
    return ctypes.CDLL(None).syscall(SYSCALLS[1], 0, ctypes.c_int(-3), 0)  # KEYCTL_GET_KEYRING_ID @s

def loopback():
    with socket.socket() as server, socket.socket() as client:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        client.connect(server.getsockname())
        return True

def open_pty():
    globals()["pty"] = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY)
    return sorted(os.listdir("/dev/pts"))

def ptys():
    return sorted(os.listdir("/dev/pts"))

def draws():
    import random
    return [random.random(), float(np.random.random()), float(np.random.default_rng().random())]

def crash(how):
    if how == "abort":
        os.abort()
    if how == "segv":
        import ctypes
        ctypes.string_at(0)
    if how == "kill_self":
        os.kill(os.getpid(), 9)
    if how == "cpu":
        while True:
            pass
"""


@pytest.fixture
def probe(tmp_path):
    folder = tmp_path / "probe_sub"
    folder.mkdir()
    (folder / "probe.py").write_text(PROBE)
    return folder


def worker(folder: Path, use_template: bool = True, limits: Limits = Limits(), libraries=("numpy",)) -> Student:
    return Student(lambda: Worker(folder, "probe", limits, use_template=use_template, libraries=libraries), "probe")


def test_a_forked_worker_has_a_room_like_a_fresh_one(probe):
    fresh, forked = worker(probe, use_template=False), worker(probe)
    try:
        a, b = fresh.probe.room(), forked.probe.room()
        assert isinstance(forked._live().proc, template.Forked)
        assert not isinstance(fresh._live().proc, template.Forked)
        for room in (a, b):
            assert room["uid"][0] == room["uid"][1] == room["uid"][2] != 0
            assert room["groups"] == []
            assert room["caps"] == ["0000000000000000"] * 4
            assert room["no_new_privs"] == "1"
            assert room["pid"] == 2 and room["pids"] == [1, 2]
            assert room["interfaces"] == ["lo"]
            beside = [n for n in room["next_to_box"] if n != "home"]  # a box in /tmp: the scratch's $HOME beside it
            assert beside == [os.path.basename(room["box"])]  # no other box, no template files
            assert [t for t in room["tmp"] if t != "home" and not (room["box"] + "/").startswith(f"/tmp/{t}/")] == []
            assert not room["cwd_writable"]
            assert {name for name in room["env"] if name.startswith("BPLAB_")} <= {"BPLAB_FDS", "BPLAB_UID"}
        assert a["uid"][0] != b["uid"][0]
        assert fresh.probe.loopback() is True and forked.probe.loopback() is True
        assert len(b["fds"]) == 5, b["fds"]  # stdio and the two pipes, nothing of the template
        assert "BPLAB_TEMPLATE_FD" not in b["env"] and "BPLAB_UID" not in b["env"]
        assert set(b["env"]) <= set(a["env"]) | {"TF_ENABLE_ONEDNN_OPTS"}
    finally:
        fresh.close()
        forked.close()


def test_nothing_one_forked_worker_does_reaches_the_next(probe, tmp_path):
    first, second = worker(probe), worker(probe)
    try:
        assert first.probe.leave_traces("a secret") is True
        other_box = str(first._live().box)
        assert second.probe.look_for_traces(other_box) == []
        assert first.probe.look_for_traces(str(second._live().box)) == ["scratch", "numpy patched", "socket"]
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize(
    "how, message, limit",
    [
        ("abort", "SIGABRT", "killed"),
        ("segv", "segmentation fault", "crashed"),
        ("kill_self", "killed (SIGKILL)", "killed"),
        ("cpu", "CPU time limit of 1 s exceeded", "CPU time limit"),
    ],
)
def test_a_forked_worker_dies_as_a_fresh_one_does(probe, how, message, limit):
    limits = Limits(cpu_seconds=1, call_timeout=30)
    for use_template in (False, True):
        student = worker(probe, use_template=use_template, limits=limits)
        try:
            with pytest.raises(WorkerDied, match=message.replace("(", r"\(").replace(")", r"\)")) as died:
                student.probe.crash(how)
            assert died.value.limit == limit  # what the gradebook's status shows, decided on the trusted side
        finally:
            student.close()


def test_a_memory_hog_in_a_forked_worker_is_stopped_by_its_own_limit(probe):
    (probe / "hog.py").write_text("def hog():\n    x = bytearray(3 * 1024 ** 3)\n    return len(x)\n")
    limits = Limits(memory_bytes=512 * 1024**2, call_timeout=60)
    student = Student(lambda: Worker(probe, "hog", limits, use_template=True, libraries=("numpy", "keras")), "hog")
    try:
        with pytest.raises(WorkerDied, match="memory limit of 0.5 GiB") as died:
            student.hog.hog()  # the template's own pages (TensorFlow: far more than 0.5 GiB) are not counted
        assert died.value.limit == "memory limit"
    finally:
        student.close()


def test_an_import_error_in_a_forked_worker_is_the_students(probe):
    (probe / "broken.py").write_text("import numpy as np\nx = 1 +\n")
    with pytest.raises(ImportFailed, match="SyntaxError"):
        Worker(probe, "broken", use_template=True).start()


def test_a_crash_at_start_in_a_forked_worker_is_retried_in_a_new_interpreter(probe):
    """A library that aborts only in a forked worker (the template's state) costs nothing: the retry
    starts a new interpreter, not another fork of the same template."""
    (probe / "forked_only.py").write_text(
        "import os, sys\n"
        "if sys.modules['__main__'].__file__.endswith('zygote.py'):\n"
        "    os.abort()\n"
        "def one():\n"
        "    return 1\n"
    )
    student = Student(lambda: Worker(probe, "forked_only", use_template=True), "forked_only")
    try:
        assert student.forked_only.one() == 1
        assert len(student.notes) == 1 and "SIGABRT" in student.notes[0] and "new interpreter" in student.notes[0]
    finally:
        student.close()


def test_a_dead_template_is_started_again(probe):
    student = worker(probe)
    try:
        student.probe.room()
    finally:
        student.close()
    old = template._shared[(os.getpid(), ("numpy",))]
    os.killpg(old.proc.pid, signal.SIGKILL)
    old.proc.wait()
    student = worker(probe)
    try:
        assert student.probe.room()["pids"] == [1, 2]
        assert template._shared[(os.getpid(), ("numpy",))] is not old
    finally:
        student.close()


KEYS = os.uname().machine in ("x86_64", "aarch64")


@pytest.mark.skipif(not KEYS, reason="keyctl's system call number is known here for x86_64 and aarch64 only")
@pytest.mark.parametrize("use_template", [False, True], ids=["fresh", "template"])
def test_a_uid_comes_back_without_the_keys_of_its_last_worker(probe, monkeypatch, use_template):
    """A uid's keyrings outlive its processes: the next worker to lease the uid must not find them."""
    monkeypatch.setattr(isolation_module, "UID_RANGE", (isolation_module.UID_RANGE[1],) * 2)
    first = worker(probe, use_template=use_template)
    try:
        assert first.probe.keyring_put("answers of the first student") is True
        assert first.probe.keyring_find() is True
    finally:
        first.close()
    second = worker(probe, use_template=use_template)
    try:
        assert second._live().uid.uid == isolation_module.UID_RANGE[0]
        assert second.probe.keyring_find() is False
    finally:
        second.close()


@pytest.mark.skipif(not KEYS, reason="keyctl's system call number is known here for x86_64 and aarch64 only")
@pytest.mark.parametrize("use_template", [False, True], ids=["fresh", "template"])
def test_each_worker_has_a_session_keyring_of_its_own(probe, use_template):
    """Not the grader's (a container's or a login's session keyring would be shared by every worker)."""
    import ctypes

    ours = ctypes.CDLL(None).syscall(250 if os.uname().machine == "x86_64" else 219, 0, ctypes.c_int(-3), 0)
    a, b = worker(probe, use_template=use_template), worker(probe, use_template=use_template)
    try:
        ids = {a.probe.session_keyring(), b.probe.session_keyring()}
        assert len(ids) == 2 and ours not in ids and all(i > 0 for i in ids), (ours, ids)
    finally:
        a.close()
        b.close()


def test_pseudo_terminals_are_per_worker(probe):
    a, b = worker(probe), worker(probe)
    try:
        assert "0" in a.probe.open_pty()
        assert b.probe.ptys() == ["ptmx"]
    finally:
        a.close()
        b.close()


def test_each_forked_worker_draws_its_own_random_numbers(probe):
    """The template imports random and numpy.random once (their generators seeded there); each worker
    forked from it reseeds them from the OS, as a fresh interpreter does: no two workers share a stream."""
    draws = []
    for _ in range(2):
        student = worker(probe)
        try:
            draws.append(student.probe.draws())
        finally:
            student.close()
    assert all(a != b for a, b in zip(*draws)), draws

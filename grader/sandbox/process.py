"""The host of one untrusted worker process (trusted side): start, limits, calls, kill.

A ``Worker`` runs ``worker.py`` (copied, with ``protocol.py`` and ``calls.py``, into a fresh temporary folder, the
"box", together with a copy of the submission) inside the isolation of ``isolation.py``, or has
it forked from a template that imported the libraries already (``template.py``, a batch's
default), and exchanges protocol frames with it over two pipes. While a call runs, the student's code may call
back a trusted callable the check handed it (``Callback``): the host answers those frames itself,
so what the student's code asked for is observed here, not reported by the worker.

Always: a new session and process group (killed as a whole, with the worker's uid; a forked
worker through its cgroup and uid), a wall-clock limit per call, a CPU limit, a memory limit (the
worker's cgroup where there is one, and the resident set of its process tree, polled; for a
forked worker what its cgroup was charged), a file-size limit that also caps captured output, a
bound on open files, parent-death kill.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from grader.sandbox import protocol, template
from grader.sandbox.isolation import (
    OPEN_FILES,
    SCRATCH_BYTES,
    Cgroup,
    Isolation,
    UidLease,
    bwrap_args,
    die_with_parent,
    isolation,
    worker_home,
)
from grader.text import clean, clean_line, type_name

HERE = Path(__file__).resolve().parent
MAX_CALLBACKS = 100_000  # per request: a student loop calling back forever still ends at the deadline
CALLBACK_BYTES = 64 * 1024**2  # what the trusted side keeps of the arguments, per request


@dataclasses.dataclass(frozen=True)
class Limits:
    """Resource limits of one worker. Times in seconds, sizes in bytes."""

    call_timeout: float = 10.0
    start_timeout: float = 60.0
    task_budget: float = 120.0  # all calls of one task's checks together
    cpu_seconds: int = 300
    memory_bytes: int = 2 * 1024**3
    file_bytes: int = 64 * 1024**2
    max_processes: int = 1024  # per worker (its own uid and cgroup), threads included
    time_scale: float = 1.0  # applies to a check's own per-call time limits too

    def scaled(self, factor: float) -> Limits:
        """Time limits multiplied by ``factor`` (slow machines, fast tests), including the limits
        checks give single calls (``options(timeout=...)``)."""
        return dataclasses.replace(
            self,
            call_timeout=self.call_timeout * factor,
            start_timeout=self.start_timeout * factor,
            task_budget=self.task_budget * factor,
            time_scale=self.time_scale * factor,
        )


class WorkerDied(Exception):
    """The worker timed out, crashed, exceeded a limit or answered nonsense; it has been killed."""

    def __init__(self, message: str, signal_number: int | None = None, timed_out: bool = False, limit: str = ""):
        super().__init__(message)
        self.signal_number = signal_number
        self.timed_out = timed_out
        # which limit stopped the student's code, decided here (never read from the message, which
        # carries the worker's last output): one of LIMITS, or "" when none did
        self.limit = "timed out" if timed_out else limit
        if self.limit and self.limit not in LIMITS:
            raise ValueError(f"unknown limit {self.limit!r}: one of {LIMITS}")


LIMITS = ("timed out", "memory limit", "CPU time limit", "output / file size limit", "crashed", "killed", "time budget")


class StudentError(Exception):
    """Student code raised an exception; carries its type, message and location."""

    def __init__(self, what: str, error: dict):
        self.limit = ""  # set by the trusted side when it saw a limit behind the error (WorkerDied.limit)
        self.type = type_name(error.get("type")) or "Exception"  # untrusted text: cleaned as it enters
        self.message = clean(error.get("message"), 4000)
        self.where = clean_line(error.get("where"), 300)
        at = f" (at {self.where})" if self.where else ""
        if self.type == "NotImplementedError":
            text = f"{what}: not implemented yet ({self.message})"
        else:
            text = f"{what} raised {self.type}: {self.message}{at}"
        super().__init__(text)


class ImportFailed(Exception):
    """The student's module could not be imported: the whole task fails once with this reason."""


class Callback:
    """A trusted callable handed to student code: each call is a frame back to this process,
    which records the arguments (``calls``) and answers with ``fn(*args)``.

    The arguments are the student's choice, so ``fn`` runs only on arguments shaped like ``like``
    (a tuple of example arguments: arrays must match in shape, dicts in keys, sequences in length);
    without ``like``, only on small arrays of at most two dimensions. Anything else is refused
    before any trusted computation (broadcasting a student-shaped array can cost gigabytes)."""

    SMALL = 1_000_000  # elements in all, without ``like``

    def __init__(self, fn: Callable[..., Any], like: tuple | None = None):
        self.fn = fn
        self.like = like
        self.calls: list[tuple] = []

    def refusal(self, args: list) -> str:
        """Why these arguments are refused ("" when they are accepted)."""
        if self.like is not None:
            return _unlike(tuple(args), tuple(self.like), "the arguments")
        arrays = []
        _arrays(args, arrays)
        if any(a.ndim > 2 for a in arrays) or sum(a.size for a in arrays) > self.SMALL:
            return "arrays of more than two dimensions or more than a million entries"
        return ""


def _arrays(value: Any, out: list) -> None:
    if isinstance(value, np.ndarray):
        out.append(value)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _arrays(v, out)
    elif isinstance(value, dict):
        for v in value.values():
            _arrays(v, out)


def _unlike(got: Any, want: Any, where: str) -> str:
    """ "" when ``got`` has the structure and shapes of ``want``, else what differs."""
    if isinstance(want, np.ndarray) or isinstance(got, np.ndarray):
        if not (isinstance(got, np.ndarray) and isinstance(want, np.ndarray)) or got.shape != want.shape:
            return f"{where} should have shape {np.shape(want)}, got {np.shape(got) if isinstance(got, np.ndarray) else type(got).__name__}"
        return ""
    if isinstance(want, dict):
        if not isinstance(got, dict) or list(got) != list(want):
            return f"{where} should be a dict with the keys {list(want)}"
        return next((m for k in want if (m := _unlike(got[k], want[k], f"{where}[{k!r}]"))), "")
    if isinstance(want, (list, tuple)):
        if not isinstance(got, (list, tuple)) or len(got) != len(want):
            return f"{where} should hold {len(want)} items"
        return next((m for i, (g, w) in enumerate(zip(got, want)) if (m := _unlike(g, w, f"{where}[{i}]"))), "")
    if isinstance(want, (int, float)) and not isinstance(want, bool):
        return "" if isinstance(got, (int, float)) and not isinstance(got, bool) else f"{where} should be a number"
    return "" if type(got) is type(want) else f"{where} should be a {type(want).__name__}"


def _size(value: Any) -> int:
    """Rough bytes held by a decoded value (arrays, strings, containers)."""
    if isinstance(value, (list, tuple)):
        return 64 + sum(_size(v) for v in value)
    if isinstance(value, dict):
        return 64 + sum(_size(k) + _size(v) for k, v in value.items())
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes
    return len(value) if isinstance(value, (str, bytes)) else 32


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


LIBRARIES_ONE_THREAD = {  # numpy's BLAS, torch, TensorFlow: one thread each, quiet, CPU only
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",  # as the Keras module sets it before its import (a template imports earlier)
    "KERAS_BACKEND": "tensorflow",
    "CUDA_VISIBLE_DEVICES": "",
}


def worker_env(iso: Isolation, box: Path | None = None) -> dict[str, str]:
    """The environment of every worker (and of the template, which imports the libraries with it)."""
    home = worker_home(iso.kind, box or Path("/nonexistent"))
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "USER": "student",
        "LOGNAME": "student",
        "LANG": "C.UTF-8",
        **LIBRARIES_ONE_THREAD,
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": home,
    }


class Worker:
    """One untrusted worker process for one module of one submission."""

    def __init__(
        self,
        submission: Path,
        module: str,
        limits: Limits = Limits(),
        given_files: dict[str, Path] | None = None,
        use_template: bool = False,
        libraries: tuple[str, ...] = ("numpy",),
    ):
        self.submission = Path(submission)
        self.use_template = use_template
        self.libraries = tuple(libraries)  # what the module imports: a template imports it beforehand
        self.fallback = ""  # why a worker asked to be forked from a template was started fresh
        self.module = module
        self.limits = limits
        self.given_files = given_files or {}
        self.iso = isolation()
        self.proc: subprocess.Popen | None = None
        self.box: Path | None = None
        self.uid: UidLease | None = None
        self.cgroup: Cgroup | None = None
        self._callbacks: dict[int, Callback] = {}
        self._callback_bytes = 0
        self._next_memory_check = 0.0

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker and import the module; raise ImportFailed with the reason if it fails."""
        tpl = None
        if self.use_template and not template.unavailable(self.iso, self.libraries):
            try:
                tpl = template.shared(self.iso, worker_env(self.iso), self.libraries)
            except OSError as exc:
                print(f"grader: the template could not start ({exc}); starting a fresh worker instead", file=sys.stderr)
        self.box = Path(tempfile.mkdtemp(prefix="bplab-", dir=tpl.boxes if tpl else None))
        self.output = open(Path(tempfile.gettempdir()) / f"{self.box.name}.out", "wb+")
        try:
            self._prepare(tpl)
            if tpl is not None:
                self._fork_from(tpl)
            else:
                self._run_fresh()
        except template.TemplateFailed as exc:
            self.fallback = str(exc)
            template.give_up(self.libraries, self.fallback)
            print(f"grader: {exc}; starting a fresh worker instead", file=sys.stderr)
            self.close()
            self.use_template = False
            return self.start()
        except BaseException:  # nothing half made stays behind: box, output, uid, cgroup, processes
            self.close()
            raise
        try:
            reply = self._receive(self.limits.start_timeout, f"importing {self.module}.py")
        except WorkerDied as exc:
            if not (isinstance(self.proc, template.Forked) and self.proc.returncode in template.SETUP_FAILED):
                raise
            self.fallback = f"the template could not set up a worker ({exc})"  # the grader's failure, not the student's
            print(f"grader: {self.fallback}; starting a fresh worker instead", file=sys.stderr)
            self.close()
            self.use_template = False
            return self.start()
        if "error" in reply:
            err = StudentError("", reply["error"])
            where = f" at {err.where}" if err.where else ""
            self.close()
            raise ImportFailed(f"{self.module}.py could not be imported: {err.type}: {err.message}{where}")

    def _prepare(self, tpl: template.Template | None) -> None:
        """The box (the submission and, for a fresh worker, its program), a uid and a cgroup."""
        runtime, sub, home = self.box / "runtime", self.box / "submission", self.box / "home"
        runtime.mkdir()
        home.mkdir()
        shutil.copytree(self.submission, sub, symlinks=False)
        for name, src in self.given_files.items():
            shutil.copyfile(src, sub / name)
        if tpl is None:  # a forked worker already holds its program
            for name in ("worker.py", "protocol.py", "calls.py"):
                shutil.copyfile(HERE / name, runtime / name)
        if tpl is None:  # a forked worker's box is its uid's alone (below)
            os.chmod(self.box, 0o755)
        if self.iso.per_worker_uid:
            self.uid = UidLease()
            for path in (sub, home, *sub.rglob("*")):  # readable whatever the modes (the box is mounted read-only)
                os.chown(path, self.uid.uid, self.uid.uid)
            if tpl is not None:  # the template's room shows every box's name: only this uid may enter this one
                os.chown(self.box, self.uid.uid, self.uid.uid)
                os.chmod(self.box, 0o700)
        if self.iso.cgroups:
            self.cgroup = Cgroup(self.iso.cgroups, self.limits.memory_bytes, self.limits.max_processes)

    def _run_fresh(self) -> None:
        """A new interpreter under bubblewrap (or, without a sandbox, as it is)."""
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env = {**worker_env(self.iso, self.box), "BPLAB_FDS": f"{to_child_r},{from_child_w}"}
        if self.uid is not None:
            env["BPLAB_UID"] = str(self.uid.uid)
        cmd = [sys.executable, "-I", str(self.box / "runtime" / "worker.py"), self.module]
        if self.iso.sandboxed:
            cmd = bwrap_args(self.iso.bwrap, self.box) + cmd
        limits, cgroup = self.limits, self.cgroup
        processes = limits.max_processes if self.uid is not None else resource.RLIM_INFINITY

        def in_child() -> None:
            if cgroup is not None:
                cgroup.join()
            resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))
            if processes != resource.RLIM_INFINITY:  # counted per uid: this worker's own
                resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
            die_with_parent()

        self.proc = subprocess.Popen(
            cmd,
            cwd=self.box / "submission",
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.output,
            stderr=self.output,
            pass_fds=(to_child_r, from_child_w),
            start_new_session=True,
            preexec_fn=in_child,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        os.set_blocking(to_child_w, False)
        self._send_fd, self._recv_fd = to_child_w, from_child_r

    def _fork_from(self, tpl: template.Template) -> None:
        """A worker forked by the template, in a room of its own (see ``grader.sandbox.template``)."""
        assert self.uid is not None and self.cgroup is not None
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        status_r, status_w = os.pipe()
        theirs = [to_child_r, from_child_w, self.output.fileno(), status_w, *self.cgroup.procs_files()]
        limits = self.limits
        request = {
            "box": str(self.box),
            "module": self.module,
            "uid": self.uid.uid,
            "env": worker_env(self.iso, self.box),
            "limits": {
                "cpu_seconds": limits.cpu_seconds,
                "file_bytes": limits.file_bytes,
                "open_files": OPEN_FILES,
                "processes": limits.max_processes,
                "scratch_bytes": SCRATCH_BYTES,
            },
        }
        self._send_fd, self._recv_fd = to_child_w, from_child_r
        self.proc = template.Forked(status_r, self.cgroup, self.uid)
        try:
            tpl.spawn(request, theirs)
        finally:
            for fd in theirs:
                if fd != self.output.fileno():
                    os.close(fd)
        os.set_blocking(to_child_w, False)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def close(self) -> None:
        """Kill the whole process group and every process of its uid; remove the box and cgroup."""
        if isinstance(self.proc, template.Forked):
            self.proc.kill()
        elif self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self.proc is not None:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                if isinstance(self.proc, template.Forked):
                    self.proc.forget()
            for fd in (self._send_fd, self._recv_fd):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self.proc = None
        if self.uid is not None:
            self.uid.release()
            self.uid = None
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        if self.box is not None:
            self.output.close()
            os.unlink(self.output.name)
            shutil.rmtree(self.box, ignore_errors=True)
            self.box = None

    # -- calls ------------------------------------------------------------------------------
    def request(self, message: dict, timeout: float | None = None, what: str = "the call") -> dict:
        """Send one request; answer the student's callbacks; return the reply (``ok`` or ``error``)."""
        if not self.alive():
            raise WorkerDied(f"the worker is not running before {what}")
        self._callbacks, self._callback_bytes = {}, 0
        data = protocol.dumps(message, keep=lambda value: self._encode_remote(value))
        timeout = timeout * self.limits.time_scale if timeout else self.limits.call_timeout
        deadline = time.monotonic() + timeout
        self._send(data, deadline, timeout, what)
        for _ in range(MAX_CALLBACKS + 1):
            reply = self._receive(max(0.001, deadline - time.monotonic()), what, limit=timeout)
            if "callback" not in reply:
                return reply
            self._send(protocol.dumps(self._answer_callback(reply)), deadline, timeout, what)
        self.close()
        raise WorkerDied(f"{what}: more than {MAX_CALLBACKS} calls of the function it was given (killed)")

    def _answer_callback(self, frame: dict) -> dict:
        number, args = frame.get("callback"), frame.get("args")
        callback = self._callbacks.get(number) if type(number) is int else None
        if callback is None or not isinstance(args, list):
            self.close()
            raise WorkerDied("the worker sent a malformed callback (killed)")
        self._callback_bytes += _size(args)
        if self._callback_bytes > CALLBACK_BYTES:
            self.close()
            raise WorkerDied(
                f"the student's code passed more than {CALLBACK_BYTES >> 20} MiB to the function it "
                f"was given in one call (killed)"
            )
        refused = callback.refusal(args)
        if refused:
            return {
                "error": {
                    "type": "ValueError",
                    "message": f"the function given by the grader refused the call: {refused}",
                }
            }
        callback.calls.append(tuple(args))
        try:
            return {"ok": callback.fn(*args)}
        except Exception as exc:  # the student's code passed something the function cannot take
            return {"error": {"type": type(exc).__name__, "message": str(exc)[:500]}}

    def _send(self, data: bytes, deadline: float, timeout: float, what: str) -> None:
        view = memoryview(data)
        try:
            while view:  # non-blocking: a worker that stops reading cannot stall the grader
                left = deadline - time.monotonic()
                if left <= 0:
                    self.close()
                    raise WorkerDied(
                        f"{what}: timed out after {timeout:g} s (killed; it stopped reading)", timed_out=True
                    )
                _, ready, _ = select.select([], [self._send_fd], [], min(left, 0.5))
                if ready:
                    view = view[os.write(self._send_fd, view[: 1 << 16]) :]
        except BlockingIOError:
            pass
        except OSError:
            self._died(what, "stopped reading requests")

    def _encode_remote(self, value: Any) -> dict:
        if isinstance(value, Callback):
            number = len(self._callbacks) + 1
            self._callbacks[number] = value
            return {"__callback__": number}
        handle = getattr(value, "_bplab_handle", None)
        if handle is None:
            raise TypeError(f"cannot send a {type(value).__name__} to the student's code")
        if getattr(value, "_bplab_worker", self) is not self:
            raise WorkerDied("an object from a worker that has since been restarted was passed on")
        return {"__handle__": handle}

    def output_full(self) -> bool:
        """Whether the worker's output (its stdout and stderr, a file this side opened) reached the file
        size limit: the worker then got EFBIG writing it (Python ignores SIGXFSZ)."""
        try:
            return os.fstat(self.output.fileno()).st_size >= self.limits.file_bytes
        except (OSError, ValueError, AttributeError):
            return False

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
        sig = -code if code is not None and code < 0 else None
        if sig is None and code is not None and self.iso.sandboxed and 128 < code < 128 + 65:
            sig = code - 128  # bubblewrap reports its child's death by signal n as status 128 + n
        limit = ""
        if self.cgroup is not None and self.cgroup.out_of_memory():
            reason = f"exceeded the memory limit of {self.limits.memory_bytes / 1024**3:g} GiB (killed)"
            limit = "memory limit"
        elif sig is not None:
            names = {
                signal.SIGXCPU: (f"CPU time limit of {self.limits.cpu_seconds} s exceeded", "CPU time limit"),
                signal.SIGXFSZ: (
                    f"output / file size limit of {self.limits.file_bytes >> 20} MiB exceeded",
                    "output / file size limit",
                ),
                signal.SIGSEGV: ("crashed with a segmentation fault", "crashed"),
                signal.SIGKILL: ("was killed (SIGKILL)", "killed"),
            }
            try:
                reason, limit = names.get(sig, (f"was killed by signal {signal.Signals(sig).name}", "killed"))
            except ValueError:
                reason, limit = f"was killed by signal {sig}", "killed"
        elif code is not None:
            reason = f"exited with status {code} before answering"
        tail = self._output_tail()
        self.close()
        message = f"{what}: the worker {reason}"
        if tail:
            message += f"; last output: {tail[-300:]}"
        raise WorkerDied(message, signal_number=sig, limit=limit)

    def _memory_used(self) -> int:
        """The worker's own memory: with a cgroup, its anonymous and shared memory (a forked worker's
        or a fresh one's alike; library files and the template's pages are not its own), else the
        resident set of its process tree."""
        if self.cgroup is not None:
            return self.cgroup.memory_used()
        return _tree_rss(self.proc.pid)

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
                    if self._memory_used() > self.limits.memory_bytes * 0.9:  # before the cgroup struggles
                        raise MemoryError
                ready, _, _ = select.select([fd], [], [], min(check_every, deadline - now))
                if ready:
                    return os.read(fd, n)

        try:
            doc, arrays = protocol.read_frame(self._recv_fd, read, limits=protocol.UNTRUSTED)
            reply = protocol.loads(doc, arrays, resolve=lambda h: h, plain_arrays=True)
            if (
                not isinstance(reply, dict)
                or len({"ok", "error", "callback"} & set(reply)) != 1
                or ("error" in reply and not isinstance(reply["error"], dict))
            ):
                raise protocol.ProtocolError("not a reply")
            return reply
        except TimeoutError:
            self.close()
            raise WorkerDied(f"{what}: timed out after {limit or timeout:g} s (killed)", timed_out=True) from None
        except MemoryError:
            self.close()
            raise WorkerDied(
                f"{what}: memory limit of {self.limits.memory_bytes / 1024**3:g} GiB exceeded (killed)",
                limit="memory limit",
            ) from None
        except EOFError:
            return self._died(what, "closed the connection")
        except Exception as exc:  # anything else the bytes made the decoder do: a malformed answer
            self.close()
            raise WorkerDied(
                f"{what}: the worker sent a malformed answer ({type(exc).__name__}: {str(exc)[:200]})"
            ) from None

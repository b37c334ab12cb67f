"""Workers forked from a pre-imported template (trusted side): a batch pays TensorFlow's import once.

A fresh worker imports numpy, torch or TensorFlow itself (TensorFlow: several CPU seconds), once
per task per student. With ``workers="template"`` a grading process starts one template instead:
``zygote.py`` under bubblewrap, with the same allowlist file system as a fresh worker plus the
folder that holds this process's boxes (``boxes``), and only the capabilities it needs to build a
worker's room (CAP_SYS_ADMIN, CAP_SETUID, CAP_SETGID). It imports ``PRELOAD`` with the workers'
environment and then forks one worker per request. Each forked worker gets what a fresh one gets:
its own mount, pid, net, ipc and uts namespaces, its own scratch tmpfs, only its own box (the
others are covered), its own uid from ``UID_RANGE`` and its own cgroup, the same rlimits, no
capabilities, no_new_privs. No worker is ever reused; the template never runs student code.

Only where every worker has its own uid and cgroup (root, bubblewrap, cgroups): ``unavailable()``
says why not elsewhere, and the caller then starts fresh workers (as safe, only slower).
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from grader.sandbox.isolation import Cgroup, Isolation, UidLease, bwrap_args, kill_all_of

HERE = Path(__file__).resolve().parent
PROGRAM = ("zygote.py", "worker.py", "protocol.py", "calls.py")
CAPABILITIES = ("CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_NET_ADMIN")  # CAP_NET_ADMIN: a worker's lo up
READY_TIMEOUT = 300.0  # the imports, on a slow shared machine


class TemplateFailed(Exception):
    """The template could not start or fork a worker (the caller starts a fresh worker instead)."""


SETUP_FAILED = (123, 124, 125)  # a forked worker's exit status when its room could not be set up
_given_up: dict[tuple[int, tuple[str, ...]], str] = {}  # per process and libraries: why not again


def give_up(libraries: tuple[str, ...], reason: str) -> None:
    """After a template failed, this process starts fresh workers for these libraries."""
    _given_up[(os.getpid(), tuple(libraries))] = reason


def unavailable(iso: Isolation, libraries: tuple[str, ...] | None = None) -> str:
    """Why this machine (or this process, for ``libraries``) cannot fork workers from a template
    ("" when it can)."""
    if libraries is not None and (os.getpid(), tuple(libraries)) in _given_up:
        return _given_up[(os.getpid(), tuple(libraries))]
    if not iso.sandboxed:
        return "no sandbox"
    if not iso.per_worker_uid:
        return "workers cannot get their own uid here (not root)"
    if not iso.cgroups:
        return "workers cannot get their own cgroup here"
    return ""


class Forked:
    """A worker forked by the template, as ``grader.sandbox.Worker`` sees it (``Popen``'s part it
    uses): its exit status arrives on the status pipe (bubblewrap's convention, 128 + n for a
    signal); it is killed through its cgroup and its uid, the only handles it cannot escape."""

    def __init__(self, status_fd: int, cgroup: Cgroup, uid: UidLease):
        self._status, self._cgroup, self._uid = status_fd, cgroup, uid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.wait(0.0, raise_timeout=False)

    def wait(self, timeout: float | None = None, raise_timeout: bool = True) -> int | None:
        if self.returncode is None:
            ready, _, _ = select.select([self._status], [], [], timeout)
            if not ready:
                if raise_timeout:
                    raise subprocess.TimeoutExpired("worker", timeout or 0.0)
                return None
            data = os.read(self._status, 64)
            try:
                self.returncode = int(data)
            except ValueError:
                self.returncode = 128 + signal.SIGKILL  # killed before it could report
            os.close(self._status)
        return self.returncode

    def forget(self) -> None:
        """Stop waiting for a status that did not come (the worker is killed through its cgroup)."""
        if self.returncode is None:
            os.close(self._status)
            self.returncode = 128 + signal.SIGKILL

    def kill(self) -> None:
        self._cgroup.kill()
        kill_all_of(self._uid.uid)

    def memory_used(self) -> int:
        return self._cgroup.memory_used()


class Template:
    """One template (bubblewrap + ``zygote.py``) per grading process; ``spawn`` forks a worker."""

    def __init__(self, iso: Isolation, env: dict[str, str], preload: tuple[str, ...]):
        self.iso, self.preload = iso, preload
        self.boxes = Path(tempfile.mkdtemp(prefix="bplab-boxes-"))
        os.chmod(self.boxes, 0o711)  # traversable: a worker reaches only its own box, by name
        runtime = self.boxes / "runtime"
        runtime.mkdir(mode=0o755)
        for name in PROGRAM:
            shutil.copyfile(HERE / name, runtime / name)
        self._socket, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.log = open(self.boxes.parent / f"{self.boxes.name}.log", "wb+")
        cmd = bwrap_args(iso.bwrap, self.boxes, workdir=runtime)
        cmd += ["--cap-drop", "ALL"] + [arg for cap in CAPABILITIES for arg in ("--cap-add", cap)]
        cmd += [sys.executable, "-I", str(runtime / "zygote.py"), *preload]
        try:
            self.proc = subprocess.Popen(
                cmd,
                env={**env, "BPLAB_TEMPLATE_FD": str(theirs.fileno())},
                stdin=subprocess.DEVNULL,
                stdout=self.log,
                stderr=self.log,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
        except OSError:
            self._socket.close()
            self.log.close()
            os.unlink(self.log.name)
            shutil.rmtree(self.boxes, ignore_errors=True)
            raise
        finally:
            theirs.close()
        self.ready: dict | None = None
        self._lock = threading.Lock()

    def _log_tail(self) -> str:
        try:
            self.log.flush()
            self.log.seek(0, os.SEEK_END)
            self.log.seek(max(0, self.log.tell() - 400))
            return self.log.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""

    def _receive(self, timeout: float) -> dict:
        try:
            ready, _, _ = select.select([self._socket], [], [], timeout)
            reply = json.loads(self._socket.recv(1 << 16)) if ready else None
        except (OSError, ValueError):
            reply = None
        if not isinstance(reply, dict):
            tail = self._log_tail()[-300:] or "no output"
            self.close()
            raise TemplateFailed(f"the template did not answer ({tail})")
        return reply

    def spawn(self, request: dict, fds: list[int]) -> None:
        """Fork a worker for ``request`` (box, uid, env, module, limits); ``fds``: the request
        pipe, the reply pipe, the output file, the status pipe, the cgroup.procs files."""
        with self._lock:
            if self.proc is None:
                raise TemplateFailed("the template was closed")
            if self.ready is None:
                self.ready = self._receive(READY_TIMEOUT)
                if self.ready.get("threads") != 1:  # forking a process with other threads is not safe
                    self.close()
                    raise TemplateFailed(f"the template runs {self.ready.get('threads')} threads after its imports")
            try:
                socket.send_fds(self._socket, [json.dumps({**request, "boxes": str(self.boxes)}).encode()], fds)
            except OSError as exc:
                self.close()
                raise TemplateFailed(f"the template is gone ({exc})") from None
            reply = self._receive(60.0)  # longer than the template waits for a worker to join its cgroup
        if "ok" not in reply:
            raise TemplateFailed(f"the template could not fork a worker: {reply.get('error')}")

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:  # not reaped yet: its process group is still its own
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            self.proc.wait()
            self.proc = None
            self._socket.close()
            self.log.close()
            os.unlink(self.log.name)
            shutil.rmtree(self.boxes, ignore_errors=True)


_shared: dict[tuple[int, tuple[str, ...]], Template] = {}  # per process: a forked one starts its own


def shared(iso: Isolation, env: dict[str, str], preload: tuple[str, ...]) -> Template:
    """This process's template that imported ``preload``, started on first use (again if it died).
    One per set of libraries: forking copies the page tables of all that a template imported."""
    key = (os.getpid(), tuple(preload))
    template = _shared.get(key)
    if template is None or template.proc is None or template.proc.poll() is not None:
        if template is not None:
            template.close()
        if not any(k[0] == os.getpid() for k in _shared):
            atexit.register(close_shared)
        template = _shared[key] = Template(iso, env, key[1])
    return template


def close_shared() -> None:
    """Stop this process's templates (at exit, or when a caller is done grading)."""
    for key in [k for k in _shared if k[0] == os.getpid()]:
        _shared.pop(key).close()

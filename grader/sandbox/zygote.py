"""The template worker, run INSIDE the sandbox: imports the heavy libraries once, then forks workers.

Started by ``grader.sandbox.template`` as ``python -I zygote.py MODULE...`` under bubblewrap (the
same allowlist file system as a fresh worker, plus the folder holding the boxes), as root with
exactly CAP_SYS_ADMIN, CAP_SETUID and CAP_SETGID, and one control socket
(``BPLAB_TEMPLATE_FD``). It imports the modules named on its command line (numpy, torch, keras)
and what a worker's reseeding uses (random, numpy.random) with the workers' environment, so their
threads are not started yet (one thread per library), says ``{"ready": ...}`` and then, for each
request ``{"box", "uid", "env", "module", "limits"}`` with the file descriptors [request pipe, reply
pipe, output file, status pipe, cgroup.procs...], forks:

  C (this namespace, root): joins the worker's cgroup(s), unshares mount, pid, net, ipc and uts
    namespaces, mounts a fresh scratch tmpfs on /tmp and hides every box but its own; forks P1,
    waits for it and writes its exit status (bubblewrap's convention: 128 + n for signal n) to the
    status pipe.
  P1 (pid 1 of the new pid namespace, root): mounts its own /proc, forks W, exits when W does.
  W (pid 2): the worker. Its own session, stdio on the output file, the protocol on fds 3 and 4,
    nothing else open; rlimits; setgroups/setgid/setuid to the worker's uid (no capabilities
    left), no_new_privs, dies with P1; the workers' environment; then ``worker.serve``.

Nothing of the student's code ever runs in this process, in C or in P1. It imports nothing of
``grader``: only ``worker.py`` (and through it ``protocol.py`` and ``calls.py``) copied next to it.
"""

from __future__ import annotations

import ctypes
import fcntl
import gc
import importlib
import json
import os
import re
import resource
import select
import signal
import socket
import struct
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves the script's folder out
import worker  # noqa: E402

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
FIXED_FDS = 5  # 0-2 stdio, 3 requests, 4 replies
# what _fresh_randomness uses, imported here once: numpy.random alone loads ten extension modules and,
# through secrets and hashlib, OpenSSL (about 12 ms that each forked worker paid again)
FRESH_RANDOMNESS = ("random", "numpy.random")

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = [None if s is None else s.encode() for s in (source, target, fstype, data)]
    _check(_libc.mount(enc[0], enc[1], enc[2], ctypes.c_ulong(flags), enc[3]), f"mount {target}")


def _prctl(option: int, value: int) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl {option}")


def _mounts_under(folder: str, leave_out: str) -> list[str]:
    """The outermost mount points strictly inside ``folder`` (e.g. an interpreter bound under /tmp),
    except ``leave_out`` and what is inside it."""
    inside = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            point = os.fsdecode(re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m[1], 8)]), os.fsencode(line.split()[4])))
            if point.startswith(folder + "/") and not (point + "/").startswith(leave_out + "/"):
                inside.append(point)
    return sorted({p for p in inside if not any(p.startswith(q + "/") for q in inside)})


def _own_room(box: str, boxes: str, scratch_bytes: int) -> None:
    """In C's new mount namespace: a fresh scratch on /tmp (what was bound inside the old one bound
    again, read-only), and of ``boxes`` only ``box``, read-only."""
    os.umask(0o022)
    kept = {point: os.open(point, os.O_PATH | os.O_DIRECTORY) for point in _mounts_under("/tmp", boxes)}
    kept[box] = os.open(box, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        _mount(None, "/", None, MS_REC | MS_PRIVATE)
        _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={scratch_bytes},mode=1777")
        covered = os.path.isdir(boxes)  # not under /tmp: cover it (every other box) with an empty tmpfs
        if covered:
            _mount("tmpfs", boxes, "tmpfs", MS_NOSUID | MS_NODEV, "size=65536,mode=0755")
        for point, fd in kept.items():
            os.makedirs(point, mode=0o755, exist_ok=True)
            _mount(f"/proc/self/fd/{fd}", point, None, MS_BIND | MS_REC)
            _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    finally:
        for fd in kept.values():
            os.close(fd)
    if os.path.isdir("/dev/pts"):  # a pseudo-terminal instance of its own (/dev/ptmx points into it)
        _mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620")
    if covered:
        _mount(None, boxes, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _become_worker(request: dict, fds: list[int]) -> None:
    """W: the protocol on 3 and 4, output on 1 and 2, nothing else open; limits; the worker's uid."""
    to_child_r, from_child_w, output = fds[0], fds[1], fds[2]
    os.setsid()
    high = [os.dup(fd) for fd in (to_child_r, from_child_w, output)]  # out of the way of 0-4
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(high[2], 1)
    os.dup2(high[2], 2)
    os.dup2(high[0], 3)
    os.dup2(high[1], 4)
    os.closerange(FIXED_FDS, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    limits = request["limits"]
    resource.setrlimit(resource.RLIMIT_CPU, (limits["cpu_seconds"], limits["cpu_seconds"] + 5))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"], limits["file_bytes"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"], limits["open_files"]))
    resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"], limits["processes"]))
    uid = int(request["uid"])
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid or 0 in os.getgroups():
        os._exit(125)
    _no_capabilities()
    worker.own_keyring()
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    os.chdir(os.path.join(request["box"], "submission"))  # only the worker's uid may enter its box
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in request["env"].items()})
    os.environ["BPLAB_FDS"] = "3,4"
    _fresh_randomness()
    worker.serve(str(request["module"]), 3, 4)


def _no_capabilities() -> None:
    """Empty effective, permitted and inheritable sets (the uid change emptied the first two)."""
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = (ctypes.c_uint32 * 6)()
    _check(_libc.capset(header, data), "capset")


def _fresh_randomness() -> None:
    """A fresh worker seeds its generators from the OS at start; a forked one must do so itself."""
    import random

    import numpy as np

    random.seed()
    np.random.seed()
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.seed()


def _only(fn, *args) -> None:
    """Run ``fn`` in this forked process and never return to the caller's code."""
    try:
        fn(*args)
    except BaseException as exc:
        try:
            where = traceback.extract_tb(exc.__traceback__)[-1]
            os.write(
                2, f"template: {fn.__name__.strip('_')} (line {where.lineno}): {type(exc).__name__}: {exc}\n".encode()
            )
        except OSError:
            pass
    finally:
        os._exit(124)


def _init(request: dict, fds: list[int], status: int) -> None:
    """P1: pid 1 of the worker's pid namespace; its own /proc; forks W and exits with W's status."""
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for path in ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus"):  # read-only, as bubblewrap does
        if os.path.exists(path):
            _mount(path, path, None, MS_BIND | MS_REC)
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(status)
        _only(_become_worker, request, fds)
    for fd in (*fds, status):
        os.close(fd)
    while True:  # reaps orphans too, like any init
        try:
            done, wait_status = os.wait()
        except ChildProcessError:
            os._exit(124)
        if done == pid:
            code = os.waitstatus_to_exitcode(wait_status)
            os._exit(128 - code if code < 0 else code)


def _loopback_up() -> None:
    """``lo`` up in the new network namespace, as bubblewrap leaves it for a fresh worker."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        flags = struct.unpack("16sh", fcntl.ioctl(s, 0x8913, struct.pack("16sh", b"lo", 0)))[1]  # SIOCGIFFLAGS
        fcntl.ioctl(s, 0x8914, struct.pack("16sh", b"lo", flags | 1))  # SIOCSIFFLAGS, IFF_UP


def _spawn(request: dict, fds: list[int], control: socket.socket, joined: int) -> None:
    """C: runs in a child of the template; says on ``joined`` when it is in the worker's cgroup."""
    control.close()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    status = fds[3]
    for fd in fds[4:]:  # the worker's cgroup(s), opened by the trusted side: "0" moves the writer
        os.write(fd, b"0")
        os.close(fd)
    os.write(joined, b"j")  # from here on, killing the cgroup kills this worker, whatever it became
    os.close(joined)
    fds = fds[:3]
    _check(
        _libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS),
        "unshare",
    )
    _loopback_up()
    # real paths: inside the sandbox /var/tmp is a link to /tmp
    box, boxes = os.path.realpath(str(request["box"])), os.path.realpath(str(request["boxes"]))
    _own_room(box, boxes, int(request["limits"]["scratch_bytes"]))
    pid = os.fork()
    if pid == 0:
        _only(_init, request, fds, status)
    for fd in fds:
        os.close(fd)
    _, wait_status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(wait_status)
    os.write(status, str(128 - code if code < 0 else code).encode())


def main() -> None:
    control = socket.socket(fileno=int(os.environ.pop("BPLAB_TEMPLATE_FD")))
    loaded = {}
    for name in [*sys.argv[1:], *FRESH_RANDOMNESS]:
        try:
            importlib.import_module(name)
            loaded[name] = "ok"
        except Exception as exc:  # the workers import it themselves, and fail as they would
            loaded[name] = f"{type(exc).__name__}: {str(exc)[:200]}"
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # C's are reaped by the kernel
    gc.freeze()  # what was imported stays out of every collection: faster, and fewer pages copied after fork
    sys.stdout.flush()
    sys.stderr.flush()
    _libc.fflush(None)  # nothing buffered may be written again by each fork
    threads = len(os.listdir("/proc/self/task"))  # the host refuses a template that is not single-threaded
    control.send(json.dumps({"ready": loaded, "pid": os.getpid(), "threads": threads}).encode())
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 1 << 16, 16)
        except OSError:
            os._exit(0)
        if not message:
            os._exit(0)
        try:
            request = json.loads(message)
            if len(fds) < 4:
                raise ValueError(f"{len(fds)} file descriptors, expected at least 4")
            joined_r, joined_w = os.pipe()
            pid = os.fork()
            if pid == 0:
                code = 123
                os.close(joined_r)
                try:
                    _spawn(request, fds, control, joined_w)
                    code = 0
                except BaseException as exc:
                    try:
                        os.write(2, f"template: starting a worker failed: {exc}\n".encode())
                        os.write(fds[3], str(code).encode())
                    except OSError:
                        pass
                finally:
                    os._exit(code)
            os.close(joined_w)
            try:
                child = os.pidfd_open(pid)  # C exits this early only after a failure it reported
            except OSError:
                os.close(joined_r)
                raise
            try:
                ready, _, _ = select.select([joined_r], [], [], 30)
                if not ready or os.read(joined_r, 1) != b"j":
                    signal.pidfd_send_signal(child, signal.SIGKILL)  # not by pid: it is reaped unseen
                    raise OSError("the new worker did not join its cgroup")
            finally:
                os.close(joined_r)
                os.close(child)
            reply = {"ok": True}
        except Exception as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            for fd in fds:
                os.close(fd)
        control.send(json.dumps(reply).encode())


if __name__ == "__main__":
    main()

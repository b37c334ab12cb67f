"""The program that runs INSIDE the sandbox: imports the student's module and answers calls.

Started as ``python -I worker.py MODULE`` by ``grader.sandbox`` with the submission folder as
its working directory and two inherited file descriptors (``BPLAB_FDS="read,write"``) for the
protocol. It imports nothing of ``grader`` or ``solutions``: only ``protocol.py`` and ``calls.py``,
copied next to it. Everything it sends back is plain data or a handle to an object it keeps.

Requests (dicts):
  {"op": "call", "target": T, "args": [...], "kwargs": {...}}   T = {"path": "mod.fn"} | {"handle": id}
      (with "method": name, calls getattr(T, name) instead: one round trip for x.backward())
  {"op": "getattr", "target": T, "name": str}
  {"op": "setattr", "target": T, "name": str, "value": v}
  {"op": "iter", "target": T, "limit": int}                       list(itertools.islice(obj, limit))
  {"op": "eval", "source": str}                                    trusted code, e.g. "lambda x: ..."
  {"op": "export_model", "target": T}                              torch / keras layers + weights
Answers: {"ok": value, "mutated": [...]} or {"error": {"type", "message", "where"}}; while a call
runs, {"callback": id, "args": [...]} asks the trusted process to run a function it handed over.
"""

from __future__ import annotations

import errno
import importlib
import os
import resource
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves the script's folder out
import calls  # noqa: E402
import protocol  # noqa: E402

_objects: dict[int, object] = {}
_ANNOUNCED: set[type] = set()  # types whose methods the trusted side has been told
_FDS: tuple[int, int] = (-1, -1)  # (read, write) of the protocol pipes
_SUBMISSION = ""  # the working directory at start: the submission folder


def _keep(obj: object) -> dict:
    handle = len(_objects) + 1
    _objects[handle] = obj
    try:
        text = repr(obj)[:200]
    except Exception:  # a student's __repr__ may raise
        text = "<unprintable>"
    kind = type(obj)
    info = {
        "__handle__": handle,
        "type": f"{kind.__module__}.{kind.__qualname__}",
        "callable": callable(obj),
        "repr": text,
    }
    if kind not in _ANNOUNCED:  # once per type: the names of its methods
        _ANNOUNCED.add(kind)
        info["methods"] = _methods(kind)
    return info


def _methods(kind: type) -> list[str]:
    """The public methods a class defines (so that ``obj.name(...)`` is one request, not two)."""
    try:
        names = [
            n
            for n in dir(kind)
            if not n.startswith("_")
            and callable(getattr(kind, n, None))
            and not isinstance(getattr(kind, n, None), type)
        ]
    except Exception:  # a student's metaclass may refuse dir()
        names = []
    return [str(n)[:100] for n in names[:2000]]


class _TrustedFunction:
    """A callable of the grader: calling it asks the trusted process (one frame there and back)."""

    def __init__(self, number: int):
        self._number = number

    def __call__(self, *args: object) -> object:
        return _call_trusted(self._number, list(args))

    def __repr__(self) -> str:
        return "<function given by the grader>"


def _call_trusted(number: int, args: list) -> object:
    protocol.write_frame(_FDS[1], protocol.dumps({"callback": number, "args": args}, keep=_keep))
    doc, arrays = protocol.read_frame(_FDS[0])
    reply = protocol.loads(doc, arrays, resolve=_resolve)
    if "error" in reply:  # the grader's function raised: the same kind of exception here
        kind = {
            "ValueError": ValueError,
            "ArithmeticError": ArithmeticError,
            "RuntimeError": RuntimeError,
            "FloatingPointError": FloatingPointError,
        }.get(reply["error"].get("type"), TypeError)
        raise kind(reply["error"].get("message", ""))
    return reply["ok"]


def _resolve(ref: dict) -> object:
    if "__callback__" in ref:
        return _TrustedFunction(int(ref["__callback__"]))
    try:
        return _objects[ref["__handle__"]]
    except KeyError:
        raise LookupError(f"unknown handle {ref.get('__handle__')}") from None


def _target(spec: dict) -> object:
    if "handle" in spec:
        return _resolve({"__handle__": spec["handle"]})
    return calls.named(spec["path"])


def _handle(request: dict) -> dict:
    return calls.answer(request, _target)


def _where(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(_SUBMISSION + os.sep)]
    if not frames:
        return ""
    f = frames[-1]
    return f"{os.path.relpath(f.filename, _SUBMISSION)}:{f.lineno} in {f.name}" + _notebook_cell(f.filename, f.lineno)


CELL_MARKER = "# [bplab: notebook cell "  # written by the grader when a notebook becomes a module


def _notebook_cell(filename: str, lineno: int | None) -> str:
    """For a module made from a notebook: which cell and which line of it the line came from."""
    try:
        with open(filename, encoding="utf-8") as fh:
            lines = fh.read().splitlines()[: lineno or 0]
    except (OSError, UnicodeDecodeError):
        return ""
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith(CELL_MARKER):
            number, _, first = lines[i][len(CELL_MARKER) :].partition("] ")
            return f" (notebook cell {number}, line {len(lines) - 1 - i}: the cell starting {first[:60]!r})"
    return ""


def _error(exc: BaseException) -> dict:
    try:
        message = str(exc)[:4000]
    except BaseException:  # a student's __str__ may raise
        message = "<the exception's message could not be read>"
    if isinstance(exc, SyntaxError):
        message = f"{exc.msg} ({os.path.basename(exc.filename or '?')}, line {exc.lineno})"
    elif isinstance(exc, SystemExit):
        message = f"called sys.exit({exc.code!r})"
    elif isinstance(exc, OSError) and exc.errno == errno.EFBIG:
        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        message = f"output / file size limit of {limit >> 20} MiB exceeded ({exc})"
    name = type(exc).__name__
    if len(name) > 200:
        name = name[:200] + "..."
    return {"error": {"type": name, "message": message[:4000], "where": _where(exc)[:300]}}


def _send(fd: int, reply: dict) -> None:
    try:
        data = protocol.dumps(reply, keep=_keep)
    except Exception as exc:  # an unencodable result (e.g. object dtype array)
        data = protocol.dumps(
            {"error": {"type": "TypeError", "where": "", "message": f"returned a value that is not plain data: {exc}"}}
        )
    protocol.write_frame(fd, data)


KEYCTL = {"x86_64": 250, "aarch64": 219}.get(os.uname().machine)  # the keyctl system call's number


def own_keyring() -> None:
    """Join a new, empty session keyring: the grader's (a container's, a login's) stays out of reach."""
    if KEYCTL is not None:
        import ctypes

        ctypes.CDLL(None).syscall(KEYCTL, 1, None)  # KEYCTL_JOIN_SESSION_KEYRING, anonymous


def _drop_privileges() -> None:
    """As root, become the unprivileged uid before any student code runs."""
    uid = os.environ.get("BPLAB_UID")
    if uid and os.geteuid() == 0:
        os.setgroups([])
        os.setgid(int(uid))
        os.setuid(int(uid))
    own_keyring()
    try:  # die with the parent even after the uid change (which clears the setting)
        import ctypes

        ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except Exception:
        pass


def main() -> None:
    _drop_privileges()
    rfd, wfd = (int(x) for x in os.environ["BPLAB_FDS"].split(","))
    serve(sys.argv[1], rfd, wfd)


def serve(module: str, rfd: int, wfd: int) -> None:
    """Import ``module`` from the working directory, say hello, answer requests until EOF.
    Also the entry of a worker forked from the template (``zygote.py``), privileges already dropped."""
    global _FDS, _SUBMISSION
    os.makedirs(os.environ.get("HOME", "/tmp/home"), exist_ok=True)
    _FDS = (rfd, wfd)
    _SUBMISSION = os.getcwd()
    sys.path.insert(1, _SUBMISSION)
    sys.argv = [module]
    try:
        importlib.import_module(module)
        hello = {"ok": {"module": module, "pid": os.getpid()}}
    except BaseException as exc:  # SyntaxError, ImportError, SystemExit, anything at import
        hello = _error(exc)
        hello["error"]["import"] = True
    _send(wfd, hello)
    while True:
        try:
            doc, arrays = protocol.read_frame(rfd)
        except EOFError:
            os._exit(0)
        try:
            request = protocol.loads(doc, arrays, resolve=_resolve)
            reply = _handle(request)
        except BaseException as exc:
            reply = _error(exc)
        _send(wfd, reply)


if __name__ == "__main__":
    main()

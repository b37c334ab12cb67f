"""The insecure in-process grader: the real grading pipeline with the student's code imported here.

``grade_here`` is ``grader.runner.grade`` (one lane, in this process: ``grader.lane.run`` and
``grader.plugin.GradingPlugin`` with all their bookkeeping) while ``in_process_workers()`` is in
force. The seam: the plugin builds each task's worker from its module-level name ``Worker``
(``Student(lambda: Worker(submission, task, limits, given))``); inside the context manager that
name is ``InProcessWorker``, which has the public interface of ``grader.sandbox.Worker`` (the
constructor, ``start``, ``alive``, ``output_full``, ``request``, ``close``) and runs each request right here: no
sandbox, no worker process, no pipes, no limits. Requests and replies still go through the
protocol's encoding (``grader.sandbox.protocol``, a few microseconds), so the checks see exactly
the values a real worker sends; each request is answered by ``grader.sandbox.calls.answer``, the
code the sandboxed worker runs.

A ``Remote`` handle passed back as an argument is turned into its number by a request to this
same worker (``remote.bplab_bench_handle``, answered here without touching the student's
object): the number lives in a private slot of ``grader.sandbox.proxy.Remote``, which this
module does not read.

``inprocess_child`` runs it in a child process of the bench.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import shutil
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

from grader.sandbox import Callback, ImportFailed, protocol
from grader.sandbox.calls import answer, named
from grader.sandbox.proxy import Remote

HANDLE_ATTR = "bplab_bench_handle"
ERROR_KINDS = {
    "ValueError": ValueError,
    "ArithmeticError": ArithmeticError,
    "RuntimeError": RuntimeError,
    "FloatingPointError": FloatingPointError,
}


def frame(data: bytes, limits: protocol.FrameLimits = protocol.TRUSTED) -> tuple[Any, list]:
    return protocol.read_frame(io.BytesIO(data), lambda f, n: f.read(n), limits)


class TrustedFunction:
    """What the student's code holds for a ``Callback``: calling it runs the check's function."""

    def __init__(self, worker: InProcessWorker, number: int):
        self.worker, self.number = worker, number

    def __call__(self, *args: Any) -> Any:
        return self.worker.call_trusted(self.number, list(args))

    def __repr__(self) -> str:
        return "<function given by the grader>"


class InProcessWorker:
    """``grader.sandbox.Worker``'s interface, the module imported and called in this process."""

    def __init__(
        self,
        submission: Path,
        module: str,
        limits: Any = None,
        given_files: dict | None = None,
        use_template: bool = False,
        libraries: tuple = (),
    ):
        self.submission, self.module = Path(submission), module
        self.given_files = given_files or {}
        self.box: Path | None = None
        self.objects: dict[int, Any] = {}
        self.callbacks: dict[int, Callback] = {}

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """A copy of the submission (with the given files, as in a worker's box), its modules
        imported afresh from it; ImportFailed as a real worker reports it."""
        self.box = Path(tempfile.mkdtemp(prefix="bplab-bench-inproc-"))
        shutil.copytree(self.submission, self.box, dirs_exist_ok=True)
        for name, src in self.given_files.items():
            shutil.copyfile(src, self.box / name)
        for path in self.box.glob("*.py"):  # another submission's modules of the same names
            sys.modules.pop(path.stem, None)
        sys.path.insert(0, str(self.box))
        try:
            importlib.import_module(self.module)
        except (Exception, SystemExit) as exc:
            err = self.error(exc)["error"]
            where = f" at {err['where']}" if err["where"] else ""
            self.close()
            raise ImportFailed(f"{self.module}.py could not be imported: {err['type']}: {err['message']}{where}")

    def alive(self) -> bool:
        return self.box is not None

    def output_full(self) -> bool:
        return False  # no output file here: nothing limits it

    def close(self) -> None:
        if self.box is not None:
            with contextlib.suppress(ValueError):
                sys.path.remove(str(self.box))
            shutil.rmtree(self.box, ignore_errors=True)
            self.box = None
        self.objects.clear()

    # -- one request: encoded, handled here, the reply encoded and decoded as a worker's --------
    def request(self, message: dict, timeout: float | None = None, what: str = "the call") -> dict:
        target = message.get("target")
        if message.get("op") == "getattr" and message.get("name") == HANDLE_ATTR and isinstance(target, dict):
            return {"ok": target.get("handle")}  # a Remote argument asking for its own number
        self.callbacks = {}
        doc, arrays = frame(protocol.dumps(message, keep=self.encode_trusted))
        try:
            reply = self.handle(protocol.loads(doc, arrays, resolve=self.resolve))
        except (Exception, SystemExit) as exc:
            reply = self.error(exc)
        try:
            data = protocol.dumps(reply, keep=self.keep)
        except Exception as exc:
            data = protocol.dumps(
                {
                    "error": {
                        "type": "TypeError",
                        "where": "",
                        "message": f"returned a value that is not plain data: {exc}",
                    }
                }
            )
        doc, arrays = frame(data, protocol.UNTRUSTED)
        return protocol.loads(doc, arrays, resolve=lambda h: h, plain_arrays=True)

    def encode_trusted(self, value: Any) -> dict:
        if isinstance(value, Callback):
            number = len(self.callbacks) + 1
            self.callbacks[number] = value
            return {"__callback__": number}
        if isinstance(value, Remote):
            return {"__handle__": getattr(value, HANDLE_ATTR)}
        raise TypeError(f"cannot send a {type(value).__name__} to the student's code")

    def keep(self, obj: Any) -> dict:
        handle = len(self.objects) + 1
        self.objects[handle] = obj
        try:
            text = repr(obj)[:200]
        except Exception:
            text = "<unprintable>"
        kind = type(obj)
        return {
            "__handle__": handle,
            "type": f"{kind.__module__}.{kind.__qualname__}",
            "callable": callable(obj),
            "repr": text,
        }

    def resolve(self, ref: dict) -> Any:
        if "__callback__" in ref:
            return TrustedFunction(self, int(ref["__callback__"]))
        if ref.get("__handle__") not in self.objects:
            raise LookupError(f"unknown handle {ref.get('__handle__')}")
        return self.objects[ref["__handle__"]]

    def call_trusted(self, number: int, args: list) -> Any:
        """A call of the check's function by the student's code, as ``Worker`` answers one."""
        callback = self.callbacks[number]
        doc, arrays = frame(protocol.dumps(args, keep=self.keep), protocol.UNTRUSTED)
        args = protocol.loads(doc, arrays, resolve=lambda h: h, plain_arrays=True)
        refused = callback.refusal(args)
        if refused:
            answer = {
                "error": {
                    "type": "ValueError",
                    "message": f"the function given by the grader refused the call: {refused}",
                }
            }
        else:
            callback.calls.append(tuple(args))
            try:
                answer = {"ok": callback.fn(*args)}
            except Exception as exc:
                answer = {"error": {"type": type(exc).__name__, "message": str(exc)[:500]}}
        doc, arrays = frame(protocol.dumps(answer))
        reply = protocol.loads(doc, arrays, resolve=self.resolve)
        if "error" in reply:
            raise ERROR_KINDS.get(reply["error"].get("type"), TypeError)(reply["error"].get("message", ""))
        return reply["ok"]

    # -- what grader/sandbox/worker.py does with a request --------------------------------------
    def target(self, spec: dict) -> Any:
        if "handle" in spec:
            return self.resolve({"__handle__": spec["handle"]})
        return named(spec["path"])

    def handle(self, request: dict) -> dict:
        return answer(request, self.target)

    def error(self, exc: BaseException) -> dict:
        box = str(self.box or self.submission) + os.sep
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(box)]
        where = (
            f"{os.path.relpath(frames[-1].filename, box)}:{frames[-1].lineno} in {frames[-1].name}" if frames else ""
        )
        message = (
            f"{exc.msg} ({os.path.basename(exc.filename or '?')}, line {exc.lineno})"
            if isinstance(exc, SyntaxError)
            else str(exc)
        )
        return {"error": {"type": type(exc).__name__[:200], "message": message[:4000], "where": where[:300]}}


# ---------------------------------------------------------------------------------------------
# the seam and the grader built on it
# ---------------------------------------------------------------------------------------------
@contextlib.contextmanager
def in_process_workers():
    """While in force, ``grader.plugin`` builds every task's worker as an ``InProcessWorker``."""
    import grader.plugin

    saved = grader.plugin.Worker
    grader.plugin.Worker = InProcessWorker
    try:
        yield
    finally:
        grader.plugin.Worker = saved


def grade_here(submission: Path, tasks: list[str], seed: int):
    """``grader.runner.grade`` in this process (one lane), the student's code imported here."""
    from grader import runner

    options = runner.GradeOptions(tasks=tuple(tasks), seed=seed, allow_unsandboxed=True, sandbox=False)
    with in_process_workers():
        return runner.grade(Path(submission), options, lanes=1, in_process=True)

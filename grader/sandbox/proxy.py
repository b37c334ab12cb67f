"""Trusted-side proxies for the student's code: hidden checks read like ordinary code.

``student.losses.mse(a, b)`` sends a call to the task's worker and returns plain data;
objects that are not plain data come back as ``Remote`` handles whose attributes, methods and
operators are further calls (``x = student.autograd.Tensor(a, requires_grad=True);
y = x * x + 2 * x; y.backward(); x.grad``). A worker that died is restarted on the next call.

What the worker says about itself is not evidence: "inputs left unmodified" is observed inside
the worker, so it never fails a value check; it is collected in ``Student.mutations`` and scored
by one small check per task. A function that timed out once fails at once on later calls, and an
import that failed is not tried again for the same task. A worker killed by a signal while
starting (a library's abort, not an answer of the student's code) is started once more.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from typing import Any

from grader.sandbox.process import Callback, ImportFailed, Limits, StudentError, Worker, WorkerDied

CRASH_SIGNALS = {signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS, signal.SIGILL}


class StudentAttributeError(AttributeError):
    """The student's object has no such attribute (an AttributeError, so ``hasattr`` works)."""


class InputMutated(AssertionError):
    """The worker reported that the student's function changed an array argument in place."""


class Student:
    """The student's submission as seen by one task's checks (one worker at a time)."""

    def __init__(self, make_worker: Callable[[], Worker], module: str, budget: float | None = None):
        self._make_worker = make_worker
        self._module = module
        self._budget = budget  # seconds for all of this task's calls together (None: no limit)
        self._started: float | None = None
        self._worker: Worker | None = None
        self.restarts = 0
        self._died: WorkerDied | None = None  # how the worker died during the current check (see new_check)
        self.mutations: list[str] = []  # worker-reported in-place changes of inputs
        self.checks_passed = 0  # of this task so far (counted by the plugin)
        self.notes: list[str] = []  # e.g. a start-up crash that was retried
        self.retried_starts = 0  # start-up crashes retried (not the student's), counted here, never read from text
        self._timed_out: dict[str, str] = {}  # what -> message: not waited on again
        self._start_failure: BaseException | None = None
        self.methods_by_type: dict[tuple, frozenset[str]] = {}  # (worker, type) -> its methods, as announced

    def new_check(self) -> None:
        """A new check begins: a worker that died during the last one is started again when called."""
        self._died = None

    # -- worker management ------------------------------------------------------------------
    def _live(self) -> Worker:
        if self._worker is None or not self._worker.alive():
            if self._worker is not None:
                self._worker.close()
                self.restarts += 1
            if self._start_failure is not None:  # a hanging or failing import is tried once per task
                raise self._start_failure
            self._worker = self._start(retry=True)
        return self._worker

    def _start(self, retry: bool) -> Worker:
        worker = self._make_worker()
        if not retry and getattr(worker, "use_template", False):
            worker.use_template = False  # the retry is a new interpreter, not another fork of the same template
        try:
            worker.start()  # may raise ImportFailed
            if getattr(worker, "fallback", ""):
                self.notes.append(f"this task's worker was started fresh, not from the template ({worker.fallback})")
            return worker
        except WorkerDied as exc:
            worker.close()
            if retry and exc.signal_number in CRASH_SIGNALS:
                self.notes.append(
                    f"the worker crashed while starting ({exc}); it was started once more "
                    f"(a new interpreter) and this did not cost you anything"
                )
                self.retried_starts += 1
                return self._start(retry=False)
            self._start_failure = exc
            raise
        except BaseException as exc:
            worker.close()
            if isinstance(exc, ImportFailed):
                self._start_failure = exc
            raise

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    def request(
        self,
        message: dict,
        what: str,
        timeout: float | None = None,
        allow_mutation: bool = False,
        mutation_hint: str | None = None,
    ) -> Any:
        if self._died is not None:  # do not restart (and re-time-out) for every hypothesis example
            raise WorkerDied(str(self._died), limit=self._died.limit)
        if what in self._timed_out:
            raise WorkerDied(self._timed_out[what] + " (not called again after timing out)", timed_out=True)
        if self._started is None:
            self._started = time.monotonic()
        budget = self._budget
        if budget and time.monotonic() - self._started > budget:
            self._died = WorkerDied(
                f"{what}: the task's time budget of {budget:g} s is used up (its remaining checks score 0)",
                limit="time budget",
            )
            raise WorkerDied(str(self._died), limit=self._died.limit)
        try:
            reply = self._live().request(message, timeout=timeout, what=what)
        except WorkerDied as exc:
            self._died = WorkerDied(str(exc), limit=exc.limit)  # not exc: its traceback holds the check's locals
            if exc.timed_out:
                self._timed_out[what] = str(exc)
            raise
        if "error" in reply:
            error = StudentError(what, reply["error"])
            if self._worker is not None and self._worker.output_full():  # its output filled up, seen here
                error.limit = "output / file size limit"
            raise error
        mutated = reply.get("mutated") or []
        if mutated and not allow_mutation and isinstance(mutated, list):
            hint = mutation_hint or "copy arrays before changing them (e.g. x = x.copy())"
            names = ", ".join(str(m)[:80] for m in mutated[:5])
            self.mutations.append(f"{what} modified its input {names} in place: {hint}")
        return self._wrap(reply.get("ok"))

    def _wrap(self, value: Any) -> Any:
        if isinstance(value, dict) and "__handle__" in value:
            if value.get("type") == "builtins.NotImplementedType":
                return NotImplemented
            return Remote(self, value, self._worker)
        if isinstance(value, list):
            return [self._wrap(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self._wrap(v) for v in value)
        if isinstance(value, dict):
            return {k: self._wrap(v) for k, v in value.items()}
        return value

    # -- what checks use --------------------------------------------------------------------
    def __getattr__(self, name: str) -> RemotePath:
        if name.startswith("_"):
            raise AttributeError(name)
        return RemotePath(self, name)

    def cached(self, name: str, make: Callable[[], Any]) -> Any:
        """``make()`` once per worker (handles die with their worker), e.g. a trusted helper."""
        worker = self._live()
        if getattr(self, "_cache_owner", None) is not worker:
            self._cache_owner, self._cache = worker, {}
        if name not in self._cache:
            self._cache[name] = make()
        return self._cache[name]

    def callback(self, fn: Callable[..., Any], like: tuple | None = None) -> Callback:
        """A trusted function to hand to the student's code: its calls run here, and ``.calls``
        records every argument tuple the student's code passed (observed, not reported). ``like``:
        example arguments; calls whose arguments differ in structure or shape are refused unrun."""
        return Callback(fn, like)

    def assert_inputs_unmodified(self) -> None:
        """Fail if the worker reported an in-place change of an input in any call so far, or if no
        check of the task passed (then no working function kept its inputs: nothing to credit)."""
        if not self.checks_passed:
            raise InputMutated(
                "no other check of this task passed, so no working function's inputs can be credited as left unmodified"
            )
        if self.mutations:
            more = f" (and {len(self.mutations) - 1} more)" if len(self.mutations) > 1 else ""
            raise InputMutated(self.mutations[0] + more)

    def source(self, code: str) -> Remote:
        """Evaluate trusted code (e.g. ``"lambda x: (x**3).sum()"``) in the worker; a handle back."""
        return self.request({"op": "eval", "source": code}, what="setting up the check")

    def export_model(self, model: Remote, timeout: float | None = None) -> dict:
        """Layers and float64 weights of a torch or Keras Sequential model living in the worker."""
        return self.request(
            {"op": "export_model", "target": _target(model)}, timeout=timeout, what="reading the model's weights"
        )


def _target(obj: Any) -> dict:
    if isinstance(obj, Remote):
        return obj._bplab_ref()
    if isinstance(obj, RemotePath):
        return {"path": obj._path}
    raise TypeError(f"not a remote object: {obj!r}")


class RemotePath:
    """A dotted name in the student's module, e.g. ``losses.mse``; resolved when used."""

    def __init__(
        self,
        student: Student,
        path: str,
        timeout: float | None = None,
        allow_mutation: bool = False,
        mutation_hint: str | None = None,
    ):
        self._student, self._path = student, path
        self._timeout, self._allow_mutation, self._mutation_hint = timeout, allow_mutation, mutation_hint

    def __getattr__(self, name: str) -> RemotePath:
        if name.startswith("_"):
            raise AttributeError(name)
        return RemotePath(
            self._student, f"{self._path}.{name}", self._timeout, self._allow_mutation, self._mutation_hint
        )

    def options(
        self, timeout: float | None = None, allow_mutation: bool = False, mutation_hint: str | None = None
    ) -> RemotePath:
        """The same name, called with a different time limit, allowing in-place changes, or with
        the advice to give when it changes an input (the default says: copy before changing)."""
        return RemotePath(self._student, self._path, timeout, allow_mutation, mutation_hint)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._student.request(
            {"op": "call", "target": {"path": self._path}, "args": list(args), "kwargs": kwargs},
            what=f"{self._path}()",
            timeout=self._timeout,
            allow_mutation=self._allow_mutation,
            mutation_hint=self._mutation_hint,
        )

    def get(self) -> Any:
        """The value of a module-level name (a constant, a class...)."""
        module, _, attr = self._path.rpartition(".")
        return self._student.request(
            {"op": "getattr", "target": {"path": module}, "name": attr}, what=f"reading {self._path}"
        )

    def __repr__(self) -> str:
        return f"<student {self._path}>"


_BINARY = [
    "add",
    "radd",
    "sub",
    "rsub",
    "mul",
    "rmul",
    "truediv",
    "rtruediv",
    "pow",
    "rpow",
    "matmul",
    "rmatmul",
    "neg",
    "getitem",
    "len",
    "lt",
    "le",
    "gt",
    "ge",
]


class Remote:
    """A handle to an object that lives in the worker (a Tensor, a model, an iterator...)."""

    __slots__ = (
        "_bplab_student",
        "_bplab_handle",
        "_bplab_type",
        "_bplab_repr",
        "_bplab_callable",
        "_bplab_worker",
        "_bplab_methods",
    )
    __array_ufunc__ = None  # ndarray + remote defers to Remote.__radd__ instead of probing the worker

    def __init__(self, student: Student, info: dict, worker: Worker | None = None):
        object.__setattr__(self, "_bplab_worker", worker)  # handles are only valid in their worker
        object.__setattr__(self, "_bplab_student", student)
        object.__setattr__(self, "_bplab_handle", info["__handle__"])
        object.__setattr__(self, "_bplab_type", info.get("type", "?"))
        object.__setattr__(self, "_bplab_repr", info.get("repr", ""))
        object.__setattr__(self, "_bplab_callable", info.get("callable", False))
        # The worker names a type's methods once; they decide only how obj.name(...) travels (one
        # request, or a read then a call). Like everything the worker says, this proves nothing.
        known = student.methods_by_type
        methods = info.get("methods")
        if isinstance(methods, list) and worker is not None:
            known[(worker, self._bplab_type)] = frozenset(m for m in methods[:2000] if isinstance(m, str))
        object.__setattr__(self, "_bplab_methods", known.get((worker, self._bplab_type), frozenset()))

    def _bplab_ref(self) -> dict:
        """The target of a request on this handle; refused when its worker is gone."""
        worker = self._bplab_worker
        if worker is not None and (worker is not self._bplab_student._worker or not worker.alive()):
            raise WorkerDied(f"this {self.type_name} lived in a worker that has since died or been restarted")
        return {"handle": self._bplab_handle}

    @property
    def type_name(self) -> str:
        return self._bplab_type.rsplit(".", 1)[-1]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_bplab") or (name.startswith("__") and name.endswith("__")):
            raise AttributeError(name)  # Python's and numpy's protocol probes stay on this side
        if name in self._bplab_methods:
            return RemoteMethod(self, name)  # called at once: one request for obj.name(...)
        try:
            return self._bplab_student.request(
                {"op": "getattr", "target": self._bplab_ref(), "name": name}, what=f"reading {self.type_name}.{name}"
            )
        except StudentError as exc:
            if exc.type == "AttributeError":
                raise StudentAttributeError(str(exc)) from None  # so hasattr() works
            raise

    def __setattr__(self, name: str, value: Any) -> None:
        self._bplab_student.request(
            {"op": "setattr", "target": self._bplab_ref(), "name": name, "value": value},
            what=f"setting {self.type_name}.{name}",
        )

    def call_method(
        self, name: str, *args: Any, _timeout: float | None = None, _allow_mutation: bool = False, **kwargs: Any
    ) -> Any:
        """``obj.name(*args, **kwargs)`` in one round trip (what ``obj.name(...)`` does for a method
        of the object's class; this form also reaches dunder methods and takes a time limit)."""
        return self._bplab_student.request(
            {"op": "call", "target": self._bplab_ref(), "method": name, "args": list(args), "kwargs": kwargs},
            what=f"{self.type_name}.{name}()",
            timeout=_timeout,
            allow_mutation=_allow_mutation,
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._bplab_student.request(
            {"op": "call", "target": self._bplab_ref(), "args": list(args), "kwargs": kwargs},
            what=f"calling {self.type_name}",
            allow_mutation=True,
        )

    def __iter__(self):
        items = self._bplab_student.request(
            {"op": "iter", "target": self._bplab_ref(), "limit": 1_000_000}, what=f"iterating over {self.type_name}"
        )
        return iter(items)

    def __len__(self) -> int:
        try:
            return self.call_method("__len__")
        except StudentError as exc:  # no __len__: behave like Python (list() then just iterates)
            if exc.type in ("AttributeError", "TypeError"):
                raise TypeError(f"{self.type_name} has no len()") from None
            raise

    def __repr__(self) -> str:
        return f"<student {self._bplab_type}: {self._bplab_repr[:80]}>"


class RemoteMethod:
    """``obj.name`` for a method of a remote object's class: calling it is one request."""

    __slots__ = ("_owner", "_name", "_timeout", "_allow_mutation")

    def __init__(self, owner: Remote, name: str, timeout: float | None = None, allow_mutation: bool = False):
        self._owner, self._name, self._timeout, self._allow_mutation = owner, name, timeout, allow_mutation

    def options(self, timeout: float | None = None, allow_mutation: bool = False) -> RemoteMethod:
        """The same method, called with a different time limit or allowing in-place changes."""
        return RemoteMethod(self._owner, self._name, timeout, allow_mutation)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._owner.call_method(
            self._name, *args, _timeout=self._timeout, _allow_mutation=self._allow_mutation, **kwargs
        )

    def __repr__(self) -> str:
        return f"<student method {self._owner.type_name}.{self._name}>"

    def __bool__(self) -> bool:
        raise TypeError(
            f"{self._owner.type_name}.{self._name} is a method of the student's object: call it "
            f"(its truth value says nothing)"
        )


def _make_dunder(name: str):
    dunder = f"__{name}__"

    def method(self: Remote, *args: Any) -> Any:
        return self.call_method(dunder, *args)

    method.__name__ = dunder
    return method


for _name in _BINARY:
    if _name != "len":
        setattr(Remote, f"__{_name}__", _make_dunder(_name))

__all__ = [
    "Student",
    "Remote",
    "RemoteMethod",
    "RemotePath",
    "InputMutated",
    "StudentError",
    "WorkerDied",
    "ImportFailed",
    "Limits",
    "Callback",
]

"""Expected values of the PUBLIC checks, recorded from the reference so that students can run the
public checks at home without ``solutions/`` (which never leaves the instructor's side).

A public check gets the reference through ``reference("losses")``::

    ref = reference("losses")
    want = ref.mse(a, b)                                   # a recorded call
    bad = ref.value("mse-sum", lambda r: r.mse(a, b) * 9)  # any computation, recorded under a name

Modes (``GradeOptions.expected``, set for a grading session by ``configure``): ``auto`` (default)
computes with ``solutions`` when it is importable, else replays
``grader/checks/public/expected/<task>.json``; ``replay`` always replays (``grade
--expected-values replay``: how tests prove the recording complete); ``record`` computes and records
(``course stubs`` writes the files; ``GradeOptions.expected_dir`` redirects them). Inputs are keyed by value (arrays rounded to 9 decimals,
so the last bits of an input computed on another machine do not matter).
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_DIR = Path(__file__).resolve().parent / "checks" / "public" / "expected"
_recorded: dict[str, dict[str, Any]] = {}
_loaded: dict[str, dict[str, Any]] = {}


class ExpectedMissing(RuntimeError):
    """A public check asked for a value that was not recorded (run `course stubs`)."""


MODES = ("auto", "replay", "record")
_settings: dict[str, Any] = {"mode": "auto", "dir": DEFAULT_DIR}


def configure(mode: str = "auto", directory: str | Path | None = None) -> None:
    """The mode and folder of this grading session (the plugin calls it before the checks load)."""
    if mode not in MODES:
        raise ValueError(f"expected-values mode {mode!r} is not one of {', '.join(MODES)}")
    _settings.update(mode=mode, dir=Path(directory) if directory else DEFAULT_DIR)
    _recorded.clear()
    _loaded.clear()


def _mode() -> str:
    return _settings["mode"]


def _dir() -> Path:
    return _settings["dir"]


def _canonical(value: Any, out: hashlib._Hash) -> None:
    if isinstance(value, (np.ndarray, np.generic)) and not isinstance(value, (bool, np.bool_)):
        arr = np.asarray(value)
        if arr.dtype.kind == "f":
            arr = np.round(arr.astype(np.float64), 9) + 0.0
        out.update(f"nd{arr.dtype.kind}{arr.shape}".encode())
        out.update(np.ascontiguousarray(arr).tobytes())
    elif isinstance(value, float):
        out.update(b"f" + repr(round(value, 9) + 0.0).encode())
    elif isinstance(value, (bool, int, str, type(None))):
        out.update(f"{type(value).__name__}:{value!r}".encode())
    elif isinstance(value, (list, tuple)):
        out.update(f"{type(value).__name__}[{len(value)}".encode())
        for item in value:
            _canonical(item, out)
    elif isinstance(value, dict):
        out.update(f"dict[{len(value)}".encode())
        for key in sorted(value):
            out.update(str(key).encode())
            _canonical(value[key], out)
    else:
        raise TypeError(f"cannot key a recorded reference call on a {type(value).__name__}; use ref.value(name, fn)")


def _key(function: str, args: tuple, kwargs: dict) -> str:
    digest = hashlib.sha256()
    _canonical([list(args), kwargs], digest)
    return f"{function}|{digest.hexdigest()[:16]}"


def _encode(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {"__nd__": value.tolist(), "dtype": value.dtype.str, "shape": list(value.shape)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[str(k), _encode(v)] for k, v in value.items()]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"a recorded reference value must be plain data, not {type(value).__name__}")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "__nd__" in value:
            return np.array(value["__nd__"], dtype=np.dtype(value["dtype"])).reshape(value["shape"])
        if "__tuple__" in value:
            return tuple(_decode(v) for v in value["__tuple__"])
        if "__dict__" in value:
            return {k: _decode(v) for k, v in value["__dict__"]}
    return value


def _replay(task: str, key: str) -> Any:
    if task not in _loaded:
        path = _dir() / f"{task}.json"
        _loaded[task] = json.loads(path.read_text()) if path.exists() else {}
    if key not in _loaded[task]:
        raise ExpectedMissing(
            f"expected value {key!r} of task {task} was not recorded: the instructor must run `course stubs`"
        )
    return _decode(_loaded[task][key])


class RecordedReference:
    """The reference module of one task, as public checks see it."""

    def __init__(self, task: str):
        self._task = task
        self._module = None
        if _mode() != "replay":
            try:
                self._module = importlib.import_module(f"solutions.{task}")
            except ImportError:
                if _mode() == "record":
                    raise
        self._mode = "replay" if self._module is None else _mode()

    def _get(self, key: str, compute: Callable[[Any], Any]) -> Any:
        if self._mode == "replay":
            return _replay(self._task, key)
        result = compute(self._module)
        if self._mode == "record":
            _recorded.setdefault(self._task, {})[key] = _encode(result)
            return _decode(_encode(result))  # what a replay would give
        return result

    def value(self, name: str, compute: Callable[[Any], Any]) -> Any:
        """``compute(reference_module)``, recorded under ``name`` (unique within the task)."""
        return self._get(f"value:{name}", compute)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._get(_key(name, args, kwargs), lambda m: getattr(m, name)(*args, **kwargs))

        return call


def reference(task: str) -> RecordedReference:
    return RecordedReference(task)


def write_recordings() -> list[Path]:
    """Write what this process recorded (called by the plugin at the end of a ``record`` session)."""
    written = []
    for task, values in sorted(_recorded.items()):
        path = _dir() / f"{task}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(dict(sorted(values.items())), indent=0, sort_keys=True) + "\n")
        written.append(path)
    return written

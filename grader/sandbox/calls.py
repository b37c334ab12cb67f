"""What the worker does around a call, kept apart so that the in-process worker of ``course bench``
runs the very same code: the arrays an argument holds (to see in-place changes), the parameter
names of positional arguments, the export of a torch or Keras model, a dotted name of the
student's module.

Copied with ``worker.py`` and ``protocol.py`` into the sandbox: it imports nothing of the project.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import sys
from collections.abc import Callable

import numpy as np


def named(path: str) -> object:
    """``module.attr.attr`` of the student's module (imported once); a missing name says which."""
    module_name, _, attr_path = path.partition(".")
    obj = sys.modules[module_name] if module_name in sys.modules else importlib.import_module(module_name)
    for name in filter(None, attr_path.split(".")):
        if not hasattr(obj, name):
            raise AttributeError(
                f"{module_name}.py has no attribute {attr_path!r} (expected by the assignment: keep the names of the stub)"
            )
        obj = getattr(obj, name)
    return obj


def arrays_in(value: object, path: str, out: list) -> None:
    """Every array ``value`` holds, with its path, bytes and shape: what ``mutated`` compares after the call."""
    if isinstance(value, np.ndarray):
        out.append((path, value, value.tobytes(), value.shape))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            arrays_in(item, f"{path}[{i}]", out)
    elif isinstance(value, dict):
        for key, item in value.items():
            arrays_in(item, f"{path}[{key!r}]", out)


def positional_names(fn: object, count: int) -> list[str]:
    """Parameter names for positional arguments, so feedback says 'x', not 'args[1]'."""
    try:
        params = [
            p.name
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"args[{i}]" for i in range(count)]


def mutated(snapshot: list) -> list[str]:
    """The paths of the arrays of an ``arrays_in`` snapshot that a call changed in place."""
    return [path for path, arr, data, shape in snapshot if arr.shape != shape or arr.tobytes() != data]


def export_model(model: object) -> dict:
    """Describe a torch nn.Sequential or a Keras Sequential as layers + float64 weights."""
    layers = []
    if hasattr(model, "named_children") and hasattr(model, "state_dict"):  # torch
        for name, child in model.named_children():
            params = {k: v.detach().cpu().double().numpy() for k, v in child.named_parameters()}
            layers.append({"name": name, "class": type(child).__name__, "params": params})
        return {"framework": "torch", "layers": layers}
    if hasattr(model, "layers") and hasattr(model, "get_weights"):  # keras
        for layer in model.layers:
            config = layer.get_config() if hasattr(layer, "get_config") else {}
            act = config.get("activation")
            params = {
                w.path.rsplit("/", 1)[-1] if hasattr(w, "path") else str(i): np.asarray(w.numpy(), dtype=np.float64)
                for i, w in enumerate(layer.weights)
            }
            layers.append(
                {
                    "name": layer.name,
                    "class": type(layer).__name__,
                    "activation": act if isinstance(act, str) else str(act),
                    "params": params,
                }
            )
        return {"framework": "keras", "layers": layers}
    raise TypeError(f"cannot export a {type(model).__name__}: expected a torch or Keras Sequential model")


def answer(request: dict, target_of: Callable[[dict], object]) -> dict:
    """The reply to one request (see ``worker.py``), ``target_of`` resolving its target: the same
    code in the sandboxed worker and in the bench's in-process worker."""
    op = request["op"]
    if op == "eval":
        return {"ok": eval(request["source"], {"np": np})}  # trusted source from the grader
    target = target_of(request["target"])
    if op == "call" and request.get("method"):
        target = getattr(target, request["method"])
    if op == "call":
        args = request.get("args", [])
        kwargs = request.get("kwargs", {})
        snapshot: list = []
        for name, value in zip(positional_names(target, len(args)), args):
            arrays_in(value, name, snapshot)
        for key, value in kwargs.items():
            arrays_in(value, key, snapshot)
        if not callable(target):
            raise TypeError(f"{request['target'].get('path', type(target).__name__)} is not callable")
        result = target(*args, **kwargs)
        return {"ok": result, "mutated": mutated(snapshot)}
    if op == "getattr":
        return {"ok": getattr(target, request["name"])}
    if op == "setattr":
        setattr(target, request["name"], request["value"])
        return {"ok": None}
    if op == "iter":
        return {"ok": list(itertools.islice(iter(target), int(request.get("limit", 100000))))}
    if op == "export_model":
        return {"ok": export_model(target)}
    raise ValueError(f"unknown op {op!r}")

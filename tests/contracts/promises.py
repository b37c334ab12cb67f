"""The promises a task's docstrings and signatures make, read from the reference solutions.

A promise is a short key per public function (or class) of ``solutions/<task>.py``:

- ``call``: the function exists and returns what it documents (every function has it);
- ``option:<param>``: a parameter with a default changes what the function does as documented;
- ``input:<param>:array_like``: a parameter annotated ``ArrayLike`` accepts lists and any real dtype;
- ``input:dtype``: the docstring speaks about dtypes (float32, "any real", int labels...);
- ``effect:no_mutation``: the docstring says inputs are not modified / not mutated;
- ``effect:shuffle``: the docstring says how (and whether) the order is shuffled;
- ``effect:copy``: the docstring says what is copied (and what is not);
- ``raises:<Error>``: the docstring names an exception for bad input.

``tests/contracts/<task>.py`` maps each promise to the checks that exercise it; the test
``tests/test_contracts.py`` fails when a promise made here has no entry there.
"""

from __future__ import annotations

import importlib
import inspect
import re
from types import ModuleType

NO_MUTATION = re.compile(
    r"not (be )?(modified|mutated|changed)|unchanged|does not (modify|mutate)|"
    r"\bmutat|in[- ]place",
    re.I,
)
SHUFFLE = re.compile(r"shuffl", re.I)
COPY = re.compile(r"\bcop(y|ies)\b", re.I)
DTYPE = re.compile(r"float32|any (real|float)|\bdtype\b|integer labels|int labels", re.I)
RAISES = re.compile(r"\braises?:?\s*(?:\n\s*)?([A-Z]\w*(?:Error|Exception))", re.I)


def public_members(module: ModuleType) -> dict[str, object]:
    """Functions and classes defined in ``module`` whose names do not start with ``_``."""
    return {
        name: obj
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and getattr(obj, "__module__", None) == module.__name__
    }


def _methods(cls: type) -> dict[str, object]:
    return {
        name: fn
        for name, fn in vars(cls).items()
        if inspect.isfunction(fn) and (not name.startswith("_") or name in ("__init__", "__call__"))
    }


def promises_of(obj: object) -> list[str]:
    """The promise keys of one function or class (a class: its constructor and public methods'
    options and its docstrings' effects)."""
    doc = inspect.getdoc(obj) or ""
    functions = [obj] if inspect.isfunction(obj) else list(_methods(obj).values())
    if inspect.isclass(obj):
        doc += "\n" + "\n".join(inspect.getdoc(fn) or "" for fn in functions)
    keys = ["call"]
    for fn in functions:
        try:
            signature = inspect.signature(fn)
        except (TypeError, ValueError):
            continue
        for param in signature.parameters.values():
            if param.name in ("self", "cls"):
                continue
            owner = "" if fn is obj or fn.__name__ == "__init__" else f"{fn.__name__}."
            if param.default is not inspect.Parameter.empty:
                keys.append(f"option:{owner}{param.name}")
            if "ArrayLike" in str(param.annotation):
                keys.append(f"input:{owner}{param.name}:array_like")
    if DTYPE.search(doc):
        keys.append("input:dtype")
    if NO_MUTATION.search(doc):
        keys.append("effect:no_mutation")
    if SHUFFLE.search(doc):
        keys.append("effect:shuffle")
    if COPY.search(doc):
        keys.append("effect:copy")
    keys += [f"raises:{name}" for name in sorted(set(RAISES.findall(doc)))]
    return list(dict.fromkeys(keys))


def task_promises(task: str) -> dict[str, list[str]]:
    """``{function: [promise, ...]}`` for every public member of ``solutions.<task>``."""
    module = importlib.import_module(f"solutions.{task}")
    return {name: promises_of(obj) for name, obj in public_members(module).items()}

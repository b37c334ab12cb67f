"""What ``grader/sandbox/worker.py`` does around a call, mirrored for the in-process worker
(``inprocess``): the arrays an argument holds (to see in-place changes), the parameter names of
positional arguments, the export of a torch or Keras model. The worker is a standalone program
with no public functions to import, so these few lines are repeated here."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np


def arrays_in(value: Any, path: str, out: list) -> None:
    if isinstance(value, np.ndarray):
        out.append((path, value, value.tobytes(), value.shape))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            arrays_in(item, f"{path}[{i}]", out)
    elif isinstance(value, dict):
        for key, item in value.items():
            arrays_in(item, f"{path}[{key!r}]", out)


def positional_names(fn: Any, count: int) -> list[str]:
    try:
        params = [
            p.name
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"args[{i}]" for i in range(count)]


def export_model(model: Any) -> dict:
    """Layers and float64 weights of a torch or Keras Sequential model (as the worker exports them)."""
    layers = []
    if hasattr(model, "named_children") and hasattr(model, "state_dict"):  # torch
        for name, child in model.named_children():
            params = {k: v.detach().cpu().double().numpy() for k, v in child.named_parameters()}
            layers.append({"name": name, "class": type(child).__name__, "params": params})
        return {"framework": "torch", "layers": layers}
    if hasattr(model, "layers") and hasattr(model, "get_weights"):  # keras
        for layer in model.layers:
            act = (layer.get_config() if hasattr(layer, "get_config") else {}).get("activation")
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

"""Torch and Keras models judged by behaviour, not by what the worker says about them (trusted side).

``student.export_model`` asks the worker for a model's layers and weights: the worker could
describe anything. ``verified_export`` accepts the description only when the model itself, run
in the worker on inputs drawn here, gives the outputs that the described layers give when
computed here in numpy. A duck-typed stand-in must then compute exactly what the layers it
claims compute, which is being the model.
"""

from __future__ import annotations

import numpy as np

from grader.gradients import CheckFailure, assert_close

TORCH_FORWARD = (
    "lambda m, X: (lambda torch: m(torch.as_tensor(X, dtype=next(m.parameters()).dtype))"
    ".detach().cpu().double().numpy())(__import__('torch'))"
)
KERAS_FORWARD = "lambda m, X: np.asarray(m(X), dtype=np.float64)"


def _softmax(Z: np.ndarray) -> np.ndarray:
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


_ACTIVATIONS = {
    "relu": lambda A: np.maximum(A, 0.0),
    "sigmoid": lambda A: 1.0 / (1.0 + np.exp(-A)),
    "tanh": np.tanh,
    "softmax": _softmax,
    "logsoftmax": lambda A: np.log(_softmax(A)),
    "linear": lambda A: A,
    "identity": lambda A: A,
    "none": lambda A: A,
}


def exported_forward(exported: dict, X: np.ndarray) -> np.ndarray:
    """The exported model applied in numpy, layer by layer: (N, D) -> (N, C), float64.

    Torch: ``Linear`` (weight (out, in)) and activation modules; Keras: ``Dense`` (kernel (in, out))
    with its activation."""
    A = np.asarray(X, dtype=np.float64)
    for number, layer in enumerate(exported["layers"]):
        params, kind = layer["params"], layer["class"]
        _check_shapes(params, kind, A.shape[1], number)  # before any arithmetic on the worker's arrays
        if kind == "Linear" and "weight" in params:
            A = A @ params["weight"].T + params.get("bias", 0.0)
        elif kind == "Dense" and "kernel" in params:
            act = str(layer.get("activation")).lower()
            if act not in _ACTIVATIONS:
                raise CheckFailure(f"the model has a Dense layer with activation {act}: expected relu or softmax")
            A = _ACTIVATIONS[act](A @ params["kernel"] + params.get("bias", 0.0))
        elif kind.lower() in _ACTIVATIONS and not params:
            A = _ACTIVATIONS[kind.lower()](A)
        else:
            raise CheckFailure(f"the model has a {kind} layer: expected only Linear/Dense layers and activations")
    return A


def _check_shapes(params: dict, kind: str, width: int, number: int) -> None:
    """A layer's weights must be exactly what its kind computes with from ``width`` inputs: a
    student-shaped array (say a bias of shape (M, 1, 1)) would make numpy here broadcast to anything."""
    matrix = params.get("weight" if kind == "Linear" else "kernel")
    if matrix is None:
        if params:
            raise CheckFailure(f"layer {number} ({kind}) has parameters {sorted(params)} but no weight matrix")
        return
    if not isinstance(matrix, np.ndarray) or matrix.ndim != 2:
        raise CheckFailure(f"layer {number} ({kind}): its weight is not a matrix")
    inputs, outputs = (matrix.shape[1], matrix.shape[0]) if kind == "Linear" else matrix.shape
    if inputs != width:
        raise CheckFailure(f"layer {number} ({kind}) takes {inputs} inputs, but the layer before gives {width}")
    bias = params.get("bias")
    if bias is not None and (not isinstance(bias, np.ndarray) or bias.shape != (outputs,)):
        raise CheckFailure(f"layer {number} ({kind}): its bias has shape {np.shape(bias)}, expected ({outputs},)")
    if set(params) - {"weight", "kernel", "bias"}:
        raise CheckFailure(
            f"layer {number} ({kind}) has unexpected parameters {sorted(set(params) - {'weight', 'kernel', 'bias'})}"
        )


def verified_export(student, model, what: str = "the model", rows: int = 4) -> dict:
    """``student.export_model(model)``, checked against the model's own outputs on trusted inputs."""
    exported = student.export_model(model)
    layers = exported.get("layers") if isinstance(exported, dict) else None
    if not layers or not isinstance(layers, list):
        raise CheckFailure(f"{what}: the model has no layers")
    first = layers[0].get("params", {})
    weight = first.get("weight") if exported.get("framework") == "torch" else first.get("kernel")
    if not isinstance(weight, np.ndarray) or weight.ndim != 2:
        raise CheckFailure(f"{what}: its first layer has no weight matrix (layers: {[l.get('class') for l in layers]})")
    inputs = weight.shape[1] if exported.get("framework") == "torch" else weight.shape[0]
    X = np.random.default_rng(inputs).normal(size=(rows, inputs))
    forward = TORCH_FORWARD if exported.get("framework") == "torch" else KERAS_FORWARD
    got = student.source(forward)(model, X)
    assert_close(
        got,
        exported_forward(exported, X),
        f"{what}(X) on {rows} random inputs, against its own layers and weights computed in numpy",
        rtol=1e-4,
        atol=1e-5,
    )
    return exported

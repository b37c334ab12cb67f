"""Public checks of Task 7 (torch_training.py): the lecture's autograd example, the layers, one step.

Your code runs in the grading worker; these checks build tensors, optimizers, the loss (and for
train_step a Linear-ReLU-Linear model of their own) there and bring the model's weights back as
numpy arrays, then compare with numpy (float64).
"""

import numpy as np
import pytest

from grader.checks.models import verified_export
from grader.checks.support_torch_training import (
    AFTER_STEP,
    AS_TENSOR,
    CROSS_ENTROPY,
    LOAD,
    MODEL,
    RETURNED_Y,
    SGD,
    SOFTMAX,
    SOFTMAX_LAYER,
    call,
    loss_and_grads,
)
from grader.gradients import CheckFailure, Diagnosis, assert_close, assert_true


def layer_summary(exported):
    return [(layer["class"], {k: v.shape for k, v in layer["params"].items()}) for layer in exported["layers"]]


def check_layers(exported, D, H, C, what):
    """Linear(D, H), ReLU, Linear(H, C) and nothing else, weights (out, in)."""
    classes = [layer["class"] for layer in exported["layers"]]
    if any("softmax" in c.lower() for c in classes):
        raise CheckFailure(f"{what}: layers {classes}: {SOFTMAX_LAYER}", diagnosis=Diagnosis(SOFTMAX.id, SOFTMAX_LAYER))
    assert_true(
        classes == ["Linear", "ReLU", "Linear"],
        f"{what}: expected the layers [Linear, ReLU, Linear] in this order, got {classes}",
    )
    want = [{"weight": (H, D), "bias": (H,)}, {}, {"weight": (C, H), "bias": (C,)}]
    for i, (layer, shapes) in enumerate(zip(exported["layers"], want)):
        got = {k: v.shape for k, v in layer["params"].items()}
        if got != shapes:
            hint = (
                " (transposed: nn.Linear(in, out) stores weight as (out, in))"
                if got.get("weight") == tuple(reversed(shapes.get("weight", ())))
                else ""
            )
            raise CheckFailure(
                f"{what}: layer {i} ({layer['class']}) has parameter shapes {got}, expected {shapes}{hint}"
            )


@pytest.mark.points(1)
def test_autograd_demo(student):
    """autograd_demo(x0) is dy/dx of y = x^2 + 2x: 4 at x0 = 1 (the lecture), 2 x0 + 2 elsewhere."""
    got = student.torch_training.autograd_demo(1.0)
    assert_true(
        isinstance(got, float),
        f"autograd_demo(1.0) returned {getattr(got, 'type_name', type(got).__name__)}, expected a Python float "
        f"(return x.grad.item())",
    )
    assert_close(got, 4.0, "autograd_demo(1.0)", mistakes={RETURNED_Y: 3.0})
    for x0 in (0.0, 3.0, -2.5):
        assert_close(
            student.torch_training.autograd_demo(x0),
            2 * x0 + 2,
            f"autograd_demo({x0})",
            mistakes={RETURNED_Y: x0 * x0 + 2 * x0},
        )


@pytest.mark.points(1)
def test_build_model_layers(student):
    """build_model is Linear(in, hidden), ReLU, Linear(hidden, out) with (out, in) weights and no softmax."""
    tt = student.torch_training
    check_layers(verified_export(student, tt.build_model()), 784, 256, 10, "build_model()")
    check_layers(verified_export(student, tt.build_model(5, 6, 4)), 5, 6, 4, "build_model(5, 6, 4)")


@pytest.mark.points(1)
def test_train_step_handout_example(student):
    """One train_step with SGD(lr=1) on the handout's 2-3-3 example returns the loss before the step."""
    params = [
        np.array([[0.1, -0.2], [0.4, 0.3], [-0.5, 0.2]]),
        np.array([0.0, 0.1, -0.1]),
        np.array([[0.3, -0.1, 0.2], [0.2, 0.4, -0.3], [-0.2, 0.1, 0.5]]),
        np.zeros(3),
    ]
    X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.5, -1.0]])
    y = np.array([0, 2, 1])
    tt = student.torch_training
    model = student.source(LOAD)(student.source(MODEL)(2, 3, 3), params)  # the lecture's model, made here
    as_tensor = student.source(AS_TENSOR)
    loss = call(
        tt.train_step,
        model,
        student.source(SGD)(model, 1.0),
        student.source(CROSS_ENTROPY)(),
        as_tensor(X),
        as_tensor(y),
    )
    assert_true(
        isinstance(loss, float),
        f"train_step returned {getattr(loss, 'type_name', type(loss).__name__)}, expected a Python float "
        f"(return loss.item())",
    )
    before, grads = loss_and_grads(params, X, y)
    after, _ = loss_and_grads([p - g for p, g in zip(params, grads)], X, y)
    assert_close(
        loss,
        before,
        "train_step(...) on the handout's example (the loss before the step)",
        rtol=1e-9,
        atol=1e-12,
        mistakes={AFTER_STEP: after, SOFTMAX: loss_and_grads(params, X, y, loss="double_softmax")[0]},
    )

"""Public checks of Task 3 (backprop.py): the lecture's 2-2-1 network and the shapes of a batch.

Expected numbers are the lecture's 2-2-1 example (reference/backprop.md, section 3) at full
float64 precision; compare at rtol 1e-6. The shape checks use N=5, D=4, H=6, C=3 so that a
misplaced transpose shows up as a shape error.
"""

import numpy as np
import pytest

from grader.checks.support_backprop import check_shape
from grader.gradients import CheckFailure, Mistake, assert_close, assert_true

SIGMA_A = Mistake(
    "sigma_prime_at_a",
    "sigma'(a) used where sigma'(z) belongs: evaluate the derivative at the pre-activation z, not at the activation a",
)

# The 2-2-1 example: every value, float64 (the handout prints them to 10 significant digits).
EX = {
    "z1": [0.3775, 0.39249999999999996],
    "a1": [0.5932699921071872, 0.596884378259767],
    "z2": [1.10590596705977],
    "a2": [0.7513650695523157],
    "loss": 0.54962216635231,
    "delta2": [0.27699712325711395],
    "delta1": [0.026735840845774926, 0.029992150977793713],
    "dW1": [[0.0013367920422887463, 0.0026735840845774927], [0.0014996075488896857, 0.0029992150977793714]],
    "db1": [0.026735840845774926, 0.029992150977793713],
    "dW2": [[0.16433408112846157, 0.16533525569506652]],
    "db2": [0.27699712325711395],
}
W1, B1 = np.array([[0.15, 0.20], [0.25, 0.30]]), np.array([0.35, 0.35])
W2, B2 = np.array([[0.40, 0.45]]), np.array([0.60])
X221, Y221 = np.array([[0.05, 0.10]]), np.array([[0.01]])

N, D, H, C = 5, 4, 6, 3


def _sig(z):
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float64)))


def _example(student):
    got = student.backprop.example_221()
    assert_true(
        isinstance(got, dict), f"example_221() returned {type(got).__name__}, expected a dict with keys {', '.join(EX)}"
    )
    missing = [k for k in EX if k not in got]
    assert_true(not missing, f"example_221() is missing the key(s) {', '.join(map(repr, missing))}")
    return got


def _check_221(got, key, mistakes=None):
    value, want = got[key], np.asarray(EX[key], dtype=np.float64)
    shape = np.shape(value) if isinstance(value, (np.ndarray, list, tuple, float, int)) else None
    if shape is not None and want.ndim == 1 and tuple(shape) == (1,) + want.shape:
        raise CheckFailure(
            f"example_221()[{key!r}]: expected shape {want.shape}, got {tuple(shape)}. One sample, "
            f"so return vectors: row 0 of a (1, n) batch result"
            + ("; a bias gradient is Delta summed over the batch (axis 0)" if key.startswith("db") else "")
        )
    assert_close(value, want, f"example_221()[{key!r}]", rtol=1e-6, mistakes=mistakes)


SWAPPED = Mistake(
    "activation_grad_swapped",
    'the derivatives are swapped: "sigmoid" must give sigma(z)(1 - sigma(z)) and "relu" 1[z > 0]',
)


@pytest.mark.points(1)
def test_activation_grad_hand_values(student):
    """activation_grad at z: sigma'(z) = sigma(z)(1 - sigma(z)) (sigma'(0) = 1/4), relu'(z) = 1[z > 0]."""
    z = np.array([[-1000.0, -2.0, -0.5], [0.0, 0.5, 1000.0]])
    want = np.array([[0.0, 0.1049935854035065, 0.23500371220159447], [0.25, 0.2350037122015945, 0.0]])
    at_a = np.array(
        [
            [0.25, 0.24911401541513817, 0.24129887788965604],
            [0.2350037122015945, 0.22726609175218423, 0.19661193324148185],
        ]
    )
    assert_close(
        student.backprop.activation_grad(z, "sigmoid"),
        want,
        'activation_grad(z, "sigmoid")',
        inputs={"z": z},
        rtol=1e-9,
        atol=1e-15,
        mistakes={
            Mistake(
                "z_times_one_minus_z",
                "you computed z(1 - z): that is sigma'(z) written in "
                "terms of a = sigma(z), but this function receives the pre-activation z; compute "
                "s = sigmoid(z) first",
            ): z * (1 - z),
            "you computed sigma'(sigma(z)): the derivative was taken at a = sigma(z) instead of at z": at_a,
            SWAPPED: (z > 0).astype(float),
        },
    )
    zr = np.array([[-2.0, -0.5, 0.0], [0.25, 1.5, 3.0]])
    assert_close(
        student.backprop.activation_grad(zr, "relu"),
        (zr > 0).astype(float),
        'activation_grad(z, "relu")',
        inputs={"z": zr},
        mistakes={
            "you returned relu(z) itself, not its derivative 1[z > 0]": np.maximum(zr, 0),
            SWAPPED: _sig(zr) * (1 - _sig(zr)),
        },
    )


@pytest.mark.points(1)
def test_example_221_forward(student):
    """The 2-2-1 example's forward pass: z1, a1, z2, a2 and the loss (a2 - y)^2, every value at rtol 1e-6."""
    got = _example(student)
    _check_221(
        got,
        "z1",
        mistakes={
            Mistake("forgot_bias", "the bias b1 is missing: z1 = W1 x + b1"): W1 @ X221[0],
            Mistake(
                "weights_not_transposed", "W1 was used untransposed: z1 = W1 x, in row form x @ W1.T (W1 is (out, in))"
            ): X221[0] @ W1 + B1,
        },
    )
    for key in ("a1", "z2", "a2"):
        _check_221(got, key)
    _check_221(got, "loss")


@pytest.mark.points(1.5)
def test_example_221_backward(student):
    """The 2-2-1 example's backward pass: delta2, delta1, dW2, db2, dW1, db1, every value at rtol 1e-6."""
    got = _example(student)
    a1, a2, y = np.array(EX["a1"]), np.array(EX["a2"]), 0.01
    delta2 = np.array(EX["delta2"])
    _check_221(
        got,
        "delta2",
        mistakes={
            Mistake(
                "output_delta_missing_sigma_prime",
                "the sigmoid's derivative sigma'(z2) is missing: delta2 = dLoss/dz2 = 2(a2 - y) * sigma'(z2)",
            ): 2 * (a2 - y),
            SIGMA_A: 2 * (a2 - y) * _sig(a2) * (1 - _sig(a2)),
        },
    )
    _check_221(
        got,
        "delta1",
        mistakes={
            SIGMA_A: W2[0] * delta2 * _sig(a1) * (1 - _sig(a1)),
            Mistake(
                "missing_act_prime", "the derivative sigma'(z1) is missing: delta1 = (W2^T delta2) * sigma'(z1)"
            ): W2[0] * delta2,
        },
    )
    for key in ("dW2", "db2", "dW1", "db1"):
        wrong = (
            {
                Mistake("transposed", "dW1 is transposed: dW1 = delta1 x^T, shape (out, in) like W1"): np.array(
                    EX["dW1"]
                ).T
            }
            if key == "dW1"
            else None
        )
        _check_221(got, key, mistakes=wrong)


GRADIENT_FROM_BACKWARD = Mistake(
    "wrong_gradient_from_backward",
    "the step is lr times the gradient YOUR backward "
    "returns, and that gradient is wrong: fix backward (deltas, output_delta, "
    "activation_grad) first, their own checks say how",
)


def _own_gradients(student):
    """The student's backward on the 2-2-1 example's (correct) cache: {"W1": dW1, "b1": db1, ...}."""
    cache = {"Z": [np.array([EX["z1"]]), np.array([EX["z2"]])], "A": [X221, np.array([EX["a1"]]), np.array([EX["a2"]])]}
    try:
        grads = student.backprop.backward(cache, [(W1, B1), (W2, B2)], Y221, "sigmoid", "sigmoid")
        out = {}
        for l, (dW, db) in enumerate(grads, start=1):
            out[f"W{l}"], out[f"b{l}"] = np.asarray(dW, dtype=np.float64), np.asarray(db, dtype=np.float64)
        return {k: v for k, v in out.items() if v.shape == {"W1": W1, "b1": B1, "W2": W2, "b2": B2}[k].shape}
    except Exception:  # a broken backward: its own checks report it; here no mistake is named
        return {}


@pytest.mark.points(0.5)
def test_example_221_train_step(student):
    """One gradient-descent step on the 2-2-1 example with lr = 0.5 (the handout's last table)."""
    params = [(W1, B1), (W2, B2)]
    got = student.backprop.train_step(params, X221, Y221, 0.5, "sigmoid", "sigmoid")
    assert_true(
        isinstance(got, (tuple, list)) and len(got) == 2,
        "train_step(...) must return a pair (new_params, loss_before_step)",
    )
    new, value = got
    assert_true(
        isinstance(new, (list, tuple)) and len(new) == 2,
        "train_step(...)[0] must be the list [(W1, b1), (W2, b2)] of the new parameters",
    )
    want = [
        (
            np.array([[0.14933160397885561, 0.19866320795771125], [0.24925019622555517, 0.2985003924511103]]),
            np.array([0.3366320795771125, 0.3350039245111031]),
        ),
        (np.array([[0.3178329594357692, 0.3673323721524667]]), np.array([0.461501438371443])),
    ]
    theirs = None  # the student's own backward on the example's cache, asked only when a step is wrong
    for l, ((W, b), (Wn, bn), (Wold, bold)) in enumerate(zip(new, want, params), start=1):
        dW, db = np.array(EX[f"dW{l}"]), np.array(EX[f"db{l}"])
        for name, got_p, want_p, old_p, grad in ((f"W{l}", W, Wn, Wold, dW), (f"b{l}", b, bn, bold, db)):
            if np.shape(got_p) == want_p.shape and np.allclose(got_p, want_p, rtol=1e-6, atol=1e-9):
                continue
            if theirs is None:
                theirs = _own_gradients(student)
            mine = theirs.get(name)
            if mine is not None and np.allclose(mine, grad, rtol=1e-6, atol=1e-12):
                wrong = {
                    Mistake("step_up_the_gradient", f"the step went up the gradient: use {name} - lr * d{name}"): old_p
                    + 0.5 * grad,
                    Mistake("learning_rate_unused", f"the learning rate was not used: {name} - lr * d{name}"): old_p
                    - grad,
                }
            else:
                wrong = {GRADIENT_FROM_BACKWARD: old_p - 0.5 * mine} if mine is not None else None
            assert_close(got_p, want_p, f"train_step(...): new {name}", rtol=1e-6, mistakes=wrong)
    assert_close(
        value,
        EX["loss"],
        "train_step(...): the loss before the step",
        rtol=1e-6,
        mistakes={
            Mistake(
                "loss_after_step", "that is the loss AFTER the step; return the loss at the old parameters"
            ): 0.4817849407741164
        },
    )


@pytest.mark.points(1)
def test_forward_shapes(student):
    """forward on a batch with N=5, D=4, H=6, C=3: the cache's lists, their shapes, A[0] = X, softmax rows sum to 1."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(N, D))
    params = [(rng.normal(size=(H, D)), rng.normal(size=H)), (rng.normal(size=(C, H)), rng.normal(size=C))]
    cache = student.backprop.forward(X, params, "sigmoid", "softmax")
    what = 'forward(X, params, "sigmoid", "softmax")'
    assert_true(
        isinstance(cache, dict) and "Z" in cache and "A" in cache, f"{what} must return a dict with keys 'Z' and 'A'"
    )
    Z, A = cache["Z"], cache["A"]
    assert_true(
        isinstance(Z, (list, tuple)) and len(Z) == 2,
        f"{what}['Z'] must be the list [Z_1, Z_2] (one per layer) for a 2-layer network",
    )
    assert_true(
        isinstance(A, (list, tuple)) and len(A) == 3,
        f"{what}['A'] must be the list [A_0 = X, A_1, A_2] (length L + 1 = 3) for a 2-layer network",
    )
    for i, shape in enumerate([(N, H), (N, C)]):
        check_shape(Z[i], shape, f"{what}['Z'][{i}] (Z_{i + 1}, X of shape {X.shape})")
    for i, shape in enumerate([(N, D), (N, H), (N, C)]):
        check_shape(A[i], shape, f"{what}['A'][{i}] (A_{i})")
    assert_close(A[0], X, f"{what}['A'][0] (must be the input X itself)")
    assert_close(
        np.sum(A[2], axis=1),
        np.ones(N),
        f"row sums of {what}['A'][2] (the output layer is a softmax, so each row sums to 1)",
    )


@pytest.mark.points(1)
def test_backward_shapes(student):
    """deltas and backward on a cache with N=5, D=4, H=6, C=3: Delta_l is (N, out), dW_l (out, in), db_l (out,)."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(N, D))
    params = [(rng.normal(size=(H, D)), rng.normal(size=H)), (rng.normal(size=(C, H)), rng.normal(size=C))]
    Z1, Z2 = rng.normal(size=(N, H)), rng.normal(size=(N, C))
    A2 = np.exp(Z2) / np.exp(Z2).sum(axis=1, keepdims=True)
    cache = {"Z": [Z1, Z2], "A": [X, _sig(Z1), A2]}  # shapes matter here, not values
    y = np.array([0, 2, 1, 1, 0])
    ds = student.backprop.deltas(cache, params, y, "sigmoid", "softmax")
    what = 'deltas(cache, params, y, "sigmoid", "softmax")'
    assert_true(isinstance(ds, (list, tuple)) and len(ds) == 2, f"{what} must return the list [Delta_1, Delta_2]")
    assert_true(
        not (np.shape(ds[0]) == (N, C) and np.shape(ds[1]) == (N, H)),
        f"{what}: the list is in reverse order (output layer first); index i must hold layer i + 1",
    )
    check_shape(ds[1], (N, C), f"{what}[1] (Delta_2)")
    check_shape(ds[0], (N, H), f"{what}[0] (Delta_1)")
    grads = student.backprop.backward(cache, params, y, "sigmoid", "softmax")
    what = 'backward(cache, params, y, "sigmoid", "softmax")'
    assert_true(
        isinstance(grads, (list, tuple))
        and len(grads) == 2
        and all(isinstance(g, (list, tuple)) and len(g) == 2 for g in grads),
        f"{what} must return the list [(dW_1, db_1), (dW_2, db_2)]",
    )
    assert_true(
        not (np.shape(grads[0][0]) == (C, H) and np.shape(grads[1][0]) == (H, D)),
        f"{what}: the list is in reverse order (output layer first); index i must hold layer i + 1",
    )
    for l, (out, inp) in ((2, (C, H)), (1, (H, D))):
        check_shape(grads[l - 1][0], (out, inp), f"{what}[{l - 1}][0] (dW_{l}, like W_{l})")
        check_shape(grads[l - 1][1], (out,), f"{what}[{l - 1}][1] (db_{l}, like b_{l})")

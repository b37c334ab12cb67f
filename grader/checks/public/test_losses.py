"""Public checks of Task 1 (losses.py): the handout's worked numbers (N = 3 samples, K = C = 3).

Every input below is the one printed in reference/losses.md, so you can reproduce each case by
hand. Expected values come from the reference solution (recorded in expected/losses.json).
"""

import numpy as np
import pytest

from grader.expected import reference
from grader.gradients import CheckFailure, Diagnosis, Mistake, assert_close
from grader.sandbox import StudentError

# The handout's inputs (reference/losses.md, "Worked numbers").
MSE_PRED = np.array([[0.5, 1.0, -0.5], [2.0, 0.0, 1.0], [1.5, -1.0, 0.5]])
MSE_TRUE = np.array([[1.0, 1.0, 0.0], [1.0, 0.5, 1.0], [2.0, -1.0, -0.5]])
BCE_LOGITS = np.array([[2.0, -1.0, 0.0], [0.5, 3.0, -2.0], [-0.5, 1.0, 4.0]])
BCE_TARGETS = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
CCE_PROBS = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.25, 0.25, 0.5]])
CCE_LABELS = np.array([0, 2, 2])
SCE_LOGITS = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0], [0.0, 0.0, 0.0]])
SCE_LABELS = np.array([0, 2, 1])

ref = reference("losses")  # the reference's values, recorded so students can run these checks

# Named mistakes (their ids are those of the hidden checks, so a class's results count them together).
BROADCAST = Mistake("silent_broadcast", "an (N,) array met an (N, 1) array and broadcast silently to (N, N)")
NO_CLIP = Mistake(
    "probabilities_not_clipped",
    "log(0): clip p to [EPS, 1 - EPS] with np.clip(p, EPS, 1 - EPS) before the logs (and in the gradient)",
)
NAIVE_BCE = Mistake(
    "naive_bce_from_logits",
    "exp or log overflowed: use max(z, 0) - z y + np.log1p(np.exp(-|z|)) "
    "for the loss and a stable sigmoid (exp(-|z|)) for the gradient",
)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _finite(got, what, hint):
    """Fail with ``hint`` (a named mistake) when the student's value holds NaN or Inf (checked before the values):
    at these inputs a non-finite value is the evidence for it."""
    try:
        arr = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return  # assert_close explains a wrong type
    if not np.all(np.isfinite(arr)):
        shown = f"{float(arr):g}" if arr.ndim == 0 else np.array2string(np.ravel(arr)[:6], precision=6, separator=", ")
        raise CheckFailure(
            f"{what} returned {shown}; expected finite values. Likely: {hint}", diagnosis=Diagnosis.of(hint)
        )


@pytest.mark.points(1)
def test_mse_handout(student):
    """mse and mse_grad on the handout's 3 x 3 example: the mean over all N*K = 9 elements."""
    a, b = MSE_PRED, MSE_TRUE
    inputs = {"y_pred": a, "y_true": b}
    want = ref.mse(a, b)
    assert_close(
        student.losses.mse(a, b),
        want,
        "mse(y_pred, y_true)",
        inputs=inputs,
        mistakes={
            Mistake("summed_not_mean", "you summed the squared errors; mse is their MEAN over all N*K = 9 elements"): 9
            * want,
            Mistake(
                "divided_by_n_not_m",
                "you divided by N = 3 (a mean of per-row sums); mse divides by all N*K = 9 elements",
            ): 3 * want,
            Mistake("mse_half", "a 1/2 in front: the course's mse is the plain mean, no 1/2"): 0.5 * want,
        },
    )
    grad = ref.mse_grad(a, b)
    assert_close(
        student.losses.mse_grad(a, b),
        grad,
        "mse_grad(y_pred, y_true)",
        inputs=inputs,
        mistakes={
            Mistake(
                "forgot_1_over_m",
                "forgot the 1/M of the mean: the gradient is 2 (y_pred - y_true) / M with M = N*K = 9",
            ): 9 * grad,
            Mistake(
                "divided_by_n_not_m", "divided by N = 3 only: the mean is over all M = N*K = 9 elements, so divide by 9"
            ): 3 * grad,
            Mistake("forgot_factor_2", "forgot the factor 2 of d/dy (y - t)^2 = 2 (y - t)"): 0.5 * grad,
            Mistake(
                "grad_sign_flipped",
                "the sign is flipped: the gradient is 2 (y_pred - y_true) / M, not 2 (y_true - y_pred) / M",
            ): -grad,
        },
    )


@pytest.mark.points(0.5)
def test_mse_refuses_broadcast(student):
    """mse(y_pred of shape (3, 1), y_true of shape (3,)) raises ValueError instead of broadcasting to (3, 3)."""
    y_pred, y_true = MSE_PRED[:, :1], MSE_TRUE[:, 0]
    try:
        got = student.losses.mse(y_pred, y_true)
    except StudentError as exc:
        if exc.type == "ValueError":
            return
        if exc.type == "NotImplementedError":
            raise
        raise CheckFailure(
            f"mse(y_pred, y_true) with y_pred: shape (3, 1), y_true: shape (3,) raised "
            f"{exc.type} ({exc.message[:200]}); expected ValueError because the shapes differ"
        ) from None
    silent = float(np.mean((y_pred - y_true) ** 2))
    right = float(np.mean((y_pred[:, 0] - y_true) ** 2))
    broadcast = isinstance(got, float) and np.isclose(got, silent, rtol=1e-6, atol=1e-12)
    raise CheckFailure(
        f"mse(y_pred, y_true) with y_pred: shape (3, 1), y_true: shape (3,) returned "
        f"{f'{got:.10g}' if isinstance(got, float) else repr(got)[:80]} instead of raising ValueError"
        + (
            f". Likely: {BROADCAST} (that gives {silent:.10g}; with matching shapes the loss is {right:.10g})"
            if broadcast
            else f" (with matching shapes the loss is {right:.10g})"
        )
        + "; check the shapes first (the given _check_same_shape does it)",
        diagnosis=Diagnosis.of(BROADCAST) if broadcast else None,
    )


@pytest.mark.points(1)
def test_bce_handout(student):
    """binary_cross_entropy on p = sigmoid(z) and binary_cross_entropy_with_logits on z agree with the handout."""
    z, y = BCE_LOGITS, BCE_TARGETS
    p = _sigmoid(z)
    want = ref.binary_cross_entropy(p, y)
    assert_close(
        student.losses.binary_cross_entropy(p, y),
        want,
        "binary_cross_entropy(p, y)",
        inputs={"p": p, "y": y},
        mistakes={
            Mistake(
                "summed_not_mean", "you summed over the elements; the loss is the MEAN over all N*K = 9 elements"
            ): 9 * want,
            Mistake("loss_sign_flipped", "forgot the minus sign in -[y log p + (1 - y) log(1 - p)]"): -want,
            Mistake(
                "bce_without_negative_term",
                "the (1 - y) log(1 - p) term is missing: BCE is -mean(y log p + (1 - y) log(1 - p))",
            ): float(-np.mean(y * np.log(p))),
        },
    )
    grad = ref.binary_cross_entropy_grad(p, y)
    assert_close(
        student.losses.binary_cross_entropy_grad(p, y),
        grad,
        "binary_cross_entropy_grad(p, y)",
        inputs={"p": p, "y": y},
        mistakes={
            Mistake("forgot_1_over_m", "forgot the 1/M of the mean (M = N*K = 9)"): 9 * grad,
            Mistake("forgot_p_one_minus_p", "forgot to divide by p (1 - p): dL/dp = (p - y) / (p (1 - p)) / M"): (p - y)
            / p.size,
            Mistake("grad_sign_flipped", "the sign is flipped: dL/dp = (p - y) / (p (1 - p)) / M"): -grad,
        },
    )
    assert_close(
        student.losses.binary_cross_entropy_with_logits(z, y),
        ref.binary_cross_entropy_with_logits(z, y),
        "binary_cross_entropy_with_logits(z, y)",
        inputs={"z": z, "y": y},
        mistakes={
            Mistake(
                "summed_not_mean", "you summed over the elements; the loss is the MEAN over all N*K = 9 elements"
            ): 9 * want
        },
    )
    gz = ref.binary_cross_entropy_with_logits_grad(z, y)
    assert_close(
        student.losses.binary_cross_entropy_with_logits_grad(z, y),
        gz,
        "binary_cross_entropy_with_logits_grad(z, y)",
        inputs={"z": z, "y": y},
        mistakes={
            Mistake("forgot_1_over_m", "forgot the 1/M of the mean: dL/dz = (sigmoid(z) - y) / M with M = N*K = 9"): 9
            * gz,
            Mistake(
                "grad_sign_flipped", "the sign is flipped: dL/dz = (sigmoid(z) - y) / M, not (y - sigmoid(z)) / M"
            ): -gz,
            Mistake(
                "times_sigma_prime",
                "multiplied by sigma'(z) = s(1 - s): from the logits, the sigmoid's "
                "derivative cancels against the log, dL/dz = (sigmoid(z) - y) / M",
            ): gz * p * (1 - p),
        },
    )


@pytest.mark.points(0.5)
def test_bce_extremes_handout(student):
    """BCE at certain predictions: p in {0, 1} is clipped at EPS = 1e-7; logits of +-1000 stay finite."""
    y = np.array([1.0, 0.0, 1.0, 0.0])
    p = np.array([0.0, 1.0, 1.0, 0.0])
    z = np.array([-1000.0, 1000.0, 1000.0, -1000.0])
    clip, stable = NO_CLIP, NAIVE_BCE
    cases = [
        ("binary_cross_entropy", "p", p, clip, ref.binary_cross_entropy),
        ("binary_cross_entropy_grad", "p", p, clip, ref.binary_cross_entropy_grad),
        ("binary_cross_entropy_with_logits", "z", z, stable, ref.binary_cross_entropy_with_logits),
        ("binary_cross_entropy_with_logits_grad", "z", z, stable, ref.binary_cross_entropy_with_logits_grad),
    ]
    pc = np.clip(p, 1e-7, 1 - 1e-7)  # EPS = 1e-7
    wrong = {
        "binary_cross_entropy": {  # here half of the terms vanish: a factor 1/2 would be a coincidence
            Mistake(
                "bce_without_negative_term",
                "the (1 - y) log(1 - p) term is missing: BCE is -mean(y log p + (1 - y) log(1 - p))",
            ): float(-np.mean(y * np.log(pc)))
        }
    }
    for name, arg, x, hint, fn in cases:
        what = f"{name}({arg}, y) at {arg} = {np.array2string(x, separator=', ')}, y = [1, 0, 1, 0]"
        got = getattr(student.losses, name)(x, y)
        _finite(got, what, hint)
        assert_close(got, fn(x, y), what, mistakes=wrong.get(name))


@pytest.mark.points(0.5)
def test_cce_handout(student):
    """categorical_cross_entropy and its gradient on the handout's probabilities: the mean over the N = 3 rows."""
    p, y = CCE_PROBS, ref.one_hot(CCE_LABELS, 3)
    inputs = {"p": p, "y_onehot": y}
    want = ref.categorical_cross_entropy(p, y)
    assert_close(
        student.losses.categorical_cross_entropy(p, y),
        want,
        "categorical_cross_entropy(p, y_onehot)",
        inputs=inputs,
        mistakes={
            Mistake(
                "mean_over_all_entries",
                "you took the mean over all N*C = 9 entries; sum over the classes, then average over the N rows",
            ): want / 3,
            Mistake("forgot_1_over_n", "forgot the 1/N: average the per-row losses over the N = 3 rows"): 3 * want,
            Mistake("loss_sign_flipped", "forgot the minus sign in -sum y log p"): -want,
        },
    )
    grad = ref.categorical_cross_entropy_grad(p, y)
    assert_close(
        student.losses.categorical_cross_entropy_grad(p, y),
        grad,
        "categorical_cross_entropy_grad(p, y_onehot)",
        inputs=inputs,
        mistakes={
            Mistake("mean_over_all_entries", "you divided by N*C = 9; the loss averages over the N = 3 rows only"): grad
            / 3,
            Mistake("forgot_1_over_n", "forgot the 1/N: dL/dp = -y / (N p)"): 3 * grad,
            Mistake("grad_sign_flipped", "the sign is flipped: dL/dp = -y / (N p)"): -grad,
            Mistake(
                "logits_gradient_for_probabilities",
                "you returned (p - Y) / N, the gradient with respect "
                "to the LOGITS of softmax + cross-entropy; this gradient is with respect to the "
                "probabilities p: -Y / (N p)",
            ): (p - y) / 3,
        },
    )


@pytest.mark.points(1)
def test_softmax_ce_handout(student):
    """softmax, softmax_cross_entropy and its gradient on the handout's logits with labels [0, 2, 1]."""
    z, labels = SCE_LOGITS, SCE_LABELS
    inputs = {"logits": z, "labels": labels}
    s = ref.softmax(z)
    col = np.exp(z) / np.exp(z).sum(axis=0, keepdims=True)
    assert_close(
        student.losses.softmax(z),
        s,
        "softmax(z)",
        inputs={"z": z},
        mistakes={
            Mistake(
                "softmax_over_columns",
                "normalised over axis 0 (the columns); each ROW is one sample: sum over axis=1 with keepdims=True",
            ): col
        },
    )
    want = ref.softmax_cross_entropy(z, labels)
    assert_close(
        student.losses.softmax_cross_entropy(z, labels),
        want,
        "softmax_cross_entropy(logits, labels)",
        inputs=inputs,
        mistakes={
            Mistake(
                "mean_over_all_entries",
                "you took the mean over all N*C = 9 entries; sum over the classes, then average over the N rows",
            ): want / 3,
            Mistake("forgot_1_over_n", "forgot the 1/N: average the per-row losses over the N = 3 rows"): 3 * want,
            Mistake("loss_sign_flipped", "the sign is flipped: the loss is logsumexp(z_i) - z_i,label"): -want,
        },
    )
    grad = ref.softmax_cross_entropy_grad(z, labels)
    assert_close(
        student.losses.softmax_cross_entropy_grad(z, labels),
        grad,
        "softmax_cross_entropy_grad(logits, labels)",
        inputs=inputs,
        mistakes={
            Mistake("forgot_1_over_n", "forgot the 1/N: dL/dz = (softmax(z) - Y) / N"): 3 * grad,
            Mistake("mean_over_all_entries", "you divided by N*C = 9; the loss averages over the N = 3 rows only"): grad
            / 3,
            Mistake(
                "grad_sign_flipped", "the sign is flipped: dL/dz = (softmax(z) - Y) / N, not (Y - softmax(z)) / N"
            ): -grad,
            Mistake(
                "forgot_to_subtract_onehot", "forgot to subtract the one-hot labels Y: dL/dz = (softmax(z) - Y) / N"
            ): s / 3,
            Mistake(
                "times_softmax_diagonal",
                "multiplied by s(1 - s): for softmax + cross-entropy the "
                "Jacobian and the log cancel, dL/dz = (softmax(z) - Y) / N",
            ): grad * s * (1 - s),
        },
    )

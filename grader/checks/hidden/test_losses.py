"""Hidden checks of Task 1 (losses.py).

Order of evidence: fixed cases (shapes refused, numerical stability at the extremes), then
properties (hypothesis), then the reference in float64 on seeded inputs, then trusted central
differences of the reference loss against the student's gradient. Shapes: N = 5 samples, K = 4
outputs, C = 3 classes, so that 1/N, 1/K, 1/C and 1/(N*K) factors are all told apart.
"""

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader.gradients import (
    CheckFailure,
    Diagnosis,
    Mistake,
    assert_close,
    assert_grad_close,
    describe_inputs,
    numerical_gradient,
)
from grader.sandbox import StudentError
from solutions import losses as ref

N, K, C = 5, 4, 3
RTOL, ATOL = 1e-7, 1e-12  # reference vs student, both float64 (CHECKS_GUIDE.md, Numerics)

NAIVE_SOFTMAX = Mistake(
    "naive_softmax",
    "naive softmax: np.exp(1000) overflows to inf and inf / inf = nan; "
    "subtract each row's maximum before np.exp (the softmax does not change)",
)
NAIVE_LSE = Mistake(
    "naive_logsumexp",
    "the log-sum-exp overflowed, or you took log(softmax(z)) and the softmax "
    "underflowed to 0: use log-softmax = z - m - log(sum(exp(z - m))) with m the row maximum",
)
NAIVE_BCE = Mistake(
    "naive_bce_from_logits",
    "naive BCE from logits: log(sigmoid(z)) is log(0) at z = -1000 and "
    "exp(-z) overflows; use max(z, 0) - z y + np.log1p(np.exp(-|z|)) and a stable sigmoid built "
    "from exp(-|z|)",
)
NO_CLIP = Mistake(
    "probabilities_not_clipped",
    "log(0) or a division by 0: clip the probabilities with EPS before the log (and in the gradient)",
)
COLUMNS = Mistake(
    "softmax_over_columns",
    "normalised over axis 0 (the columns); each ROW is one sample: sum over axis=1 with keepdims=True",
)
NO_ONEHOT = Mistake(
    "forgot_to_subtract_onehot", "forgot to subtract the one-hot labels Y: dL/dz = (softmax(z) - Y) / N"
)
NO_P_1MP = Mistake("forgot_p_one_minus_p", "forgot to divide by p (1 - p): dL/dp = (p - y) / (p (1 - p)) / M")
NO_NEGATIVE_TERM = Mistake(
    "bce_without_negative_term", "the (1 - y) log(1 - p) term is missing: BCE is -mean(y log p + (1 - y) log(1 - p))"
)
LOGITS_FORMULA = Mistake(
    "logits_gradient_for_probabilities",
    "you returned (p - Y) / N, the gradient with respect to the LOGITS of softmax + cross-entropy; "
    "this gradient is with respect to the probabilities p: -Y / (N p)",
)
TIMES_SIGMA_PRIME = Mistake(
    "times_sigma_prime",
    "multiplied by sigma'(z) = s(1 - s): from the logits, the sigmoid's "
    "derivative cancels against the log, dL/dz = (sigmoid(z) - y) / M",
)
TIMES_SOFTMAX_DIAG = Mistake(
    "times_softmax_diagonal",
    "multiplied by s(1 - s): for softmax + cross-entropy the Jacobian and the log cancel, dL/dz = (softmax(z) - Y) / N",
)


# ----------------------------------------------------------------------------- helpers


def _finite(got, what, inputs, hint):
    """Fail with ``hint`` when the student's value holds NaN or Inf (checked before the values)."""
    try:
        arr = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return  # assert_close explains a wrong type
    if not np.all(np.isfinite(arr)):
        if arr.ndim == 0:
            shown = f"returned {float(arr):g}"
        else:
            at = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
            shown = f"got {arr[at]:g} at index {at}"
        raise CheckFailure(
            f"{what}{describe_inputs(inputs)}: {shown}; expected finite values. Likely: {hint}",
            diagnosis=Diagnosis.of(hint),
        )


def _elementwise_mean_mistakes(want, shape, kind):
    """Named wrong answers of a loss (kind="loss") or gradient (kind="grad") that is a mean over all elements."""
    n, m = shape[0], int(np.prod(shape))
    size = f"M = N*K = {m}" if len(shape) == 2 else f"M = N = {m}"
    wrong = {}
    if kind == "loss":
        wrong[Mistake("summed_not_mean", f"you summed; the loss is the MEAN over all {size} elements")] = m * want
        if m != n:
            wrong[
                Mistake(
                    "divided_by_n_not_m",
                    f"you divided by N = {n} (a mean of per-row sums); divide by all {size} elements",
                )
            ] = (m / n) * want
        wrong[Mistake("loss_sign_flipped", "forgot the minus sign (or flipped the sign)")] = -want
    else:
        wrong[
            Mistake("forgot_1_over_m", f"forgot the 1/M of the mean ({size} elements): divide by the array's size")
        ] = m * want
        if m != n:
            wrong[
                Mistake("divided_by_n_not_m", f"divided by N = {n} only: the loss is the mean over all {size} elements")
            ] = (m / n) * want
        wrong[
            Mistake(
                "grad_sign_flipped", "the sign is flipped: the gradient points from the target towards the prediction"
            )
        ] = -want
    return wrong


def _row_mean_mistakes(want, n, c, kind):
    """Named wrong answers of a per-row loss (sum over the C classes, mean over the N rows) or its gradient."""
    wrong = {
        Mistake(
            "mean_over_all_entries",
            f"you took the mean over all N*C = {n * c} entries; sum over the C classes, "
            f"then average over the N = {n} rows",
        ): want / c,
        Mistake(
            "forgot_1_over_n",
            f"forgot the 1/N: average over the N = {n} rows"
            if kind == "loss"
            else f"forgot the 1/N of the mean over the N = {n} rows",
        ): n * want,
    }
    if kind == "loss":
        wrong[Mistake("loss_sign_flipped", "the sign is flipped: the loss is -sum y log p")] = -want
    else:
        wrong[Mistake("grad_sign_flipped", "the sign is flipped")] = -want
    return wrong


BROADCAST = Mistake(
    "silent_broadcast",
    "an (N,) array met an (N, 1) array and broadcast silently to (N, N); compare "
    "the shapes first (the given _check_same_shape does it)",
)


def _expect_value_error(call, what, inputs, correct, silent):
    """The student's function must refuse mismatched shapes with ValueError instead of broadcasting.

    ``silent``: what the reference's formula gives on the two arrays broadcast to (N, N); the
    broadcast is named only when the student's value is that one (or an (N, N) array)."""
    try:
        got = call()
    except StudentError as exc:
        if exc.type == "ValueError":
            return
        if exc.type == "NotImplementedError":
            raise
        raise CheckFailure(
            f"{what}{describe_inputs(inputs)} raised {exc.type} ({exc.message[:200]}); "
            f"expected ValueError because the shapes differ"
        ) from None
    arr = np.asarray(got, dtype=np.float64) if isinstance(got, (int, float, np.ndarray)) else None
    if arr is not None and arr.ndim == 0:
        shown = f"{float(arr):.10g} (with matching shapes the result is {float(correct):.10g})"
    elif arr is not None:
        shown = f"an array of shape {arr.shape} (with matching shapes it has shape {np.shape(correct)})"
    else:
        shown = repr(got)[:80]
    silent = np.asarray(silent, dtype=np.float64)
    broadcast = arr is not None and (
        arr.shape == silent.shape
        and arr.ndim == 2
        or arr.shape == silent.shape
        and np.allclose(arr, silent, rtol=1e-6, atol=1e-12)
    )
    raise CheckFailure(
        f"{what}{describe_inputs(inputs)} returned {shown} instead of raising ValueError"
        + (
            f". Likely: {BROADCAST}"
            if broadcast
            else ": compare the shapes first (the given _check_same_shape does it)"
        ),
        diagnosis=Diagnosis.of(BROADCAST) if broadcast else None,
    )


# Tried first in every property test (hypothesis's explicit examples): typical mistakes fail here at once
# with a named message, before any search and shrinking (each shrinking step is a round trip).
EXAMPLE = (np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0], [0.0, 0.0, 0.0], [-3.0, 1.5, 4.0]]), np.array([0, 2, 1, 2]))


@st.composite
def logits_and_labels(draw):
    n = draw(st.integers(3, 6))
    c = draw(st.integers(3, 5))
    z = draw(hnp.arrays(np.float64, (n, c), elements=st.floats(-30, 30, allow_nan=False, allow_infinity=False)))
    labels = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)), dtype=np.int64)
    return z, labels


# ----------------------------------------------------------------------------- fixed cases


@pytest.mark.points(1)
def test_shapes_must_match(student, seed):
    """Every loss and gradient raises ValueError for predictions (N, 1) against targets (N,) (no broadcasting)."""
    rng = np.random.default_rng(seed)
    col = rng.uniform(0.1, 0.9, size=(N, 1))
    flat = rng.integers(0, 2, size=N).astype(np.float64)
    for name, first, second in [
        ("mse", "y_pred", "y_true"),
        ("mse_grad", "y_pred", "y_true"),
        ("binary_cross_entropy", "p", "y"),
        ("binary_cross_entropy_grad", "p", "y"),
        ("binary_cross_entropy_with_logits", "z", "y"),
        ("binary_cross_entropy_with_logits_grad", "z", "y"),
        ("categorical_cross_entropy", "p", "y_onehot"),
        ("categorical_cross_entropy_grad", "p", "y_onehot"),
    ]:
        fn = getattr(student.losses, name)
        correct = getattr(ref, name)(col, flat.reshape(-1, 1))
        silent = getattr(ref, name)(*(a.copy() for a in np.broadcast_arrays(col, flat)))  # the (N, N) broadcast
        _expect_value_error(
            lambda: fn(col, flat), f"{name}({first}, {second})", {first: col, second: flat}, correct, silent
        )


@pytest.mark.points(1)
def test_stable_at_extreme_logits(student):
    """softmax, softmax cross-entropy and BCE from logits are finite and exact at logits of +-1000; p = 0 is clipped."""
    z = np.array(
        [
            [1000.0, -1000.0, 0.0],
            [-1000.0, 1000.0, 1000.0],
            [1000.0, 1000.0, 1000.0],
            [-1000.0, -1000.0, -1000.0],
            [0.0, 1000.0, -1000.0],
        ]
    )
    labels = np.array([1, 2, 0, 1, 2])
    zb, yb = z[:, :2], np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    p = np.array([[0.0, 1.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    yc = ref.one_hot(np.array([0, 2, 1, 1, 2]), C)
    logits = "logits of +-1000 and 0"
    cases = [
        ("softmax", "z", (z,), {"z": z}, NAIVE_SOFTMAX, logits),
        ("softmax_cross_entropy", "logits, labels", (z, labels), {"logits": z, "labels": labels}, NAIVE_LSE, logits),
        (
            "softmax_cross_entropy_grad",
            "logits, labels",
            (z, labels),
            {"logits": z, "labels": labels},
            NAIVE_SOFTMAX,
            logits,
        ),
        ("binary_cross_entropy_with_logits", "z, y", (zb, yb), {"z": zb, "y": yb}, NAIVE_BCE, logits),
        ("binary_cross_entropy_with_logits_grad", "z, y", (zb, yb), {"z": zb, "y": yb}, NAIVE_BCE, logits),
        (
            "categorical_cross_entropy",
            "p, y_onehot",
            (p, yc),
            {"p": p, "y_onehot": yc},
            NO_CLIP,
            "probabilities 0 and 1 (p = 0 on the true class of rows 0 and 3)",
        ),
        (
            "categorical_cross_entropy_grad",
            "p, y_onehot",
            (p, yc),
            {"p": p, "y_onehot": yc},
            NO_CLIP,
            "probabilities 0 and 1 (p = 0 on the true class of rows 0 and 3)",
        ),
    ]
    for name, params, args, inputs, hint, where in cases:
        what = f"{name}({params}) at {where}"
        got = getattr(student.losses, name)(*args)
        _finite(got, what, inputs, hint)
        assert_close(got, getattr(ref, name)(*args), what, inputs=inputs, rtol=RTOL, atol=ATOL, batch=N)


# The lists and integer arrays below are the same numbers as float64 arrays: the docstrings promise that
# array-likes are accepted and converted to float64 copies.
LISTS_NOT_CONVERTED = Mistake(
    "array_like_not_converted",
    "the same numbers as float64 arrays work, as Python lists or integer arrays they do not: "
    "convert every argument first with np.asarray(x, dtype=np.float64)",
)


@pytest.mark.points(0.5)
def test_array_like_inputs(student, seed):
    """Every loss, gradient and softmax accepts Python lists and integer arrays (converted to float64 copies)."""
    rng = np.random.default_rng(seed + 5)
    ints = rng.integers(-3, 4, size=(N, K))  # integer predictions / logits
    bits = rng.integers(0, 2, size=(N, K))  # integer 0/1 targets
    probs = rng.uniform(0.05, 0.95, size=(N, K))
    labels = rng.integers(0, C, size=N)
    onehot = np.eye(C, dtype=np.int64)[labels]  # integer one-hot rows
    p_cat = ref.softmax(rng.normal(size=(N, C)))
    logits = rng.integers(-4, 5, size=(N, C))
    cases = [  # name, arguments as sent, the same arguments as float64 arrays
        ("mse", (ints, bits.tolist())),
        ("mse_grad", (ints.tolist(), bits.tolist())),
        ("binary_cross_entropy", (probs.tolist(), bits)),
        ("binary_cross_entropy_grad", (probs.tolist(), bits)),
        ("binary_cross_entropy_with_logits", (ints, bits)),
        ("binary_cross_entropy_with_logits_grad", (ints.tolist(), bits.tolist())),
        ("categorical_cross_entropy", (p_cat.tolist(), onehot)),
        ("categorical_cross_entropy_grad", (p_cat.tolist(), onehot.tolist())),
        ("softmax", (logits,)),
        ("softmax_cross_entropy", (logits.tolist(), labels.tolist())),
        ("softmax_cross_entropy_grad", (logits, onehot)),
        ("one_hot", (labels.tolist(), C)),
    ]
    for name, args in cases:
        plain = tuple(np.asarray(a, dtype=np.float64) if isinstance(a, (list, np.ndarray)) else a for a in args)
        if name == "one_hot":
            plain = (labels, C)
        kinds = ", ".join(
            "a list" if isinstance(a, list) else f"an {a.dtype} array" if isinstance(a, np.ndarray) else repr(a)
            for a in args
        )
        what = f"{name}(...) called with {kinds}"
        want = getattr(ref, name)(*plain)
        fn = getattr(student.losses, name)
        try:
            got = fn(*args)
        except StudentError as exc:
            if exc.type == "NotImplementedError":
                raise
            try:  # the evidence for the hint: the same numbers as float64 arrays work
                works = np.allclose(np.asarray(fn(*plain), dtype=np.float64), want, rtol=RTOL, atol=ATOL)
            except StudentError:
                works = False
            raise CheckFailure(
                f"{what} raised {exc.type} ({exc.message[:200]})"
                + (f". Likely: {LISTS_NOT_CONVERTED}" if works else ""),
                diagnosis=Diagnosis.of(LISTS_NOT_CONVERTED) if works else None,
            ) from None
        try:
            assert_close(got, want, what, rtol=RTOL, atol=ATOL)
        except CheckFailure as failure:
            try:
                works = np.allclose(np.asarray(fn(*plain), dtype=np.float64), want, rtol=RTOL, atol=ATOL)
            except (StudentError, TypeError, ValueError):
                works = False
            if not works:
                raise
            raise CheckFailure(
                f"{failure}. Likely: {LISTS_NOT_CONVERTED}", diagnosis=Diagnosis.of(LISTS_NOT_CONVERTED)
            ) from None


WRAPPED = Mistake(
    "negative_label_wrapped",
    "the label -1 silently picked the last class (numpy's negative indexing): check that labels lie in "
    "[0, C) (the given _target_rows / one_hot do it) instead of indexing with them",
)


@pytest.mark.points(0.5)
def test_bad_labels_refused(student, seed):
    """softmax_cross_entropy(_grad) and one_hot raise ValueError for labels out of [0, C), of the wrong length or shape."""
    rng = np.random.default_rng(seed + 6)
    z = rng.normal(size=(N, C))
    good = rng.integers(0, C, size=N)
    negative, too_big = good.copy(), good.copy()
    negative[1], too_big[2] = -1, C
    cases = [
        ("labels with a -1", negative),
        (f"labels with the value C = {C}", too_big),
        (f"{N - 1} labels for {N} rows", good[:-1]),
        (f"one-hot rows of width C + 1 = {C + 1}", np.eye(C + 1)[good]),
    ]
    for name in ("softmax_cross_entropy", "softmax_cross_entropy_grad"):
        fn = getattr(student.losses, name)
        for label, bad in cases:
            what = f"{name}(logits, labels) with logits of shape {z.shape} and {label}"
            try:
                got = fn(z, bad)
            except StudentError as exc:
                if exc.type == "ValueError":
                    continue
                if exc.type == "NotImplementedError":
                    raise
                raise CheckFailure(
                    f"{what} raised {exc.type} ({exc.message[:200]}); expected ValueError "
                    f"(labels must be integers in [0, C) of shape (N,), or one-hot rows (N, C))"
                ) from None
            wrapped = bad.ndim == 1 and bad.shape[0] == N and bad.min() < 0
            wrapped = wrapped and np.allclose(
                np.asarray(got, dtype=np.float64), getattr(ref, name)(z, bad % C), rtol=1e-6, atol=1e-12
            )
            raise CheckFailure(
                f"{what} returned a value instead of raising ValueError"
                + (
                    f". Likely: {WRAPPED}"
                    if wrapped
                    else ": check the labels' shape and range first (the given _target_rows does it)"
                ),
                diagnosis=Diagnosis.of(WRAPPED) if wrapped else None,
            )
    for label, bad, num in [
        ("2-D labels", good[:, None], C),
        ("labels 0.5", np.array([0.0, 0.5, 1.0]), C),
        ("labels outside [0, 3)", np.array([0, 3, 1]), C),
        ("a label -1", np.array([0, -1, 1]), C),
    ]:
        what = f"one_hot(labels, {num}) with {label}"
        try:
            got = student.losses.one_hot(bad, num)
        except StudentError as exc:
            if exc.type == "ValueError":
                continue
            raise CheckFailure(f"{what} raised {exc.type} ({exc.message[:200]}); expected ValueError") from None
        raise CheckFailure(f"{what} returned {type(got).__name__} instead of raising ValueError")


# ----------------------------------------------------------------------------- properties


@pytest.mark.points(1)
@given(data=logits_and_labels(), shift=st.floats(-1e3, 1e3))
@example(data=EXAMPLE, shift=1000.0)
def test_softmax_properties(student, data, shift):
    """softmax: shape (N, C), entries in [0, 1], rows sum to 1, and softmax(z + c) = softmax(z) for shifts up to 1e3."""
    z, _ = data
    inputs = {"z": z}
    s = student.losses.softmax(z)
    _finite(s, "softmax(z)", inputs, NAIVE_SOFTMAX)
    s = assert_close(
        s, ref.softmax(z), "softmax(z)", inputs=inputs, rtol=RTOL, atol=ATOL, mistakes={COLUMNS: ref.softmax(z.T).T}
    )
    assert_close(s.sum(axis=1), np.ones(z.shape[0]), "the row sums of softmax(z)", inputs=inputs, rtol=0, atol=1e-12)
    shifted = student.losses.softmax(z + shift)
    _finite(shifted, f"softmax(z + {shift:g})", inputs, NAIVE_SOFTMAX)
    assert_close(
        shifted,
        s,
        f"softmax(z + {shift:g}) compared with softmax(z) (adding a constant changes nothing)",
        inputs=inputs,
        rtol=1e-7,
        atol=1e-12,
    )


@pytest.mark.points(1)
@given(data=logits_and_labels(), shift=st.floats(-1e3, 1e3))
@example(data=EXAMPLE, shift=-1000.0)
@example(data=EXAMPLE, shift=1000.0)
def test_softmax_cross_entropy_properties(student, data, shift):
    """softmax CE: int and one-hot labels agree, CE(zeros) = log C, gradient rows sum to 0, shift invariance to 1e3."""
    z, labels = data
    n, c = z.shape
    y = ref.one_hot(labels, c)
    inputs = {"logits": z, "labels": labels}
    loss = student.losses.softmax_cross_entropy(z, labels)
    _finite(loss, "softmax_cross_entropy(logits, labels)", inputs, NAIVE_LSE)
    want = ref.softmax_cross_entropy(z, labels)
    loss = float(
        assert_close(
            loss,
            want,
            "softmax_cross_entropy(logits, labels)",
            inputs=inputs,
            rtol=RTOL,
            atol=1e-10,
            batch=n,
            mistakes=_row_mean_mistakes(want, n, c, "loss"),
        )
    )
    assert_close(
        student.losses.softmax_cross_entropy(z, y),
        loss,
        "softmax_cross_entropy(logits, one-hot labels) compared with integer labels (must be equal)",
        inputs={"logits": z, "labels": y},
        rtol=1e-10,
        atol=1e-12,
    )
    assert_close(
        student.losses.softmax_cross_entropy(np.zeros((n, c)), labels),
        np.log(c),
        f"softmax_cross_entropy(zeros, labels) = log C = log {c}",
        inputs={"logits": np.zeros((n, c)), "labels": labels},
        rtol=1e-10,
        atol=1e-12,
        batch=n,
        mistakes=_row_mean_mistakes(np.log(c), n, c, "loss"),
    )
    grad = student.losses.softmax_cross_entropy_grad(z, labels)
    _finite(grad, "softmax_cross_entropy_grad(logits, labels)", inputs, NAIVE_SOFTMAX)
    gwant = ref.softmax_cross_entropy_grad(z, labels)
    wrong = _row_mean_mistakes(gwant, n, c, "grad")
    wrong[NO_ONEHOT] = ref.softmax(z) / n
    grad = assert_close(
        grad,
        gwant,
        "softmax_cross_entropy_grad(logits, labels)",
        inputs=inputs,
        rtol=RTOL,
        atol=ATOL,
        batch=n,
        mistakes=wrong,
    )
    assert_close(
        grad.sum(axis=1),
        np.zeros(n),
        "the row sums of softmax_cross_entropy_grad(logits, labels) (softmax rows and one-hot rows both sum to 1)",
        inputs=inputs,
        rtol=0,
        atol=1e-12,
        mistakes={NO_ONEHOT: np.full(n, 1.0 / n)},
    )
    assert_close(
        student.losses.softmax_cross_entropy_grad(z, y),
        grad,
        "softmax_cross_entropy_grad(logits, one-hot labels) compared with integer labels (must be equal)",
        inputs={"logits": z, "labels": y},
        rtol=1e-10,
        atol=1e-15,
    )
    moved = student.losses.softmax_cross_entropy(z + shift, labels)
    _finite(moved, f"softmax_cross_entropy(logits + {shift:g}, labels)", inputs, NAIVE_LSE)
    assert_close(
        moved,
        loss,
        f"softmax_cross_entropy(logits + {shift:g}, labels) compared with no shift "
        "(adding a constant to every logit changes nothing)",
        inputs=inputs,
        rtol=1e-7,
        atol=1e-9,
    )


# ----------------------------------------------------------------------------- the reference, seeded inputs


@pytest.mark.points(1)
def test_mse_vs_reference(student, seed):
    """mse and mse_grad on seeded inputs of shape (N,) and (N, K) = (5,) and (5, 4), against the reference."""
    rng = np.random.default_rng(seed + 1)
    for shape in [(N,), (N, K)]:
        a, b = rng.normal(size=shape), rng.normal(size=shape)
        inputs = {"y_pred": a, "y_true": b}
        want = ref.mse(a, b)
        wrong = _elementwise_mean_mistakes(want, shape, "loss")
        wrong[Mistake("mse_half", "a 1/2 in front: the course's mse is the plain mean, no 1/2")] = 0.5 * want
        assert_close(
            student.losses.mse(a, b),
            want,
            "mse(y_pred, y_true)",
            inputs=inputs,
            rtol=RTOL,
            atol=ATOL,
            batch=N,
            mistakes=wrong,
        )
        grad = ref.mse_grad(a, b)
        wrong = _elementwise_mean_mistakes(grad, shape, "grad")
        wrong[Mistake("forgot_factor_2", "forgot the factor 2 of d/dy (y - t)^2 = 2 (y - t)")] = 0.5 * grad
        wrong[Mistake("extra_factor_2", "a factor 2 too many: the gradient is 2 (y_pred - y_true) / M")] = 2 * grad
        assert_close(
            student.losses.mse_grad(a, b),
            grad,
            "mse_grad(y_pred, y_true)",
            inputs=inputs,
            rtol=RTOL,
            atol=ATOL,
            batch=N,
            mistakes=wrong,
        )


@pytest.mark.points(1)
def test_binary_cross_entropy_vs_reference(student, seed):
    """BCE on probabilities and from logits, losses and gradients, on seeded (5,) (soft targets) and (5, 4) inputs."""
    rng = np.random.default_rng(seed + 2)
    for shape, soft in [((N,), True), ((N, K), False)]:
        p = rng.uniform(0.02, 0.98, size=shape)
        z = rng.normal(scale=3.0, size=shape)
        y = rng.uniform(0, 1, size=shape) if soft else rng.integers(0, 2, size=shape).astype(np.float64)
        m = p.size
        want = ref.binary_cross_entropy(p, y)
        wrong = _elementwise_mean_mistakes(want, shape, "loss")
        wrong[NO_NEGATIVE_TERM] = float(-np.mean(y * np.log(p)))
        assert_close(
            student.losses.binary_cross_entropy(p, y),
            want,
            "binary_cross_entropy(p, y)",
            inputs={"p": p, "y": y},
            rtol=RTOL,
            atol=ATOL,
            batch=N,
            mistakes=wrong,
        )
        grad = ref.binary_cross_entropy_grad(p, y)
        wrong = _elementwise_mean_mistakes(grad, shape, "grad")
        wrong[NO_P_1MP] = (p - y) / m
        assert_close(
            student.losses.binary_cross_entropy_grad(p, y),
            grad,
            "binary_cross_entropy_grad(p, y)",
            inputs={"p": p, "y": y},
            rtol=RTOL,
            atol=ATOL,
            batch=N,
            mistakes=wrong,
        )
        want = ref.binary_cross_entropy_with_logits(z, y)
        got = student.losses.binary_cross_entropy_with_logits(z, y)
        _finite(got, "binary_cross_entropy_with_logits(z, y)", {"z": z, "y": y}, NAIVE_BCE)
        assert_close(
            got,
            want,
            "binary_cross_entropy_with_logits(z, y)",
            inputs={"z": z, "y": y},
            rtol=RTOL,
            atol=ATOL,
            batch=N,
            mistakes=_elementwise_mean_mistakes(want, shape, "loss"),
        )
        grad = ref.binary_cross_entropy_with_logits_grad(z, y)
        wrong = _elementwise_mean_mistakes(grad, shape, "grad")
        sig = 1.0 / (1.0 + np.exp(-z))
        wrong[TIMES_SIGMA_PRIME] = grad * sig * (1.0 - sig)
        assert_close(
            student.losses.binary_cross_entropy_with_logits_grad(z, y),
            grad,
            "binary_cross_entropy_with_logits_grad(z, y)",
            inputs={"z": z, "y": y},
            rtol=RTOL,
            atol=ATOL,
            batch=N,
            mistakes=wrong,
        )


@pytest.mark.points(1)
def test_categorical_vs_reference(student, seed):
    """categorical CE on probabilities, softmax, and softmax CE with int and one-hot labels, on seeded (5, 3) inputs."""
    rng = np.random.default_rng(seed + 3)
    z = rng.normal(scale=2.0, size=(N, C))
    labels = rng.integers(0, C, size=N)
    y = ref.one_hot(labels, C)
    p = ref.softmax(rng.normal(size=(N, C)))
    inputs = {"p": p, "y_onehot": y}
    want = ref.categorical_cross_entropy(p, y)
    assert_close(
        student.losses.categorical_cross_entropy(p, y),
        want,
        "categorical_cross_entropy(p, y_onehot)",
        inputs=inputs,
        rtol=RTOL,
        atol=ATOL,
        batch=N,
        mistakes=_row_mean_mistakes(want, N, C, "loss"),
    )
    grad = ref.categorical_cross_entropy_grad(p, y)
    wrong = _row_mean_mistakes(grad, N, C, "grad")
    wrong[LOGITS_FORMULA] = (p - y) / N
    assert_close(
        student.losses.categorical_cross_entropy_grad(p, y),
        grad,
        "categorical_cross_entropy_grad(p, y_onehot)",
        inputs=inputs,
        rtol=RTOL,
        atol=ATOL,
        batch=N,
        mistakes=wrong,
    )
    s = student.losses.softmax(z)
    _finite(s, "softmax(z)", {"z": z}, NAIVE_SOFTMAX)
    assert_close(
        s, ref.softmax(z), "softmax(z)", inputs={"z": z}, rtol=RTOL, atol=ATOL, mistakes={COLUMNS: ref.softmax(z.T).T}
    )
    for lab, kind in [(labels, "integer labels (N,)"), (y, "one-hot labels (N, C)")]:
        inputs = {"logits": z, "labels": lab}
        want = ref.softmax_cross_entropy(z, lab)
        assert_close(
            student.losses.softmax_cross_entropy(z, lab),
            want,
            f"softmax_cross_entropy(logits, {kind})",
            inputs=inputs,
            rtol=RTOL,
            atol=ATOL,
            batch=N,
            mistakes=_row_mean_mistakes(want, N, C, "loss"),
        )
        grad = ref.softmax_cross_entropy_grad(z, lab)
        wrong = _row_mean_mistakes(grad, N, C, "grad")
        wrong[NO_ONEHOT] = ref.softmax(z) / N
        wrong[TIMES_SOFTMAX_DIAG] = grad * ref.softmax(z) * (1.0 - ref.softmax(z))
        assert_close(
            student.losses.softmax_cross_entropy_grad(z, lab),
            grad,
            f"softmax_cross_entropy_grad(logits, {kind})",
            inputs=inputs,
            rtol=RTOL,
            atol=ATOL,
            batch=N,
            mistakes=wrong,
        )


# ----------------------------------------------------------------------------- central differences


@pytest.mark.points(1)
def test_gradients_vs_finite_differences(student, seed):
    """Every *_grad against trusted central differences (h = 1e-5, float64) of the loss, on seeded inputs."""
    rng = np.random.default_rng(seed + 4)
    y_reg = rng.normal(size=(N, K))
    y_bin = rng.integers(0, 2, size=(N, K)).astype(np.float64)
    labels = rng.integers(0, C, size=N)
    y_cat = ref.one_hot(labels, C)
    cases = [  # loss, its first argument's name, that argument, the target, per-element or per-row mean
        ("mse", "y_pred", rng.normal(size=(N, K)), y_reg, "elements"),
        ("binary_cross_entropy", "p", rng.uniform(0.05, 0.95, size=(N, K)), y_bin, "elements"),
        ("binary_cross_entropy_with_logits", "z", rng.normal(scale=2.0, size=(N, K)), y_bin, "elements"),
        ("categorical_cross_entropy", "p", ref.softmax(rng.normal(size=(N, C))), y_cat, "rows"),
        ("softmax_cross_entropy", "logits", rng.normal(scale=2.0, size=(N, C)), labels, "rows"),
    ]
    for name, arg, x, target, mean in cases:
        analytic = getattr(student.losses, f"{name}_grad")(x, target)
        loss = getattr(ref, name)
        numeric = numerical_gradient(lambda v, loss=loss, target=target: loss(v, target), x, h=1e-5)
        exact = getattr(ref, f"{name}_grad")(x, target)
        wrong = (
            _elementwise_mean_mistakes(exact, x.shape, "grad")
            if mean == "elements"
            else _row_mean_mistakes(exact, N, C, "grad")
        )
        assert_grad_close(
            analytic,
            numeric,
            f"dL/d{arg}",
            f"{name}_grad vs central differences of {name}",
            inputs={arg: x, "target": np.asarray(target)},
            tol=1e-6,
            batch=N,
            mistakes=wrong,
        )


@pytest.mark.points(0.5)
def test_inputs_left_unmodified(student):
    """No call above changed its array arguments in place (seen inside your worker, so worth little)."""
    student.assert_inputs_unmodified()

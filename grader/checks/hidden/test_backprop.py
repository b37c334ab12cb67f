"""Hidden checks of Task 3 (backprop.py).

Order of evidence: properties (hypothesis), then the reference in float64 on seeded random
networks, then central finite differences per parameter. Every network has dimensions that all
differ (N=5, D=4, H1=6, H2=7, C=3), most have two hidden layers so that sigma'(a) used in place
of sigma'(z) shows on the lower layers, and ReLU pre-activations are redrawn until |z| >= 1e-3.

To keep one bug from failing every check, the checks of deltas / backward receive a cache made
by the REFERENCE forward pass, so they depend only on the student's activation_grad,
output_delta, deltas and backward.
"""

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader.checks.support_backprop import check_shape
from grader.gradients import (
    CheckFailure,
    Diagnosis,
    Mistake,
    assert_close,
    assert_finite_differences,
    assert_grad_close,
    assert_true,
)
from grader.sandbox import StudentError
from solutions import backprop as ref

N, D, H1, H2, C = 5, 4, 6, 7, 3
SIZES = [D, H1, H2, C]
# (hidden, output, target kind): both hidden activations, both outputs, labels and one-hot.
CASES = [
    ("sigmoid", "softmax", "labels"),
    ("relu", "softmax", "onehot"),
    ("sigmoid", "sigmoid", "values"),
    ("relu", "sigmoid", "values"),
]

SIGMA_A = Mistake(
    "sigma_prime_at_a",
    "sigma'(a) used where sigma'(z) belongs (deltas): evaluate act' at the "
    "pre-activation Z_l (cache['Z']), not at the activation A_l",
)
NO_ACT_GRAD = Mistake(
    "missing_act_prime", "the factor act'(Z_l) is missing (deltas): Delta_l = (Delta_{l+1} @ W_{l+1}) * act'(Z_l)"
)
MSE_K = (
    "off by exactly K = {K}, the number of outputs (output_delta): the MSE is the mean over all N*K entries, "
    "so Delta_L = 2(A_L - Y) / (N*K) * sigma'(Z_L)"
)
SOFTMAX_AA = Mistake(
    "softmax_times_diagonal",
    "multiplied by a(1 - a) (output_delta): for softmax + cross-entropy "
    "the Jacobian and the log cancel, Delta_L = (A_L - onehot(Y)) / N",
)
BIAS_MEAN = Mistake(
    "bias_averaged",
    "the bias gradient is averaged over the batch: SUM it, db_l = "
    "Delta_l.sum(axis=0) (the 1/N of the mean loss is already inside Delta_L)",
)
NO_TOP_SIGMA = Mistake(
    "output_delta_missing_sigma_prime", "the sigmoid's derivative sigma'(Z_L) is missing from Delta_L (output_delta)"
)
TOP_SIGMA_A = Mistake("output_delta_sigma_prime_at_a", "sigma'(A_L) used where sigma'(Z_L) belongs (output_delta)")
OTHER = {"sigmoid": "relu", "relu": "sigmoid"}


def other_act_prime(hidden):
    """act' of the other hidden activation used on the hidden layers (e.g. a hard-coded "sigmoid")."""
    return Mistake(
        "act_prime_of_other_activation",
        f"the derivative of {OTHER[hidden]!r} was used on {hidden!r} hidden layers (deltas): pass the "
        f"hidden activation's name on, act'(Z_l) = activation_grad(Z_l, hidden)",
    )


# ----------------------------------------------------------------------------------------------
# trusted helpers
# ----------------------------------------------------------------------------------------------


def make_case(rng, sizes, hidden, output, kind, n=N, min_grad=None):
    """Seeded X, params, Y and the reference cache; ReLU pre-activations kept away from 0.

    min_grad: also redraw while a gradient entry is nonzero but below it in magnitude. Central
    differences at h=1e-5 carry ~4e-11 of rounding noise, so on entries >= 1e-5 correct code stays
    below 4e-6 relative error (worst 1.9e-6 over 6000 seeds) while the common bugs give >= 1e-2.
    """
    for _ in range(1000):
        X = rng.normal(size=(n, sizes[0]))
        params = [
            (rng.normal(0.0, 1.5 * np.sqrt(2.0 / (i + o)), size=(o, i)), rng.normal(0.0, 0.5, size=o))
            for i, o in zip(sizes[:-1], sizes[1:])
        ]
        if output == "softmax":
            Y = rng.integers(0, sizes[-1], size=n)
            if kind == "onehot":
                Y = ref.one_hot(Y, sizes[-1])
        else:
            Y = rng.uniform(size=(n, sizes[-1]))
        cache = ref.forward(X, params, hidden, output)
        if hidden == "relu" and any(np.abs(z).min() < 1e-3 for z in cache["Z"][:-1]):
            continue
        if min_grad is not None:
            g = np.concatenate(
                [np.abs(a).ravel() for pair in ref.backward(cache, params, Y, hidden, output) for a in pair]
            )
            if np.any((g > 0) & (g < min_grad)):
                continue
        return X, params, Y, cache
    raise RuntimeError("could not draw a test network")  # pragma: no cover


def ref_deltas(cache, params, Y, hidden, output, at="Z", top=None):
    """The delta recursion with act' evaluated at Z (correct), at A (sigma'(a)) or left out ("none"),
    starting from the reference output error or from ``top`` (a wrong one)."""
    Z, A = cache["Z"], cache["A"]
    L = len(params)
    ds = [None] * L
    ds[L - 1] = ref.output_delta(A[L], Z[L - 1], Y, output) if top is None else top
    for i in range(L - 2, -1, -1):
        factor = {
            "Z": lambda: ref.activation_grad(Z[i], hidden),
            "A": lambda: ref.activation_grad(A[i + 1], hidden),
            "none": lambda: 1.0,
            "other": lambda: ref.activation_grad(Z[i], OTHER[hidden]),
        }[at]()
        ds[i] = (ds[i + 1] @ params[i + 1][0]) * factor
    return ds


def ref_grads(cache, ds):
    return [(d.T @ cache["A"][i], d.sum(axis=0)) for i, d in enumerate(ds)]


def wrong_deltas(cache, params, Y, hidden, output):
    """Known mistakes -> the deltas [Delta_1..Delta_L] they give (computed with the reference pieces)."""
    A_L, Z_L = cache["A"][-1], cache["Z"][-1]
    (n, K), T = A_L.shape, ref.targets(Y, A_L.shape, output)
    top = ref.output_delta(A_L, Z_L, Y, output)
    out = {NO_ACT_GRAD: ref_deltas(cache, params, Y, hidden, output, at="none")}
    if hidden == "sigmoid":
        out[SIGMA_A] = ref_deltas(cache, params, Y, hidden, output, at="A")
    out[other_act_prime(hidden)] = ref_deltas(cache, params, Y, hidden, output, at="other")
    if output == "sigmoid":
        tops = {
            Mistake("mse_off_by_k", MSE_K.format(K=K)): top * K,
            NO_TOP_SIGMA: 2 * (A_L - T) / (n * K),
            TOP_SIGMA_A: 2 * (A_L - T) / (n * K) * ref.activation_grad(A_L, "sigmoid"),
        }
    else:
        tops = {SOFTMAX_AA: top * A_L * (1 - A_L)}
    for name, t in tops.items():
        out[name] = ref_deltas(cache, params, Y, hidden, output, top=t)
    return out


def shapes(X, params, Y):
    """What the feedback says about the inputs: X and Y shapes and the layer sizes [D, ..., K]."""
    return {"X": X, "Y": Y, "layer sizes": [params[0][0].shape[1]] + [W.shape[0] for W, _ in params]}


def as_list(got, length, what, item):
    assert_true(
        isinstance(got, (list, tuple)) and len(got) == length,
        f"{what} must return a list of {length} {item} (one per layer, index i = layer i + 1), "
        f"got {type(got).__name__}" + (f" of length {len(got)}" if isinstance(got, (list, tuple)) else ""),
    )
    return list(got)


def as_pairs(got, length, what):
    pairs = as_list(got, length, what, "(dW, db) pairs")
    for i, p in enumerate(pairs):
        assert_true(
            isinstance(p, (list, tuple)) and len(p) == 2,
            f"{what}[{i}] must be a pair (dW_{i + 1}, db_{i + 1}), got {type(p).__name__}",
        )
    return pairs


def check_order(got, want, what):
    """Name a list returned output-layer first (list index i must hold layer i + 1)."""
    shp = [np.shape(g) if isinstance(g, (np.ndarray, list, tuple)) else None for g in got]
    if shp != [w.shape for w in want] and shp[::-1] == [w.shape for w in want]:
        raise CheckFailure(
            f"{what}: the list is in reverse order (output layer first); index i must hold "
            f"layer i + 1, from the first hidden layer to the output"
        )


BIAS_AXIS_1 = Mistake(
    "bias_reduced_over_units",
    "the bias gradient was reduced over axis 1 (the units of the "
    "layer) instead of axis 0 (the samples): db_l = Delta_l.sum(axis=0)",
)


def check_bias_axis(got, delta, what):
    """A db of shape (N,) that is Delta summed (or averaged) over axis 1 is named before the shape check."""
    if isinstance(got, (np.ndarray, list, tuple)) and np.shape(got) == (delta.shape[0],) != (delta.shape[1],):
        arr = np.asarray(got, dtype=np.float64)
        if any(np.allclose(arr, v, rtol=1e-6, atol=1e-12) for v in (delta.sum(axis=1), delta.mean(axis=1))):
            raise CheckFailure(
                f"{what}: expected shape ({delta.shape[1]},), got {arr.shape}. Likely: {BIAS_AXIS_1}",
                diagnosis=Diagnosis.of(BIAS_AXIS_1),
            )


def network_loss(X, params, Y, hidden, output):
    cache = ref.forward(X, params, hidden, output)
    return ref.loss(cache["A"][-1], Y, output, Z_L=cache["Z"][-1])


# ----------------------------------------------------------------------------------------------
# properties
# ----------------------------------------------------------------------------------------------

_away = st.floats(1e-3, 40.0) | st.floats(-40.0, -1e-3)
SWAPPED = Mistake(
    "activation_grad_swapped",
    'the derivatives are swapped: "sigmoid" must give sigma(z)(1 - sigma(z)) and "relu" 1[z > 0]',
)
# The grading profile's settings, less the "explain" phase: on code that raises (a stub) it would
# spend ~100 extra round trips to the worker on saying which parts of the input do not matter.
# (Built at import, after the plugin loaded the profile, so it inherits max_examples=20 etc.)
NO_EXPLAIN = settings(phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink])


@pytest.mark.points(1)
@NO_EXPLAIN
@given(z=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=6), elements=_away))
def test_activation_grad_property(student, z):
    """activation_grad(z, name) equals sigma(z)(1 - sigma(z)) and 1[z > 0] elementwise, for any shape of z."""
    s = ref.sigmoid(z)
    at = f"z = {np.array2string(z, precision=6, separator=', ', threshold=12)}"  # the minimal failing input
    assert_close(
        student.backprop.activation_grad(z, "sigmoid"),
        ref.activation_grad(z, "sigmoid"),
        f'activation_grad(z, "sigmoid") at {at}',
        inputs={"z": z},
        rtol=1e-9,
        atol=1e-15,
        mistakes={
            Mistake(
                "z_times_one_minus_z",
                "you computed z(1 - z): this function receives the "
                "pre-activation z, so compute s = sigmoid(z) and return s(1 - s)",
            ): z * (1 - z),
            "you computed sigma'(sigma(z)): the derivative was taken at a = sigma(z) instead of at z": ref.activation_grad(
                s, "sigmoid"
            ),
            "you returned sigmoid(z) itself, not its derivative": s,
            SWAPPED: ref.activation_grad(z, "relu"),
        },
    )
    assert_close(
        student.backprop.activation_grad(z, "relu"),
        ref.activation_grad(z, "relu"),
        f'activation_grad(z, "relu") at {at}',
        inputs={"z": z},
        mistakes={
            "you returned relu(z) itself, not its derivative 1[z > 0]": ref.relu(z),
            SWAPPED: ref.activation_grad(z, "sigmoid"),
        },
    )


@pytest.mark.points(1)
@NO_EXPLAIN
@given(n=st.sampled_from([5, 8, 9]), k=st.integers(0, 10_000), case=st.sampled_from(CASES))  # N unlike any layer size
def test_gradient_of_the_mean_property(student, seed, n, k, case):
    """The gradients are those of the MEAN loss: repeating every sample of the batch twice leaves them unchanged."""
    hidden, output, kind = case
    X, params, Y, _ = make_case(np.random.default_rng([seed, 11, k]), SIZES, hidden, output, kind, n=n)
    X2, Y2 = np.concatenate([X, X]), np.concatenate([Y, Y])
    once = as_pairs(
        student.backprop.backward(ref.forward(X, params, hidden, output), params, Y, hidden, output), 3, "backward(...)"
    )
    twice = as_pairs(
        student.backprop.backward(ref.forward(X2, params, hidden, output), params, Y2, hidden, output),
        3,
        "backward(...)",
    )
    doubled = Mistake(
        "gradient_of_sum_not_mean",
        "the gradient doubled when each sample appears twice: it must be "
        "the gradient of the MEAN loss (1/N inside Delta_L)",
    )
    halved = Mistake(
        "divided_by_n_twice",
        "the gradient halved when each sample appears twice: you divided by N "
        "more than once (e.g. a bias gradient averaged instead of summed)",
    )
    for l in range(3, 0, -1):
        for j, name in ((0, f"dW{l}"), (1, f"db{l}")):
            check_shape(once[l - 1][j], params[l - 1][j].shape, f"backward(...)[{l - 1}][{j}] ({name})")
            one = np.asarray(once[l - 1][j], dtype=np.float64)
            assert_grad_close(
                twice[l - 1][j],
                one,
                name,
                f'backward(...) on a batch of N={n} repeated twice vs on the batch ("{hidden}", "{output}")',
                inputs={"X": X2},
                tol=1e-7,
                mistakes={doubled: 2 * one, halved: one / 2},
            )


# ----------------------------------------------------------------------------------------------
# the reference in float64
# ----------------------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_forward_matches_reference(student, seed):
    """forward on seeded 4-6-7-3 networks, sigmoid and ReLU hidden layers, sigmoid and softmax outputs: every Z_l and A_l."""
    for c, (hidden, output, kind) in enumerate(CASES):
        X, params, Y, want = make_case(np.random.default_rng([seed, 1, c]), SIZES, hidden, output, kind)
        what = f'forward(X, params, "{hidden}", "{output}")'
        got = student.backprop.forward(X, params, hidden, output)
        assert_true(
            isinstance(got, dict) and "Z" in got and "A" in got, f"{what} must return a dict with keys 'Z' and 'A'"
        )
        Z = as_list(got["Z"], 3, f"{what}['Z']", "pre-activations [Z_1, Z_2, Z_3]")
        A = as_list(got["A"], 4, f"{what}['A']", "activations [A_0 = X, A_1, A_2, A_3]")
        no_bias = ref.forward(X, [(W, 0 * b) for W, b in params], hidden, output)
        assert_close(A[0], X, f"{what}['A'][0] (must be X)", inputs=shapes(X, params, Y))
        for i in range(3):
            l = i + 1
            assert_close(
                Z[i],
                want["Z"][i],
                f"{what}['Z'][{i}] (Z_{l})",
                inputs=shapes(X, params, Y),
                rtol=1e-7,
                atol=1e-12,
                mistakes={
                    Mistake("forgot_bias", f"the bias b_{l} is missing: Z_l = A_(l-1) @ W_l.T + b_l"): no_bias["Z"][i]
                },
            )
            act = output if l == 3 else hidden
            wrong = {}
            for other in ("sigmoid", "relu", "softmax"):  # every activation in place of the right one
                if other == act:
                    continue
                if l < 3 and other == output:
                    name = Mistake(
                        "hidden_layer_uses_output_activation",
                        f"layer {l} is hidden: use the hidden "
                        f"activation {hidden!r} there, the output activation {output!r} only on the last layer",
                    )
                elif l == 3 and other == hidden:
                    name = Mistake(
                        "output_layer_uses_hidden_activation",
                        f"the output layer must use the output activation {output!r}, not the hidden one {hidden!r}",
                    )
                else:
                    name = Mistake(
                        "wrong_activation",
                        f"layer {l} applied {other!r} where {act!r} belongs: use the "
                        f"{'hidden' if l < 3 else 'output'} argument's activation",
                    )
                wrong.setdefault(name, ref.activate(want["Z"][i], other))
            assert_close(
                A[i + 1],
                want["A"][i + 1],
                f"{what}['A'][{l}] (A_{l} = {act}(Z_{l}))",
                inputs=shapes(X, params, Y),
                rtol=1e-7,
                atol=1e-12,
                mistakes=wrong,
            )


@pytest.mark.points(1)
def test_output_delta_sigmoid_mse(student, seed):
    """output_delta for a sigmoid output with the MSE mean over all N*K entries (N=5, K=3)."""
    rng = np.random.default_rng([seed, 2])
    Z = rng.normal(0.0, 2.0, size=(N, C))
    A, Y = ref.sigmoid(Z), rng.uniform(size=(N, C))
    want = ref.output_delta(A, Z, Y, "sigmoid")
    g, sp = 2.0 * (A - Y), ref.activation_grad(Z, "sigmoid")
    assert_close(
        student.backprop.output_delta(A, Z, Y, "sigmoid"),
        want,
        'output_delta(A_L, Z_L, Y, "sigmoid")',
        inputs={"A_L": A, "Z_L": Z, "Y": Y},
        rtol=1e-7,
        atol=1e-12,
        batch=N,
        mistakes={
            NO_TOP_SIGMA: g / (N * C),
            TOP_SIGMA_A: g / (N * C) * ref.activation_grad(A, "sigmoid"),
            Mistake(
                "mse_divided_by_n_only", "divided by N only: the MSE is the mean over all N*K entries, so divide by N*K"
            ): g / N * sp,
            Mistake(
                "mse_missing_mean", "the 1/(N*K) of the mean is missing: the MSE is the mean over all N*K entries"
            ): g * sp,
            Mistake(
                "output_delta_relu_prime",
                "relu'(Z_L) used for the sigmoid output: the output layer's derivative is sigma'(Z_L)",
            ): g / (N * C) * ref.activation_grad(Z, "relu"),
        },
    )


@pytest.mark.points(1)
def test_output_delta_softmax_ce(student, seed):
    """output_delta for softmax + cross-entropy, with integer labels (N,) and with one-hot targets (N, C)."""
    rng = np.random.default_rng([seed, 3])
    Z = rng.normal(0.0, 2.0, size=(N, C))
    A, y = ref.softmax(Z), rng.integers(0, C, size=N)
    T = ref.one_hot(y, C)
    want = ref.output_delta(A, Z, y, "softmax")
    mistakes = {
        SOFTMAX_AA: want * A * (1 - A),
        Mistake("ce_divided_by_n_c", "divided by N*C: the cross-entropy is a mean over the N samples only"): want / C,
    }
    for Y, label in ((y, "integer labels"), (T, "one-hot targets")):
        assert_close(
            student.backprop.output_delta(A, Z, Y, "softmax"),
            want,
            f'output_delta(A_L, Z_L, Y, "softmax") with {label}',
            inputs={"A_L": A, "Z_L": Z, "Y": Y},
            rtol=1e-7,
            atol=1e-12,
            batch=N,
            mistakes=mistakes,
        )


@pytest.mark.points(1)
def test_deltas_three_layers(student, seed):
    """deltas on 4-6-7-3 networks (two hidden layers), all four hidden/output pairs: Delta_3, Delta_2, Delta_1."""
    for c, (hidden, output, kind) in enumerate(CASES):
        X, params, Y, cache = make_case(np.random.default_rng([seed, 4, c]), SIZES, hidden, output, kind)
        what = f'deltas(cache, params, Y, "{hidden}", "{output}")'
        got = as_list(
            student.backprop.deltas(cache, params, Y, hidden, output), 3, what, "arrays [Delta_1, Delta_2, Delta_3]"
        )
        want = ref_deltas(cache, params, Y, hidden, output)
        check_order(got, want, what)
        wrong = wrong_deltas(cache, params, Y, hidden, output)
        for i in range(2, -1, -1):  # from the output down: the first wrong layer is reported
            assert_close(
                got[i],
                want[i],
                f"{what}[{i}] (Delta_{i + 1})",
                inputs=shapes(X, params, Y),
                rtol=1e-7,
                atol=1e-13,
                batch=N,
                mistakes={name: ds[i] for name, ds in wrong.items()},
            )


@pytest.mark.points(1)
def test_backward_matches_reference(student, seed):
    """backward on 4-6-7-3 networks, all four hidden/output pairs: every dW_l and db_l vs the reference (rel. error 1e-7)."""
    for c, (hidden, output, kind) in enumerate(CASES):
        X, params, Y, cache = make_case(np.random.default_rng([seed, 5, c]), SIZES, hidden, output, kind)
        what = f'backward(cache, params, Y, "{hidden}", "{output}")'
        got = as_pairs(student.backprop.backward(cache, params, Y, hidden, output), 3, what)
        want = ref.backward(cache, params, Y, hidden, output)
        check_order([p[0] for p in got], [p[0] for p in want], what)
        wrong = {name: ref_grads(cache, ds) for name, ds in wrong_deltas(cache, params, Y, hidden, output).items()}
        for i in range(2, -1, -1):
            l = i + 1
            wrong_b = {name: g[i][1] for name, g in wrong.items()}
            wrong_b[BIAS_MEAN] = want[i][1] / N
            assert_grad_close(
                got[i][0],
                want[i][0],
                f"dW{l}",
                what,
                inputs=shapes(X, params, Y),
                tol=1e-7,
                batch=N,
                mistakes={name: g[i][0] for name, g in wrong.items()},
            )
            check_bias_axis(got[i][1], ref_deltas(cache, params, Y, hidden, output)[i], f"{what}: gradient db{l}")
            assert_grad_close(
                got[i][1], want[i][1], f"db{l}", what, inputs=shapes(X, params, Y), tol=1e-7, batch=N, mistakes=wrong_b
            )


# ----------------------------------------------------------------------------------------------
# central finite differences per parameter
# ----------------------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_backward_finite_differences(student, seed):
    """backward vs central differences of the mean loss, per parameter W_l and b_l (10 sampled entries each), all four pairs."""
    for c, (hidden, output, kind) in enumerate(CASES):
        X, params, Y, cache = make_case(np.random.default_rng([seed, 6, c]), SIZES, hidden, output, kind, min_grad=1e-5)
        what = f'backward(cache, params, Y, "{hidden}", "{output}")'
        got = as_pairs(student.backprop.backward(cache, params, Y, hidden, output), 3, what)
        for i in range(2, -1, -1):
            for j, name in ((0, f"W{i + 1}"), (1, f"b{i + 1}")):

                def f(value, i=i, j=j):
                    p = [list(pair) for pair in params]
                    p[i][j] = value
                    return network_loss(X, [tuple(pair) for pair in p], Y, hidden, output)

                # tol 1e-5: see make_case(min_grad=...); exact zeros (dead ReLU units) compare exactly
                assert_finite_differences(
                    got[i][j],
                    f,
                    params[i][j],
                    f"d{name}",
                    what,
                    tol=1e-5,
                    h=1e-5,
                    samples=10,
                    seed=seed + 10 * c + 2 * i + j,
                    batch=N,
                )


# ----------------------------------------------------------------------------------------------
# one training step
# ----------------------------------------------------------------------------------------------

GRADIENT_FROM_BACKWARD = Mistake(
    "wrong_gradient_from_backward",
    "the step is lr times the gradient YOUR backward "
    "returns, and that gradient is wrong: fix backward (deltas, output_delta, "
    "activation_grad) first, their own checks say how",
)
FORWARD_IN_STEP = Mistake(
    "wrong_forward_in_train_step",
    "the step is lr times the gradient at the cache YOUR "
    "forward returns, and that cache is wrong: fix forward first (its own check says how)",
)


def step_mistakes(student, X, params, Y, lr, hidden, output, cache, i, j, name):
    """Named wrong steps of parameter (i, j), told apart by the student's own backward and forward: when
    backward (on the reference cache) is right, a wrong step is train_step's own mistake; when it is wrong,
    the step points to it."""
    g = ref.backward(cache, params, Y, hidden, output)[i][j]
    wrong = {}
    try:
        mine = as_pairs(student.backprop.backward(cache, params, Y, hidden, output), len(params), "backward(...)")
        theirs = np.asarray(mine[i][j], dtype=np.float64)
    except (CheckFailure, StudentError, TypeError, ValueError):
        theirs = None
    if theirs is not None and theirs.shape == g.shape and np.allclose(theirs, g, rtol=1e-7, atol=1e-12):
        try:
            fwd = student.backprop.forward(X, params, hidden, output)
            at_theirs = ref.backward(
                {
                    "Z": [np.asarray(z, dtype=np.float64) for z in fwd["Z"]],
                    "A": [np.asarray(a, dtype=np.float64) for a in fwd["A"]],
                },
                params,
                Y,
                hidden,
                output,
            )[i][j]
            if not np.allclose(at_theirs, g, rtol=1e-7, atol=1e-12):
                wrong[FORWARD_IN_STEP] = lr * at_theirs
        except (StudentError, TypeError, ValueError, KeyError, IndexError):
            pass
        wrong[Mistake("step_up_the_gradient", f"the step went up the gradient: use {name} - lr * d{name}")] = -lr * g
        wrong[Mistake("learning_rate_unused", f"the learning rate was not used: {name} - lr * d{name}")] = g
        return wrong
    for m, w in wrong_deltas(cache, params, Y, hidden, output).items():
        wrong[m] = lr * ref_grads(cache, w)[i][j]
    if j == 1:
        wrong[BIAS_MEAN] = lr * g / N
    if theirs is not None and theirs.shape == g.shape:
        wrong[GRADIENT_FROM_BACKWARD] = lr * theirs
    return wrong


@pytest.mark.points(0.5)
def test_train_step_one_step(student, seed):
    """train_step: new parameters equal params - lr * gradients, the loss is measured before the step, inputs unchanged."""
    lr = 0.3
    for c, (sizes, hidden, output, kind) in enumerate(
        [(SIZES, "relu", "softmax", "labels"), ([D, H1, C], "sigmoid", "sigmoid", "values")]
    ):
        X, params, Y, cache = make_case(np.random.default_rng([seed, 7, c]), sizes, hidden, output, kind)
        L = len(params)
        what = f'train_step(params, X, Y, lr={lr}, "{hidden}", "{output}")'
        got = student.backprop.train_step(params, X, Y, lr, hidden, output)
        assert_true(
            isinstance(got, (tuple, list)) and len(got) == 2,
            f"{what} must return a pair (new_params, loss_before_step)",
        )
        new = as_pairs(got[0], L, f"{what}[0]")
        grads = ref.backward(cache, params, Y, hidden, output)
        for i in range(L - 1, -1, -1):
            for j, name in ((0, f"W{i + 1}"), (1, f"b{i + 1}")):
                old, g = params[i][j], grads[i][j]
                value = np.asarray(new[i][j], dtype=np.float64)
                if value.shape != old.shape:
                    assert_close(value, old - lr * g, f"{what}: new {name}", inputs=shapes(X, params, Y))
                step = old - value
                if np.allclose(step, lr * g, rtol=1e-6, atol=1e-12):
                    continue
                assert_close(
                    step,
                    lr * g,
                    f"{what}: the step {name} - new {name} (should be lr * d{name})",
                    inputs=shapes(X, params, Y),
                    rtol=1e-6,
                    atol=1e-12,
                    batch=N,
                    mistakes=step_mistakes(student, X, params, Y, lr, hidden, output, cache, i, j, name),
                )
        new_params = [(np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64)) for W, b in new]
        assert_close(
            got[1],
            network_loss(X, params, Y, hidden, output),
            f"{what}[1] (the loss before the step)",
            inputs=shapes(X, params, Y),
            rtol=1e-7,
            mistakes={
                Mistake(
                    "loss_after_step", "that is the loss AFTER the step; return the loss at the old parameters"
                ): network_loss(X, new_params, Y, hidden, output)
            },
        )


# ----------------------------------------------------------------------------------------------
# the documented defaults, the given helpers and the given training loop
# ----------------------------------------------------------------------------------------------


@pytest.mark.points(0.5)
def test_defaults_and_given_helpers(student, seed):
    """Calls without hidden/output use "sigmoid"/"softmax"; forward's A[0] is a copy; the given helpers behave as documented."""
    X, params, y, cache = make_case(np.random.default_rng([seed, 8]), SIZES, "sigmoid", "softmax", "labels")
    inputs = shapes(X, params, y)
    got = student.backprop.forward(X, params)
    assert_true(
        isinstance(got, dict) and "Z" in got and "A" in got,
        "forward(X, params) must return a dict with keys 'Z' and 'A'",
    )
    for i, z in enumerate(cache["Z"]):
        assert_close(
            as_list(got["Z"], 3, "forward(X, params)['Z']", "arrays")[i],
            z,
            f'forward(X, params)[\'Z\'][{i}] (defaults: hidden="sigmoid", output="softmax")',
            inputs=inputs,
            rtol=1e-7,
            atol=1e-12,
        )
    assert_close(
        got["A"][-1],
        cache["A"][-1],
        'forward(X, params)["A"][3] (the default output is "softmax")',
        inputs=inputs,
        rtol=1e-7,
        atol=1e-12,
    )
    # observed in the worker by trusted code calling the student's forward there (the cache itself comes back as data)
    shares = student.source(
        "lambda X, P: bool(np.shares_memory(__import__('sys').modules['backprop'].forward(X, P)['A'][0], X))"
    )
    assert_true(
        not shares(X, params),
        "forward(X, params)['A'][0] is the caller's X itself: A[0] must be a float64 COPY of X (X.copy()), "
        "so that nothing done to the cache reaches the caller's array",
    )
    assert_close(
        student.backprop.output_delta(cache["A"][-1], cache["Z"][-1], y),
        ref.output_delta(cache["A"][-1], cache["Z"][-1], y),
        'output_delta(A_L, Z_L, labels) (default output="softmax")',
        inputs=inputs,
        rtol=1e-7,
        atol=1e-12,
    )
    ds = as_list(student.backprop.deltas(cache, params, y), 3, "deltas(cache, params, Y)", "arrays")
    for i, d in enumerate(ref.deltas(cache, params, y)):
        assert_close(
            ds[i],
            d,
            f"deltas(cache, params, Y)[{i}] (defaults: sigmoid hidden, softmax output)",
            inputs=inputs,
            rtol=1e-7,
            atol=1e-13,
        )
    gs = as_pairs(student.backprop.backward(cache, params, y), 3, "backward(cache, params, Y)")
    for i, (dW, db) in enumerate(ref.backward(cache, params, y)):
        assert_close(
            gs[i][0], dW, f"backward(cache, params, Y)[{i}][0] (defaults)", inputs=inputs, rtol=1e-7, atol=1e-13
        )
        assert_close(
            gs[i][1], db, f"backward(cache, params, Y)[{i}][1] (defaults)", inputs=inputs, rtol=1e-7, atol=1e-13
        )
    new, value = student.backprop.train_step(params, X, y, 0.1)
    for i, (W, b) in enumerate(ref.train_step(params, X, y, 0.1)[0]):
        assert_close(new[i][0], W, f"train_step(params, X, Y, 0.1)[0][{i}][0] (defaults)", inputs=inputs, rtol=1e-7)
    # the given helpers: your copies must still do what their docstrings say
    z = np.array([[-1000.0, -1.5, 0.0], [0.5, 2.0, 1000.0]])
    for name in ("sigmoid", "relu", "softmax"):
        assert_close(getattr(student.backprop, name)(z), getattr(ref, name)(z), f"{name}(z) (given helper)", rtol=1e-12)
        assert_close(
            student.backprop.activate(z, name),
            ref.activate(z, name),
            f'activate(z, "{name}") (given helper)',
            rtol=1e-12,
        )
    for labels in (np.array([2, 0, 1, 1]), np.array([2.0, 0.0, 1.0, 1.0])):  # integer labels, or integer-valued floats
        assert_close(
            student.backprop.one_hot(labels, 3),
            ref.one_hot(labels, 3),
            f"one_hot(labels, 3) with {labels.dtype} labels (given helper)",
        )
        assert_close(
            student.backprop.targets(labels, (4, 3), "softmax"),
            ref.targets(labels, (4, 3), "softmax"),
            f'targets(labels, (4, 3), "softmax") with {labels.dtype} labels (given helper)',
        )
    sizes = [D, H1, C]
    for kwargs in ({}, {"seed": 0}, {"seed": seed % 1000 + 1}):
        got_p = as_pairs(student.backprop.init_params(sizes, **kwargs), 2, f"init_params({sizes}, **{kwargs})")
        for i, (W, b) in enumerate(ref.init_params(sizes, **kwargs)):
            assert_close(
                got_p[i][0],
                W,
                f"init_params({sizes}{''.join(f', {k}={v}' for k, v in kwargs.items())})[{i}][0] "
                f"(equal seeds give equal parameters; the default seed is 0)",
                rtol=1e-12,
            )
    A_L, Z_L = cache["A"][-1], cache["Z"][-1]
    for args, kwargs in (
        ((A_L, y), {}),
        ((A_L, y, "softmax"), {"Z_L": Z_L}),
        ((ref.sigmoid(Z_L), ref.sigmoid(Z_L[::-1]), "sigmoid"), {}),
    ):
        assert_close(
            student.backprop.loss(*args, **kwargs),
            ref.loss(*args, **kwargs),
            f"loss(A_L, Y{', ' + repr(args[2]) if len(args) > 2 else ''}{', Z_L=...' if kwargs else ''}) (given helper)",
            rtol=1e-10,
        )
    big = np.array([[1000.0, -1000.0, 0.0]])
    assert_close(
        student.backprop.loss(ref.softmax(big), np.array([1]), "softmax", Z_L=big),
        2000.0,
        'loss(A_L, [1], "softmax", Z_L=[[1000, -1000, 0]]) (finite from the logits, given helper)',
        rtol=1e-10,
    )


def train_variant(X, Y, sizes, epochs, batch_size, lr, seed, hidden, output, variant):
    """The given train loop, or a known mistake of it, with the reference train_step."""
    X = np.asarray(X, dtype=np.float64)
    params = ref.init_params(sizes, seed)
    rng = np.random.default_rng([seed, 1])
    history, n = [], X.shape[0]
    first = rng.permutation(n)
    for _ in range(epochs):
        if variant == "no_shuffle":
            order = np.arange(n)
        elif variant == "shuffled_once":
            order = first
        elif variant == "rng_every_epoch":
            order = np.random.default_rng([seed, 1]).permutation(n)
        else:
            order = first if _ == 0 else rng.permutation(n)
        other = rng.permutation(n) if variant == "separate_permutations" else order
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            params, value = ref.train_step(params, X[idx], Y[other[start : start + batch_size]], lr, hidden, output)
            total += value * len(idx)
        history.append(total / n)
    return params, history


TRAIN_MISTAKES = {
    "no_shuffle": Mistake(
        "train_not_shuffled",
        "the batches are taken in the data's order: shuffle every epoch (order = rng.permutation(N))",
    ),
    # shuffling once and re-creating the generator every epoch both give every epoch the same order
    "shuffled_once": Mistake(
        "train_same_order_every_epoch",
        "every epoch used the same permutation: shuffled only "
        "once, or the generator default_rng([seed, 1]) re-created each epoch; make it once, "
        "before the epochs, and draw a new permutation at the start of each epoch",
    ),
    "separate_permutations": Mistake(
        "train_x_y_shuffled_apart", "X and Y were shuffled with different permutations: index both with the same idx"
    ),
}


@pytest.mark.points(0.5)
def test_train_options_and_accuracy(student, seed):
    """train (given) with its options, on your train_step: the reference run's parameters and history; accuracy with labels and one-hot."""
    rng = np.random.default_rng([seed, 9])
    X = rng.normal(size=(11, D))
    y = rng.integers(0, C, size=11)
    runs = [
        ({"epochs": 3, "batch_size": 4, "lr": 0.4, "seed": seed % 1000 + 2, "hidden": "relu", "output": "softmax"}, y),
        (
            {"epochs": 2, "batch_size": 5, "lr": 0.7, "seed": 0, "hidden": "sigmoid", "output": "sigmoid"},
            ref.one_hot(y, C),
        ),
    ]
    for kwargs, Y in runs:
        sizes = [D, H1, C]
        what = f"train(X, Y, {sizes}, {', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
        got = student.backprop.train(X, Y, sizes, **kwargs)
        assert_true(isinstance(got, (tuple, list)) and len(got) == 2, f"{what} must return (params, history)")
        params, history = got
        want_p, want_h = ref.train(X, Y, sizes, **kwargs)
        wrong = {m: train_variant(X, Y, sizes, variant=v, **kwargs)[1] for v, m in TRAIN_MISTAKES.items()}
        step = ref.train_step(
            ref.init_params(sizes, kwargs["seed"]), X[:3], Y[:3], kwargs["lr"], kwargs["hidden"], kwargs["output"]
        )
        mine = student.backprop.train_step(
            ref.init_params(sizes, kwargs["seed"]), X[:3], Y[:3], kwargs["lr"], kwargs["hidden"], kwargs["output"]
        )
        if not (
            isinstance(mine, (tuple, list))
            and len(mine) == 2
            and np.allclose(np.asarray(mine[0][0][0], dtype=np.float64), step[0][0][0], rtol=1e-7, atol=1e-12)
        ):
            raise CheckFailure(
                f"{what}: train runs your train_step, which does not give the reference's step "
                f"(its own check test_train_step_one_step says how); train is checked once it does"
            )
        assert_close(history, want_h, f"{what}[1] (the loss history)", rtol=1e-6, mistakes=wrong)
        for i, (W, b) in enumerate(want_p):
            assert_close(params[i][0], W, f"{what}[0][{i}][0] (W_{i + 1} after training)", rtol=1e-6)
            assert_close(params[i][1], b, f"{what}[0][{i}][1] (b_{i + 1} after training)", rtol=1e-6)
        for labels, kind in ((y, "integer labels"), (ref.one_hot(y, C), "one-hot labels")):
            for hidden in (kwargs["hidden"],):
                assert_close(
                    student.backprop.accuracy(want_p, X, labels, hidden),
                    ref.accuracy(want_p, X, labels, hidden),
                    f'accuracy(params, X, {kind}, "{hidden}")',
                )
    assert_close(
        student.backprop.accuracy(want_p, X, y),
        ref.accuracy(want_p, X, y),
        'accuracy(params, X, y) (default hidden="sigmoid")',
    )
    before = {k: np.asarray(v, dtype=np.float64) for k, v in ref.EXAMPLE_221.items()}
    student.backprop.example_221()
    after = student.backprop.EXAMPLE_221.get()
    for k, v in before.items():
        assert_true(
            isinstance(after, dict) and k in after and np.shape(after[k]) == v.shape and np.allclose(after[k], v),
            f"example_221() changed EXAMPLE_221[{k!r}]: it must not modify the given data (work on copies)",
        )


@pytest.mark.points(0.5)
def test_inputs_left_unmodified(student):
    """No call above changed its array arguments in place (seen inside your worker, so worth little)."""
    student.assert_inputs_unmodified()

"""Hidden checks of Task 9 (dynamics.py): initialisers and per-layer norms, L2 against finite differences, the sweep, augmentation and its effect on held-out digits, the paths, the cost of a gradient."""

import math

import numpy as np
import pytest

from grader.checks.heldout import digits_split
from grader.checks.support_dynamics import SURFACE_SUM, fail, init_mistakes, l2_grad_mistakes, l2_loss_mistakes
from grader.checks.trusted_code import local_object, worker_object
from grader.gradients import CheckFailure, Mistake, assert_close, assert_finite_differences, assert_true
from grader.sandbox.proxy import StudentError
from solutions import dynamics as ref
from solutions import minibatch as ref_mb

SHARED_MSG = (
    "the runs share their parameters: every learning rate must start from params0 itself (make fresh "
    "float64 copies of params0 for each run, and do not write into params0)"
)


def _draw(std: float, fan_in: int, fan_out: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, std, size=(fan_out, fan_in))


def _net(sizes, rng) -> dict[str, np.ndarray]:
    params = {}
    for l in range(1, len(sizes)):
        params[f"W{l}"] = rng.normal(0.0, math.sqrt(2.0 / sizes[l - 1]), size=(sizes[l], sizes[l - 1]))
        params[f"b{l}"] = rng.normal(0.0, 0.2, size=sizes[l])
    return params


# ------------------------------------------------------------------------------------------------
# 1. initialisation and depth
# ------------------------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_init_and_layer_gradient_norms(student, seed):
    """init_weights draws the reference's weights for every scheme; layer_gradient_norms gives the Frobenius norm of dL/dW^(l) per layer, input first."""
    fan_in, fan_out, s = 37, 23, seed + 1
    stds = {"normal": 1.0, "xavier": math.sqrt(2.0 / (fan_in + fan_out)), "he": math.sqrt(2.0 / fan_in)}
    for scheme in stds:
        assert_close(
            student.dynamics.init_weights(fan_in, fan_out, scheme, s),
            ref.init_weights(fan_in, fan_out, scheme, s),
            f"init_weights({fan_in}, {fan_out}, {scheme!r}, {s})",
            rtol=1e-12,
            atol=1e-14,
            mistakes=init_mistakes(scheme, fan_in, fan_out, s),
        )
    # rng: a Generator is used as is and advanced (one draw per call); None and the default draw fresh weights
    gen, local = student.source(f"np.random.default_rng({s + 1})"), np.random.default_rng(s + 1)
    for call, (fi, fo, scheme) in enumerate([(6, 4, "he"), (4, 5, "xavier")], start=1):
        assert_close(
            student.dynamics.init_weights(fi, fo, scheme, gen),
            ref.init_weights(fi, fo, scheme, local),
            f"init_weights({fi}, {fo}, {scheme!r}, rng) (call {call} with the same np.random.default_rng("
            f"{s + 1}): a Generator is used as is and advanced, ONE rng.normal call per init_weights)",
            rtol=1e-12,
            atol=1e-14,
        )
    for args in [(6, 4, "normal", None), (6, 4, "normal")]:
        got = np.asarray(student.dynamics.init_weights(*args), dtype=np.float64)
        assert_true(
            got.shape == (4, 6) and bool(np.all(np.isfinite(got))) and got.std() > 0,
            f"init_weights{args!r} returned an array of shape {got.shape}; expected fresh finite (4, 6) weights "
            f"(rng None or left out: np.random.default_rng(None))",
        )
    try:
        got = student.dynamics.init_weights(6, 4, "glorot", 0)
    except StudentError as exc:
        if exc.type == "NotImplementedError":
            raise
        assert_true(
            exc.type == "ValueError",
            f"init_weights(6, 4, 'glorot', 0) raised {exc.type}; expected ValueError (an unknown scheme)",
        )
    else:
        raise CheckFailure(
            f"init_weights(6, 4, 'glorot', 0) returned {getattr(got, 'shape', got)!r}; expected "
            f"ValueError: 'glorot' is not one of {ref.INIT_SCHEMES}"
        )

    rng = np.random.default_rng(seed + 2)
    sizes = (12, 9, 8, 9, 7, 9, 4)
    params = _net(sizes, rng)
    X, y = rng.normal(size=(7, 12)), rng.integers(0, 4, size=7).astype(np.int64)
    for activation in ("sigmoid", "relu"):
        want = ref.layer_gradient_norms(params, X, y, activation)
        _, grads = ref.mlp_loss_and_grads(params, X, y, activation)
        L = len(sizes) - 1
        with_bias = np.array(
            [math.sqrt(float(np.sum(grads[f"W{l}"] ** 2) + np.sum(grads[f"b{l}"] ** 2))) for l in range(1, L + 1)]
        )
        # int labels of any width: the relu case gets them as int32
        got = student.dynamics.layer_gradient_norms(
            params, X, y if activation == "sigmoid" else y.astype(np.int32), activation
        )
        assert_close(
            got,
            want,
            f"layer_gradient_norms(params, X, y, {activation!r}) of a {L}-layer MLP {'-'.join(map(str, sizes))}",
            inputs={"X": X},
            rtol=1e-9,
            mistakes={
                Mistake("norms_reversed", "the layers are in reverse order: entry 0 is layer 1, the input side"): want[
                    ::-1
                ],
                Mistake("norms_squared", "returned the squared norms: ||G||_F = sqrt(sum_ij G_ij^2)"): want**2,
                Mistake("norms_include_bias", "included the bias gradients: measure dL/dW^(l) only"): with_bias,
            },
        )


# ------------------------------------------------------------------------------------------------
# 2. L2
# ------------------------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_l2_matches_reference_and_finite_differences(student, seed):
    """l2_loss_and_grads: the reference's penalised loss and gradient (biases unpenalised), and its gradient matches central differences."""
    rng = np.random.default_rng(seed + 3)
    sizes = (5, 6, 3)
    params = _net(sizes, rng)
    X, y = rng.normal(size=(8, 5)), rng.integers(0, 3, size=8).astype(np.int64)
    lam = float(rng.uniform(0.05, 0.3))
    what = f"l2_loss_and_grads(params, X, y, lam={lam:.4g}, 'tanh') on a 5-6-3 network"
    got = student.dynamics.l2_loss_and_grads(params, X, y, lam, "tanh")
    assert_true(
        isinstance(got, (tuple, list)) and len(got) == 2 and isinstance(got[1], dict),
        f"{what} returned {getattr(got, 'type_name', type(got).__name__)}; expected a tuple (loss, grads dict)",
    )
    loss, grads = got
    base_loss, base = ref.mlp_loss_and_grads(params, X, y, "tanh")
    want_loss, want = ref.l2_loss_and_grads(params, X, y, lam, "tanh")
    assert_close(
        loss,
        want_loss,
        f"{what}: the penalised loss",
        inputs={"X": X},
        rtol=1e-10,
        mistakes=l2_loss_mistakes(base_loss, params, lam),
    )
    missing = [k for k in params if k not in grads]
    assert_true(not missing, f"{what}: grads lacks the keys {missing}; expected one gradient per parameter")
    for k in params:
        assert_close(
            grads[k],
            want[k],
            f"{what}: grads[{k!r}]",
            rtol=1e-9,
            atol=1e-12,
            mistakes=l2_grad_mistakes(k, base[k], params[k], lam),
        )

        def penalised(v, k=k):
            return ref.l2_loss_and_grads({**params, k: v}, X, y, lam, "tanh")[0]

        assert_finite_differences(grads[k], penalised, params[k], k, what, tol=1e-6, samples=8, seed=seed)
    try:
        got = student.dynamics.l2_loss_and_grads(params, X, y, -0.1, "tanh")
    except StudentError as exc:
        if exc.type == "NotImplementedError":
            raise
        assert_true(
            exc.type == "ValueError",
            f"l2_loss_and_grads(params, X, y, lam=-0.1) raised {exc.type}; expected ValueError (lam < 0)",
        )
    else:
        raise CheckFailure(
            "l2_loss_and_grads(params, X, y, lam=-0.1) returned normally; expected ValueError (lam must be >= 0)"
        )


# ------------------------------------------------------------------------------------------------
# 3. the learning rate
# ------------------------------------------------------------------------------------------------

# Softmax regression on fixed data: the loss of a params dict {"W", "b"} and its gradient. The same
# code runs here (the reference values) and in the worker (the function the student's sweep calls).
SOFTMAX = """
def make(X, y):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    rows = np.arange(len(y))
    def loss_and_grads(p):
        Z = X @ p["W"].T + p["b"]
        m = Z.max(axis=1, keepdims=True)
        E = np.exp(Z - m)
        S = E.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(S[:, 0]) + m[:, 0] - Z[rows, y]))
        P = E / S
        P[rows, y] -= 1.0
        P /= len(y)
        return loss, {"W": P.T @ X, "b": P.sum(axis=0)}
    return loss_and_grads
"""


def _sweep_by_hand(loss_and_grads, params0, lrs, steps, blowup=10.0, variant=None) -> list[dict]:
    """lr_sweep's contract written out, or with one known mistake (``variant``): "shared" (the runs
    do not restart from params0), "no_blowup" (only inf/NaN count as divergence), "vs_previous"
    (the threshold is blowup times the PREVIOUS loss), "counted_calls" (a diverged run reports the
    loss evaluations, s + 1, as steps_run), "blowup_10" (the blowup argument ignored)."""
    blowup = 10.0 if variant == "blowup_10" else blowup
    results, params = [], {k: np.array(v, dtype=np.float64) for k, v in params0.items()}
    with np.errstate(over="ignore", invalid="ignore"):
        for lr in lrs:
            if variant != "shared":
                params = {k: np.array(v, dtype=np.float64) for k, v in params0.items()}
            loss0, prev, row = None, None, None
            for s in range(steps + 1):
                loss, grads = loss_and_grads(params)
                loss0 = loss if loss0 is None else loss0
                base = prev if variant == "vs_previous" and prev is not None else loss0
                if not math.isfinite(loss) or (variant != "no_blowup" and loss > blowup * base):
                    row = {
                        "lr": lr,
                        "final_loss": math.inf,
                        "diverged": True,
                        "steps_run": s + 1 if variant == "counted_calls" else s,
                    }
                    break
                prev = loss
                if s < steps:
                    params = {k: params[k] - lr * grads[k] for k in params}
            results.append(row or {"lr": lr, "final_loss": loss, "diverged": False, "steps_run": steps})
    return results


SWEEP_VARIANTS = {
    "no_blowup": (
        "sweep_blowup_not_detected",
        "the runs whose loss passed blowup * loss_0 were not stopped: a run has "
        "diverged as soon as loss_s > blowup * loss_0 (or is inf/NaN)",
    ),
    "vs_previous": (
        "sweep_blowup_vs_previous_loss",
        "the loss was compared with the PREVIOUS loss: the threshold is blowup times the INITIAL loss loss_0",
    ),
    "counted_calls": (
        "sweep_steps_run_counts_calls",
        "steps_run counts the loss evaluations: it is the number of UPDATES made, s for a run that diverged at loss_s",
    ),
    "blowup_10": ("sweep_blowup_ignored", "the blowup argument was ignored (10 used): compare with blowup * loss_0"),
}


def _signature(rows) -> list:
    try:
        return [(bool(r["diverged"]), int(r["steps_run"])) for r in rows]
    except (TypeError, KeyError, ValueError):
        return []


def check_sweep_variants(got, loss_and_grads, params0, lrs, steps, what, blowup=10.0) -> None:
    """A sweep whose (diverged, steps_run) per lr are those of a known mistake, not the reference's: name it."""
    mine = _signature(got)
    want = _signature(_sweep_by_hand(loss_and_grads, params0, lrs, steps, blowup))
    if not mine or mine == want:
        return
    for variant, (ident, message) in SWEEP_VARIANTS.items():
        if mine == _signature(_sweep_by_hand(loss_and_grads, params0, lrs, steps, blowup, variant)):
            fail(f"{what}: (diverged, steps_run) per learning rate are {mine}; expected {want}", ident, message)


PARABOLA = "lambda p: (0.5 * float(np.sum(p['t'] ** 2)), {'t': np.array(p['t'], dtype=float)})"


def _parabola(p):
    return 0.5 * float(np.sum(p["t"] ** 2)), {"t": np.array(p["t"], dtype=float)}


@pytest.mark.points(0.5)
def test_lr_sweep_softmax_regression(student, seed):
    """lr_sweep of softmax regression over a log grid gives the reference's final losses; diverging runs are flagged; best_lr picks the lowest."""
    rng = np.random.default_rng(seed + 4)
    X, y = 3.0 * rng.normal(size=(30, 5)), rng.integers(0, 4, size=30).astype(np.int64)
    params0 = {"W": rng.normal(0.0, 0.1, size=(4, 5)), "b": np.zeros(4)}
    lrs = [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]
    steps = 15
    local = local_object(SOFTMAX, "make")(X, y)
    want = ref.lr_sweep(local, params0, lrs, steps)
    assert_true(
        any(r["diverged"] for r in want) and not all(r["diverged"] for r in want),
        "internal: the sweep must contain converging and diverging runs",
    )
    shared = _sweep_by_hand(local, params0, lrs, steps, variant="shared")
    got = student.dynamics.lr_sweep(worker_object(student, SOFTMAX, "make")(X, y), params0, lrs, steps)
    what = f"lr_sweep(softmax regression on X of shape {X.shape}, params0, lrs={lrs}, steps={steps})"
    assert_true(
        isinstance(got, list) and len(got) == len(lrs) and all(isinstance(r, dict) for r in got),
        f"{what} returned {getattr(got, 'type_name', type(got).__name__)}; expected a list of {len(lrs)} dicts",
    )
    check_sweep_variants(got, local, params0, lrs, steps, what)
    for i, (r, w) in enumerate(zip(got, want)):
        missing = [k for k in w if k not in r]
        assert_true(not missing, f"{what}: the result for lr = {lrs[i]:g} lacks the keys {missing}")
        label = f"{what}: lr = {lrs[i]:g}"
        flag = r["diverged"]
        assert_true(
            isinstance(flag, (bool, np.bool_)) and bool(flag) == w["diverged"],
            f"{label}: diverged={flag!r}; expected {w['diverged']!r}"
            + (
                " (the loss passes blowup = 10 times the initial loss or becomes inf/NaN: stop the run there)"
                if w["diverged"]
                else ""
            ),
        )
        if w["diverged"]:
            assert_true(
                r["final_loss"] == math.inf,
                f"{label}: final_loss of a diverged run must be inf; got {r['final_loss']!r}",
            )
        else:
            mistakes = (
                {Mistake("sweep_runs_share_params", SHARED_MSG): shared[i]["final_loss"]}
                if math.isfinite(shared[i]["final_loss"])
                else None
            )
            assert_close(r["final_loss"], w["final_loss"], f"{label}: final_loss", rtol=1e-8, mistakes=mistakes)
        assert_true(
            isinstance(r["steps_run"], (int, np.integer)) and r["steps_run"] == w["steps_run"],
            f"{label}: steps_run is {r['steps_run']!r}; expected {w['steps_run']} (the updates made before "
            f"the run stopped)",
        )
    # the blowup argument: L(t) = t^2/2 from t = 1; with blowup = 2 the runs of lr 2.2 and 2.6 diverge (at
    # s = 2 and s = 1), with the default 10 neither would within 5 steps
    lrs, what = [0.5, 2.2, 2.6], "lr_sweep(L(t) = t^2/2, {'t': [1.0]}, [0.5, 2.2, 2.6], steps=5, blowup=2.0)"
    got = student.dynamics.lr_sweep(student.source(PARABOLA), {"t": np.array([1.0])}, lrs, 5, blowup=2.0)
    want = ref.lr_sweep(_parabola, {"t": np.array([1.0])}, lrs, 5, blowup=2.0)
    assert_true(
        isinstance(got, list) and len(got) == 3 and all(isinstance(r, dict) for r in got),
        f"{what} returned {getattr(got, 'type_name', type(got).__name__)}; expected a list of 3 dicts",
    )
    check_sweep_variants(got, _parabola, {"t": np.array([1.0])}, lrs, 5, what, blowup=2.0)
    assert_true(
        _signature(got) == _signature(want),
        f"{what}: (diverged, steps_run) per learning rate are {_signature(got)}; expected {_signature(want)}",
    )
    rows = [
        {"lr": 0.1, "final_loss": 0.5, "diverged": False, "steps_run": 5},
        {"lr": 3.0, "final_loss": 0.2, "diverged": False, "steps_run": 5},
        {"lr": 1.0, "final_loss": 0.2, "diverged": False, "steps_run": 5},
        {"lr": 10.0, "final_loss": math.inf, "diverged": True, "steps_run": 2},
    ]
    got = student.dynamics.best_lr(rows)
    assert_true(
        got == ref.best_lr(rows) == 1.0,
        f"best_lr(results) with final losses 0.5 (lr 0.1), 0.2 (lr 3), 0.2 (lr 1), diverged (lr 10) returned "
        f"{got!r}; expected 1.0 (the lowest final loss of a run that did not diverge, the smaller lr on a tie)",
    )
    assert_true(
        student.dynamics.best_lr(rows[3:]) is None, "best_lr(results) where every run diverged must return None"
    )


# ------------------------------------------------------------------------------------------------
# 4. augmentation
# ------------------------------------------------------------------------------------------------


def _augmented_images(X, copies, max_shift, seed, fresh_rng=False, high=1) -> np.ndarray:
    """X_aug as the reference makes it, or with a known mistake (a new generator per copy, an
    exclusive upper bound of the shifts)."""
    rng = np.random.default_rng(seed)
    parts = [X]
    for _ in range(copies):
        if fresh_rng:
            rng = np.random.default_rng(seed)
        parts.append(ref.shift_images(X, rng.integers(-max_shift, max_shift + high, size=(len(X), 2))))
    return np.concatenate(parts)


@pytest.mark.points(0.5)
def test_augment_with_shifts_matches_reference(student, seed):
    """augment_with_shifts: the originals, then each copy shifted by the seeded draws; labels tiled to match."""
    X_all, y_all, _, _ = digits_split()
    X, y = X_all[:40], y_all[:40]
    copies, max_shift, s = 3, 2, seed + 5
    want_X, want_y = ref.augment_with_shifts(X, y, copies=copies, max_shift=max_shift, seed=s)
    what = f"augment_with_shifts(X, y, copies={copies}, max_shift={max_shift}, seed={s}) with 40 digits"
    got = student.dynamics.augment_with_shifts(X, y, copies=copies, max_shift=max_shift, seed=s)
    assert_true(
        isinstance(got, (tuple, list)) and len(got) == 2,
        f"{what} returned {getattr(got, 'type_name', type(got).__name__)}; expected a tuple (X_aug, y_aug)",
    )
    got_X, got_y = got
    assert_close(
        got_y,
        want_y,
        f"{what}: y_aug",
        rtol=0,
        atol=0,
        mistakes={
            Mistake(
                "augment_labels_repeated_not_tiled",
                "the labels must follow the rows of X_aug: y repeated as a whole block per copy "
                "(np.tile(y, copies + 1)), not each label repeated in place (np.repeat)",
            ): np.repeat(y, copies + 1)
        },
    )
    assert_close(
        got_X,
        want_X,
        f"{what}: X_aug",
        rtol=0,
        atol=1e-12,
        mistakes={
            Mistake(
                "augment_same_shifts_every_copy",
                "every copy got the same shifts: make rng = np.random.default_rng(seed) ONCE, "
                "before the copies, and draw new shifts from it for every copy",
            ): _augmented_images(X, copies, max_shift, s, fresh_rng=True),
            Mistake(
                "augment_shift_upper_bound_excluded",
                "the shifts never reach +max_shift: rng.integers excludes its upper bound, so draw "
                "rng.integers(-max_shift, max_shift + 1, ...)",
            ): _augmented_images(X, copies, max_shift, s, high=0),
        },
    )
    # shape: images of 3 x 4 pixels (not the default 8 x 8)
    small = np.arange(1.0, 25.0).reshape(2, 12)
    what = f"augment_with_shifts(X, y, copies=2, max_shift=1, seed={s}, shape=(3, 4)) with two 3 x 4 images"
    got = student.dynamics.augment_with_shifts(
        small, np.array([3, 5], dtype=np.int32), copies=2, max_shift=1, seed=s, shape=(3, 4)
    )
    assert_true(
        isinstance(got, (tuple, list)) and len(got) == 2,
        f"{what} returned {getattr(got, 'type_name', type(got).__name__)}; expected a tuple (X_aug, y_aug)",
    )
    assert_close(
        got[0],
        ref.augment_with_shifts(small, np.array([3, 5]), copies=2, max_shift=1, seed=s, shape=(3, 4))[0],
        f"{what}: X_aug",
        rtol=0,
        atol=1e-12,
    )
    assert_true(
        isinstance(got[1], np.ndarray) and got[1].dtype == np.int64 and got[1].tolist() == [3, 5] * 3,
        f"{what} with int32 labels [3, 5]: y_aug is {got[1]!r}; expected the int labels [3, 5, 3, 5, 3, 5]",
    )


@pytest.mark.points(0.5)
def test_augmentation_helps_on_shifted_held_out_digits(student, seed):
    """Trained here on your augmented digits, a network classifies shifted held-out digits far better than without augmentation."""
    X_all, y_all, X_te, y_te = digits_split()
    X, y = X_all[:300], y_all[:300]
    got = student.dynamics.augment_with_shifts(X, y, copies=2, max_shift=1, seed=seed + 6)
    what = f"augment_with_shifts(X, y, copies=2, max_shift=1, seed={seed + 6}) with 300 training digits"
    assert_true(
        isinstance(got, (tuple, list)) and len(got) == 2,
        f"{what} returned {getattr(got, 'type_name', type(got).__name__)}; expected a tuple (X_aug, y_aug)",
    )
    X_aug, y_aug = (np.asarray(v) for v in got)
    assert_true(
        X_aug.shape == (900, 64) and y_aug.shape == (900,) and np.all(np.isfinite(X_aug.astype(float))),
        f"{what}: X_aug of shape {X_aug.shape} and y_aug of shape {y_aug.shape}; expected (900, 64) and (900,)",
    )
    assert_close(X_aug[:300], X, f"{what}: rows 0..N-1 of X_aug (the originals, unchanged)", rtol=0, atol=0)
    shifted = ref.shift_images(X_te, np.random.default_rng(seed + 7).integers(-1, 2, size=(len(X_te), 2)))

    def held_out_accuracy(X_train, y_train) -> float:
        model = ref_mb.TwoLayerNet(64, 32, 10, seed=0)
        ref_mb.train(model, X_train, np.asarray(y_train, dtype=np.int64), batch_size=32, lr=0.1, epochs=8, seed=0)
        return ref_mb.accuracy(model, shifted, y_te)

    base = held_out_accuracy(X, y)
    want = held_out_accuracy(*ref.augment_with_shifts(X, y, copies=2, max_shift=1, seed=seed + 6))
    mine = held_out_accuracy(X_aug.astype(np.float64), y_aug)
    assert_true(
        mine >= min(want, base + 0.1) - 0.02,
        f"{what}: a 64-32-10 network trained here on your augmented set classifies {mine:.3f} of {len(y_te)} "
        f"shifted held-out digits correctly; without augmentation {base:.3f}, with the reference's "
        f"augmentation {want:.3f}. Check that every shifted copy keeps its image's label (row j of X_aug "
        f"has label y_aug[j]) and that the shifts move the digit",
    )


# ------------------------------------------------------------------------------------------------
# 5. the landscape
# ------------------------------------------------------------------------------------------------


def _path_variant(x, y, w0, lr, epochs, b, seed, same_order=False, shuffle=True, drop_last=False, scale=None):
    w = np.array(w0, dtype=np.float64)
    rng = np.random.default_rng(seed)
    path = [w.copy()]
    for _ in range(epochs):
        if same_order:
            rng = np.random.default_rng(seed)
        order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
        for start in range(0, len(x) - b + 1 if drop_last else len(x), b):
            idx = order[start : start + b]
            w = w - lr * ref.line_loss_and_grad(w, x[idx], y[idx])[1] * (len(idx) if scale == "sum" else 1)
            path.append(w.copy())
    return np.array(path)


@pytest.mark.points(0.5)
def test_loss_surface_and_descent_paths(student, seed):
    """loss_surface on a 5 x 7 grid, and the paths of batch GD, SGD and mini-batch, equal the reference's."""
    rng = np.random.default_rng(seed + 8)
    n = 13
    x = rng.normal(1.0, 1.0, size=n)
    y = 2.0 * x - 1.0 + rng.normal(0.0, 0.3, size=n)
    w1v, w2v = np.linspace(-1.0, 3.0, 7), np.linspace(-2.0, 2.0, 5)
    want = ref.loss_surface(x, y, w1v, w2v)
    assert_close(
        student.dynamics.loss_surface(x, y, w1v, w2v),
        want,
        "loss_surface(x, y, w1_values (7,), w2_values (5,))",
        inputs={"x": x},
        rtol=1e-10,
        mistakes={SURFACE_SUM: want * n},
    )
    w0 = np.array([-1.0, 2.5])
    for b, epochs, lr in ((n, 3, 0.1), (1, 2, 0.05), (4, 3, 0.1)):
        s = seed + 9 + b
        what = f"descent_path(x, y, w0=[-1, 2.5], lr={lr}, epochs={epochs}, batch_size={b}, seed={s}) with N = {n}"
        got = np.asarray(student.dynamics.descent_path(x, y, w0, lr, epochs, b, s), dtype=np.float64)
        want = ref.descent_path(x, y, w0, lr, epochs, b, s)
        detail = (
            f"{what}: {len(got)} rows; expected {len(want)} = 1 + epochs * ceil(N / B): row 0 is the start "
            f"w0, then one row per update"
        )
        if got.shape == want[1:].shape and np.allclose(got, want[1:], rtol=1e-9, atol=1e-12):
            fail(
                detail,
                "path_without_start",
                "the start is missing: row 0 must be the start w0, then one row per update",
            )
        dropped = _path_variant(x, y, w0, lr, epochs, b, s, drop_last=True)
        if b < n and n % b and got.shape == dropped.shape and np.allclose(got, dropped, rtol=1e-9, atol=1e-12):
            fail(
                detail,
                "path_last_batch_dropped",
                "the last partial batch of every epoch was dropped: it is an "
                "update too (cut the permutation with range(0, N, batch_size))",
            )
        assert_true(got.shape == want.shape, detail)
        mistakes = {
            Mistake(
                "path_sum_gradient",
                "the step uses the SUM over the batch: line_loss_and_grad on the "
                "batch gives the gradient of the MEAN loss; use it as it is",
            ): _path_variant(x, y, w0, lr, epochs, b, s, scale="sum")
        }
        if b < n:
            mistakes.update(
                {
                    Mistake(
                        "path_epoch_order_repeated",
                        "every epoch uses the same order: make rng = np.random.default_rng(seed) once and "
                        "draw a new permutation per epoch",
                    ): _path_variant(x, y, w0, lr, epochs, b, s, same_order=True),
                    Mistake(
                        "path_not_shuffled",
                        "the batches are not shuffled: each epoch visits rng.permutation(N) cut into chunks",
                    ): _path_variant(x, y, w0, lr, epochs, b, s, shuffle=False),
                }
            )
        assert_close(got, want, what, rtol=1e-9, atol=1e-12, mistakes=mistakes)


# ------------------------------------------------------------------------------------------------
# 6. the cost of a gradient
# ------------------------------------------------------------------------------------------------

# A forward difference: size + 1 calls of f per array (not 2 per entry), so a count that is computed
# (2P) instead of counted shows. Runs in the worker as the numerical_gradient passed to the student.
FORWARD = """
def forward_difference(f, x, h=1e-6):
    x = np.asarray(x, dtype=np.float64)
    f0 = float(f(x))
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        g[i] = (float(f(x)) - f0) / h
        x[i] = old
    return g
"""


@pytest.mark.points(0.5)
def test_gradient_cost_is_counted(student, seed):
    """gradient_cost reports the calls of the loss and of backprop that were observed here, and the reference's error between the gradients."""
    rng = np.random.default_rng(seed + 10)
    params = _net((3, 4, 2), rng)
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 2, size=6).astype(np.int64)

    def loss(p):
        return ref.mlp_loss({k: np.asarray(v, dtype=np.float64) for k, v in p.items()}, X, y, "tanh")

    def loss_and_grads(p):
        return ref.mlp_loss_and_grads({k: np.asarray(v, dtype=np.float64) for k, v in p.items()}, X, y, "tanh")

    loss_cb, lag_cb = (student.callback(fn, like=(params,)) for fn in (loss, loss_and_grads))
    forward = worker_object(student, FORWARD, "forward_difference")
    what = "gradient_cost(loss, loss_and_grads, params of a 3-4-2 network, numerical_gradient=a forward difference)"
    got = student.dynamics.gradient_cost(loss_cb, lag_cb, params, forward)
    want = ref.gradient_cost(loss, loss_and_grads, params, local_object(FORWARD, "forward_difference"))
    assert_true(
        isinstance(got, dict), f"{what} returned {getattr(got, 'type_name', type(got).__name__)}; expected a dict"
    )
    missing = [k for k in want if k not in got]
    assert_true(not missing, f"{what}: the result lacks the keys {missing}")
    n_params = sum(v.size for v in params.values())
    assert_true(
        got["n_params"] == n_params,
        f"{what}: n_params is {got['n_params']!r}; expected {n_params}, the number of entries of all parameter arrays",
    )
    seen = len(loss_cb.calls)
    hint = (
        " -- that is 2 * n_params, a formula: count the calls of loss actually made (this numerical_gradient is a "
        "forward difference, size + 1 calls per array)"
        if got["fd_loss_calls"] == 2 * n_params
        else ""
    )
    detail = (
        f"{what}: fd_loss_calls is {got['fd_loss_calls']!r}, but loss was called {seen} times (expected "
        f"{want['fd_loss_calls']}: every call numerical_gradient makes for every parameter)"
    )
    if hint and seen == want["fd_loss_calls"]:
        fail(detail, "cost_computed_not_counted", hint.lstrip(" -"))
    assert_true(got["fd_loss_calls"] == seen == want["fd_loss_calls"], detail)
    assert_true(
        got["backprop_calls"] == len(lag_cb.calls) == 1,
        f"{what}: backprop_calls is {got['backprop_calls']!r} and loss_and_grads was called "
        f"{len(lag_cb.calls)} times; expected exactly one call, counted",
    )
    assert_close(got["max_rel_error"], want["max_rel_error"], f"{what}: max_rel_error", rtol=1e-6, atol=1e-12)


@pytest.mark.points(0.5)
def test_inputs_left_unmodified(student):
    """No call above changed its array arguments in place (seen inside your worker, so worth little)."""
    student.assert_inputs_unmodified()

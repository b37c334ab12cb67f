"""Public checks of Task 9 (dynamics.py): the initialisers, a small L2 case, a sweep on a parabola, a shifted image, a tiny loss surface."""

import math

import numpy as np
import pytest

from grader.checks.support_dynamics import SURFACE_SUM, WRAPS, init_mistakes, l2_grad_mistakes, l2_loss_mistakes
from grader.expected import reference
from grader.gradients import Mistake, assert_close, assert_true

ref = reference("dynamics")  # recorded reference values: students run these checks without the reference


def _draw(std: float, fan_in: int, fan_out: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, std, size=(fan_out, fan_in))


@pytest.mark.points(0.5)
def test_init_weights_three_schemes(student):
    """init_weights(50, 20, scheme, 0) is one draw rng.normal(0, s, size=(20, 50)) with s = 1, sqrt(2/70), sqrt(2/50)."""
    fan_in, fan_out = 50, 20
    stds = {"normal": 1.0, "xavier": math.sqrt(2.0 / (fan_in + fan_out)), "he": math.sqrt(2.0 / fan_in)}
    for scheme, std in stds.items():
        got = student.dynamics.init_weights(fan_in, fan_out, scheme, 0)
        assert_close(
            got,
            _draw(std, fan_in, fan_out),
            f"init_weights({fan_in}, {fan_out}, {scheme!r}, 0) (one call rng.normal(0, s, size=(fan_out, fan_in)) "
            f"with rng = np.random.default_rng(0))",
            rtol=1e-12,
            atol=1e-14,
            mistakes=init_mistakes(scheme, fan_in, fan_out, 0),
        )


@pytest.mark.points(0.5)
def test_l2_small_network(student):
    """l2_loss_and_grads on a 3-4-2 sigmoid network with lam = 0.1: L plus lam/2 times the squared weights; weight gradients + lam W; bias gradients unchanged."""
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(5, 3)), np.array([0, 1, 1, 0, 1], dtype=np.int64)
    params = {
        "W1": rng.normal(size=(4, 3)),
        "b1": rng.normal(0.0, 0.5, size=4),
        "W2": rng.normal(size=(2, 4)),
        "b2": rng.normal(0.0, 0.5, size=2),
    }
    lam = 0.1
    base_loss, base = ref.value("l2-small-plain", lambda r: r.mlp_loss_and_grads(params, X, y, "sigmoid"))
    sq_w = sum(float(np.sum(params[k] ** 2)) for k in ("W1", "W2"))
    what = "l2_loss_and_grads(params, X, y, lam=0.1, 'sigmoid') on a 3-4-2 network with N = 5"
    got = student.dynamics.l2_loss_and_grads(params, X, y, lam, "sigmoid")
    assert_true(
        isinstance(got, (tuple, list)) and len(got) == 2 and isinstance(got[1], dict),
        f"{what} returned {getattr(got, 'type_name', type(got).__name__)}; expected a tuple (loss, grads dict)",
    )
    loss, grads = got
    assert_close(
        loss,
        base_loss + 0.5 * lam * sq_w,
        f"{what}: the penalised loss",
        rtol=1e-10,
        mistakes=l2_loss_mistakes(base_loss, params, lam),
    )
    missing = [k for k in params if k not in grads]
    assert_true(not missing, f"{what}: grads lacks the keys {missing}; expected one gradient per parameter")
    for k in params:
        want = base[k] + lam * params[k] if k.startswith("W") else base[k]
        assert_close(
            grads[k],
            want,
            f"{what}: grads[{k!r}]",
            rtol=1e-10,
            atol=1e-12,
            mistakes=l2_grad_mistakes(k, base[k], params[k], lam),
        )


def _parabola_run(lr: float, steps: int, blowup: float = 10.0) -> tuple[float, bool, int]:
    """The contract of lr_sweep on L(t) = t^2 / 2 from t = 1, written out by hand."""
    t, loss0 = 1.0, 0.5
    for s in range(steps + 1):
        loss = 0.5 * t * t
        if not math.isfinite(loss) or loss > blowup * loss0:
            return math.inf, True, s
        if s < steps:
            t = t - lr * t
    return loss, False, steps


PARABOLA = "lambda p: (0.5 * float(np.sum(p['t'] ** 2)), {'t': np.array(p['t'], dtype=float)})"


def check_sweep(got, lrs, steps: int, what: str) -> None:
    assert_true(
        isinstance(got, list) and len(got) == len(lrs) and all(isinstance(r, dict) for r in got),
        f"{what} returned {getattr(got, 'type_name', type(got).__name__)}; expected a list of {len(lrs)} dicts",
    )
    for lr, r in zip(lrs, got):
        missing = [k for k in ("lr", "final_loss", "diverged", "steps_run") if k not in r]
        assert_true(not missing, f"{what}: the result for lr = {lr:g} lacks the keys {missing}")
        final, diverged, steps_run = _parabola_run(lr, steps)
        assert_true(
            isinstance(r["diverged"], (bool, np.bool_)) and bool(r["diverged"]) == diverged,
            f"{what}: lr = {lr:g} gives diverged={r['diverged']!r}; expected {diverged!r} "
            + (
                "(the loss exceeds blowup = 10 times the initial loss, or becomes inf/NaN: stop that run and "
                "report it as diverged)"
                if diverged
                else "(this run converges)"
            ),
        )
        if diverged:
            assert_true(
                r["final_loss"] == math.inf,
                f"{what}: lr = {lr:g} diverged, so final_loss must be inf; got {r['final_loss']!r}",
            )
        else:
            assert_close(
                r["final_loss"],
                final,
                f"{what}: final_loss for lr = {lr:g} (0.5 (1 - lr)^(2 steps))",
                rtol=1e-9,
                atol=1e-300,
            )
        assert_true(
            isinstance(r["steps_run"], (int, np.integer))
            and not isinstance(r["steps_run"], bool)
            and r["steps_run"] == steps_run,
            f"{what}: steps_run for lr = {lr:g} is {r['steps_run']!r}; expected the int {steps_run} (the "
            f"updates made before the run stopped)",
        )


@pytest.mark.points(1)
def test_log_grid_and_parabola_sweep(student):
    """log_grid(0.01, 10, 7) steps by sqrt(10); on L(t) = t^2/2 from t = 1 a learning rate above 2 diverges, a NaN run is reported, not raised."""
    lrs = 0.01 * math.sqrt(10.0) ** np.arange(7)
    assert_close(
        student.dynamics.log_grid(0.01, 10.0, 7),
        lrs,
        "log_grid(0.01, 10, 7)",
        rtol=1e-12,
        mistakes={
            Mistake(
                "log_grid_linear",
                "evenly spaced on a linear scale (np.linspace); a learning-rate "
                "grid is evenly spaced on a LOG scale (equal ratios, as "
                "np.geomspace)",
            ): np.linspace(0.01, 10.0, 7)
        },
    )
    parabola = student.source(PARABOLA)
    what = "lr_sweep(L(t) = t^2/2, {'t': [1.0]}, log_grid(0.01, 10, 7), steps=20)"
    check_sweep(student.dynamics.lr_sweep(parabola, {"t": np.array([1.0])}, lrs.tolist(), 20), lrs, 20, what)
    what = "lr_sweep(L(t) = t^2/2, {'t': [1.0]}, [1e300], steps=3) (the loss overflows to inf after one step)"
    check_sweep(student.dynamics.lr_sweep(parabola, {"t": np.array([1.0])}, [1e300], 3), [1e300], 3, what)


def _shift_by_hand(images: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    out = np.zeros_like(images)
    n, h, w = images.shape
    for i in range(n):
        dy, dx = shifts[i]
        for r in range(h):
            for c in range(w):
                if 0 <= r - dy < h and 0 <= c - dx < w:
                    out[i, r, c] = images[i, r - dy, c - dx]
    return out.reshape(n, h * w)


@pytest.mark.points(0.5)
def test_shift_images_hand_case(student):
    """shift_images moves a 3 x 4 image down by dy and right by dx: out[r, c] = img[r - dy, c - dx], 0 off the image."""
    img = np.arange(1.0, 13.0).reshape(3, 4)
    images = np.stack([img, img, img, img])
    shifts = np.array([[1, 0], [0, -1], [-1, 2], [0, 0]], dtype=np.int64)
    X = images.reshape(4, 12)
    want = _shift_by_hand(images, shifts)
    rolled = np.stack([np.roll(images[i], tuple(shifts[i]), axis=(0, 1)) for i in range(4)]).reshape(4, 12)
    got = student.dynamics.shift_images(X, shifts, (3, 4))
    assert_close(
        got,
        want,
        "shift_images(X, shifts=[[1, 0], [0, -1], [-1, 2], [0, 0]], shape=(3, 4)) with every row "
        "the image [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]",
        rtol=0,
        atol=0,
        mistakes={
            WRAPS: rolled,
            Mistake(
                "shift_wrong_direction",
                "moved the other way: out[r, c] = img[r - dy, c - dx] moves the image DOWN by dy and RIGHT by dx",
            ): _shift_by_hand(images, -shifts),
            Mistake("shift_dy_dx_swapped", "swapped dy and dx: shifts[i] = (dy, dx), rows first"): _shift_by_hand(
                images, shifts[:, ::-1]
            ),
        },
    )


@pytest.mark.points(0.5)
def test_loss_surface_hand_case(student):
    """loss_surface on 3 points and a grid of 2 x 3 values: S[i, j] is the MSE at w1 = w1_values[j], w2 = w2_values[i]."""
    x, y = np.array([0.0, 1.0, 2.0]), np.array([1.0, 3.0, 5.0])
    w1v, w2v = np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0])
    want = np.array([[np.mean((a * x + b - y) ** 2) for a in w1v] for b in w2v])
    got = student.dynamics.loss_surface(x, y, w1v, w2v)
    assert_close(
        got,
        want,
        "loss_surface(x=[0, 1, 2], y=[1, 3, 5], w1_values=[0, 1, 2], w2_values=[0, 1])",
        rtol=1e-12,
        mistakes={SURFACE_SUM: want * 3},
    )

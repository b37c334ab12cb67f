"""Specs of the Task 9 reference (solutions/dynamics.py): initialisers and per-layer gradient norms,
L2 weight decay, the learning-rate sweep, shift augmentation, the loss surface and descent paths,
the cost of a gradient, and the handout blocks and figures. Oracles: PyTorch float64 autograd and
central differences, the parabola's 2/a stability limit, explicit loops."""

from __future__ import annotations

import math
import pathlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solutions import dynamics as dy
from solutions import gradcheck as gc
from solutions import minibatch as mb

SETTINGS = settings(derandomize=True, database=None, deadline=None, max_examples=30)
ROOT = pathlib.Path(__file__).resolve().parents[1]


def _net(sizes, seed=0, bias=0.2):
    rng = np.random.default_rng(seed)
    params = {}
    for l in range(1, len(sizes)):
        params[f"W{l}"] = rng.normal(0.0, math.sqrt(2.0 / sizes[l - 1]), size=(sizes[l], sizes[l - 1]))
        params[f"b{l}"] = rng.normal(0.0, bias, size=sizes[l])
    X = rng.normal(size=(6, sizes[0]))
    y = rng.integers(0, sizes[-1], size=6)
    return params, X, y


def _torch_loss_and_grads(params, X, y, activation, lam=0.0):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    A = torch.tensor(X, dtype=torch.float64)
    L = dy.num_layers(params)
    act = {"sigmoid": torch.sigmoid, "relu": torch.relu, "tanh": torch.tanh}[activation]
    for l in range(1, L + 1):
        Z = A @ t[f"W{l}"].T + t[f"b{l}"]
        A = act(Z) if l < L else Z
    loss = torch.nn.functional.cross_entropy(A, torch.tensor(y, dtype=torch.int64))
    loss = loss + 0.5 * lam * sum((t[f"W{l}"] ** 2).sum() for l in range(1, L + 1))
    loss.backward()
    return float(loss.detach()), {k: v.grad.numpy() for k, v in t.items()}


# ----------------------------------------------------------------------------------------
# the given MLP (the oracle of the rest)
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", dy.ACTIVATIONS)
def test_mlp_matches_torch(activation):
    params, X, y = _net((5, 7, 6, 4, 3), seed=1)
    loss, grads = dy.mlp_loss_and_grads(params, X, y, activation)
    t_loss, t_grads = _torch_loss_and_grads(params, X, y, activation)
    assert loss == pytest.approx(t_loss, rel=1e-12)
    assert list(grads) == list(params)
    for k in params:
        np.testing.assert_allclose(grads[k], t_grads[k], rtol=1e-9, atol=1e-13)
    assert dy.mlp_loss(params, X, y, activation) == pytest.approx(loss, rel=1e-14)


# ----------------------------------------------------------------------------------------
# 1. initialisation and depth
# ----------------------------------------------------------------------------------------


class TestInit:
    @pytest.mark.parametrize("scheme, std", [("normal", 1.0), ("xavier", math.sqrt(2 / 70)), ("he", math.sqrt(2 / 50))])
    def test_exactly_one_seeded_draw(self, scheme, std):
        W = dy.init_weights(50, 20, scheme, 3)
        np.testing.assert_array_equal(W, np.random.default_rng(3).normal(0.0, std, size=(20, 50)))
        assert W.shape == (20, 50) and W.dtype == np.float64

    def test_generator_is_advanced(self):
        rng, twin = np.random.default_rng(7), np.random.default_rng(7)
        first, second = dy.init_weights(4, 3, "he", rng), dy.init_weights(4, 3, "he", rng)
        np.testing.assert_array_equal(first, twin.normal(0.0, math.sqrt(0.5), size=(3, 4)))
        np.testing.assert_array_equal(second, twin.normal(0.0, math.sqrt(0.5), size=(3, 4)))

    @pytest.mark.parametrize("scheme, var", [("normal", 1.0), ("xavier", 2 / 700), ("he", 2 / 400)])
    def test_sample_variance(self, scheme, var):
        W = dy.init_weights(400, 300, scheme, 0)
        assert W.var() == pytest.approx(var, rel=0.02) and abs(W.mean()) < 0.02 * math.sqrt(var)

    def test_unknown_scheme(self):
        with pytest.raises(ValueError):
            dy.init_weights(3, 2, "glorot", 0)

    def test_mlp_init_uses_one_generator_in_layer_order(self):
        params = dy.mlp_init((5, 4, 3), "xavier", seed=2)
        rng = np.random.default_rng(2)
        np.testing.assert_array_equal(params["W1"], rng.normal(0, math.sqrt(2 / 9), size=(4, 5)))
        np.testing.assert_array_equal(params["W2"], rng.normal(0, math.sqrt(2 / 7), size=(3, 4)))
        assert list(params) == ["W1", "b1", "W2", "b2"] and not params["b1"].any()


class TestLayerGradientNorms:
    @pytest.mark.parametrize("activation", ["sigmoid", "relu"])
    def test_frobenius_norms_input_first_match_torch(self, activation):
        params, X, y = _net((6, 5, 5, 5, 3), seed=4)
        _, t_grads = _torch_loss_and_grads(params, X, y, activation)
        want = [np.linalg.norm(t_grads[f"W{l}"]) for l in range(1, 5)]
        got = dy.layer_gradient_norms(params, X, y, activation)
        assert got.shape == (4,) and got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=1e-9)

    def test_deep_sigmoid_vanishes_and_relu_he_does_not(self):
        rng = np.random.default_rng(0)
        X, y = rng.uniform(0, 1, size=(50, 16)), rng.integers(0, 4, size=50)
        sizes = (16,) + (24,) * 9 + (4,)
        sig = dy.layer_gradient_norms(dy.mlp_init(sizes, "xavier", 0), X, y, "sigmoid")
        relu = dy.layer_gradient_norms(dy.mlp_init(sizes, "he", 0), X, y, "relu")
        exploding = dy.layer_gradient_norms(dy.mlp_init(sizes, "normal", 0), X, y, "relu")
        assert sig[0] / sig[-1] < 1e-3  # vanishing: the input layer gets a tiny fraction
        assert 0.1 < relu[0] / relu[-1] < 10  # He keeps every layer of the same order
        assert exploding.min() > 1e3 * relu.max()  # N(0, 1) with ReLU explodes
        assert np.all(np.isfinite(exploding))


# ----------------------------------------------------------------------------------------
# 2. L2
# ----------------------------------------------------------------------------------------


class TestL2:
    def test_matches_torch_with_penalty_on_weights_only(self):
        params, X, y = _net((4, 6, 3), seed=5)
        loss, grads = dy.l2_loss_and_grads(params, X, y, 0.3, "tanh")
        t_loss, t_grads = _torch_loss_and_grads(params, X, y, "tanh", lam=0.3)
        assert loss == pytest.approx(t_loss, rel=1e-12)
        for k in params:
            np.testing.assert_allclose(grads[k], t_grads[k], rtol=1e-9, atol=1e-13)

    @pytest.mark.parametrize("activation", dy.ACTIVATIONS)
    def test_gradient_matches_central_differences(self, activation):
        params, X, y = _net((3, 5, 4, 2), seed=6)
        X = X + 0.37  # ReLU inputs away from 0
        _, grads = dy.l2_loss_and_grads(params, X, y, 0.2, activation)
        for k in params:
            numeric = gc.numerical_gradient(
                lambda v, k=k: dy.l2_loss_and_grads({**params, k: v}, X, y, 0.2, activation)[0], params[k].copy()
            )
            assert gc.relative_error(grads[k], numeric) < 1e-6, k

    def test_lam_zero_is_the_plain_loss_and_biases_unchanged(self):
        params, X, y = _net((4, 3, 2), seed=7)
        loss0, plain = dy.mlp_loss_and_grads(params, X, y, "relu")
        loss, grads = dy.l2_loss_and_grads(params, X, y, 0.0, "relu")
        assert loss == loss0
        for k in params:
            np.testing.assert_array_equal(grads[k], plain[k])
        _, decayed = dy.l2_loss_and_grads(params, X, y, 0.5, "relu")
        np.testing.assert_array_equal(decayed["b1"], plain["b1"])
        np.testing.assert_allclose(decayed["W1"], plain["W1"] + 0.5 * params["W1"], rtol=1e-15)

    def test_step_is_weight_decay(self):
        params, X, y = _net((4, 5, 3), seed=8)
        lr, lam = 0.1, 0.05
        _, grads = dy.l2_loss_and_grads(params, X, y, lam, "sigmoid")
        _, plain = dy.mlp_loss_and_grads(params, X, y, "sigmoid")
        for k in params:  # W <- (1 - lr lam) W - lr dL/dW; b <- b - lr dL/db
            decay = 1 - lr * lam if k.startswith("W") else 1.0
            np.testing.assert_allclose(
                params[k] - lr * grads[k], decay * params[k] - lr * plain[k], rtol=1e-13, atol=1e-15
            )

    def test_inputs_not_mutated_and_negative_lam_refused(self):
        params, X, y = _net((4, 3, 2), seed=9)
        before = {k: v.copy() for k, v in params.items()}
        dy.l2_loss_and_grads(params, X, y, 0.1, "relu")
        for k in params:
            np.testing.assert_array_equal(params[k], before[k])
        with pytest.raises(ValueError):
            dy.l2_loss_and_grads(params, X, y, -0.1, "relu")


# ----------------------------------------------------------------------------------------
# 3. the learning rate
# ----------------------------------------------------------------------------------------


def _quadratic(a):
    a = np.asarray(a, dtype=np.float64)
    return lambda p: (0.5 * float(np.sum(a * p["t"] ** 2)), {"t": a * p["t"]})


class TestLearningRate:
    def test_log_grid(self):
        g = dy.log_grid(1e-3, 10.0, 5)
        np.testing.assert_allclose(g, [1e-3, 1e-2, 1e-1, 1.0, 10.0], rtol=1e-14)
        assert g[0] == 1e-3 and g[-1] == 10.0
        np.testing.assert_array_equal(dy.log_grid(0.5, 0.5, 1), [0.5])
        with pytest.raises(ValueError):
            dy.log_grid(0.0, 1.0, 3)

    @SETTINGS
    @given(low=st.floats(1e-6, 1.0), factor=st.floats(1.0, 1e6), num=st.integers(2, 20))
    def test_log_grid_has_equal_ratios(self, low, factor, num):
        g = dy.log_grid(low, low * factor, num)
        np.testing.assert_allclose(g[1:] / g[:-1], factor ** (1 / (num - 1)), rtol=1e-9)

    def test_parabola_diverges_exactly_above_two_over_the_largest_curvature(self):
        a = np.array([1.0, 4.0])  # stable iff lr < 2 / 4
        lrs = [0.05, 0.2, 0.45, 0.55, 0.8, 2.0]
        res = dy.lr_sweep(_quadratic(a), {"t": np.array([1.0, 1.0])}, lrs, 60)
        assert [r["diverged"] for r in res] == [lr > 0.5 for lr in lrs]
        for lr, r in zip(lrs, res):
            assert r["lr"] == lr
            if lr < 0.5:
                want = 0.5 * float(np.sum(a * (1 - lr * a) ** 120))
                assert r["final_loss"] == pytest.approx(want, rel=1e-9) and r["steps_run"] == 60
            else:
                assert r["final_loss"] == math.inf and r["steps_run"] < 60

    def test_blowup_stops_at_the_first_loss_above_ten_times_the_first(self):
        res = dy.lr_sweep(_quadratic([1.0]), {"t": np.array([1.0])}, [3.0, 5.0], 10)
        # |1 - lr| = 2: the loss is 4^s times the first, > 10 at s = 2; |1 - lr| = 4: 16 > 10 at s = 1
        assert [(r["diverged"], r["steps_run"]) for r in res] == [(True, 2), (True, 1)]

    def test_overflow_and_nan_are_reported_not_raised(self):
        with np.errstate(all="raise"):
            res = dy.lr_sweep(_quadratic([1.0]), {"t": np.array([1.0])}, [1e300], 5)
        assert res == [{"lr": 1e300, "final_loss": math.inf, "diverged": True, "steps_run": 1}]

        def nan_after_two(p):
            return (float("nan") if p["t"][0] < 0.3 else 0.5 * float(p["t"][0] ** 2)), {"t": p["t"].copy()}

        (r,) = dy.lr_sweep(nan_after_two, {"t": np.array([1.0])}, [0.5], 10)
        assert r["diverged"] and r["steps_run"] == 2

    def test_every_run_starts_from_params0_which_is_not_mutated(self):
        p0 = {"t": np.array([1.0, -2.0])}
        seen = []

        def lag(p):
            seen.append(p["t"].copy())
            return _quadratic([1.0, 2.0])(p)

        dy.lr_sweep(lag, p0, [0.1, 0.3], 3)
        np.testing.assert_array_equal(p0["t"], [1.0, -2.0])
        assert len(seen) == 8
        np.testing.assert_array_equal(seen[0], [1.0, -2.0])
        np.testing.assert_array_equal(seen[4], [1.0, -2.0])

    def test_matches_a_hand_written_loop_on_the_mlp(self):
        params, X, y = _net((5, 4, 3), seed=10)
        p0 = {k: v.copy() for k, v in params.items()}
        res = dy.lr_sweep(lambda p: dy.mlp_loss_and_grads(p, X, y, "tanh"), params, [0.3], 7)
        for _ in range(7):
            _, g = dy.mlp_loss_and_grads(p0, X, y, "tanh")
            p0 = {k: p0[k] - 0.3 * g[k] for k in p0}
        assert res[0]["final_loss"] == pytest.approx(dy.mlp_loss(p0, X, y, "tanh"), rel=1e-12)

    def test_best_lr(self):
        rows = [
            {"lr": 0.1, "final_loss": 0.5, "diverged": False},
            {"lr": 3.0, "final_loss": 0.2, "diverged": False},
            {"lr": 1.0, "final_loss": 0.2, "diverged": False},
            {"lr": 9.0, "final_loss": math.inf, "diverged": True},
        ]
        assert dy.best_lr(rows) == 1.0
        assert dy.best_lr(rows[3:]) is None


# ----------------------------------------------------------------------------------------
# 4. augmentation
# ----------------------------------------------------------------------------------------


def _shift_loop(img, dy_, dx_):
    h, w = img.shape
    out = np.zeros_like(img)
    for r in range(h):
        for c in range(w):
            if 0 <= r - dy_ < h and 0 <= c - dx_ < w:
                out[r, c] = img[r - dy_, c - dx_]
    return out


class TestAugmentation:
    @SETTINGS
    @given(h=st.integers(1, 6), w=st.integers(1, 6), n=st.integers(1, 4), seed=st.integers(0, 10**6))
    def test_shift_equals_the_pixel_loop(self, h, w, n, seed):
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(n, h * w))
        shifts = np.stack([rng.integers(-h + 1, h, size=n), rng.integers(-w + 1, w, size=n)], axis=1)
        X0 = X.copy()
        got = dy.shift_images(X, shifts, (h, w))
        want = np.stack([_shift_loop(X[i].reshape(h, w), *shifts[i]).ravel() for i in range(n)])
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(X, X0)

    def test_hand_case_and_identity(self):
        img = np.arange(1.0, 10.0).reshape(1, 9)
        np.testing.assert_array_equal(dy.shift_images(img, [[1, -1]], (3, 3)), [[0, 0, 0, 2, 3, 0, 5, 6, 0]])
        np.testing.assert_array_equal(dy.shift_images(img, [[0, 0]], (3, 3)), img)

    def test_augment_layout_labels_and_seed(self):
        rng = np.random.default_rng(0)
        X, y = rng.uniform(size=(5, 64)), np.arange(5)
        Xa, ya = dy.augment_with_shifts(X, y, copies=3, max_shift=2, seed=4)
        assert Xa.shape == (20, 64) and ya.dtype == np.int64
        np.testing.assert_array_equal(Xa[:5], X)
        np.testing.assert_array_equal(ya, np.tile(y, 4))
        draw = np.random.default_rng(4)
        for k in range(1, 4):
            np.testing.assert_array_equal(
                Xa[5 * k : 5 * (k + 1)], dy.shift_images(X, draw.integers(-2, 3, size=(5, 2)))
            )
        again = dy.augment_with_shifts(X, y, copies=3, max_shift=2, seed=4)
        np.testing.assert_array_equal(again[0], Xa)
        assert not np.array_equal(dy.augment_with_shifts(X, y, copies=3, max_shift=2, seed=5)[0], Xa)
        np.testing.assert_array_equal(dy.augment_with_shifts(X, y, copies=0)[0], X)

    def test_augmentation_improves_accuracy_on_shifted_held_out_digits(self):
        from grader.checks.heldout import digits_split  # the digits without importing scikit-learn

        X_all, y_all, X_te, y_te = digits_split()
        X, y = X_all[:300], y_all[:300]
        shifted = dy.shift_images(X_te, np.random.default_rng(1).integers(-1, 2, size=(len(X_te), 2)))

        def accuracy(Xt, yt, on):
            model = mb.TwoLayerNet(64, 32, 10, seed=0)
            mb.train(model, Xt, yt, batch_size=32, lr=0.1, epochs=8, seed=0)
            return mb.accuracy(model, on, y_te)

        augmented = dy.augment_with_shifts(X, y, copies=2, seed=0)
        assert accuracy(*augmented, shifted) > accuracy(X, y, shifted) + 0.05


# ----------------------------------------------------------------------------------------
# 5. the landscape
# ----------------------------------------------------------------------------------------


class TestLandscape:
    def _line(self, n=11, seed=0):
        rng = np.random.default_rng(seed)
        x = rng.normal(1.0, 1.0, size=n)
        return x, 2 * x - 1 + rng.normal(0, 0.2, size=n)

    def test_surface_equals_loops_rows_follow_w2(self):
        x, y = self._line()
        w1, w2 = np.linspace(-1, 3, 5), np.linspace(-2, 1, 4)
        S = dy.loss_surface(x, y, w1, w2)
        assert S.shape == (4, 5)
        for i, b in enumerate(w2):
            for j, a in enumerate(w1):
                assert S[i, j] == pytest.approx(dy.line_loss_and_grad(np.array([a, b]), x, y)[0], rel=1e-12)

    def test_surface_minimum_is_least_squares(self):
        x, y = self._line(n=30)
        best = np.linalg.lstsq(np.stack([x, np.ones_like(x)], 1), y, rcond=None)[0]
        w1, w2 = np.linspace(best[0] - 1, best[0] + 1, 201), np.linspace(best[1] - 1, best[1] + 1, 201)
        i, j = np.unravel_index(np.argmin(dy.loss_surface(x, y, w1, w2)), (201, 201))
        assert abs(w1[j] - best[0]) <= 0.01 and abs(w2[i] - best[1]) <= 0.01

    def test_line_gradient_matches_central_differences(self):
        x, y = self._line()
        w = np.array([0.3, -0.7])
        numeric = gc.numerical_gradient(lambda v: dy.line_loss_and_grad(v, x, y)[0], w.copy())
        assert gc.relative_error(dy.line_loss_and_grad(w, x, y)[1], numeric) < 1e-8

    @pytest.mark.parametrize("b", [1, 3, 11, 20])
    def test_path_equals_task6_batches(self, b):
        x, y = self._line()
        path = dy.descent_path(x, y, [0.0, 0.0], 0.05, 3, b, seed=2)
        rng = np.random.default_rng(2)
        w, want = np.zeros(2), [np.zeros(2)]
        for _ in range(3):
            for idx in mb.batch_indices(len(x), b, shuffle=True, seed=rng):
                w = w - 0.05 * dy.line_loss_and_grad(w, x[idx], y[idx])[1]
                want.append(w)
        assert path.shape == (1 + 3 * math.ceil(len(x) / b), 2)
        np.testing.assert_allclose(path, np.array(want), rtol=1e-12, atol=1e-15)

    def test_batch_gd_converges_to_least_squares(self):
        x, y = self._line(n=25)
        best = np.linalg.lstsq(np.stack([x, np.ones_like(x)], 1), y, rcond=None)[0]
        path = dy.descent_path(x, y, [-1.5, 3.0], 0.1, 2000, 25)
        np.testing.assert_allclose(path[-1], best, atol=1e-6)


# ----------------------------------------------------------------------------------------
# 6. the cost of a gradient
# ----------------------------------------------------------------------------------------


class TestGradientCost:
    @pytest.mark.parametrize("width", [1, 3, 7])
    def test_centred_differences_need_two_calls_per_parameter(self, width):
        params, X, y = _net((4, width, 3), seed=11)
        calls = {"loss": 0, "lag": 0}

        def loss(p):
            calls["loss"] += 1
            return dy.mlp_loss(p, X, y, "tanh")

        def lag(p):
            calls["lag"] += 1
            return dy.mlp_loss_and_grads(p, X, y, "tanh")

        res = dy.gradient_cost(loss, lag, params, gc.numerical_gradient)
        P = sum(v.size for v in params.values())
        assert res["n_params"] == P == 4 * width + width + 3 * width + 3
        assert res["fd_loss_calls"] == calls["loss"] == 2 * P
        assert res["backprop_calls"] == calls["lag"] == 1
        assert res["max_rel_error"] < 1e-6

    def test_counts_what_a_forward_difference_calls(self):
        params, X, y = _net((3, 2, 2), seed=12)

        def forward(f, x, h=1e-6):
            f0, g = f(x), np.zeros_like(x)
            for i in np.ndindex(x.shape):
                old = x[i]
                x[i] = old + h
                g[i] = (f(x) - f0) / h
                x[i] = old
            return g

        res = dy.gradient_cost(
            lambda p: dy.mlp_loss(p, X, y), lambda p: dy.mlp_loss_and_grads(p, X, y), params, forward
        )
        assert res["fd_loss_calls"] == sum(v.size + 1 for v in params.values())
        assert 1e-8 < res["max_rel_error"] < 1e-2  # a forward difference is only O(h) accurate


# ----------------------------------------------------------------------------------------
# the handout: generated blocks are fresh, the figures can be written
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dynamics_gradient_norms.png", "dynamics_landscape.png", "dynamics_lr_sweep.png"])
def test_figures_are_written(tmp_path, name):
    pytest.importorskip("matplotlib")
    from grader.course.worked import dynamics as worked

    out = tmp_path / name
    worked.FIGURES[name](out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

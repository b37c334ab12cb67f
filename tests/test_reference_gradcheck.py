"""Tests of the reference solutions/gradcheck.py (Task 5), read as a spec.

Per function: hand-computable cases first, then properties (hypothesis), then oracles
(known derivatives, PyTorch autograd in float64, the reference backprop).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solutions import backprop as bp
from solutions import gradcheck as gc

ROOT = Path(__file__).resolve().parents[1]
PROPS = settings(derandomize=True, database=None, deadline=None, max_examples=30)
N, D, H, C = 5, 4, 6, 3


def cube(x):
    return float(np.sum(x**3))


def forward_difference(f, x, h):
    x = np.array(x, dtype=np.float64)
    f0 = f(x)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        g[i] = (f(x) - f0) / h
        x[i] = old
    return g


# ---------------------------------------------------------------------------------------------
# numerical_gradient
# ---------------------------------------------------------------------------------------------


class TestNumericalGradient:
    def test_cube_gives_three_x_squared(self):
        x = np.array([-1.5, -0.5, 0.25, 1.0, 2.0])
        g = gc.numerical_gradient(cube, x)
        np.testing.assert_allclose(g, 3 * x**2, rtol=1e-8)

    def test_centred_error_is_exactly_h_squared_on_cube(self):
        # (f(x+h) - f(x-h)) / 2h = 3x^2 + h^2 for f = x^3: a centred difference with the 2h
        # denominator, not a forward one (error 3xh + h^2) and not a factor off.
        x = np.array([-1.5, 0.25, 1.0, 2.0])
        h = 1e-3
        g = gc.numerical_gradient(cube, x, h=h)
        np.testing.assert_allclose(g - 3 * x**2, h**2, rtol=1e-4)

    def test_centred_visibly_better_than_forward_at_h_1e3(self):
        x = np.array([-1.5, -0.5, 0.25, 1.0, 2.0])
        exact = 3 * x**2
        centred = np.abs(gc.numerical_gradient(cube, x, h=1e-3) - exact).max()
        forward = np.abs(forward_difference(cube, x, 1e-3) - exact).max()
        assert centred < 1e-5 < 1e-3 < forward
        assert centred < forward / 1000

    def test_x_unchanged_bitwise(self):
        # 0.1 + 1e-5 - 1e-5 != 0.1 in float64: restoring by subtraction is not enough.
        x = np.array([[0.1, 0.7, 1 / 3], [2.2, -0.3, 1e-8]])
        assert (x + 1e-5 - 1e-5 != x).any()
        x0 = x.copy()
        gc.numerical_gradient(lambda v: float(np.sum(np.sin(v))), x)
        assert x.dtype == np.float64
        assert np.array_equal(x, x0)

    def test_perturbs_in_place_so_closures_see_it(self):
        x = np.array([1.0, 2.0, 3.0])
        g = gc.numerical_gradient(lambda _ignored: float(np.sum(x**2)), x)
        np.testing.assert_allclose(g, 2 * x, rtol=1e-9)

    def test_restores_x_when_f_raises(self):
        x = np.array([1.0, 2.0, 3.0])
        x0 = x.copy()
        calls = []

        def f(v):
            calls.append(1)
            if len(calls) == 4:
                raise RuntimeError("boom")
            return float(v.sum())

        with pytest.raises(RuntimeError):
            gc.numerical_gradient(f, x)
        assert np.array_equal(x, x0)

    def test_any_shape_and_scalar_like_outputs(self):
        x = np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 10
        g = gc.numerical_gradient(lambda v: np.array([np.sum(v**2)]), x)  # size-1 array output
        assert g.shape == x.shape and g.dtype == np.float64
        np.testing.assert_allclose(g, 2 * x, rtol=1e-8, atol=1e-10)
        g0 = gc.numerical_gradient(lambda v: float(v**2), np.array(1.5))
        assert g0.shape == () and float(g0) == pytest.approx(3.0, rel=1e-9)

    def test_number_of_calls(self):
        calls = []
        gc.numerical_gradient(lambda v: calls.append(1) or 0.0, np.zeros((2, 3)))
        assert len(calls) == 12

    @PROPS
    @given(st.integers(0, 2**31), st.lists(st.integers(1, 4), min_size=1, max_size=3))
    def test_linear_function_exact_and_shape(self, seed, shape):
        rng = np.random.default_rng(seed)
        c = rng.normal(size=shape)
        x = rng.normal(size=shape)
        x0 = x.copy()
        g = gc.numerical_gradient(lambda v: float(np.sum(c * v)), x)
        assert g.shape == x.shape
        np.testing.assert_allclose(g, c, rtol=1e-6, atol=1e-9)
        assert np.array_equal(x, x0)

    def test_matches_torch_autograd(self):
        torch = pytest.importorskip("torch")
        rng = np.random.default_rng(0)
        x = rng.normal(size=(3, 4))

        def f(v):
            return float(np.sum(np.tanh(v) * np.exp(v / 3)) + np.log1p(np.sum(v**2)))

        xt = torch.tensor(x, requires_grad=True)
        (torch.sum(torch.tanh(xt) * torch.exp(xt / 3)) + torch.log1p(torch.sum(xt**2))).backward()
        assert gc.relative_error(gc.numerical_gradient(f, x), xt.grad.numpy()) < 1e-8


# ---------------------------------------------------------------------------------------------
# relative_error
# ---------------------------------------------------------------------------------------------


class TestRelativeError:
    @pytest.mark.parametrize(
        "a,b,expected",
        [
            ([1.0, 2.0], [1.0, 2.0], 0.0),
            ([3.0], [1.0], 0.5),
            ([1.0], [-1.0], 1.0),
            ([1.0], [0.0], 1.0),
            ([0.0], [0.0], 0.0),
            ([1e-9], [0.0], 0.1),  # the 1e-8 floor
            ([1.0, 3.0, 10.0], [1.0, 1.0, 10.0], 0.5),  # max over entries
            ([[2.0, 0.0], [0.0, 4.0]], [[2.0, 0.0], [0.0, 6.0]], 0.2),
        ],
    )
    def test_hand_cases(self, a, b, expected):
        r = gc.relative_error(np.array(a), np.array(b))
        assert isinstance(r, float)
        assert r == pytest.approx(expected, rel=1e-12, abs=1e-300)

    def test_forgot_one_over_n_pattern(self):
        g = np.array([0.3, -0.2, 0.05])
        assert gc.relative_error(5 * g, g) == pytest.approx(4 / 6, rel=1e-12)

    def test_scalars_and_shape_mismatch(self):
        assert gc.relative_error(2.0, 1.0) == pytest.approx(1 / 3)
        with pytest.raises(ValueError):
            gc.relative_error(np.zeros(3), np.zeros((3, 1)))

    @PROPS
    @given(st.integers(0, 2**31), st.integers(1, 10))
    def test_symmetric_in_unit_interval_unmodified(self, seed, n):
        rng = np.random.default_rng(seed)
        a = rng.normal(size=n) * 10.0 ** rng.integers(-12, 3, size=n)
        b = rng.normal(size=n) * 10.0 ** rng.integers(-12, 3, size=n)
        a0, b0 = a.copy(), b.copy()
        r = gc.relative_error(a, b)
        assert 0.0 <= r <= 1.0
        assert r == gc.relative_error(b, a)
        assert gc.relative_error(a, a) == 0.0
        assert np.array_equal(a, a0) and np.array_equal(b, b0)


# ---------------------------------------------------------------------------------------------
# check_gradients
# ---------------------------------------------------------------------------------------------


def mlp(seed=0, hidden="sigmoid"):
    """A 4-6-3 network on 5 samples, softmax cross-entropy: f(params dict) and its grads."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D))
    y = rng.integers(0, C, size=N)
    params = {
        "W1": rng.normal(size=(H, D)),
        "b1": rng.normal(size=H),
        "W2": rng.normal(size=(C, H)),
        "b2": rng.normal(size=C),
    }

    def as_list(p):
        return [(p["W1"], p["b1"]), (p["W2"], p["b2"])]

    def f(p):
        cache = bp.forward(X, as_list(p), hidden, "softmax")
        return bp.loss(cache["A"][-1], y, "softmax", Z_L=cache["Z"][-1])

    cache = bp.forward(X, as_list(params), hidden, "softmax")
    g = bp.backward(cache, as_list(params), y, hidden, "softmax")
    grads = {"W1": g[0][0], "b1": g[0][1], "W2": g[1][0], "b2": g[1][1]}
    D_ = bp.deltas(cache, as_list(params), y, hidden, "softmax")
    return f, params, grads, D_


class TestCheckGradients:
    def test_correct_gradients_pass_with_report_format(self):
        f, params, grads, _ = mlp()
        rep = gc.check_gradients(f, params, grads)
        assert list(rep) == ["W1", "b1", "W2", "b2"]
        for name, r in rep.items():
            assert set(r) == {"max_rel_error", "worst_index", "analytic", "numeric", "passed"}
            assert type(r["max_rel_error"]) is float and type(r["analytic"]) is float and type(r["numeric"]) is float
            assert type(r["passed"]) is bool and r["passed"]
            assert isinstance(r["worst_index"], tuple) and all(type(i) is int for i in r["worst_index"])
            assert len(r["worst_index"]) == params[name].ndim
            assert r["max_rel_error"] < 1e-7
            assert r["analytic"] == float(grads[name][r["worst_index"]])
            assert r["numeric"] == pytest.approx(r["analytic"], rel=1e-6, abs=1e-12)

    def test_catches_planted_bias_bug_per_parameter(self):
        f, params, grads, D_ = mlp()
        bad = dict(grads)
        bad["b1"] = D_[0].mean(axis=0)  # averaged instead of summed over the batch: N times too small
        rep = gc.check_gradients(f, params, bad)
        assert not rep["b1"]["passed"]
        assert rep["b1"]["max_rel_error"] == pytest.approx((N - 1) / (N + 1), rel=1e-5)
        assert rep["W1"]["passed"] and rep["W2"]["passed"] and rep["b2"]["passed"]

    def test_worst_index_points_at_the_wrong_entry(self):
        f, params, grads, _ = mlp()
        bad = {k: v.copy() for k, v in grads.items()}
        bad["W2"][2, 4] *= -1
        rep = gc.check_gradients(f, params, bad)
        assert rep["W2"]["worst_index"] == (2, 4)
        assert rep["W2"]["max_rel_error"] == pytest.approx(1.0, abs=1e-6)
        assert rep["W2"]["analytic"] == pytest.approx(-rep["W2"]["numeric"], rel=1e-6)
        assert [k for k, r in rep.items() if not r["passed"]] == ["W2"]

    def test_numeric_matches_torch(self):
        torch = pytest.importorskip("torch")
        rng = np.random.default_rng(3)
        A = rng.normal(size=(3, 4))
        params = {"u": rng.normal(size=4), "M": rng.normal(size=(4, 2))}

        def f(p):
            return float(np.sum(np.tanh(A @ (p["u"][:, None] * p["M"])) ** 2))

        tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
        torch.sum(torch.tanh(torch.from_numpy(A) @ (tp["u"][:, None] * tp["M"])) ** 2).backward()
        rep = gc.check_gradients(f, params, {k: v.grad.numpy() for k, v in tp.items()})
        assert all(r["passed"] and r["max_rel_error"] < 1e-8 for r in rep.values())

    def test_never_mutates_inputs(self):
        f, params, grads, _ = mlp()
        p0 = {k: v.copy() for k, v in params.items()}
        g0 = {k: v.copy() for k, v in grads.items()}
        ids = {k: id(v) for k, v in params.items()}
        seen = []

        def spy(p):
            seen.append(p is params or any(p[k] is params[k] for k in p))
            return f(p)

        gc.check_gradients(spy, params, grads)
        assert not any(seen)  # f gets copies
        assert list(params) == list(p0) and list(grads) == list(g0)
        for k in params:
            assert id(params[k]) == ids[k]
            assert np.array_equal(params[k], p0[k]) and np.array_equal(grads[k], g0[k])

    def test_sampling_counts_and_is_seeded(self):
        f, params, grads, _ = mlp()
        calls = []

        def counting(p):
            calls.append(1)
            return f(p)

        rep = gc.check_gradients(counting, params, grads, num_samples=3, seed=1)
        # 3 entries of each of the 4 parameters, 2 evaluations each
        assert len(calls) == 4 * 3 * 2
        assert all(r["passed"] for r in rep.values())
        assert rep == gc.check_gradients(f, params, grads, num_samples=3, seed=1)
        calls.clear()
        gc.check_gradients(counting, params, grads, num_samples=1000)  # larger than every size: full check
        assert len(calls) == 2 * sum(v.size for v in params.values())

    def test_sampled_check_finds_a_formula_bug_in_a_big_tensor(self):
        rng = np.random.default_rng(5)
        X = rng.normal(size=(8, 300))
        params = {"W": rng.normal(size=(40, 300)) / 10}

        def f(p):
            return float(np.mean(np.tanh(X @ p["W"].T) ** 2))

        T = np.tanh(X @ params["W"].T)
        right = (2 * T * (1 - T**2) / T.size).T @ X
        wrong = (2 * T / T.size).T @ X  # forgot the tanh' factor
        assert gc.check_gradients(f, params, {"W": right}, num_samples=10)["W"]["passed"]
        assert not gc.check_gradients(f, params, {"W": wrong}, num_samples=10)["W"]["passed"]

    def test_relu_network_away_from_kinks(self):
        for seed in range(20):
            f, params, grads, _ = mlp(seed, hidden="relu")
            rng = np.random.default_rng(seed)
            X = rng.normal(size=(N, D))  # same draw as inside mlp()
            if np.abs(X @ params["W1"].T + params["b1"]).min() > 1e-3:
                break
        else:
            pytest.fail("no seed without near-kink pre-activations")
        rep = gc.check_gradients(f, params, grads)
        assert all(r["passed"] for r in rep.values())

    def test_tol_and_errors(self):
        f, params, grads, D_ = mlp()
        bad = dict(grads, b1=D_[0].mean(axis=0))
        assert gc.check_gradients(f, params, bad, tol=0.9)["b1"]["passed"]
        with pytest.raises(KeyError):
            gc.check_gradients(f, params, {k: v for k, v in grads.items() if k != "b2"})
        with pytest.raises(ValueError):
            gc.check_gradients(f, params, dict(grads, W1=grads["W1"].T))

    def test_float32_loss_makes_the_check_useless(self):
        # the reason for "always float64": correct gradients fail when f rounds to float32
        f, params, grads, _ = mlp()
        rep = gc.check_gradients(lambda p: float(np.float32(f(p))), params, grads, h=1e-5)
        assert not all(r["passed"] for r in rep.values())


# ---------------------------------------------------------------------------------------------
# the handout's generated blocks are fresh
# ---------------------------------------------------------------------------------------------

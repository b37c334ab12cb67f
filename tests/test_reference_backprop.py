"""Tests of the reference solutions/backprop.py (Task 3), read as a spec.

Per function: hand-computable cases first, then properties (hypothesis), then independent
oracles (PyTorch autograd in float64, central finite differences).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solutions import backprop as bp

ROOT = Path(__file__).resolve().parents[1]
PROPS = settings(derandomize=True, database=None, deadline=None, max_examples=30)

# All dimensions different, so a misplaced transpose is a shape error.
N, D, H1, H2, C = 5, 4, 6, 7, 3


def sig(t: float) -> float:
    return 1.0 / (1.0 + math.exp(-t))


def make_net(sizes, seed, bias_scale=0.5, weight_scale=1.0):
    rng = np.random.default_rng(seed)
    return [
        (weight_scale * rng.normal(size=(o, i)), bias_scale * rng.normal(size=o)) for i, o in zip(sizes[:-1], sizes[1:])
    ]


def make_targets(rng, n, k, output):
    if output == "softmax":
        return rng.integers(0, k, size=n)
    return rng.uniform(size=(n, k))


def snapshot(obj):
    if isinstance(obj, np.ndarray):
        return obj.copy()
    if isinstance(obj, (list, tuple)):
        return type(obj)(snapshot(o) for o in obj)
    if isinstance(obj, dict):
        return {k: snapshot(v) for k, v in obj.items()}
    return obj


def assert_same(a, b):
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(a, b, equal_nan=True)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_same(a[k], b[k])
    else:
        assert a == b


def away_from_kinks(X, params, margin=1e-3):
    """True if no hidden pre-activation is within margin of the ReLU kink at 0."""
    cache = bp.forward(X, params, hidden="relu", output="softmax")
    return all(np.abs(z).min() > margin for z in cache["Z"][:-1])


# ---------------------------------------------------------------------------------------------
# given helpers
# ---------------------------------------------------------------------------------------------


class TestGivenHelpers:
    def test_sigmoid_values_and_stability(self):
        np.testing.assert_allclose(bp.sigmoid(np.array([0.0, 2.0, -2.0])), [0.5, sig(2.0), sig(-2.0)], rtol=1e-15)
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            s = bp.sigmoid(np.array([-1000.0, 1000.0]))
        assert s[0] == 0.0 and s[1] == 1.0

    def test_softmax_rows_sum_to_one_and_stable(self):
        z = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            p = bp.softmax(z)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-15)
        e = np.exp([1.0, 2.0, 3.0])
        np.testing.assert_allclose(p[1], e / e.sum(), rtol=1e-14)

    def test_init_params_shapes_seeded(self):
        p = bp.init_params([D, H1, C], seed=3)
        assert [(W.shape, b.shape) for W, b in p] == [((H1, D), (H1,)), ((C, H1), (C,))]
        assert all(W.dtype == np.float64 and b.dtype == np.float64 for W, b in p)
        assert_same(p, bp.init_params([D, H1, C], seed=3))
        assert not np.array_equal(p[0][0], bp.init_params([D, H1, C], seed=4)[0][0])

    def test_loss_values(self):
        A = np.array([[0.5, 0.2, 0.9], [0.1, 0.4, 0.3]])
        Y = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
        assert bp.loss(A, Y, "sigmoid") == pytest.approx(np.mean((A - Y) ** 2), rel=1e-15)
        Z = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
        P = bp.softmax(Z)
        expected = -(math.log(P[0, 1]) + math.log(P[1, 2])) / 2
        assert bp.loss(P, np.array([1, 2]), "softmax") == pytest.approx(expected, rel=1e-13)
        assert bp.loss(P, np.array([1, 2]), "softmax", Z_L=Z) == pytest.approx(expected, rel=1e-13)
        # logits form is finite where the probability underflows
        Zx = np.array([[1000.0, -1000.0]])
        assert bp.loss(bp.softmax(Zx), np.array([1]), "softmax", Z_L=Zx) == pytest.approx(2000.0)

    def test_targets_reject_silent_broadcast(self):
        with pytest.raises(ValueError):
            bp.output_delta(np.full((4, 1), 0.5), np.zeros((4, 1)), np.zeros(4), "sigmoid")
        with pytest.raises(ValueError):
            bp.output_delta(np.full((4, 3), 1 / 3), np.zeros((4, 3)), np.array([0, 1, 2, 3]), "softmax")


# ---------------------------------------------------------------------------------------------
# activation_grad
# ---------------------------------------------------------------------------------------------


class TestActivationGrad:
    def test_hand_values(self):
        z = np.array([-2.0, 0.0, 3.0])
        np.testing.assert_allclose(
            bp.activation_grad(z, "sigmoid"), [sig(-2) * (1 - sig(-2)), 0.25, sig(3) * (1 - sig(3))], rtol=1e-14
        )
        np.testing.assert_array_equal(bp.activation_grad(np.array([-1.0, 0.0, 2.0]), "relu"), [0.0, 0.0, 1.0])

    def test_evaluated_at_z_not_at_a(self):
        z = np.array([1.5])
        a = bp.sigmoid(z)
        assert bp.activation_grad(z, "sigmoid")[0] == pytest.approx(float(a[0] * (1 - a[0])), rel=1e-15)
        assert bp.activation_grad(z, "sigmoid")[0] != pytest.approx(float(bp.sigmoid(a)[0] * (1 - bp.sigmoid(a)[0])))

    def test_extreme_inputs_finite(self):
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            g = bp.activation_grad(np.array([-1000.0, 1000.0]), "sigmoid")
        np.testing.assert_array_equal(g, [0.0, 0.0])

    def test_unknown_name(self):
        with pytest.raises(ValueError):
            bp.activation_grad(np.zeros(3), "tanh")

    @PROPS
    @given(
        st.integers(0, 2**31), st.sampled_from(["sigmoid", "relu"]), st.lists(st.integers(1, 5), min_size=1, max_size=3)
    )
    def test_shape_dtype_unmodified_and_finite_difference(self, seed, name, shape):
        rng = np.random.default_rng(seed)
        z = rng.normal(scale=3, size=shape)
        z[np.abs(z) < 1e-3] += 0.01  # away from the ReLU kink
        z0 = z.copy()
        g = bp.activation_grad(z, name)
        assert g.shape == z.shape and g.dtype == np.float64
        assert_same(z, z0)
        h = 1e-6
        numeric = (bp.activate(z + h, name) - bp.activate(z - h, name)) / (2 * h)
        np.testing.assert_allclose(g, numeric, rtol=1e-7, atol=1e-10)


# ---------------------------------------------------------------------------------------------
# forward
# ---------------------------------------------------------------------------------------------


class TestForward:
    def test_hand_221(self):
        ex = bp.EXAMPLE_221
        params = [(ex["W1"], ex["b1"]), (ex["W2"], ex["b2"])]
        cache = bp.forward(ex["x"][None, :], params, "sigmoid", "sigmoid")
        z11 = 0.15 * 0.05 + 0.20 * 0.10 + 0.35
        z12 = 0.25 * 0.05 + 0.30 * 0.10 + 0.35
        z2 = 0.40 * sig(z11) + 0.45 * sig(z12) + 0.60
        np.testing.assert_allclose(cache["Z"][0], [[z11, z12]], rtol=1e-15)
        np.testing.assert_allclose(cache["A"][1], [[sig(z11), sig(z12)]], rtol=1e-15)
        np.testing.assert_allclose(cache["Z"][1], [[z2]], rtol=1e-15)
        np.testing.assert_allclose(cache["A"][2], [[sig(z2)]], rtol=1e-15)

    def test_relu_softmax_hand(self):
        X = np.array([[1.0, -2.0]])
        params = [
            (np.array([[1.0, 1.0], [-1.0, 0.5]]), np.array([0.5, 0.0])),
            (np.array([[1.0, 1.0], [-0.5, -0.5]]), np.zeros(2)),
        ]
        cache = bp.forward(X, params, "relu", "softmax")
        np.testing.assert_allclose(cache["Z"][0], [[-0.5, -2.0]])
        np.testing.assert_allclose(cache["A"][1], [[0.0, 0.0]])
        np.testing.assert_allclose(cache["A"][2], [[0.5, 0.5]])

    @PROPS
    @given(
        st.integers(0, 2**31),
        st.sampled_from(["sigmoid", "relu"]),
        st.sampled_from(["sigmoid", "softmax"]),
        st.lists(st.integers(1, 7), min_size=2, max_size=5),
        st.integers(1, 6),
    )
    def test_shapes_lengths_unmodified(self, seed, hidden, output, sizes, n):
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(n, sizes[0]))
        params = make_net(sizes, seed)
        X0, p0 = snapshot(X), snapshot(params)
        cache = bp.forward(X, params, hidden, output)
        L = len(sizes) - 1
        assert set(cache) == {"Z", "A"}
        assert len(cache["Z"]) == L and len(cache["A"]) == L + 1
        assert_same(cache["A"][0], X)
        assert cache["A"][0] is not X
        for l in range(1, L + 1):
            assert cache["Z"][l - 1].shape == (n, sizes[l]) == cache["A"][l].shape
            assert cache["A"][l].dtype == np.float64
        if output == "softmax":
            np.testing.assert_allclose(cache["A"][-1].sum(axis=1), 1.0, rtol=1e-12)
        assert_same(X, X0)
        assert_same(params, p0)

    def test_all_dims_different(self):
        rng = np.random.default_rng(0)
        X = rng.normal(size=(N, D))
        cache = bp.forward(X, make_net([D, H1, C], 0))
        assert [z.shape for z in cache["Z"]] == [(N, H1), (N, C)]

    def test_matches_torch(self):
        torch = pytest.importorskip("torch")
        rng = np.random.default_rng(1)
        X = rng.normal(size=(N, D))
        params = make_net([D, H1, H2, C], 1)
        cache = bp.forward(X, params, "relu", "softmax")
        lin = [torch.nn.Linear(i, o, dtype=torch.float64) for i, o in [(D, H1), (H1, H2), (H2, C)]]
        with torch.no_grad():
            for m, (W, b) in zip(lin, params):
                m.weight.copy_(torch.from_numpy(W))
                m.bias.copy_(torch.from_numpy(b))
            net = torch.nn.Sequential(lin[0], torch.nn.ReLU(), lin[1], torch.nn.ReLU(), lin[2], torch.nn.Softmax(dim=1))
            out = net(torch.from_numpy(X)).numpy()
        np.testing.assert_allclose(cache["A"][-1], out, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# output_delta
# ---------------------------------------------------------------------------------------------


class TestOutputDelta:
    def test_softmax_hand(self):
        A = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
        delta = bp.output_delta(A, np.zeros_like(A), np.array([0, 2]), "softmax")
        np.testing.assert_allclose(delta, [[-0.15, 0.1, 0.05], [0.05, 0.15, -0.2]], rtol=1e-14)

    def test_sigmoid_mse_hand(self):
        Z = np.array([[0.0, 1.0, -1.0], [2.0, 0.5, 0.0]])
        A = bp.sigmoid(Z)
        Y = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
        expected = 2 * (A - Y) / 6 * A * (1 - A)
        np.testing.assert_allclose(bp.output_delta(A, Z, Y, "sigmoid"), expected, rtol=1e-14)
        assert bp.output_delta(A, Z, Y, "sigmoid")[0, 0] == pytest.approx(2 * (0.5 - 1) / 6 * 0.25, rel=1e-14)

    @PROPS
    @given(st.integers(0, 2**31), st.integers(1, 6), st.integers(2, 5))
    def test_labels_equal_one_hot_rows_sum_to_zero(self, seed, n, c):
        rng = np.random.default_rng(seed)
        Z = rng.normal(size=(n, c))
        A = bp.softmax(Z)
        y = rng.integers(0, c, size=n)
        A0, y0 = A.copy(), y.copy()
        d1 = bp.output_delta(A, Z, y, "softmax")
        d2 = bp.output_delta(A, Z, bp.one_hot(y, c), "softmax")
        assert d1.shape == (n, c) and d1.dtype == np.float64
        np.testing.assert_allclose(d1, d2, rtol=0, atol=0)
        np.testing.assert_allclose(d1.sum(axis=1), 0.0, atol=1e-15)
        assert_same(A, A0)
        assert_same(y, y0)

    @pytest.mark.parametrize("output", ["sigmoid", "softmax"])
    def test_is_gradient_of_mean_loss_wrt_logits_torch(self, output):
        torch = pytest.importorskip("torch")
        rng = np.random.default_rng(2)
        Z = rng.normal(size=(N, C))
        Y = make_targets(rng, N, C, output)
        A = bp.sigmoid(Z) if output == "sigmoid" else bp.softmax(Z)
        zt = torch.tensor(Z, requires_grad=True)
        if output == "sigmoid":
            L = torch.nn.functional.mse_loss(torch.sigmoid(zt), torch.from_numpy(Y))
        else:
            L = torch.nn.functional.cross_entropy(zt, torch.from_numpy(Y))
        L.backward()
        np.testing.assert_allclose(bp.output_delta(A, Z, Y, output), zt.grad.numpy(), rtol=1e-12, atol=1e-16)


# ---------------------------------------------------------------------------------------------
# deltas and backward
# ---------------------------------------------------------------------------------------------


def torch_grads(X, Y, params, hidden, output):
    import torch

    torch.set_num_threads(1)
    ps = [(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)) for W, b in params]
    a = torch.from_numpy(X)
    act = torch.sigmoid if hidden == "sigmoid" else torch.relu
    for i, (W, b) in enumerate(ps):
        z = a @ W.T + b
        a = act(z) if i < len(ps) - 1 else z
    if output == "softmax":
        L = torch.nn.functional.cross_entropy(a, torch.from_numpy(Y))
    else:
        L = torch.nn.functional.mse_loss(torch.sigmoid(a), torch.from_numpy(Y))
    L.backward()
    return float(L.detach()), [(W.grad.numpy(), b.grad.numpy()) for W, b in ps]


def central_differences(X, Y, params, hidden, output, h=1e-5):
    """Numerical gradient of the mean loss, one parameter array at a time (independent of Task 5)."""

    def f(ps):
        cache = bp.forward(X, ps, hidden, output)
        return bp.loss(cache["A"][-1], Y, output, Z_L=cache["Z"][-1])

    out = []
    for li in range(len(params)):
        pair = []
        for j in range(2):
            base = params[li][j]
            g = np.zeros_like(base)
            for idx in np.ndindex(base.shape):
                vals = []
                for s in (+1, -1):
                    arr = base.copy()
                    arr[idx] += s * h
                    ps = [list(p) for p in params]
                    ps[li][j] = arr
                    vals.append(f([tuple(p) for p in ps]))
                g[idx] = (vals[0] - vals[1]) / (2 * h)
            pair.append(g)
        out.append(tuple(pair))
    return out


def max_rel(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def relu_safe_problem(seed, sizes, n, output):
    rng = np.random.default_rng(seed)
    while True:
        X = rng.normal(size=(n, sizes[0]))
        params = make_net(sizes, int(rng.integers(2**31)))
        if away_from_kinks(X, params):
            return X, make_targets(rng, n, sizes[-1], output), params


class TestBackward:
    def test_hand_221(self):
        ex = bp.EXAMPLE_221
        params = [(ex["W1"], ex["b1"]), (ex["W2"], ex["b2"])]
        X, Y = ex["x"][None, :], ex["y"][None, :]
        cache = bp.forward(X, params, "sigmoid", "sigmoid")
        z1 = [0.15 * 0.05 + 0.20 * 0.10 + 0.35, 0.25 * 0.05 + 0.30 * 0.10 + 0.35]
        a1 = [sig(z) for z in z1]
        a2 = sig(0.40 * a1[0] + 0.45 * a1[1] + 0.60)
        d2 = 2 * (a2 - 0.01) * a2 * (1 - a2)
        d1 = [0.40 * d2 * a1[0] * (1 - a1[0]), 0.45 * d2 * a1[1] * (1 - a1[1])]
        D = bp.deltas(cache, params, Y, "sigmoid", "sigmoid")
        np.testing.assert_allclose(D[1], [[d2]], rtol=1e-14)
        np.testing.assert_allclose(D[0], [d1], rtol=1e-14)
        (dW1, db1), (dW2, db2) = bp.backward(cache, params, Y, "sigmoid", "sigmoid")
        np.testing.assert_allclose(dW2, [[d2 * a1[0], d2 * a1[1]]], rtol=1e-14)
        np.testing.assert_allclose(db2, [d2], rtol=1e-14)
        np.testing.assert_allclose(dW1, [[d1[0] * 0.05, d1[0] * 0.10], [d1[1] * 0.05, d1[1] * 0.10]], rtol=1e-14)
        np.testing.assert_allclose(db1, d1, rtol=1e-14)

    def test_batch_gradient_is_mean_of_per_sample_gradients(self):
        rng = np.random.default_rng(4)
        X = rng.normal(size=(N, D))
        y = rng.integers(0, C, size=N)
        params = make_net([D, H1, C], 4)
        full = bp.backward(bp.forward(X, params), params, y)
        per = [bp.backward(bp.forward(X[i : i + 1], params), params, y[i : i + 1]) for i in range(N)]
        for l in range(2):
            for j in range(2):
                np.testing.assert_allclose(full[l][j], np.mean([p[l][j] for p in per], axis=0), rtol=1e-12, atol=1e-17)

    def test_deltas_and_backward_agree(self):
        rng = np.random.default_rng(5)
        X = rng.normal(size=(N, D))
        y = rng.integers(0, C, size=N)
        params = make_net([D, H1, H2, C], 5)
        cache = bp.forward(X, params, "sigmoid", "softmax")
        D_ = bp.deltas(cache, params, y, "sigmoid", "softmax")
        grads = bp.backward(cache, params, y, "sigmoid", "softmax")
        assert [d.shape for d in D_] == [(N, H1), (N, H2), (N, C)]
        np.testing.assert_allclose(D_[-1], bp.output_delta(cache["A"][-1], cache["Z"][-1], y, "softmax"))
        np.testing.assert_allclose(D_[1], (D_[2] @ params[2][0]) * bp.activation_grad(cache["Z"][1], "sigmoid"))
        for l in range(3):
            np.testing.assert_allclose(grads[l][0], D_[l].T @ cache["A"][l])
            np.testing.assert_allclose(grads[l][1], D_[l].sum(axis=0))

    @PROPS
    @given(
        st.integers(0, 2**31),
        st.sampled_from(["sigmoid", "relu"]),
        st.sampled_from(["sigmoid", "softmax"]),
        st.lists(st.integers(1, 7), min_size=2, max_size=4),
        st.integers(1, 6),
    )
    def test_shapes_dtype_unmodified(self, seed, hidden, output, sizes, n):
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(n, sizes[0]))
        params = make_net(sizes, seed)
        Y = make_targets(rng, n, sizes[-1], output)
        cache = bp.forward(X, params, hidden, output)
        X0, p0, Y0, c0 = snapshot(X), snapshot(params), snapshot(Y), snapshot(cache)
        grads = bp.backward(cache, params, Y, hidden, output)
        assert len(grads) == len(params)
        for (W, b), (dW, db) in zip(params, grads):
            assert dW.shape == W.shape and db.shape == b.shape
            assert dW.dtype == np.float64 and db.dtype == np.float64
        assert_same(X, X0)
        assert_same(params, p0)
        assert_same(Y, Y0)
        assert_same(cache, c0)

    @pytest.mark.parametrize("hidden", ["sigmoid", "relu"])
    @pytest.mark.parametrize("output", ["sigmoid", "softmax"])
    def test_matches_torch_autograd_two_hidden_layers(self, hidden, output):
        pytest.importorskip("torch")
        X, Y, params = relu_safe_problem(10, [D, H1, H2, C], N, output)
        ref_loss, ref = torch_grads(X, Y, params, hidden, output)
        cache = bp.forward(X, params, hidden, output)
        assert bp.loss(cache["A"][-1], Y, output, Z_L=cache["Z"][-1]) == pytest.approx(ref_loss, rel=1e-12)
        grads = bp.backward(cache, params, Y, hidden, output)
        for (dW, db), (tW, tb) in zip(grads, ref):
            np.testing.assert_allclose(dW, tW, rtol=1e-7, atol=1e-15)
            np.testing.assert_allclose(db, tb, rtol=1e-7, atol=1e-15)

    @pytest.mark.parametrize("hidden", ["sigmoid", "relu"])
    @pytest.mark.parametrize("output", ["sigmoid", "softmax"])
    def test_matches_central_differences_per_parameter(self, hidden, output):
        X, Y, params = relu_safe_problem(11, [D, H1, H2, C], N, output)
        cache = bp.forward(X, params, hidden, output)
        grads = bp.backward(cache, params, Y, hidden, output)
        numeric = central_differences(X, Y, params, hidden, output)
        for (dW, db), (nW, nb) in zip(grads, numeric):
            assert max_rel(dW, nW) < 1e-6
            assert max_rel(db, nb) < 1e-6


# ---------------------------------------------------------------------------------------------
# example_221
# ---------------------------------------------------------------------------------------------


class TestExample221:
    def test_every_number_by_hand(self):
        r = bp.example_221()
        x1, x2, y = 0.05, 0.10, 0.01
        z1 = [0.15 * x1 + 0.20 * x2 + 0.35, 0.25 * x1 + 0.30 * x2 + 0.35]
        a1 = [sig(z) for z in z1]
        z2 = 0.40 * a1[0] + 0.45 * a1[1] + 0.60
        a2 = sig(z2)
        d2 = 2 * (a2 - y) * a2 * (1 - a2)
        d1 = [w * d2 * a * (1 - a) for w, a in zip([0.40, 0.45], a1)]
        expected = {
            "z1": z1, "a1": a1, "z2": [z2], "a2": [a2], "loss": (a2 - y) ** 2,
            "delta2": [d2], "delta1": d1,
            "dW1": [[d1[0] * x1, d1[0] * x2], [d1[1] * x1, d1[1] * x2]], "db1": d1,
            "dW2": [[d2 * a1[0], d2 * a1[1]]], "db2": [d2],
        }  # fmt: skip
        assert set(r) == set(expected)
        for k, v in expected.items():
            np.testing.assert_allclose(r[k], v, rtol=1e-13, err_msg=k)

    def test_known_values_10_digits(self):
        r = bp.example_221()
        assert r["a2"][0] == pytest.approx(0.7513650696, rel=1e-9)
        assert r["loss"] == pytest.approx(0.5496221664, rel=1e-9)
        assert r["delta2"][0] == pytest.approx(0.2769971233, rel=1e-9)

    def test_plain_data(self):
        r = bp.example_221()
        assert isinstance(r["loss"], float)
        shapes = {"z1": (2,), "a1": (2,), "z2": (1,), "a2": (1,), "delta2": (1,), "delta1": (2,),
                  "dW1": (2, 2), "db1": (2,), "dW2": (1, 2), "db2": (1,)}  # fmt: skip
        for k, s in shapes.items():
            assert type(r[k]) is np.ndarray and r[k].dtype == np.float64 and r[k].shape == s, k

    def test_does_not_modify_example(self):
        before = snapshot(bp.EXAMPLE_221)
        bp.example_221()
        assert_same(bp.EXAMPLE_221, before)


# ---------------------------------------------------------------------------------------------
# train_step, train, accuracy
# ---------------------------------------------------------------------------------------------


class TestTrainStep:
    @pytest.mark.parametrize("output", ["sigmoid", "softmax"])
    def test_lr_one_step_equals_gradient_and_inputs_unmodified(self, output):
        rng = np.random.default_rng(6)
        X = rng.normal(size=(N, D))
        Y = make_targets(rng, N, C, output)
        params = make_net([D, H1, C], 6)
        p0, X0, Y0 = snapshot(params), snapshot(X), snapshot(Y)
        new, value = bp.train_step(params, X, Y, 1.0, "sigmoid", output)
        assert_same(params, p0)
        assert_same(X, X0)
        assert_same(Y, Y0)
        cache = bp.forward(X, params, "sigmoid", output)
        grads = bp.backward(cache, params, Y, "sigmoid", output)
        assert isinstance(value, float)
        assert value == pytest.approx(bp.loss(cache["A"][-1], Y, output), rel=1e-12)
        for (W, b), (W1, b1), (dW, db) in zip(params, new, grads):
            assert W1 is not W and b1 is not b
            np.testing.assert_allclose(W - W1, dW, rtol=1e-12, atol=1e-16)
            np.testing.assert_allclose(b - b1, db, rtol=1e-12, atol=1e-16)

    def test_matches_torch_sgd_step(self):
        torch = pytest.importorskip("torch")
        torch.set_num_threads(1)
        rng = np.random.default_rng(7)
        X = rng.normal(size=(N, D))
        y = rng.integers(0, C, size=N)
        params = make_net([D, H1, C], 7)
        new, _ = bp.train_step(params, X, y, 0.3, "relu", "softmax")
        ps = [torch.tensor(a, requires_grad=True) for pair in params for a in pair]
        opt = torch.optim.SGD(ps, lr=0.3)
        z = torch.relu(torch.from_numpy(X) @ ps[0].T + ps[1]) @ ps[2].T + ps[3]
        torch.nn.functional.cross_entropy(z, torch.from_numpy(y)).backward()
        opt.step()
        for mine, theirs in zip([a for pair in new for a in pair], ps):
            np.testing.assert_allclose(mine, theirs.detach().numpy(), rtol=1e-13, atol=1e-16)

    def test_small_step_decreases_loss(self):
        ex = bp.EXAMPLE_221
        params = [(ex["W1"], ex["b1"]), (ex["W2"], ex["b2"])]
        X, Y = ex["x"][None, :], ex["y"][None, :]
        new, before = bp.train_step(params, X, Y, 0.5, "sigmoid", "sigmoid")
        _, after = bp.train_step(new, X, Y, 0.5, "sigmoid", "sigmoid")
        assert after < before


def digits_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


class TestTrain:
    def test_reproducible_and_history(self):
        rng = np.random.default_rng(8)
        X = rng.normal(size=(40, D))
        y = rng.integers(0, C, size=40)
        p1, h1 = bp.train(X, y, [D, H1, C], epochs=3, batch_size=16, lr=0.5, seed=2)
        p2, h2 = bp.train(X, y, [D, H1, C], epochs=3, batch_size=16, lr=0.5, seed=2)
        assert_same(p1, p2)
        assert h1 == h2 and len(h1) == 3 and all(isinstance(v, float) for v in h1)

    @pytest.mark.parametrize("hidden,lr", [("sigmoid", 0.5), ("relu", 0.1)])
    def test_digits_64_32_10_heldout_accuracy(self, hidden, lr):
        Xtr, Xte, ytr, yte = digits_split()
        params, history = bp.train(Xtr, ytr, [64, 32, 10], epochs=30, batch_size=32, lr=lr, seed=0, hidden=hidden)
        assert history[-1] < history[0]
        assert bp.accuracy(params, Xte, yte, hidden) >= 0.95


class TestAccuracy:
    def test_hand(self):
        params = [(np.eye(3), np.zeros(3))]
        X = np.array([[1.0, 0, 0], [0, 2.0, 0], [0, 0, 3.0], [5.0, 0, 0]])
        assert bp.accuracy(params, X, np.array([0, 1, 2, 1])) == 0.75
        assert bp.accuracy(params, X, bp.one_hot(np.array([0, 1, 2, 1]), 3)) == 0.75


# ---------------------------------------------------------------------------------------------
# the handout's generated blocks are fresh
# ---------------------------------------------------------------------------------------------

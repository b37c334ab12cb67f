"""Hidden checks of Task 2 (chain_rule.py)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from grader.gradients import CheckFailure, assert_close
from solutions import chain_rule as ref


@pytest.mark.points(1.5)
@given(x=st.floats(-50, 50))
def test_f_example_grad_property(student, x):
    """df/dx = 2(x + 2) for any x."""
    assert_close(student.chain_rule.f_example_grad(x), ref.f_example_grad(x), "f_example_grad", inputs={"x": x},
                 mistakes={"used u instead of 2u": x + 2.0, "forgot the inner function: 2x instead of 2(x + 2)": 2 * x})


@pytest.mark.points(1.5)
def test_compose_chain_rule(student, seed):
    """compose(f, df, g, dg) with f = sin, g(x) = x^2 + 1: h(x) = sin(x^2 + 1) and dh(x) = cos(x^2 + 1) * 2x."""
    f = student.source("lambda u: float(np.sin(u))")
    df = student.source("lambda u: float(np.cos(u))")
    g = student.source("lambda x: float(x * x + 1.0)")
    dg = student.source("lambda x: float(2.0 * x)")
    pair = student.chain_rule.compose(f, df, g, dg)
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
        raise CheckFailure(f"compose(f, df, g, dg) returned {pair!r:.80}; expected a pair (h, dh) of functions")
    h, dh = pair
    rng = np.random.default_rng(seed + 7)
    for x in rng.uniform(-2.0, 2.0, size=4):
        x = float(x)
        assert_close(h(x), np.sin(x * x + 1.0), f"h(x) = f(g(x)) from compose(sin, cos, x^2 + 1, 2x) at x = {x:.6g}",
                     mistakes={"composed in the wrong order: h(x) = f(g(x)), not g(f(x))": np.sin(x) ** 2 + 1.0})
        assert_close(dh(x), np.cos(x * x + 1.0) * 2 * x,
                     f"dh(x) = f'(g(x)) g'(x) from compose(sin, cos, x^2 + 1, 2x) at x = {x:.6g}", mistakes={
                         "called df at x instead of at the inner value g(x): dh(x) = df(g(x)) * dg(x)":
                             np.cos(x) * 2 * x,
                         "forgot the inner derivative: multiply df(g(x)) by dg(x)": np.cos(x * x + 1.0),
                         "multiplied by g(x) instead of its derivative dg(x)": np.cos(x * x + 1.0) * (x * x + 1.0),
                         "composed in the wrong order: dh(x) = df(g(x)) * dg(x), not dg(f(x)) * df(x)":
                             2 * np.sin(x) * np.cos(x),
                     })


@pytest.mark.points(0.5)
def test_neuron_forward_random(student, seed):
    """neuron_forward: y = sigma(w . x + b) on seeded inputs (D = 5)."""
    rng = np.random.default_rng(seed + 8)
    w, x, b = rng.normal(size=5), rng.normal(size=5), float(rng.normal())
    z = float(w @ x + b)
    assert_close(student.chain_rule.neuron_forward(w, x, b), ref.neuron_forward(w, x, b), "neuron_forward(w, x, b)",
                 inputs={"w": w, "x": x, "b": b}, mistakes={
                     "forgot the bias: z = w . x + b": ref.sigmoid(z - b),
                     "returned z = w . x + b; the neuron's output is y = sigma(z)": z})


@pytest.mark.points(2.5)
def test_neuron_backward_random(student, seed):
    """Every intermediate of the neuron's backward pass on seeded inputs (D = 5)."""
    rng = np.random.default_rng(seed)
    w, x, b, up = rng.normal(size=5), rng.normal(size=5), float(rng.normal()), float(rng.normal())
    got = student.chain_rule.neuron_backward(w, x, b, up)
    want = ref.neuron_backward(w, x, b, up)
    y = want["y"]
    s_of_y = ref.sigmoid(y)
    wrong_dy_dz = s_of_y * (1.0 - s_of_y)  # sigma'(a): sigma' applied to the output a = y instead of to z
    sig_a = "used sigma'(a) = sigma(y)(1 - sigma(y)) instead of sigma'(z) = y (1 - y): apply sigma' to z, not to the output"
    no_up = "forgot to multiply by the upstream gradient dL_dy (chain rule: dL/dz = dL/dy * dy/dz)"
    mistakes = {
        "dy_dz": {sig_a: wrong_dy_dz, "used z (1 - z); the sigmoid's derivative is sigma(z)(1 - sigma(z))":
                  want["z"] * (1 - want["z"])},
        "dL_dz": {sig_a: up * wrong_dy_dz, no_up: want["dy_dz"]},
        "dL_dw": {sig_a: up * wrong_dy_dz * x, no_up: want["dy_dz"] * x,
                  "multiplied by w instead of x: dz/dw = x": want["dL_dz"] * w},
        "dL_db": {sig_a: up * wrong_dy_dz, no_up: want["dy_dz"]},
    }
    if not isinstance(got, dict):
        raise CheckFailure(f"neuron_backward(w, x, b, dL_dy) returned {type(got).__name__}; expected a dict "
                           f"with the keys {', '.join(want)}")
    for key, value in want.items():
        if key not in got:
                raise CheckFailure(f"neuron_backward(w, x, b, dL_dy) returned a dict without the key {key!r} "
                               f"(expected the keys {', '.join(want)})")
        assert_close(got[key], value, f"neuron_backward(...)[{key!r}]", inputs={"w": w, "x": x},
                     mistakes=mistakes.get(key))

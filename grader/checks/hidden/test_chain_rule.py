"""Hidden checks of Task 2 (chain_rule.py)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.gradients import CheckFailure, Diagnosis, Mistake, assert_close
from grader.sandbox import StudentError
from solutions import chain_rule as ref

D = 5
U_NOT_2U = Mistake("used_u_not_2u", "used u instead of 2u")
SIGMA_A = Mistake(
    "sigma_prime_at_a",
    "used sigma'(a) = sigma(y)(1 - sigma(y)) instead of sigma'(z) = y (1 - y): apply sigma' to z, not to the output",
)
NO_UPSTREAM = Mistake(
    "forgot_upstream_gradient", "forgot to multiply by the upstream gradient dL_dy (chain rule: dL/dz = dL/dy * dy/dz)"
)
NO_LOCAL = Mistake(
    "forgot_local_derivative", "forgot the sigmoid's local derivative dy/dz = y (1 - y): dL/dz = dL/dy * dy/dz"
)
BIAS_PER_INPUT = Mistake(
    "bias_once_per_input",
    "the bias was added once per input (sum(w * x + b) = w . x + D b): z = w . x + b adds it once",
)
NO_BIAS = Mistake("forgot_bias", "forgot the bias: z = w . x + b")


def _sig_prime(v):
    s = ref.sigmoid(v)
    return s * (1.0 - s)


@pytest.mark.points(1)
@given(x=st.floats(-50, 50))
def test_f_example_grad_property(student, x):
    """df/dx = 2(x + 2) for any x."""
    assert_close(
        student.chain_rule.f_example_grad(x),
        ref.f_example_grad(x),
        "f_example_grad",
        inputs={"x": x},
        mistakes={
            U_NOT_2U: x + 2.0,
            Mistake("forgot_inner_function", "forgot the inner function: 2x instead of 2(x + 2)"): 2 * x,
            Mistake("returned_f_not_grad", "returned f(x) = (x + 2)^2 itself, not its derivative"): (x + 2.0) ** 2,
        },
    )


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
        assert_close(
            h(x),
            np.sin(x * x + 1.0),
            f"h(x) = f(g(x)) from compose(sin, cos, x^2 + 1, 2x) at x = {x:.6g}",
            mistakes={
                Mistake("composed_in_wrong_order", "composed in the wrong order: h(x) = f(g(x)), not g(f(x))"): np.sin(
                    x
                )
                ** 2
                + 1.0
            },
        )
        assert_close(
            dh(x),
            np.cos(x * x + 1.0) * 2 * x,
            f"dh(x) = f'(g(x)) g'(x) from compose(sin, cos, x^2 + 1, 2x) at x = {x:.6g}",
            mistakes={
                Mistake(
                    "df_at_x", "called df at x instead of at the inner value g(x): dh(x) = df(g(x)) * dg(x)"
                ): np.cos(x) * 2 * x,
                Mistake("forgot_inner_derivative", "forgot the inner derivative: multiply df(g(x)) by dg(x)"): np.cos(
                    x * x + 1.0
                ),
                Mistake("times_g_not_dg", "multiplied by g(x) instead of its derivative dg(x)"): np.cos(x * x + 1.0)
                * (x * x + 1.0),
                Mistake(
                    "composed_in_wrong_order",
                    "composed in the wrong order: dh(x) = df(g(x)) * dg(x), not dg(f(x)) * df(x)",
                ): 2 * np.sin(x) * np.cos(x),
            },
        )


@pytest.mark.points(0.5)
def test_neuron_forward_random(student, seed):
    """neuron_forward: y = sigma(w . x + b) on seeded inputs (D = 5)."""
    rng = np.random.default_rng(seed + 8)
    w, x, b = rng.normal(size=D), rng.normal(size=D), float(rng.normal())
    z = float(w @ x + b)
    assert_close(
        student.chain_rule.neuron_forward(w, x, b),
        ref.neuron_forward(w, x, b),
        "neuron_forward(w, x, b)",
        inputs={"w": w, "x": x, "b": b},
        mistakes={
            NO_BIAS: ref.sigmoid(z - b),
            BIAS_PER_INPUT: ref.sigmoid(z + (D - 1) * b),
            Mistake("returned_z", "returned z = w . x + b; the neuron's output is y = sigma(z)"): z,
        },
    )


@pytest.mark.points(2)
def test_neuron_backward_random(student, seed):
    """Every intermediate of the neuron's backward pass on seeded inputs (D = 5)."""
    rng = np.random.default_rng(seed)
    w, x, b, up = rng.normal(size=D), rng.normal(size=D), float(rng.normal()), float(rng.normal())
    got = student.chain_rule.neuron_backward(w, x, b, up)
    want = ref.neuron_backward(w, x, b, up)
    y, z = want["y"], want["z"]
    at_a = _sig_prime(y)  # sigma'(a): sigma' applied to the output a = y instead of to z
    z_per_input = z + (D - 1) * b
    mistakes = {
        "z": {NO_BIAS: z - b, BIAS_PER_INPUT: z_per_input},
        "y": {NO_BIAS: ref.sigmoid(z - b), BIAS_PER_INPUT: ref.sigmoid(z_per_input)},
        "dy_dz": {
            SIGMA_A: at_a,
            Mistake("z_times_one_minus_z", "used z (1 - z); the sigmoid's derivative is sigma(z)(1 - sigma(z))"): z
            * (1 - z),
            Mistake("returned_sigmoid_not_derivative", "returned y = sigma(z) itself, not its derivative y (1 - y)"): y,
        },
        "dL_dz": {SIGMA_A: up * at_a, NO_UPSTREAM: want["dy_dz"], NO_LOCAL: up},
        "dL_dw": {
            SIGMA_A: up * at_a * x,
            NO_UPSTREAM: want["dy_dz"] * x,
            NO_LOCAL: up * x,
            Mistake("times_w_not_x", "multiplied by w instead of x: dz/dw = x"): want["dL_dz"] * w,
        },
        "dL_db": {SIGMA_A: up * at_a, NO_UPSTREAM: want["dy_dz"], NO_LOCAL: up, BIAS_PER_INPUT: D * want["dL_dz"]},
    }
    if not isinstance(got, dict):
        raise CheckFailure(
            f"neuron_backward(w, x, b, dL_dy) returned {type(got).__name__}; expected a dict "
            f"with the keys {', '.join(want)}"
        )
    for key, value in want.items():
        if key not in got:
            raise CheckFailure(
                f"neuron_backward(w, x, b, dL_dy) returned a dict without the key {key!r} "
                f"(expected the keys {', '.join(want)})"
            )
        assert_close(
            got[key], value, f"neuron_backward(...)[{key!r}]", inputs={"w": w, "x": x}, mistakes=mistakes.get(key)
        )


BROADCAST = Mistake(
    "length_one_broadcast",
    "x of length 1 was broadcast against w (w * x multiplies every w_j by "
    "x_0): check that w and x have the same length (the given _as_vectors "
    "does it)",
)


def _refused(call, what, broadcast_value):
    """``call`` must raise ValueError; a value equal to ``broadcast_value`` names the silent broadcast."""
    try:
        got = call()
    except StudentError as exc:
        if exc.type == "ValueError":
            return
        if exc.type == "NotImplementedError":
            raise
        raise CheckFailure(
            f"{what} raised {exc.type} ({exc.message[:200]}); expected ValueError "
            f"(w and x must be 1-D arrays of the same length)"
        ) from None
    value = got.get("y") if isinstance(got, dict) else got
    named = (
        broadcast_value is not None
        and isinstance(value, (int, float))
        and np.isclose(value, broadcast_value, rtol=1e-9, atol=1e-12)
    )
    raise CheckFailure(
        f"{what} returned a value instead of raising ValueError"
        + (
            f". Likely: {BROADCAST}"
            if named
            else ": check that w and x are 1-D of the same length first (the given _as_vectors does it)"
        ),
        diagnosis=Diagnosis.of(BROADCAST) if named else None,
    )


@pytest.mark.points(0.5)
def test_neuron_inputs_contract(student, seed):
    """neuron_forward / neuron_backward accept lists and integer arrays, and raise ValueError for w, x of other shapes."""
    rng = np.random.default_rng(seed + 9)
    w, x, b, up = rng.integers(-3, 4, size=D), rng.normal(size=D), float(rng.normal()), float(rng.normal())
    cases = [("w as an int64 array, x as a list", w, x.tolist()), ("w and x as lists", w.tolist(), x.tolist())]
    for label, wa, xa in cases:
        want = ref.neuron_forward(w, x, b)
        assert_close(student.chain_rule.neuron_forward(wa, xa, b), want, f"neuron_forward(w, x, b) with {label}")
        got = student.chain_rule.neuron_backward(wa, xa, b, up)
        expect = ref.neuron_backward(w, x, b, up)
        if not isinstance(got, dict):
            raise CheckFailure(
                f"neuron_backward(w, x, b, dL_dy) with {label} returned {type(got).__name__}; expected a dict"
            )
        for key in ("y", "dL_dw", "dL_db"):
            if key not in got:
                raise CheckFailure(f"neuron_backward(w, x, b, dL_dy) with {label} returned no key {key!r}")
            assert_close(got[key], expect[key], f"neuron_backward(w, x, b, dL_dy)[{key!r}] with {label}")
    s = ref.sigmoid(np.array([-1000, -1, 0, 2, 1000]))
    assert_close(
        student.chain_rule.sigmoid([-1000, -1, 0, 2, 1000]),
        s,
        "sigmoid(z) with z = [-1000, -1, 0, 2, 1000] as a list of ints (the given helper)",
        rtol=1e-12,
    )
    xf = rng.normal(size=D)
    one = xf[:1]
    bad = [
        ("w of length 5, x of length 4", xf, xf[:4], None),
        ("w of length 5, x of length 1", xf, one, float(ref.sigmoid(np.sum(xf * one[0]) + b))),
        ("w of shape (1, 5), x of shape (5,)", xf[None, :], xf, None),
    ]
    for label, wa, xa, silent in bad:
        _refused(lambda: student.chain_rule.neuron_forward(wa, xa, b), f"neuron_forward(w, x, b) with {label}", silent)
        _refused(
            lambda: student.chain_rule.neuron_backward(wa, xa, b, up),
            f"neuron_backward(w, x, b, dL_dy) with {label}",
            silent,
        )


@pytest.mark.points(0.5)
def test_inputs_left_unmodified(student):
    """No call above changed its array arguments in place (seen inside your worker, so worth little)."""
    student.assert_inputs_unmodified()

"""Public checks of Task 2 (chain_rule.py): the lecture's examples, by hand."""

import numpy as np
import pytest

from grader.expected import reference
from grader.gradients import Mistake, assert_close

ref = reference("chain_rule")


def _sig(v):
    return 1.0 / (1.0 + np.exp(-np.asarray(v, dtype=np.float64)))


@pytest.mark.points(1)
def test_f_example_at_3(student):
    """(x + 2)^2 at x = 3 is 25 and its derivative 2u = 10."""
    assert_close(
        student.chain_rule.f_example(3.0),
        25.0,
        "f_example(3.0)",
        mistakes={Mistake("forgot_square", "returned u = x + 2; f is its square u^2"): 5.0},
    )
    assert_close(
        student.chain_rule.f_example_grad(3.0),
        10.0,
        "f_example_grad(3.0)",
        mistakes={
            Mistake("used_u_not_2u", "used u instead of 2u"): 5.0,
            Mistake("forgot_inner_function", "forgot the inner function: 2x instead of 2(x + 2)"): 6.0,
            Mistake("returned_f_not_grad", "returned f(x) = (x + 2)^2 itself, not its derivative"): 25.0,
        },
    )


@pytest.mark.points(1)
def test_neuron_backward_lecture_numbers(student):
    """The neuron w=[0.5,-0.3], x=[1,2], b=0.1 with dL/dy = 1."""
    w, x = np.array([0.5, -0.3]), np.array([1.0, 2.0])
    got = student.chain_rule.neuron_backward(w, x, 0.1, 1.0)
    want = ref.neuron_backward(w, x, 0.1, 1.0)
    at_a = _sig(want["y"]) * (1 - _sig(want["y"]))  # sigma' applied to the output y instead of to z
    sigma_a = Mistake(
        "sigma_prime_at_a",
        "used sigma'(a) = sigma(y)(1 - sigma(y)) instead of sigma'(z) = y (1 - y): "
        "apply sigma' to z, not to the output",
    )
    mistakes = {
        "z": {Mistake("forgot_bias", "forgot the bias: z = w . x + b"): want["z"] - 0.1},
        "dy_dz": {sigma_a: at_a},
        "dL_dw": {
            sigma_a: at_a * x,
            Mistake("times_w_not_x", "multiplied by w instead of x: dz/dw = x"): want["dL_dz"] * w,
        },
        "dL_db": {sigma_a: at_a},
    }
    for key in ("z", "y", "dy_dz", "dL_dw", "dL_db"):
        assert_close(got[key], want[key], f"neuron_backward(...)[{key!r}]", mistakes=mistakes.get(key))

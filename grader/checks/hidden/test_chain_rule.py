"""Hidden checks of Task 2 (chain_rule.py)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from grader.gradients import assert_close
from solutions import chain_rule as ref


@pytest.mark.points(2)
@given(x=st.floats(-50, 50))
def test_f_example_grad_property(student, x):
    """df/dx = 2(x + 2) for any x."""
    assert_close(student.chain_rule.f_example_grad(x), ref.f_example_grad(x), "f_example_grad", inputs={"x": x})


@pytest.mark.points(4)
def test_neuron_backward_random(student, seed):
    """Every intermediate of the neuron's backward pass on seeded inputs (D = 5)."""
    rng = np.random.default_rng(seed)
    w, x, b, up = rng.normal(size=5), rng.normal(size=5), float(rng.normal()), float(rng.normal())
    got = student.chain_rule.neuron_backward(w, x, b, up)
    want = ref.neuron_backward(w, x, b, up)
    for key, value in want.items():
        assert_close(got[key], value, f"neuron_backward(...)[{key!r}]", inputs={"w": w, "x": x})

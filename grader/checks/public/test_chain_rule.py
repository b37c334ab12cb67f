"""Public checks of Task 2 (chain_rule.py): the lecture's examples, by hand."""
import numpy as np
import pytest

from grader.expected import reference
from grader.gradients import assert_close

ref = reference("chain_rule")


@pytest.mark.points(1)
def test_f_example_at_3(student):
    """(x + 2)^2 at x = 3 is 25 and its derivative 2u = 10."""
    assert_close(student.chain_rule.f_example(3.0), 25.0, "f_example(3.0)")
    assert_close(student.chain_rule.f_example_grad(3.0), 10.0, "f_example_grad(3.0)", mistakes={"used u instead of 2u": 5.0})


@pytest.mark.points(1)
def test_neuron_backward_lecture_numbers(student):
    """The neuron w=[0.5,-0.3], x=[1,2], b=0.1 with dL/dy = 1."""
    w, x = np.array([0.5, -0.3]), np.array([1.0, 2.0])
    got = student.chain_rule.neuron_backward(w, x, 0.1, 1.0)
    want = ref.neuron_backward(w, x, 0.1, 1.0)
    for key in ("z", "y", "dy_dz", "dL_dw", "dL_db"):
        assert_close(got[key], want[key], f"neuron_backward(...)[{key!r}]")

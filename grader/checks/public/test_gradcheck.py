"""Public checks of Task 5 (gradcheck.py): a known function, hand cases of the relative error, a small report."""

import numpy as np
import pytest

from grader.checks.support_gradcheck import (
    ABS_OF_SUM,
    CUBE,
    FLOOR_ADDED,
    FORWARD_DIFFERENCE,
    MEAN_NOT_MAX,
    NO_FLOOR,
    ONE_SIDED_DENOMINATOR,
    RESTORE_HINT,
)
from grader.gradients import CheckFailure, Diagnosis, Mistake, assert_close, assert_true


@pytest.mark.points(1)
def test_numerical_gradient_of_cube(student):
    """numerical_gradient of f(x) = sum(x^3) on a (3, 4) array is 3x^2 (default h = 1e-5)."""
    x = np.linspace(-1.5, 2.0, 12).reshape(3, 4)
    h = 1e-5
    got = student.gradcheck.numerical_gradient.options(mutation_hint=RESTORE_HINT)(student.source(CUBE), x)
    forward = ((x + h) ** 3 - x**3) / h
    assert_close(
        got,
        3 * x**2,
        f"numerical_gradient({CUBE}, x)",
        inputs={"x": x},
        rtol=1e-7,
        atol=1e-8,
        mistakes={FORWARD_DIFFERENCE: forward},
    )


@pytest.mark.points(1)
def test_relative_error_hand_cases(student):
    """relative_error on small hand cases: the max over entries, and the 1e-8 floor of the denominator."""
    rel = student.gradcheck.relative_error
    zeros = np.zeros(3)
    got = rel(zeros, zeros)
    if not np.all(np.isfinite(np.asarray(got, dtype=np.float64))):  # 0/0: the floor is missing
        raise CheckFailure(
            f"relative_error(zeros(3), zeros(3)) returned {got}: two zero gradients must compare as equal "
            f"(0.0); divide by max(1e-8, |a| + |b|), not by |a| + |b|",
            diagnosis=Diagnosis.of(NO_FLOOR),
        )
    assert_close(got, 0.0, "relative_error(zeros(3), zeros(3))")

    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.3])
    entry = np.abs(a - b) / (np.abs(a) + np.abs(b))
    assert_close(
        rel(a, b),
        0.3 / 6.3,
        "relative_error([1, 2, 3], [1, 2, 3.3])",
        rtol=1e-9,
        mistakes={
            MEAN_NOT_MAX: entry.mean(),
            ONE_SIDED_DENOMINATOR: 0.3 / 3.3,
            Mistake(ONE_SIDED_DENOMINATOR.id, f"{ONE_SIDED_DENOMINATOR} (here: |a|)"): 0.3 / 3.0,
        },
    )

    a, b = np.array([1e-10, 0.5]), np.array([0.0, 0.5])
    assert_close(
        rel(a, b),
        0.01,
        "relative_error([1e-10, 0.5], [0, 0.5])",
        rtol=1e-9,
        mistakes={NO_FLOOR: 1.0, FLOOR_ADDED: 1e-10 / (1e-8 + 1e-10)},
    )

    a, b = np.array([1.0, -2.0]), np.array([-1.0, -2.0])
    assert_close(
        rel(a, b),
        1.0,
        "relative_error([1, -2], [-1, -2]) (opposite signs)",
        rtol=1e-9,
        mistakes={ABS_OF_SUM: 2.0 / 1e-8},
    )


@pytest.mark.points(1)
def test_check_gradients_small_report(student):
    """check_gradients on f(p) = sum(w^2) + 3 sum(b): one report per parameter, the wrong entry of b found."""
    f = student.source("lambda p: float((p['w'] ** 2).sum() + 3.0 * p['b'].sum())")
    w = np.array([[0.5, -1.0, 2.0], [1.5, -0.25, 0.75]])
    b = np.array([0.1, -0.2, 0.3, 0.4])
    params = {"w": w, "b": b}
    grads = {"w": 2 * w, "b": np.array([3.0, 3.0, 5.0, 3.0])}
    what = "check_gradients(f, params, grads) with f(p) = sum(w^2) + 3 sum(b)"
    report = student.gradcheck.check_gradients(f, params, grads)
    assert_true(
        isinstance(report, dict) and list(report) == ["w", "b"],
        f"{what}: expected a dict with one report per parameter, keys ['w', 'b'] in the order of params; "
        f"got {list(report) if isinstance(report, dict) else type(report).__name__}",
    )
    for name in ("w", "b"):
        entry = report[name]
        missing = [
            k
            for k in ("max_rel_error", "worst_index", "analytic", "numeric", "passed")
            if not isinstance(entry, dict) or k not in entry
        ]
        assert_true(not missing, f"{what}: report[{name!r}] lacks the keys {missing}")
    assert_true(
        report["w"]["passed"] is True and float(report["w"]["max_rel_error"]) < 1e-6,
        f"{what}: the gradient of w is correct (2w), so report['w'] should pass with max_rel_error < 1e-6; "
        f"got passed={report['w']['passed']!r}, max_rel_error={report['w']['max_rel_error']!r}",
    )
    rb = report["b"]
    assert_true(
        rb["passed"] is False,
        f"{what}: grads['b'][2] is 5 instead of 3, so report['b']['passed'] must be False; got {rb['passed']!r}",
    )
    got_index = rb["worst_index"]
    assert_true(
        isinstance(got_index, (tuple, list)) and tuple(int(i) for i in got_index) == (2,),
        f"{what}: report['b']['worst_index'] should be the index tuple of the wrong entry, (2,); got {got_index!r}",
    )
    assert_close(rb["max_rel_error"], 0.25, f"{what}: report['b']['max_rel_error'] (|5 - 3| / (5 + 3))", rtol=1e-6)
    assert_close(rb["analytic"], 5.0, f"{what}: report['b']['analytic'] (the analytic value at the worst index)")
    assert_close(
        rb["numeric"], 3.0, f"{what}: report['b']['numeric'] (the centred difference at the worst index)", rtol=1e-6
    )

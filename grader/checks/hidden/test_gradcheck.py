"""Hidden checks of Task 5 (gradcheck.py): centred differences, x restored, the relative error, per-parameter reports."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.checks.support_gradcheck import (
    ABS_OF_SUM,
    BACKWARD_DIFFERENCE,
    CUBE,
    DIVIDED_BY_H,
    FLOOR_ADDED,
    FORWARD_DIFFERENCE,
    H_IGNORED,
    MAX_OF_ABS,
    MEAN_NOT_MAX,
    NO_FLOOR,
    ONE_SIDED_DENOMINATOR,
    RESTORE_HINT,
)
from grader.checks.trusted_code import local_object, worker_object
from grader.gradients import CheckFailure, Diagnosis, assert_close, assert_true, numerical_gradient
from grader.sandbox.proxy import StudentError
from solutions import gradcheck as ref
from solutions import minibatch as ref_models

# Glue that must run in the worker because it holds on to the very array object the student's
# function perturbs (arrays sent from here arrive as fresh copies on every call). The functions it
# passes on are trusted callbacks: what the student's code evaluates is observed HERE.
PROBES = """
def restore_probe(ng, x, f, failing, after):
    ng(f, x)
    try:
        ng(failing, x)
    except ValueError:
        pass
    after(x)

def closure_probe(ng, x, f):
    return ng(lambda v: f(x), x)
"""


def _cube(v) -> float:
    return float((np.asarray(v, dtype=np.float64) ** 3).sum())


# The loss of a sigmoid 4-6-3 network with mean softmax cross-entropy, as a function of a params
# dict; the same code runs here (for the reference report) and in the worker (for the student's).
NET_LOSS = """
def make_loss(X, y):
    def loss(p):
        Z1 = X @ p["W1"].T + p["b1"]
        A1 = 0.5 * (1.0 + np.tanh(0.5 * Z1))
        Z2 = A1 @ p["W2"].T + p["b2"]
        m = Z2.max(axis=1, keepdims=True)
        lse = np.log(np.exp(Z2 - m).sum(axis=1)) + m[:, 0]
        return float(np.mean(lse - Z2[np.arange(len(y)), y]))
    return loss
"""


def run_probe(probe, what: str, *args):
    """Call a trusted probe in the worker; a student error inside it is reported as ``what`` raising it."""
    try:
        return probe(*args)
    except StudentError as exc:
        raise AssertionError(str(exc).replace("calling function", what, 1)) from None


# ------------------------------------------------------------------------------------------------
# numerical_gradient
# ------------------------------------------------------------------------------------------------


@pytest.mark.points(0.5)
def test_numerical_gradient_is_centred(student, seed):
    """At h = 1e-3 a centred difference of sum(x^3) is off by exactly h^2; a forward difference by 3xh."""
    rng = np.random.default_rng(seed + 1)
    x = rng.uniform(-2.0, 2.0, size=(4, 5))
    h = 1e-3
    got = student.gradcheck.numerical_gradient.options(mutation_hint=RESTORE_HINT)(student.source(CUBE), x, h=h)
    centred = 3 * x**2 + h**2
    assert_close(
        got,
        centred,
        f"numerical_gradient({CUBE}, x, h=1e-3)",
        inputs={"x": x},
        rtol=1e-8,
        atol=1e-9,
        mistakes={
            FORWARD_DIFFERENCE: 3 * x**2 + 3 * x * h + h**2,
            BACKWARD_DIFFERENCE: 3 * x**2 - 3 * x * h + h**2,
            DIVIDED_BY_H: 2 * centred,
        },
    )


@pytest.mark.points(0.5)
def test_numerical_gradient_any_shape(student, seed):
    """numerical_gradient of sum(sin x) + sum(x^2)/2 on a (2, 3, 4) array is cos x + x (float64, default h)."""
    rng = np.random.default_rng(seed + 2)
    x = rng.normal(size=(2, 3, 4))
    code = "lambda x: float(np.sin(x).sum() + 0.5 * (x ** 2).sum())"
    got = student.gradcheck.numerical_gradient.options(mutation_hint=RESTORE_HINT)(student.source(code), x)
    assert_close(got, np.cos(x) + x, f"numerical_gradient({code}, x)", inputs={"x": x}, rtol=1e-7, atol=1e-9)


@pytest.mark.points(1)
def test_numerical_gradient_restores_x(student, seed):
    """numerical_gradient leaves x exactly as it was, also when f raises part-way (every f(x) seen here)."""
    rng = np.random.default_rng(seed + 3)
    x = rng.normal(size=(3, 4))
    calls = {"n": 0}

    def failing(v):
        calls["n"] += 1
        if calls["n"] == 3:
            raise ValueError("planted failure of f")
        return _cube(v)

    f, fail, after = (student.callback(fn, like=(x,)) for fn in (_cube, failing, lambda v: None))
    probe = worker_object(student, PROBES, "restore_probe")
    run_probe(probe, "numerical_gradient(f, x)", student.gradcheck.numerical_gradient.get(), x, f, fail, after)
    assert_true(
        len(f.calls) >= x.size,
        f"numerical_gradient(f, x) called f {len(f.calls)} times for x of shape "
        f"{x.shape}; expected two calls per entry",
    )
    for number, (v,) in enumerate(f.calls, 1):  # each call: x with at most one entry changed
        v = np.asarray(v, dtype=np.float64)
        changed = np.argwhere(v != x)
        if len(changed) > 1:
            idx = tuple(int(i) for i in changed[0])
            drift = abs(v[idx] - x[idx])
            hint = (
                (
                    "an entry was left perturbed: after its two evaluations put the original value back "
                    "(old = x[i]; ...; x[i] = old)"
                )
                if drift > 1e-7
                else (
                    "restoring by arithmetic (x[i] += h, then -= 2h, then += h) does not give back the same "
                    "float; save old = x[i] and assign x[i] = old"
                )
            )
            raise AssertionError(
                f"numerical_gradient(f, x) changed x (shape {x.shape}): at call {number} of f, "
                f"x{list(idx)} is {v[idx]:.17g} instead of {x[idx]:.17g}; {hint}"
            )
    assert_true(
        len(fail.calls) == 3,
        "numerical_gradient(f, x) with an f that raises ValueError on its 3rd call did "
        "not let the exception propagate (f was called again after it raised)",
    )
    (final,) = after.calls[-1] if after.calls else (None,)
    if final is None or not np.array_equal(np.asarray(final, dtype=np.float64), x):
        raise AssertionError(
            "numerical_gradient(f, x) with an f that raises on its 3rd call left x perturbed: "
            "restore the entry in a `finally:` block so x is unchanged even when f fails"
        )


@pytest.mark.points(0.5)
def test_numerical_gradient_perturbs_in_place(student, seed):
    """An f that reads x through a closure (as a network's loss does) sees the perturbation: 3x^2 again."""
    rng = np.random.default_rng(seed + 4)
    x = rng.uniform(0.5, 2.0, size=(2, 3))
    probe = worker_object(student, PROBES, "closure_probe")
    got = run_probe(
        probe,
        "numerical_gradient(f, x)",
        student.gradcheck.numerical_gradient.get(),
        x,
        student.callback(_cube, like=(x,)),
    )
    arr = np.asarray(got, dtype=np.float64)
    if arr.shape == x.shape and np.allclose(arr, 0.0, atol=1e-12):
        raise AssertionError(
            "numerical_gradient(f, x) with f = lambda v: (x ** 3).sum() (f reads x itself, not its "
            "argument) returned zeros: perturb x IN PLACE as the docstring says (x[i] = old + h, "
            "call f(x), ..., then restore x[i] = old), not a copy of it"
        )
    assert_close(
        got,
        3 * x**2,
        "numerical_gradient(f, x) with f reading x through a closure",
        inputs={"x": x},
        rtol=1e-7,
        atol=1e-8,
    )


# ------------------------------------------------------------------------------------------------
# relative_error
# ------------------------------------------------------------------------------------------------

_VALUES = st.one_of(
    st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False), st.sampled_from([0.0, 1e-12, -3e-10, 1e-9])
)


@pytest.mark.points(0.5)
@given(pairs=st.lists(st.tuples(_VALUES, _VALUES), min_size=1, max_size=8))
def test_relative_error_matches_definition(student, pairs):
    """relative_error(a, b) = max |a - b| / max(1e-8, |a| + |b|) for any a, b: in [0, 1] and symmetric."""
    a = np.array([p[0] for p in pairs], dtype=np.float64)
    b = np.array([p[1] for p in pairs], dtype=np.float64)
    want = ref.relative_error(a, b)
    entry = np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))
    with np.errstate(divide="ignore", invalid="ignore"):
        no_floor = np.abs(a - b) / (np.abs(a) + np.abs(b))
        mistakes = {
            MEAN_NOT_MAX: entry.mean(),
            NO_FLOOR: np.nanmax(no_floor) if np.isfinite(no_floor).any() else np.nan,
            ABS_OF_SUM: (np.abs(a - b) / np.maximum(1e-8, np.abs(a + b))).max(),
            MAX_OF_ABS: (np.abs(a - b) / np.maximum(1e-8, np.maximum(np.abs(a), np.abs(b)))).max(),
            FLOOR_ADDED: (np.abs(a - b) / (1e-8 + np.abs(a) + np.abs(b))).max(),
            ONE_SIDED_DENOMINATOR: (np.abs(a - b) / np.maximum(1e-8, np.abs(b))).max(),
        }
        mistakes = {
            k: v
            for k, v in mistakes.items()  # those equal to the right answer here name nothing
            if np.isfinite(v) and not np.isclose(v, want, rtol=1e-6, atol=1e-12)
        }
    got = student.gradcheck.relative_error(a, b)
    arr = np.asarray(got, dtype=np.float64) if isinstance(got, (int, float, np.ndarray)) else None
    if arr is not None and arr.shape == () and not np.isfinite(arr):
        proven = bool(np.any((np.asarray(a) == 0) & (np.asarray(b) == 0)))  # 0/0: the floor is missing
        raise CheckFailure(
            f"relative_error(a, b) returned {got} for a = {a.tolist()}, b = {b.tolist()}: "
            f"entries where both are 0 need the floor max(1e-8, |a| + |b|) in the denominator",
            diagnosis=Diagnosis.of(NO_FLOOR) if proven else None,
        )
    assert_close(
        got,
        want,
        "relative_error(a, b)",
        inputs={"a": a.tolist(), "b": b.tolist()},
        rtol=1e-9,
        atol=1e-12,
        mistakes=mistakes,
    )
    one_sided = (np.abs(a - b) / np.maximum(1e-8, np.abs(a))).max()  # with the arguments swapped
    assert_close(
        student.gradcheck.relative_error(b, a),
        want,
        "relative_error(b, a) (it must be symmetric)",
        inputs={"a": a.tolist(), "b": b.tolist()},
        rtol=1e-9,
        atol=1e-12,
        mistakes={ONE_SIDED_DENOMINATOR: one_sided} if not np.isclose(one_sided, want, rtol=1e-6) else None,
    )


# ------------------------------------------------------------------------------------------------
# check_gradients
# ------------------------------------------------------------------------------------------------


def _net_problem(seed):
    """A sigmoid 4-6-3 net, N = 5 (all dimensions differ), inputs and weights seeded."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(5, 4))
    y = rng.integers(0, 3, size=5).astype(np.int64)
    model = ref_models.TwoLayerNet(4, 6, 3, seed=int(rng.integers(1 << 30)), activation="sigmoid")
    params = {k: v + 0.1 * rng.normal(size=v.shape) for k, v in model.params.items()}
    return X, y, model, params


def _entry_errors(loss, params, grads, name):
    """Trusted entrywise relative errors of grads[name] against central differences of loss."""
    num = numerical_gradient(lambda v: loss(dict(params, **{name: v})), params[name])
    return num, np.abs(grads[name] - num) / np.maximum(1e-8, np.abs(grads[name]) + np.abs(num))


@pytest.mark.points(0.5)
def test_check_gradients_per_parameter(student, seed):
    """check_gradients on a 4-6-3 sigmoid net: planted bias bug (mean, not sum) fails on b1, b2; a wrong W2 entry is found."""
    X, y, model, params = _net_problem(seed + 5)
    _, grads = model.loss_and_grads(X, y, params)
    bad = {k: v.copy() for k, v in grads.items()}
    bad["b1"] = grads["b1"] / 5  # Delta.mean(axis=0) instead of Delta.sum(axis=0), N = 5
    bad["b2"] = grads["b2"] / 5
    bad["W2"][1, 2] *= 3.0  # one wrong entry: relative error 0.5 there
    loss_here = local_object(NET_LOSS, "make_loss")(X, y)
    want = ref.check_gradients(loss_here, params, bad)
    f = worker_object(student, NET_LOSS, "make_loss")(X, y)
    what = (
        "check_gradients(loss, params, grads) on a 4-6-3 sigmoid net (N = 5) with bias gradients averaged "
        "instead of summed and grads['W2'][1, 2] three times too large"
    )
    report = student.gradcheck.check_gradients(f, params, bad)
    assert_true(
        isinstance(report, dict) and list(report) == list(params),
        f"{what}: expected one report per parameter with keys {list(params)} in the order of params; got "
        f"{list(report) if isinstance(report, dict) else type(report).__name__}",
    )
    keys = ("max_rel_error", "worst_index", "analytic", "numeric", "passed")
    for name in params:
        got = report[name]
        assert_true(
            isinstance(got, dict) and all(k in got for k in keys),
            f"{what}: report[{name!r}] must be a dict with the keys {list(keys)}",
        )
        w = want[name]
        num, err = _entry_errors(loss_here, params, bad, name)
        idx = got["worst_index"]
        idx = tuple(int(i) for i in idx) if isinstance(idx, (tuple, list)) else idx
        assert_true(
            isinstance(idx, tuple)
            and len(idx) == params[name].ndim
            and all(0 <= i < s for i, s in zip(idx, params[name].shape)),
            f"{what}: report[{name!r}]['worst_index'] = {idx!r} is not an index tuple of {name} "
            f"(shape {params[name].shape})",
        )
        if w["passed"]:
            assert_true(
                got["passed"] is True and float(got["max_rel_error"]) < ref.DEFAULT_TOL,
                f"{what}: the gradient of {name} is correct, so its report should pass with max_rel_error "
                f"< 1e-6; got passed={got['passed']!r}, max_rel_error={got['max_rel_error']!r}",
            )
        else:
            assert_true(
                got["passed"] is False,
                f"{what}: grads[{name!r}] is wrong (max relative error {w['max_rel_error']:.3g}), so "
                f"report[{name!r}]['passed'] must be False; got {got['passed']!r}",
            )
            worst = {tuple(int(i) for i in j) for j in np.argwhere(err >= err.max() * (1 - 1e-6))}
            assert_true(
                idx in worst,
                f"{what}: report[{name!r}]['worst_index'] is {idx}, where the relative error is {err[idx]:.3g}; "
                f"expected {sorted(worst)[0] if len(worst) == 1 else sorted(worst)}, where it is "
                f"{err.max():.3g} (the largest of this parameter)",
            )
            assert_close(
                got["max_rel_error"],
                w["max_rel_error"],
                f"{what}: report[{name!r}]['max_rel_error']",
                rtol=1e-6,
                mistakes={MEAN_NOT_MAX: err.mean()},
            )
        assert_close(
            got["analytic"],
            bad[name][idx],
            f"{what}: report[{name!r}]['analytic'] (grads[{name!r}] at the reported worst_index {idx})",
        )
        assert_close(
            got["numeric"],
            num[idx],
            f"{what}: report[{name!r}]['numeric'] (the centred difference at the reported worst_index {idx})",
            rtol=1e-6,
            atol=1e-9,
        )
    loose = student.gradcheck.check_gradients(f, params, bad, tol=0.6)
    flags = {k: v["passed"] for k, v in ref.check_gradients(loss_here, params, bad, tol=0.6).items()}
    got_flags = {k: v["passed"] for k, v in loose.items()} if isinstance(loose, dict) else loose
    assert_true(
        got_flags == flags,
        f"check_gradients(..., tol=0.6) on the same problem: passed flags {got_flags}; expected {flags} "
        f"(passed = max_rel_error < tol, with the tol given)",
    )


@pytest.mark.points(0.5)
def test_check_gradients_samples_entries(student, seed):
    """With num_samples = 5, each parameter larger than 5 entries is checked at 5 distinct entries, one at a time."""
    rng = np.random.default_rng(seed + 6)
    params = {"W1": rng.normal(size=(6, 4)), "b1": rng.normal(size=3), "W2": rng.normal(size=(2, 5))}
    grads = {k: 2 * v for k, v in params.items()}
    expected = {"W1": 5, "b1": 3, "W2": 5}
    what = "check_gradients(f, params, grads, num_samples=5, seed=3) with W1 (6, 4), b1 (3,), W2 (2, 5)"
    seen_runs = []

    def changed_entries(p) -> list:
        return [
            [k, [int(i) for i in idx]]
            for k in params
            for idx in np.argwhere(np.asarray(p[k], dtype=np.float64) != params[k])
        ]

    for _ in range(2):  # f runs here: which entries the student's code perturbed is observed, not reported
        f = student.callback(
            lambda p: float(sum((np.asarray(v, dtype=np.float64) ** 2).sum() for v in p.values())), like=(params,)
        )
        report = student.gradcheck.check_gradients(f, params, grads, num_samples=5, seed=3)
        calls = [changed_entries(p) for (p,) in f.calls]
        multi = [c for c in calls if len(c) > 1]
        assert_true(
            not multi,
            f"{what}: f was called with several entries perturbed at once "
            f"({multi[0] if multi else ''}); perturb one entry at a time",
        )
        seen = {}
        for c in calls:
            for name, idx in c:
                seen.setdefault(name, set()).add(tuple(idx))
        evaluations = {}
        for c in calls:
            for name, _ in c:
                evaluations[name] = evaluations.get(name, 0) + 1
        for name, count in expected.items():
            got = len(seen.get(name, ()))
            if got != count:
                size = params[name].size
                found = None
                if count == 5 and got == size:
                    found = Diagnosis(
                        "num_samples_ignored",
                        f"num_samples was ignored: all {size} entries of "
                        f"{name} were checked; check only num_samples of them when the parameter is "
                        f"larger",
                    )
                elif count == 5 and got < count and evaluations.get(name, 0) >= 2 * count:
                    found = Diagnosis(
                        "sampled_with_replacement",
                        f"{evaluations[name] // 2} entries of {name} were "
                        f"drawn but only {got} are distinct: draw WITHOUT replacement "
                        f"(rng.choice(size, num_samples, replace=False))",
                    )
                raise CheckFailure(
                    f"{what}: {got} distinct entries of {name} were perturbed; expected {count} "
                    + (
                        "(num_samples entries of a parameter larger than num_samples)"
                        if count == 5
                        else "(every entry of a parameter not larger than num_samples)"
                    )
                    + (f". Likely: {found.message}" if found else ""),
                    diagnosis=found,
                )
            idx = tuple(int(i) for i in report[name]["worst_index"])
            assert_true(
                idx in seen[name],
                f"{what}: report[{name!r}]['worst_index'] = {idx} is not one of the entries that were checked",
            )
        seen_runs.append(seen)
    assert_true(
        seen_runs[0] == seen_runs[1],
        f"{what}: two calls with the same seed checked different entries; draw them with np.random.default_rng(seed)",
    )


def _steps_seen(calls, base: dict) -> set:
    """The sizes |v - base| of the perturbations observed in the calls of a callback f(p) (rounded)."""
    sizes = set()
    for (p,) in calls:
        for k, v in p.items() if isinstance(p, dict) else [("x", p)]:
            diff = np.abs(np.asarray(v, dtype=np.float64) - base[k])
            sizes.update(float(f"{d:.3g}") for d in diff[diff > 0])
    return sizes


def _sampled(calls, params: dict) -> dict:
    """{name: set of the entries a check_gradients run perturbed}, observed through its callback f."""
    seen: dict = {name: set() for name in params}
    for (p,) in calls:
        for name in params:
            for idx in np.argwhere(np.asarray(p[name], dtype=np.float64) != params[name]):
                seen[name].add(tuple(int(i) for i in idx))
    return seen


def _squares(p) -> float:
    return float(sum((np.asarray(v, dtype=np.float64) ** 2).sum() for v in p.values()))


@pytest.mark.points(0.5)
def test_h_seed_and_copies(student, seed):
    """The h of numerical_gradient and check_gradients is the step taken; seed=0 is a seed; each parameter gets its own generator; integer params are checked on float64 copies."""
    rng = np.random.default_rng(seed + 7)
    # h: the size of each perturbation is observed in the calls of f
    x = rng.uniform(0.5, 2.0, size=(2, 3))
    h = 0.25
    f = student.callback(_cube, like=(x,))
    got = student.gradcheck.numerical_gradient.options(mutation_hint=RESTORE_HINT)(f, x, h=h)
    what = f"numerical_gradient(f, x, h={h}) with f(x) = sum(x^3), x (2, 3)"
    steps = _steps_seen(f.calls, {"x": x})
    if steps and max(steps) < 1e-3:
        raise CheckFailure(
            f"{what}: f saw x perturbed by {sorted(steps)[:3]}, not by h = {h}. Likely: {H_IGNORED}",
            diagnosis=H_IGNORED,
        )
    assert_close(
        got,
        3 * x**2 + h**2,
        what,
        inputs={"x": x},
        rtol=1e-9,
        atol=1e-9,
        mistakes={FORWARD_DIFFERENCE: 3 * x**2 + 3 * x * h + h**2, DIVIDED_BY_H: 2 * (3 * x**2 + h**2)},
    )

    params = {"A": rng.normal(size=(6, 4)), "B": rng.normal(size=(6, 4)), "c": rng.normal(size=(3,))}
    grads = {k: 2 * v for k, v in params.items()}
    f = student.callback(_squares, like=(params,))
    what = f"check_gradients(f, params, grads, h={h}) with f(p) = sum of squares"
    report = student.gradcheck.check_gradients(f, params, grads, h=h)
    steps = _steps_seen(f.calls, params)
    if steps and max(steps) < 1e-3:
        raise CheckFailure(
            f"{what}: f saw the parameters perturbed by {sorted(steps)[:3]}, not by h = {h}. Likely: {H_IGNORED}",
            diagnosis=H_IGNORED,
        )
    assert_true(
        steps == {h}, f"{what}: f saw perturbations of sizes {sorted(steps)[:4]}; expected h = {h}, one entry at a time"
    )
    assert_true(
        isinstance(report, dict) and all(report[k]["passed"] is True for k in params),
        f"{what}: every gradient is exact (2p), so every report must pass",
    )

    # the sample: deterministic for seed = 0 too, and drawn by a fresh generator per parameter
    runs = {}
    for s in (0, 0, 7):
        f = student.callback(_squares, like=(params,))
        student.gradcheck.check_gradients(f, params, grads, num_samples=5, seed=s)
        runs.setdefault(s, []).append(_sampled(f.calls, params))
    what = "check_gradients(f, params, grads, num_samples=5, seed=s) with A (6, 4), B (6, 4), c (3,)"
    if runs[0][0] != runs[0][1]:
        f = student.callback(_squares, like=(params,))
        student.gradcheck.check_gradients(f, params, grads, num_samples=5, seed=7)
        same_for_7 = _sampled(f.calls, params) == runs[7][0]
        found = (
            Diagnosis(
                "seed_zero_treated_as_none",
                "seed=0 was treated as no seed (`if seed:` is False for 0): "
                "use np.random.default_rng(seed) whatever its value",
            )
            if same_for_7
            else None
        )
        raise CheckFailure(
            f"{what}: two calls with seed=0 checked different entries"
            + (f". Likely: {found.message}" if found else "; draw them with np.random.default_rng(seed)"),
            diagnosis=found,
        )
    local = {}
    for s in (0, 7):  # the reference's samples, observed the same way, here
        calls = []
        ref.check_gradients(
            lambda p: calls.append(({k: v.copy() for k, v in p.items()},)) or _squares(p),
            params,
            grads,
            num_samples=5,
            seed=s,
        )
        local[s] = _sampled(calls, params)
    if local[0] != local[7]:
        assert_true(
            runs[0][0] != runs[7][0],
            f"{what}: seed=0 and seed=7 checked the same entries: the seed must "
            f"choose the sample (np.random.default_rng(seed))",
        )
    a_set, b_set = runs[0][0]["A"], runs[0][0]["B"]
    if len(a_set) == len(b_set) == 5 and a_set != b_set:
        found = Diagnosis(
            "one_generator_for_all_parameters",
            "one generator was shared by all parameters: A and B "
            "have the same shape and seed but got different samples; create "
            "np.random.default_rng(seed) afresh for each parameter",
        )
        raise CheckFailure(
            f"{what}: A and B (both (6, 4)) were sampled at different entries. Likely: {found.message}", diagnosis=found
        )

    # integer parameters: the centred differences must be taken on float64 copies
    ints = {"w": np.array([1, -2, 3], dtype=np.int64)}
    f = student.callback(_squares, like=(ints,))
    report = student.gradcheck.check_gradients(f, ints, {"w": np.array([2.0, -4.0, 6.0])})
    what = "check_gradients(f, {'w': an int64 array [1, -2, 3]}, {'w': 2w}) with f(p) = sum(w^2)"
    steps = _steps_seen(f.calls, {"w": ints["w"].astype(np.float64)})
    entry = report.get("w") if isinstance(report, dict) else None
    if not (isinstance(entry, dict) and entry.get("passed") is True):
        whole = bool(f.calls) and all(abs(step - round(step)) < 1e-9 for step in steps)  # no step of 1e-5 seen
        found = (
            Diagnosis(
                "integer_params_not_copied",
                "the parameters were perturbed in their own integer dtype, "
                "where w + 1e-5 is rounded to a whole number: work on float64 copies "
                "(np.array(p, dtype=np.float64))",
            )
            if whole
            else None
        )
        raise CheckFailure(
            f"{what}: the gradient 2w is exact, so report['w'] must pass; got {entry!r}"
            + (f". Likely: {found.message}" if found else ""),
            diagnosis=found,
        )


@pytest.mark.points(0.5)
def test_inputs_left_unmodified(student):
    """No call above changed its array arguments in place (seen inside your worker, so worth little)."""
    student.assert_inputs_unmodified()

"""Public checks of Task 6 (minibatch.py): the batches of the handout, the update count, one step, standardisation."""

import math

import numpy as np
import pytest

from grader.checks.support_minibatch import (
    CONSTANT_RESIDUE,
    DDOF_ONE,
    EPSILON,
    FLOOR_NOT_CEIL,
    LAST_BATCH_DROPPED,
    OWN_STATISTICS,
    SEED_IGNORED,
    SEED_ZERO_AS_NONE,
    check_batches,
    dropped_last_batch_message,
    fail,
)
from grader.expected import reference
from grader.gradients import CheckFailure, assert_close, assert_true
from grader.sandbox.proxy import Remote

ref = reference("minibatch")  # recorded reference values: students run these checks without solutions/

RESULT_KEYS = (
    "train_loss",
    "val_loss",
    "num_updates",
    "updates_per_epoch",
    "epochs_run",
    "stopped_early",
    "best_epoch",
    "params",
)


@pytest.mark.points(1)
def test_batch_indices_ten_samples_batch_four(student):
    """batch_indices(10, 4): batches of sizes 4, 4, 2 in order; shuffled with seed 0 they cut default_rng(0).permutation(10)."""
    plain = [np.arange(0, 4), np.arange(4, 8), np.arange(8, 10)]
    check_batches(student.minibatch.batch_indices(10, 4), plain, "batch_indices(10, 4)", shuffle=False)
    perm = np.random.default_rng(0).permutation(10)
    what = "batch_indices(10, 4, shuffle=True, seed=0)"
    got = student.minibatch.batch_indices(10, 4, shuffle=True, seed=0)
    try:
        check_batches(got, [perm[0:4], perm[4:8], perm[8:10]], what, shuffle=True)
    except CheckFailure as exc:
        if exc.diagnosis is None:
            check_seed_use(student, exc, got)
        raise


def _order(batches):
    ok = isinstance(batches, list) and all(isinstance(b, np.ndarray) for b in batches)
    return np.concatenate(batches).tolist() if ok and batches else None


def check_seed_use(student, exc: CheckFailure, first) -> None:
    """After a wrong seeded order: a second call with the same seed 0, and one with seed 1, show
    whether the seed is ignored altogether or only the seed 0 (``if seed:`` is False for 0)."""
    again = _order(student.minibatch.batch_indices(10, 4, shuffle=True, seed=0))
    if again is None or _order(first) is None or again == _order(first):
        return
    one = _order(student.minibatch.batch_indices(10, 4, shuffle=True, seed=1))
    if one == np.random.default_rng(1).permutation(10).tolist():
        fail(
            f"{exc}; two calls with seed=0 gave different orders, seed=1 gives the seeded one",
            SEED_ZERO_AS_NONE,
            "seed=0 is treated as no seed: `if seed:` is False for 0; test `seed is None` (or pass the seed "
            "straight to np.random.default_rng)",
        )
    fail(
        f"{exc}; two calls with seed=0 gave different orders",
        SEED_IGNORED,
        "the seed is not used: make the generator with np.random.default_rng(seed) from the argument",
    )


@pytest.mark.points(0.5)
def test_iterate_minibatches_ten_samples(student):
    """iterate_minibatches(X, y, 4) on 10 samples yields (X[idx], y[idx]) for the batches 0-3, 4-7, 8-9."""
    X = np.arange(30.0).reshape(10, 3)
    y = np.arange(10, dtype=np.int64) * 10
    got = student.minibatch.iterate_minibatches(X, y, 4)
    batches = list(got) if isinstance(got, Remote) else got
    what = "iterate_minibatches(X, y, 4) with X of shape (10, 3)"
    assert_true(
        isinstance(batches, list) and all(isinstance(b, (tuple, list)) and len(b) == 2 for b in batches),
        f"{what}: expected an iterator of (X_batch, y_batch) pairs",
    )
    shapes = [np.shape(xb) for xb, _ in batches]
    if shapes == [(4, 3), (4, 3)]:
        fail(
            f"{what}: X batches of shapes {shapes}; expected [(4, 3), (4, 3), (2, 3)]",
            LAST_BATCH_DROPPED,
            dropped_last_batch_message(2),
        )
    assert_true(
        shapes == [(4, 3), (4, 3), (2, 3)], f"{what}: X batches of shapes {shapes}; expected [(4, 3), (4, 3), (2, 3)]"
    )
    for k, (idx, (xb, yb)) in enumerate(zip([range(0, 4), range(4, 8), range(8, 10)], batches), start=1):
        idx = list(idx)
        assert_close(xb, X[idx], f"{what}: X of batch {k}")
        assert_close(yb, y[idx], f"{what}: y of batch {k}")


@pytest.mark.points(0.5)
def test_num_updates_per_epoch_hand_cases(student):
    """num_updates_per_epoch(n, B) = ceil(n / B): batch GD makes 1 update per epoch, SGD n."""
    for n, b in [(10, 4), (12, 4), (10, 10), (10, 32), (10, 1), (0, 4), (1257, 32)]:
        got = student.minibatch.num_updates_per_epoch(n, b)
        want = math.ceil(n / b)
        detail = f"num_updates_per_epoch({n}, {b}) returned {got!r}; expected the int {want}"
        if got == n // b and want != n // b:
            fail(detail, FLOOR_NOT_CEIL, "the last partial batch is an update too: ceil, not floor (n // B drops it)")
        assert_true(isinstance(got, int) and not isinstance(got, bool) and got == want, detail)


@pytest.mark.points(1)
def test_one_full_batch_step_is_the_gradient(student):
    """One epoch with batch_size = N and lr = 1 from fixed weights: W0 - W1 is the full-batch gradient at W0."""
    rng = np.random.default_rng(0)
    n, d, c = 6, 4, 3
    X, y = rng.normal(size=(n, d)), rng.integers(0, c, size=n).astype(np.int64)
    W0, b0 = rng.normal(0.0, 0.5, size=(c, d)), rng.normal(0.0, 0.5, size=c)
    model = student.minibatch.LinearSoftmaxModel(d, c, seed=0)
    model.params = {"W": W0, "b": b0}
    res = student.minibatch.train(model, X, y, batch_size=n, lr=1.0, epochs=1, seed=0)
    what = "train(model, X, y, batch_size=6, lr=1.0, epochs=1, seed=0) with X of shape (6, 4)"
    assert_true(
        isinstance(res, dict), f"{what} returned a {getattr(res, 'type_name', type(res).__name__)}; expected a dict"
    )
    missing = [k for k in RESULT_KEYS if k not in res]
    assert_true(not missing, f"{what}: the result lacks the keys {missing}")

    def one_step(r):
        oracle = r.LinearSoftmaxModel(d, c)
        loss0, grads = oracle.loss_and_grads(X, y, {"W": W0, "b": b0})
        return loss0, grads, oracle.loss(X, y, {"W": W0 - grads["W"], "b": b0 - grads["b"]})

    loss0, grads, loss1 = ref.value("one-full-batch-step", one_step)
    for k in ("W", "b"):
        step = {"W": W0, "b": b0}[k] - np.asarray(res["params"][k], dtype=np.float64)
        assert_close(
            step,
            grads[k],
            f"{what}: W0 - W1 for {k!r} (must equal the full-batch gradient)",
            rtol=1e-8,
            atol=1e-12,
            batch=n,
        )
    assert_true(
        isinstance(res["train_loss"], list) and len(res["train_loss"]) == 2,
        f"{what}: train_loss must be a list of epochs_run + 1 = 2 losses (entry 0 before any update); "
        f"got {res['train_loss']!r}",
    )
    assert_close(res["train_loss"], [loss0, loss1], f"{what}: train_loss", rtol=1e-9)
    for key, want in (
        ("num_updates", 1),
        ("updates_per_epoch", 1),
        ("epochs_run", 1),
        ("stopped_early", False),
        ("val_loss", None),
        ("best_epoch", None),
    ):
        assert_true(
            res[key] == want and type(res[key]) is type(want),
            f"{what}: result[{key!r}] is {res[key]!r}; expected {want!r}",
        )


@pytest.mark.points(1)
def test_standardize_hand_case(student):
    """standardize_fit: mean and population std per feature, std 1 for a constant feature; apply reuses them."""
    X = np.array([[1.0, 10.0, 0.1], [3.0, 10.0, 0.1], [5.0, 10.0, 0.1]])
    got = student.minibatch.standardize_fit(X)
    assert_true(
        isinstance(got, (tuple, list)) and len(got) == 2,
        f"standardize_fit(X) returned {type(got).__name__}; expected a tuple (mean, std)",
    )
    mean, std = got
    assert_close(
        mean,
        X.mean(axis=0),
        "standardize_fit(X)[0] (the mean) with X = [[1, 10, 0.1], [3, 10, 0.1], [5, 10, 0.1]]",
        rtol=1e-12,
    )
    assert_close(
        std,
        [math.sqrt(8 / 3), 1.0, 1.0],
        "standardize_fit(X)[1] (the std)",
        rtol=1e-12,
        mistakes={DDOF_ONE: [2.0, 1.0, 1.0], CONSTANT_RESIDUE: [math.sqrt(8 / 3), 1.0, X[:, 2].std()]},
    )
    mu, sd = X.mean(axis=0), np.array([math.sqrt(8 / 3), 1.0, 1.0])
    X_test = np.array([[7.0, 12.0, 0.5], [9.0, 8.0, -0.5]])
    own = (X_test - X_test.mean(axis=0)) / X_test.std(axis=0)
    assert_close(
        student.minibatch.standardize_apply(X_test, mu, sd),
        (X_test - mu) / sd,
        "standardize_apply(X_test, mean, std) with the training (mean, std)",
        rtol=1e-12,
        mistakes={OWN_STATISTICS: own, EPSILON: (X_test - mu) / (sd + 1e-8)},
    )

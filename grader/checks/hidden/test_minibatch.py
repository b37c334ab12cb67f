"""Hidden checks of Task 6 (minibatch.py): every sample once, seeded orders, the reference run, early and NaN stops."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.checks.heldout import digits
from grader.checks.support_minibatch import (
    CONSTANT_RESIDUE,
    DDOF_ONE,
    EPSILON,
    LAST_BATCH_DROPPED,
    OWN_STATISTICS,
    SEED_ZERO_AS_NONE,
    SHUFFLE_IGNORED,
    SHUFFLED_WITHOUT_SHUFFLE,
    check_batches,
    dropped_last_batch_message,
    fail,
)
from grader.checks.trusted_code import local_object, worker_object
from grader.gradients import CheckFailure, Mistake, assert_close, assert_true
from grader.sandbox.proxy import Remote, StudentError
from solutions import minibatch as ref

# A softmax-regression model on X[:, 1:] whose column 0 carries the sample ids: it records the ids
# of every batch it is asked for a gradient, so the order of the updates can be read back.
RECORDER = """
class Recorder:
    def __init__(self, W, b):
        self.params = {"W": np.array(W, dtype=np.float64), "b": np.array(b, dtype=np.float64)}
        self.batches = []

    def _ce(self, X, y, p):
        X = np.asarray(X, dtype=np.float64)[:, 1:]
        y = np.asarray(y, dtype=np.int64)
        n = len(y)
        Z = X @ p["W"].T + p["b"]
        Zs = Z - Z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(Zs).sum(axis=1))
        loss = float(np.mean(lse - Zs[np.arange(n), y]))
        P = np.exp(Zs - lse[:, None])
        P[np.arange(n), y] -= 1.0
        P /= n
        return loss, {"W": P.T @ X, "b": P.sum(axis=0)}

    def loss(self, X, y, params=None):
        return self._ce(X, y, self.params if params is None else params)[0]

    def loss_and_grads(self, X, y, params=None):
        self.batches.append([int(i) for i in np.asarray(X)[:, 0]])
        return self._ce(X, y, self.params if params is None else params)
"""

# One parameter t that grows by lr per update (gradient -1): with batch_size = N and lr = 1, t is the
# epoch. The loss on the validation set (marked by X[0, 0] == -1) is val_curve[t]; on the training
# set train_curve[t]; on a batch smaller than the training set batch_curve[t] (else the train curve).
SCRIPTED = """
class Scripted:
    def __init__(self, val_curve, train_curve=None, batch_curve=None, n_train=4):
        self.val_curve, self.train_curve, self.batch_curve = val_curve, train_curve, batch_curve
        self.n_train = n_train
        self.params = {"t": np.zeros(1)}

    def _t(self, params):
        return int(round(float(np.asarray((self.params if params is None else params)["t"]).ravel()[0])))

    def loss(self, X, y, params=None):
        t = self._t(params)
        pick = lambda curve: float(curve[min(t, len(curve) - 1)])
        if X[0, 0] == -1:
            return pick(self.val_curve)
        if self.batch_curve is not None and len(X) < self.n_train:
            return pick(self.batch_curve)
        return pick(self.train_curve) if self.train_curve is not None else 1.0 / (1.0 + t)

    def loss_and_grads(self, X, y, params=None):
        return self.loss(X, y, params), {"t": -np.ones(1)}
"""

# A probe of the arrays a model holds: did a call write into them?
TRACKER = """
def track(model):
    refs = dict(model.params)
    copies = {k: np.array(v, copy=True) for k, v in refs.items()}
    return lambda: [k for k in refs if not np.array_equal(refs[k], copies[k])]
"""


def as_list(batches):
    return list(batches) if isinstance(batches, Remote) else batches


# ------------------------------------------------------------------------------------------------
# batch_indices / iterate_minibatches
# ------------------------------------------------------------------------------------------------


@pytest.mark.points(0.5)
@given(n=st.integers(0, 40), batch_size=st.integers(1, 45), shuffle=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_every_sample_once_per_epoch(student, n, batch_size, shuffle, seed):
    """For any N and batch size, the batches use every sample exactly once, in the seeded order when shuffled."""
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    expected = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    args = f"{n}, {batch_size}, shuffle={shuffle}, seed={seed}"
    check_batches(
        student.minibatch.batch_indices(n, batch_size, shuffle=shuffle, seed=seed),
        expected,
        f"batch_indices({args})",
        shuffle=shuffle,
    )
    X = np.arange(2.0 * n).reshape(n, 2) + 0.5
    y = np.arange(n, dtype=np.int64) * 3
    what = f"iterate_minibatches(X, y, {batch_size}, shuffle={shuffle}, seed={seed}) with X of shape ({n}, 2)"
    got = as_list(student.minibatch.iterate_minibatches(X, y, batch_size, shuffle=shuffle, seed=seed))
    detail = f"{what}: yielded {len(got) if isinstance(got, list) else got!r} batches; expected {len(expected)}"
    if isinstance(got, list) and len(got) == n // batch_size and len(expected) != n // batch_size:
        fail(detail, LAST_BATCH_DROPPED, dropped_last_batch_message(n % batch_size))
    assert_true(isinstance(got, list) and len(got) == len(expected), detail)
    for k, ((xb, yb), idx) in enumerate(zip(got, expected), start=1):
        check_pairs(xb, yb, X, y, idx, f"{what}: batch {k}")


def check_pairs(xb, yb, X, y, idx, what: str) -> None:
    """X_batch and y_batch are X[idx] and y[idx] for the same idx. X's rows and y's entries carry
    their sample ids (row i of X is 2i + 0.5, 2i + 1.5; y[i] = 3i), so rows taken from one
    permutation and labels from another show as pairs of different samples."""
    xa, ya = np.asarray(xb, dtype=np.float64), np.asarray(yb, dtype=np.float64)
    if xa.shape == X[idx].shape and ya.shape == y[idx].shape and not np.array_equal(ya, y[idx]):
        ids_x, ids_y = np.round((xa[:, 0] - 0.5) / 2).astype(int), np.round(ya / 3).astype(int)
        in_range = ids_x.size and ids_x.min() >= 0 and ids_x.max() < len(X)
        if (
            in_range
            and np.array_equal(xa, X[ids_x])
            and np.array_equal(ya, ids_y * 3.0)
            and not np.array_equal(ids_x, ids_y)
        ):
            fail(
                f"{what}: X_batch holds the samples {ids_x.tolist()} but y_batch the labels of the samples "
                f"{ids_y.tolist()}",
                XY_DIFFERENT_ORDERS,
                "X and y were indexed with different orders (two permutations): draw ONE order and take "
                "X[idx] and y[idx] with the same idx, or each sample gets another sample's label",
            )
    assert_close(xb, X[idx], f"{what}: X_batch")
    assert_close(yb, y[idx], f"{what}: y_batch")


XY_DIFFERENT_ORDERS = "x_and_y_different_permutations"


# Writes into every batch iterate_minibatches yields (shuffle=False, where slicing would give views)
# and reports whether X or y changed: the batches must be copies.
WRITE_PROBE = """
def writes_through(fn):
    X = np.arange(12.0).reshape(6, 2)
    y = np.arange(6)
    X0, y0 = X.copy(), y.copy()
    for xb, yb in fn(X, y, 4):
        for arr, value in ((xb, -1.0), (yb, -1)):
            try:
                arr[...] = value
            except (ValueError, TypeError):  # a read-only batch cannot write through either
                pass
    return [bool(not np.array_equal(X, X0)), bool(not np.array_equal(y, y0))]
"""


def _expect_value_error(student, what, *args):
    """iterate_minibatches(*args) must raise ValueError when called, not when first iterated."""
    try:
        got = student.minibatch.iterate_minibatches(*args)
    except StudentError as exc:
        if exc.type == "NotImplementedError":
            raise
        assert_true(exc.type == "ValueError", f"{what} raised {exc.type}: {exc.message[:200]}; expected ValueError")
        return
    detail = f"{what} returned {getattr(got, 'type_name', type(got).__name__)} without raising ValueError"
    if isinstance(got, Remote):
        try:
            list(got)
        except StudentError as exc:
            if exc.type == "ValueError":
                fail(
                    detail + " (it raised only when iterated)",
                    CHECKED_LAZILY,
                    "the arguments are checked only on the first next(): the body of a generator function "
                    "(one with `yield`) does not run until it is iterated; check the arguments in a plain function "
                    "that then returns the generator (e.g. a generator expression)",
                )
    raise CheckFailure(detail)


CHECKED_LAZILY = "arguments_checked_lazily"


@pytest.mark.points(0.5)
def test_batch_contracts(student, seed):
    """batch_indices takes a Generator as seed and advances it, seed=None still gives a permutation; iterate_minibatches checks its arguments at once, keeps y's dtype and yields copies."""
    s = seed + 20
    gen = student.source(f"np.random.default_rng({s})")
    local = np.random.default_rng(s)
    for call in (1, 2):
        perm = local.permutation(7)
        what = f"batch_indices(7, 3, shuffle=True, seed=rng) (call {call} with the same np.random.default_rng({s}))"
        check_batches(
            student.minibatch.batch_indices(7, 3, shuffle=True, seed=gen),
            [perm[0:3], perm[3:6], perm[6:]],
            what + ": a Generator is used as is and advanced, so call 2 gets the generator's next permutation",
            shuffle=True,
        )
    got = student.minibatch.batch_indices(9, 4, shuffle=True, seed=None)
    sizes = [len(np.atleast_1d(b)) for b in got] if isinstance(got, list) else None
    assert_true(
        sizes == [4, 4, 1] and sorted(np.concatenate(got).tolist()) == list(range(9)),
        f"batch_indices(9, 4, shuffle=True, seed=None) gave {got!r}; expected 3 batches of sizes [4, 4, 1] "
        f"that use every sample 0..8 once (an unseeded permutation)",
    )
    check_batches(
        student.minibatch.batch_indices(9, 4, shuffle=False, seed=5),
        [np.arange(0, 4), np.arange(4, 8), np.arange(8, 9)],
        "batch_indices(9, 4, shuffle=False, seed=5) (the seed is ignored without shuffle)",
        shuffle=False,
    )

    _expect_value_error(student, "iterate_minibatches(X (5, 2), y (4,), 2)", np.zeros((5, 2)), np.zeros(4), 2)
    _expect_value_error(
        student, "iterate_minibatches(X (5, 2), y (5,), batch_size=0)", np.zeros((5, 2)), np.zeros(5), 0
    )

    X = np.arange(14, dtype=np.int32).reshape(7, 2)
    y = np.arange(7) * 0.5 + 0.25
    what = "iterate_minibatches(X, y, 3) with X an int32 (7, 2) array and float labels y = [0.25, 0.75, ...]"
    got = as_list(student.minibatch.iterate_minibatches(X, y, 3))
    assert_true(isinstance(got, list) and len(got) == 3, f"{what}: expected 3 (X_batch, y_batch) pairs; got {got!r}")
    for k, ((xb, yb), idx) in enumerate(zip(got, [range(0, 3), range(3, 6), range(6, 7)]), start=1):
        idx = list(idx)
        assert_true(
            isinstance(xb, np.ndarray) and xb.dtype == np.float64,
            f"{what}: X_batch {k} is {getattr(xb, 'dtype', type(xb).__name__)}; expected float64 "
            f"(np.asarray(X, dtype=np.float64))",
        )
        assert_close(xb, X[idx].astype(np.float64), f"{what}: X_batch {k}")
        assert_close(
            yb,
            y[idx],
            f"{what}: y_batch {k} (the labels keep y's dtype: do not cast them)",
            mistakes={
                Mistake(
                    "labels_cast_to_int",
                    "the labels were cast to int: y_batch keeps y's dtype (np.asarray(y) without a dtype)",
                ): y[idx].astype(np.int64)
            },
        )
    gen = student.source(f"np.random.default_rng({s + 1})")
    local = np.random.default_rng(s + 1)
    X, y = np.arange(16.0).reshape(8, 2) + 0.5, np.arange(8, dtype=np.int64) * 3
    for call in (1, 2):
        perm = local.permutation(8)
        what = (
            f"iterate_minibatches(X, y, 3, shuffle=True, seed=rng) (call {call} with the same "
            f"np.random.default_rng({s + 1})) with X of shape (8, 2)"
        )
        got = as_list(student.minibatch.iterate_minibatches(X, y, 3, shuffle=True, seed=gen))
        assert_true(
            isinstance(got, list) and len(got) == 3, f"{what}: expected 3 (X_batch, y_batch) pairs; got {got!r}"
        )
        for k, ((xb, yb), idx) in enumerate(zip(got, [perm[0:3], perm[3:6], perm[6:]]), start=1):
            check_pairs(xb, yb, X, y, idx, f"{what}: batch {k}")
    probe = worker_object(student, WRITE_PROBE, "writes_through")
    changed = probe(student.minibatch.iterate_minibatches.get())
    assert_true(
        changed == [False, False],
        f"iterate_minibatches(X, y, 4) with shuffle=False: writing into the yielded batches changed "
        f"{' and '.join(n for n, c in zip(('X', 'y'), changed or [True, True]) if c)}: the batches must be "
        f"copies, X[idx] with an index array (fancy indexing), not slices X[start:stop] (views)",
    )


# ------------------------------------------------------------------------------------------------
# train: order of the updates, the reference run, early stopping, the NaN stop
# ------------------------------------------------------------------------------------------------


def _orders(n, batch_size, epochs, shuffle, seed):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        out.append([order[i : i + batch_size].tolist() for i in range(0, n, batch_size)])
    return out


@pytest.mark.points(1)
def test_train_update_order(student, seed):
    """train: epoch e updates on the e-th np.random.default_rng(seed).permutation(N), cut into batches (SGD and mini-batch)."""
    n, d, c = 10, 3, 3
    rng = np.random.default_rng(seed + 7)
    X = np.column_stack([np.arange(n, dtype=np.float64), rng.normal(size=(n, d))])
    y = rng.integers(0, c, size=n).astype(np.int64)
    W0, b0 = rng.normal(0, 0.3, size=(c, d)), np.zeros(c)
    Recorder = worker_object(student, RECORDER, "Recorder")

    def run(batch_size, epochs, shuffle, s):
        rec = Recorder(W0, b0)
        student.minibatch.train(rec, X, y, batch_size=batch_size, lr=0.1, epochs=epochs, seed=s, shuffle=shuffle)
        return [b for b in rec.batches if len(b) <= batch_size]  # (full-set loss evaluations are not updates)

    # the seed 0 last: `if seed:` treats it as no seed, which the cases before it cannot show
    for batch_size, epochs, shuffle, s in [
        (1, 2, True, seed + 8),
        (4, 3, True, seed + 9),
        (3, 2, False, None),
        (4, 2, True, 0),
    ]:
        calls = run(batch_size, epochs, shuffle, s)
        want = _orders(n, batch_size, epochs, shuffle, s)
        what = f"train(model, X, y, batch_size={batch_size}, epochs={epochs}, seed={s}, shuffle={shuffle}) with N = {n}"
        steps = len(want[0])
        flat = [b for epoch in want for b in epoch]
        if len(calls) != len(flat):
            first = [len(b) for b in calls[:steps]]
            detail = (
                f"{what}: {len(calls)} updates (calls of model.loss_and_grads on a batch); expected "
                f"{len(flat)} = {epochs} epochs x {steps}; the first epoch's batch sizes were {first}, expected "
                f"{[len(b) for b in want[0]]}"
            )
            if first == [len(b) for b in want[0]][:-1] and len(calls) == epochs * (steps - 1):
                fail(detail, LAST_BATCH_DROPPED, dropped_last_batch_message(len(want[0][-1])))
            raise CheckFailure(detail)
        for e in range(epochs):
            got_epoch = calls[e * steps : (e + 1) * steps]
            if got_epoch == want[e]:
                continue
            used = sorted(i for b in got_epoch for i in b)
            if used != list(range(n)):
                raise CheckFailure(
                    f"{what}: epoch {e + 1} updated on the samples {got_epoch}: every sample must be "
                    f"used exactly once per epoch"
                )
            detail = (
                f"{what}: epoch {e + 1} updated on the batches {got_epoch}; expected {want[e]}, the permutation "
                f"number {e + 1} drawn from one np.random.default_rng(seed)"
            )
            order = [i for b in got_epoch for i in b]
            if not shuffle and order != list(range(n)):
                fail(
                    detail,
                    SHUFFLED_WITHOUT_SHUFFLE,
                    "it shuffled although shuffle=False: with shuffle=False every epoch visits 0, 1, ..., N-1",
                )
            if shuffle and order == list(range(n)):
                fail(
                    detail, SHUFFLE_IGNORED, "shuffle=True was ignored: every epoch must visit a new rng.permutation(N)"
                )
            if e > 0 and got_epoch == want[0]:  # (epoch 1 was right, or the check stopped there)
                fail(
                    detail,
                    EPOCH_ORDER_REPEATED,
                    "it repeats epoch 1's order: a generator made anew from the seed every epoch (or one order drawn "
                    "before the epoch loop); make rng = np.random.default_rng(seed) once before the epoch loop and "
                    "pass that generator on, so each epoch draws the next permutation",
                )
            if s == 0 and e == 0 and run(batch_size, epochs, shuffle, s)[:steps] != got_epoch:
                fail(
                    detail + "; a second run with seed=0 gave yet another order (the seeds above were used)",
                    SEED_ZERO_AS_NONE,
                    "seed=0 is treated as no seed: `if seed:` is False for 0; test `seed is "
                    "None` (or pass the seed straight to np.random.default_rng)",
                )
            raise CheckFailure(
                detail
                + (" (epoch 1 must use np.random.default_rng(seed).permutation(N))" if e == 0 and shuffle else "")
            )


EPOCH_ORDER_REPEATED = "epoch_order_repeated"
FINAL_NOT_BEST = Mistake(
    "returned_final_not_best_params",
    "returned the final parameters instead of the best epoch's: keep a COPY of the parameters of "
    "every new best epoch (a reference to the arrays follows the later updates) and return it "
    "when training stops",
)


def _set_params(model, W0, b0):
    model.params = {"W": W0, "b": b0}


def _train_variant(X, y, W0, b0, batch_size, lr, epochs, seed, kind):
    """train's loop written out with one known mistake: the parameters it returns and its history.
    ``kind``: "step_over_batch" (the mean gradient divided by B again), "sum_gradient" (the sum over
    the batch, B times the mean), "batch_losses" (the history averages the epoch's batch losses
    instead of the full training loss)."""
    model = ref.LinearSoftmaxModel(X.shape[1], W0.shape[0])
    params = {"W": W0.copy(), "b": b0.copy()}
    rng = np.random.default_rng(seed)
    history = [model.loss(X, y, params)]
    for _ in range(epochs):
        losses = []
        for Xb, yb in ref.iterate_minibatches(X, y, batch_size, shuffle=True, seed=rng):
            loss, grads = model.loss_and_grads(Xb, yb, params)
            losses.append(loss)
            scale = {"step_over_batch": 1.0 / len(yb), "sum_gradient": float(len(yb))}.get(kind, 1.0)
            for k in params:
                params[k] = params[k] - lr * scale * grads[k]
        history.append(
            {"batch_losses": float(np.mean(losses)), "last_batch_loss": losses[-1]}.get(kind, model.loss(X, y, params))
        )
    return params, history


STEP_OVER_BATCH = Mistake(
    "step_divided_by_batch_size",
    "the step divides the gradient by the batch size again: model.loss_and_grads already "
    "returns the gradient of the MEAN loss over the batch; step params[k] -= lr * grads[k]",
)
SUM_GRADIENT = Mistake(
    "sum_over_batch_not_mean",
    "the step uses the SUM of the per-sample gradients (B times the mean): the loss of a batch is "
    "the mean over its samples",
)
BATCH_LOSS_HISTORY = Mistake(
    "history_from_batch_losses",
    "train_loss[e] averages the batch losses seen during epoch e: it must be "
    "model.loss(X, y, params) on the FULL training set after the epoch",
)
LAST_BATCH_LOSS_HISTORY = Mistake(
    "history_from_last_batch_loss",
    "train_loss[e] is the loss of epoch e's last batch (before its update): it must be "
    "model.loss(X, y, params) on the FULL training set after the epoch",
)
INITIAL_LOSS_MISSING = "initial_loss_missing"


@pytest.mark.points(0.5)
def test_train_matches_reference_run(student, seed):
    """train with SGD (B = 1) and mini-batches (B = 5) gives the reference's losses and parameters; initial arrays untouched."""
    n, d, c = 13, 4, 3
    rng = np.random.default_rng(seed + 10)
    X, y = rng.normal(size=(n, d)), rng.integers(0, c, size=n).astype(np.int64)
    W0, b0 = rng.normal(0, 0.3, size=(c, d)), rng.normal(0, 0.1, size=c)
    track = worker_object(student, TRACKER, "track")
    for batch_size, epochs in [(1, 2), (5, 3)]:
        s = seed + 11 + batch_size
        model = student.minibatch.LinearSoftmaxModel(d, c, seed=0)
        _set_params(model, W0, b0)
        changed = track(model)
        res = student.minibatch.train(model, X, y, batch_size=batch_size, lr=0.2, epochs=epochs, seed=s)
        what = (
            f"train(model, X, y, batch_size={batch_size}, lr=0.2, epochs={epochs}, seed={s}) with X of shape {X.shape}"
        )
        written = changed()
        assert_true(
            not written,
            f"{what} wrote into the arrays of model.params ({', '.join(written)}) in place: copy "
            f"them first (params = {{k: v.copy() for k, v in model.params.items()}}) and update "
            f"the copies; the caller's initial weights must stay untouched",
        )
        oracle = ref.LinearSoftmaxModel(d, c)
        oracle.params = {"W": W0.copy(), "b": b0.copy()}
        want = ref.train(oracle, X, y, batch_size=batch_size, lr=0.2, epochs=epochs, seed=s)
        assert_true(
            isinstance(res, dict) and all(k in res for k in want), f"{what}: expected a dict with the keys {list(want)}"
        )
        for key in ("num_updates", "updates_per_epoch", "epochs_run", "stopped_early", "val_loss", "best_epoch"):
            assert_true(
                res[key] == want[key] and type(res[key]) is type(want[key]),
                f"{what}: result[{key!r}] is {res[key]!r}; expected {want[key]!r}",
            )
        variants = {
            kind: _train_variant(X, y, W0, b0, batch_size, 0.2, epochs, s, kind)
            for kind in ("step_over_batch", "sum_gradient", "batch_losses", "last_batch_loss")
        }
        history = res["train_loss"]
        detail = (
            f"{what}: train_loss must be a list of epochs + 1 = {epochs + 1} full-training-set losses (entry 0 "
            f"before any update); got {history!r}"
        )
        if (
            isinstance(history, list)
            and len(history) == epochs
            and np.allclose(np.asarray(history, dtype=np.float64), want["train_loss"][1:], rtol=1e-9)
        ):
            fail(
                detail,
                INITIAL_LOSS_MISSING,
                "the loss before any update is missing: train_loss[0] is "
                "model.loss(X, y, params) before the first epoch",
            )
        assert_true(isinstance(history, list) and len(history) == epochs + 1, detail)
        for k in ("W", "b"):
            assert_close(
                res["params"][k],
                want["params"][k],
                f"{what}: params[{k!r}] after training (the update order or the step differs from the reference run)",
                rtol=1e-9,
                atol=1e-12,
                mistakes={
                    STEP_OVER_BATCH: variants["step_over_batch"][0][k],
                    SUM_GRADIENT: variants["sum_gradient"][0][k],
                },
            )
        assert_close(
            history,
            want["train_loss"],
            f"{what}: train_loss",
            rtol=1e-9,
            mistakes={
                BATCH_LOSS_HISTORY: variants["batch_losses"][1],
                LAST_BATCH_LOSS_HISTORY: variants["last_batch_loss"][1],
            },
        )
        after = model.params
        for k in ("W", "b"):
            assert_close(
                after[k],
                want["params"][k],
                f"{what}: model.params[{k!r}] afterwards (rebind model.params to copies of the returned parameters)",
                rtol=1e-9,
                atol=1e-12,
            )


X_TR, Y_TR = np.zeros((4, 1)), np.zeros(4, dtype=np.int64)
X_VA, Y_VA = -np.ones((2, 1)), np.zeros(2, dtype=np.int64)


def _early_stop(curve, patience, epochs, variant=None):
    """(epochs_run, best_epoch, stopped_early) of early stopping on a validation curve, as docstring
    step 5 says, or with one known mistake: "ties" (a tie counts as an improvement), "late" (stops
    one epoch late: since_best > patience), "early" (one epoch early: since_best >= patience - 1)."""
    best, since = 0, 0
    for e in range(1, epochs + 1):
        v = curve[min(e, len(curve) - 1)]
        if v < curve[min(best, len(curve) - 1)] or (variant == "ties" and v == curve[min(best, len(curve) - 1)]):
            best, since = e, 0
        else:
            since += 1
        limit = None if patience is None else patience + {"late": 1, "early": -1}.get(variant, 0)
        if limit is not None and since >= limit:
            return e, best, True
    return epochs, best, False


EARLY_STOP_VARIANTS = {
    "ties": (
        "tie_counts_as_improvement",
        "a tie with the best validation loss counted as an improvement: only a "
        "STRICTLY lower loss improves (v < best), and the earliest best epoch is kept",
    ),
    "late": (
        "patience_one_epoch_late",
        "it stops one epoch late: stop as soon as `patience` epochs in a row have "
        "not improved (since_best >= patience)",
    ),
    "early": (
        "patience_one_epoch_early",
        "it stops one epoch early: `patience` epochs in a row without improvement "
        "are allowed before stopping (since_best >= patience, counting from 0 "
        "after the best epoch)",
    ),
}


@pytest.mark.points(1)
def test_early_stopping(student):
    """Early stopping on constructed validation curves: strict improvement, patience, best parameters restored."""
    Scripted = worker_object(student, SCRIPTED, "Scripted")
    LocalScripted = local_object(SCRIPTED, "Scripted")
    cases = [
        ([5.0, 4.0, 3.0, 3.5, 2.9, 3.1, 3.2, 3.3, 1.0, 0.5], 2, 9),
        ([5.0, 4.0, 3.0, 3.5, 2.9, 3.1, 3.2, 3.3, 1.0, 0.5], 3, 9),
        ([2.0, 1.0, 1.0, 1.0, 0.5], 2, 4),
        ([1.0, 2.0, 3.0, 4.0], 1, 3),
        ([5.0, 1.0, 2.0, 3.0], None, 3),
    ]
    for curve, patience, epochs in cases:
        model = Scripted(curve)
        res = student.minibatch.train(
            model, X_TR, Y_TR, batch_size=4, lr=1.0, epochs=epochs, X_val=X_VA, y_val=Y_VA, patience=patience
        )
        want = ref.train(
            LocalScripted(curve),
            X_TR,
            Y_TR,
            batch_size=4,
            lr=1.0,
            epochs=epochs,
            X_val=X_VA,
            y_val=Y_VA,
            patience=patience,
        )
        assert_true(
            _early_stop(curve, patience, epochs)
            == tuple(want[k] for k in ("epochs_run", "best_epoch", "stopped_early")),
            "internal: the early-stopping variants disagree with the reference",
        )
        what = (
            f"train(..., batch_size=N, lr=1, epochs={epochs}, patience={patience}) on a model whose validation loss "
            f"after epoch e is {curve}[e] (its parameter t counts the updates, so t = e)"
        )
        assert_true(
            isinstance(res, dict) and all(k in res for k in want), f"{what}: expected a dict with the keys {list(want)}"
        )
        got_stop = tuple(res[k] for k in ("epochs_run", "best_epoch", "stopped_early"))
        if got_stop != tuple(want[k] for k in ("epochs_run", "best_epoch", "stopped_early")):
            detail = (
                f"{what}: epochs_run, best_epoch, stopped_early are {got_stop}; expected "
                f"{tuple(want[k] for k in ('epochs_run', 'best_epoch', 'stopped_early'))}"
            )
            for variant, (ident, message) in EARLY_STOP_VARIANTS.items():
                if got_stop == _early_stop(curve, patience, epochs, variant) != _early_stop(curve, patience, epochs):
                    fail(detail, ident, message)
        hints = {
            "epochs_run": " (stop after `patience` epochs in a row without a strict improvement)",
            "stopped_early": "",
            "num_updates": "",
            "best_epoch": " (the earliest epoch with the lowest validation loss, possibly 0)",
        }
        for key in ("epochs_run", "best_epoch", "stopped_early", "num_updates"):
            assert_true(
                res[key] == want[key] and type(res[key]) is type(want[key]),
                f"{what}: result[{key!r}] is {res[key]!r}; expected {want[key]!r}{hints[key]}",
            )
        assert_close(
            res["val_loss"], want["val_loss"], f"{what}: val_loss (one entry per epoch, entry 0 before any update)"
        )
        assert_close(res["train_loss"], want["train_loss"], f"{what}: train_loss")
        t_want = float(want["params"]["t"][0])
        hint = (
            f"restore the parameters of the best epoch (t = {t_want:g}) when training stops"
            if patience
            else "without patience keep the final parameters"
        )
        assert_close(
            np.asarray(res["params"]["t"], dtype=np.float64).ravel()[:1],
            [t_want],
            f"{what}: the returned params (t) -- {hint}",
            mistakes={FINAL_NOT_BEST: [float(res["epochs_run"])]} if patience else None,
        )
        assert_close(
            np.asarray(model.params["t"], dtype=np.float64).ravel()[:1],
            [t_want],
            f"{what}: model.params afterwards (rebind it to copies of the returned parameters)",
        )


def _reference_stop(model, **kwargs):
    try:
        ref.train(model, **kwargs)
    except FloatingPointError as exc:
        found = re.search(r"epoch (\d+), step (\d+)", str(exc))
        return int(found.group(1)), int(found.group(2))
    raise RuntimeError("the reference did not stop")  # pragma: no cover


@pytest.mark.points(0.5)
def test_nan_stop(student):
    """A NaN or Inf loss raises FloatingPointError saying where: 'epoch e, step s' (1-based; epoch 0, step 0 at the start)."""
    Scripted = worker_object(student, SCRIPTED, "Scripted")
    LocalScripted = local_object(SCRIPTED, "Scripted")
    nan, inf = float("nan"), float("inf")
    cases = [
        ("the training loss becomes NaN after 5 updates", dict(val_curve=[0.0], train_curve=[1.0] * 5 + [nan] * 9)),
        (
            "only the batch loss becomes NaN after 2 updates",
            dict(val_curve=[0.0], train_curve=[1.0] * 12, batch_curve=[1.0] * 2 + [nan] * 9),
        ),
        ("the initial loss is Inf", dict(val_curve=[0.0], train_curve=[inf] * 3)),
    ]
    for story, spec in cases:
        kwargs = dict(X=np.zeros((4, 1)), y=np.zeros(4, dtype=np.int64), batch_size=2, lr=1.0, epochs=5, shuffle=False)
        epoch, step = _reference_stop(LocalScripted(**spec), **kwargs)
        what = f"train(..., batch_size=2, epochs=5) with N = 4 (2 steps per epoch) where {story}"
        try:
            res = student.minibatch.train(Scripted(**spec), **kwargs)
        except StudentError as exc:
            if exc.type == "NotImplementedError":
                raise
            assert_true(
                exc.type == "FloatingPointError",
                f"{what} raised {exc.type}: {exc.message[:200]}; expected FloatingPointError",
            )
            assert_true(
                re.search(rf"\bepoch {epoch}\b", exc.message) and re.search(rf"\bstep {step}\b", exc.message),
                f"{what}: the FloatingPointError must say where it stopped, 'epoch {epoch}, step {step}'; its "
                f"message was: {exc.message[:300]!r}",
            )
            continue
        raise AssertionError(
            f"{what} returned normally (train_loss = {res.get('train_loss') if isinstance(res, dict) else res!r}"
            f"); expected FloatingPointError at epoch {epoch}, step {step}: check every batch loss "
            f"and every end-of-epoch loss with np.isfinite"
        )


# ------------------------------------------------------------------------------------------------
# standardisation, the overfit check, digits
# ------------------------------------------------------------------------------------------------


@pytest.mark.points(0.5)
def test_standardize_uses_training_statistics(student, seed):
    """standardize_fit uses the training split only (1/N std, constant feature -> 1); standardize_apply reuses those."""
    rng = np.random.default_rng(seed + 12)
    X_train = rng.normal([2.0, -1.0, 5.0, 0.0], [3.0, 0.5, 2.0, 1.0], size=(21, 4))
    X_train[:, 3] = 0.1  # constant: np.std gives a rounding residue here, not 0
    X_test = rng.normal(-5.0, 0.5, size=(15, 4))
    want_mean, want_std = ref.standardize_fit(X_train)
    got = student.minibatch.standardize_fit(X_train)
    assert_true(
        isinstance(got, (tuple, list)) and len(got) == 2,
        f"standardize_fit(X_train) returned {type(got).__name__}; expected a tuple (mean, std)",
    )
    inputs = {"X_train": X_train}
    assert_close(got[0], want_mean, "standardize_fit(X_train)[0] (the mean)", inputs=inputs, rtol=1e-12)
    assert_close(
        got[1],
        want_std,
        "standardize_fit(X_train)[1] (the std)",
        inputs=inputs,
        rtol=1e-10,
        mistakes={
            DDOF_ONE: np.where(want_std == 1.0, 1.0, X_train.std(axis=0, ddof=1)),
            CONSTANT_RESIDUE: X_train.std(axis=0),
        },
    )
    own = (X_test - X_test.mean(axis=0)) / X_test.std(axis=0)
    both = np.vstack([X_train, X_test])
    assert_close(
        student.minibatch.standardize_apply(X_test, want_mean, want_std),
        (X_test - want_mean) / want_std,
        "standardize_apply(X_test, mean, std) with the training (mean, std)",
        inputs={"X_test": X_test},
        rtol=1e-10,
        mistakes={
            OWN_STATISTICS: own,
            Mistake(
                "standardized_with_train_and_test_statistics",
                "standardised with statistics of training and test data together: use the training split's (mean, std)",
            ): (X_test - both.mean(axis=0)) / both.std(axis=0),
            EPSILON: (X_test - want_mean) / (want_std + 1e-8),
            Mistake("multiplied_by_std", "multiplied by the std: x' = (x - mean) / std"): (X_test - want_mean)
            * want_std,
        },
    )


@pytest.mark.points(0.5)
def test_overfit_small_batch(student, seed):
    """overfit_small_batch: full-batch steps on the first n samples give the reference's final loss; the model is unchanged."""
    rng = np.random.default_rng(seed + 13)
    n, d, c = 30, 5, 3
    X, y = rng.normal(size=(n, d)), rng.integers(0, c, size=n).astype(np.int64)
    W0, b0 = rng.normal(0, 0.3, size=(c, d)), np.zeros(c)
    model = student.minibatch.LinearSoftmaxModel(d, c, seed=0)
    _set_params(model, W0, b0)
    changed = worker_object(student, TRACKER, "track")(model)
    got = student.minibatch.overfit_small_batch(model, X, y, n=12, steps=40, lr=0.3)

    def oracle(**kw):
        m = ref.LinearSoftmaxModel(d, c)
        m.params = {"W": W0.copy(), "b": b0.copy()}
        return ref.overfit_small_batch(m, X, y, **kw)

    given = {"n": 12, "steps": 40, "lr": 0.3}
    what = "overfit_small_batch(model, X, y, n=12, steps=40, lr=0.3) with X of shape (30, 5)"
    assert_close(
        got,
        oracle(**given),
        what,
        rtol=1e-8,
        mistakes={
            Mistake("overfit_all_rows", "trained on all rows instead of the first n"): oracle(**{**given, "n": 30}),
            Mistake("overfit_steps_plus_one", "took steps + 1 steps"): oracle(**{**given, "steps": 41}),
            Mistake("overfit_steps_minus_one", "took steps - 1 steps"): oracle(**{**given, "steps": 39}),
            Mistake("overfit_argument_ignored_n", "the argument n was ignored (the default 20 used)"): oracle(
                **{**given, "n": 20}
            ),
            Mistake("overfit_argument_ignored_steps", "the argument steps was ignored (the default 300 used)"): oracle(
                **{**given, "steps": 300}
            ),
            Mistake("overfit_argument_ignored_lr", "the argument lr was ignored (the default 0.5 used)"): oracle(
                **{**given, "lr": 0.5}
            ),
        },
    )
    written = changed()
    assert_true(not written, f"{what} wrote into model.params ({', '.join(written)}) in place: work on copies")
    after = model.params
    for k, v in (("W", W0), ("b", b0)):
        assert_close(after[k], v, f"{what}: model.params[{k!r}] afterwards (the model must not be changed)")
    assert_close(
        student.minibatch.overfit_small_batch(model, X, y),
        oracle(),
        "overfit_small_batch(model, X, y) with the defaults n=20, steps=300, lr=0.5",
        rtol=1e-8,
    )


@pytest.mark.points(0.5)
def test_digits_held_out_accuracy(student, seed):
    """Mini-batch training (B = 32, lr = 0.1, 3 epochs) of softmax regression on 8x8 digits: held-out accuracy >= 0.90."""
    X, y = digits()
    perm = np.random.default_rng(seed + 14).permutation(len(X))
    tr, te = perm[:1200], perm[1200:]
    mean, std = ref.standardize_fit(X[tr])
    X_tr, X_te = ref.standardize_apply(X[tr], mean, std), ref.standardize_apply(X[te], mean, std)
    model = student.minibatch.LinearSoftmaxModel(64, 10, seed=0)
    what = "train(LinearSoftmaxModel(64, 10), X_train, y_train, batch_size=32, lr=0.1, epochs=3, seed=0) on 1200 digits"
    res = student.minibatch.train(model, X_tr, y[tr], batch_size=32, lr=0.1, epochs=3, seed=0)
    assert_true(
        isinstance(res, dict) and isinstance(res.get("params"), dict), f"{what}: expected a result dict with 'params'"
    )
    W, b = (np.asarray(res["params"].get(k), dtype=np.float64) for k in ("W", "b"))
    assert_true(
        W.shape == (10, 64) and b.shape == (10,),
        f"{what}: params W of shape {W.shape} and b of shape {b.shape}; expected (10, 64) and (10,)",
    )
    assert_true(bool(np.all(np.isfinite(W)) and np.all(np.isfinite(b))), f"{what}: the parameters contain NaN/Inf")
    acc = float(np.mean(np.argmax(X_te @ W.T + b, axis=1) == y[te]))
    assert_true(
        acc >= 0.90,
        f"{what}: accuracy on {len(te)} held-out digits is {acc:.3f}; expected >= 0.90 "
        f"(the reference reaches about 0.93)",
    )


@pytest.mark.points(0.5)
def test_inputs_left_unmodified(student):
    """No call above changed its array arguments in place (seen inside your worker, so worth little)."""
    student.assert_inputs_unmodified()

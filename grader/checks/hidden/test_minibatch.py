"""Hidden checks of Task 6 (minibatch.py): every sample once, seeded orders, the reference run, early and NaN stops."""
import re

import numpy as np
import pytest
from hypothesis import given, strategies as st

from grader.sandbox.proxy import Remote, StudentError
from grader.checks.heldout import digits
from grader.gradients import assert_close, assert_true
from grader.checks.trusted_code import local_object, worker_object
from solutions import minibatch as ref


# A softmax-regression model on X[:, 1:] whose column 0 carries the sample ids: it records the ids
# of every batch it is asked for a gradient, so the order of the updates can be read back.
RECORDER = '''
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
'''

# One parameter t that grows by lr per update (gradient -1): with batch_size = N and lr = 1, t is the
# epoch. The loss on the validation set (marked by X[0, 0] == -1) is val_curve[t]; on the training
# set train_curve[t]; on a batch smaller than the training set batch_curve[t] (else the train curve).
SCRIPTED = '''
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
'''

# A probe of the arrays a model holds: did a call write into them?
TRACKER = '''
def track(model):
    refs = dict(model.params)
    copies = {k: np.array(v, copy=True) for k, v in refs.items()}
    return lambda: [k for k in refs if not np.array_equal(refs[k], copies[k])]
'''


def check_batches(got, expected: list[np.ndarray], what: str) -> None:
    """Compare a list of index arrays with the expected ones, naming a dropped last batch."""
    assert_true(isinstance(got, list),
                f"{what} returned a {getattr(got, 'type_name', type(got).__name__)}; expected a list of int64 arrays")
    sizes, want_sizes = [len(np.atleast_1d(b)) for b in got], [len(b) for b in expected]
    if sizes != want_sizes:
        hint = ""
        if sizes == want_sizes[:-1]:
            hint = f": the last partial batch (the {want_sizes[-1]} left-over sample(s)) must be kept, not dropped"
        raise AssertionError(f"{what}: got {len(sizes)} batches of sizes {sizes}; expected {len(want_sizes)} "
                             f"of sizes {want_sizes}{hint}")
    for k, b in enumerate(got, start=1):
        assert_true(isinstance(b, np.ndarray) and b.dtype == np.int64,
                    f"{what}: batch {k} is a {type(b).__name__}"
                    f"{' of dtype ' + str(b.dtype) if isinstance(b, np.ndarray) else ''}; expected an int64 index array")
    order = np.concatenate(got) if got else np.zeros(0, dtype=np.int64)
    want = np.concatenate(expected) if expected else np.zeros(0, dtype=np.int64)
    if not np.array_equal(order, want):
        counts = np.bincount(order, minlength=len(want)) if order.size and order.min() >= 0 else None
        if counts is None or len(counts) != len(want) or not np.all(counts == 1):
            raise AssertionError(f"{what}: the batches {order.tolist()} do not use every sample exactly once")
        raise AssertionError(f"{what}: the order is {order.tolist()}; expected {want.tolist()}"
                             + (" = np.random.default_rng(seed).permutation(n)" if "shuffle=True" in what else ""))


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
    expected = [order[i:i + batch_size] for i in range(0, n, batch_size)]
    args = f"{n}, {batch_size}, shuffle={shuffle}, seed={seed}"
    check_batches(student.minibatch.batch_indices(n, batch_size, shuffle=shuffle, seed=seed), expected,
                  f"batch_indices({args})")
    X = np.arange(2.0 * n).reshape(n, 2) + 0.5
    y = np.arange(n, dtype=np.int64) * 3
    what = f"iterate_minibatches(X, y, {batch_size}, shuffle={shuffle}, seed={seed}) with X of shape ({n}, 2)"
    got = as_list(student.minibatch.iterate_minibatches(X, y, batch_size, shuffle=shuffle, seed=seed))
    assert_true(isinstance(got, list) and len(got) == len(expected),
                f"{what}: yielded {len(got) if isinstance(got, list) else got!r} batches; expected {len(expected)}"
                + (" (keep the last partial batch)" if isinstance(got, list) and len(got) == n // batch_size
                   and len(expected) != n // batch_size else ""))
    for k, ((xb, yb), idx) in enumerate(zip(got, expected), start=1):
        assert_close(xb, X[idx], f"{what}: X of batch {k}")
        assert_close(yb, y[idx], f"{what}: y of batch {k}")


# ------------------------------------------------------------------------------------------------
# train: order of the updates, the reference run, early stopping, the NaN stop
# ------------------------------------------------------------------------------------------------


def _orders(n, batch_size, epochs, shuffle, seed):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        out.append([order[i:i + batch_size].tolist() for i in range(0, n, batch_size)])
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
    for batch_size, epochs, shuffle, s in [(1, 2, True, seed + 8), (4, 3, True, seed + 9), (3, 2, False, None)]:
        rec = Recorder(W0, b0)
        student.minibatch.train(rec, X, y, batch_size=batch_size, lr=0.1, epochs=epochs, seed=s, shuffle=shuffle)
        calls = [b for b in rec.batches if len(b) <= batch_size]  # (full-set loss evaluations are not updates)
        want = _orders(n, batch_size, epochs, shuffle, s)
        what = f"train(model, X, y, batch_size={batch_size}, epochs={epochs}, seed={s}, shuffle={shuffle}) with N = {n}"
        steps = len(want[0])
        flat = [b for epoch in want for b in epoch]
        if len(calls) != len(flat):
            first = [len(b) for b in calls[:steps]]
            hint = " (keep the last partial batch)" if first == [len(b) for b in want[0]][:-1] else ""
            raise AssertionError(f"{what}: {len(calls)} updates (calls of model.loss_and_grads on a batch); expected "
                                 f"{len(flat)} = {epochs} epochs x {steps}; the first epoch's batch sizes were "
                                 f"{first}, expected {[len(b) for b in want[0]]}{hint}")
        for e in range(epochs):
            got_epoch = calls[e * steps:(e + 1) * steps]
            if got_epoch == want[e]:
                continue
            used = sorted(i for b in got_epoch for i in b)
            if used != list(range(n)):
                raise AssertionError(f"{what}: epoch {e + 1} updated on the samples {got_epoch}: every sample must be "
                                     f"used exactly once per epoch")
            hint = ""
            if not shuffle:
                hint = " (shuffle=False: the order is 0, 1, ..., N-1)"
            elif e > 0 and got_epoch == want[0]:
                hint = (" (it repeats epoch 1's order: make rng = np.random.default_rng(seed) once before the epoch "
                        "loop and pass that generator on, so each epoch draws the next permutation)")
            elif e > 0 and got_epoch == calls[0:steps]:
                hint = " (every epoch uses the same order: draw a new permutation per epoch from ONE generator)"
            elif e == 0:
                hint = " (epoch 1 must use np.random.default_rng(seed).permutation(N))"
            raise AssertionError(f"{what}: epoch {e + 1} updated on the batches {got_epoch}; expected {want[e]}, the "
                                 f"permutation number {e + 1} drawn from one np.random.default_rng(seed){hint}")


def _set_params(model, W0, b0):
    model.params = {"W": W0, "b": b0}


@pytest.mark.points(1)
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
        what = f"train(model, X, y, batch_size={batch_size}, lr=0.2, epochs={epochs}, seed={s}) with X of shape {X.shape}"
        written = changed()
        assert_true(not written, f"{what} wrote into the arrays of model.params ({', '.join(written)}) in place: copy "
                                 f"them first (params = {{k: v.copy() for k, v in model.params.items()}}) and update "
                                 f"the copies; the caller's initial weights must stay untouched")
        oracle = ref.LinearSoftmaxModel(d, c)
        oracle.params = {"W": W0.copy(), "b": b0.copy()}
        want = ref.train(oracle, X, y, batch_size=batch_size, lr=0.2, epochs=epochs, seed=s)
        assert_true(isinstance(res, dict) and all(k in res for k in want),
                    f"{what}: expected a dict with the keys {list(want)}")
        for key in ("num_updates", "updates_per_epoch", "epochs_run", "stopped_early", "val_loss", "best_epoch"):
            assert_true(res[key] == want[key] and type(res[key]) is type(want[key]),
                        f"{what}: result[{key!r}] is {res[key]!r}; expected {want[key]!r}")
        assert_true(isinstance(res["train_loss"], list) and len(res["train_loss"]) == epochs + 1,
                    f"{what}: train_loss must be a list of epochs + 1 = {epochs + 1} full-training-set losses (entry 0 "
                    f"before any update); got {res['train_loss']!r}")
        assert_close(res["train_loss"], want["train_loss"], f"{what}: train_loss", rtol=1e-9)
        for k in ("W", "b"):
            assert_close(res["params"][k], want["params"][k], f"{what}: params[{k!r}] after training (the update order "
                                                              f"or the step differs from the reference run)", rtol=1e-9,
                         atol=1e-12)
        after = model.params
        for k in ("W", "b"):
            assert_close(after[k], want["params"][k], f"{what}: model.params[{k!r}] afterwards (rebind model.params "
                                                      f"to copies of the returned parameters)", rtol=1e-9, atol=1e-12)


X_TR, Y_TR = np.zeros((4, 1)), np.zeros(4, dtype=np.int64)
X_VA, Y_VA = -np.ones((2, 1)), np.zeros(2, dtype=np.int64)


@pytest.mark.points(1)
def test_early_stopping(student):
    """Early stopping on constructed validation curves: strict improvement, patience, best parameters restored."""
    Scripted = worker_object(student, SCRIPTED, "Scripted")
    LocalScripted = local_object(SCRIPTED, "Scripted")
    cases = [([5.0, 4.0, 3.0, 3.5, 2.9, 3.1, 3.2, 3.3, 1.0, 0.5], 2, 9),
             ([5.0, 4.0, 3.0, 3.5, 2.9, 3.1, 3.2, 3.3, 1.0, 0.5], 3, 9),
             ([2.0, 1.0, 1.0, 1.0, 0.5], 2, 4),
             ([1.0, 2.0, 3.0, 4.0], 1, 3),
             ([5.0, 1.0, 2.0, 3.0], None, 3)]
    for curve, patience, epochs in cases:
        model = Scripted(curve)
        res = student.minibatch.train(model, X_TR, Y_TR, batch_size=4, lr=1.0, epochs=epochs, X_val=X_VA, y_val=Y_VA,
                                      patience=patience)
        want = ref.train(LocalScripted(curve), X_TR, Y_TR, batch_size=4, lr=1.0, epochs=epochs, X_val=X_VA, y_val=Y_VA,
                         patience=patience)
        what = (f"train(..., batch_size=N, lr=1, epochs={epochs}, patience={patience}) on a model whose validation loss "
                f"after epoch e is {curve}[e] (its parameter t counts the updates, so t = e)")
        assert_true(isinstance(res, dict) and all(k in res for k in want),
                    f"{what}: expected a dict with the keys {list(want)}")
        ties = any(curve[i] == min(curve[:i]) for i in range(1, len(curve)))
        hints = {"epochs_run": " (stop after `patience` epochs in a row without a strict improvement)"
                               + (" -- a tie with the best is not an improvement" if ties else ""),
                 "stopped_early": "", "num_updates": "",
                 "best_epoch": " (the earliest epoch with the lowest validation loss, possibly 0)"
                               + ("; ties do not improve" if ties else "")}
        for key in ("epochs_run", "best_epoch", "stopped_early", "num_updates"):
            assert_true(res[key] == want[key] and type(res[key]) is type(want[key]),
                        f"{what}: result[{key!r}] is {res[key]!r}; expected {want[key]!r}{hints[key]}")
        assert_close(res["val_loss"], want["val_loss"], f"{what}: val_loss (one entry per epoch, entry 0 before any "
                                                        f"update)")
        assert_close(res["train_loss"], want["train_loss"], f"{what}: train_loss")
        t_want = float(want["params"]["t"][0])
        hint = (f"restore the parameters of the best epoch (t = {t_want:g}) when training stops" if patience else
                "without patience keep the final parameters")
        assert_close(np.asarray(res["params"]["t"], dtype=np.float64).ravel()[:1], [t_want],
                     f"{what}: the returned params (t) -- {hint}",
                     mistakes={"returned the final parameters instead of the best epoch's": [float(res["epochs_run"])]}
                     if patience else None)
        assert_close(np.asarray(model.params["t"], dtype=np.float64).ravel()[:1], [t_want],
                     f"{what}: model.params afterwards (rebind it to copies of the returned parameters)")


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
    cases = [("the training loss becomes NaN after 5 updates", dict(val_curve=[0.0], train_curve=[1.0] * 5 + [nan] * 9)),
             ("only the batch loss becomes NaN after 2 updates", dict(val_curve=[0.0], train_curve=[1.0] * 12,
                                                                     batch_curve=[1.0] * 2 + [nan] * 9)),
             ("the initial loss is Inf", dict(val_curve=[0.0], train_curve=[inf] * 3))]
    for story, spec in cases:
        kwargs = dict(X=np.zeros((4, 1)), y=np.zeros(4, dtype=np.int64), batch_size=2, lr=1.0, epochs=5, shuffle=False)
        epoch, step = _reference_stop(LocalScripted(**spec), **kwargs)
        what = f"train(..., batch_size=2, epochs=5) with N = 4 (2 steps per epoch) where {story}"
        try:
            res = student.minibatch.train(Scripted(**spec), **kwargs)
        except StudentError as exc:
            if exc.type == "NotImplementedError":
                raise
            assert_true(exc.type == "FloatingPointError",
                        f"{what} raised {exc.type}: {exc.message[:200]}; expected FloatingPointError")
            assert_true(re.search(rf"\bepoch {epoch}\b", exc.message) and re.search(rf"\bstep {step}\b", exc.message),
                        f"{what}: the FloatingPointError must say where it stopped, 'epoch {epoch}, step {step}'; its "
                        f"message was: {exc.message[:300]!r}")
            continue
        raise AssertionError(f"{what} returned normally (train_loss = {res.get('train_loss') if isinstance(res, dict) else res!r}"
                             f"); expected FloatingPointError at epoch {epoch}, step {step}: check every batch loss "
                             f"and every end-of-epoch loss with np.isfinite")


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
    assert_true(isinstance(got, (tuple, list)) and len(got) == 2,
                f"standardize_fit(X_train) returned {type(got).__name__}; expected a tuple (mean, std)")
    inputs = {"X_train": X_train}
    assert_close(got[0], want_mean, "standardize_fit(X_train)[0] (the mean)", inputs=inputs, rtol=1e-12)
    assert_close(got[1], want_std, "standardize_fit(X_train)[1] (the std)", inputs=inputs, rtol=1e-10,
                 mistakes={"used ddof=1 (1/(N-1)); use the population std, 1/N": np.where(
                               want_std == 1.0, 1.0, X_train.std(axis=0, ddof=1)),
                           "a constant feature (max == min) must get std 1; np.std leaves a rounding residue "
                           "(~1e-17) here, so test max == min, not std == 0": X_train.std(axis=0)})
    own = (X_test - X_test.mean(axis=0)) / X_test.std(axis=0)
    both = np.vstack([X_train, X_test])
    assert_close(student.minibatch.standardize_apply(X_test, want_mean, want_std), (X_test - want_mean) / want_std,
                 "standardize_apply(X_test, mean, std) with the training (mean, std)",
                 inputs={"X_test": X_test}, rtol=1e-10,
                 mistakes={"standardised the test data with their own statistics: apply the TRAINING split's "
                           "(mean, std) passed as arguments": own,
                           "standardised with statistics of training and test data together: use the training "
                           "split's (mean, std)": (X_test - both.mean(axis=0)) / both.std(axis=0)})


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
    got = student.minibatch.overfit_small_batch(model, X, y, n=20, steps=60, lr=0.5)

    def oracle(**kw):
        m = ref.LinearSoftmaxModel(d, c)
        m.params = {"W": W0.copy(), "b": b0.copy()}
        return ref.overfit_small_batch(m, X, y, **{"n": 20, "steps": 60, "lr": 0.5, **kw})

    what = "overfit_small_batch(model, X, y, n=20, steps=60, lr=0.5) with X of shape (30, 5)"
    assert_close(got, oracle(), what, rtol=1e-8,
                 mistakes={"trained on all rows instead of the first n": oracle(n=30),
                           "took steps + 1 steps": oracle(steps=61), "took steps - 1 steps": oracle(steps=59)})
    written = changed()
    assert_true(not written, f"{what} wrote into model.params ({', '.join(written)}) in place: work on copies")
    after = model.params
    for k, v in (("W", W0), ("b", b0)):
        assert_close(after[k], v, f"{what}: model.params[{k!r}] afterwards (the model must not be changed)")


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
    assert_true(isinstance(res, dict) and isinstance(res.get("params"), dict),
                f"{what}: expected a result dict with 'params'")
    W, b = (np.asarray(res["params"].get(k), dtype=np.float64) for k in ("W", "b"))
    assert_true(W.shape == (10, 64) and b.shape == (10,),
                f"{what}: params W of shape {W.shape} and b of shape {b.shape}; expected (10, 64) and (10,)")
    assert_true(bool(np.all(np.isfinite(W)) and np.all(np.isfinite(b))), f"{what}: the parameters contain NaN/Inf")
    acc = float(np.mean(np.argmax(X_te @ W.T + b, axis=1) == y[te]))
    assert_true(acc >= 0.90, f"{what}: accuracy on {len(te)} held-out digits is {acc:.3f}; expected >= 0.90 "
                             f"(the reference reaches about 0.93)")


@pytest.mark.points(0.5)
def test_inputs_left_unmodified(student):
    """No call above changed its array arguments in place (seen inside your worker, so worth little)."""
    student.assert_inputs_unmodified()

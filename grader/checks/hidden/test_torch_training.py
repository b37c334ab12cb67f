"""Hidden checks of Task 7 (torch_training.py).

Order of evidence: a property of autograd_demo (hypothesis); the model's logits against numpy on
its own exported weights, its float32 parameters and its seeded initialisation; then one-step
oracles from fixed float64 weights: one SGD step (W0 - W1 = lr * gradient, computed here in
numpy), two SGD steps (a missing zero_grad shows on the second), the whole Adam loop with the
seeded permutations (X sent as float32 and y as int32: train converts them with to_tensors, i.e.
to model_dtype(model) and int64); then reproducibility, the train / eval modes and the inputs left
as they were, accuracy at fixed weights, and an accuracy threshold on held-out digits measured
here in numpy on the weights the worker returns (the worker never sees the held-out samples).

Wrong answers are generated, not guessed: ``simulate`` replays a training loop in numpy with its
calls in another order or repeated (``order``: Z = zero_grad(), F = forward and loss,
B = backward(), S = step(); "ZFBS" is the documented one), with the optimizer made afresh at
chosen steps, another loss, or other batches (unshuffled, one order for all epochs, X and y
permuted differently, the last batch dropped); a student's result that equals one is named.

Nothing here imports torch: models, optimizers, tensors and the seeded permutations are made in
the worker by the trusted one-liners of ``support_torch_training`` (``student.source``); weights
come back through ``student.export_model`` as float64 arrays. The checks of train_step, train and
accuracy start from a model made by such a one-liner, not by the student's build_model, so that
each function's mistakes cost its own checks; the held-out check runs the student's whole pipeline.
Shapes all differ (N = 7, 8 or 10, D = 5, H = 6, C = 4).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.checks.heldout import digits_split
from grader.checks.models import exported_forward, verified_export
from grader.checks.support_torch_training import (
    AFTER_STEP,
    AS_TENSOR,
    CROSS_ENTROPY,
    LOAD,
    LOGITS,
    MODEL,
    PARAM_DTYPES,
    RETURNED_Y,
    SEEDED_MODEL,
    SET_MODE,
    SGD,
    SOFTMAX,
    TO_NUMPY,
    TORCH,
    TRAINING,
    call,
    loss_and_grads,
    softmax,
)
from grader.gradients import CheckFailure, Diagnosis, Mistake, assert_close, assert_true

PERMUTATIONS = (
    f"lambda n, count, seed: (lambda torch, g: [torch.randperm(n, generator=g).numpy() "
    f"for _ in range(count)])({TORCH}, {TORCH}.Generator().manual_seed(seed))"
)

D, H, C = 5, 6, 4
NO_ZERO_GRAD = Mistake(
    "no_zero_grad",
    "optimizer.zero_grad() is missing: backward() ADDS into .grad, so this step used the sum of all gradients so far",
)
NOT_STEPPED = Mistake(
    "weights_not_stepped",
    "the weights did not move: no optimizer.step() used a gradient. step() must be called "
    "AFTER loss.backward(), and optimizer.zero_grad() BEFORE loss.backward() (zeroing between "
    "backward() and step() throws the gradient away)",
)
STEP_TWICE = Mistake("step_twice", "optimizer.step() was called twice per batch: one step per train_step")
SGD_NOT_ADAM = Mistake("sgd_not_adam", "train used SGD: it must create torch.optim.Adam(model.parameters(), lr=lr)")
LR_IGNORED = Mistake(
    "lr_ignored", "train ignored its lr argument (these are the weights of Adam with the default lr = 1e-3)"
)
ADAM_PER_EPOCH = Mistake(
    "optimizer_recreated_every_epoch",
    "train creates a new Adam every epoch, so its moment estimates and step count restart: "
    "create ONE optimizer before the epoch loop",
)
ADAM_PER_STEP = Mistake(
    "optimizer_recreated_every_step",
    "train creates a new Adam for every batch, so every step is Adam's first "
    "(about lr * sign(gradient)): create ONE optimizer before the epoch loop",
)
NLL_ON_LOGITS = Mistake(
    "nll_loss_on_logits",
    "the loss is nn.NLLLoss on the raw logits (-mean z[i, y_i], no log-softmax): use "
    "nn.CrossEntropyLoss(), which applies log-softmax itself",
)
NOT_SHUFFLED = Mistake(
    "not_shuffled",
    "train visits the samples in their given order: each epoch must draw "
    "perm = torch.randperm(N, generator=g) and take the batches perm[i:i + batch_size]",
)
SAME_ORDER = Mistake(
    "same_order_every_epoch",
    "every epoch visits the samples in the first epoch's order: draw a NEW perm each epoch from "
    "the one generator g made before the loop",
)
XY_TWO_PERMS = Mistake(
    "x_and_y_different_permutations",
    "X and y were shuffled with two different permutations (two randperm calls): the labels no "
    "longer belong to their rows; index both with the same perm",
)
Y_NOT_PERMUTED = Mistake(
    "y_not_permuted",
    "X was shuffled but y was not (y[i:i + batch_size] instead of "
    "y[perm[i:i + batch_size]]): index X and y with the same perm",
)
LAST_BATCH_DROPPED = Mistake(
    "last_batch_dropped",
    "the last, smaller batch of each epoch was skipped: for i in range(0, N, batch_size) visits it too",
)
BATCH_SIZE_IGNORED = Mistake(
    "batch_size_ignored", "train ignored batch_size (one batch of all N samples per epoch, as with the default 64 > N)"
)
UNWEIGHTED = Mistake(
    "epoch_loss_unweighted",
    "the epoch loss is the plain mean of the batch losses: weight each batch by its size "
    "(the last batch is smaller), i.e. the mean over the N samples",
)
LAST_BATCH_LOSS = Mistake(
    "epoch_loss_is_last_batch",
    "each epoch's loss is only its last batch's loss: return the mean over all the epoch's samples",
)
VIA_TRAIN_STEP = " (train_step's own checks show it)"
SEED_NOT_APPLIED = Diagnosis(
    "seed_not_applied",
    "build_model(seed=...) does not reset torch's RNG: call torch.manual_seed(seed) BEFORE creating the layers",
)
SEED_ZERO = Diagnosis(
    "seed_zero_ignored", "seed=0 was treated as no seed: test `if seed is not None:`, not `if seed:` (0 is a seed)"
)
NOT_FLOAT32 = Diagnosis(
    "parameters_not_float32",
    "build_model must leave the parameters in torch's default float32 (no .double(), no dtype=torch.float64)",
)
UNSEEDED_TRAIN = Diagnosis(
    "permutation_not_seeded",
    "two runs of train with the same seed from the same weights differ: draw each epoch's "
    "order with torch.randperm(N, generator=g) from g = torch.Generator().manual_seed(seed)",
)
CHANGED_INPUT = Diagnosis(
    "input_changed_in_place",
    "an input tensor was changed in place: index, shuffle and convert into new tensors, never into the caller's",
)
EPOCHS = Diagnosis("wrong_number_of_epochs", "train must run exactly `epochs` epochs and return one loss per epoch")
TRAIN_MODE = Diagnosis(
    "train_mode_not_set",
    "train must call model.train() before its loop (here the model came in eval mode and stayed in it)",
)
EVAL_MODE = Diagnosis(
    "eval_mode_not_set",
    "accuracy must call model.eval() before computing the predictions (the model stayed in train mode)",
)
NAMES = ["0.weight", "0.bias", "2.weight", "2.bias"]


def fail(text, diagnosis=None):
    """Fail with ``text`` and, when the evidence names the mistake, its advice (and id)."""
    raise CheckFailure(f"{text}: {diagnosis.message}" if diagnosis else text, diagnosis=diagnosis)


# ----------------------------------------------------------------------------------------------
# numpy float64 oracle: a training loop replayed, in any order of its calls
# ----------------------------------------------------------------------------------------------


def simulate(params, batches, lr, optimizer="sgd", order="ZFBS", loss="ce", fresh=()):
    """Replay ``for Xb, yb in batches: <order>`` as torch does it; return the final params, each
    step's loss (at its forward) and the loss after each step.

    ``order`` per batch: Z zero_grad() (grads -> None), F forward + loss (the graph holds the params
    as they are then), B backward() (ADDS into the grads), S step() (skipped without grads).
    ``fresh``: the steps before which the optimizer is made anew (Adam's state restarts).
    ``optimizer``: "sgd" or "adam" (torch.optim.Adam: betas (0.9, 0.999), eps 1e-8 after the
    bias-corrected sqrt)."""
    params = [p.copy() for p in params]
    grad = None
    m = v = None
    t = 0
    before, after = [], []
    for k, (Xb, yb) in enumerate(batches):
        if k in fresh:
            m = v = None
            t = 0
        new = None
        for op in order:
            if op == "Z":
                grad = None
            elif op == "F":
                value, new = loss_and_grads(params, Xb, yb, loss)
                before.append(value)
            elif op == "B":
                grad = new if grad is None else [a + g for a, g in zip(grad, new)]
            elif op == "S" and grad is not None:
                if optimizer == "sgd":
                    params = [p - lr * g for p, g in zip(params, grad)]
                    continue
                if m is None:
                    m, v = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
                t += 1
                for j, g in enumerate(grad):
                    m[j] = 0.9 * m[j] + 0.1 * g
                    v[j] = 0.999 * v[j] + 0.001 * g * g
                    denom = np.sqrt(v[j]) / np.sqrt(1 - 0.999**t) + 1e-8
                    params[j] = params[j] - lr * (m[j] / (1 - 0.9**t)) / denom
        after.append(loss_and_grads(params, Xb, yb, loss)[0])
    return params, before, after


def random_case(rng, n):
    """Seeded weights and data with every class present and ReLU inputs away from the kink."""
    for _ in range(1000):
        params = [
            rng.normal(0.0, 0.7, (H, D)),
            rng.normal(0.0, 0.3, H),
            rng.normal(0.0, 0.7, (C, H)),
            rng.normal(0.0, 0.3, C),
        ]
        X = rng.normal(size=(n, D))
        if np.abs(X @ params[0].T + params[1]).min() > 1e-2:
            y = rng.permutation(np.arange(n) % C)
            return params, X, y
    raise RuntimeError("could not draw a test case")  # pragma: no cover


# ----------------------------------------------------------------------------------------------
# worker-side helpers (trusted one-liners run in the worker)
# ----------------------------------------------------------------------------------------------


def exported_params(student, model, what):
    layers = verified_export(student, model)["layers"]
    params = [v for layer in layers for v in layer["params"].values()]
    assert_true(
        len(params) == 4,
        f"{what}: the model has {len(params)} parameter tensors, expected 4 (weight and bias of the two Linear layers)",
    )
    return params


def fixed_model(student, params):
    """The lecture's Linear-ReLU-Linear, made HERE (not by build_model, so that a mistake there costs only
    its own checks), in float64 with the given [W1, b1, W2, b2] loaded."""
    W1, _, W2, _ = params
    return student.source(LOAD)(student.source(MODEL)(W1.shape[1], W1.shape[0], W2.shape[0]), params)


def compare_params(got, want, what, mistakes=None, rtol=1e-9, atol=1e-12):
    for k, name in enumerate(NAMES):
        named = {label: ps[k] for label, ps in (mistakes or {}).items()}
        assert_close(
            got[k], want[k], f"{what}: parameter {name}", rtol=rtol, atol=atol, mistakes=named, show_expected=False
        )


def assert_same(student, tensor, value, what):
    if not np.array_equal(student.source(TO_NUMPY)(tensor), value):
        fail(f"{what} in place: leave it unchanged", diagnosis=CHANGED_INPUT)


# ----------------------------------------------------------------------------------------------
# autograd_demo, build_model
# ----------------------------------------------------------------------------------------------


@pytest.mark.points(0.5)
@given(x0=st.floats(-1e3, 1e3, allow_nan=False))
def test_autograd_demo_any_point(student, x0):
    """autograd_demo(x0) = 2 x0 + 2 for any x0 (torch autograd, float64)."""
    assert_close(
        student.torch_training.autograd_demo(x0),
        2 * x0 + 2,
        "autograd_demo",
        inputs={"x0": x0},
        rtol=1e-12,
        atol=1e-9,
        mistakes={RETURNED_Y: x0 * x0 + 2 * x0},
    )


@pytest.mark.points(0.5)
def test_build_model_outputs_logits_and_seed(student, seed):
    """The model outputs raw logits relu(X W1^T + b1) W2^T + b2, float32, and build_model(seed=s) is reproducible.

    s = 0 included; the weights are torch's default initialisation after torch.manual_seed(s)."""
    tt = student.torch_training
    s = seed % 1000 + 1
    model = tt.build_model(D, H, C, seed=s)
    W1, b1, W2, b2 = exported_params(student, model, f"build_model({D}, {H}, {C})")
    dtypes = student.source(PARAM_DTYPES)(model)
    if any(d != "float32" for d in dtypes):
        fail(f"build_model({D}, {H}, {C}) has parameters of dtypes {dtypes}, expected float32", diagnosis=NOT_FLOAT32)
    X = np.random.default_rng(seed).normal(size=(7, D))
    logits = np.maximum(X @ W1.T + b1, 0.0) @ W2.T + b2
    assert_close(
        student.source(LOGITS)(model, X),
        logits,
        "model(X) of build_model(5, 6, 4)",
        inputs={"X": X},
        rtol=1e-5,
        atol=1e-6,
        mistakes={SOFTMAX: softmax(logits)},
    )
    again = exported_params(student, tt.build_model(D, H, C, seed=s), "build_model")
    for name, a, b in zip(NAMES, (W1, b1, W2, b2), again):
        if not np.array_equal(a, b):
            fail(f"build_model(5, 6, 4, seed={s}) twice gave different {name}", diagnosis=SEED_NOT_APPLIED)
    zero = [exported_params(student, tt.build_model(D, H, C, seed=0), "build_model(seed=0)") for _ in range(2)]
    for name, a, b in zip(NAMES, *zero):
        if not np.array_equal(a, b):
            fail(f"build_model(5, 6, 4, seed=0) twice gave different {name} (seed={s} did not)", diagnosis=SEED_ZERO)
    want = exported_params(student, student.source(SEEDED_MODEL)(D, H, C, s), "torch's model")
    for name, a, b in zip(NAMES, (W1, b1, W2, b2), want):
        assert_true(
            np.array_equal(a, b),
            f"build_model(5, 6, 4, seed={s}): {name} is not torch's default "
            f"initialisation after torch.manual_seed({s}): seed, then create "
            f"nn.Linear(in, hidden) and nn.Linear(hidden, out) with their own "
            f"initialisation, drawing nothing else in between",
        )


# ----------------------------------------------------------------------------------------------
# train_step: one and two SGD steps from fixed float64 weights
# ----------------------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_train_step_one_sgd_step_equals_numpy(student, seed):
    """One train_step with SGD(lr = 0.5): the loss before the step, and W0 - W1 = lr * gradient."""
    rng = np.random.default_rng(seed + 1)
    params, X, y = random_case(rng, 7)
    lr = 0.5
    model = fixed_model(student, params)
    as_tensor = student.source(AS_TENSOR)
    Xt, yt = as_tensor(X), as_tensor(y)
    loss = call(
        student.torch_training.train_step,
        model,
        student.source(SGD)(model, lr),
        student.source(CROSS_ENTROPY)(),
        Xt,
        yt,
    )
    assert_true(
        isinstance(loss, float),
        f"train_step returned {getattr(loss, 'type_name', type(loss).__name__)}, "
        f"expected a Python float (return loss.item())",
    )
    batches = [(X, y)]
    want, before, after = simulate(params, batches, lr)
    soft, soft_before, _ = simulate(params, batches, lr, loss="double_softmax")
    assert_close(
        loss,
        before[0],
        "train_step(...): the returned loss",
        inputs={"X": X},
        rtol=1e-9,
        atol=1e-12,
        mistakes={AFTER_STEP: after[0], SOFTMAX: soft_before[0]},
    )
    got = exported_params(student, model, "the model after train_step")
    compare_params(
        got,
        want,
        "one SGD step (lr = 0.5) from fixed weights",
        mistakes={SOFTMAX: soft, NOT_STEPPED: params, STEP_TWICE: simulate(params, batches, lr, order="ZFBSS")[0]},
    )
    for name, t, a in (("X_batch", Xt, X), ("y_batch", yt, y)):
        assert_same(student, t, a, f"train_step changed {name}")


@pytest.mark.points(1)
def test_train_step_two_steps_zero_grad(student, seed):
    """Two train_steps on two batches: the second step must use only the second batch's gradient."""
    rng = np.random.default_rng(seed + 2)
    params, X, y = random_case(rng, 10)
    lr = 0.3
    batches = [(X[:6], y[:6]), (X[6:], y[6:])]
    model = fixed_model(student, params)
    opt, loss_fn, as_tensor = student.source(SGD)(model, lr), student.source(CROSS_ENTROPY)(), student.source(AS_TENSOR)
    want, before, after = simulate(params, batches, lr)
    wrong = {
        NO_ZERO_GRAD: simulate(params, batches, lr, order="FBS"),
        NOT_STEPPED: simulate(params, batches, lr, order="ZFSB"),
        STEP_TWICE: simulate(params, batches, lr, order="ZFBSS"),
        SOFTMAX: simulate(params, batches, lr, loss="double_softmax"),
    }
    for k, (Xb, yb) in enumerate(batches):
        loss = call(student.torch_training.train_step, model, opt, loss_fn, as_tensor(Xb), as_tensor(yb))
        assert_close(
            loss,
            before[k],
            f"train_step number {k + 1}: the returned loss",
            rtol=1e-9,
            atol=1e-12,
            mistakes={AFTER_STEP: after[k], **{label: run[1][k] for label, run in wrong.items()}},
        )
    got = exported_params(student, model, "the model after two train_steps")
    compare_params(
        got,
        want,
        "two SGD steps (lr = 0.3) on batches of 6 and 4 samples",
        mistakes={label: run[0] for label, run in wrong.items()},
    )


# ----------------------------------------------------------------------------------------------
# train: the Adam loop with seeded permutations
# ----------------------------------------------------------------------------------------------


def epoch_batches(X, y, perms_x, perms_y, bs, stop=None):
    """The batches of train's loop: epoch e takes rows perms_x[e][i:i + bs] of X, perms_y[e][...] of y."""
    n = len(y)
    return [
        [(X[px[i : i + bs]], y[py[i : i + bs]]) for i in range(0, n if stop is None else stop, bs)]
        for px, py in zip(perms_x, perms_y)
    ]


def flat(epochs):
    return [b for batches in epochs for b in batches]


def starts(epochs):
    """The index of each epoch's first step in the flattened list of steps."""
    return set(np.cumsum([0] + [len(e) for e in epochs[:-1]]).tolist())


@pytest.mark.points(1.5)
def test_train_adam_minibatches_equal_numpy(student, seed):
    """train in float64 (N = 10, batch 4, 3 epochs, lr = 0.02) equals Adam on the seeded permutations.

    X is sent as float32 and y as int32: train converts them to the model's dtype and int64."""
    rng = np.random.default_rng(seed + 3)
    params, X, y = random_case(rng, 10)
    X = X.astype(np.float32).astype(np.float64)  # exact in float32: train converts X to the model's float64
    n, lr, epochs, bs, perm_seed = len(y), 0.02, 3, 4, int(rng.integers(0, 1000))
    model = fixed_model(student, params)
    history = call(
        student.torch_training.train.options(timeout=30),
        model,
        X.astype(np.float32),
        y.astype(np.int32),
        epochs=epochs,
        batch_size=bs,
        lr=lr,
        seed=perm_seed,
    )
    assert_true(
        isinstance(history, list) and all(isinstance(h, float) for h in history),
        f"train returned {type(history).__name__} {str(history)[:80]}, expected a list of Python floats "
        f"(one per epoch)",
    )
    if len(history) != epochs:
        fail(f"train(..., epochs={epochs}) returned {len(history)} epoch losses, expected {epochs}", diagnosis=EPOCHS)
    perms = student.source(PERMUTATIONS)(n, 2 * epochs, perm_seed)
    documented = epoch_batches(X, y, perms[:epochs], perms[:epochs], bs)
    batches = flat(documented)
    sizes = np.array([len(b[1]) for b in batches], dtype=float).reshape(epochs, -1)
    want, before, after = simulate(params, batches, lr, optimizer="adam")

    def adam(steps=batches, **kwargs):
        return simulate(params, steps, kwargs.pop("lr", lr), optimizer=kwargs.pop("optimizer", "adam"), **kwargs)[0]

    identity = [np.arange(n)] * epochs
    wrong = {
        SGD_NOT_ADAM: adam(optimizer="sgd"),
        LR_IGNORED: adam(lr=1e-3),
        ADAM_PER_EPOCH: adam(fresh=starts(documented)),
        ADAM_PER_STEP: adam(fresh=set(range(len(batches)))),
        NO_ZERO_GRAD: adam(order="FBS"),
        Mistake(NOT_STEPPED.id, NOT_STEPPED + VIA_TRAIN_STEP): params,
        Mistake(STEP_TWICE.id, STEP_TWICE + VIA_TRAIN_STEP): adam(order="ZFBSS"),
        SOFTMAX: adam(loss="double_softmax"),
        NLL_ON_LOGITS: adam(loss="nll_logits"),
        NOT_SHUFFLED: adam(flat(epoch_batches(X, y, identity, identity, bs))),
        SAME_ORDER: adam(flat(epoch_batches(X, y, [perms[0]] * epochs, [perms[0]] * epochs, bs))),
        XY_TWO_PERMS: adam(flat(epoch_batches(X, y, perms[0::2], perms[1::2], bs))),
        Y_NOT_PERMUTED: adam(flat(epoch_batches(X, y, perms[:epochs], identity, bs))),
        LAST_BATCH_DROPPED: adam(flat(epoch_batches(X, y, perms[:epochs], perms[:epochs], bs, n - bs + 1))),
        BATCH_SIZE_IGNORED: adam(flat(epoch_batches(X, y, perms[:epochs], perms[:epochs], n))),
    }
    got = exported_params(student, model, "the model after train")
    compare_params(
        got,
        want,
        "train(model, X, y, epochs=3, batch_size=4, lr=0.02) from fixed weights "
        "(one Adam, one generator torch.Generator().manual_seed(seed) per call, "
        "batches perm[i:i + batch_size])",
        mistakes=wrong,
        rtol=1e-8,
        atol=1e-11,
    )

    def epoch_means(losses, weighted=True):
        L = np.array(losses).reshape(epochs, -1)
        return (L * sizes).sum(axis=1) / sizes.sum(axis=1) if weighted else L.mean(axis=1)

    assert_close(
        history,
        epoch_means(before),
        "train(...): the per-epoch losses",
        rtol=1e-9,
        atol=1e-12,
        mistakes={
            UNWEIGHTED: epoch_means(before, weighted=False),
            AFTER_STEP: epoch_means(after),
            LAST_BATCH_LOSS: np.array(before).reshape(epochs, -1)[:, -1],
        },
    )


@pytest.mark.points(0.5)
def test_train_seeded_runs_are_reproducible(student, seed):
    """Two train runs from the same weights with the same seed give the same losses and weights."""
    rng = np.random.default_rng(seed + 4)
    params, _, _ = random_case(rng, 4)
    X = rng.normal(size=(40, D))
    y = rng.permutation(np.arange(40) % C)
    runs = []
    for _ in range(2):
        model = fixed_model(student, params)
        history = call(
            student.torch_training.train.options(timeout=30),
            model,
            X,
            y,
            epochs=3,
            batch_size=8,
            lr=0.01,
            seed=seed % 1000,
        )
        runs.append((history, exported_params(student, model, "the model after train")))
    assert_true(
        isinstance(runs[0][0], list) and len(runs[0][0]) == 3,
        f"train(..., epochs=3) returned {str(runs[0][0])[:80]}, expected a list of 3 epoch losses",
    )
    same = runs[0][0] == runs[1][0] and all(np.array_equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))
    if not same:
        fail(
            f"two runs of train(..., seed={seed % 1000}) from the same weights gave different "
            f"losses or weights ({runs[0][0]} and {runs[1][0]})",
            diagnosis=UNSEEDED_TRAIN,
        )


@pytest.mark.points(0.5)
def test_train_and_accuracy_set_the_mode_and_keep_their_inputs(student, seed):
    """train puts the model in train mode, accuracy in eval mode; neither changes X or y, accuracy no weight."""
    rng = np.random.default_rng(seed + 6)
    params, X, y = random_case(rng, 8)
    tt = student.torch_training
    model = fixed_model(student, params)
    student.source(SET_MODE)(model, False)
    as_tensor = student.source(AS_TENSOR)
    Xt, yt = as_tensor(X), as_tensor(y)
    call(tt.train.options(timeout=30), model, Xt, yt, epochs=1, batch_size=3, lr=0.01, seed=seed % 1000)
    if not student.source(TRAINING)(model):
        fail("train(model, ...) left a model that came in eval mode in eval mode", diagnosis=TRAIN_MODE)
    assert_same(student, Xt, X, "train changed X")
    assert_same(student, yt, y, "train changed y")
    trained = exported_params(student, model, "the model after train")
    acc = call(tt.accuracy, model, Xt, yt)
    assert_true(
        isinstance(acc, float),
        f"accuracy returned {getattr(acc, 'type_name', type(acc).__name__)}, expected a Python float",
    )
    if student.source(TRAINING)(model):
        fail("after accuracy(model, X, y) the model is still in train mode", diagnosis=EVAL_MODE)
    assert_same(student, Xt, X, "accuracy changed X")
    assert_same(student, yt, y, "accuracy changed y")
    for name, a, b in zip(NAMES, trained, exported_params(student, model, "the model after accuracy")):
        assert_true(
            np.array_equal(a, b),
            f"accuracy changed the model's {name}: evaluate under torch.no_grad() and change no parameter",
        )


# ----------------------------------------------------------------------------------------------
# accuracy
# ----------------------------------------------------------------------------------------------


@pytest.mark.points(0.5)
def test_accuracy_at_fixed_weights(student, seed):
    """accuracy(model, X, y) is the fraction of rows whose argmax logit is the label (a float in [0, 1]).

    X is sent as float32 and y as int32 (any real / integer dtype is accepted)."""
    rng = np.random.default_rng(seed + 5)
    params, X, y = random_case(rng, 30)
    X = X.astype(np.float32)
    y = rng.integers(0, C, size=30).astype(np.int32)
    model = fixed_model(student, params)
    W1, b1, W2, b2 = params
    hits = (np.maximum(X.astype(np.float64) @ W1.T + b1, 0.0) @ W2.T + b2).argmax(axis=1) == y
    got = call(student.torch_training.accuracy, model, X, y)
    assert_true(
        isinstance(got, float),
        f"accuracy returned {getattr(got, 'type_name', type(got).__name__)}, expected a Python float (use .item())",
    )
    assert_close(
        got,
        hits.mean(),
        "accuracy(model, X, y) with X float32 and y int32",
        inputs={"X": X},
        rtol=1e-12,
        atol=1e-12,
        mistakes={
            "returned a percentage: return a fraction in [0, 1]": 100 * hits.mean(),
            "returned the number of correct rows: divide by N": float(hits.sum()),
            "returned the error rate 1 - accuracy": 1 - hits.mean(),
        },
    )


# ----------------------------------------------------------------------------------------------
# held-out accuracy, measured here on the returned weights
# ----------------------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_trained_network_reaches_95_percent_on_held_out_digits(student, seed):
    """A 64-256-10 network trained by train (12 epochs, batch 64, lr 3e-3) reaches >= 0.95 on unseen digits."""
    # measured with the reference over 29 seeds: held-out accuracy min 0.972, mean 0.982
    Xtr, ytr, Xte, yte = digits_split()
    tt = student.torch_training
    model = tt.build_model(64, 256, 10, seed=seed % 1000)
    history = call(tt.train.options(timeout=40), model, Xtr, ytr, epochs=12, batch_size=64, lr=3e-3, seed=seed % 1000)
    assert_true(
        isinstance(history, list) and len(history) == 12 and np.all(np.isfinite(history)),
        f"train(..., epochs=12) returned {str(history)[:80]}, expected 12 finite epoch losses",
    )
    assert_true(history[-1] < history[0], f"the epoch loss did not decrease: {history[0]:.4g} -> {history[-1]:.4g}")
    acc = float(np.mean(exported_forward(verified_export(student, model), Xte).argmax(axis=1) == yte))
    assert_true(
        acc >= 0.95,
        f"held-out accuracy {acc:.3f} < 0.95 on 360 digits the training never saw "
        f"(epoch loss {history[0]:.3g} -> {history[-1]:.3g} over 12 epochs)",
    )

"""Hidden checks of Task 7 (torch_training.py).

Order of evidence: a property of autograd_demo (hypothesis); the model's logits against numpy on
its own exported weights; then one-step oracles from fixed float64 weights: one SGD step
(W0 - W1 = lr * gradient, computed here in numpy), two SGD steps (a missing zero_grad shows on
the second), the whole Adam loop with the seeded permutations; then reproducibility, accuracy at
fixed weights, and an accuracy threshold on held-out digits measured here in numpy on the weights
the worker returns (the worker never sees the held-out samples).

Nothing here imports torch: models, optimizers, tensors and the seeded permutations are made in
the worker by the trusted one-liners below (``student.source``); weights come back through
``student.export_model`` as float64 arrays. The checks of train_step, train and accuracy start
from a model made by such a one-liner, not by the student's build_model, so that each function's
mistakes cost its own checks; the held-out check runs the student's whole pipeline.
Shapes all differ (N = 7 or 10, D = 5, H = 6, C = 4).
"""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from grader.checks.heldout import digits_split
from grader.gradients import assert_close, assert_true
from grader.checks.models import exported_forward, verified_export

TORCH = "__import__('torch')"
AS_TENSOR = f"lambda a: {TORCH}.as_tensor(a)"
TO_NUMPY = "lambda t: t.detach().cpu().double().numpy().copy()"
SGD = f"lambda m, lr: {TORCH}.optim.SGD(m.parameters(), lr=lr)"
CROSS_ENTROPY = f"lambda: {TORCH}.nn.CrossEntropyLoss()"
LOAD = (f"lambda m, ps: (lambda torch: (m.double(), [p.data.copy_(torch.as_tensor(v)) "
        f"for p, v in zip(m.parameters(), ps)], m)[-1])({TORCH})")
MODEL = f"lambda D, H, C: (lambda nn: nn.Sequential(nn.Linear(D, H), nn.ReLU(), nn.Linear(H, C)))({TORCH}.nn)"
LOGITS32 = (f"lambda m, X: (lambda torch: m(torch.as_tensor(X, dtype=next(m.parameters()).dtype))"
            f".detach().double().numpy())({TORCH})")
PERMUTATIONS = (f"lambda n, epochs, seed: (lambda torch, g: [torch.randperm(n, generator=g).numpy() "
                f"for _ in range(epochs)])({TORCH}, {TORCH}.Generator().manual_seed(seed))")

D, H, C = 5, 6, 4
SOFTMAX = ("a softmax before nn.CrossEntropyLoss (in build_model or in train_step): the loss applies "
           "log-softmax itself, so pass it the raw logits")
AFTER_STEP = "returned the loss AFTER optimizer.step(): keep L = loss_fn(model(X), y) from before the step"
NO_ZERO_GRAD = ("optimizer.zero_grad() is missing: backward() ADDS into .grad, so this step used the sum of "
                "all gradients so far")
SGD_NOT_ADAM = "train used SGD: it must create torch.optim.Adam(model.parameters(), lr=lr)"
LR_IGNORED = "train ignored its lr argument (these are the weights of Adam with the default lr = 1e-3)"
UNWEIGHTED = ("the epoch loss is the plain mean of the batch losses: weight each batch by its size "
              "(the last batch is smaller), i.e. the mean over the N samples")
NAMES = ["0.weight", "0.bias", "2.weight", "2.bias"]


# ----------------------------------------------------------------------------------------------
# numpy float64 oracle (ROW layout, W of shape (out, in), losses are means over the batch)
# ----------------------------------------------------------------------------------------------

def softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def loss_and_grads(params, X, y, double_softmax=False):
    """L = mean_i -log softmax(Z2)_{i, y_i} (or of softmax(softmax(Z2))) and [dW1, db1, dW2, db2]."""
    W1, b1, W2, b2 = params
    n = X.shape[0]
    Z1 = X @ W1.T + b1
    A1 = np.maximum(Z1, 0.0)
    Z2 = A1 @ W2.T + b2
    Y = np.eye(W2.shape[0])[y]
    if double_softmax:
        P = softmax(Z2)
        Q = softmax(P)
        loss = -np.log(Q[np.arange(n), y]).mean()
        dP = (Q - Y) / n
        D2 = P * (dP - (dP * P).sum(axis=1, keepdims=True))
    else:
        S = Z2 - Z2.max(axis=1, keepdims=True)
        logp = S - np.log(np.exp(S).sum(axis=1, keepdims=True))
        loss = -logp[np.arange(n), y].mean()
        D2 = (np.exp(logp) - Y) / n
    D1 = (D2 @ W2) * (Z1 > 0)
    return float(loss), [D1.T @ X, D1.sum(axis=0), D2.T @ A1, D2.sum(axis=0)]


def run_steps(params, batches, lr, optimizer="sgd", zero_grad=True, double_softmax=False):
    """Final params, per-batch losses before each step, and after each step (torch's SGD / Adam)."""
    params = [p.copy() for p in params]
    acc = [np.zeros_like(p) for p in params]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    before, after = [], []
    for t, (Xb, yb) in enumerate(batches, start=1):
        loss, grads = loss_and_grads(params, Xb, yb, double_softmax)
        before.append(loss)
        acc = [a + g for a, g in zip(acc, grads)] if not zero_grad else grads
        for k, g in enumerate(acc):
            if optimizer == "sgd":
                params[k] = params[k] - lr * g
            else:  # torch.optim.Adam, betas (0.9, 0.999), eps 1e-8 added after the bias-corrected sqrt
                m[k] = 0.9 * m[k] + 0.1 * g
                v[k] = 0.999 * v[k] + 0.001 * g * g
                denom = np.sqrt(v[k]) / np.sqrt(1 - 0.999 ** t) + 1e-8
                params[k] = params[k] - lr * (m[k] / (1 - 0.9 ** t)) / denom
        after.append(loss_and_grads(params, Xb, yb, double_softmax)[0])
    return params, before, after


def random_case(rng, n):
    """Seeded weights and data with every class present and ReLU inputs away from the kink."""
    for _ in range(1000):
        params = [rng.normal(0.0, 0.7, (H, D)), rng.normal(0.0, 0.3, H),
                  rng.normal(0.0, 0.7, (C, H)), rng.normal(0.0, 0.3, C)]
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
    assert_true(len(params) == 4, f"{what}: the model has {len(params)} parameter tensors, expected 4 "
                                  f"(weight and bias of the two Linear layers)")
    return params


def fixed_model(student, params):
    """The lecture's Linear-ReLU-Linear, made HERE (not by build_model, so that a mistake there costs only
    its own checks), in float64 with the given [W1, b1, W2, b2] loaded."""
    W1, _, W2, _ = params
    return student.source(LOAD)(student.source(MODEL)(W1.shape[1], W1.shape[0], W2.shape[0]), params)


def compare_params(got, want, what, mistakes=None, rtol=1e-9, atol=1e-12):
    for k, name in enumerate(NAMES):
        named = {label: ps[k] for label, ps in (mistakes or {}).items()}
        assert_close(got[k], want[k], f"{what}: parameter {name}", rtol=rtol, atol=atol, mistakes=named,
                     show_expected=False)


# ----------------------------------------------------------------------------------------------
# autograd_demo, build_model
# ----------------------------------------------------------------------------------------------

@pytest.mark.points(0.5)
@given(x0=st.floats(-1e3, 1e3, allow_nan=False))
def test_autograd_demo_any_point(student, x0):
    """autograd_demo(x0) = 2 x0 + 2 for any x0 (torch autograd, float64)."""
    assert_close(student.torch_training.autograd_demo(x0), 2 * x0 + 2, "autograd_demo", inputs={"x0": x0},
                 rtol=1e-12, atol=1e-9, mistakes={"returned y = x^2 + 2x instead of dy/dx": x0 * x0 + 2 * x0})


@pytest.mark.points(0.5)
def test_build_model_outputs_logits_and_seed(student, seed):
    """The model outputs raw logits relu(X W1^T + b1) W2^T + b2, and build_model(seed=s) is reproducible."""
    tt = student.torch_training
    model = tt.build_model(D, H, C, seed=seed % 1000)
    W1, b1, W2, b2 = exported_params(student, model, f"build_model({D}, {H}, {C})")
    X = np.random.default_rng(seed).normal(size=(7, D))
    logits = np.maximum(X @ W1.T + b1, 0.0) @ W2.T + b2
    assert_close(student.source(LOGITS32)(model, X), logits, "model(X) of build_model(5, 6, 4)",
                 inputs={"X": X}, rtol=1e-5, atol=1e-6, mistakes={SOFTMAX: softmax(logits)})
    again = exported_params(student, tt.build_model(D, H, C, seed=seed % 1000), "build_model")
    for name, a, b in zip(NAMES, (W1, b1, W2, b2), again):
        assert_true(np.array_equal(a, b), f"build_model(5, 6, 4, seed={seed % 1000}) twice gave different {name}: "
                                          f"call torch.manual_seed(seed) before creating the layers")


# ----------------------------------------------------------------------------------------------
# train_step: one and two SGD steps from fixed float64 weights
# ----------------------------------------------------------------------------------------------

@pytest.mark.points(1.5)
def test_train_step_one_sgd_step_equals_numpy(student, seed):
    """One train_step with SGD(lr = 0.5): the loss before the step, and W0 - W1 = lr * gradient."""
    rng = np.random.default_rng(seed + 1)
    params, X, y = random_case(rng, 7)
    lr = 0.5
    model = fixed_model(student, params)
    as_tensor = student.source(AS_TENSOR)
    Xt, yt = as_tensor(X), as_tensor(y)
    loss = student.torch_training.train_step(model, student.source(SGD)(model, lr),
                                             student.source(CROSS_ENTROPY)(), Xt, yt)
    assert_true(isinstance(loss, float), f"train_step returned {getattr(loss, 'type_name', type(loss).__name__)}, "
                                         f"expected a Python float (return loss.item())")
    want, before, after = run_steps(params, [(X, y)], lr)
    soft, soft_before, _ = run_steps(params, [(X, y)], lr, double_softmax=True)
    assert_close(loss, before[0], "train_step(...): the returned loss", inputs={"X": X}, rtol=1e-9, atol=1e-12,
                 mistakes={AFTER_STEP: after[0], SOFTMAX: soft_before[0]})
    got = exported_params(student, model, "the model after train_step")
    compare_params(got, want, "one SGD step (lr = 0.5) from fixed weights", mistakes={SOFTMAX: soft})
    for name, t, a in (("X_batch", Xt, X), ("y_batch", yt, y)):
        assert_true(np.array_equal(student.source(TO_NUMPY)(t), a), f"train_step changed {name} in place")


@pytest.mark.points(1)
def test_train_step_two_steps_zero_grad(student, seed):
    """Two train_steps on two batches: the second step must use only the second batch's gradient."""
    rng = np.random.default_rng(seed + 2)
    params, X, y = random_case(rng, 10)
    lr = 0.3
    batches = [(X[:6], y[:6]), (X[6:], y[6:])]
    model = fixed_model(student, params)
    opt, loss_fn, as_tensor = student.source(SGD)(model, lr), student.source(CROSS_ENTROPY)(), student.source(AS_TENSOR)
    want, before, after = run_steps(params, batches, lr)
    stale, stale_before, _ = run_steps(params, batches, lr, zero_grad=False)
    soft_before = run_steps(params, batches, lr, double_softmax=True)[1]
    for k, (Xb, yb) in enumerate(batches):
        loss = student.torch_training.train_step(model, opt, loss_fn, as_tensor(Xb), as_tensor(yb))
        assert_close(loss, before[k], f"train_step number {k + 1}: the returned loss", rtol=1e-9, atol=1e-12,
                     mistakes={AFTER_STEP: after[k], NO_ZERO_GRAD: stale_before[k], SOFTMAX: soft_before[k]})
    got = exported_params(student, model, "the model after two train_steps")
    compare_params(got, want, "two SGD steps (lr = 0.3) on batches of 6 and 4 samples", mistakes={NO_ZERO_GRAD: stale})


# ----------------------------------------------------------------------------------------------
# train: the Adam loop with seeded permutations
# ----------------------------------------------------------------------------------------------

@pytest.mark.points(1.5)
def test_train_adam_minibatches_equal_numpy(student, seed):
    """train in float64 (N = 10, batch 4, 3 epochs, lr = 0.02) equals Adam on the seeded permutations."""
    rng = np.random.default_rng(seed + 3)
    params, X, y = random_case(rng, 10)
    lr, epochs, bs, perm_seed = 0.02, 3, 4, int(rng.integers(0, 1000))
    model = fixed_model(student, params)
    history = student.torch_training.train.options(timeout=30)(model, X, y, epochs=epochs, batch_size=bs,
                                                                lr=lr, seed=perm_seed)
    assert_true(isinstance(history, list) and all(isinstance(h, float) for h in history),
                f"train returned {type(history).__name__} {str(history)[:80]}, expected a list of Python floats "
                f"(one per epoch)")
    assert_true(len(history) == epochs, f"train(..., epochs={epochs}) returned {len(history)} epoch losses, "
                                        f"expected {epochs}: one per epoch, and train for exactly `epochs` epochs")
    perms = student.source(PERMUTATIONS)(len(y), epochs, perm_seed)
    batches = [(X[p[i:i + bs]], y[p[i:i + bs]]) for p in perms for i in range(0, len(y), bs)]
    sizes = np.array([len(b[1]) for b in batches], dtype=float).reshape(epochs, -1)
    want, before, after = run_steps(params, batches, lr, optimizer="adam")
    got = exported_params(student, model, "the model after train")
    wrong = {SGD_NOT_ADAM: run_steps(params, batches, lr)[0],
             LR_IGNORED: run_steps(params, batches, 1e-3, optimizer="adam")[0],
             NO_ZERO_GRAD: run_steps(params, batches, lr, optimizer="adam", zero_grad=False)[0],
             SOFTMAX: run_steps(params, batches, lr, optimizer="adam", double_softmax=True)[0]}
    compare_params(got, want, "train(model, X, y, epochs=3, batch_size=4, lr=0.02) from fixed weights "
                              "(one Adam, one generator torch.Generator().manual_seed(seed) per call, "
                              "batches perm[i:i + batch_size])", mistakes=wrong, rtol=1e-8, atol=1e-11)

    def epoch_means(losses, weighted=True):
        L = np.array(losses).reshape(epochs, -1)
        return (L * sizes).sum(axis=1) / sizes.sum(axis=1) if weighted else L.mean(axis=1)

    assert_close(history, epoch_means(before), "train(...): the per-epoch losses", rtol=1e-9, atol=1e-12,
                 mistakes={UNWEIGHTED: epoch_means(before, weighted=False), AFTER_STEP: epoch_means(after)})


@pytest.mark.points(0.5)
def test_train_seeded_runs_are_reproducible(student, seed):
    """Two train runs from the same weights with the same seed give the same losses and weights."""
    rng = np.random.default_rng(seed + 4)
    X = rng.normal(size=(40, D))
    y = rng.permutation(np.arange(40) % C)
    tt = student.torch_training
    runs = []
    for _ in range(2):
        model = tt.build_model(D, H, C, seed=11)
        history = tt.train.options(timeout=30)(model, X, y, epochs=3, batch_size=8, lr=0.01, seed=seed % 1000)
        runs.append((history, exported_params(student, model, "the model after train")))
    assert_true(isinstance(runs[0][0], list) and len(runs[0][0]) == 3,
                f"train(..., epochs=3) returned {str(runs[0][0])[:80]}, expected a list of 3 epoch losses")
    assert_true(runs[0][0] == runs[1][0], f"two seeded runs gave different losses {runs[0][0]} and {runs[1][0]}: "
                                          f"draw each epoch's order with torch.randperm(N, generator=g)")
    for name, a, b in zip(NAMES, runs[0][1], runs[1][1]):
        assert_true(np.array_equal(a, b), f"two seeded runs gave different {name}")


# ----------------------------------------------------------------------------------------------
# accuracy
# ----------------------------------------------------------------------------------------------

@pytest.mark.points(0.5)
def test_accuracy_at_fixed_weights(student, seed):
    """accuracy(model, X, y) is the fraction of rows whose argmax logit is the label (a float in [0, 1])."""
    rng = np.random.default_rng(seed + 5)
    params, X, y = random_case(rng, 30)
    y = rng.integers(0, C, size=30)
    model = fixed_model(student, params)
    W1, b1, W2, b2 = params
    hits = (np.maximum(X @ W1.T + b1, 0.0) @ W2.T + b2).argmax(axis=1) == y
    got = student.torch_training.accuracy(model, X, y)
    assert_true(isinstance(got, float), f"accuracy returned {getattr(got, 'type_name', type(got).__name__)}, "
                                        f"expected a Python float (use .item())")
    assert_close(got, hits.mean(), "accuracy(model, X, y)", inputs={"X": X}, rtol=1e-12, atol=1e-12,
                 mistakes={"returned a percentage: return a fraction in [0, 1]": 100 * hits.mean(),
                           "returned the number of correct rows: divide by N": float(hits.sum()),
                           "returned the error rate 1 - accuracy": 1 - hits.mean()})


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
    history = tt.train.options(timeout=40)(model, Xtr, ytr, epochs=12, batch_size=64, lr=3e-3, seed=seed % 1000)
    assert_true(isinstance(history, list) and len(history) == 12 and np.all(np.isfinite(history)),
                f"train(..., epochs=12) returned {str(history)[:80]}, expected 12 finite epoch losses")
    assert_true(history[-1] < history[0], f"the epoch loss did not decrease: {history[0]:.4g} -> {history[-1]:.4g}")
    acc = float(np.mean(exported_forward(verified_export(student, model), Xte).argmax(axis=1) == yte))
    assert_true(acc >= 0.95, f"held-out accuracy {acc:.3f} < 0.95 on 360 digits the training never saw "
                             f"(epoch loss {history[0]:.3g} -> {history[-1]:.3g} over 12 epochs)")

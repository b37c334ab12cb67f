"""What the public and the hidden checks of Task 4 (autograd.py) share: reading a Tensor's
gradient, comparing it, and the named mistakes with the wrong answers they produce.

Ships to students with the public checks: generic numpy only (no reference solution, no hidden
inputs). A wrong answer is named ("Likely: ...") only when it was computed here from the check's
own inputs and the received value equals it, or when what was received proves it (a gradient of
the op's output shape, a RecursionError on a long chain).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from grader.gradients import CheckFailure, Diagnosis, Mistake, assert_close
from grader.sandbox.proxy import Remote, StudentError

# ---------------------------------------------------------------------------------------------
# Named mistakes (the ids are what results.json counts; the text is what students read)
# ---------------------------------------------------------------------------------------------

ACCUMULATE = Mistake(
    "accumulate_assigned",
    "= instead of += in backward: a node used twice must receive the SUM "
    "of both contributions (call parent._accumulate(g), which adds, instead of parent.grad = g)",
)
UPSTREAM = Mistake("upstream_not_multiplied", "forgot to multiply by the upstream gradient out.grad (chain rule)")
RECURSION = Mistake(
    "recursive_topological_sort",
    "recursive topological sort hit the recursion limit: Python allows about 1000 nested calls, "
    "so topological_order() (and backward()) must use an explicit stack (a list you push and "
    "pop), not a function that calls itself",
)
ZERO_GRAD = Mistake(
    "zero_grad_missing",
    "the gradients of the previous step were not cleared: call p.zero_grad() "
    "on every parameter before backward() (backward accumulates into the leaves)",
)
GRADS_ERASED = Mistake(
    "gradients_erased_or_never_computed",
    "every parameter's .grad is zero after train_step, so the step changed nothing: the "
    "gradients were erased or never reached the parameters (p.zero_grad() goes BEFORE "
    "loss.backward(); if backward() itself leaves the leaves without gradient, the checks of "
    "backward on the diamond and the expression graphs show it)",
)
UPHILL = Mistake("step_uphill", "the step went uphill: theta <- theta - lr * grad")
LOSS_AFTER_STEP = Mistake(
    "loss_after_the_step",
    "returned the loss of the UPDATED parameters: compute the loss, "
    "keep it, then update (train_step returns L before the step)",
)
NODE_TWICE = Mistake(
    "node_processed_twice",
    "a node was processed twice in one backward(): build the topological "
    "order so that each node appears once (mark nodes as visited), then run each node's backward "
    "step once",
)
LEAVES_RESET = Mistake(
    "leaves_reset_by_backward",
    "a.grad was reset by the second backward(): LEAVES accumulate "
    "across backward() calls, as in PyTorch (only intermediate nodes are reset; the user calls "
    "zero_grad())",
)
INTERMEDIATES_KEPT = Mistake(
    "intermediates_not_reset",
    "the intermediate nodes kept the first call's gradient: "
    "backward() must reset the INTERMEDIATE nodes' .grad to None at the start of each call "
    "(they hold the latest call's gradient only)",
)
FORWARD_ORDER = Mistake(
    "closures_in_forward_order",
    "backward() ran the closures in topological order, leaves "
    "first: run them in REVERSED order (root first), so each node's .grad is complete before "
    "its closure passes it on",
)
OUTPUT_ACTIVATION = Mistake(
    "activation_on_output_layer", "the output layer has no activation: mlp_forward returns the logits Z_L"
)


def lse_shift_mistakes(loss: float, shift: float) -> dict:
    """The loss with the row maximum m (``shift`` = mean of m) taken out of one of its two terms."""
    text = (
        "the row maximum m was subtracted in one term only: L = mean(log sum_c exp(z_c - m) - (z_y - m)); "
        "m cancels only when both terms have it"
    )
    return {
        Mistake("lse_shift_in_one_term_only", text + " (here: in the log-sum-exp only)"): loss - shift,
        Mistake("lse_shift_in_one_term_only", text + " (here: in z_y only)"): loss + shift,
    }


def loss_summed(n: int) -> Mistake:
    return Mistake(
        "loss_summed_not_averaged", f"summed over the N = {n} samples: the loss is the MEAN over the samples"
    )


# ---------------------------------------------------------------------------------------------
# Reading the student's tensors
# ---------------------------------------------------------------------------------------------


def tensor(value: Any, what: str) -> Remote:
    """Fail unless ``value`` is a handle to one of the student's objects named Tensor."""
    if not isinstance(value, Remote) or value.type_name != "Tensor":
        kind = value.type_name if isinstance(value, Remote) else type(value).__name__
        raise CheckFailure(
            f"{what} returned a {kind}, expected a Tensor (a node of the graph, so that "
            f"backward() can reach its inputs)"
        )
    return value


def no_gradient(name: str, after: str) -> CheckFailure:
    return CheckFailure(
        f"{name}.grad is None after {after}: no gradient reached {name}. Each op must "
        f"assign its closure (out._backward = _backward), the closure must call "
        f"{name}._accumulate(...), and backward() must run the closures in REVERSED "
        f"topological order (root first, so each out.grad is complete when its closure runs)"
    )


def grad(t: Remote, name: str, after: str):
    """``t.grad``, or a failure that says the backward pass never reached it."""
    g = t.grad
    if g is None:
        raise no_gradient(name, after)
    return g


MISSING_UNBROADCAST = Diagnosis(
    "missing_unbroadcast",
    "missing unbroadcast: sum the gradient over the axes "
    "broadcasting added or stretched, unbroadcast(grad, input.shape), before "
    "_accumulate",
)


@contextlib.contextmanager
def unbroadcast_named(what: str):
    """Around a backward call: the given ``_accumulate`` refusing a gradient of the wrong shape (its
    message asks for unbroadcast) is named as a missing unbroadcast."""
    try:
        yield
    except StudentError as exc:
        if exc.type == "ValueError" and "unbroadcast" in exc.message and "gradient of shape" in exc.message:
            at = f" (at {exc.where})" if exc.where else ""
            raise CheckFailure(
                f"{what} raised {exc.type}: {exc.message}{at}. Likely: {MISSING_UNBROADCAST.message}",
                diagnosis=MISSING_UNBROADCAST,
            ) from None
        raise


# ---------------------------------------------------------------------------------------------
# Comparing gradients
# ---------------------------------------------------------------------------------------------


def sum_to(g: np.ndarray, shape: tuple) -> np.ndarray:
    """``g`` summed over the axes broadcasting added or stretched to give ``shape`` (numpy only)."""
    g = np.asarray(g, dtype=np.float64)
    shape = tuple(shape)
    if g.ndim > len(shape):
        g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=stretched, keepdims=True) if stretched else g


def _partial_sums(full: np.ndarray, target: tuple):
    """``full`` summed over every subset of its axes except the right one, with and without keepdims:
    (description, value) of the unbroadcasts that stopped short or summed the wrong axes."""
    for k in range(1, full.ndim + 1):
        for axes in itertools.combinations(range(full.ndim), k):
            for keep in (False, True):
                value = full.sum(axis=axes, keepdims=keep)
                if value.shape != target:
                    yield f"sum(axis={axes if len(axes) > 1 else axes[0]}{', keepdims=True' if keep else ''})", value


def check_grad(
    got, want, name: str, what: str, out_shape=None, full=None, mistakes=None, inputs=None, rtol: float = 1e-7
):
    """Compare ``name.grad`` with ``want``. ``full``: the input's gradient before unbroadcast (the
    op output's shape); a received gradient equal to it, or to it summed over the wrong axes, is
    named. ``mistakes``: {Mistake: wrong value} or a function returning it, computed only on failure."""
    want = np.asarray(want, dtype=np.float64)
    shape = tuple(np.shape(got)) if isinstance(got, (np.ndarray, float, int)) else None
    if shape is not None and shape != want.shape:
        arr = np.asarray(got, dtype=np.float64)
        candidates = (
            []
            if full is None
            else [("no sum at all", np.asarray(full, dtype=np.float64))]
            + list(_partial_sums(np.asarray(full, dtype=np.float64), want.shape))
        )
        for how, value in candidates:
            if value.shape == shape and np.allclose(arr, value, rtol=1e-6, atol=1e-9):
                if how == "no sum at all":
                    break
                found = Diagnosis(
                    "unbroadcast_wrong_axes",
                    f"{name}'s gradient was summed with {how}, but {name} has shape {want.shape}: "
                    f"sum over the leading axes broadcasting added and keep (keepdims) the axes "
                    f"where {name} has size 1 (unbroadcast(grad, {name}.shape))",
                )
                raise CheckFailure(
                    f"{what}: {name}.grad has shape {shape}, expected {want.shape}. Likely: {found.message}",
                    diagnosis=found,
                )
        if out_shape is not None and shape == tuple(out_shape):
            found = Diagnosis(
                MISSING_UNBROADCAST.id,
                f"missing unbroadcast: sum the gradient over the axes broadcasting added or "
                f"stretched, unbroadcast(grad, {name}.shape)",
            )
            raise CheckFailure(
                f"{what}: {name}.grad has shape {shape}, the shape of the op's output, but "
                f"{name} has shape {want.shape}. Likely: {found.message}",
                diagnosis=found,
            )
    arr = np.asarray(got, dtype=np.float64) if isinstance(got, (np.ndarray, float, int)) else None
    if arr is not None and arr.shape == want.shape and not np.all(np.isfinite(arr)) and np.all(np.isfinite(want)):
        # inf or nan where the answer is finite: named only by a wrong answer with the same entries
        named = (mistakes() if callable(mistakes) else mistakes) or {}
        found = next(
            (
                m
                for m, v in named.items()
                if v is not None
                and np.shape(v) == arr.shape
                and np.allclose(arr, np.asarray(v, dtype=np.float64), rtol=1e-6, atol=1e-9, equal_nan=True)
            ),
            None,
        )
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise CheckFailure(
            f"{what}: {name}.grad is {arr[bad] if arr.ndim else arr} at index {bad}; expected finite "
            f"values" + (f". Likely: {found}" if found else ""),
            diagnosis=found,
        )
    try:
        return assert_close(got, want, f"{what}: {name}.grad", inputs=inputs, rtol=rtol, atol=1e-10)
    except CheckFailure:
        if mistakes is None:
            raise
    named = mistakes() if callable(mistakes) else mistakes
    return assert_close(
        got, want, f"{what}: {name}.grad", inputs=inputs, rtol=rtol, atol=1e-10, mistakes=distinct(named, want)
    )


def distinct(mistakes: Mapping[str, Any] | None, correct: Any = None) -> dict:
    """The named wrong answers that can name something: finite and not equal to the correct value;
    two different mistakes that give the same numbers cannot be told apart, so neither is named."""
    correct = None if correct is None else np.asarray(correct, dtype=np.float64)

    def same(a, b):
        return a.shape == b.shape and np.allclose(a, b, rtol=1e-6, atol=1e-9)

    items = []
    for name, value in (mistakes or {}).items():
        if value is None:
            continue
        value = np.asarray(value, dtype=np.float64)
        if np.all(np.isfinite(value)) and not (correct is not None and same(value, correct)):
            items.append((name, getattr(name, "id", name), value))
    return {
        name: value
        for name, ident, value in items
        if not any(other != ident and same(value, v) for _, other, v in items)
    }


def consistent(observed: Mapping[str, Any], predicted: Mapping[Mistake, Mapping[str, Any]]) -> list[Mistake]:
    """The mistakes whose predicted observations ALL equal the observed ones (None = no gradient):
    only these may be named, so that one coincidence in one value names nothing."""
    found = []
    for mistake, values in predicted.items():
        ok = True
        for key, want in values.items():
            got = observed.get(key)
            if (got is None) != (want is None):
                ok = False
            elif got is not None:
                try:
                    arr = np.asarray(got, dtype=np.float64)
                except (TypeError, ValueError):
                    ok = False
                    break
                w = np.asarray(want, dtype=np.float64)
                ok = arr.shape == w.shape and np.allclose(arr, w, rtol=1e-9, atol=1e-12)
            if not ok:
                break
        if ok:
            found.append(mistake)
    return found


# ---------------------------------------------------------------------------------------------
# The local gradients of the ops, and their usual wrong forms
# ---------------------------------------------------------------------------------------------

# d out / d x of each elementwise op as a function of its input x and its output o.
DERIVATIVE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "exp": lambda x, o: o,
    "log": lambda x, o: 1.0 / x,
    "sigmoid": lambda x, o: o * (1.0 - o),
    "tanh": lambda x, o: 1.0 - o**2,
    "relu": lambda x, o: (x > 0) * 1.0,
}
FORMULA = {
    "exp": "exp(x), the output",
    "log": "1/x",
    "sigmoid": "s(1 - s) with s = sigmoid(x), the OUTPUT",
    "tanh": "1 - tanh(x)**2, with the OUTPUT tanh(x)",
    "relu": "the 0/1 mask 1[x > 0]",
}
SWAPPED = {"exp": "x", "log": "1/ln(x), the output", "sigmoid": "x(1 - x)", "tanh": "1 - x**2"}


def unary_mistakes(name: str, x: np.ndarray, out: np.ndarray, g: np.ndarray, p: float | None = None) -> dict:
    """The usual wrong gradients of x for ``out = x.<name>()`` (or ``x ** p``) with upstream g: the
    derivative evaluated at the input where the output belongs (or the reverse), another op's
    derivative, the upstream gradient forgotten, and a few op-specific slips."""
    x, out, g = (np.asarray(v, dtype=np.float64) for v in (x, out, g))
    found: dict = {}
    with np.errstate(all="ignore"):
        if name == "pow":
            found[
                Mistake(
                    "pow_exponent_not_lowered",
                    "d(x**p)/dx = p * x**(p - 1): the exponent drops by one (you used p * x**p)",
                )
            ] = g * p * x**p
            found[Mistake("pow_factor_p_missing", "d(x**p)/dx = p * x**(p - 1): the factor p is missing")] = g * x ** (
                p - 1
            )
            found[
                Mistake(
                    "pow_of_the_output",
                    "d(x**p)/dx = p * x**(p - 1) of the INPUT x: you used the output x**p in its place",
                )
            ] = g * p * out ** (p - 1)
            found[UPSTREAM] = p * x ** (p - 1)
            return found
        local = DERIVATIVE[name](x, out)
        found[UPSTREAM] = local
        if name in SWAPPED:
            found[
                Mistake(
                    f"{name}_derivative_wrong_operand", f"d {name}(x)/dx = {FORMULA[name]}: you used {SWAPPED[name]}"
                )
            ] = g * DERIVATIVE[name](out, x)
        if name == "log":
            found[Mistake("log_derivative_multiplies", "d ln(x)/dx = 1/x: you multiplied by x instead of dividing")] = (
                g * x
            )
            found[Mistake("log_derivative_is_log", "d ln(x)/dx = 1/x: you used ln(x)")] = g * out
        elif name == "tanh":
            found[Mistake("tanh_square_missing", "tanh'(x) = 1 - tanh(x)**2: the square is missing")] = g * (1 - out)
        elif name == "sigmoid":
            found[Mistake("sigmoid_factor_missing", "sigmoid'(x) = s(1 - s): the factor (1 - s) is missing")] = g * out
        elif name == "relu":
            found[Mistake("relu_times_output", "relu'(x) is the 0/1 mask 1[x > 0]: you multiplied by relu(x)")] = (
                g * out
            )
        for other, fn in DERIVATIVE.items():  # another op's derivative, unless a slip above gives the same
            wrong = g * fn(x, out)
            if other != name and not any(
                np.shape(v) == np.shape(wrong) and np.allclose(v, wrong, equal_nan=True) for v in found.values()
            ):
                found[
                    Mistake(
                        f"{name}_used_{other}_derivative",
                        f"the derivative of {name} is {FORMULA[name]}; you used the derivative of {other}, "
                        f"{FORMULA[other]}",
                    )
                ] = wrong
    return found


def mul_mistakes(a: np.ndarray, b: np.ndarray, g: np.ndarray, which: str) -> dict:
    """Wrong gradients of ``which`` ("x" or "y") for out = x * y (a = x.data, b = y.data)."""
    own, other = (a, b) if which == "x" else (b, a)
    shape = np.shape(own)
    return {
        Mistake(
            "mul_grad_wrong_operand", f"d(x*y)/d{which} = {'y' if which == 'x' else 'x'}: you used {which} itself"
        ): sum_to(g * np.broadcast_to(own, np.shape(g)), shape),
        UPSTREAM: sum_to(np.broadcast_to(other, np.shape(g)), shape),
    }


def matmul_mistakes(a: np.ndarray, b: np.ndarray, g: np.ndarray, which: str) -> dict:
    """Wrong gradients of A (``which`` "A") or B for out = A @ B, 2-D operands viewed as in the docstring."""
    a2 = a if a.ndim == 2 else a[None, :]
    b2 = b if b.ndim == 2 else b[:, None]
    g2 = np.asarray(g, dtype=np.float64).reshape(a2.shape[0], b2.shape[1])
    shape = np.shape(a if which == "A" else b)
    if which == "A":
        right, flipped, ones = g2 @ b2.T, (b2 @ g2.T), np.ones_like(g2) @ b2.T
        text = "dL/dA = G @ B^T (shape of A): you computed its transpose B @ G^T and reshaped it"
    else:
        right, flipped, ones = a2.T @ g2, (g2.T @ a2), a2.T @ np.ones_like(g2)
        text = "dL/dB = A^T @ G (shape of B): you computed its transpose G^T @ A and reshaped it"
    found = {UPSTREAM: ones.reshape(shape)}
    if flipped.size == right.size and flipped.shape != right.shape:
        found[Mistake(f"matmul_grad_{which}_transposed", text)] = flipped.reshape(shape)
    return found


SUM_NOT_REINSERTED = Mistake(
    "sum_axes_not_reinserted",
    "the summed axes were not put back before broadcasting: "
    "np.broadcast_to lines out.grad up with the LAST axes; use np.expand_dims(out.grad, "
    "axes) first",
)


def sum_mistakes(x: np.ndarray, g: np.ndarray, axes: tuple, keepdims: bool) -> dict:
    """Wrong gradients of x for out = x.sum(axis=axes, keepdims=keepdims) with upstream g."""
    found = {
        Mistake(
            "sum_upstream_not_used",
            "every summed entry receives the upstream gradient of its sum: forgot to use out.grad",
        ): np.ones(np.shape(x))
    }
    if not keepdims and axes:
        try:
            found[SUM_NOT_REINSERTED] = np.broadcast_to(g, np.shape(x))
        except ValueError:
            pass
    return found

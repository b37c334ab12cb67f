"""Public checks of Task 4 (autograd.py): the handout's examples and each op at one point, by hand.

Every input below is printed in reference/autograd.md or small enough to check by hand. Your
Tensor runs in your own process; these checks drive it like ordinary code (``x * y``,
``out.backward_local(g)``, ``x.grad``). Expected values come from the reference solution
(recorded, so the checks run without it).
"""

import numpy as np
import pytest

from grader.checks.support_autograd import (
    ACCUMULATE,
    INTERMEDIATES_KEPT,
    LEAVES_RESET,
    NODE_TWICE,
    UPSTREAM,
    check_grad,
    consistent,
    grad,
    loss_summed,
    lse_shift_mistakes,
    mul_mistakes,
    no_gradient,
    sum_mistakes,
    tensor,
    unary_mistakes,
    unbroadcast_named,
)
from grader.expected import reference
from grader.gradients import assert_close

ref = reference("autograd")  # recorded reference values: students run these checks without solutions/

# Hand inputs: all entries away from 0 (the ReLU kink) and positive where log needs it.
X3 = np.array([0.5, -1.0, 2.0])
Y3 = np.array([2.0, 0.5, -1.5])
P3 = np.array([0.5, 1.0, 2.0])
G3 = np.array([1.0, 2.0, -1.0])  # an upstream gradient that is not all ones


def _ref_op(m, op: str, data: list, g, *args) -> dict:
    """On the reference module m: out = op(inputs), out.backward_local(g); out.data and each input's grad."""
    ts = [m.Tensor(d, requires_grad=True) for d in data]
    fns = {"x + y": lambda x, y: x + y, "x * y": lambda x, y: x * y, "x ** p": lambda x: x ** args[0]}
    out = fns[op](*ts) if op in fns else getattr(ts[0], op)(*args)
    out.backward_local(g)
    return {"out": out.data, "grads": [t.grad for t in ts]}


@pytest.mark.points(1)
def test_lecture_example(student):
    """The lecture's example: x = [1.0], y = x**2 + 2*x gives y = [3.0] and, after y.backward(), x.grad = [4.0]."""
    x = student.autograd.Tensor(np.array([1.0]), requires_grad=True)
    y = x**2 + 2 * x
    assert_close(y.data, [3.0], "y = x**2 + 2*x at x = [1.0]: y.data")
    y.backward()
    check_grad(grad(x, "x", "y.backward()"), [4.0], "x", "y = x**2 + 2*x at x = [1.0], after y.backward()")


@pytest.mark.points(1)
def test_binary_ops_at_a_point(student):
    """x + y, x * y, x ** p and x @ y at one point with out.backward_local(g), and the handout's broadcasting example."""
    T = student.autograd.Tensor
    for text, fn in (("x + y", lambda x, y: x + y), ("x * y", lambda x, y: x * y)):
        what = f"out = {text} with x = {X3.tolist()}, y = {Y3.tolist()}, out.backward_local(g = {G3.tolist()})"
        x, y = T(X3, requires_grad=True), T(Y3, requires_grad=True)
        want = ref.value(f"at-a-point {text}", lambda m: _ref_op(m, text, [X3, Y3], G3))
        out = tensor(fn(x, y), text)
        assert_close(out.data, want["out"], f"{what}: out.data")
        with unbroadcast_named(f"{what}: out.backward_local(g)"):
            out.backward_local(G3)
        if text == "x * y":
            mx, my = mul_mistakes(X3, Y3, G3, "x"), mul_mistakes(X3, Y3, G3, "y")
        else:
            mx = my = {UPSTREAM: np.ones(3)}
        check_grad(grad(x, "x", what), want["grads"][0], "x", what, mistakes=mx)
        check_grad(grad(y, "y", what), want["grads"][1], "y", what, mistakes=my)

    # x ** 2 and x ** -1 (a constant exponent)
    for p in (2, -1):
        what = f"out = x ** {p} with x = {X3.tolist()}, out.backward_local(g = {G3.tolist()})"
        x = T(X3, requires_grad=True)
        want = ref.value(f"at-a-point x ** {p}", lambda m: _ref_op(m, "x ** p", [X3], G3, p))
        out = tensor(x**p, f"x ** {p}")
        assert_close(out.data, want["out"], f"{what}: out.data")
        out.backward_local(G3)
        check_grad(
            grad(x, "x", what), want["grads"][0], "x", what, mistakes=unary_mistakes("pow", X3, want["out"], G3, p)
        )

    # the dot product x @ y of two (3,) vectors: a () result
    what = f"out = x @ y with x = {X3.tolist()}, y = {Y3.tolist()} (a dot product), out.backward_local(2.0)"
    x, y = T(X3, requires_grad=True), T(Y3, requires_grad=True)
    out = x @ y
    assert_close(out.data, float(X3 @ Y3), f"{what}: out.data")
    out.backward_local(2.0)
    check_grad(grad(x, "x", what), 2.0 * Y3, "x", what, mistakes={UPSTREAM: Y3})
    check_grad(grad(y, "y", what), 2.0 * X3, "y", what, mistakes={UPSTREAM: X3})

    # The handout's broadcasting example: L = sum(X * b + c), X (2, 3) constant, b (3,), c (2, 1).
    Xv = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    bv, cv = np.array([0.1, 0.2, 0.3]), np.array([[1.0], [-1.0]])
    what = "the handout's broadcasting example, X * b with X (2, 3) constant, b (3,), backward_local(ones (2, 3))"
    b = T(bv, requires_grad=True)
    xb = Xv * b  # the ndarray X on the left: your Tensor.__rmul__
    assert_close(xb.data, Xv * bv, f"{what}: (X * b).data")
    with unbroadcast_named(f"{what}: (X * b).backward_local(ones)"):
        xb.backward_local(np.ones((2, 3)))
    check_grad(grad(b, "b", what), [5.0, 7.0, 9.0], "b", what, out_shape=(2, 3), full=Xv)
    what = "the handout's broadcasting example, Y + c with Y (2, 3), c (2, 1), backward_local(ones (2, 3))"
    y, c = T(Xv * bv, requires_grad=True), T(cv, requires_grad=True)
    out = y + c
    assert_close(out.data, Xv * bv + cv, f"{what}: (Y + c).data")
    with unbroadcast_named(f"{what}: (Y + c).backward_local(ones)"):
        out.backward_local(np.ones((2, 3)))
    check_grad(grad(c, "c", what), [[3.0], [3.0]], "c", what, out_shape=(2, 3), full=np.ones((2, 3)))
    check_grad(grad(y, "Y", what), np.ones((2, 3)), "Y", what)


@pytest.mark.points(1)
def test_unary_ops_at_a_point(student):
    """exp, log, sigmoid, tanh, relu and sum at one point with out.backward_local(g), against the table of the handout."""
    T = student.autograd.Tensor
    for name in ("exp", "log", "sigmoid", "tanh", "relu"):
        data = P3 if name == "log" else X3
        what = f"out = x.{name}() with x = {data.tolist()}, out.backward_local(g = {G3.tolist()})"
        x = T(data, requires_grad=True)
        want = ref.value(f"at-a-point {name}", lambda m: _ref_op(m, name, [data], G3))
        out = tensor(getattr(x, name)(), f"x.{name}()")
        assert_close(out.data, want["out"], f"{what}: out.data")
        out.backward_local(G3)
        check_grad(
            grad(x, "x", what), want["grads"][0], "x", what, mistakes=unary_mistakes(name, data, want["out"], G3)
        )

    what = f"out = x.sum() with x = {X3.tolist()}, out.backward_local(3.0)"
    x = T(X3, requires_grad=True)
    out = x.sum()
    assert_close(out.data, X3.sum(), f"{what}: out.data")
    out.backward_local(3.0)
    check_grad(grad(x, "x", what), np.full(3, 3.0), "x", what, mistakes=sum_mistakes(X3, 3.0, (0,), False))


# What the diamond a = 1; b = a + a; c = b + b shows after each step, for the correct engine and
# for each named mistake (worked out by hand, one call of c.backward() after the other): a
# mistake is named only when EVERY value seen matches its row.
DIAMOND = {"a1": 4.0, "b1": 2.0, "a2": 8.0, "b2": 2.0, "a3": 4.0}
DIAMOND_MISTAKES = {
    ACCUMULATE: {"a1": 1.0, "b1": 1.0, "a2": 1.0, "b2": 1.0, "a3": 1.0},
    NODE_TWICE: {"a1": 8.0, "b1": 2.0, "a2": 16.0, "b2": 2.0, "a3": 8.0},
    LEAVES_RESET: {"a1": 4.0, "b1": 2.0, "a2": 4.0, "b2": 2.0, "a3": 4.0},
    INTERMEDIATES_KEPT: {"a1": 4.0, "b1": 2.0, "a2": 16.0, "b2": 6.0, "a3": 24.0},
}


def _named(observed: dict, key: str, rows: dict) -> dict:
    """{mistake: its value of ``key``} for the mistakes whose rows match everything observed."""
    return {
        m: rows[m][key]
        for m in consistent(observed, {m: {k: v for k, v in row.items() if k in observed} for m, row in rows.items()})
    }


@pytest.mark.points(1)
def test_diamond_graph(student):
    """The diamond a = 1; b = a + a; c = b + b: after c.backward(), b.grad = 2 and a.grad = dc/da = 4."""
    T = student.autograd.Tensor
    a = T(1.0, requires_grad=True)
    b = a + a
    c = b + b
    assert_close(c.data, 4.0, "c = b + b, b = a + a at a = 1: c.data")
    c.backward()
    seen = {"a1": a.grad, "b1": b.grad}
    what = "the diamond a = 1; b = a + a; c = b + b after c.backward()"
    for key, name in (("a1", "a"), ("b1", "b")):
        if seen[key] is None:
            raise no_gradient(name, "c.backward()")
        check_grad(seen[key], DIAMOND[key], name, what, mistakes=_named(seen, key, DIAMOND_MISTAKES))


@pytest.mark.points(1)
def test_backward_twice_and_zero_grad(student):
    """Calling c.backward() twice on the diamond: leaves accumulate (a.grad 4 then 8), intermediates hold the latest call (b.grad 2); zero_grad starts over."""
    T = student.autograd.Tensor
    a = T(1.0, requires_grad=True)
    b = a + a
    c = b + b
    c.backward()
    seen = {"a1": a.grad, "b1": b.grad}
    c.backward()
    seen.update(a2=a.grad, b2=b.grad)
    steps = {
        "a1": ("a", "one call of c.backward()"),
        "b1": ("b", "one call of c.backward()"),
        "a2": ("a", "two calls of c.backward()"),
        "b2": ("b", "two calls of c.backward()"),
    }
    for key, (name, after) in steps.items():
        if seen[key] is None:
            raise no_gradient(name, after)
        what = f"the diamond a = 1; b = a + a; c = b + b after {after}"
        check_grad(seen[key], DIAMOND[key], name, what, mistakes=_named(seen, key, DIAMOND_MISTAKES))
    a.zero_grad()
    assert_close(a.grad, 0.0, "a.grad after a.zero_grad()")
    c.backward()
    check_grad(
        grad(a, "a", "zero_grad() then c.backward()"),
        DIAMOND["a3"],
        "a",
        "the diamond after a.zero_grad(); c.backward()",
    )


@pytest.mark.points(1)
def test_softmax_cross_entropy_handout(student):
    """softmax_cross_entropy on the handout's logits [[2, 1, 0.1], [0.5, 2.5, -1]], labels [0, 2]: L = 2.035104112 and Z.grad = (softmax(Z) - onehot(y)) / N."""
    logits = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]])
    labels = np.array([0, 2])

    def reference_loss(m):
        z = m.Tensor(logits, requires_grad=True)
        loss = m.softmax_cross_entropy(z, labels)
        loss.backward()
        return {"loss": loss.item(), "grad": z.grad}

    want = ref.value("softmax-cross-entropy handout", reference_loss)
    z = student.autograd.Tensor(logits, requires_grad=True)
    loss = tensor(student.autograd.softmax_cross_entropy(z, labels), "softmax_cross_entropy(Z, y)")
    what = "softmax_cross_entropy(Z, y) on the handout's example"
    inputs = {"Z": logits, "y": labels}
    assert_close(
        loss.data,
        want["loss"],
        f"{what}: L.data",
        inputs=inputs,
        mistakes={
            loss_summed(2): 2 * want["loss"],
            **lse_shift_mistakes(want["loss"], float(logits.max(axis=1).mean())),
        },
    )
    loss.backward()
    check_grad(
        grad(z, "Z", "L.backward()"),
        want["grad"],
        "Z",
        f"{what}, after L.backward()",
        inputs=inputs,
        mistakes={loss_summed(2): 2 * want["grad"]},
    )

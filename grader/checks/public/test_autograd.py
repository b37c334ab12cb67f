"""Public checks of Task 4 (autograd.py): the handout's examples and each op at one point, by hand.

Every input below is printed in reference/autograd.md or small enough to check by hand. Your
Tensor runs in your own process; these checks drive it like ordinary code (``x * y``,
``out.backward_local(g)``, ``x.grad``). Expected values come from the reference solution
(recorded, so the checks run without it).
"""
import numpy as np
import pytest

from grader.sandbox.proxy import Remote
from grader.expected import reference
from grader.gradients import CheckFailure, assert_close

ref = reference("autograd")  # recorded reference values: students run these checks without solutions/

# Hand inputs: all entries away from 0 (the ReLU kink) and positive where log needs it.
X3 = np.array([0.5, -1.0, 2.0])
Y3 = np.array([2.0, 0.5, -1.5])
P3 = np.array([0.5, 1.0, 2.0])
G3 = np.array([1.0, 2.0, -1.0])  # an upstream gradient that is not all ones
ACCUMULATE = ("= instead of += in backward: a node used twice must receive the SUM of both "
              "contributions (call parent._accumulate(g), which adds, instead of parent.grad = g)")


# Reads an attribute in the worker and turns a 0-d array into a float: the wire format sends a
# 0-d ndarray as shape (1,), a float keeps the shape ().
_FETCH = "lambda t, name: (lambda v: float(v) if isinstance(v, np.ndarray) and v.ndim == 0 else v)(getattr(t, name))"


def _get(student, tensor, name: str):
    """``tensor.<name>`` (data or grad) with its true shape, 0-d arrays as floats."""
    return student.cached("fetch", lambda: student.source(_FETCH))(tensor, name)  # one per worker


def _data(student, tensor):
    return _get(student, tensor, "data")


def _grad(student, tensor, name: str, after: str):
    """tensor.grad, or a failure that says the backward pass never reached it."""
    g = _get(student, tensor, "grad")
    if g is None:
        raise CheckFailure(f"{name}.grad is None after {after}: no gradient reached {name}. Each op must "
                           f"assign its closure (out._backward = _backward), the closure must call "
                           f"{name}._accumulate(...), and backward() must run the closures in REVERSED "
                           f"topological order (root first, so each out.grad is complete when its closure runs)")
    return g


def _tensor(value, what: str):
    """Fail unless ``value`` is a handle to one of your objects (a Tensor), not plain data."""
    if not isinstance(value, Remote) or value.type_name != "Tensor":
        kind = value.type_name if isinstance(value, Remote) else type(value).__name__
        raise CheckFailure(f"{what} returned a {kind}, expected a Tensor (a node of the graph, so that "
                           f"backward() can reach its inputs)")
    return value


def _check_grad(got, want, name: str, what: str, out_shape=None, mistakes=None, inputs=None):
    """Compare a gradient; name a missing unbroadcast when it has the output's shape."""
    want = np.asarray(want, dtype=np.float64)
    shape = tuple(np.shape(got)) if isinstance(got, (np.ndarray, float, int)) else None
    if out_shape is not None and shape is not None and shape != want.shape and shape == tuple(out_shape):
        raise CheckFailure(f"{what}: {name}.grad has shape {shape}, the shape of the op's output, but "
                           f"{name} has shape {want.shape}. Likely: missing unbroadcast: sum the gradient over "
                           f"the axes broadcasting added or stretched, unbroadcast(grad, {name}.shape)")
    assert_close(got, want, f"{what}: {name}.grad", inputs=inputs, rtol=1e-7, atol=1e-10, mistakes=mistakes)


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
    assert_close(_data(student, y), [3.0], "y = x**2 + 2*x at x = [1.0]: y.data")
    y.call_method("backward")
    _check_grad(_grad(student, x, "x", "y.backward()"), [4.0], "x", "y = x**2 + 2*x at x = [1.0], after y.backward()",
                mistakes={"x is used twice (in x**2 and in 2*x): x.grad must be the SUM 2x + 2 = 4 of both "
                          "uses; got only one of them (" + ACCUMULATE + ")": [2.0]})


@pytest.mark.points(1)
def test_binary_ops_at_a_point(student):
    """x + y, x * y, x ** p and x @ y at one point with out.backward_local(g), and the handout's broadcasting example."""
    T = student.autograd.Tensor
    for text, fn in (("x + y", lambda x, y: x + y), ("x * y", lambda x, y: x * y)):
        what = f"out = {text} with x = {X3.tolist()}, y = {Y3.tolist()}, out.backward_local(g = {G3.tolist()})"
        x, y = T(X3, requires_grad=True), T(Y3, requires_grad=True)
        want = ref.value(f"at-a-point {text}", lambda m: _ref_op(m, text, [X3, Y3], G3))
        out = _tensor(fn(x, y), text)
        assert_close(_data(student, out), want["out"], f"{what}: out.data")
        out.call_method("backward_local", G3)
        mistakes = {"x.grad": {"forgot to multiply by the upstream gradient out.grad (chain rule)":
                               Y3 if text == "x * y" else np.ones(3)},
                    "y.grad": {"forgot to multiply by the upstream gradient out.grad (chain rule)":
                               X3 if text == "x * y" else np.ones(3)}}
        if text == "x * y":
            mistakes["x.grad"]["d(x*y)/dx = y: you used x"] = G3 * X3
            mistakes["y.grad"]["d(x*y)/dy = x: you used y"] = G3 * Y3
        _check_grad(_grad(student, x, "x", what), want["grads"][0], "x", what, mistakes=mistakes["x.grad"])
        _check_grad(_grad(student, y, "y", what), want["grads"][1], "y", what, mistakes=mistakes["y.grad"])

    # x ** 2 and x ** -1 (a constant exponent)
    for p in (2, -1):
        what = f"out = x ** {p} with x = {X3.tolist()}, out.backward_local(g = {G3.tolist()})"
        x = T(X3, requires_grad=True)
        want = ref.value(f"at-a-point x ** {p}", lambda m: _ref_op(m, "x ** p", [X3], G3, p))
        out = _tensor(x**p, f"x ** {p}")
        assert_close(_data(student, out), want["out"], f"{what}: out.data")
        out.call_method("backward_local", G3)
        _check_grad(_grad(student, x, "x", what), want["grads"][0], "x", what, mistakes={
            "d(x**p)/dx = p * x**(p - 1): the exponent drops by one (you used p * x**p)": G3 * p * X3**p,
            "d(x**p)/dx = p * x**(p - 1): the factor p is missing": G3 * X3 ** (p - 1),
            "forgot to multiply by the upstream gradient out.grad (chain rule)": p * X3 ** (p - 1)})

    # the dot product x @ y of two (3,) vectors: a () result
    what = f"out = x @ y with x = {X3.tolist()}, y = {Y3.tolist()} (a dot product), out.backward_local(2.0)"
    x, y = T(X3, requires_grad=True), T(Y3, requires_grad=True)
    out = x @ y
    assert_close(_data(student, out), float(X3 @ Y3), f"{what}: out.data")
    out.call_method("backward_local", 2.0)
    _check_grad(_grad(student, x, "x", what), 2.0 * Y3, "x", what)
    _check_grad(_grad(student, y, "y", what), 2.0 * X3, "y", what)

    # The handout's broadcasting example: L = sum(X * b + c), X (2, 3) constant, b (3,), c (2, 1).
    Xv = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    bv, cv = np.array([0.1, 0.2, 0.3]), np.array([[1.0], [-1.0]])
    what = "the handout's broadcasting example, X * b with X (2, 3) constant, b (3,), backward_local(ones (2, 3))"
    b = T(bv, requires_grad=True)
    xb = b.call_method("__rmul__", Xv)  # X * b with the ndarray X on the left
    assert_close(_data(student, xb), Xv * bv, f"{what}: (X * b).data")
    xb.call_method("backward_local", np.ones((2, 3)))
    _check_grad(_grad(student, b, "b", what), [5.0, 7.0, 9.0], "b", what, out_shape=(2, 3))
    what = "the handout's broadcasting example, Y + c with Y (2, 3), c (2, 1), backward_local(ones (2, 3))"
    y, c = T(Xv * bv, requires_grad=True), T(cv, requires_grad=True)
    out = y + c
    assert_close(_data(student, out), Xv * bv + cv, f"{what}: (Y + c).data")
    out.call_method("backward_local", np.ones((2, 3)))
    _check_grad(_grad(student, c, "c", what), [[3.0], [3.0]], "c", what, out_shape=(2, 3))
    _check_grad(_grad(student, y, "Y", what), np.ones((2, 3)), "Y", what)


@pytest.mark.points(1)
def test_unary_ops_at_a_point(student):
    """exp, log, sigmoid, tanh, relu and sum at one point with out.backward_local(g), against the table of the handout."""
    T = student.autograd.Tensor
    for name in ("exp", "log", "sigmoid", "tanh", "relu"):
        data = P3 if name == "log" else X3
        what = f"out = x.{name}() with x = {data.tolist()}, out.backward_local(g = {G3.tolist()})"
        x = T(data, requires_grad=True)
        want = ref.value(f"at-a-point {name}", lambda m: _ref_op(m, name, [data], G3))
        out = _tensor(x.call_method(name), f"x.{name}()")
        assert_close(_data(student, out), want["out"], f"{what}: out.data")
        out.call_method("backward_local", G3)
        o, wg = want["out"], want["grads"][0]
        mistakes = {"forgot to multiply by the upstream gradient out.grad (chain rule)": wg / G3}
        if name == "exp":
            mistakes["d exp(x)/dx = exp(x) (the output): you used x"] = G3 * data
        elif name == "log":
            mistakes["d ln(x)/dx = 1/x: you multiplied by x instead of dividing"] = G3 * data
        elif name == "sigmoid":
            mistakes["sigmoid'(x) = s(1 - s) with s = sigmoid(x), the OUTPUT: you used x(1 - x)"] = \
                G3 * data * (1 - data)
        elif name == "tanh":
            mistakes["tanh'(x) = 1 - tanh(x)**2, with the OUTPUT tanh(x): you used 1 - x**2"] = G3 * (1 - data**2)
            mistakes["tanh'(x) = 1 - tanh(x)**2: the square is missing"] = G3 * (1 - o)
        elif name == "relu":
            mistakes["relu'(x) is the 0/1 mask 1[x > 0]: you multiplied by relu(x)"] = G3 * o
        _check_grad(_grad(student, x, "x", what), wg, "x", what, mistakes=mistakes)

    what = f"out = x.sum() with x = {X3.tolist()}, out.backward_local(3.0)"
    x = T(X3, requires_grad=True)
    out = x.call_method("sum")
    assert_close(_data(student, out), X3.sum(), f"{what}: out.data")
    out.call_method("backward_local", 3.0)
    _check_grad(_grad(student, x, "x", what), np.full(3, 3.0), "x", what, mistakes={
        "every summed entry receives the upstream gradient: forgot to use out.grad": np.ones(3)})


@pytest.mark.points(1)
def test_diamond_graph(student):
    """The diamond a = 1; b = a + a; c = b + b: after c.backward(), b.grad = 2 and a.grad = dc/da = 4."""
    T = student.autograd.Tensor
    a = T(1.0, requires_grad=True)
    b = a + a
    c = b + b
    assert_close(_data(student, c), 4.0, "c = b + b, b = a + a at a = 1: c.data")
    c.call_method("backward")
    what = "the diamond a = 1; b = a + a; c = b + b after c.backward()"
    wrong = {ACCUMULATE: 1.0, ACCUMULATE + " (in some of the closures)": 2.0}
    _check_grad(_grad(student, a, "a", "c.backward()"), 4.0, "a", what, mistakes=wrong)
    _check_grad(_grad(student, b, "b", "c.backward()"), 2.0, "b", what, mistakes={ACCUMULATE: 1.0})


@pytest.mark.points(1)
def test_backward_twice_and_zero_grad(student):
    """Calling c.backward() twice on the diamond: leaves accumulate (a.grad 4 then 8), intermediates hold the latest call (b.grad 2); zero_grad starts over."""
    T = student.autograd.Tensor
    a = T(1.0, requires_grad=True)
    b = a + a
    c = b + b
    c.call_method("backward")
    once = "the diamond a = 1; b = a + a; c = b + b after ONE call of c.backward()"
    visited_twice = ("a node was processed twice in one backward(): build the topological order so that each node "
                     "appears once (mark nodes as visited), then run each node's backward step once")
    _check_grad(_grad(student, a, "a", "one call of c.backward()"), 4.0, "a", once, mistakes={visited_twice: 8.0})
    _check_grad(_grad(student, b, "b", "one call of c.backward()"), 2.0, "b", once, mistakes={visited_twice: 4.0})
    c.call_method("backward")
    what = "the diamond a = 1; b = a + a; c = b + b after calling c.backward() twice"
    _check_grad(_grad(student, a, "a", "two calls of c.backward()"), 8.0, "a", what, mistakes={
        "a.grad was reset by the second backward(): LEAVES accumulate across backward() calls, as in PyTorch "
        "(only intermediate nodes are reset; the user calls zero_grad())": 4.0,
        "the intermediate nodes kept the first call's gradient (c.grad = 2, b.grad = 6, so a.grad = 4 + 12): "
        "backward() must reset the INTERMEDIATE nodes' .grad to None at the start of each call": 16.0})
    _check_grad(_grad(student, b, "b", "two calls of c.backward()"), 2.0, "b", what, mistakes={
        "b.grad kept the first call's gradient: backward() must reset the INTERMEDIATE nodes' .grad to None "
        "at the start of each call (they hold the latest call's gradient only)": 4.0})
    a.call_method("zero_grad")
    assert_close(_get(student, a, "grad"), 0.0, "a.grad after a.zero_grad()")
    c.call_method("backward")
    _check_grad(_grad(student, a, "a", "zero_grad() then c.backward()"), 4.0, "a",
                "the diamond after a.zero_grad(); c.backward()")


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
    loss = student.autograd.softmax_cross_entropy(z, labels)
    what = "softmax_cross_entropy(Z, y) on the handout's example"
    inputs = {"Z": logits, "y": labels}
    _tensor(loss, "softmax_cross_entropy(Z, y)")
    assert_close(_data(student, loss), want["loss"], f"{what}: L.data", inputs=inputs, mistakes={
        "summed over the N = 2 samples: the loss is the MEAN over the samples": 2 * want["loss"]})
    loss.call_method("backward")
    _check_grad(_grad(student, z, "Z", "L.backward()"), want["grad"], "Z", f"{what}, after L.backward()",
                inputs=inputs, mistakes={"summed over the N = 2 samples: the loss is the MEAN over the samples":
                                         2 * want["grad"]})

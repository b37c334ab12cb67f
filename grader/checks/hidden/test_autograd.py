"""Hidden checks of Task 4 (autograd.py): every op against the reference on seeded inputs with
broadcasting, shared nodes, a long chain, random expression graphs (hypothesis) evaluated with the
student's Tensor and with the reference, the loss, and one-step training oracles.

The student's Tensor lives in the worker; handles forward operators and methods there. Long
graphs are built in the worker by trusted code (``student.source``) to save round trips.
Wire note: a 0-d ndarray crosses the protocol as shape (1,) (``np.ascontiguousarray`` in
``protocol.dumps``), so 0-d values are read through ``_get`` (as floats) and sent as floats.
"""
import collections

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from grader.sandbox.proxy import Remote
from grader.gradients import CheckFailure, assert_close
from grader.checks.trusted_code import definition
from grader.sandbox import StudentError
from solutions import autograd as ref

ACCUMULATE = ("= instead of += in backward: a node used twice must receive the SUM of both "
              "contributions (call parent._accumulate(g), which adds, instead of parent.grad = g)")
UPSTREAM = "forgot to multiply by the upstream gradient out.grad (chain rule)"
RECURSION = ("recursive topological sort hit the recursion limit: Python allows about 1000 nested calls, "
             "so topological_order() (and backward()) must use an explicit stack (a list you push and pop), "
             "not a function that calls itself")
ZERO_GRAD = ("the gradients of the previous step were not cleared: call p.zero_grad() on every parameter "
             "before backward() (backward accumulates into the leaves)")

_FETCH = "lambda t, name: (lambda v: float(v) if isinstance(v, np.ndarray) and v.ndim == 0 else v)(getattr(t, name))"


def _helper(student, name: str, source: str | None = None):
    """A trusted helper evaluated once per worker (handles die with their worker); no source: the
    student's Tensor class."""
    return student.cached(name, lambda: student.source(source) if source else student.autograd.Tensor.get())


def _wire(v):
    """An array as sent to the worker: 0-d arrays as floats (they would arrive with shape (1,))."""
    return float(v) if np.ndim(v) == 0 else v


def _get(student, tensor, name: str):
    """``tensor.<name>`` with its true shape (0-d arrays as floats)."""
    return _helper(student, "fetch", _FETCH)(tensor, name)


def _data(student, tensor):
    return _get(student, tensor, "data")


def _grad(student, tensor, name: str, after: str):
    g = _get(student, tensor, "grad")
    if g is None:
        raise CheckFailure(f"{name}.grad is None after {after}: no gradient reached {name}. Each op must "
                           f"assign its closure (out._backward = _backward), the closure must call "
                           f"{name}._accumulate(...), and backward() must run the closures in REVERSED "
                           f"topological order (root first, so each out.grad is complete when its closure runs)")
    return g


def _tensor(value, what: str):
    if not isinstance(value, Remote) or value.type_name != "Tensor":
        kind = value.type_name if isinstance(value, Remote) else type(value).__name__
        raise CheckFailure(f"{what} returned a {kind}, expected a Tensor (a node of the graph, so that "
                           f"backward() can reach its inputs)")
    return value


def _check_grad(got, want, name: str, what: str, out_shape=None, mistakes=None, inputs=None, rtol=1e-7):
    want = np.asarray(want, dtype=np.float64)
    shape = tuple(np.shape(got)) if isinstance(got, (np.ndarray, float, int)) else None
    if out_shape is not None and shape is not None and shape != want.shape and shape == tuple(out_shape):
        raise CheckFailure(f"{what}: {name}.grad has shape {shape}, the shape of the op's output, but "
                           f"{name} has shape {want.shape}. Likely: missing unbroadcast: sum the gradient over "
                           f"the axes broadcasting added or stretched, unbroadcast(grad, {name}.shape)")
    assert_close(got, want, f"{what}: {name}.grad", inputs=inputs, rtol=rtol, atol=1e-10, mistakes=mistakes)


def _call(t, name, *args, **kwargs):
    """t.name(*args) on a handle (one round trip) or on a reference Tensor."""
    if isinstance(t, Remote):
        return t.call_method(name, *args, **kwargs)
    return getattr(t, name)(*args, **kwargs)


def _away_from_zero(x: np.ndarray, eps: float = 0.05) -> np.ndarray:
    return np.where(np.abs(x) < eps, np.where(x < 0, -eps, eps), x)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# ---------------------------------------------------------------------------------------------
# Each op against the reference (seeded inputs, broadcasting)
# ---------------------------------------------------------------------------------------------

BINARY = [  # (text, fn, primitive?) primitives are checked alone with backward_local
    ("x + y", lambda x, y: x + y, True),
    ("x * y", lambda x, y: x * y, True),
    ("x - y", lambda x, y: x - y, False),
    ("x / y", lambda x, y: x / y, False),
]
SHAPES = [((3, 1), (1, 4)), ((3, 4), (4,)), ((), (3, 4)), ((5, 4), (5, 4))]


@pytest.mark.points(1.5)
def test_binary_ops_broadcasting(student, seed):
    """+, *, -, / against the reference on seeded inputs of shapes (3,1) & (1,4), (3,4) & (4,), () & (3,4): each input's gradient has its own shape."""
    rng = np.random.default_rng(seed)
    T = student.autograd.Tensor
    for sx, sy in SHAPES:
        for text, fn, primitive in BINARY:
            a = rng.normal(size=sx)
            b = rng.normal(size=sy)
            if text == "x / y":
                b = _away_from_zero(b, 0.5)
            rx, ry = ref.Tensor(a, requires_grad=True), ref.Tensor(b, requires_grad=True)
            rout = fn(rx, ry)
            g = rng.normal(size=rout.shape)
            how = "out.backward_local(g)" if primitive else "out.backward(g)"
            what = f"out = {text} with x {sx}, y {sy}, {how} with a random g of shape {rout.shape}"
            x, y = T(_wire(a), requires_grad=True), T(_wire(b), requires_grad=True)
            out = _tensor(fn(x, y), text)
            assert_close(_data(student, out), rout.data, f"{what}: out.data")
            out.call_method("backward_local" if primitive else "backward", _wire(g))
            (rout.backward_local if primitive else rout.backward)(g)
            mx, my = {}, {}
            if text == "x * y":
                mx = {"d(x*y)/dx = y: you used x": ref.unbroadcast(g * np.broadcast_to(a, g.shape), sx)
                      if sx == sy else None,
                      UPSTREAM: ref.unbroadcast(np.broadcast_to(b, g.shape), sx)}
                my = {UPSTREAM: ref.unbroadcast(np.broadcast_to(a, g.shape), sy)}
            elif text == "x + y":
                mx = {UPSTREAM: np.ones(sx) * np.prod(g.shape) / max(1, np.prod(sx))}
            elif text == "x - y":
                my = {"the sign is flipped: d(x - y)/dy = -1": -ry.grad}
            mx = {k: v for k, v in mx.items() if v is not None}
            _check_grad(_grad(student, x, "x", what), rx.grad, "x", what, out_shape=rout.shape, mistakes=mx)
            _check_grad(_grad(student, y, "y", what), ry.grad, "y", what, out_shape=rout.shape, mistakes=my)
    # numbers and arrays on either side (reflected operators)
    a = rng.normal(size=(3, 4))
    c = rng.normal(size=(4,))
    cases = [("2.5 - x", lambda x: 2.5 - x), ("1.5 / x", lambda x: 1.5 / x), ("3.0 * x", lambda x: 3.0 * x),
             ("c + x (c an ndarray (4,))", lambda x: _call(x, "__radd__", c)),
             ("c - x (c an ndarray (4,))", lambda x: _call(x, "__rsub__", c)),
             ("-x", lambda x: -x), ("x.mean(axis=0)", lambda x: _call(x, "mean", axis=0))]
    for text, fn in cases:
        rx = ref.Tensor(_away_from_zero(a, 0.5), requires_grad=True)
        rout = fn(rx)
        g = rng.normal(size=rout.shape)
        rout.backward(g)
        what = f"out = {text} with x (3, 4), out.backward(g) with a random g of shape {rout.shape}"
        x = T(rx.data, requires_grad=True)
        out = _tensor(fn(x), text)
        assert_close(_data(student, out), rout.data, f"{what}: out.data")
        out.call_method("backward", g)
        _check_grad(_grad(student, x, "x", what), rx.grad, "x", what, out_shape=rout.shape)


@pytest.mark.points(1)
def test_matmul_shapes(student, seed):
    """x @ y against the reference for (5,4) @ (4,3), (5,4) @ (4,), (4,) @ (4,3), (4,) @ (4,) and ndarray @ x: dA = G B^T, dB = A^T G."""
    rng = np.random.default_rng(seed + 1)
    T = student.autograd.Tensor
    for sa, sb in [((5, 4), (4, 3)), ((5, 4), (4,)), ((4,), (4, 3)), ((4,), (4,))]:
        a, b = rng.normal(size=sa), rng.normal(size=sb)
        ra, rb = ref.Tensor(a, requires_grad=True), ref.Tensor(b, requires_grad=True)
        rout = ra @ rb
        g = rng.normal(size=rout.shape)
        rout.backward_local(g)
        what = f"out = A @ B with A {sa}, B {sb}, out.backward_local(g) with a random g of shape {rout.shape}"
        A, B = T(a, requires_grad=True), T(b, requires_grad=True)
        out = _tensor(A @ B, "A @ B")
        assert_close(_data(student, out), rout.data, f"{what}: out.data")
        out.call_method("backward_local", _wire(g))
        _check_grad(_grad(student, A, "A", what), ra.grad, "A", what)
        _check_grad(_grad(student, B, "B", what), rb.grad, "B", what)
    # a constant ndarray on the left (the worker calls x.__rmatmul__) and on the right
    m, w = rng.normal(size=(5, 4)), rng.normal(size=(4, 3))
    for text, fn in [("M @ x (M an ndarray (5, 4), x (4, 3))", lambda x: _call(x, "__rmatmul__", m)),
                     ("x.T @ M.T (x (4, 3), M (5, 4) an ndarray): a Linear layer's X @ W.T",
                      lambda x: x.T @ m.T)]:
        rx = ref.Tensor(w, requires_grad=True)
        rout = fn(rx)
        g = rng.normal(size=rout.shape)
        rout.backward(g)
        what = f"out = {text}, out.backward(g) with a random g of shape {rout.shape}"
        x = T(w, requires_grad=True)
        out = _tensor(fn(x), text)
        assert_close(_data(student, out), rout.data, f"{what}: out.data")
        out.call_method("backward", g)
        _check_grad(_grad(student, x, "x", what), rx.grad, "x", what)


@pytest.mark.points(1)
def test_unary_ops_and_sum(student, seed):
    """exp, log, sigmoid, tanh, relu, x ** p (p = 3, -2, 0.5) and sum over axes against the reference on seeded (3, 4) and (2, 3, 4) inputs."""
    rng = np.random.default_rng(seed + 2)
    T = student.autograd.Tensor
    cases = [("exp", ()), ("log", ()), ("sigmoid", ()), ("tanh", ()), ("relu", ()),
             ("__pow__", (3,)), ("__pow__", (-2,)), ("__pow__", (0.5,))]
    for name, args in cases:
        a = _away_from_zero(rng.normal(size=(3, 4)) * 2.0, 0.05)
        if name == "log" or args == (0.5,):
            a = np.abs(a) + 0.1
        if name == "sigmoid":
            a[0, :2] = [30.0, -30.0]
        rx = ref.Tensor(a, requires_grad=True)
        rout = getattr(rx, name)(*args)
        g = rng.normal(size=rout.shape)
        rout.backward_local(g)
        text = f"x ** {args[0]}" if name == "__pow__" else f"x.{name}()"
        what = f"out = {text} with x (3, 4), out.backward_local(g) with a random g of shape (3, 4)"
        x = T(a, requires_grad=True)
        out = _tensor(x.call_method(name, *args), text)
        assert_close(_data(student, out), rout.data, f"{what}: out.data")
        out.call_method("backward_local", g)
        o = rout.data
        mistakes = {UPSTREAM: rx.grad / g}
        if name == "exp":
            mistakes["d exp(x)/dx = exp(x) (the output): you used x"] = g * a
        elif name == "log":
            mistakes["d ln(x)/dx = 1/x: you multiplied by x instead of dividing"] = g * a
            mistakes["d ln(x)/dx = 1/x: you used ln(x)"] = g * np.log(a)
        elif name == "sigmoid":
            mistakes["sigmoid'(x) = s(1 - s) with s = sigmoid(x), the OUTPUT: you used x(1 - x)"] = g * a * (1 - a)
            mistakes["sigmoid'(x) = s(1 - s): the factor (1 - s) is missing"] = g * o
        elif name == "tanh":
            mistakes["tanh'(x) = 1 - tanh(x)**2, with the OUTPUT tanh(x): you used 1 - x**2"] = g * (1 - a**2)
            mistakes["tanh'(x) = 1 - tanh(x)**2: the square is missing"] = g * (1 - o)
        elif name == "relu":
            mistakes["relu'(x) is the 0/1 mask 1[x > 0]: you multiplied by relu(x)"] = g * o
        else:
            p = args[0]
            mistakes["d(x**p)/dx = p * x**(p - 1): the exponent drops by one (you used p * x**p)"] = g * p * a**p
            mistakes["d(x**p)/dx = p * x**(p - 1): the factor p is missing"] = g * a ** (p - 1)
        _check_grad(_grad(student, x, "x", what), rx.grad, "x", what, mistakes=mistakes)

    a = rng.normal(size=(2, 3, 4))
    for kwargs in [{}, {"axis": 1}, {"axis": (0, 2), "keepdims": True}, {"axis": -1}, {"axis": 0, "keepdims": True}]:
        rx = ref.Tensor(a, requires_grad=True)
        rout = rx.sum(**kwargs)
        g = rng.normal(size=rout.shape)
        rout.backward_local(g)
        args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        what = (f"out = x.sum({args}) with x (2, 3, 4), out.backward_local(g) with a random g of shape "
                f"{rout.shape}")
        x = T(a, requires_grad=True)
        out = _tensor(x.call_method("sum", **kwargs), f"x.sum({args})")
        assert_close(_data(student, out), rout.data, f"{what}: out.data")
        out.call_method("backward_local", _wire(g))
        _check_grad(_grad(student, x, "x", what), rx.grad, "x", what, mistakes={
            "every summed entry receives the upstream gradient of its sum: forgot to use out.grad": np.ones(a.shape)})


# ---------------------------------------------------------------------------------------------
# Shared nodes, the backward pass, the topological order
# ---------------------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_shared_nodes_accumulate(student, seed):
    """A node used by several children receives the sum of all contributions: x * x, a diamond of muls, and backward(g) on a non-scalar output."""
    rng = np.random.default_rng(seed + 3)
    T = student.autograd.Tensor
    xv, g = rng.normal(size=(3,)), rng.normal(size=(3,))
    what = "y = x * x with x (3,), y.backward(g) with a random g of shape (3,)"
    x = T(xv, requires_grad=True)
    (x * x).call_method("backward", g)
    _check_grad(_grad(student, x, "x", what), 2 * xv * g, "x", what, mistakes={ACCUMULATE: xv * g})

    av = rng.uniform(0.5, 1.5, size=(2,))
    what = "the diamond b = a * a + a; c = b * b + b; L = c.sum() with a (2,), after L.backward()"
    ra = ref.Tensor(av, requires_grad=True)
    rb = ra * ra + ra
    rc = rb * rb + rb
    rc.sum().backward()
    a = T(av, requires_grad=True)
    b = a * a + a
    c = b * b + b
    c.call_method("sum").call_method("backward")
    _check_grad(_grad(student, a, "a", what), ra.grad, "a", what)
    _check_grad(_grad(student, b, "b", what), rb.grad, "b", what)

    what = "u = x.exp(); v = u * x + u.tanh(); L = (v * u).sum() with x (3,), after L.backward()"
    rx = ref.Tensor(xv, requires_grad=True)
    ru = rx.exp()
    ((ru * rx + ru.tanh()) * ru).sum().backward()
    x = T(xv, requires_grad=True)
    u = x.call_method("exp")
    ((u * x + u.call_method("tanh")) * u).call_method("sum").call_method("backward")
    _check_grad(_grad(student, x, "x", what), rx.grad, "x", what)


_TOPO = '''
def check(root):
    order = list(root.topological_order())
    reach, stack = {}, [root]
    while stack:
        n = stack.pop()
        if id(n) not in reach:
            reach[id(n)] = n
            stack.extend(n._parents)
    pos = {}
    for i, n in enumerate(order):
        pos.setdefault(id(n), i)
    bad = sum(1 for n in reach.values() for p in n._parents
              if id(n) in pos and id(p) in pos and pos[id(p)] > pos[id(n)])
    return {"length": len(order), "distinct": len(pos), "reachable": len(reach),
            "missing": sum(1 for k in reach if k not in pos), "extra": sum(1 for k in pos if k not in reach),
            "root_last": bool(order) and order[-1] is root, "bad_edges": bad}
'''

_CHAIN = '''
def chain(T, n):
    x = T(np.array([0.5]), requires_grad=True)
    z = x
    for _ in range(n):
        z = z * 1.001 + 0.001
    z.backward()
    return {"value": z.data, "grad": x.grad}
'''
CHAIN_STEPS = 1000  # 2000 operations in a row: a recursive sort needs > 2000 nested calls


@pytest.mark.points(1)
def test_topological_order_and_long_chain(student):
    """topological_order() lists each node once, parents first, root last; backward() works on a chain of 1000 steps (2000 ops) without a RecursionError."""
    T = student.autograd.Tensor
    a, b = T(np.array([1.5, -0.5]), requires_grad=True), T(np.array([0.5, 2.0]), requires_grad=True)
    c = a * b
    d = c + a
    e = d * c
    f = e + b
    try:
        info = _helper(student, "topo", definition(_TOPO, "check"))(f)
    except StudentError as exc:
        if exc.type == "RecursionError":
            raise CheckFailure(f"topological_order() raised RecursionError. Likely: {RECURSION}") from None
        if exc.type == "NotImplementedError":
            raise
        at = f" (at {exc.where})" if exc.where else ""
        raise CheckFailure(f"f.topological_order() raised {exc.type}: {exc.message}{at}") from None
    text = "the order of f = (a * b + a) * (a * b) + b (6 distinct nodes, c = a * b used twice)"
    if info["missing"] or info["length"] == 0:
        raise CheckFailure(f"{text}: {info['missing']} of the {info['reachable']} nodes are missing from "
                           f"f.topological_order() (it must list every node reachable through _parents)")
    if info["length"] != info["distinct"]:
        raise CheckFailure(f"{text}: the list has {info['length']} entries for {info['distinct']} distinct nodes: "
                           f"a node used twice must appear once (keep a visited set)")
    if info["extra"]:
        raise CheckFailure(f"{text}: the list holds {info['extra']} tensors that f does not depend on")
    if info["bad_edges"]:
        raise CheckFailure(f"{text}: {info['bad_edges']} nodes come before one of their parents: every node "
                           f"must come after all of its parents (append a node after its parents: post-order)")
    if not info["root_last"]:
        raise CheckFailure(f"{text}: f itself must be the last element")

    rx = ref.Tensor(np.array([0.5]), requires_grad=True)
    rz = rx
    for _ in range(CHAIN_STEPS):
        rz = rz * 1.001 + 0.001
    rz.backward()
    what = f"a chain z = z * 1.001 + 0.001 repeated {CHAIN_STEPS} times from x = [0.5], then z.backward()"
    try:
        got = _helper(student, "chain", definition(_CHAIN, "chain"))(_helper(student, "Tensor"), CHAIN_STEPS)
    except StudentError as exc:
        if exc.type == "RecursionError":
            raise CheckFailure(f"{what} raised RecursionError ({exc.where or 'in your code'}). "
                               f"Likely: {RECURSION}") from None
        if exc.type == "NotImplementedError":
            raise
        at = f" (at {exc.where})" if exc.where else ""
        raise CheckFailure(f"{what} raised {exc.type}: {exc.message}{at}") from None
    assert_close(got["value"], rz.data, f"{what}: z.data", rtol=1e-9)
    _check_grad(got["grad"], rx.grad, "x", what, rtol=1e-9)


# ---------------------------------------------------------------------------------------------
# Random expression graphs (hypothesis): the student's engine against the reference engine
# ---------------------------------------------------------------------------------------------

LEAVES = {"a": (2, 3), "b": (3,), "c": (2, 1), "M": (3, 3)}  # M is only used as x @ M
OPS = ["add", "sub", "mul", "div", "neg", "square", "exp", "log", "sigmoid", "tanh", "relu", "sum0",
       "mean", "matmul", "rsub", "rdiv", "scale"]

# The interpreter of an expression program. The SAME text runs here on the reference Tensor and in
# the worker on the student's Tensor (one round trip per graph, so hypothesis can shrink quickly).
# Operands are picked among a, b, c and all results so far (shared subexpressions); M only in x @ M;
# L sums every result that no later step uses, so every op's gradient matters.
_GRAPH = '''
def apply(op, x, y, M):
    if op == "add":
        return x + y
    if op == "sub":
        return x - y
    if op == "mul":
        return x * y
    if op == "div":
        return x / y
    if op == "div1":
        return x / (y * y + 1.0)
    if op == "neg":
        return -x
    if op == "square":
        return x ** 2
    if op == "log1":
        return (x * x + 1.0).log()
    if op == "sum0":
        return x.sum(axis=0, keepdims=True)
    if op == "matmul":
        return x @ M
    if op == "rsub":
        return 1.5 - x
    if op == "rdiv":
        return 1.0 / (x * x + 1.0)
    if op == "scale":
        return 0.5 * x
    return getattr(x, op)()  # exp, log, sigmoid, tanh, relu, mean


def run(T, leaves, steps, resolve=None):
    nodes = [T(v, requires_grad=True) for v in leaves]
    pool, done, used = [0, 1, 2], [], set()
    for op, i, j in steps:
        xi, yj = pool[i % len(pool)], pool[j % len(pool)]
        if resolve is not None:
            op = resolve(op, nodes[xi].data, nodes[yj].data)
        nodes.append(apply(op, nodes[xi], nodes[yj], nodes[3]))
        pool.append(len(nodes) - 1)
        done.append((op, xi, yj))
        used.update((xi, yj) if op in ("add", "sub", "mul", "div", "div1") else (xi,))
    sinks = [k for k in range(4, len(nodes)) if k not in used]  # L depends on every result
    root = nodes[sinks[0]].sum()
    for k in sinks[1:]:
        root = root + nodes[k].sum()
    root.backward()
    value = root.data
    return {"steps": done, "sinks": sinks, "grads": [t.grad for t in nodes[:4]],
            "value": float(value) if isinstance(value, np.ndarray) and value.ndim == 0 else value}
'''
_graph_ns: dict = {"np": np}
exec(_GRAPH, _graph_ns)

_TEXT = {"add": "{x} + {y}", "sub": "{x} - {y}", "mul": "{x} * {y}", "div": "{x} / {y}",
         "div1": "{x} / ({y} * {y} + 1)", "neg": "-{x}", "square": "{x} ** 2", "log1": "({x} * {x} + 1).log()",
         "sum0": "{x}.sum(axis=0, keepdims=True)", "matmul": "{x} @ M", "rsub": "1.5 - {x}",
         "rdiv": "1 / ({x} * {x} + 1)", "scale": "0.5 * {x}"}


def _resolve(op, x, y):
    """The concrete op to use given the reference values: keep values finite and away from kinks."""
    big = max(np.abs(x).max(initial=0.0), np.abs(y).max(initial=0.0))
    if op in ("mul", "square", "matmul") and big > 20:
        return "add"
    if op == "exp" and np.abs(x).max() > 4:
        return "tanh"
    if op == "log" and x.min() < 0.2:
        return "log1"
    if op == "div" and np.abs(y).min() < 0.5:
        return "div1"
    if op == "relu" and np.abs(x).min() < 1e-3:
        return "sigmoid"
    if op == "sum0" and x.ndim == 0:
        return "neg"
    if op == "matmul" and not (x.ndim in (1, 2) and x.shape[-1] == 3):
        return "scale"
    return op


def _run_graph(student, seed, program, values):
    """Build the program's graph with both engines, compare L and every leaf's gradient."""
    rng = np.random.default_rng(seed * 10_007 + values)
    leaves = [rng.uniform(0.2, 1.5, size=s) * rng.choice([-1.0, 1.0], size=s) for s in LEAVES.values()]
    leaves[3] = leaves[3] / 2
    want = _graph_ns["run"](ref.Tensor, leaves, program, _resolve)
    labels = list(LEAVES)
    lines = []
    for k, (op, xi, yj) in enumerate(want["steps"]):
        labels.append(f"t{k + 1}")
        lines.append(f"t{k + 1} = " + _TEXT.get(op, "{x}." + op + "()").format(x=labels[xi], y=labels[yj]))
    lines.append("L = " + " + ".join(f"{labels[k]}.sum()" for k in want["sinks"]))
    graph = f"G = [{'; '.join(lines)}] with leaves a (2, 3), b (3,), c (2, 1), M (3, 3)"
    what = "L.backward() on the expression graph G below"
    # the student's engine: the same interpreter in the worker, on the resolved steps
    steps = [(op, i, j) for (op, _, _), (_, i, j) in zip(want["steps"], program)]
    try:
        got = _helper(student, "graph", definition(_GRAPH, "run"))(_helper(student, "Tensor"), leaves, steps)
        assert_close(got["value"], want["value"], f"{what}: L.data", rtol=1e-7, atol=1e-8)
        for name, g, w, leaf in zip(labels, got["grads"], want["grads"], leaves):
            if w is None:  # a leaf L does not depend on: no gradient (None or zeros both accepted)
                if g is not None:
                    assert_close(g, np.zeros(leaf.shape), f"{what}: {name}.grad (L does not depend on {name})")
                continue
            if g is None:
                raise CheckFailure(f"{what}: {name}.grad is None, but L depends on {name}")
            _check_grad(g, w, name, what, mistakes={
                "half the expected gradient: a node used twice (x + x, x * x, a shared t) must receive the SUM "
                "of both contributions (" + ACCUMULATE + ")": w / 2,
                "twice the expected gradient: a closure ran twice; topological_order() must list a node used "
                "twice only once (keep a visited set)": 2 * w})
    except StudentError as exc:
        if exc.type == "NotImplementedError":
            raise
        at = f" (at {exc.where})" if exc.where else ""
        raise CheckFailure(f"{what} raised {exc.type}: {exc.message}{at}\n{graph}") from None
    except CheckFailure as exc:
        raise CheckFailure(f"{exc}\n{graph}") from None


# A fixed graph first (every op on a path that carries gradient, a diamond a + a, shared nodes):
# a broken op fails here at once, without hypothesis shrinking many examples.
FIXED_PROGRAM = [("add", 0, 0), ("mul", 3, 1), ("sigmoid", 4, 0), ("div", 5, 2), ("matmul", 6, 0),
                 ("tanh", 7, 0), ("exp", 8, 0), ("log", 9, 0), ("relu", 0, 0), ("square", 11, 0),
                 ("sub", 10, 12), ("sum0", 13, 0), ("mul", 14, 5), ("rdiv", 15, 0), ("rsub", 16, 0),
                 ("scale", 17, 0), ("neg", 18, 0), ("add", 19, 2), ("mean", 20, 0), ("mul", 21, 13)]


@pytest.mark.points(1.5)
def test_random_expression_graphs(student, seed):
    """Random expression graphs with shared subexpressions and broadcasting (+ - * / ** @, exp, log, sigmoid, tanh, relu, sum, mean): value and every leaf's gradient equal the reference engine's."""
    _run_graph(student, seed, FIXED_PROGRAM, 0)

    @settings(report_multiple_bugs=False)  # shrink one bug only: each example is a worker call
    @given(program=st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 12), st.integers(0, 12)),
                            min_size=1, max_size=8),
           values=st.integers(0, 10_000))
    def random_graphs(program, values):
        _run_graph(student, seed, program, values)

    random_graphs()


# ---------------------------------------------------------------------------------------------
# The loss and the network
# ---------------------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_softmax_cross_entropy_random_and_extreme(student, seed):
    """softmax_cross_entropy value and gradient against the reference on seeded (5, 3) logits, and finite at logits of +-1000."""
    rng = np.random.default_rng(seed + 4)
    labels = np.array([0, 1, 2, 1, 0])
    for kind, logits in [("seeded", rng.normal(size=(5, 3)) * 2),
                         ("extreme", rng.choice([-1000.0, 1000.0], size=(5, 3)) + rng.normal(size=(5, 3)))]:
        rz = ref.Tensor(logits, requires_grad=True)
        rl = ref.softmax_cross_entropy(rz, labels)
        rl.backward()
        what = f"softmax_cross_entropy(Z, y) with {kind} logits Z (5, 3)" + (" of +-1000" if kind == "extreme" else "")
        inputs = {"Z": logits, "y": labels}
        z = student.autograd.Tensor(logits, requires_grad=True)
        loss = _tensor(student.autograd.softmax_cross_entropy(z, labels), "softmax_cross_entropy(Z, y)")
        assert_close(_data(student, loss), rl.data, f"{what}: L.data", inputs=inputs, batch=5, mistakes={
            "summed over the N = 5 samples: the loss is the MEAN over the samples": 5 * rl.data})
        loss.call_method("backward")
        _check_grad(_grad(student, z, "Z", "L.backward()"), rz.grad, "Z", f"{what}, after L.backward()",
                    inputs=inputs, mistakes={"summed over the N = 5 samples: the loss is the MEAN over the samples":
                                             5 * rz.grad})


def _init(sizes, rng):
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params += [rng.normal(size=(fan_out, fan_in)) / np.sqrt(fan_in), rng.normal(size=(fan_out,)) * 0.3]
    return params


def _ref_step(params, X, y, lr, activation):
    ps = [ref.Tensor(p, requires_grad=True) for p in params]
    loss = ref.train_step(ps, X, y, lr, activation)
    return loss, [p.data.copy() for p in ps], [p.grad.copy() for p in ps]


def _np_forward(params, X, activation, last_too=False):
    act = {"sigmoid": _sigmoid, "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0)}[activation]
    a, zs = X, []
    for k in range(0, len(params), 2):
        z = a @ params[k].T + params[k + 1]
        zs.append(z)
        a = act(z) if (k < len(params) - 2 or last_too) else z
    return a, zs


@pytest.mark.points(1)
def test_mlp_forward_and_train_step(student, seed):
    """mlp_forward logits and two train_step calls (sigmoid 4-6-3, tanh 4-6-7-3, relu 4-6-3; N = 5) against the reference: loss, updated weights and gradients."""
    lr = 0.3
    names = ["W1", "b1", "W2", "b2", "W3", "b3"]
    for k, (activation, sizes) in enumerate([("sigmoid", (4, 6, 3)), ("tanh", (4, 6, 7, 3)), ("relu", (4, 6, 3))]):
        for attempt in range(50):  # inputs away from the ReLU kink in both steps
            rng = np.random.default_rng(seed + 10 * k + 1000 * attempt)
            X, y = rng.normal(size=(5, 4)), np.array([0, 1, 2, 0, 1])
            params = _init(sizes, rng)
            loss1, p1, g1 = _ref_step(params, X, y, lr, activation)
            loss2, p2, g2 = _ref_step(p1, X, y, lr, activation)
            hidden = _np_forward(params, X, activation)[1][:-1] + _np_forward(p1, X, activation)[1][:-1]
            if min(np.abs(z).min() for z in hidden) > 1e-3:
                break
        arch = "-".join(map(str, sizes))
        inputs = {"X": X, "y": y}
        T = student.autograd.Tensor
        ps = [T(p, requires_grad=True) for p in params]
        what = f"mlp_forward(X, params, {activation!r}) for a {arch} network"
        logits = _tensor(student.autograd.mlp_forward(X, ps, activation), "mlp_forward")
        want, _ = _np_forward(params, X, activation)
        assert_close(_data(student, logits), want, f"{what}: logits.data", inputs=inputs, rtol=1e-7, mistakes={
            "the output layer has no activation: mlp_forward returns the logits Z_L":
                _np_forward(params, X, activation, last_too=True)[0]})
        for step, (loss, pw, gw, prev) in enumerate([(loss1, p1, g1, None), (loss2, p2, g2, g1)], start=1):
            what = f"train_step(params, X, y, lr={lr}, {activation!r}) call {step} for a {arch} network"
            got = student.autograd.train_step(ps, X, y, lr, activation)
            assert_close(got, loss, f"{what}: the returned loss", inputs=inputs, rtol=1e-7)
            for name, p, want_p, want_g, i in zip(names, ps, pw, gw, range(len(ps))):
                gm = {ZERO_GRAD: want_g + prev[i]} if prev is not None else {}
                _check_grad(_grad(student, p, name, what), want_g, name, what, inputs=inputs, mistakes=gm)
                dm = {ZERO_GRAD: p1[i] - lr * (want_g + prev[i])} if prev is not None else {}
                before = (p1 if prev is not None else params)[i]
                dm["the step went uphill: theta <- theta - lr * grad"] = before + lr * want_g
                assert_close(_data(student, p), want_p, f"{what}: {name}.data after the step", inputs=inputs,
                             rtol=1e-7, mistakes=dm)


@pytest.mark.points(0.5)
def test_graph_nodes_and_edges(student):
    """graph(L) of L = (a * a + 2 * a).tanh().sum(): one node per op and leaf with its op name, one edge per input (a * a gives two)."""
    av = np.array([0.5, -1.0, 2.0])
    ra = ref.Tensor(av, requires_grad=True)
    want_nodes, want_edges = ref.graph((ra * ra + 2 * ra).tanh().sum())
    a = student.autograd.Tensor(av, requires_grad=True)
    root = (a * a + 2 * a).call_method("tanh").call_method("sum")
    got = student.autograd.graph(root)
    what = "graph(L) for L = (a * a + 2 * a).tanh().sum()"
    if not (isinstance(got, tuple) and len(got) == 2):
        raise CheckFailure(f"{what} returned a {type(got).__name__}, expected the pair (nodes, edges)")
    nodes, edges = got

    def ops(ns):
        return collections.Counter(n.get("op") for n in ns)

    def pairs(ns, es):
        op = {n.get("id"): n.get("op") for n in ns}
        return collections.Counter((op.get(p), op.get(c)) for p, c in es)

    if len(nodes) != len(want_nodes) or ops(nodes) != ops(want_nodes):
        raise CheckFailure(f"{what}: {len(nodes)} nodes with ops {dict(sorted(ops(nodes).items()))}, expected "
                           f"{len(want_nodes)} with ops {dict(sorted(ops(want_nodes).items()))}: each op creates ONE "
                           f"node with Tensor._from_op(value, parents, '<op name>') (names as in graph's docstring)")
    if len(edges) != len(want_edges) or pairs(nodes, edges) != pairs(want_nodes, want_edges):
        raise CheckFailure(f"{what}: {len(edges)} edges, expected {len(want_edges)} (one per input of each op, in "
                           f"argument order: a * a gives two edges a -> mul): store every input in _parents")


@pytest.mark.points(0.5)
def test_inputs_left_unmodified(student):
    """No call above changed its array arguments in place (seen inside your worker, so worth little)."""
    student.assert_inputs_unmodified()

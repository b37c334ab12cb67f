"""Hidden checks of Task 4 (autograd.py): every op against the reference on seeded inputs with
broadcasting, shared nodes, a long chain, random expression graphs (hypothesis) evaluated with the
student's Tensor and with the reference, the loss, and one-step training oracles.

The student's Tensor lives in the worker; handles forward operators and methods there. Long
graphs are built in the worker by trusted code (``student.source``) to save round trips.
"""

import collections
import functools
import inspect
import re
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.checks.support_autograd import (
    ACCUMULATE,
    FORWARD_ORDER,
    GRADS_ERASED,
    LOSS_AFTER_STEP,
    NODE_TWICE,
    OUTPUT_ACTIVATION,
    RECURSION,
    SUM_NOT_REINSERTED,
    UPHILL,
    UPSTREAM,
    ZERO_GRAD,
    check_grad,
    consistent,
    distinct,
    grad,
    loss_summed,
    lse_shift_mistakes,
    matmul_mistakes,
    mul_mistakes,
    no_gradient,
    sum_mistakes,
    sum_to,
    tensor,
    unary_mistakes,
    unbroadcast_named,
)
from grader.checks.trusted_code import definition, local_object
from grader.gradients import CheckFailure, Mistake, assert_close, assert_true
from grader.sandbox import StudentError
from solutions import autograd as ref


def _helper(student, name: str, source: str | None = None):
    """A trusted helper evaluated once per worker (handles die with their worker); no source: the
    student's Tensor class."""
    return student.cached(name, lambda: student.source(source) if source else student.autograd.Tensor.get())


# ---------------------------------------------------------------------------------------------
# The reference engine with one mistake planted: the wrong answers of whole graphs (computed here,
# on the check's own inputs, so that a mistake is named only when the received values equal them)
# ---------------------------------------------------------------------------------------------

_ENGINE_PATCHES = {  # variant: (the mistake it names, [(reference text, planted text)])
    "assign_add": (
        ACCUMULATE,
        [
            (
                "            self._accumulate(unbroadcast(out.grad, self.shape))\n"
                "            other._accumulate(unbroadcast(out.grad, other.shape))",
                "            self.grad = unbroadcast(out.grad, self.shape)\n"
                "            other.grad = unbroadcast(out.grad, other.shape)",
            )
        ],
    ),
    "assign_mul": (
        ACCUMULATE,
        [
            (
                "            self._accumulate(unbroadcast(out.grad * other.data, self.shape))\n"
                "            other._accumulate(unbroadcast(out.grad * self.data, other.shape))",
                "            self.grad = unbroadcast(out.grad * other.data, self.shape)\n"
                "            other.grad = unbroadcast(out.grad * self.data, other.shape)",
            )
        ],
    ),
    "assign_all": (
        ACCUMULATE,
        [
            (
                "        if self.grad is None:\n            self.grad = np.array(g, dtype=np.float64, copy=True)\n"
                "        else:\n            self.grad += g",
                "        self.grad = np.array(g, dtype=np.float64, copy=True)",
            )
        ],
    ),
    "twice_pushed": (NODE_TWICE, [("            if id(node) in visited:\n                continue\n", "")]),
    "no_visited_set": (
        NODE_TWICE,
        [
            ("            if id(node) in visited:\n                continue\n", ""),
            (
                "                if id(parent) not in visited:\n                    stack.append((parent, False))",
                "                stack.append((parent, False))",
            ),
        ],
    ),
    "forward_order": (FORWARD_ORDER, [("        for node in reversed(order):", "        for node in order:")]),
}


@functools.cache
def _engine(variant: str):
    """The reference module with ``variant``'s mistake planted (None if its text is not found)."""
    text = inspect.getsource(ref)
    for find, planted in _ENGINE_PATCHES[variant][1]:
        if text.count(find) != 1:
            return None
        text = text.replace(find, planted)
    module = types.ModuleType(f"autograd_with_{variant}")
    exec(compile(text, f"<autograd with {variant}>", "exec"), module.__dict__)
    return module


def _engine_outcomes(run) -> dict:
    """{mistake: run(variant Tensor class)} for each planted engine mistake that runs to the end
    (the first variant of a mistake whose run succeeds)."""
    found = {}
    for variant, (mistake, _) in _ENGINE_PATCHES.items():
        module = _engine(variant)
        if module is None or mistake in found:
            continue
        try:
            with np.errstate(all="ignore"):
                found[mistake] = run(module.Tensor)
        except Exception:  # this mistake makes the engine fail here: nothing to compare with
            continue
    return found


def _named(observed: dict, outcomes: dict, key) -> dict:
    """{mistake: its value of ``key``} for the planted mistakes whose outcome equals ALL observed values."""
    rows = {m: {k: row.get(k) for k in observed} for m, row in outcomes.items()}
    return {m: rows[m][key] for m in consistent(observed, rows) if rows[m][key] is not None}


def _shape(text: str) -> tuple:
    return tuple(int(n) for n in text.replace(" ", "").split(",") if n)


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


@pytest.mark.points(1)
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
            x, y = T(a, requires_grad=True), T(b, requires_grad=True)
            out = tensor(fn(x, y), text)
            assert_close(out.data, rout.data, f"{what}: out.data")
            with unbroadcast_named(f"{what}: {how}"):
                out.backward_local(g) if primitive else out.backward(g)
            rout.backward_local(g) if primitive else rout.backward(g)
            mx, my, fx, fy = {}, {}, None, None
            if text == "x * y":
                mx, my = mul_mistakes(a, b, g, "x"), mul_mistakes(a, b, g, "y")
                fx, fy = g * np.broadcast_to(b, g.shape), g * np.broadcast_to(a, g.shape)
            elif text == "x + y":
                mx, my = {UPSTREAM: sum_to(np.ones(g.shape), sx)}, {UPSTREAM: sum_to(np.ones(g.shape), sy)}
                fx = fy = g
            elif text == "x - y":
                my = {Mistake("sub_sign_flipped", "the sign is flipped: d(x - y)/dy = -1"): -ry.grad}
            elif text == "x / y":  # derived as x * y ** -1: the power rule's factor p = -1 gives the sign
                my = {
                    Mistake(
                        "div_grad_sign_flipped",
                        "d(x/y)/dy = -x/y**2 has the wrong sign: x / y is x * y**-1, "
                        "and d(y**p)/dy = p * y**(p - 1) needs its factor p = -1",
                    ): -ry.grad
                }
            check_grad(grad(x, "x", what), rx.grad, "x", what, out_shape=rout.shape, full=fx, mistakes=mx)
            check_grad(grad(y, "y", what), ry.grad, "y", what, out_shape=rout.shape, full=fy, mistakes=my)
    # numbers and arrays on either side (reflected operators)
    a = rng.normal(size=(3, 4))
    c = rng.normal(size=(4,))
    rsub = Mistake(
        "rsub_sign_flipped",
        "c - x computed as x - c: the reflected subtraction has its sign flipped "
        "(__rsub__(self, other) is other - self)",
    )
    cases = [
        ("2.5 - x", lambda x: 2.5 - x, rsub),
        ("1.5 / x", lambda x: 1.5 / x, None),
        ("3.0 * x", lambda x: 3.0 * x, None),
        ("c + x (c an ndarray (4,))", lambda x: c + x, None),
        ("c - x (c an ndarray (4,))", lambda x: c - x, rsub),
        ("-x", lambda x: -x, None),
        ("x.mean(axis=0)", lambda x: x.mean(axis=0), None),
    ]
    for text, fn, flipped in cases:
        rx = ref.Tensor(_away_from_zero(a, 0.5), requires_grad=True)
        rout = fn(rx)
        g = rng.normal(size=rout.shape)
        rout.backward(g)
        what = f"out = {text} with x (3, 4), out.backward(g) with a random g of shape {rout.shape}"
        x = T(rx.data, requires_grad=True)
        out = tensor(fn(x), text)
        # a flipped reflected subtraction gives -out: named only when out.data shows it too
        assert_close(out.data, rout.data, f"{what}: out.data", mistakes={flipped: -rout.data} if flipped else None)
        out.backward(g)
        check_grad(grad(x, "x", what), rx.grad, "x", what, out_shape=rout.shape)


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
        out = tensor(A @ B, "A @ B")
        assert_close(out.data, rout.data, f"{what}: out.data")
        out.backward_local(g)
        check_grad(grad(A, "A", what), ra.grad, "A", what, mistakes=matmul_mistakes(a, b, g, "A"))
        check_grad(grad(B, "B", what), rb.grad, "B", what, mistakes=matmul_mistakes(a, b, g, "B"))
    # a constant ndarray on the left (the worker calls x.__rmatmul__) and on the right
    m, w = rng.normal(size=(5, 4)), rng.normal(size=(4, 3))
    for text, fn in [
        ("M @ x (M an ndarray (5, 4), x (4, 3))", lambda x: m @ x),
        ("x.T @ M.T (x (4, 3), M (5, 4) an ndarray): a Linear layer's X @ W.T", lambda x: x.T @ m.T),
    ]:
        rx = ref.Tensor(w, requires_grad=True)
        rout = fn(rx)
        g = rng.normal(size=rout.shape)
        rout.backward(g)
        what = f"out = {text}, out.backward(g) with a random g of shape {rout.shape}"
        x = T(w, requires_grad=True)
        out = tensor(fn(x), text)
        assert_close(out.data, rout.data, f"{what}: out.data")
        out.backward(g)
        check_grad(grad(x, "x", what), rx.grad, "x", what)


@pytest.mark.points(1)
def test_unary_ops_and_sum(student, seed):
    """exp, log, sigmoid, tanh, relu, x ** p (p = 3, -2, 0.5) and sum over axes against the reference on seeded (3, 4) and (2, 3, 4) inputs."""
    rng = np.random.default_rng(seed + 2)
    T = student.autograd.Tensor
    cases = [
        ("exp", ()),
        ("log", ()),
        ("sigmoid", ()),
        ("tanh", ()),
        ("relu", ()),
        ("__pow__", (3,)),
        ("__pow__", (-2,)),
        ("__pow__", (0.5,)),
    ]
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
        out = tensor(x ** args[0] if name == "__pow__" else getattr(x, name)(), text)
        assert_close(out.data, rout.data, f"{what}: out.data")
        out.backward_local(g)
        op, p = ("pow", args[0]) if name == "__pow__" else (name, None)
        check_grad(grad(x, "x", what), rx.grad, "x", what, mistakes=unary_mistakes(op, a, rout.data, g, p))

    a = rng.normal(size=(2, 3, 4))
    square = rng.normal(size=(3, 3))  # equal sizes: an out.grad not re-expanded broadcasts silently
    for xv, kwargs in [
        (a, {}),
        (a, {"axis": 1}),
        (a, {"axis": (0, 2), "keepdims": True}),
        (a, {"axis": -1}),
        (a, {"axis": 0, "keepdims": True}),
        (square, {"axis": 1}),
    ]:
        rx = ref.Tensor(xv, requires_grad=True)
        rout = rx.sum(**kwargs)
        g = rng.normal(size=rout.shape)
        rout.backward_local(g)
        args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        what = f"out = x.sum({args}) with x {xv.shape}, out.backward_local(g) with a random g of shape {rout.shape}"
        x = T(xv, requires_grad=True)
        out = tensor(x.sum(**kwargs), f"x.sum({args})")
        assert_close(out.data, rout.data, f"{what}: out.data")
        try:
            out.backward_local(g)
        except StudentError as exc:  # numpy's own words prove out.grad was broadcast to x's shape as it is
            shapes = re.search(r"\(([\d, ]*)\)\s+and requested shape \(([\d, ]*)\)", exc.message)
            if exc.type != "ValueError" or not shapes or [_shape(t) for t in shapes.groups()] != [g.shape, xv.shape]:
                raise
            at = f" (at {exc.where})" if exc.where else ""
            raise CheckFailure(
                f"{what} raised {exc.type}: {exc.message}{at}. Likely: {SUM_NOT_REINSERTED}",
                diagnosis=SUM_NOT_REINSERTED,
            ) from None
        axes = tuple(range(xv.ndim)) if "axis" not in kwargs else tuple(sorted(np.atleast_1d(kwargs["axis"]) % xv.ndim))
        check_grad(
            grad(x, "x", what), rx.grad, "x", what, mistakes=sum_mistakes(xv, g, axes, kwargs.get("keepdims", False))
        )


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
    (x * x).backward(g)
    check_grad(grad(x, "x", what), 2 * xv * g, "x", what, mistakes={ACCUMULATE: xv * g})

    av = rng.uniform(0.5, 1.5, size=(2,))
    what = "the diamond b = a * a + a; c = b * b + b; L = c.sum() with a (2,), after L.backward()"

    def diamond(Tensor):
        a = Tensor(av, requires_grad=True)
        b = a * a + a
        c = b * b + b
        c.sum().backward()
        return {"a": a.grad, "b": b.grad}

    want = diamond(ref.Tensor)
    a = T(av, requires_grad=True)
    b = a * a + a
    c = b * b + b
    c.sum().backward()
    seen = {"a": a.grad, "b": b.grad}
    outcomes = functools.cache(lambda: _engine_outcomes(diamond))
    for name in ("a", "b"):
        if seen[name] is None:
            raise no_gradient(name, "L.backward()")
        check_grad(seen[name], want[name], name, what, mistakes=lambda: _named(seen, outcomes(), name))

    what = "u = x.exp(); v = u * x + u.tanh(); L = (v * u).sum() with x (3,), after L.backward()"
    rx = ref.Tensor(xv, requires_grad=True)
    ru = rx.exp()
    ((ru * rx + ru.tanh()) * ru).sum().backward()
    x = T(xv, requires_grad=True)
    u = x.exp()
    ((u * x + u.tanh()) * u).sum().backward()
    check_grad(grad(x, "x", what), rx.grad, "x", what)


_TOPO = """
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
"""

_CHAIN = """
def chain(T, n):
    x = T(np.array([0.5]), requires_grad=True)
    z = x
    for _ in range(n):
        z = z * 1.001 + 0.001
    z.backward()
    return {"value": z.data, "grad": x.grad}
"""
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
        if exc.type == "RecursionError":  # 6 nodes are far from the limit: the recursion does not end
            raise CheckFailure(
                "f.topological_order() raised RecursionError on a graph of only 6 nodes, so its "
                "recursion never ends: it must stop at nodes already visited and at leaves "
                "(and be iterative, for long graphs)"
            ) from None
        if exc.type == "NotImplementedError":
            raise
        at = f" (at {exc.where})" if exc.where else ""
        raise CheckFailure(f"f.topological_order() raised {exc.type}: {exc.message}{at}") from None
    text = "the order of f = (a * b + a) * (a * b) + b (6 distinct nodes, c = a * b used twice)"
    if info["missing"] or info["length"] == 0:
        raise CheckFailure(
            f"{text}: {info['missing']} of the {info['reachable']} nodes are missing from "
            f"f.topological_order() (it must list every node reachable through _parents)"
        )
    if info["length"] != info["distinct"]:
        raise CheckFailure(
            f"{text}: the list has {info['length']} entries for {info['distinct']} distinct nodes: "
            f"a node used twice must appear once (keep a visited set)"
        )
    if info["extra"]:
        raise CheckFailure(f"{text}: the list holds {info['extra']} tensors that f does not depend on")
    if info["bad_edges"]:
        raise CheckFailure(
            f"{text}: {info['bad_edges']} nodes come before one of their parents: every node "
            f"must come after all of its parents (append a node after its parents: post-order)"
        )
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
        if exc.type == "RecursionError":  # the 6-node graph above worked: the depth is what failed
            raise CheckFailure(
                f"{what} raised RecursionError ({exc.where or 'in your code'}). Likely: {RECURSION}",
                diagnosis=RECURSION,
            ) from None
        if exc.type == "NotImplementedError":
            raise
        at = f" (at {exc.where})" if exc.where else ""
        raise CheckFailure(f"{what} raised {exc.type}: {exc.message}{at}") from None
    assert_close(got["value"], rz.data, f"{what}: z.data", rtol=1e-9)
    check_grad(got["grad"], rx.grad, "x", what, rtol=1e-9)


# ---------------------------------------------------------------------------------------------
# Random expression graphs (hypothesis): the student's engine against the reference engine
# ---------------------------------------------------------------------------------------------

LEAVES = {"a": (2, 3), "b": (3,), "c": (2, 1), "M": (3, 3)}  # M is only used as x @ M
OPS = [
    "add",
    "sub",
    "mul",
    "div",
    "neg",
    "square",
    "exp",
    "log",
    "sigmoid",
    "tanh",
    "relu",
    "sum0",
    "mean",
    "matmul",
    "rsub",
    "rdiv",
    "scale",
]

# The interpreter of an expression program. The SAME text runs here on the reference Tensor and in
# the worker on the student's Tensor (one round trip per graph, so hypothesis can shrink quickly).
# Operands are picked among a, b, c and all results so far (shared subexpressions); M only in x @ M;
# L sums every result that no later step uses, so every op's gradient matters.
_GRAPH = """
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
"""
_graph_ns: dict = {"np": np}
exec(_GRAPH, _graph_ns)

_TEXT = {
    "add": "{x} + {y}",
    "sub": "{x} - {y}",
    "mul": "{x} * {y}",
    "div": "{x} / {y}",
    "div1": "{x} / ({y} * {y} + 1)",
    "neg": "-{x}",
    "square": "{x} ** 2",
    "log1": "({x} * {x} + 1).log()",
    "sum0": "{x}.sum(axis=0, keepdims=True)",
    "matmul": "{x} @ M",
    "rsub": "1.5 - {x}",
    "rdiv": "1 / ({x} * {x} + 1)",
    "scale": "0.5 * {x}",
}


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
        seen = {"L": got["value"], **{name: g for name, g in zip(labels, got["grads"])}}

        def run_with(Tensor):  # the same graph on the reference engine with a mistake planted
            res = _graph_ns["run"](Tensor, leaves, steps)
            return {"L": res["value"], **{name: g for name, g in zip(labels, res["grads"])}}

        outcomes = functools.cache(lambda: _engine_outcomes(run_with))
        assert_close(got["value"], want["value"], f"{what}: L.data", rtol=1e-7, atol=1e-8)
        for name, g, w, leaf in zip(labels, got["grads"], want["grads"], leaves):
            if w is None:  # a leaf L does not depend on: no gradient (None or zeros both accepted)
                if g is not None:
                    assert_close(g, np.zeros(leaf.shape), f"{what}: {name}.grad (L does not depend on {name})")
                continue
            if g is None:  # named only when a planted mistake leaves the same leaves without gradient
                rows = {m: {k: row.get(k) for k in seen} for m, row in outcomes().items()}
                found = [m for m in consistent(seen, rows) if rows[m][name] is None]
                raise CheckFailure(
                    f"{what}: {name}.grad is None, but L depends on {name}"
                    + (f". Likely: {found[0]}" if found else ""),
                    diagnosis=found[0] if found else None,
                )
            check_grad(g, w, name, what, mistakes=lambda: _named(seen, outcomes(), name))
    except StudentError as exc:
        if exc.type == "NotImplementedError":
            raise
        at = f" (at {exc.where})" if exc.where else ""
        raise CheckFailure(f"{what} raised {exc.type}: {exc.message}{at}\n{graph}") from None
    except CheckFailure as exc:
        raise CheckFailure(f"{exc}\n{graph}", diagnosis=exc.diagnosis) from None


# A fixed graph first (every op on a path that carries gradient, a diamond a + a, shared nodes):
# a broken op fails here at once, without hypothesis shrinking many examples.
FIXED_PROGRAM = [
    ("add", 0, 0),
    ("mul", 3, 1),
    ("sigmoid", 4, 0),
    ("div", 5, 2),
    ("matmul", 6, 0),
    ("tanh", 7, 0),
    ("exp", 8, 0),
    ("log", 9, 0),
    ("relu", 0, 0),
    ("square", 11, 0),
    ("sub", 10, 12),
    ("sum0", 13, 0),
    ("mul", 14, 5),
    ("rdiv", 15, 0),
    ("rsub", 16, 0),
    ("scale", 17, 0),
    ("neg", 18, 0),
    ("add", 19, 2),
    ("mean", 20, 0),
    ("mul", 21, 13),
]


@pytest.mark.points(1.5)
def test_random_expression_graphs(student, seed):
    """Random expression graphs with shared subexpressions and broadcasting (+ - * / ** @, exp, log, sigmoid, tanh, relu, sum, mean): value and every leaf's gradient equal the reference engine's."""
    _run_graph(student, seed, FIXED_PROGRAM, 0)

    @settings(report_multiple_bugs=False)  # shrink one bug only: each example is a worker call
    @given(
        program=st.lists(
            st.tuples(st.sampled_from(OPS), st.integers(0, 12), st.integers(0, 12)), min_size=1, max_size=8
        ),
        values=st.integers(0, 10_000),
    )
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
    for kind, logits in [
        ("seeded", rng.normal(size=(5, 3)) * 2),
        ("extreme", rng.choice([-1000.0, 1000.0], size=(5, 3)) + rng.normal(size=(5, 3))),
    ]:
        rz = ref.Tensor(logits, requires_grad=True)
        rl = ref.softmax_cross_entropy(rz, labels)
        rl.backward()
        what = f"softmax_cross_entropy(Z, y) with {kind} logits Z (5, 3)" + (" of +-1000" if kind == "extreme" else "")
        inputs = {"Z": logits, "y": labels}
        z = student.autograd.Tensor(logits, requires_grad=True)
        loss = tensor(student.autograd.softmax_cross_entropy(z, labels), "softmax_cross_entropy(Z, y)")
        shift = float(logits.max(axis=1).mean())
        assert_close(
            loss.data,
            rl.data,
            f"{what}: L.data",
            inputs=inputs,
            batch=5,
            mistakes=distinct({loss_summed(5): 5 * rl.data, **lse_shift_mistakes(rl.data, shift)}, rl.data),
        )
        loss.backward()
        check_grad(
            grad(z, "Z", "L.backward()"),
            rz.grad,
            "Z",
            f"{what}, after L.backward()",
            inputs=inputs,
            mistakes={loss_summed(5): 5 * rz.grad},
        )


def _init(sizes, rng):
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params += [rng.normal(size=(fan_out, fan_in)) / np.sqrt(fan_in), rng.normal(size=(fan_out,)) * 0.3]
    return params


def _ref_step(params, X, y, lr, activation):
    ps = [ref.Tensor(p, requires_grad=True) for p in params]
    loss = ref.train_step(ps, X, y, lr, activation)
    return loss, [p.data.copy() for p in ps], [p.grad.copy() for p in ps]


ACTS = {"sigmoid": _sigmoid, "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0), "linear": lambda z: z}


def _np_forward(params, X, activation, last_too=False):
    act = ACTS[activation]
    a, zs = X, []
    for k in range(0, len(params), 2):
        z = a @ params[k].T + params[k + 1]
        zs.append(z)
        a = act(z) if (k < len(params) - 2 or last_too) else z
    return a, zs


def _forward_mistakes(params, X, activation) -> dict:
    """Wrong logits of mlp_forward: an activation on the output layer, the hidden layers with another
    activation than the one asked for (or none), the biases left out."""
    found = {OUTPUT_ACTIVATION: _np_forward(params, X, activation, last_too=True)[0]}
    for other in ACTS:
        if other != activation:
            found[
                Mistake(
                    "mlp_forward_ignores_activation",
                    f"the hidden layers used {other if other != 'linear' else 'no activation'} where "
                    f"activation={activation!r} was asked for: apply the activation named by the argument",
                )
            ] = _np_forward(params, X, other)[0]
    no_bias = [p if k % 2 == 0 else np.zeros_like(p) for k, p in enumerate(params)]
    found[Mistake("mlp_forward_without_bias", "the biases are missing: Z_l = A_{l-1} @ W_l^T + b_l")] = _np_forward(
        no_bias, X, activation
    )[0]
    return found


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
        loss3 = _ref_step(p2, X, y, lr, activation)[0]
        arch = "-".join(map(str, sizes))
        inputs = {"X": X, "y": y}
        T = student.autograd.Tensor
        ps = [T(p, requires_grad=True) for p in params]
        what = f"mlp_forward(X, params, {activation!r}) for a {arch} network"
        logits = tensor(student.autograd.mlp_forward(X, ps, activation), "mlp_forward")
        want, _ = _np_forward(params, X, activation)
        assert_close(
            logits.data,
            want,
            f"{what}: logits.data",
            inputs=inputs,
            rtol=1e-7,
            mistakes=distinct(_forward_mistakes(params, X, activation), want),
        )
        steps = [(params, loss1, p1, g1, None, loss2), (p1, loss2, p2, g2, g1, loss3)]
        for step, (before, loss, pw, gw, prev, loss_after) in enumerate(steps, start=1):
            what = f"train_step(params, X, y, lr={lr}, {activation!r}) call {step} for a {arch} network"
            seen = {"L": student.autograd.train_step(ps, X, y, lr, activation)}
            for i, p in enumerate(ps):
                seen[f"g{i}"], seen[f"d{i}"] = p.grad, p.data
            rows = {  # what each mistake gives for the loss, every .grad and every .data
                UPHILL: {
                    "L": loss,
                    **{f"g{i}": gw[i] for i in range(len(ps))},
                    **{f"d{i}": before[i] + lr * gw[i] for i in range(len(ps))},
                },
                GRADS_ERASED: {
                    "L": loss,
                    **{f"g{i}": np.zeros_like(gw[i]) for i in range(len(ps))},
                    **{f"d{i}": before[i] for i in range(len(ps))},
                },
                LOSS_AFTER_STEP: {
                    "L": loss_after,
                    **{f"g{i}": gw[i] for i in range(len(ps))},
                    **{f"d{i}": pw[i] for i in range(len(ps))},
                },
            }
            if prev is not None:
                rows[ZERO_GRAD] = {
                    "L": loss,
                    **{f"g{i}": gw[i] + prev[i] for i in range(len(ps))},
                    **{f"d{i}": before[i] - lr * (gw[i] + prev[i]) for i in range(len(ps))},
                }
            assert_close(
                seen["L"],
                loss,
                f"{what}: the returned loss",
                inputs=inputs,
                rtol=1e-7,
                mistakes=_named(seen, rows, "L"),
            )
            for i, (name, want_p, want_g) in enumerate(zip(names, pw, gw)):
                if seen[f"g{i}"] is None:
                    raise no_gradient(name, what)
                check_grad(seen[f"g{i}"], want_g, name, what, inputs=inputs, mistakes=_named(seen, rows, f"g{i}"))
                assert_close(
                    seen[f"d{i}"],
                    want_p,
                    f"{what}: {name}.data after the step",
                    inputs=inputs,
                    rtol=1e-7,
                    mistakes=_named(seen, rows, f"d{i}"),
                )


@pytest.mark.points(0.5)
def test_graph_nodes_and_edges(student):
    """graph(L) of L = (a * a + 2 * a).tanh().sum(): one node per op and leaf with its op name, one edge per input (a * a gives two)."""
    av = np.array([0.5, -1.0, 2.0])
    ra = ref.Tensor(av, requires_grad=True)
    want_nodes, want_edges = ref.graph((ra * ra + 2 * ra).tanh().sum())
    a = student.autograd.Tensor(av, requires_grad=True)
    root = (a * a + 2 * a).tanh().sum()
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
        raise CheckFailure(
            f"{what}: {len(nodes)} nodes with ops {dict(sorted(ops(nodes).items()))}, expected "
            f"{len(want_nodes)} with ops {dict(sorted(ops(want_nodes).items()))}: each op creates ONE "
            f"node with Tensor._from_op(value, parents, '<op name>') (names as in graph's docstring)"
        )
    if len(edges) != len(want_edges) or pairs(nodes, edges) != pairs(want_nodes, want_edges):
        raise CheckFailure(
            f"{what}: {len(edges)} edges, expected {len(want_edges)} (one per input of each op, in "
            f"argument order: a * a gives two edges a -> mul): store every input in _parents"
        )


# The conventions of the given scaffolding, run on the student's module in the worker and on the
# reference here (one round trip): Tensor copies its data, constants get no gradient, labels and
# values in graph(), mean(keepdims), unbroadcast, init_mlp's seed, train_mlp's options and predict.
_CONVENTIONS = """
def conventions(m, X, y):
    out = {}
    a = np.array([1.0, 2.0, 3.0])
    w = m.Tensor(a, requires_grad=True, label="w")
    a[0] = 9.0
    out["Tensor(a) copies a"] = w.data
    c = m.Tensor(np.array([0.5, -1.0, 2.0]))
    L = (w * c).sum()
    L.backward()
    out["a constant (requires_grad=False) gets no .grad"] = c.grad is None
    out["the result of an op requires grad iff an input does"] = [bool(c.requires_grad), bool(L.requires_grad),
                                                                  bool((c * 2.0).requires_grad)]
    nodes, edges = m.graph(L, include_values=True)
    out["graph(L, include_values=True): labels"] = sorted(n["label"] for n in nodes)
    out["graph(L, include_values=True): data"] = sorted(float(np.sum(n["data"])) for n in nodes)
    out["graph(L, include_values=True): grad"] = sorted(float(np.sum(n["grad"])) for n in nodes
                                                        if n["grad"] is not None)
    x = m.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    k = x.mean(axis=1, keepdims=True)
    out["x.mean(axis=1, keepdims=True)"] = k.data
    (k * np.array([[1.0], [2.0]])).sum().backward()
    out["x.grad after x.mean(axis=1, keepdims=True) * [[1], [2]]"] = x.grad
    g = np.arange(12.0).reshape(4, 3)
    u = m.unbroadcast(g, (1, 3))
    out["unbroadcast(g (4, 3), (1, 3))"] = u
    u[0, 0] = -1.0
    out["unbroadcast returns a new array (g unchanged)"] = bool(g[0, 0] == 0.0)
    try:
        m.unbroadcast(g, (2,))
        out["unbroadcast(g (4, 3), (2,)) raises"] = None
    except ValueError:
        out["unbroadcast(g (4, 3), (2,)) raises"] = "ValueError"
    p1, p2 = m.init_mlp((4, 5, 3), seed=3), m.init_mlp((4, 5, 3), seed=3)
    out["init_mlp((4, 5, 3), seed=3)"] = [p.data for p in p1]
    out["init_mlp is the same for the same seed"] = all(np.array_equal(p.data, q.data) for p, q in zip(p1, p2))
    weights = m.train_mlp(X, y, sizes=(4, 5, 3), activation="tanh", epochs=2, lr=0.2, batch_size=5, seed=1)
    out["train_mlp(X, y, sizes=(4, 5, 3), activation='tanh', epochs=2, lr=0.2, batch_size=5, seed=1)"] = weights
    out["predict(X, weights, activation='tanh')"] = m.predict(X, weights, activation="tanh")
    return out
"""


@pytest.mark.points(0.5)
def test_tensor_and_given_helpers(student, seed):
    """Tensor copies its data, constants get no gradient, mean(keepdims), graph(include_values), unbroadcast, init_mlp(seed), train_mlp (shuffled mini-batches with your train_step) and predict match the reference."""
    rng = np.random.default_rng(seed + 5)
    X, y = rng.normal(size=(12, 4)), np.arange(12) % 3
    want = local_object(_CONVENTIONS, "conventions")(ref, X, y)
    probe = _helper(student, "conventions", definition(_CONVENTIONS, "conventions"))
    try:
        got = probe(student.cached("module", lambda: student.source("__import__('autograd')")), X, y)
    except StudentError as exc:
        if exc.type == "NotImplementedError":
            raise
        at = f" (at {exc.where})" if exc.where else ""
        raise CheckFailure(
            f"the Tensor conventions and given helpers (Tensor, graph, unbroadcast, init_mlp, "
            f"train_mlp, predict) raised {exc.type}: {exc.message}{at}"
        ) from None
    for what, value in want.items():
        mine = got.get(what) if isinstance(got, dict) else None
        if isinstance(value, (bool, str, type(None))) or (
            isinstance(value, list) and value and isinstance(value[0], (bool, str))
        ):
            assert_true(mine == value, f"{what}: got {mine!r}, expected {value!r}")
        elif isinstance(value, list) and value and isinstance(value[0], np.ndarray):
            assert_true(
                isinstance(mine, list) and len(mine) == len(value),
                f"{what}: got {type(mine).__name__}, expected {len(value)} arrays",
            )
            note = (
                " (train_mlp runs your train_step: its own check is the one of mlp_forward and train_step)"
                if what.startswith("train_mlp")
                else ""
            )
            for k, (m_, v) in enumerate(zip(mine, value)):
                assert_close(m_, v, f"{what}[{k}]{note}", rtol=1e-7)
        else:
            assert_close(mine, value, what, rtol=1e-7)


@pytest.mark.points(0.5)
def test_inputs_left_unmodified(student):
    """No call above changed its array arguments in place (seen inside your worker, so worth little)."""
    student.assert_inputs_unmodified()

"""Tests of the reference solutions/autograd.py (Task 4), read as a spec.

Per function: hand-computable cases first, then properties (hypothesis), then independent
oracles (PyTorch autograd in float64 on every op and on random expression graphs, central
finite differences), then the engine-trained 64-32-10 network on the 8x8 digits.
"""

from __future__ import annotations

import ast
import json
import math
import types
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader.course import stubs
from solutions import autograd as ag
from solutions.autograd import Tensor

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
PROPS = settings(derandomize=True, database=None, deadline=None, max_examples=40)
TORCH_RTOL = 1e-9
TORCH_ATOL = 1e-12


def leaf(a, label: str = "") -> Tensor:
    return Tensor(np.asarray(a, dtype=np.float64), requires_grad=True, label=label)


def tleaf(a):
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64, requires_grad=True)


def assert_close(a, b, rtol=TORCH_RTOL, atol=TORCH_ATOL):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def assert_grad(t: Tensor, expected):
    assert isinstance(t.grad, np.ndarray) and t.grad.dtype == np.float64
    assert t.grad.shape == t.shape
    assert_close(t.grad, expected)


def random_array(rng, shape, low=0.2, high=1.5):
    """Entries with |x| in [low, high], random signs: away from 0 (log, 1/x, relu kinks)."""
    mag = rng.uniform(low, high, size=shape)
    return np.where(rng.uniform(size=shape) < 0.5, -mag, mag)


# ---------------------------------------------------------------------------------------------
# The lecture's example and the diamond
# ---------------------------------------------------------------------------------------------


def test_lecture_example_reads_as_in_pytorch():
    x = Tensor([1.0], requires_grad=True)
    y = x**2 + 2 * x
    y.backward()
    assert isinstance(x.grad, np.ndarray)
    assert x.grad.dtype == np.float64 and x.grad.shape == (1,)
    np.testing.assert_array_equal(x.grad, np.array([4.0]))
    np.testing.assert_array_equal(y.data, np.array([3.0]))


def test_diamond_graph_accumulates():
    a = Tensor(1.0, requires_grad=True)
    b = a + a
    c = b + b
    c.backward()
    assert float(a.grad) == 4.0
    assert float(b.grad) == 2.0
    assert float(c.grad) == 1.0
    assert isinstance(a.grad, np.ndarray) and a.grad.shape == ()


def test_node_used_twice_by_mul_gives_2x():
    x = leaf([3.0, -2.0])
    (x * x).sum().backward()
    assert_grad(x, [6.0, -4.0])


def test_grad_is_none_until_backward_reaches_the_node():
    x = leaf([1.0, 2.0])
    unused = leaf([5.0])
    c = Tensor([3.0, 4.0])
    y = (x * c).sum()
    assert x.grad is None and y.grad is None
    y.backward()
    assert_grad(x, [3.0, 4.0])
    assert unused.grad is None
    assert c.grad is None  # constants never get a gradient
    assert not c.requires_grad and y.requires_grad


# ---------------------------------------------------------------------------------------------
# Tensor scaffolding (given)
# ---------------------------------------------------------------------------------------------


def test_constructor_copies_to_float64_and_never_aliases():
    a = np.array([[1, 2], [3, 4]])  # int input
    t = Tensor(a)
    assert t.data.dtype == np.float64 and t.shape == (2, 2) and t.ndim == 2 and t.size == 4
    assert not t.requires_grad and t.grad is None
    a[0, 0] = 99
    assert t.data[0, 0] == 1.0
    b = np.array([1.0, 2.0])
    tb = Tensor(b, requires_grad=True)
    assert not np.shares_memory(tb.data, b)
    assert Tensor(2.5).shape == () and Tensor(2.5).item() == 2.5
    assert Tensor([[1.0]]).item() == 1.0
    assert Tensor(tb).data is not tb.data and not Tensor(tb).requires_grad


def test_repr_mentions_op_and_requires_grad():
    x = leaf([1.0])
    assert "requires_grad=True" in repr(x)
    assert "op='add'" in repr(x + 1)
    assert "requires_grad" not in repr(Tensor([1.0]))


def test_python_numbers_and_arrays_on_either_side():
    x = leaf([1.0, 2.0, 4.0])
    for expr, expected in [
        (lambda: 2 * x, [2.0, 2.0, 2.0]),
        (lambda: x * 2, [2.0, 2.0, 2.0]),
        (lambda: x + 1, [1.0, 1.0, 1.0]),
        (lambda: 1 + x, [1.0, 1.0, 1.0]),
        (lambda: x - 1, [1.0, 1.0, 1.0]),
        (lambda: 1 - x, [-1.0, -1.0, -1.0]),
        (lambda: -x, [-1.0, -1.0, -1.0]),
        (lambda: x / 2, [0.5, 0.5, 0.5]),
        (lambda: 1 / x, [-1.0, -0.25, -0.0625]),
        (lambda: np.array([1.0, 2.0, 3.0]) * x, [1.0, 2.0, 3.0]),
        (lambda: np.array([1.0, 2.0, 3.0]) + x, [1.0, 1.0, 1.0]),
        (lambda: np.float64(3.0) * x, [3.0, 3.0, 3.0]),
    ]:
        x.grad = None
        y = expr()
        assert isinstance(y, Tensor)
        y.backward(np.ones(y.shape))
        assert_grad(x, expected)


def test_ndarray_at_tensor_uses_rmatmul():
    w = leaf([[1.0, 2.0], [3.0, 4.0]])
    out = np.array([[1.0, 0.0]]) @ w
    assert isinstance(out, Tensor) and out.shape == (1, 2)
    out.sum().backward()
    assert_grad(w, [[1.0, 1.0], [0.0, 0.0]])


def test_results_require_grad_iff_an_input_does():
    c = Tensor([1.0, 2.0])
    assert not (c * 2 + c).requires_grad
    assert (c * leaf([1.0, 1.0])).requires_grad
    with pytest.raises(RuntimeError):
        (c * 2).sum().backward()


def test_transpose_given_example():
    x = leaf(np.arange(6.0).reshape(2, 3))
    y = x.T
    assert y.shape == (3, 2)
    y.backward_local(np.arange(6.0).reshape(3, 2))
    assert_grad(x, np.arange(6.0).reshape(3, 2).T)


def test_zero_grad_sets_zeros_of_data_shape():
    x = leaf([[1.0, 2.0]])
    (x * 3).sum().backward()
    x.zero_grad()
    assert isinstance(x.grad, np.ndarray) and x.grad.shape == (1, 2)
    np.testing.assert_array_equal(x.grad, 0.0)
    c = Tensor([1.0])
    c.zero_grad()
    assert c.grad is None


def test_backward_local_runs_only_this_nodes_closure():
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    z = (x * y) * 2.0
    z.backward_local(np.ones(2))
    assert x.grad is None and y.grad is None  # only the outer mul ran
    with pytest.raises(ValueError):
        z.backward_local(np.ones(3))


# ---------------------------------------------------------------------------------------------
# unbroadcast (given)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "big, small, expected",
    [
        ((2, 3), (3,), [5.0, 7.0, 9.0]),
        ((2, 3), (2, 1), [[6.0], [15.0]]),
        ((2, 3), (1, 3), [[5.0, 7.0, 9.0]]),
        ((2, 3), (), 21.0),
        ((2, 3), (2, 3), [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]),
        ((2, 1, 3), (1, 1), [[21.0]]),
    ],
)
def test_unbroadcast_hand_cases(big, small, expected):
    g = np.arange(1.0, 1.0 + np.prod(big)).reshape(big)
    before = g.copy()
    out = ag.unbroadcast(g, small)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64 and out.shape == small
    assert_close(out, expected)
    np.testing.assert_array_equal(g, before)
    assert not np.shares_memory(out, g)


def test_unbroadcast_rejects_incompatible_shapes():
    with pytest.raises(ValueError):
        ag.unbroadcast(np.ones((2, 3)), (2,))
    with pytest.raises(ValueError):
        ag.unbroadcast(np.ones((3,)), (2, 3))


@st.composite
def shape_and_broadcast_target(draw):
    """(small, big): big any shape; small a suffix of big with some axes set to 1."""
    big = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=3))
    k = draw(st.integers(0, len(big)))
    small = tuple(1 if draw(st.booleans()) else n for n in big[len(big) - k :])
    return small, big


@PROPS
@given(shapes=shape_and_broadcast_target(), seed=st.integers(0, 2**16))
def test_unbroadcast_matches_the_adjoint_of_broadcast_to(shapes, seed):
    """<unbroadcast(g), v> == <g, broadcast_to(v)>: unbroadcast is the transpose of broadcasting."""
    small, big = shapes
    rng = np.random.default_rng(seed)
    g = rng.normal(size=big)
    v = rng.normal(size=small)
    out = ag.unbroadcast(g, small)
    assert out.shape == small
    lhs, rhs = float(np.sum(out * v)), float(np.sum(g * np.broadcast_to(v, big)))
    assert math.isclose(lhs, rhs, rel_tol=1e-12, abs_tol=1e-12)


# ---------------------------------------------------------------------------------------------
# Each primitive op at a point, alone (backward_local: no topological sort needed)
# ---------------------------------------------------------------------------------------------


def test_add_at_a_point():
    x, y = leaf(2.0), leaf(3.0)
    z = x + y
    assert z.data == 5.0 and z._op == "add"
    z.backward_local(1.0)
    assert_grad(x, 1.0)
    assert_grad(y, 1.0)


def test_add_broadcasts_and_unbroadcasts():
    x, b = leaf(np.ones((2, 3))), leaf([1.0, 2.0, 3.0])
    z = x + b
    assert z.shape == (2, 3)
    z.backward_local(np.ones((2, 3)))
    assert_grad(b, [2.0, 2.0, 2.0])
    assert_grad(x, np.ones((2, 3)))


def test_mul_at_a_point():
    x, y = leaf(2.0), leaf(3.0)
    z = x * y
    assert z.data == 6.0
    z.backward_local(1.0)
    assert_grad(x, 3.0)
    assert_grad(y, 2.0)


def test_mul_broadcasts_column_times_row():
    c, r = leaf([[1.0], [2.0]]), leaf([[3.0, 4.0, 5.0]])
    z = c * r
    z.backward_local(np.ones((2, 3)))
    assert_grad(c, [[12.0], [12.0]])
    assert_grad(r, [[3.0, 3.0, 3.0]])


@pytest.mark.parametrize(
    "x, p, value, grad", [(2.0, 3, 8.0, 12.0), (2.0, -1, 0.5, -0.25), (4.0, 0.5, 2.0, 0.25), (3.0, 1, 3.0, 1.0)]
)
def test_pow_at_a_point(x, p, value, grad):
    t = leaf(x)
    z = t**p
    assert_close(z.data, value)
    z.backward_local(1.0)
    assert_grad(t, grad)


def test_pow_rejects_a_tensor_exponent():
    with pytest.raises(TypeError):
        leaf(2.0) ** leaf(3.0)


def test_matmul_at_a_point_all_shape_cases():
    A = leaf([[1.0, 2.0], [3.0, 4.0]])
    B = leaf([[5.0], [6.0]])
    Z = A @ B
    assert_close(Z.data, [[17.0], [39.0]])
    Z.backward_local(np.ones((2, 1)))
    assert_grad(A, [[5.0, 6.0], [5.0, 6.0]])  # G @ B^T
    assert_grad(B, [[4.0], [6.0]])  # A^T @ G
    A.grad = None
    v = leaf([5.0, 6.0])
    z = A @ v  # (2, 2) @ (2,) -> (2,)
    z.backward_local(np.array([1.0, -1.0]))
    assert_grad(A, [[5.0, 6.0], [-5.0, -6.0]])
    assert_grad(v, [-2.0, -2.0])
    u, M = leaf([1.0, -1.0]), leaf([[1.0, 2.0], [3.0, 4.0]])
    z = u @ M  # (2,) @ (2, 2) -> (2,)
    z.backward_local(np.array([1.0, 2.0]))
    assert_grad(u, [5.0, 11.0])
    assert_grad(M, [[1.0, 2.0], [-1.0, -2.0]])
    a, b = leaf([1.0, 2.0, 3.0]), leaf([4.0, 5.0, 6.0])
    d = a @ b  # dot product -> ()
    assert d.shape == () and d.data == 32.0
    d.backward_local(2.0)
    assert_grad(a, [8.0, 10.0, 12.0])
    assert_grad(b, [2.0, 4.0, 6.0])


def test_matmul_rejects_3d():
    with pytest.raises(ValueError):
        leaf(np.ones((2, 2, 2))) @ leaf(np.ones((2, 2)))
    with pytest.raises(ValueError):
        leaf(2.0) @ leaf(np.ones(2))


@pytest.mark.parametrize(
    "method, x, value, grad",
    [
        ("exp", 0.0, 1.0, 1.0),
        ("exp", 1.0, math.e, math.e),
        ("log", 2.0, math.log(2.0), 0.5),
        ("sigmoid", 0.0, 0.5, 0.25),
        ("sigmoid", math.log(3.0), 0.75, 0.1875),
        ("tanh", 0.0, 0.0, 1.0),
        ("tanh", 0.5, math.tanh(0.5), 1.0 - math.tanh(0.5) ** 2),
        ("relu", 2.0, 2.0, 1.0),
        ("relu", -1.0, 0.0, 0.0),
        ("relu", 0.0, 0.0, 0.0),
    ],
)
def test_unary_op_at_a_point(method, x, value, grad):
    t = leaf(x)
    z = getattr(t, method)()
    assert z._op == method and z.shape == ()
    assert_close(z.data, value, rtol=1e-14)
    z.backward_local(1.0)
    assert_grad(t, grad)


def test_sigmoid_is_stable_at_plus_minus_1000():
    t = leaf([-1000.0, 0.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = t.sigmoid()
        s.backward_local(np.ones(3))
    assert_close(s.data, [0.0, 0.5, 1.0])
    assert_grad(t, [0.0, 0.25, 0.0])


@pytest.mark.parametrize(
    "axis, keepdims, out_shape",
    [
        (None, False, ()),
        (None, True, (1, 1)),
        (0, False, (3,)),
        (1, True, (2, 1)),
        (-1, False, (2,)),
        ((0, 1), False, ()),
    ],
)
def test_sum_shapes_and_gradient_is_ones(axis, keepdims, out_shape):
    x = leaf(np.arange(6.0).reshape(2, 3))
    s = x.sum(axis=axis, keepdims=keepdims)
    assert s.shape == out_shape
    assert_close(s.data, np.arange(6.0).reshape(2, 3).sum(axis=axis, keepdims=keepdims))
    g = np.arange(1.0, 1.0 + int(np.prod(out_shape))).reshape(out_shape)
    s.backward_local(g)
    kept_shape = np.zeros((2, 3)).sum(axis=axis, keepdims=True).shape
    assert_grad(x, np.broadcast_to(g.reshape(kept_shape), (2, 3)))


def test_sum_of_a_scalar_and_bad_axes():
    x = leaf(3.0)
    s = x.sum()
    assert s.shape == ()
    s.backward_local(2.0)
    assert_grad(x, 2.0)
    with pytest.raises(ValueError):
        leaf(np.ones((2, 3))).sum(axis=2)
    with pytest.raises(ValueError):
        leaf(np.ones((2, 3))).sum(axis=(0, 0))


def test_mean_is_sum_over_n():
    x = leaf(np.arange(8.0).reshape(2, 4))
    m = x.mean()
    assert m.data == 3.5
    m.backward()
    assert_grad(x, np.full((2, 4), 1 / 8))
    x.grad = None
    m1 = x.mean(axis=1, keepdims=True)
    assert m1.shape == (2, 1)
    m1.backward(np.array([[1.0], [2.0]]))
    assert_grad(x, [[0.25] * 4, [0.5] * 4])


def test_derived_ops_at_a_point():
    x, y = leaf(1.0), leaf(2.0)
    (x / y).backward()
    assert_grad(x, 0.5)
    assert_grad(y, -0.25)
    x.grad = y.grad = None
    (x - y).backward()
    assert_grad(x, 1.0)
    assert_grad(y, -1.0)
    x.grad = None
    (-x).backward()
    assert_grad(x, -1.0)


# ---------------------------------------------------------------------------------------------
# topological_order
# ---------------------------------------------------------------------------------------------


def test_topological_order_of_the_lecture_example():
    x = leaf([1.0])
    sq = x**2
    tx = 2 * x
    y = sq + tx
    order = y.topological_order()
    assert order[-1] is y
    assert len(order) == 5 and len({id(t) for t in order}) == 5
    pos = {id(t): i for i, t in enumerate(order)}
    for t in order:
        for p in t._parents:
            assert pos[id(p)] < pos[id(t)]


def test_topological_order_lists_a_node_used_twice_once():
    a = leaf(1.0)
    b = a + a
    c = b + b
    order = c.topological_order()
    assert [id(t) for t in order] == [id(a), id(b), id(c)]


def test_chain_of_5000_nodes_has_no_recursion_error():
    x = leaf([1.0, 2.0])
    z = x
    for _ in range(5000):
        z = z * 1.0001
    order = z.topological_order()
    assert len(order) == 2 * 5000 + 1  # 5000 muls, 5000 constants, x
    z.sum().backward()
    assert_grad(x, np.full(2, 1.0001**5000))
    nodes, edges = ag.graph(z)
    assert len(nodes) == 10001 and len(edges) == 10000


def test_sort_and_backward_work_with_only_the_given_transpose():
    """A student can test topological_order and backward before writing any op: chain .T."""
    a = np.arange(6.0).reshape(2, 3)
    x = leaf(a)
    z = x
    for _ in range(5001):
        z = z.T
    assert z.shape == (3, 2)
    order = z.topological_order()
    assert len(order) == 5002 and order[0] is x and order[-1] is z
    g = np.arange(6.0).reshape(3, 2) + 1
    z.backward(g)
    assert_grad(x, g.T)


# ---------------------------------------------------------------------------------------------
# backward
# ---------------------------------------------------------------------------------------------


def test_backward_requires_grad_for_non_scalar_outputs():
    x = leaf([1.0, 2.0])
    y = x * 3
    with pytest.raises(RuntimeError):
        y.backward()
    with pytest.raises(ValueError):
        y.backward(np.ones(3))
    y.backward(np.array([1.0, 10.0]))
    assert_grad(x, [3.0, 30.0])


def test_backward_defaults_to_ones_for_size_1_outputs():
    x = leaf([[2.0]])
    y = x * x
    y.backward()
    assert_grad(x, [[4.0]])


def test_backward_twice_accumulates_leaves_resets_intermediates():
    x = leaf([1.0, -2.0])
    h = x * x
    y = (h * 3).sum()
    y.backward()
    assert_grad(x, [6.0, -12.0])
    assert_grad(h, [3.0, 3.0])
    y.backward()
    assert_grad(x, [12.0, -24.0])  # leaves accumulate as in PyTorch
    assert_grad(h, [3.0, 3.0])  # intermediates: this call's gradient only
    x.zero_grad()
    y.backward()
    assert_grad(x, [6.0, -12.0])


def test_backward_on_a_leaf_accumulates_the_seed():
    x = leaf([[1.0, 2.0]])
    x.backward(np.array([[3.0, 4.0]]))
    x.backward(np.array([[3.0, 4.0]]))
    assert_grad(x, [[6.0, 8.0]])


def test_backward_from_an_intermediate_node():
    x = leaf(3.0)
    h = x * x
    y = h + 1.0
    y.backward()
    h.backward()  # h is now a root: its own grad is reset to the seed
    assert_grad(h, 1.0)
    assert_grad(x, 12.0)


def test_backward_does_not_mutate_inputs_or_the_seed():
    a = np.array([[0.5, -1.0, 2.0]])
    b = np.array([1.5, 0.25, -0.75])
    g = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    snaps = [a.copy(), b.copy(), g.copy()]
    x, w = leaf(a), leaf(b)
    c = np.array([[1.0], [2.0]])
    y = ((x * w + c).tanh() * (w.sigmoid() + 1).log()).exp()
    data_before = [x.data.copy(), w.data.copy()]
    y.backward(g)
    for arr, snap in zip([a, b, g], snaps):
        np.testing.assert_array_equal(arr, snap)
    np.testing.assert_array_equal(x.data, data_before[0])
    np.testing.assert_array_equal(w.data, data_before[1])
    np.testing.assert_array_equal(c, [[1.0], [2.0]])
    assert not np.shares_memory(x.grad, g) and not np.shares_memory(w.grad, g)


@PROPS
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
    op=st.sampled_from(["add", "sub", "mul", "div"]),
    seed=st.integers(0, 2**16),
)
def test_broadcasting_binary_ops_give_each_input_its_own_shape(shapes, op, seed):
    rng = np.random.default_rng(seed)
    sa, sb = shapes.input_shapes
    a, b = random_array(rng, sa), random_array(rng, sb)
    g = rng.normal(size=shapes.result_shape)
    fns = {"add": lambda u, v: u + v, "sub": lambda u, v: u - v, "mul": lambda u, v: u * v, "div": lambda u, v: u / v}
    x, y = leaf(a), leaf(b)
    out = fns[op](x, y)
    assert out.shape == shapes.result_shape
    out.backward(g)
    tx, ty = tleaf(a), tleaf(b)
    fns[op](tx, ty).backward(torch.tensor(g))
    assert_grad(x, tx.grad.numpy())
    assert_grad(y, ty.grad.numpy())


@PROPS
@given(k=st.integers(1, 6), seed=st.integers(0, 2**16), shape=hnp.array_shapes(min_dims=0, max_dims=2, max_side=3))
def test_a_node_used_k_times_receives_the_sum(k, seed, shape):
    rng = np.random.default_rng(seed)
    a = random_array(rng, shape)
    x = leaf(a)
    total = x * 1.0
    for _ in range(k - 1):
        total = total + x
    total.sum().backward()
    assert_grad(x, np.full(shape, float(k)))


@PROPS
@given(calls=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_backward_n_times_is_n_times_the_gradient_and_zero_grad_resets(calls, seed):
    rng = np.random.default_rng(seed)
    a, b = random_array(rng, (2, 3)), random_array(rng, (3,))
    x, w = leaf(a), leaf(b)
    y = ((x * w).tanh() + w * w).sum()
    y.backward()
    once = [x.grad.copy(), w.grad.copy()]
    for _ in range(calls - 1):
        y.backward()
    assert_grad(x, calls * once[0])
    assert_grad(w, calls * once[1])
    x.zero_grad()
    w.zero_grad()
    y.backward()
    assert_grad(x, once[0])
    assert_grad(w, once[1])


# ---------------------------------------------------------------------------------------------
# PyTorch oracle: every op, random inputs and upstream gradients
# ---------------------------------------------------------------------------------------------

UNARY = {
    "exp": (lambda t: t.exp(), lambda t: t.exp()),
    "log": (lambda t: (t * t).log(), lambda t: (t * t).log()),
    "sigmoid": (lambda t: t.sigmoid(), lambda t: t.sigmoid()),
    "tanh": (lambda t: t.tanh(), lambda t: t.tanh()),
    "relu": (lambda t: t.relu(), lambda t: t.relu()),
    "neg": (lambda t: -t, lambda t: -t),
    "pow2": (lambda t: t**2, lambda t: t**2),
    "pow3": (lambda t: t**3, lambda t: t**3),
    "pow-1": (lambda t: t**-1, lambda t: t**-1),
    "pow0.5": (lambda t: (t * t) ** 0.5, lambda t: (t * t) ** 0.5),
    "pow-2.5": (lambda t: (t * t) ** -2.5, lambda t: (t * t) ** -2.5),
    "rdiv": (lambda t: 1 / t, lambda t: 1 / t),
    "rsub": (lambda t: 2 - t, lambda t: 2 - t),
    "sum": (lambda t: t.sum(), lambda t: t.sum()),
    "sum0": (lambda t: t.sum(axis=0), lambda t: t.sum(dim=0)),
    "sum1k": (lambda t: t.sum(axis=1, keepdims=True), lambda t: t.sum(dim=1, keepdim=True)),
    "sum01": (lambda t: t.sum(axis=(0, 1)), lambda t: t.sum(dim=(0, 1))),
    "mean": (lambda t: t.mean(), lambda t: t.mean()),
    "mean0k": (lambda t: t.mean(axis=0, keepdims=True), lambda t: t.mean(dim=0, keepdim=True)),
    "mean-1": (lambda t: t.mean(axis=-1), lambda t: t.mean(dim=-1)),
    "T": (lambda t: t.T, lambda t: t.T),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_ops_match_torch(name):
    ours, theirs = UNARY[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    a = random_array(rng, (3, 4))
    x, tx = leaf(a), tleaf(a)
    out, tout = ours(x), theirs(tx)
    assert_close(out.data, tout.detach().numpy())
    g = rng.normal(size=out.shape)
    out.backward(g)
    tout.backward(torch.tensor(g))
    assert_grad(x, tx.grad.numpy())


@pytest.mark.parametrize("sa, sb", [((3, 4), (4, 5)), ((3, 4), (4,)), ((4,), (4, 5)), ((4,), (4,)), ((1, 4), (4, 1))])
def test_matmul_matches_torch(sa, sb):
    rng = np.random.default_rng(len(sa) * 10 + len(sb))
    a, b = rng.normal(size=sa), rng.normal(size=sb)
    x, y, tx, ty = leaf(a), leaf(b), tleaf(a), tleaf(b)
    out, tout = x @ y, tx @ ty
    assert_close(out.data, tout.detach().numpy())
    g = rng.normal(size=out.shape)
    out.backward(g)
    tout.backward(torch.tensor(g))
    assert_grad(x, tx.grad.numpy())
    assert_grad(y, ty.grad.numpy())


def test_transposed_matmul_as_in_a_linear_layer_matches_torch():
    rng = np.random.default_rng(7)
    X, W, b = rng.normal(size=(5, 4)), rng.normal(size=(6, 4)), rng.normal(size=6)
    ours = [Tensor(X), leaf(W), leaf(b)]
    theirs = [torch.tensor(X), tleaf(W), tleaf(b)]
    (ours[0] @ ours[1].T + ours[2]).sigmoid().sum().backward()
    (theirs[0] @ theirs[1].T + theirs[2]).sigmoid().sum().backward()
    assert_grad(ours[1], theirs[1].grad.numpy())
    assert_grad(ours[2], theirs[2].grad.numpy())


# ---------------------------------------------------------------------------------------------
# PyTorch oracle: random expression graphs (shared subexpressions, broadcasting, constants)
# ---------------------------------------------------------------------------------------------

SHAPES = [(), (3,), (1, 3), (2, 1), (2, 3)]  # all broadcast to (2, 3)
UNARY_PROGRAM_OPS = ["neg", "tanh", "sigmoid", "relu", "exp_tanh", "log1p_sq", "pow", "sum_last", "mean_first"]
BINARY_PROGRAM_OPS = ["add", "sub", "mul", "div", "const_mul", "const_add"]
POW_EXPONENTS = [2, 3, -1, 0.5, -1.5]


@st.composite
def programs(draw):
    n_leaves = draw(st.integers(1, 4))
    leaf_shapes = [draw(st.sampled_from(SHAPES)) for _ in range(n_leaves)]
    steps = []
    n_nodes = n_leaves
    for _ in range(draw(st.integers(1, 7))):
        if draw(st.booleans()):
            op = draw(st.sampled_from(UNARY_PROGRAM_OPS))
            steps.append((op, draw(st.integers(0, n_nodes - 1)), None, draw(st.sampled_from(POW_EXPONENTS))))
        else:
            op = draw(st.sampled_from(BINARY_PROGRAM_OPS))
            # operands may repeat (x * x) and may be any earlier node (shared subexpressions)
            steps.append(
                (
                    op,
                    draw(st.integers(0, n_nodes - 1)),
                    draw(st.integers(0, n_nodes - 1)),
                    draw(st.sampled_from(SHAPES)),
                )
            )
        n_nodes += 1
    extra = draw(st.integers(0, n_nodes - 1))  # a second use of an earlier node in the root
    seed = draw(st.integers(0, 2**16))
    return leaf_shapes, steps, extra, seed


def run_program(program, lib):
    """Evaluate a program with our engine (lib='ours') or torch; return (leaves, root)."""
    leaf_shapes, steps, extra, seed = program
    rng = np.random.default_rng(seed)
    arrays = [random_array(rng, s) for s in leaf_shapes]
    consts = [random_array(rng, s) for s in SHAPES]  # one constant per shape
    weight = rng.normal(size=(2, 3))
    if lib == "ours":
        nodes = [leaf(a) for a in arrays]

        def const(a):
            return a  # raw ndarray: exercises ndarray-on-the-left plumbing

        def reduce(t, kind):
            if kind == "sum_last":
                return t.sum(axis=-1, keepdims=True)
            return t.mean(axis=0, keepdims=True)
    else:
        nodes = [tleaf(a) for a in arrays]

        def const(a):
            return torch.tensor(a)

        def reduce(t, kind):
            if kind == "sum_last":
                return t.sum(dim=-1, keepdim=True)
            return t.mean(dim=0, keepdim=True)

    leaves = list(nodes)
    for op, i, j, arg in steps:
        a = nodes[i]
        if op == "neg":
            r = -a
        elif op == "tanh":
            r = a.tanh()
        elif op == "sigmoid":
            r = a.sigmoid()
        elif op == "relu":
            r = a.relu()
        elif op == "exp_tanh":
            r = a.tanh().exp()
        elif op == "log1p_sq":
            r = (a * a + 1.0).log()
        elif op == "pow":
            r = (a.sigmoid() + 0.5) ** arg
        elif op in ("sum_last", "mean_first"):
            r = reduce(a, op) if a.ndim >= (1 if op == "sum_last" else 2) else a * 1.0
        else:
            b = nodes[j]
            if op == "add":
                r = a + b
            elif op == "sub":
                r = a - b
            elif op == "mul":
                r = a * b
            elif op == "div":
                r = a / (b * b + 1.0)
            elif op == "const_mul":
                r = const(consts[SHAPES.index(arg)]) * a
            else:
                r = const(consts[SHAPES.index(arg)]) - b + a
        nodes.append(r)
    root = (nodes[-1] * const(weight)).sum() + nodes[extra].mean()
    return leaves, root


@PROPS
@given(program=programs())
def test_random_expression_graphs_match_torch(program):
    leaves, root = run_program(program, "ours")
    tleaves, troot = run_program(program, "torch")
    assert_close(root.data, troot.detach().numpy())
    root.backward()
    troot.backward()
    for ours, theirs in zip(leaves, tleaves):
        if theirs.grad is None:
            assert ours.grad is None
        else:
            assert_grad(ours, theirs.grad.numpy())


@PROPS
@given(program=programs())
def test_topological_order_is_valid_on_random_graphs(program):
    _, root = run_program(program, "ours")
    order = root.topological_order()
    assert order[-1] is root
    pos = {id(t): i for i, t in enumerate(order)}
    assert len(pos) == len(order)
    reachable, stack = set(), [root]
    while stack:
        t = stack.pop()
        if id(t) not in reachable:
            reachable.add(id(t))
            stack.extend(t._parents)
    assert set(pos) == reachable
    for t in order:
        for p in t._parents:
            assert pos[id(p)] < pos[id(t)]


# ---------------------------------------------------------------------------------------------
# graph listing
# ---------------------------------------------------------------------------------------------


def test_graph_of_the_lecture_example():
    x = Tensor([1.0], requires_grad=True, label="x")
    y = x**2 + 2 * x
    nodes, edges = ag.graph(y)
    assert isinstance(nodes, list) and isinstance(edges, list)
    assert [n["id"] for n in nodes] == list(range(5))
    assert nodes[0]["op"] == "add"
    ops = sorted(n["op"] for n in nodes)
    assert ops == ["add", "const", "leaf", "mul", "pow"]
    by_op = {n["op"]: n for n in nodes}
    assert by_op["leaf"]["label"] == "x" and by_op["const"]["label"] == "2"
    assert by_op["leaf"]["shape"] == [1] and by_op["const"]["shape"] == []
    assert len(edges) == 5
    xid = by_op["leaf"]["id"]
    assert sorted(c for p, c in edges if p == xid) == sorted([by_op["pow"]["id"], by_op["mul"]["id"]])
    for n in nodes:
        assert set(n) == {"id", "op", "shape", "label"}
        assert isinstance(n["id"], int) and isinstance(n["op"], str) and isinstance(n["label"], str)
        assert all(isinstance(s, int) for s in n["shape"])
    assert all(isinstance(p, int) and isinstance(c, int) for p, c in edges)
    json.dumps([nodes, edges])  # plain data


def test_graph_of_the_diamond_has_double_edges():
    a = leaf(1.0, "a")
    b = a + a
    c = b + b
    nodes, edges = ag.graph(c)
    assert [n["op"] for n in nodes] == ["add", "add", "leaf"]
    assert edges == [(1, 0), (1, 0), (2, 1), (2, 1)]


def test_graph_include_values():
    x = leaf([1.0, 2.0], "x")
    y = (x * x).sum()
    y.backward()
    nodes, _ = ag.graph(y, include_values=True)
    xn = next(n for n in nodes if n["label"] == "x")
    assert xn["data"] == [1.0, 2.0] and xn["grad"] == [2.0, 4.0]
    json.dumps(nodes)


# ---------------------------------------------------------------------------------------------
# softmax_cross_entropy, mlp_forward, train_step
# ---------------------------------------------------------------------------------------------


def test_softmax_ce_of_zeros_is_log_c():
    logits = leaf(np.zeros((4, 5)))
    loss = ag.softmax_cross_entropy(logits, np.array([0, 1, 2, 4]))
    assert loss.shape == ()
    assert math.isclose(float(loss.data), math.log(5), rel_tol=1e-15)
    loss.backward()
    expected = (np.full((4, 5), 0.2) - np.eye(5)[[0, 1, 2, 4]]) / 4
    assert_grad(logits, expected)


def test_softmax_ce_is_finite_at_plus_minus_1000_and_shift_invariant():
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]])
    y = np.array([2, 1])
    logits = leaf(z)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = ag.softmax_cross_entropy(logits, y)
        loss.backward()
    assert np.isfinite(loss.data) and np.all(np.isfinite(logits.grad))
    assert_close(logits.grad.sum(axis=1), [0.0, 0.0], atol=1e-15)
    rng = np.random.default_rng(0)
    zs = rng.normal(size=(3, 4))
    base = float(ag.softmax_cross_entropy(Tensor(zs), np.array([0, 1, 3])).data)
    shifted = float(ag.softmax_cross_entropy(Tensor(zs + 1e3), np.array([0, 1, 3])).data)
    assert math.isclose(base, shifted, rel_tol=1e-10)


def test_softmax_ce_matches_torch_and_does_not_mutate_labels():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(6, 4)) * 3
    y = rng.integers(0, 4, size=6)
    y_before = y.copy()
    logits, tz = leaf(z), tleaf(z)
    loss = ag.softmax_cross_entropy(logits, y)
    tloss = torch.nn.functional.cross_entropy(tz, torch.tensor(y))
    assert_close(loss.data, tloss.detach().numpy())
    loss.backward()
    tloss.backward()
    assert_grad(logits, tz.grad.numpy())
    np.testing.assert_array_equal(y, y_before)


def test_softmax_ce_rejects_bad_labels():
    with pytest.raises(ValueError):
        ag.softmax_cross_entropy(leaf(np.zeros((2, 3))), np.array([0, 3]))
    with pytest.raises(ValueError):
        ag.softmax_cross_entropy(leaf(np.zeros((2, 3))), np.array([[0], [1]]))
    with pytest.raises(ValueError):
        ag.softmax_cross_entropy(leaf(np.zeros((2, 3))), np.array([0.0, 1.0]))


def torch_mlp(X, arrays, activation):
    ts = [tleaf(a) for a in arrays]
    a = torch.tensor(X)
    for layer in range(len(ts) // 2):
        z = a @ ts[2 * layer].T + ts[2 * layer + 1]
        a = getattr(torch, activation)(z) if layer < len(ts) // 2 - 1 else z
    return a, ts


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_mlp_forward_and_loss_gradient_match_torch(activation):
    rng = np.random.default_rng(11)
    sizes = (4, 6, 7, 3)  # all dimensions different: a transpose mistake is a shape error
    X = rng.normal(size=(5, 4))
    y = rng.integers(0, 3, size=5)
    params = ag.init_mlp(sizes, seed=2)
    for p in params[1::2]:
        p.data = rng.normal(size=p.shape) * 0.5  # non-zero biases
    arrays = [p.data.copy() for p in params]
    logits = ag.mlp_forward(Tensor(X), params, activation)
    assert logits.shape == (5, 3)
    tlogits, ts = torch_mlp(X, arrays, activation)
    assert_close(logits.data, tlogits.detach().numpy())
    ag.softmax_cross_entropy(logits, y).backward()
    torch.nn.functional.cross_entropy(tlogits, torch.tensor(y)).backward()
    for p, t in zip(params, ts):
        assert_grad(p, t.grad.numpy())


def test_mlp_loss_gradient_matches_central_finite_differences():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(5, 4))
    y = rng.integers(0, 3, size=5)
    params = ag.init_mlp((4, 6, 3), seed=1)
    ag.softmax_cross_entropy(ag.mlp_forward(X, params, "tanh"), y).backward()
    h = 1e-5
    for p in params:
        num = np.zeros_like(p.data)
        for idx in np.ndindex(p.shape):
            orig = p.data[idx]
            vals = []
            for step in (h, -h):
                p.data[idx] = orig + step
                consts = [Tensor(q.data) for q in params]
                vals.append(float(ag.softmax_cross_entropy(ag.mlp_forward(X, consts, "tanh"), y).data))
            p.data[idx] = orig
            num[idx] = (vals[0] - vals[1]) / (2 * h)
        rel = np.abs(p.grad - num) / np.maximum(1e-8, np.abs(p.grad) + np.abs(num))
        assert rel.max() < 1e-6


def test_train_step_matches_one_torch_sgd_step():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(6, 4))
    y = rng.integers(0, 3, size=6)
    X_before, y_before = X.copy(), y.copy()
    params = ag.init_mlp((4, 5, 3), seed=3)
    arrays = [p.data.copy() for p in params]
    lr = 0.3
    for p in params:  # stale gradients from earlier work must not leak into the step
        p.grad = np.full(p.shape, 100.0)
    loss = ag.train_step(params, X, y, lr, "sigmoid")
    tlogits, ts = torch_mlp(X, arrays, "sigmoid")
    tloss = torch.nn.functional.cross_entropy(tlogits, torch.tensor(y))
    tloss.backward()
    assert isinstance(loss, float) and math.isclose(loss, float(tloss.detach()), rel_tol=1e-12)
    for p, a, t in zip(params, arrays, ts):
        assert_close(p.data, a - lr * t.grad.numpy())
        assert_close(a - p.data, lr * p.grad)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


def test_train_step_decreases_the_loss_on_a_fixed_batch():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(20, 4))
    y = rng.integers(0, 3, size=20)
    params = ag.init_mlp((4, 8, 3), seed=0)
    losses = [ag.train_step(params, X, y, 0.5, "relu") for _ in range(30)]
    assert losses[-1] < losses[0]


def test_mlp_param_errors():
    with pytest.raises(ValueError):
        ag.mlp_forward(Tensor(np.ones((2, 3))), [leaf(np.ones((2, 3)))])
    with pytest.raises(ValueError):
        ag.mlp_forward(Tensor(np.ones((2, 3))), ag.init_mlp((3, 2)), activation="softplus")


def test_engine_trains_64_32_10_on_digits_to_95_percent():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    X_tr_before = X_tr.copy()
    weights = ag.train_mlp(X_tr, y_tr, sizes=(64, 32, 10), activation="sigmoid", epochs=30, lr=0.5, seed=0)
    assert [w.shape for w in weights] == [(32, 64), (32,), (10, 32), (10,)]
    assert all(isinstance(w, np.ndarray) and w.dtype == np.float64 for w in weights)
    acc = float(np.mean(ag.predict(X_te, weights, "sigmoid") == y_te))
    assert acc >= 0.95, acc
    np.testing.assert_array_equal(X_tr, X_tr_before)
    again = ag.train_mlp(X_tr, y_tr, sizes=(64, 32, 10), activation="sigmoid", epochs=1, lr=0.5, seed=0)
    again2 = ag.train_mlp(X_tr, y_tr, sizes=(64, 32, 10), activation="sigmoid", epochs=1, lr=0.5, seed=0)
    for a, b in zip(again, again2):
        np.testing.assert_array_equal(a, b)  # deterministic given the seed


# ---------------------------------------------------------------------------------------------
# The module as the single source: markers, stubs, handout, figures
# ---------------------------------------------------------------------------------------------

SOURCE = ROOT / "solutions" / "autograd.py"
EXPECTED_REGIONS = [
    "__add__",
    "__mul__",
    "__pow__",
    "__matmul__",
    "exp",
    "log",
    "sigmoid",
    "tanh",
    "relu",
    "sum",
    "topological_order",
    "backward",
    "softmax_cross_entropy",
    "mlp_forward",
    "train_step",
]


def test_marker_regions_each_in_one_function_with_its_return():
    text = SOURCE.read_text()
    tree = ast.parse(text)
    funcs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    names = []
    for b1, e1, _, _ in stubs.regions(text):
        b, e = b1 - 1, e1 - 1
        # the innermost function containing the whole region (line numbers are 1-based)
        owners = [f for f in funcs if f.lineno < b + 1 < f.end_lineno]
        assert owners, f"region at line {b + 1} is not inside a function"
        owner = max(owners, key=lambda f: f.lineno)
        outer = [s for s in owner.body if b + 1 < s.lineno < e + 1]
        assert any(isinstance(s, ast.Return) for s in outer), f"region of {owner.name} lacks its return"
        assert not any(s.lineno > e + 1 for s in owner.body), f"code after the region in {owner.name}"
        names.append(owner.name)
    assert names == EXPECTED_REGIONS


def _stub_source() -> str:
    """The stub exactly as ``course stubs`` writes it."""
    return stubs.make_stub(SOURCE.read_text(), 4, "autograd.py")


def test_given_parts_work_in_the_stub():
    mod = types.ModuleType("autograd_stub")
    exec(compile(_stub_source(), "autograd_stub.py", "exec"), mod.__dict__)
    T = mod.Tensor
    x = T([[1.0, 2.0]], requires_grad=True, label="x")
    assert x.shape == (1, 2) and x.data.dtype == np.float64
    y = x.T
    y.backward_local(np.ones((2, 1)))
    np.testing.assert_array_equal(x.grad, [[1.0, 1.0]])
    nodes, edges = mod.graph(y)
    assert [n["op"] for n in nodes] == ["transpose", "leaf"] and edges == [(1, 0)]
    assert mod.unbroadcast(np.ones((2, 3)), (3,)).tolist() == [2.0, 2.0, 2.0]
    assert len(mod.init_mlp((3, 2))) == 2
    with pytest.raises(NotImplementedError, match="Task 4.1"):
        x + 1
    with pytest.raises(NotImplementedError, match="Task 4.10"):
        x.sum()
    with pytest.raises(NotImplementedError, match="Task 4.12"):
        x.backward(np.ones((1, 2)))


def test_figures_are_written(tmp_path):
    from grader.course.worked import autograd as worked

    for name, fn in worked.FIGURES.items():
        path = tmp_path / name
        fn(path)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_figure_layout_puts_parents_left_of_children():
    from grader.course.worked import autograd as worked

    y, _ = worked.lecture_example()
    nodes, edges = ag.graph(y)
    pos = worked.layout(nodes, edges)
    for p, c in edges:
        assert pos[p][0] < pos[c][0]

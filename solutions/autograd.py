"""Task 4: a computational-graph engine (reverse-mode automatic differentiation) on numpy arrays.

In the style of micrograd, but every node holds a float64 numpy array instead of one number.
Each operation creates a new node ``out`` that remembers its inputs (``out._parents``), the name
of the operation (``out._op``) and a small closure ``out._backward``. The closure knows the local
derivative of the operation: it reads the upstream gradient ``out.grad`` (dL/d out, same shape
as ``out``) and ADDS its contribution to each parent's ``.grad`` through ``parent._accumulate``.
``backward()`` orders the graph topologically and runs the closures from the output back to the
inputs.

The pattern every primitive op follows (``Tensor.T`` below is a complete, given example)::

    out = Tensor._from_op(<forward value as ndarray>, (self, other), "<op name>")
    def _backward() -> None:
        self._accumulate(<dL/d self, shape self.shape>)
        other._accumulate(<dL/d other, shape other.shape>)
    out._backward = _backward
    return out

Conventions:
- All data and gradients are float64 ndarrays. ``Tensor(data)`` copies ``data``; no function of
  this module mutates an array it is given (the training helpers update the parameters'
  ``.data``/``.grad`` attributes, see their docstrings).
- Binary ops broadcast like numpy. Their gradients are summed back over the broadcast axes with
  the given helper ``unbroadcast(grad, shape)``.
- Gradients accumulate: a node used twice receives the sum of both contributions
  (a = 1; b = a + a; c = b + b gives dc/da = 4).
- Batch convention of the MLP helpers: ROW layout, X of shape (N, D), one sample per row;
  W of shape (out, in) as in the lecture and torch's Linear.weight, so Z = X @ W.T + b with b of
  shape (out,). Losses are means over the N samples.

Student parts (Task 4.M, in file order): the forward pass and backward closure of each
primitive op (add, mul, pow, matmul, exp, log, sigmoid, tanh, relu, sum), the topological sort,
backward(), and the three network helpers softmax_cross_entropy, mlp_forward, train_step.
Each op can be tested alone with the given ``Tensor.backward_local(grad)``, which runs just that
node's closure without needing the topological sort or ``backward()``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "Tensor",
    "unbroadcast",
    "graph",
    "softmax_cross_entropy",
    "init_mlp",
    "mlp_forward",
    "train_step",
    "train_mlp",
    "predict",
]

ACTIVATIONS = ("sigmoid", "tanh", "relu")


# --------------------------------------------------------------------------------------------
# Given helpers
# --------------------------------------------------------------------------------------------


def unbroadcast(grad: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Sum grad over the axes numpy broadcasting added or stretched, so the result has shape `shape`.

    If an input of shape ``shape`` was broadcast to ``grad.shape`` in the forward pass, every
    copy of an input entry got the same derivative, so dL/d input is the SUM over the copies:
    first over the leading axes broadcasting prepended, then (keepdims) over each axis where
    ``shape`` has size 1 but ``grad`` does not. Example: shape (3,) broadcast to (4, 3) ->
    sum over axis 0; shape (4, 1) broadcast to (4, 3) -> sum over axis 1 keeping it.

    grad: float64 array, any shape that ``shape`` broadcasts to. shape: the target shape.
    Returns a NEW float64 ndarray of exactly ``shape`` (never a view of ``grad``); ``grad`` is not
    mutated. Raises ValueError if ``shape`` does not broadcast to ``grad.shape``.
    """
    g = np.asarray(grad, dtype=np.float64)
    shape = tuple(int(n) for n in shape)
    extra = g.ndim - len(shape)
    if extra < 0:
        raise ValueError(f"cannot unbroadcast a gradient of shape {g.shape} to the larger shape {shape}")
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(axis=stretched, keepdims=True)
    if g.shape != shape:
        raise ValueError(f"shape {shape} does not broadcast to the gradient's shape {np.shape(grad)}")
    return np.array(g, dtype=np.float64, copy=True)


def _as_tensor(value: Any) -> Tensor:
    """Wrap a Python number / array as a constant Tensor (requires_grad=False); Tensors pass through."""
    return value if isinstance(value, Tensor) else Tensor(value)


def _normalize_axes(axis: int | Sequence[int] | None, ndim: int) -> tuple[int, ...]:
    """Turn a numpy-style axis argument into a sorted tuple of distinct non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of bounds for a tensor with {ndim} dimensions")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis!r}")
    return tuple(sorted(out))


# --------------------------------------------------------------------------------------------
# The Tensor
# --------------------------------------------------------------------------------------------


class Tensor:
    """A node of the computational graph: a float64 ndarray ``data`` plus its gradient ``grad``.

    ``Tensor(data, requires_grad=False, label="")``: data is any array-like (a Python number,
    list, ndarray or another Tensor's data); it is COPIED into a float64 ndarray, so the caller's
    array is never mutated and later changes to it do not affect the Tensor.

    Attributes: ``data`` (float64 ndarray), ``grad`` (None until a backward pass reaches this
    node, then a float64 ndarray of ``data``'s shape), ``requires_grad`` (bool; the result of an
    op requires grad iff one of its inputs does), ``label`` (a display name for ``graph``).
    Internal: ``_parents`` (the input nodes, in argument order, repeated if an input is used
    twice), ``_op`` ("" for leaves, else the op name), ``_backward`` (the closure).

    Operators: ``+ - * / **`` (scalar exponent) and ``@`` with Tensors, Python numbers or
    ndarrays on either side (``2 * x``, ``x + 1``, ``1 / x``, ``ndarray @ x``); unary ``-``.
    """

    # Make numpy hand ``ndarray + Tensor`` (and *, -, /, @) to Tensor.__radd__ etc. instead of
    # broadcasting over the Tensor as an object.
    __array_ufunc__ = None

    def __init__(self, data: Any, requires_grad: bool = False, label: str = "") -> None:
        if isinstance(data, Tensor):
            data = data.data
        self.data: np.ndarray = np.array(data, dtype=np.float64)  # a copy
        self.grad: np.ndarray | None = None
        self.requires_grad: bool = bool(requires_grad)
        self.label: str = str(label)
        self._parents: tuple[Tensor, ...] = ()
        self._op: str = ""
        self._backward: Callable[[], None] = _leaf_backward

    # ----- given scaffolding -------------------------------------------------------------

    @staticmethod
    def _from_op(data: Any, parents: tuple[Tensor, ...], op: str) -> Tensor:
        """Create the output node of an op: stores data (float64), parents and op name.

        The new node requires grad iff any parent does; its ``_backward`` is a no-op until the
        op assigns its closure. ``data`` is used without copying if it already is a float64
        ndarray (ops compute fresh arrays).
        """
        out = Tensor.__new__(Tensor)
        out.data = np.asarray(data, dtype=np.float64)
        out.grad = None
        out.requires_grad = any(p.requires_grad for p in parents)
        out.label = ""
        out._parents = tuple(parents)
        out._op = op
        out._backward = _leaf_backward
        return out

    def _accumulate(self, g: np.ndarray) -> None:
        """Add a gradient contribution g (shape self.shape) into self.grad: grad += g.

        Does nothing if this node does not require grad (constants). Starts from zeros when
        ``grad`` is None. ``g`` is copied, never kept or mutated. Raises ValueError when the
        shape is wrong (usually a missing ``unbroadcast``).
        """
        if not self.requires_grad:
            return
        g = np.asarray(g, dtype=np.float64)
        if g.shape != self.data.shape:
            raise ValueError(
                f"gradient of shape {g.shape} for a tensor of shape {self.data.shape} "
                f"(op {self._op or 'leaf'!r}); did you forget unbroadcast(grad, shape)?"
            )
        if self.grad is None:
            self.grad = np.array(g, dtype=np.float64, copy=True)
        else:
            self.grad += g

    def _seed_gradient(self, grad: Any) -> np.ndarray:
        """Check backward()'s argument and return the seed dL/d self as a new float64 array."""
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad: no input had requires_grad=True")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar (size-1) outputs; this output "
                    f"has shape {self.shape}, call backward(grad) with an array of that shape"
                )
            return np.ones(self.shape, dtype=np.float64)
        g = np.array(grad.data if isinstance(grad, Tensor) else grad, dtype=np.float64)
        if g.shape != self.shape:
            raise ValueError(f"backward(grad): grad has shape {g.shape}, the output has shape {self.shape}")
        return g

    def backward_local(self, grad: Any) -> None:
        """Run only this node's backward closure with upstream gradient grad = dL/d self.

        Sets ``self.grad`` to a copy of ``grad`` (shape ``self.shape``) and calls
        ``self._backward()`` once, which accumulates into the parents' ``.grad``. No topological
        sort, no recursion: this tests one op on its own, e.g.
        ``z = x * y; z.backward_local(np.ones(z.shape)); x.grad`` equals ``y.data``.
        """
        g = np.array(grad.data if isinstance(grad, Tensor) else grad, dtype=np.float64)
        if g.shape != self.shape:
            raise ValueError(f"backward_local(grad): grad has shape {g.shape}, the node has shape {self.shape}")
        self.grad = g
        self._backward()

    def zero_grad(self) -> None:
        """Reset the gradient: grad = 0 (zeros of data's shape) if this tensor requires grad.

        Call it on the parameters before each backward pass of a training step, since backward
        accumulates. Tensors that do not require grad keep ``grad = None``.
        """
        if self.requires_grad:
            self.grad = np.zeros_like(self.data)

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of data (a tuple of ints)."""
        return tuple(self.data.shape)

    @property
    def ndim(self) -> int:
        """The number of dimensions of data."""
        return int(self.data.ndim)

    @property
    def size(self) -> int:
        """The number of entries of data."""
        return int(self.data.size)

    def item(self) -> float:
        """The value of a size-1 tensor as a Python float."""
        return float(self.data.item())

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=6, separator=", ")
        extra = f", op={self._op!r}" if self._op else ""
        rg = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({body}{extra}{rg})"

    @property
    def T(self) -> Tensor:
        """Transpose out = self^T (axes reversed); dL/d self = (dL/d out)^T. GIVEN: the worked example.

        self: any shape (..., m, n) -> out: shape reversed. The forward value is a view of
        self.data (never written to); the backward closure transposes the upstream gradient back.
        """
        out = Tensor._from_op(self.data.T, (self,), "transpose")

        def _backward() -> None:
            self._accumulate(out.grad.T)

        out._backward = _backward
        return out

    # ----- primitive ops (student parts) ---------------------------------------------------

    def __add__(self, other: Any) -> Tensor:
        """Elementwise sum out = self + other (numpy broadcasting); d out/d self = d out/d other = 1.

        self, other: broadcast-compatible shapes (other may be a number or ndarray: a constant);
        out: the broadcast shape. Backward: each input receives the upstream gradient summed
        over its broadcast axes, ``unbroadcast(out.grad, input.shape)``. Inputs not mutated.
        """
        other = _as_tensor(other)
        ### BEGIN SOLUTION
        out = Tensor._from_op(self.data + other.data, (self, other), "add")

        def _backward() -> None:
            self._accumulate(unbroadcast(out.grad, self.shape))
            other._accumulate(unbroadcast(out.grad, other.shape))

        out._backward = _backward
        return out
        ### END SOLUTION

    def __mul__(self, other: Any) -> Tensor:
        """Elementwise product out = self * other (broadcasting); d out/d self = other, d out/d other = self.

        self, other: broadcast-compatible shapes; out: the broadcast shape. Backward:
        dL/d self = unbroadcast(out.grad * other.data, self.shape) and symmetrically for other.
        ``x * x`` must give 2 x (both contributions accumulate). Inputs not mutated.
        """
        other = _as_tensor(other)
        ### BEGIN SOLUTION
        out = Tensor._from_op(self.data * other.data, (self, other), "mul")

        def _backward() -> None:
            self._accumulate(unbroadcast(out.grad * other.data, self.shape))
            other._accumulate(unbroadcast(out.grad * self.data, other.shape))

        out._backward = _backward
        return out
        ### END SOLUTION

    def __pow__(self, exponent: float) -> Tensor:
        """Elementwise power out = self ** p for a constant scalar p; d out/d self = p * self ** (p - 1).

        self: any shape; p: a Python / numpy number (a Tensor exponent raises TypeError);
        out: self's shape. Non-integer p needs positive entries (else nan, as in numpy and
        torch). Inputs not mutated.
        """
        if isinstance(exponent, Tensor) or np.ndim(exponent) != 0:
            raise TypeError("Tensor ** p supports only a constant scalar exponent p")
        p = float(exponent)
        ### BEGIN SOLUTION
        out = Tensor._from_op(self.data**p, (self,), "pow")

        def _backward() -> None:
            self._accumulate(out.grad * p * self.data ** (p - 1.0))

        out._backward = _backward
        return out
        ### END SOLUTION

    def __matmul__(self, other: Any) -> Tensor:
        """Matrix product out = self @ other; for 2-D A @ B: dL/dA = G @ B^T, dL/dB = A^T @ G with G = dL/d out.

        Shapes: (n, k) @ (k, m) -> (n, m); (n, k) @ (k,) -> (n,); (k,) @ (k, m) -> (m,);
        (k,) @ (k,) -> () (the dot product). Only 1-D and 2-D operands (ValueError otherwise).
        Hint for the 1-D cases: view a 1-D left operand as a (1, k) row and a 1-D right operand
        as a (k, 1) column, use the 2-D formulas, reshape the results back. Inputs not mutated.
        """
        other = _as_tensor(other)
        if self.ndim not in (1, 2) or other.ndim not in (1, 2):
            raise ValueError(f"matmul supports 1-D and 2-D operands only, got shapes {self.shape} and {other.shape}")
        ### BEGIN SOLUTION
        out = Tensor._from_op(self.data @ other.data, (self, other), "matmul")

        def _backward() -> None:
            a = self.data if self.ndim == 2 else self.data[None, :]
            b = other.data if other.ndim == 2 else other.data[:, None]
            g = out.grad.reshape(a.shape[0], b.shape[1])
            self._accumulate((g @ b.T).reshape(self.shape))
            other._accumulate((a.T @ g).reshape(other.shape))

        out._backward = _backward
        return out
        ### END SOLUTION

    def exp(self) -> Tensor:
        """Elementwise exponential out = e ** self; d out/d self = e ** self (= out).

        self: any shape; out: same shape. Overflows to inf above ~709, as numpy does.
        Inputs not mutated.
        """
        ### BEGIN SOLUTION
        out = Tensor._from_op(np.exp(self.data), (self,), "exp")

        def _backward() -> None:
            self._accumulate(out.grad * out.data)

        out._backward = _backward
        return out
        ### END SOLUTION

    def log(self) -> Tensor:
        """Elementwise natural logarithm out = ln(self); d out/d self = 1 / self.

        self: any shape, entries > 0 (ln 0 = -inf, negative -> nan, as numpy); out: same shape.
        Inputs not mutated.
        """
        ### BEGIN SOLUTION
        out = Tensor._from_op(np.log(self.data), (self,), "log")

        def _backward() -> None:
            self._accumulate(out.grad / self.data)

        out._backward = _backward
        return out
        ### END SOLUTION

    def sigmoid(self) -> Tensor:
        """Elementwise logistic function out = 1 / (1 + e ** -self); d out/d self = out * (1 - out).

        self: any shape; out: same shape. Numerical stability: compute with e = exp(-|x|),
        sigma = 1/(1+e) for x >= 0 and e/(1+e) for x < 0, so nothing overflows at +-1000.
        Inputs not mutated.
        """
        ### BEGIN SOLUTION
        x = self.data
        e = np.exp(-np.abs(x))
        s = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        out = Tensor._from_op(s, (self,), "sigmoid")

        def _backward() -> None:
            self._accumulate(out.grad * out.data * (1.0 - out.data))

        out._backward = _backward
        return out
        ### END SOLUTION

    def tanh(self) -> Tensor:
        """Elementwise hyperbolic tangent out = tanh(self); d out/d self = 1 - out ** 2.

        self: any shape; out: same shape (np.tanh is stable for large |x|). Inputs not mutated.
        """
        ### BEGIN SOLUTION
        out = Tensor._from_op(np.tanh(self.data), (self,), "tanh")

        def _backward() -> None:
            self._accumulate(out.grad * (1.0 - out.data**2))

        out._backward = _backward
        return out
        ### END SOLUTION

    def relu(self) -> Tensor:
        """Elementwise rectifier out = max(self, 0); d out/d self = 1 where self > 0, else 0 (0 at the kink, as torch).

        self: any shape; out: same shape. Inputs not mutated.
        """
        ### BEGIN SOLUTION
        out = Tensor._from_op(np.maximum(self.data, 0.0), (self,), "relu")

        def _backward() -> None:
            self._accumulate(out.grad * (self.data > 0))

        out._backward = _backward
        return out
        ### END SOLUTION

    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Sum out = sum of self over `axis` (all axes if None); d out/d self = 1 for every summed entry.

        self: any shape; out: self's shape without the summed axes (kept as size 1 if
        keepdims). Backward: every entry of self receives the upstream gradient of the sum it
        went into: re-insert the summed axes (``np.expand_dims(out.grad, axes)`` when not
        keepdims), then ``np.broadcast_to(..., self.shape)``. ``axes`` below is the sorted tuple
        of non-negative summed axes. Inputs not mutated.
        """
        axes = _normalize_axes(axis, self.ndim)
        keepdims = bool(keepdims)
        ### BEGIN SOLUTION
        out = Tensor._from_op(self.data.sum(axis=axes, keepdims=keepdims), (self,), "sum")

        def _backward() -> None:
            g = out.grad if keepdims else np.expand_dims(out.grad, axes)
            self._accumulate(np.broadcast_to(g, self.shape))

        out._backward = _backward
        return out
        ### END SOLUTION

    # ----- derived ops and operator plumbing (given; built from the primitives) ------------

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Mean out = sum(self, axis) / n with n the number of summed entries; derived: sum then multiply by 1/n.

        Shapes as in ``sum``. Inputs not mutated.
        """
        axes = _normalize_axes(axis, self.ndim)
        n = int(np.prod([self.shape[a] for a in axes], dtype=np.int64))
        return self.sum(axis=axes, keepdims=keepdims) * (1.0 / n)

    def __neg__(self) -> Tensor:
        """Negation -self, derived as self * (-1)."""
        return self * -1.0

    def __radd__(self, other: Any) -> Tensor:
        """other + self (other a number / ndarray), via __add__."""
        return self + other

    def __sub__(self, other: Any) -> Tensor:
        """Difference self - other, derived as self + (-other)."""
        return self + (-_as_tensor(other))

    def __rsub__(self, other: Any) -> Tensor:
        """other - self (other a number / ndarray), derived as other + (-self)."""
        return _as_tensor(other) + (-self)

    def __rmul__(self, other: Any) -> Tensor:
        """other * self (other a number / ndarray), via __mul__."""
        return self * other

    def __truediv__(self, other: Any) -> Tensor:
        """Quotient self / other, derived as self * other ** -1."""
        return self * _as_tensor(other) ** -1.0

    def __rtruediv__(self, other: Any) -> Tensor:
        """other / self (other a number / ndarray), derived as other * self ** -1."""
        return _as_tensor(other) * self**-1.0

    def __rmatmul__(self, other: Any) -> Tensor:
        """other @ self (other an ndarray), via __matmul__."""
        return _as_tensor(other) @ self

    # ----- the backward pass (student parts) -----------------------------------------------

    def topological_order(self) -> list[Tensor]:
        """Topological order of the graph ending at self: every node after all of its parents, self last.

        Returns a list of the distinct Tensors reachable from self through ``_parents`` (each
        exactly once, self included as the last element; a node used twice appears once).
        Must be ITERATIVE (an explicit stack, no recursion): a chain of 5000 ops must work,
        where a recursive depth-first search hits Python's recursion limit near 1000.
        Nothing is mutated. You can test it before writing any op with a chain of the given
        ``.T``: ``z = x; for _ in range(5000): z = z.T``.
        """
        ### BEGIN SOLUTION
        order: list[Tensor] = []
        visited: set[int] = set()
        stack: list[tuple[Tensor, bool]] = [(self, False)]
        while stack:
            node, parents_done = stack.pop()
            if parents_done:
                order.append(node)  # post-order: all parents were appended before
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            for parent in node._parents:
                if id(parent) not in visited:
                    stack.append((parent, False))
        return order
        ### END SOLUTION

    def backward(self, grad: Any = None) -> None:
        """Reverse-mode pass: for every node n of the graph, add dL/dn into n.grad, with L = sum(grad * self).

        grad: dL/d self, an array of self's shape; may be omitted only for a size-1 output
        (then it is ones), as in PyTorch (RuntimeError otherwise, and if self does not require
        grad; ValueError for a wrong shape). Order: ``self.topological_order()`` reversed, so a
        node's closure runs only after ALL its children have added their contributions to its
        ``.grad``. Nodes whose ``.grad`` is None at their turn (constants, which do not require
        grad) are skipped.

        Calling backward() twice (the graph is kept, never freed): LEAF tensors accumulate, as
        in PyTorch, so after two calls a leaf's ``.grad`` is twice the gradient (call
        ``zero_grad()`` in between to start over). INTERMEDIATE (non-leaf) nodes are reset to
        None at the start of each call and afterwards hold d(this output)/d(node) from the
        latest call only (PyTorch instead frees the graph and keeps no intermediate .grad).
        Inputs' ``.data`` are never mutated.
        """
        seed = self._seed_gradient(grad)
        ### BEGIN SOLUTION
        order = self.topological_order()
        for node in order:
            if node._parents:  # intermediate: holds this call's gradient only
                node.grad = None
        self._accumulate(seed)
        for node in reversed(order):
            if node.grad is not None:
                node._backward()
        return None
        ### END SOLUTION


def _leaf_backward() -> None:
    """The closure of a leaf: there is nothing further back to propagate to."""
    return None


# --------------------------------------------------------------------------------------------
# Listing the graph (given)
# --------------------------------------------------------------------------------------------


def _node_label(t: Tensor) -> str:
    if t.label:
        return t.label
    if not t._parents and t.data.size == 1:
        return f"{t.data.item():.4g}"
    return ""


def graph(root: Tensor, include_values: bool = False) -> tuple[list[dict[str, Any]], list[tuple[int, int]]]:
    """List the computational graph ending at root as plain data: (nodes, edges), edge = (parent_id, child_id).

    nodes: one dict per distinct Tensor reachable from root, numbered by breadth-first
    discovery from root (root has id 0): {"id": int, "op": str, "shape": list[int],
    "label": str}; op is the op name for results ("add", "mul", "pow", "matmul", "exp", "log",
    "sigmoid", "tanh", "relu", "sum", "transpose"), "leaf" for leaves with requires_grad and
    "const" for other leaves; label is the tensor's ``label``, else the value of a size-1 leaf,
    else "". With ``include_values`` each dict also has "data" (nested lists of floats) and
    "grad" (nested lists, or None).
    edges: one (parent_id, child_id) pair per input of each op, in argument order, so an input
    used twice (``a + a``) gives two equal edges. Iterative; nothing is mutated.
    """
    ids: dict[int, int] = {id(root): 0}
    queue: deque[Tensor] = deque([root])
    found: list[Tensor] = [root]
    edges: list[tuple[int, int]] = []
    while queue:
        node = queue.popleft()
        for parent in node._parents:
            if id(parent) not in ids:
                ids[id(parent)] = len(found)
                found.append(parent)
                queue.append(parent)
            edges.append((ids[id(parent)], ids[id(node)]))
    nodes = []
    for i, t in enumerate(found):
        op = t._op or ("leaf" if t.requires_grad else "const")
        d: dict[str, Any] = {"id": i, "op": op, "shape": [int(n) for n in t.shape], "label": _node_label(t)}
        if include_values:
            d["data"] = t.data.tolist()
            d["grad"] = None if t.grad is None else np.asarray(t.grad).tolist()
        nodes.append(d)
    return nodes, edges


# --------------------------------------------------------------------------------------------
# A small network on the engine
# --------------------------------------------------------------------------------------------


def _check_labels(labels: Any, shape: tuple[int, ...]) -> np.ndarray:
    if len(shape) != 2:
        raise ValueError(f"logits must have shape (N, C), got {shape}")
    y = np.asarray(labels)
    if y.shape != (shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be an integer array of shape ({shape[0]},), got {y.dtype} {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= shape[1]):
        raise ValueError(f"labels must lie in 0..{shape[1] - 1}")
    return y.astype(np.int64)


def softmax_cross_entropy(logits: Tensor, labels: np.ndarray) -> Tensor:
    """Mean softmax cross-entropy L = (1/N) sum_n [log sum_c exp(z_nc) - z_n,y_n], built from the engine's primitives.

    logits: Tensor of shape (N, C) (float64); labels: integer ndarray of shape (N,) with values
    in 0..C-1 (not mutated). Returns a Tensor of shape () that requires grad iff logits does;
    its gradient w.r.t. the logits is (softmax(z) - onehot(y)) / N.
    Numerical stability: log-sum-exp with the row maximum m_n = max_c z_nc subtracted first,
    ``m`` taken from ``logits.data`` as a CONSTANT (the loss does not depend on it, so no
    gradient flows through it); finite at logits of +-1000. Pick z_n,y_n with a constant
    one-hot mask: ``(shifted * onehot).sum(axis=1)``.
    """
    logits = _as_tensor(logits)
    y = _check_labels(labels, logits.shape)
    ### BEGIN SOLUTION
    n, c = logits.shape
    m = logits.data.max(axis=1, keepdims=True)  # constant (N, 1)
    shifted = logits - m  # (N, C), entries <= 0
    log_sum_exp = shifted.exp().sum(axis=1).log()  # (N,)
    onehot = np.eye(c)[y]  # (N, C) constant
    picked = (shifted * onehot).sum(axis=1)  # (N,)
    return (log_sum_exp - picked).mean()
    ### END SOLUTION


def init_mlp(sizes: Sequence[int], seed: int = 0) -> list[Tensor]:
    """Initial MLP parameters [W1, b1, ..., WL, bL]: W_l ~ N(0, 1/fan_in) of shape (out, in), b_l = 0 of shape (out,).

    sizes: layer widths (D, H1, ..., C), e.g. (64, 32, 10). All Tensors have requires_grad=True,
    float64. Deterministic given seed (numpy default_rng).
    """
    rng = np.random.default_rng(seed)
    params: list[Tensor] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params.append(Tensor(rng.normal(0.0, 1.0 / np.sqrt(fan_in), size=(fan_out, fan_in)), requires_grad=True))
        params.append(Tensor(np.zeros(fan_out), requires_grad=True))
    return params


def _check_params(params: Sequence[Any], activation: str) -> None:
    if len(params) == 0 or len(params) % 2:
        raise ValueError("params must be [W1, b1, ..., WL, bL] (an even, non-zero number of entries)")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")


def mlp_forward(x: Tensor, params: Sequence[Tensor], activation: str = "sigmoid") -> Tensor:
    """MLP logits: A_0 = x, Z_l = A_{l-1} @ W_l^T + b_l, A_l = act(Z_l) for hidden layers, output Z_L (no activation).

    ROW layout: x of shape (N, D), one sample per row (a Tensor, or an ndarray taken as a
    constant); params [W1, b1, ..., WL, bL] with W_l of shape (out, in) (as torch's
    Linear.weight) and b_l of shape (out,). activation in {"sigmoid", "tanh", "relu"}.
    Returns the logits Tensor of shape (N, C), part of a graph reaching the parameters.
    Nothing is mutated.
    """
    _check_params(params, activation)
    x = _as_tensor(x)
    ### BEGIN SOLUTION
    a = x
    n_layers = len(params) // 2
    for layer in range(n_layers):
        w, b = _as_tensor(params[2 * layer]), _as_tensor(params[2 * layer + 1])
        z = a @ w.T + b
        a = getattr(z, activation)() if layer < n_layers - 1 else z
    return a
    ### END SOLUTION


def train_step(params: Sequence[Tensor], X: np.ndarray, y: np.ndarray, lr: float, activation: str = "sigmoid") -> float:
    """One gradient-descent step theta <- theta - lr * dL/dtheta on L = softmax_cross_entropy(mlp_forward(X), y); returns L before the step.

    params: [W1, b1, ...] Tensors with requires_grad=True (see ``mlp_forward``); X: (N, D)
    float64 batch, ROW layout; y: (N,) integer labels; lr: the step size. Zeroes each
    parameter's ``.grad`` first (backward accumulates), then forward, backward, update.
    MUTATES the parameters: each ``p.data`` is REPLACED by a new array ``p.data - lr * p.grad``
    and ``p.grad`` holds this batch's gradient; X and y are not mutated. Returns the loss as a
    Python float.
    """
    _check_params(params, activation)
    ### BEGIN SOLUTION
    for p in params:
        p.zero_grad()
    loss = softmax_cross_entropy(mlp_forward(Tensor(X), params, activation), y)
    loss.backward()
    for p in params:
        p.data = p.data - lr * p.grad
    return float(loss.data)
    ### END SOLUTION


def train_mlp(
    X: np.ndarray,
    y: np.ndarray,
    sizes: Sequence[int] = (64, 32, 10),
    activation: str = "sigmoid",
    epochs: int = 30,
    lr: float = 0.5,
    batch_size: int = 32,
    seed: int = 0,
) -> list[np.ndarray]:
    """Train an MLP with mini-batch gradient descent (``train_step`` on shuffled batches) and return its weights.

    X: (N, D) float64 features, ROW layout (scale them first, e.g. digits / 16); y: (N,) integer
    labels in 0..C-1. Each epoch visits a fresh permutation (numpy default_rng(seed)) in batches
    of ``batch_size``. Returns [W1, b1, ..., WL, bL] as new float64 ndarrays, W_l (out, in),
    b_l (out,). Deterministic given seed. X and y are not mutated.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    params = init_mlp(sizes, seed)
    rng = np.random.default_rng(seed + 1)
    n = X.shape[0]
    for _ in range(epochs):
        perm = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = perm[start : start + batch_size]
            train_step(params, X[idx], y[idx], lr, activation)
    return [p.data.copy() for p in params]


def predict(X: np.ndarray, params: Sequence[Any], activation: str = "sigmoid") -> np.ndarray:
    """Predicted classes argmax_c of the MLP logits for each row of X.

    X: (N, D) float64, ROW layout; params [W1, b1, ...] as ndarrays or Tensors (see
    ``mlp_forward``). Returns an int64 array of shape (N,). Nothing is mutated.
    """
    consts = [Tensor(p.data if isinstance(p, Tensor) else p) for p in params]
    return np.asarray(mlp_forward(Tensor(X), consts, activation).data.argmax(axis=1), dtype=np.int64)

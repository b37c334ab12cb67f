"""Worked numbers and figures of reference/autograd.md, computed by solutions.autograd (10 significant digits).

BLOCKS: markdown tables of node values and gradients for the note's examples.
FIGURES: computational graphs drawn with matplotlib from ``solutions.autograd.graph`` (no
graphviz): nodes are laid out in columns by topological depth, leaves just left of their first
consumer, and ordered within a column by the mean height of their parents.
"""

from __future__ import annotations

import pathlib
from typing import Any

import numpy as np

from grader.course.markdown import num as _g
from grader.course.markdown import table as _table
from solutions import autograd as ag


def _arr(a: Any) -> str:
    """A scalar, vector or matrix to 10 significant digits, nested brackets for arrays."""
    if a is None:
        return "None"
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0:
        return _g(a)
    return "[" + ", ".join(_arr(row) for row in a) + "]"


def _node_rows(root: ag.Tensor, names: dict[int, str]) -> list[list[str]]:
    """One row per node of root's graph in topological order: name, op, shape, value, grad."""
    rows = []
    for t in root.topological_order():
        op = t._op or ("leaf" if t.requires_grad else "const")
        name = names.get(id(t)) or t.label
        if not name and not t._parents and t.data.size == 1:
            name = _g(t.data)  # an unnamed constant such as the 2 of 2 * x
        grad = "None (constant)" if t.grad is None else _arr(t.grad)
        rows.append([f"`{name}`" if name else "", op, str(t.shape), _arr(t.data), grad])
    return rows


NODE_HEADER = ["node", "op", "shape", "value (forward)", "grad = d(out)/d(node) (backward)"]


# ---------------------------------------------------------------------------------------------
# The examples (shared by BLOCKS and FIGURES)
# ---------------------------------------------------------------------------------------------


def lecture_example() -> tuple[ag.Tensor, dict[str, ag.Tensor]]:
    """y = x ** 2 + 2 * x at x = [1.0], after y.backward()."""
    x = ag.Tensor([1.0], requires_grad=True, label="x")
    sq = x**2
    sq.label = "x**2"
    tx = 2 * x
    tx.label = "2*x"
    y = sq + tx
    y.label = "y"
    y.backward()
    return y, {"x": x, "x**2": sq, "2*x": tx, "y": y}


def diamond_example() -> tuple[ag.Tensor, dict[str, ag.Tensor]]:
    """a = 1; b = a + a; c = b + b, after c.backward()."""
    a = ag.Tensor(1.0, requires_grad=True, label="a")
    b = a + a
    b.label = "b"
    c = b + b
    c.label = "c"
    c.backward()
    return c, {"a": a, "b": b, "c": c}


NEURON_W = [0.5, -1.0, 2.0]
NEURON_X = [1.0, 2.0, -0.5]
NEURON_B = 0.1


def neuron_example() -> tuple[ag.Tensor, dict[str, ag.Tensor]]:
    """z = w . x + b with w, b parameters and x a constant input, after z.backward()."""
    w = ag.Tensor(NEURON_W, requires_grad=True, label="w")
    x = ag.Tensor(NEURON_X, label="x")
    b = ag.Tensor(NEURON_B, requires_grad=True, label="b")
    wx = w @ x
    wx.label = "w.x"
    z = wx + b
    z.label = "z"
    z.backward()
    return z, {"w": w, "x": x, "b": b, "w.x": wx, "z": z}


BROADCAST_X = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
BROADCAST_B = [0.1, 0.2, 0.3]
BROADCAST_C = [[1.0], [-1.0]]


def broadcast_example() -> tuple[ag.Tensor, dict[str, ag.Tensor]]:
    """L = sum(X * b + c) with X (2, 3) constant, b (3,) and c (2, 1) parameters, after L.backward()."""
    X = ag.Tensor(BROADCAST_X, label="X")
    b = ag.Tensor(BROADCAST_B, requires_grad=True, label="b")
    c = ag.Tensor(BROADCAST_C, requires_grad=True, label="c")
    Xb = X * b
    Xb.label = "X*b"
    y = Xb + c
    y.label = "Y"
    L = y.sum()
    L.label = "L"
    L.backward()
    return L, {"X": X, "b": b, "c": c, "X*b": Xb, "Y": y, "L": L}


CE_LOGITS = [[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]]
CE_LABELS = [0, 2]


# ---------------------------------------------------------------------------------------------
# BLOCKS
# ---------------------------------------------------------------------------------------------


def _names(named: dict[str, ag.Tensor]) -> dict[int, str]:
    return {id(t): n for n, t in named.items()}


def lecture_block() -> str:
    y, named = lecture_example()
    rows = _node_rows(y, _names(named))
    x = named["x"]
    return (
        _table(NODE_HEADER, rows)
        + f"\n\nSo `x.grad` = {_arr(x.grad)}: the derivative 2x + 2 at x = 1, collected from the two uses of x "
        f"(x**2 contributes 2x = {_arr(2 * x.data)}, 2*x contributes {_g(2.0)})."
    )


def diamond_block() -> str:
    c, named = diamond_example()
    rows = _node_rows(c, _names(named))
    a, b = named["a"], named["b"]
    after_one = (_arr(a.grad), _arr(b.grad))
    c.backward()
    after_two = (_arr(a.grad), _arr(b.grad))
    a.zero_grad()
    c.backward()
    after_zero = (_arr(a.grad), _arr(b.grad))
    calls = _table(
        ["calls", "a.grad (leaf: accumulates)", "b.grad (intermediate: latest call)"],
        [
            ["c.backward()", *after_one],
            ["c.backward() again", *after_two],
            ["a.zero_grad(); c.backward()", *after_zero],
        ],
    )
    return _table(NODE_HEADER, rows) + "\n\n" + calls


def neuron_block() -> str:
    z, named = neuron_example()
    return _table(NODE_HEADER, _node_rows(z, _names(named)))


def broadcast_block() -> str:
    L, named = broadcast_example()
    table = _table(NODE_HEADER, _node_rows(L, _names(named)))
    ub_cases = [((2, 3), (3,)), ((2, 3), (2, 1)), ((2, 3), (1, 3)), ((2, 3), ()), ((4, 2, 3), (2, 1))]
    rows = []
    for big, small in ub_cases:
        g = np.arange(1.0, 1.0 + np.prod(big)).reshape(big)
        rows.append([str(big), str(small), _arr(ag.unbroadcast(g, small))])
    ub = _table(["upstream grad shape (entries 1, 2, 3, ...)", "input shape", "unbroadcast(grad, input shape)"], rows)
    return table + "\n\n" + ub


def softmax_ce_block() -> str:
    logits = ag.Tensor(CE_LOGITS, requires_grad=True, label="Z")
    labels = np.array(CE_LABELS)
    loss = ag.softmax_cross_entropy(logits, labels)
    loss.backward()
    z = np.asarray(CE_LOGITS)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    onehot = np.eye(z.shape[1])[labels]
    rows = [
        ["logits Z (N=2, C=3)", _arr(z)],
        ["labels y", "[" + ", ".join(str(int(v)) for v in labels) + "]"],
        ["loss L", _arr(loss.data)],
        ["Z.grad (engine)", _arr(logits.grad)],
        ["(softmax(Z) - onehot(y)) / N", _arr((p - onehot) / z.shape[0])],
        ["rows of Z.grad sum to 0 (to 1e-12)", str(bool(np.all(np.abs(logits.grad.sum(axis=1)) < 1e-12)))],
    ]
    return _table(["quantity", "value"], rows)


BLOCKS = {
    "autograd-lecture-example": lecture_block,
    "autograd-diamond": diamond_block,
    "autograd-neuron": neuron_block,
    "autograd-broadcast": broadcast_block,
    "autograd-softmax-ce": softmax_ce_block,
}


# ---------------------------------------------------------------------------------------------
# FIGURES: lay the graph out by topological depth and draw it with matplotlib
# ---------------------------------------------------------------------------------------------

OP_SYMBOL = {"add": "+", "mul": "*", "pow": "**", "matmul": "@", "sum": "sum", "transpose": ".T"}


def layout(nodes: list[dict[str, Any]], edges: list[tuple[int, int]]) -> dict[int, tuple[float, float]]:
    """Positions (column, row) for the nodes of a graph listing: column = topological depth.

    Non-leaf nodes sit one column right of their deepest parent; leaves one column left of
    their first consumer. Within a column nodes are ordered by the mean row of their parents
    (leaves by the mean row of their children) and centred around 0. Iterative (Kahn).
    """
    ids = [n["id"] for n in nodes]
    parents: dict[int, list[int]] = {i: [] for i in ids}
    children: dict[int, list[int]] = {i: [] for i in ids}
    for p, c in edges:
        parents[c].append(p)
        children[p].append(c)
    indeg = {i: len(set(parents[i])) for i in ids}
    ready = [i for i in ids if indeg[i] == 0]
    order: list[int] = []
    while ready:
        i = ready.pop()
        order.append(i)
        for c in dict.fromkeys(children[i]):
            indeg[c] -= 1
            if indeg[c] == 0:
                ready.append(c)
    depth: dict[int, int] = {}
    for i in order:
        depth[i] = 1 + max((depth[p] for p in parents[i]), default=-1)
    for i in ids:  # pull leaves next to their first consumer
        if not parents[i] and children[i]:
            depth[i] = min(depth[c] for c in children[i]) - 1
    columns: dict[int, list[int]] = {}
    for i in order:
        columns.setdefault(depth[i], []).append(i)
    row: dict[int, float] = {}
    for d in sorted(columns):
        col = columns[d]
        for k, i in enumerate(col):
            row[i] = float(k)
    for _sweep in range(2):  # barycentre ordering, left to right, then leaves by their children
        for d in sorted(columns):
            col = columns[d]
            key = {}
            for k, i in enumerate(col):
                ref = [row[p] for p in parents[i]] or [row[c] for c in children[i]] or [float(k)]
                key[i] = (sum(ref) / len(ref), k)
            col.sort(key=lambda i: key[i])
            for k, i in enumerate(col):
                row[i] = k - (len(col) - 1) / 2
    return {i: (float(depth[i]), row[i]) for i in ids}


def _fmt_small(v: Any) -> str:
    a = np.asarray(v, dtype=np.float64)
    if a.size > 4:
        return f"array {a.shape}"
    if a.ndim == 0:
        return f"{float(a):.4g}"
    return "[" + ", ".join(f"{float(t):.4g}" for t in a.ravel()) + "]"


def draw_graph(root: ag.Tensor, path: pathlib.Path, title: str) -> None:
    """Draw root's graph (from ``ag.graph(root, include_values=True)``) to a PNG at path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    nodes, edges = ag.graph(root, include_values=True)
    pos = layout(nodes, edges)
    ncols = int(max(x for x, _ in pos.values())) + 1
    nrows = max(sum(1 for x, _ in pos.values() if x == c) for c in range(ncols))
    fig, ax = plt.subplots(figsize=(2.4 * ncols + 1.0, 1.5 * nrows + 1.4))
    colors = {"leaf": "#cfe2f3", "const": "#e6e6e6"}
    boxes = {}
    for n in nodes:
        x, y = pos[n["id"]]
        op = n["op"]
        head = n["label"] or OP_SYMBOL.get(op, op)
        lines = [head if op in ("leaf", "const") else f"{head}   [{OP_SYMBOL.get(op, op)}]"]
        lines.append(f"value {_fmt_small(n['data'])}")
        lines.append("grad " + ("None" if n["grad"] is None else _fmt_small(n["grad"])))
        boxes[n["id"]] = ax.text(
            x * 2.4,
            -y * 1.5,
            "\n".join(lines),
            ha="center",
            va="center",
            fontsize=9,
            family="monospace",
            bbox=dict(boxstyle="round,pad=0.4", fc=colors.get(op, "#fce5cd"), ec="#555555"),
            zorder=3,
        )
    seen: dict[tuple[int, int], int] = {}
    for p, c in edges:
        k = seen.get((p, c), 0)
        seen[(p, c)] = k + 1
        count = edges.count((p, c))  # an input used twice: bend the parallel arrows apart
        rad = 0.0 if count == 1 else float(np.linspace(-0.35, 0.35, count)[k])
        ax.annotate(
            "",
            xy=(pos[c][0] * 2.4, -pos[c][1] * 1.5),
            xytext=(pos[p][0] * 2.4, -pos[p][1] * 1.5),
            arrowprops=dict(
                arrowstyle="-|>",
                color="#333333",
                lw=1.2,
                shrinkA=34,
                shrinkB=34,
                connectionstyle=f"arc3,rad={rad}",
            ),
            zorder=2,
        )
    ax.set_xlim(-1.3, (ncols - 1) * 2.4 + 1.3)
    ys = [-y * 1.5 for _, y in pos.values()]
    ax.set_ylim(min(ys) - 0.9, max(ys) + 0.9)
    ax.axis("off")
    ax.set_title(title, fontsize=11)
    ax.legend(
        handles=[
            Patch(fc=colors["leaf"], ec="#555555", label="leaf, requires_grad"),
            Patch(fc=colors["const"], ec="#555555", label="constant"),
            Patch(fc="#fce5cd", ec="#555555", label="op result"),
        ],
        loc="lower center",
        bbox_to_anchor=(0.5, -0.12),
        ncol=3,
        fontsize=8,
        frameon=False,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def neuron_figure(path: pathlib.Path) -> None:
    z, _ = neuron_example()
    draw_graph(z, pathlib.Path(path), "z = w . x + b   (arrows: forward pass; backward runs them in reverse)")


def lecture_figure(path: pathlib.Path) -> None:
    y, _ = lecture_example()
    draw_graph(y, pathlib.Path(path), "y = x**2 + 2*x at x = 1: x is used twice, its grad is 2 + 2 = 4")


def diamond_figure(path: pathlib.Path) -> None:
    c, _ = diamond_example()
    draw_graph(c, pathlib.Path(path), "a = 1; b = a + a; c = b + b: two edges each, dc/da = 4")


FIGURES = {
    "autograd_neuron_graph.png": neuron_figure,
    "autograd_expression_graph.png": lecture_figure,
    "autograd_diamond_graph.png": diamond_figure,
}

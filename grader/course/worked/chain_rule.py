"""Worked numbers for reference/chain_rule.md, computed by solutions.chain_rule (10 significant digits)."""

from __future__ import annotations

import math

import numpy as np

from grader.course.markdown import num as _g
from grader.course.markdown import table as _table
from grader.course.markdown import vec as _vec
from solutions import chain_rule as C

EXAMPLE_XS = [3.0, 0.0, -2.0, -3.5]
COMPOSE_XS = [0.5, 1.0, 1.5]
NEURON = {"w": np.array([0.5, -0.25]), "x": np.array([1.0, 2.0]), "b": 0.0, "dL_dy": 1.0}
NEURON_LOSS = {"w": np.array([0.5, -0.3]), "x": np.array([1.0, 2.0]), "b": 0.4, "t": 1.0}
FD_STEP = 1e-5


def example_block() -> str:
    rows = []
    for x in EXAMPLE_XS:
        u = x + 2.0
        rows.append([_g(x), _g(u), _g(C.f_example(x)), _g(2.0 * u), "1", _g(C.f_example_grad(x))])
    return _table(["x", "u = x + 2", "f = u^2", "df/du = 2u", "du/dx", "df/dx = 2u * 1"], rows)


def compose_block() -> str:
    h, dh = C.compose(math.sin, math.cos, lambda x: x * x, lambda x: 2.0 * x)
    rows = []
    for x in COMPOSE_XS:
        fd = (h(x + FD_STEP) - h(x - FD_STEP)) / (2.0 * FD_STEP)
        rows.append([_g(x), _g(x * x), _g(h(x)), _g(math.cos(x * x)), _g(2 * x), _g(dh(x)), _g(fd)])
    return _table(
        [
            "x",
            "u = g(x) = x^2",
            "h(x) = sin(u)",
            "f'(u) = cos(u)",
            "g'(x) = 2x",
            "dh(x) = cos(u) * 2x",
            f"central difference, step {FD_STEP:g}",
        ],
        rows,
    )


_NEURON_ROWS = [
    ("z", "w . x + b"),
    ("y", "sigma(z)"),
    ("dL_dy", "given (upstream)"),
    ("dy_dz", "sigma(z) (1 - sigma(z))"),
    ("dz_dw", "x"),
    ("dz_db", "1"),
    ("dL_dz", "dL_dy * dy_dz"),
    ("dL_dw", "dL_dz * dz_dw"),
    ("dL_db", "dL_dz * dz_db"),
]


def _neuron_table(out: dict) -> str:
    rows = [[f"`{k}`", formula, _vec(out[k]) if np.ndim(out[k]) else _g(out[k])] for k, formula in _NEURON_ROWS]
    return _table(["key", "formula", "value"], rows)


def neuron_block() -> str:
    n = NEURON
    out = C.neuron_backward(n["w"], n["x"], n["b"], n["dL_dy"])
    return (
        f"w = {_vec(n['w'])}, x = {_vec(n['x'])}, b = {_g(n['b'])}, dL/dy = {_g(n['dL_dy'])}; "
        f"`neuron_forward(w, x, b)` = {_g(C.neuron_forward(n['w'], n['x'], n['b']))}.\n\n" + _neuron_table(out)
    )


def neuron_loss_block() -> str:
    n = NEURON_LOSS
    y = C.neuron_forward(n["w"], n["x"], n["b"])
    dL_dy = 2.0 * (y - n["t"])
    out = C.neuron_backward(n["w"], n["x"], n["b"], dL_dy)
    return (
        f"w = {_vec(n['w'])}, x = {_vec(n['x'])}, b = {_g(n['b'])}, target t = {_g(n['t'])}, "
        f"loss L = (y - t)^2 = {_g((y - n['t']) ** 2)}, so dL/dy = 2 (y - t) = {_g(dL_dy)}.\n\n" + _neuron_table(out)
    )


BLOCKS = {
    "chain-rule-example": example_block,
    "chain-rule-compose": compose_block,
    "chain-rule-neuron": neuron_block,
    "chain-rule-neuron-loss": neuron_loss_block,
}

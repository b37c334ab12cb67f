"""Check helpers of Task 9 (dynamics.py) shared by its public and hidden checks: the known wrong
answers of the initialisers and of the L2 penalty, computed systematically.

Ships with the public checks: it imports neither the reference nor hidden values.
"""

from __future__ import annotations

import math

import numpy as np

from grader.gradients import CheckFailure, Diagnosis, Mistake

BIAS_MSG = Mistake(
    "l2_penalises_biases",
    "the biases are penalised too: the L2 penalty sums ||W^(l)||_F^2 over the WEIGHT matrices only",
)
HALF_MSG = Mistake(
    "l2_without_half",
    "the penalty is (lam/2) sum_l ||W^(l)||_F^2, whose gradient is lam W (not lam sum ||W||^2 with 2 lam W)",
)
PENALTY_MISSING = Mistake("l2_penalty_missing", "the penalty is missing: add (lam/2) sum_l ||W^(l)||_F^2 to the loss")
PENALTY_GRAD_MISSING = Mistake("l2_gradient_missing", "the gradient of the penalty, lam W, is missing")
PENALTY_GRAD_HALF = Mistake("l2_gradient_half", "the gradient of (lam/2) ||W||^2 is lam W, not (lam/2) W")
PENALTY_SIGN = Mistake(
    "l2_gradient_sign",
    "the penalty's gradient was subtracted: dL/dW + lam W (the penalty "
    "grows with ||W||, its gradient points away from 0)",
)
PENALTY_NORM_NOT_SQUARED = Mistake(
    "l2_norm_not_squared", "the penalty uses ||W||_F, not its square: (lam/2) sum_l ||W^(l)||_F^2"
)
WRAPS = Mistake(
    "shift_wraps_around",
    "pixels wrap around to the other side (np.roll): pixels pushed past the "
    "edge must be dropped and the uncovered ones set to 0",
)

SURFACE_SUM = Mistake("surface_sum_not_mean", "summed the squared residuals; the MSE is their mean (1/N)")


def fail(detail: str, ident: str, message: str) -> None:
    """Raise a failure whose mistake is proven by the values: the detail, then "Likely: message"."""
    raise CheckFailure(f"{detail}. Likely: {message}", diagnosis=Diagnosis(ident, message))


def init_draw(std: float, fan_in: int, fan_out: int, seed: int) -> np.ndarray:
    """What init_weights must return: ONE draw of default_rng(seed).normal(0, std, (fan_out, fan_in))."""
    return np.random.default_rng(seed).normal(0.0, std, size=(fan_out, fan_in))


def init_mistakes(scheme: str, fan_in: int, fan_out: int, seed: int) -> dict:
    """Every known wrong std of the three schemes (each scheme's std used for another, the variance
    as the std, fan_out for fan_in, Xavier's uniform), and the right std drawn as a (fan_in, fan_out)
    array and transposed: ``{Mistake: the weights it gives}``, those equal to the right answer left out."""
    stds = {"normal": 1.0, "xavier": math.sqrt(2.0 / (fan_in + fan_out)), "he": math.sqrt(2.0 / fan_in)}
    right = stds[scheme]
    wrong: dict = {}
    for other, std in stds.items():
        if other != scheme:
            wrong[
                Mistake(
                    f"init_{scheme}_used_{other}_std",
                    f"the std of {other!r} was used for {scheme!r}: the schemes are 'normal' s = 1, 'xavier' "
                    f"s = sqrt(2/(fan_in + fan_out)), 'he' s = sqrt(2/fan_in)",
                )
            ] = init_draw(std, fan_in, fan_out, seed)
    named = {
        "variance_as_std": (
            right**2,
            "used the variance as the standard deviation: s = sqrt(...), the square root of the variance",
        ),
        "one_over_fan_in": (
            math.sqrt(1.0 / fan_in),
            "s = sqrt(1/fan_in) (LeCun) is neither: He initialisation has "
            "the variance 2/fan_in (a ReLU zeroes half its inputs) and "
            "Xavier/Glorot averages both fans, 2/(fan_in + fan_out)",
        ),
        "fan_out_for_fan_in": (
            math.sqrt(2.0 / fan_out),
            "He initialisation divides by fan_in (the layer's inputs), not fan_out",
        ),
        "xavier_one_over_sum": (
            math.sqrt(1.0 / (fan_in + fan_out)),
            "Xavier/Glorot's variance is 2/(fan_in + fan_out), not 1/(fan_in + fan_out)",
        ),
    }
    for ident, (std, message) in named.items():
        if not math.isclose(std, right, rel_tol=1e-12) and scheme != "normal":
            wrong[Mistake(f"init_{ident}", message)] = init_draw(std, fan_in, fan_out, seed)
    if scheme == "xavier":
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        wrong[
            Mistake(
                "init_xavier_uniform",
                "drew Xavier's UNIFORM U(-sqrt(6/(fan_in + fan_out)), +...); this "
                "init_weights draws the normal N(0, 2/(fan_in + fan_out))",
            )
        ] = np.random.default_rng(seed).uniform(-bound, bound, size=(fan_out, fan_in))
    wrong[
        Mistake(
            "init_drawn_transposed",
            "drew a (fan_in, fan_out) array and transposed it: draw size=(fan_out, fan_in) directly (one row per unit)",
        )
    ] = np.random.default_rng(seed).normal(0.0, right, size=(fan_in, fan_out)).T
    return wrong


def l2_loss_mistakes(base_loss: float, params: dict, lam: float) -> dict:
    """Known wrong penalised losses: ``{Mistake: value}``."""
    sq_w = sum(float(np.sum(np.asarray(v) ** 2)) for k, v in params.items() if k.startswith("W"))
    sq_b = sum(float(np.sum(np.asarray(v) ** 2)) for k, v in params.items() if not k.startswith("W"))
    norms = sum(float(np.linalg.norm(np.asarray(v))) for k, v in params.items() if k.startswith("W"))
    return {
        BIAS_MSG: base_loss + 0.5 * lam * (sq_w + sq_b),
        HALF_MSG: base_loss + lam * sq_w,
        PENALTY_MISSING: base_loss,
        PENALTY_NORM_NOT_SQUARED: base_loss + 0.5 * lam * norms,
    }


def l2_grad_mistakes(key: str, base_grad: np.ndarray, param: np.ndarray, lam: float) -> dict:
    """Known wrong gradients of one parameter: ``{Mistake: value}``."""
    if not key.startswith("W"):
        return {BIAS_MSG: base_grad + lam * param}
    return {
        HALF_MSG: base_grad + 2 * lam * param,
        PENALTY_GRAD_MISSING: base_grad,
        PENALTY_GRAD_HALF: base_grad + 0.5 * lam * param,
        PENALTY_SIGN: base_grad - lam * param,
    }

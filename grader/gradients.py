"""Trusted numerics for the checks: finite differences, relative error, and mistake diagnosis.

Every assertion raises ``CheckFailure`` whose text is what the student reads: what was called
with which input shapes, the expected and received shape, the worst entry (index, expected,
received), the max absolute and relative error, and where a pattern matches, the likely mistake
("off by exactly N = 5: did you average over the batch?"). Checks can pass ``mistakes``: named
wrong answers computed with the reference (e.g. the gradient with σ'(a) in place of σ'(z)); a
received value that matches one is named.

Each diagnosis (the text after "Likely:") also has a stable id, carried on the ``CheckFailure``
(``diagnosis``) and written by the grader next to the message in results.json as
``<task>.<id>`` (e.g. ``chain_rule.used_sigma_prime_a_...``), so that a class can be counted: a named
mistake's id is a slug of its message (``slug``) unless the check gives one (``Mistake``); the
built-in hints have fixed ids (``sign_flipped``, ``off_by_n``, ``transposed``, ...). The text
students read is the same either way.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

SLUG_LIMIT = 48


def slug(text: str, limit: int = SLUG_LIMIT) -> str:
    """A stable id from a message: lower-case ASCII words joined by ``_``, a prime read as a word
    (``"forgot sigma'(z)"`` -> ``forgot_sigma_prime_z``); a longer one is cut at a word and ends
    with 6 hex digits of the whole message's hash, so different messages keep different ids."""
    plain = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    plain = re.sub(r"(?<=\w)'(?![A-Za-z])", " prime ", plain).replace("'", "")
    words = re.findall(r"[a-z0-9]+", plain.lower())
    ident = "_".join(words) or "unnamed"
    if len(ident) <= limit:
        return ident
    head = ident[: limit + 1].rsplit("_", 1)[0] if "_" in ident[: limit + 1] else ident[:limit]
    return f"{head}_{hashlib.sha256(str(text).encode('utf-8', 'backslashreplace')).hexdigest()[:6]}"


class Mistake(str):
    """A named mistake's message with an explicit stable id, as a key of ``mistakes``:
    ``mistakes={Mistake("sigma_prime_at_a", "sigma'(a) used where ..."): wrong}``. It is the message
    (a ``str``) everywhere else; a plain string key gets the id ``slug(message)``."""

    id: str

    def __new__(cls, id: str, message: str) -> Mistake:
        obj = super().__new__(cls, message)
        obj.id = ".".join(slug(part, 80) for part in str(id).split("."))
        return obj

    def __reduce__(self):
        return (Mistake, (self.id, str(self)))


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    """What a failing check recognised: a stable ``id`` and the ``message`` students read."""

    id: str
    message: str

    @classmethod
    def of(cls, message: str) -> Diagnosis:
        """The diagnosis of a named mistake's message (its explicit id when it is a ``Mistake``)."""
        return cls(getattr(message, "id", None) or slug(message), str(message))

    def qualified(self, task: str) -> dict[str, str]:
        """``{"id": "<task>.<id>", "message": ...}`` as results.json holds it."""
        ident = self.id if self.id.startswith(f"{task}.") else f"{task}.{self.id}"
        return {"id": ident, "message": self.message}


class CheckFailure(AssertionError):
    """A check failed; the message is written for the student. ``diagnosis``: the mistake it
    recognised (a ``Diagnosis``, or a message whose id is derived as for ``mistakes``)."""

    def __init__(self, *args: Any, diagnosis: Diagnosis | str | None = None):
        super().__init__(*args)
        self.diagnosis = Diagnosis.of(diagnosis) if isinstance(diagnosis, str) else diagnosis


def primary(exc: BaseException) -> BaseException:
    """The one failure of a group the student reads (a property check that found several bugs
    raises a group, in an order that may vary): the first that names a mistake, ties broken by
    the text, so the same failures always give the same message."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = min(exc.exceptions, key=lambda e: (not _own_diagnoses(e), str(e)))
    return exc


def _own_diagnoses(exc: BaseException) -> list[Diagnosis]:
    try:
        return diagnoses_of(exc)
    except Exception:
        return []


def diagnoses_of(exc: BaseException) -> list[Diagnosis]:
    """The diagnoses of a failed check's exception: its own, or (when a check wraps a failure in a
    new ``CheckFailure`` whose text repeats it) the wrapped one's; for a group, those of its
    ``primary`` member (the one whose message the student reads)."""
    try:
        if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
            return diagnoses_of(primary(exc))
        seen: set[int] = set()
        current: BaseException | None = exc
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            found = getattr(current, "diagnosis", None)
            if isinstance(current, CheckFailure) and isinstance(found, Diagnosis):
                return [found]
            inner = current.__cause__ or current.__context__
            if inner is None or not str(inner) or str(inner) not in str(current):
                break
            current = inner
    except Exception:  # naming a mistake never costs the check its message
        pass
    return []


def relative_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Entrywise |a - b| / max(1e-8, |a| + |b|) (CHECKS_GUIDE.md, Numerics), same shape as the inputs."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5, indices: list[tuple[int, ...]] | None = None
) -> np.ndarray:
    """Central differences (f(x+h e_i) - f(x-h e_i)) / 2h in float64, at all or some entries.

    ``x`` is not modified (a float64 copy is perturbed); entries not in ``indices`` are NaN.
    """
    x = np.array(x, dtype=np.float64)
    grad = np.full(x.shape, np.nan) if indices is not None else np.zeros_like(x)
    for idx in indices if indices is not None else np.ndindex(*x.shape):
        old = x[idx]
        x[idx] = old + h
        plus = float(f(x.copy()))
        x[idx] = old - h
        minus = float(f(x.copy()))
        x[idx] = old
        grad[idx] = (plus - minus) / (2 * h)
    return grad


def sample_indices(shape: tuple[int, ...], count: int, seed: int) -> list[tuple[int, ...]]:
    """A seeded sample of ``count`` distinct entries (all of them when the array is small)."""
    size = int(np.prod(shape))
    flat = np.arange(size) if size <= count else np.random.default_rng(seed).choice(size, count, replace=False)
    return [tuple(int(i) for i in np.unravel_index(k, shape)) for k in np.sort(flat)]


def _fmt(x: Any) -> str:
    if isinstance(x, np.ndarray):
        if x.size > 6:
            return np.array2string(x.ravel()[:6], precision=6, separator=", ")[:-1] + ", ...]"
        return np.array2string(x, precision=6, separator=", ")
    if isinstance(x, float):
        return f"{x:.10g}"
    return repr(x)[:120]


def describe_inputs(inputs: Mapping[str, Any] | None) -> str:
    if not inputs:
        return ""
    parts = []
    for name, value in inputs.items():
        arr = value if isinstance(value, np.ndarray) else None
        parts.append(f"{name}: shape {arr.shape}" if arr is not None else f"{name}={_fmt(value)}")
    return " with " + ", ".join(parts)


def _as_array(got: Any, what: str) -> np.ndarray:
    if isinstance(got, (bool, np.bool_)) or got is None or isinstance(got, str):
        raise CheckFailure(f"{what} returned {type(got).__name__} {_fmt(got)}, expected numbers")
    if isinstance(got, (int, float, np.number, np.ndarray)):
        return np.asarray(got, dtype=np.float64)
    if isinstance(got, (list, tuple)):
        try:
            return np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            pass
    raise CheckFailure(
        f"{what} returned a {getattr(got, 'type_name', type(got).__name__)}, expected a number or a numpy array"
    )


def ratio_diagnosis(got: np.ndarray, expected: np.ndarray, batch: int | None = None) -> Diagnosis | None:
    """Name a constant factor between got and expected (N, 1/N, 2, 1/2, -1)."""
    mask = np.abs(expected) > 1e-12
    if not mask.any():
        return None
    ratios = got[mask] / expected[mask]
    r = float(np.median(ratios))
    if not np.allclose(ratios, r, rtol=1e-6, atol=0):
        return None
    names = {
        -1.0: ("sign_flipped", "the sign is flipped (check the direction of the difference, e.g. y_pred - y_true)"),
        2.0: ("factor_2", "off by a factor of 2 (a derivative of a square, or a 1/2 in the loss?)"),
        0.5: ("factor_half", "off by a factor of 1/2 (a derivative of a square, or a 1/2 in the loss?)"),
    }
    if batch and batch > 2:
        names[float(batch)] = ("off_by_n", f"off by exactly N = {batch}: did you average over the batch (divide by N)?")
        names[1.0 / batch] = ("off_by_one_over_n", f"off by exactly 1/N = 1/{batch}: you divided by N once too often")
    for value, (ident, text) in names.items():
        if abs(r - value) <= 1e-6 * max(1.0, abs(value)):
            return Diagnosis(ident, text)
    return None


def ratio_hint(got: np.ndarray, expected: np.ndarray, batch: int | None = None) -> str:
    """Name a constant factor between got and expected (N, 1/N, 2, 1/2, -1)."""
    found = ratio_diagnosis(got, expected, batch)
    return found.message if found else ""


def shape_diagnosis(got_shape: tuple, expected_shape: tuple) -> Diagnosis | None:
    got_shape, expected_shape = tuple(got_shape), tuple(expected_shape)
    if len(got_shape) == 2 and got_shape == tuple(reversed(expected_shape)) and got_shape != expected_shape:
        return Diagnosis("transposed", "the result is transposed (check W @ x vs x @ W.T and dW = delta.T @ a_prev)")
    if len(got_shape) == 2 and len(expected_shape) == 1 and got_shape[1] == expected_shape[0]:
        if got_shape[0] == 1:
            return Diagnosis(
                "row_for_vector",
                f"a (1, {expected_shape[0]}) row came back where a ({expected_shape[0]},) vector belongs (ravel it)",
            )
        if got_shape[0] == got_shape[1]:
            return Diagnosis(
                "broadcast_or_bias_not_summed",
                "an (N,) array met an (N, 1) array and broadcast to (N, N), or a bias gradient "
                "was not summed over the batch (axis 0)",
            )
        return Diagnosis(
            "bias_not_summed", "a bias gradient must be summed over the batch (axis 0), one value per unit"
        )
    if len(got_shape) == 2 and got_shape[0] == got_shape[1] and expected_shape == (got_shape[0], 1):
        return Diagnosis(
            "broadcast_n_by_n", "an (N,) array met an (N, 1) array and broadcast to (N, N): reshape one of them"
        )
    return None


def shape_hint(got_shape: tuple, expected_shape: tuple) -> str:
    found = shape_diagnosis(got_shape, expected_shape)
    return found.message if found else ""


NONFINITE = Diagnosis("not_finite", "use a numerically stable form: subtract the max before exp, log1p, clipping")


def _shape_failure(where: str, got_shape: tuple, expected_shape: tuple) -> CheckFailure:
    found = shape_diagnosis(got_shape, expected_shape)
    return CheckFailure(
        f"{where}: expected shape {expected_shape}, got {got_shape}" + (f". Likely: {found.message}" if found else ""),
        diagnosis=found,
    )


def assert_close(
    got: Any,
    expected: Any,
    what: str,
    inputs: Mapping[str, Any] | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    batch: int | None = None,
    mistakes: Mapping[str, Any] | None = None,
    show_expected: bool = True,
    nonfinite_hint: str | None = None,
) -> np.ndarray:
    """Assert the student's value equals the reference's; return it as a float64 array."""
    where = f"{what}{describe_inputs(inputs)}"
    arr = _as_array(got, what)
    exp = np.asarray(expected, dtype=np.float64)
    if arr.shape != exp.shape:
        raise _shape_failure(where, arr.shape, exp.shape)
    if not np.all(np.isfinite(arr)) and np.all(np.isfinite(exp)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        found = Diagnosis.of(nonfinite_hint) if nonfinite_hint else NONFINITE
        raise CheckFailure(
            f"{where}: got {arr[bad] if arr.ndim else arr} at index {bad}; expected finite values. "
            f"Likely: {found.message}",
            diagnosis=found,
        )
    if np.allclose(arr, exp, rtol=rtol, atol=atol):
        return arr
    err = np.abs(arr - exp)
    rel = relative_error(arr, exp)
    worst = np.unravel_index(int(np.argmax(err)), err.shape) if err.ndim else ()
    idx = tuple(int(i) for i in worst)
    detail = (
        f"{where}: wrong values; worst entry at index {idx}: "
        + (f"expected {exp[worst]:.10g}, " if show_expected else "")
        + f"got {arr[worst]:.10g}; max abs error {err.max():.3g}, max rel error {rel.max():.3g}"
    )
    found = _mistake_diagnosis(arr, exp, batch, mistakes)
    raise CheckFailure(detail + (f". Likely: {found.message}" if found else ""), diagnosis=found)


def _mistake_diagnosis(
    arr: np.ndarray, exp: np.ndarray, batch: int | None, mistakes: Mapping[str, Any] | None
) -> Diagnosis | None:
    for name, wrong in (mistakes or {}).items():
        wrong = np.asarray(wrong, dtype=np.float64)
        if wrong.shape == arr.shape and np.allclose(arr, wrong, rtol=1e-6, atol=1e-9):
            return Diagnosis.of(name)
    if arr.shape == exp.shape:
        return ratio_diagnosis(arr, exp, batch)
    return None


def assert_grad_close(
    got: Any,
    expected: Any,
    param: str,
    what: str,
    inputs: Mapping[str, Any] | None = None,
    tol: float = 1e-6,
    batch: int | None = None,
    mistakes: Mapping[str, Any] | None = None,
) -> np.ndarray:
    """Gradient check of one parameter by max relative error (CHECKS_GUIDE.md, Numerics), naming the worst entry."""
    where = f"{what}: gradient {param}{describe_inputs(inputs)}"
    arr = _as_array(got, f"{what} ({param})")
    exp = np.asarray(expected, dtype=np.float64)
    if arr.shape != exp.shape:
        raise _shape_failure(where, arr.shape, exp.shape)
    if not np.all(np.isfinite(arr)):
        raise CheckFailure(f"{where}: contains NaN or Inf")
    mask = ~np.isnan(exp)
    rel = np.where(mask, relative_error(arr, np.nan_to_num(exp)), 0.0)
    if rel.max(initial=0.0) <= tol:
        return arr
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(rel)), rel.shape))
    detail = (
        f"{where}: max relative error {rel.max():.3g} > {tol:g} at index {worst} "
        f"(expected {exp[worst]:.10g}, got {arr[worst]:.10g})"
    )
    masked = {
        name: np.where(mask, np.asarray(w, dtype=np.float64), 0)
        for name, w in (mistakes or {}).items()
        if np.shape(w) == arr.shape
    }
    found = _mistake_diagnosis(np.where(mask, arr, 0), np.where(mask, np.nan_to_num(exp), 0), batch, masked)
    raise CheckFailure(detail + (f". Likely: {found.message}" if found else ""), diagnosis=found)


def assert_finite_differences(
    analytic: Any,
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    param: str,
    what: str,
    tol: float = 1e-6,
    h: float = 1e-5,
    samples: int | None = 10,
    seed: int = 0,
    batch: int | None = None,
    inputs: Mapping[str, Any] | None = None,
    mistakes: Mapping[str, Any] | None = None,
) -> None:
    """Compare a student's analytic gradient with trusted central differences of ``f`` at ``x``.

    Sampled entries only (``samples``, seeded); ``mistakes`` are full-shape wrong gradients, compared
    on the sampled entries.
    """
    indices = sample_indices(np.shape(x), samples, seed) if samples else None
    numeric = numerical_gradient(f, x, h=h, indices=indices)
    assert_grad_close(
        analytic,
        numeric,
        param,
        f"{what} vs central differences",
        tol=tol,
        batch=batch,
        inputs=inputs,
        mistakes=mistakes,
    )


def assert_unchanged(before: np.ndarray, after: np.ndarray, what: str) -> None:
    if not np.array_equal(before, after):
        raise CheckFailure(f"{what} changed its input in place; work on a copy")


def assert_true(condition: bool, message: str) -> None:
    """A plain assertion with a student-facing message (bare ``assert`` is not used in checks)."""
    if not condition:
        raise CheckFailure(message)


# ---------------------------------------------------------------------------------------------
# Errors raised inside student code, read as the mistake they usually mean
# ---------------------------------------------------------------------------------------------
_SHAPE = r"\(([0-9, ]*)\)"
_MATMUL_CORE = re.compile(
    r"matmul: Input operand 1 has a mismatch in its core dimension 0.*?"
    r"\(size (\d+) is different from (\d+)\)",
    re.S,
)
_DOT = re.compile(r"shapes " + _SHAPE + r" and " + _SHAPE + r" not aligned")
_TORCH_MM = re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)")
_BROADCAST = re.compile(
    r"operands could not be broadcast together with (?:remapped )?shapes"
    r"(?: \[original->remapped\]:)? ((?:\([0-9, ]*\)\s*)+)"
)
_INPLACE = re.compile(
    r"non-broadcastable output operand with shape " + _SHAPE + r" doesn't match the broadcast shape " + _SHAPE
)


def _shape(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.replace(" ", "").split(",") if p)


def _product_diagnosis(a: tuple[int, ...], b: tuple[int, ...]) -> Diagnosis:
    """A product of shapes ``a @ b`` that fails: which transposition (if any) would make it work."""
    fixes = []
    if len(a) == 2 and a[0] == b[0]:
        fixes.append(f"the FIRST operand transposed, {a[::-1]} @ {b}, would work")
    if len(b) == 2 and a[-1] == b[1]:
        fixes.append(f"the SECOND operand transposed, {a} @ {b[::-1]}, would work")
    if fixes:
        return Diagnosis(
            "matmul_operand_transposed",
            f"an operand of a matrix product is transposed: {a} @ {b} does not fit, but "
            + " and ".join(fixes)
            + "; write each operand's shape next to the product",
        )
    return Diagnosis(
        "matmul_inner_mismatch",
        f"a matrix product whose inner sizes differ ({a} @ {b}): A @ B needs A's last size "
        f"to equal B's first; check which array (or which layer's weights) each operand is",
    )


def explain_error(kind: str, message: str) -> Diagnosis | None:
    """The usual meaning of a shape error that numpy or torch raised inside student code (its type
    name and message), or None when the message does not show one. Only what the message proves is
    named: a transposition only when transposing an operand makes the shapes fit."""
    text = str(message)
    if kind not in ("ValueError", "RuntimeError"):
        return None
    if m := _DOT.search(text):
        return _product_diagnosis(_shape(m.group(1)), _shape(m.group(2)))
    if m := _TORCH_MM.search(text):
        a, b = (int(m.group(1)), int(m.group(2))), (int(m.group(3)), int(m.group(4)))
        return _product_diagnosis(a, b)
    if m := _MATMUL_CORE.search(text):
        return Diagnosis(
            "matmul_inner_mismatch",
            f"a matrix product A @ B whose inner sizes differ (B has {m.group(1)} rows where "
            f"A has {m.group(2)} columns): an operand is probably transposed or the wrong "
            f"array; write each operand's shape next to the product",
        )
    if m := _INPLACE.search(text):
        target, result = _shape(m.group(1)), _shape(m.group(2))
        return Diagnosis(
            "inplace_update_not_reduced",
            f"an in-place update (+=, -=) of an array of shape {target} with a value of shape "
            f"{result}: the value still has the axes broadcasting added; sum it over them "
            f"(e.g. .sum(axis=0)) before adding",
        )
    if m := _BROADCAST.search(text):
        shapes = [_shape(s) for s in re.findall(_SHAPE, m.group(1))]
        if len(shapes) == 2:
            a, b = shapes
            if len(a) == len(b) == 2 and a == b[::-1] and a != b:
                return Diagnosis(
                    "broadcast_transposed",
                    f"one operand is the transpose of the other ({a} and {b}): a matrix or a "
                    f"gradient with its axes swapped",
                )
            for vec, mat in ((a, b), (b, a)):
                if len(vec) == 1 and len(mat) == 2 and vec[0] == mat[0] != mat[1]:
                    return Diagnosis(
                        "vector_on_the_wrong_axis",
                        f"a ({vec[0]},) vector met a {mat} array: numpy lines a 1-D array up with "
                        f"the LAST axis; a value per row needs shape ({vec[0]}, 1) (v[:, None])",
                    )
    return None

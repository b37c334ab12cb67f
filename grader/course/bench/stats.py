"""Medians, spreads, per-round ratios, and ``alternate``: contenders in rotated rounds."""

from __future__ import annotations

import statistics
from collections.abc import Callable


class Skipped(Exception):
    """A contender or comparison whose prerequisite is missing; the message is the reason."""


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def spread(xs: list[float], fmt: Callable[[float], str]) -> str:
    return f"{fmt(min(xs))}-{fmt(max(xs))}"


def secs(x: float) -> str:
    return f"{x:.2f}" if x >= 0.1 else f"{x:.3f}"


def ms(x: float) -> str:
    v = x * 1e3
    return f"{v:.3g}" if v < 100 else f"{v:.0f}"


def mib(b: float) -> str:
    return f"{b / 1024**2:.0f}"


def paired_ratio(a: list[float], b: list[float]) -> tuple[float, float, float]:
    """Median, min and max of the per-round ratios a[i] / b[i] (rounds alternate, so pairs share load)."""
    ratios = [x / y for x, y in zip(a, b) if y > 0]
    return median(ratios), min(ratios), max(ratios)


def ratio_text(a: list[float], b: list[float]) -> str:
    m, lo, hi = paired_ratio(a, b)
    return f"{m:.2f}x ({lo:.2f}-{hi:.2f})"


def alternate(
    contenders: dict[str, Callable[[], float]], reps: int, warmup: int = 1, log: Callable[[str], None] = lambda s: None
) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Run each contender ``warmup`` times, then ``reps`` rounds in rotated order.

    A contender is a callable returning the seconds it measured (so set-up outside the timed
    part stays out). One that raises is dropped with its reason (``Skipped``: a missing
    prerequisite; anything else: a failure). Returns ({name: [seconds per round]}, {name: reason}).
    """
    active = list(contenders)
    dropped: dict[str, str] = {}

    def call(name: str) -> float | None:
        try:
            return float(contenders[name]())
        except Skipped as exc:
            dropped[name] = f"skipped: {exc}"
        except Exception as exc:  # a contender that breaks must not take the others with it
            dropped[name] = f"failed: {type(exc).__name__}: {str(exc)[:400]}"
        active.remove(name)
        return None

    for w in range(warmup):
        for name in list(active):
            log(f"warm-up {w + 1}/{warmup}: {name}")
            call(name)
    samples: dict[str, list[float]] = {n: [] for n in active}
    for r in range(reps):
        order = list(active)
        k = r % len(order) if order else 0
        for name in order[k:] + order[:k]:
            if name not in active:
                continue
            log(f"round {r + 1}/{reps}: {name}")
            t = call(name)
            if t is not None:
                samples[name].append(t)
    return {n: s for n, s in samples.items() if n in active and s}, dropped

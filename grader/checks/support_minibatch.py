"""Check helpers of Task 6 (minibatch.py) shared by its public and hidden checks.

Ships with the public checks: it imports neither the reference nor hidden values. A "Likely: ..."
line is written only where the student's values prove the mistake (a computed wrong answer that
matches), always with a diagnosis id.
"""

from __future__ import annotations

import numpy as np

from grader.gradients import CheckFailure, Diagnosis, Mistake, assert_true

LAST_BATCH_DROPPED = "last_batch_dropped"
SHUFFLE_IGNORED = "shuffle_ignored"
SHUFFLED_WITHOUT_SHUFFLE = "shuffled_without_shuffle"
SEED_ZERO_AS_NONE = "seed_zero_treated_as_none"
SEED_IGNORED = "seed_ignored"
FLOOR_NOT_CEIL = "floor_not_ceil"

DDOF_ONE = Mistake("std_ddof_one", "used ddof=1 (1/(N-1)); the std here is the population one, 1/N (ddof=0)")
CONSTANT_RESIDUE = Mistake(
    "constant_feature_std_residue",
    "a constant feature (max == min) must get std 1; np.std leaves a rounding residue (~1e-17) "
    "there, so test max == min, not std == 0",
)
EPSILON = Mistake(
    "epsilon_added_to_std",
    "divided by std + eps: the std is already > 0 (standardize_fit gives a "
    "constant feature std 1), so divide by the std exactly",
)
OWN_STATISTICS = Mistake(
    "standardized_with_own_statistics",
    "standardised with the statistics of the data passed in: apply the TRAINING split's (mean, std) given as arguments",
)


def fail(detail: str, ident: str, message: str) -> None:
    """Raise a failure whose mistake is proven by the values: the detail, then "Likely: message"."""
    raise CheckFailure(f"{detail}. Likely: {message}", diagnosis=Diagnosis(ident, message))


def dropped_last_batch_message(left_over: int) -> str:
    return (
        f"the last partial batch (the {left_over} left-over sample(s)) must be kept, not dropped: cut with "
        f"range(0, n, batch_size), which ends with the shorter chunk"
    )


def check_order_kind(order: np.ndarray, want: np.ndarray, what: str, shuffle: bool | None) -> None:
    """Name a shuffle that was ignored (sorted order when shuffle=True) or applied when shuffle=False;
    both are proven by the order itself. Returns when neither applies."""
    n = len(want)
    if n < 6 or len(order) != n:  # (a random order of 6 or more is sorted by chance at most 1 in 720)
        return
    sorted_order = np.arange(n)
    if shuffle and np.array_equal(order, sorted_order) and not np.array_equal(want, sorted_order):
        fail(
            f"{what}: the order is 0, 1, ..., {n - 1}; expected the shuffled order {want.tolist()}",
            SHUFFLE_IGNORED,
            "shuffle=True was ignored: when it is True the order is "
            "np.random.default_rng(seed).permutation(n) (or the generator passed as seed)",
        )
    if shuffle is False and not np.array_equal(order, sorted_order) and np.array_equal(np.sort(order), sorted_order):
        fail(
            f"{what}: the order is {order.tolist()}; expected 0, 1, ..., {n - 1}",
            SHUFFLED_WITHOUT_SHUFFLE,
            "it shuffled although shuffle=False: shuffle only when shuffle is True (the default is False for "
            "the batches)",
        )


def check_batches(got, expected: list[np.ndarray], what: str, shuffle: bool | None = None) -> None:
    """Compare a list of index arrays with the expected ones: a list of int64 arrays of the right
    sizes, every sample once, the expected order. Names a dropped last batch, an ignored shuffle
    and a shuffle that should not have happened."""
    assert_true(
        isinstance(got, list),
        f"{what} returned a {getattr(got, 'type_name', type(got).__name__)}; expected a list of int64 arrays",
    )
    sizes, want_sizes = [len(np.atleast_1d(b)) for b in got], [len(b) for b in expected]
    if sizes != want_sizes:
        detail = f"{what}: got {len(sizes)} batches of sizes {sizes}; expected {len(want_sizes)} of sizes {want_sizes}"
        if want_sizes and sizes == want_sizes[:-1] and want_sizes[-1] < max(want_sizes):
            fail(detail, LAST_BATCH_DROPPED, dropped_last_batch_message(want_sizes[-1]))
        raise CheckFailure(detail)
    for k, b in enumerate(got, start=1):
        assert_true(
            isinstance(b, np.ndarray) and b.dtype == np.int64,
            f"{what}: batch {k} is a {type(b).__name__}"
            f"{' of dtype ' + str(b.dtype) if isinstance(b, np.ndarray) else ''}; expected an int64 "
            f"index array",
        )
    order = np.concatenate(got) if got else np.zeros(0, dtype=np.int64)
    want = np.concatenate(expected) if expected else np.zeros(0, dtype=np.int64)
    if np.array_equal(order, want):
        return
    counts = np.bincount(order, minlength=len(want)) if order.size and order.min() >= 0 else None
    if counts is None or len(counts) != len(want) or not np.all(counts == 1):
        raise CheckFailure(
            f"{what}: the batches {order.tolist()} do not use every sample 0..{len(want) - 1} exactly once"
        )
    check_order_kind(order, want, what, shuffle)
    raise CheckFailure(
        f"{what}: the batches give the order {order.tolist()}; expected {want.tolist()}"
        + (
            " = np.random.default_rng(seed).permutation(n), one call of a generator made from the seed"
            if shuffle
            else ""
        )
    )

"""What the public and the hidden checks of Task 3 (backprop.py) share. Ships with the public
checks: no reference import, no hidden values."""

import numpy as np

from grader.gradients import CheckFailure, shape_diagnosis


def check_shape(value, shape, what):
    """Fail with the likely mistake named (transpose, unsummed bias) when value's shape is not shape."""
    got = np.shape(value) if isinstance(value, (np.ndarray, list, tuple, float, int)) else None
    if got is None:
        raise CheckFailure(f"{what} returned {type(value).__name__}, expected a numpy array of shape {shape}")
    if tuple(got) != tuple(shape):
        found = shape_diagnosis(tuple(got), tuple(shape))
        raise CheckFailure(
            f"{what}: expected shape {tuple(shape)}, got {tuple(got)}"
            + (f". Likely: {found.message}" if found else ""),
            diagnosis=found,
        )

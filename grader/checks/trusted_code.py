"""Blocks of trusted code a check runs in the worker (as a handle) and here (for the reference).

Used when a check's helper must live beside the student's code, e.g. a model that records which
batches it was asked for: the same text runs in both places, so both sides compute alike.
"""

import numpy as np


def definition(code: str, name: str) -> str:
    """Source text for ``student.source`` that runs ``code`` (namespace: np) and yields ``name``."""
    return f"(lambda ns: (exec({code!r}, ns), ns[{name!r}])[1])({{'np': np}})"


def worker_object(student, code: str, name: str):
    """Run trusted ``code`` in the worker (namespace: np) and return a handle to ``name``."""
    return student.source(definition(code, name))


def local_object(code: str, name: str):
    """The same trusted code, run here."""
    ns = {"np": np}
    exec(code, ns)
    return ns[name]

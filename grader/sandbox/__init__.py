"""The trust boundary, one room. Student code runs only on the far side of it.

- ``protocol``  the wire: JSON + raw array blobs, no pickle, size and depth limits (both sides).
- ``worker``    the program INSIDE the sandbox: imports the student's module, answers calls.
                Standalone: copied into the sandbox, imports nothing of the project.
- ``isolation`` trusted side: bubblewrap arguments, a uid and cgroup per worker, the probe; refuses
                rather than weakening silently.
- ``process``   trusted side: the host of one worker process (start, limits, calls, callbacks, kill).
- ``proxy``     trusted side: what checks hold, ``Student``, ``Remote`` handles whose methods are
                round trips, and the mutation and time bookkeeping of a task.
"""

from grader.sandbox.isolation import Isolation, SandboxUnavailable
from grader.sandbox.process import Callback, ImportFailed, Limits, StudentError, Worker, WorkerDied

__all__ = [
    "Callback",
    "ImportFailed",
    "Isolation",
    "Limits",
    "SandboxUnavailable",
    "StudentError",
    "Worker",
    "WorkerDied",
]

"""What the tests start, found by a marker only they use (never the whole machine)."""

import os
from pathlib import Path


def processes_naming(marker: str) -> list[str]:
    """Processes whose command line names ``marker``: a folder only one test uses (e.g. the $TMPDIR
    of a grade it started, where every worker's box lives), so other graders on a shared machine
    never count."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if marker in cmd:
                found.append(f"{entry}: {cmd}")
    return found

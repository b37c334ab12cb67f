"""5. Peak memory of one ``grade`` and of a batch: the process tree polled in /proc."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from grader.course.bench.contenders import SOLUTIONS, batch_cmd, copy_modules, grade_cmd, grading_env, variants
from grader.course.bench.settings import Settings
from grader.course.bench.stats import median, mib
from grader.course.bench.table import Table


def proc_parents() -> dict[int, int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    fields = fh.read().rsplit(b")", 1)[1].split()
                parents[int(entry)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                pass
    return parents


def rss_pss(pid: int) -> tuple[int, int]:
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, pss


def role(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = [a.decode(errors="replace") for a in fh.read().split(b"\0") if a]
    except OSError:
        return "?"
    text = " ".join(argv)
    if argv and argv[0].endswith("bwrap"):
        return "bwrap (sandbox launcher)"
    if any(a.endswith("worker.py") for a in argv):
        i = next(i for i, a in enumerate(argv) if a.endswith("worker.py"))
        return f"sandboxed worker ({argv[i + 1]})" if i + 1 < len(argv) else "sandboxed worker"
    if "-c" in argv and argv[-1] == "import numpy":
        return "isolation probe (python -I -c 'import numpy' in bwrap, once per process that grades)"
    if "grader.lane" in text:
        return "lane (trusted pytest)"
    if "resource_tracker" in text:
        return "multiprocessing resource tracker"
    if "spawn_main" in text or "forkserver" in text:
        return "batch worker process"
    if "grader.cli" in text:
        return "grade (cli)"
    return os.path.basename(argv[0]) if argv else "?"


def watch(cmd: list[str], cwd: Path, env: dict[str, str], interval: float = 0.1) -> dict:
    """Run ``cmd`` and poll its process tree: peak RSS per process, peak sums, peak per batch worker."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_rss: dict[tuple[int, str], int] = {}
    last_role: dict[int, str] = {}
    peak_total_rss = peak_total_pss = 0
    peak_subtree: dict[int, int] = {}
    start = time.perf_counter()
    while True:
        done = proc.poll() is not None
        children: dict[int, list[int]] = {}
        parents = proc_parents()
        for pid, ppid in parents.items():
            children.setdefault(ppid, []).append(pid)
        tree, stack = [], [proc.pid]
        while stack:
            pid = stack.pop()
            if pid in parents:
                tree.append(pid)
            stack.extend(children.get(pid, []))
        rss_now: dict[int, int] = {}
        total_rss = total_pss = 0
        for pid in tree:
            rss, pss = rss_pss(pid)
            now = role(pid)  # re-read: bwrap's child execs the worker
            if now == "?":  # exiting (no command line any more): still the process it was
                now = last_role.get(pid, now)
            last_role[pid], rss_now[pid] = now, rss
            total_rss, total_pss = total_rss + rss, total_pss + pss
            if now != "?":
                peak_rss[(pid, now)] = max(peak_rss.get((pid, now), 0), rss)
        peak_total_rss, peak_total_pss = max(peak_total_rss, total_rss), max(peak_total_pss, total_pss)
        for pid in tree:
            if last_role.get(pid) == "batch worker process":
                sub, st = 0, [pid]
                while st:
                    q = st.pop()
                    sub += rss_now.get(q, 0)
                    st.extend(children.get(q, []))
                peak_subtree[pid] = max(peak_subtree.get(pid, 0), sub)
        if done:
            break
        time.sleep(interval)
    err = proc.stderr.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd[:4])} exited {proc.returncode}: {err[-400:]}")
    by_role: dict[str, list[int]] = {}
    for (_, name), rss in peak_rss.items():
        by_role.setdefault(name, []).append(rss)
    return {
        "seconds": time.perf_counter() - start,
        "total_rss": peak_total_rss,
        "total_pss": peak_total_pss,
        "by_role": by_role,
        "batch_workers": sorted(peak_subtree.values()),
    }


def add_rows(t: Table, label: str, m: dict) -> None:
    t.add(
        label,
        "all processes together (sum of RSS; PSS in brackets)",
        f"{mib(m['total_rss'])} ({mib(m['total_pss'])})",
        sum(len(v) for v in m["by_role"].values()),
    )
    if m["batch_workers"]:
        w = m["batch_workers"]
        t.add(
            label,
            "per batch worker: its process + lanes + sandboxed workers (largest; median)",
            f"{mib(max(w))} ({mib(median(w))})",
            len(w),
        )
    for name in sorted(m["by_role"], key=lambda r: -max(m["by_role"][r])):
        v = m["by_role"][name]
        t.add(label, name + (" (largest)" if len(v) > 1 else ""), mib(max(v)), len(v))


def bench_memory(settings: Settings, work: Path, ctx: dict, log: Callable[[str], None]) -> list[Table]:
    env, tasks = grading_env(), settings.tasks
    here = work / "memory"
    t = Table(
        f"Peak memory ({len(tasks)} task(s) graded; one run each, /proc polled every 0.1 s)",
        ["run", "process", "peak RSS MiB", "count"],
    )
    log("memory: one grade")
    try:
        add_rows(t, "one `grade`", watch(grade_cmd(copy_modules(SOLUTIONS, here / "solutions-copy"), tasks), here, env))
    except Exception as exc:
        t.fail("one `grade`", f"{type(exc).__name__}: {exc}")
    n = os.cpu_count() or 1  # one submission per default batch worker
    for i in range(n):
        variants(tasks)[0].build(here / "class" / f"m{i + 1:03d}")
    log(f"memory: a batch of {n}")
    try:
        add_rows(
            t,
            f"`grade --batch` of {n} reference copies",
            watch(batch_cmd(here / "class", here / "out", tasks), here, env),
        )
    except Exception as exc:
        t.fail("`grade --batch`", f"{type(exc).__name__}: {exc}")
    t.notes.append(
        "RSS counts shared pages (numpy, torch libraries) once per process, so the sums are upper "
        "bounds; PSS shares them out. count = processes seen with that role."
    )
    return [t]

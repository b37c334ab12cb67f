"""Find and normalise a submission into a clean folder of module files.

Accepted: a folder with the module files (``losses.py``...), the same folder nested up to
``MAX_DEPTH`` levels down (as LMS downloads and zips come: ``alice/hw3/*.py``; hidden folders and
``__MACOSX`` are ignored), a ``.zip`` of either, a single ``.py`` (or ``.ipynb``) file (graded as a
folder holding it), or notebooks of the same tasks (``losses.ipynb``..., as nbgrader's
``submitted/<student>/<assignment>/`` holds them): their code cells become the module's source
(nbgrader test cells are left out). Symlinks, oversize files, zip entries escaping their folder
and zip bombs are refused with a clear message.

File names: an unambiguous near-miss of a task file (``Losses.py``, ``losses (1).py``,
``losses-2.py``, ``losses_v2.py``, ``backprop_final.py``, ``losses copy.py``, ``Copy of
losses.py``) is graded as that task's file; two near-misses of one task are not chosen. Each of
these, and names that only look like a task file (``lossses.py``), gets a note ("did you mean"),
which ``grade`` prints and the batch writes into results.json and feedback.md.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path

from grader.rubric import TASKS

MAX_FILE = 2 * 1024**2
MAX_TOTAL = 50 * 1024**2
MAX_ZIP_ENTRIES = 2000
TASK_FILES = {t.file for t in TASKS}
TASK_NOTEBOOKS = {f"{t.name}.ipynb" for t in TASKS}
MAX_DEPTH = 4  # levels of folders searched below the given one for the assignment files
MAX_DIRS = 500  # folders looked at while searching
SKIP_DIRS = {"node_modules", "site-packages"}
_KINDS = (".py", ".ipynb")
_TASK_BY_KEY = {t.name.replace("_", ""): t.name for t in TASKS}
# What people and tools add to a file name: "Copy of x", "x (1)", "x copy 2", "x - Copy", "x_v2",
# "x-2", "x_final"...
_PREFIX = re.compile(r"^(?:copy[\s_-]+of[\s_-]+)", re.I)
_SUFFIX = re.compile(
    r"(?:\s*\(\d+\)"
    r"|[\s_.-]*copy(?:[\s_-]*\d+)?"
    r"|[\s_.-]*v(?:er(?:sion)?)?[\s_.-]*\d+"
    r"|[\s_.-]*\d+"
    r"|[\s_.-]+(?:final|finished|done|submission|submit|submitted|new|newest|latest|updated|fixed|"
    r"old|draft|backup|bak|working|complete|completed|edited|mine)"
    r"|\.py"
    r")$",
    re.I,
)


class SubmissionError(Exception):
    """Not a submission (usage error, exit status 2)."""


@dataclasses.dataclass
class Submission:
    folder: Path  # normalised: only regular .py files, task modules at top level
    source: Path  # what the user gave
    notes: list[str]  # what normalisation did (notebooks converted, folder unnested, ...)
    _tmp: tempfile.TemporaryDirectory

    def cleanup(self) -> None:
        self._tmp.cleanup()

    def __enter__(self) -> Submission:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def task_of(filename: str) -> str | None:
    """The task whose file ``filename`` names, exactly or as an unambiguous near-miss
    (``Losses.py``, ``losses (1).py``, ``losses-2.py``, ``losses_v2.py``, ``backprop_final.py``,
    ``losses copy.py``); None for any other name (and for hidden files)."""
    path = Path(filename)
    if path.name.startswith(".") or path.suffix.lower() not in _KINDS:
        return None
    stem = path.stem.strip()
    while True:
        shorter = _SUFFIX.sub("", _PREFIX.sub("", stem)).strip()
        if shorter == stem or not shorter:
            break
        stem = shorter
    return _TASK_BY_KEY.get(re.sub(r"[\s_.-]+", "", stem.lower()))


def _looks_like(filename: str) -> str | None:
    """A task whose file ``filename`` resembles without being a near-miss (``lossses.py``,
    ``losses_alice.py``): worth a "did you mean", never graded as that task."""
    path = Path(filename)
    if path.name.startswith(".") or path.suffix.lower() not in _KINDS:
        return None
    key = re.sub(r"[\s_.()-]+", "", path.stem.lower())
    best, score = None, 0.0
    for task_key, name in _TASK_BY_KEY.items():
        ratio = (
            1.0
            if (key.startswith(task_key) or key.endswith(task_key))
            else difflib.SequenceMatcher(None, key, task_key).ratio()
        )
        if ratio > score:
            best, score = name, ratio
    return best if score >= 0.8 else None


def _visible_entries(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    except OSError:
        return []


def _has_task_files(folder: Path) -> bool:
    if not folder.is_dir():
        return False
    return any(task_of(p.name) and not p.is_dir() for p in _visible_entries(folder))


def _subfolders(folder: Path) -> list[Path]:
    return [
        p
        for p in _visible_entries(folder)
        if p.is_dir() and not p.is_symlink() and not p.name.startswith("__") and p.name not in SKIP_DIRS
    ]


def _find_root(folder: Path) -> Path:
    """The folder holding the assignment files: ``folder`` itself, or the single one found at the
    shallowest depth (up to MAX_DEPTH levels down)."""
    level, seen, loose = [folder], 0, []
    for depth in range(MAX_DEPTH + 1):
        matches = [d for d in level if _has_task_files(d)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            names = ", ".join(str(d.relative_to(folder)) for d in matches)
            raise SubmissionError(f"{folder}: several folders look like submissions ({names}): keep one")
        loose += [p for d in level for p in _visible_entries(d) if p.suffix.lower() in _KINDS and p.is_file()][:10]
        if depth == MAX_DEPTH:
            break
        level = [sub for d in level for sub in _subfolders(d)]
        seen += len(level)
        if not level or seen > MAX_DIRS:
            break
    found = ""
    if loose:
        hints = {p: _looks_like(p.name) for p in loose[:5]}
        shown = ", ".join(
            str(p.relative_to(folder)) + (f" (did you mean {t}.py?)" if t else "") for p, t in hints.items()
        )
        found = f"; found only {shown}" + (" ..." if len(loose) > 5 else "")
    raise SubmissionError(
        f"{folder}: no assignment files found (expected {', '.join(sorted(TASK_FILES))} "
        f"or the matching .ipynb notebooks, up to {MAX_DEPTH} folders deep){found}"
    )


def _safe_extract(archive: Path, dest: Path) -> None:
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise SubmissionError(f"{archive}: not a valid zip file") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise SubmissionError(f"{archive}: too many entries ({len(infos)})")
        total = 0
        for info in infos:
            name = info.filename
            parts = Path(name).parts
            if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
                raise SubmissionError(f"{archive}: entry {name!r} escapes the archive's folder")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise SubmissionError(f"{archive}: entry {name!r} is a symbolic link")
            total += info.file_size
            if info.file_size > MAX_FILE * 4 or total > MAX_TOTAL:
                raise SubmissionError(f"{archive}: too large when unpacked (limit {MAX_TOTAL >> 20} MiB)")
        for info in infos:
            if info.is_dir() or "__MACOSX" in info.filename:
                continue
            target = dest / info.filename
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    data = src.read(MAX_FILE * 4 + 1)  # never trust the declared size
                    if len(data) > MAX_FILE * 4:
                        raise SubmissionError(f"{archive}: entry {info.filename!r} is too large")
                    out.write(data)
            except SubmissionError:
                raise
            except (OSError, RuntimeError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
                # corrupt data, bad CRC, encrypted entries, a file and a folder of the same name...
                raise SubmissionError(
                    f"{archive}: entry {info.filename!r} cannot be unpacked ({type(exc).__name__}: {exc})"
                ) from None


CELL_MARKER = "# [bplab: notebook cell "  # also read by grader/sandbox/worker.py (kept in step by a test)


def notebook_to_source(path: Path) -> str:
    """The module source of a task notebook: its code cells, minus nbgrader test cells and magics."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SubmissionError(f"{path.name}: not a readable notebook ({exc})") from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise SubmissionError(f"{path.name}: not a Jupyter notebook (no list of cells)")
    chunks = []
    for number, cell in enumerate(cells, start=1):
        meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        src = cell.get("source", "")
        if not (isinstance(src, str) or (isinstance(src, list) and all(isinstance(x, str) for x in src))):
            raise SubmissionError(f"{path.name}: a cell's source is not text")
        if cell.get("cell_type") != "code":
            continue
        nbgrader = meta.get("nbgrader") if isinstance(meta.get("nbgrader"), dict) else {}
        if nbgrader.get("grade") and not nbgrader.get("solution"):
            continue  # a test cell: the grader runs its own checks
        if "bplab-skip" in (meta.get("tags") if isinstance(meta.get("tags"), list) else []):
            continue
        src = "".join(src) if isinstance(src, list) else src
        lines = [ln if not ln.lstrip().startswith(("%", "!")) else "" for ln in src.splitlines()]
        first = next((ln.strip() for ln in lines if ln.strip()), "")[:60]
        # the worker turns a line of the module back into "notebook cell N, line k" with this marker
        chunks.append(f"{CELL_MARKER}{number}] {first}\n" + "\n".join(lines))
    return "\n\n".join(chunks) + "\n"


def _or(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _choose(files: list[Path], notes: list[str]) -> dict[str, Path]:
    """task -> the file graded as its module: the exact name (the .py before the .ipynb), else the
    single near-miss (.py before .ipynb); notes say what was chosen, ignored or merely resembles."""
    exact: dict[str, Path] = {}
    near: dict[str, list[Path]] = {}
    for path in files:
        task = task_of(path.name)
        if task is None:
            continue
        if path.name in (f"{task}.py", f"{task}.ipynb"):
            if task not in exact or path.suffix == ".py":
                exact[task] = path
        else:
            near.setdefault(task, []).append(path)
    chosen: dict[str, Path] = {}
    for task in TASKS:
        name, misses = task.name, near.get(task.name, [])
        if name in exact:
            chosen[name] = exact[name]
            if misses:
                notes.append(f"also found {_or([p.name for p in misses])}: graded {exact[name].name}")
            continue
        if not misses:
            continue
        py = [p for p in misses if p.suffix.lower() == ".py"]
        pick = py or misses
        if len(pick) == 1:
            chosen[name] = pick[0]
            notes.append(f"graded {pick[0].name} as {task.file} (name your file {task.file})")
        else:
            notes.append(
                f"{task.file} not found; did you mean {_or([p.name for p in pick])}? None of them "
                f"was graded: keep one, named {task.file}"
            )
    claimed = set(chosen) | set(near)
    for path in files:
        if task_of(path.name) is not None:
            continue
        task = _looks_like(path.name)
        if task is not None and task not in claimed:
            notes.append(f"{task}.py not found; did you mean {path.name}? It was not graded: rename it to {task}.py")
            claimed.add(task)
    return chosen


def _copy_modules(root: Path, dest: Path, notes: list[str]) -> None:
    total = 0
    files = []
    for path in sorted(root.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_symlink():
            notes.append(f"ignored symbolic link {path.name}")
            continue
        if not path.is_file():
            continue
        size = path.stat().st_size
        if path.suffix.lower() not in _KINDS:
            continue
        if size > MAX_FILE:
            raise SubmissionError(f"{path.name} is larger than {MAX_FILE >> 20} MiB")
        total += size
        if total > MAX_TOTAL:
            raise SubmissionError(f"submission larger than {MAX_TOTAL >> 20} MiB")
        files.append(path)
    chosen = _choose(files, notes)
    graded = {path: task for task, path in chosen.items()}
    for path in files:  # other modules the student's files may import keep their names
        if path.suffix.lower() == ".py" and path not in graded and path.name not in TASK_FILES:
            shutil.copyfile(path, dest / path.name)
    for task, path in chosen.items():
        module = dest / f"{task}.py"
        if path.suffix.lower() == ".py":
            shutil.copyfile(path, module)
        else:
            module.write_text(notebook_to_source(path), encoding="utf-8")
            notes.append(f"{path.name} -> {module.name}")


def load(path: Path | str) -> Submission:
    """Normalise ``path`` into a temporary folder; raise SubmissionError when it is not a submission."""
    source = Path(path)
    if not source.exists():
        raise SubmissionError(f"{source}: no such file or folder")
    if source.is_symlink():
        raise SubmissionError(f"{source}: is a symbolic link")
    tmp = tempfile.TemporaryDirectory(prefix="bplab-sub-")
    try:
        notes: list[str] = []
        folder = source
        if source.is_file() and source.suffix.lower() in _KINDS:
            single = Path(tmp.name) / "single"
            single.mkdir()
            if source.stat().st_size > MAX_FILE:
                raise SubmissionError(f"{source}: larger than {MAX_FILE >> 20} MiB")
            shutil.copyfile(source, single / source.name)
            if task_of(source.name) is None:
                hint = _looks_like(source.name)
                raise SubmissionError(
                    f"{source}: not one of the assignment files (expected "
                    f"{', '.join(sorted(TASK_FILES))})" + (f"; did you mean {hint}.py?" if hint else "")
                )
            folder = single
            notes.append(f"graded the single file {source.name} as a folder holding it")
        elif source.is_file():
            if source.suffix.lower() != ".zip":
                raise SubmissionError(f"{source}: not a submission (expected a folder, a .zip or a .py file)")
            unpacked = Path(tmp.name) / "unpacked"
            unpacked.mkdir()
            _safe_extract(source, unpacked)
            folder = unpacked
            notes.append(f"unpacked {source.name}")
        root = _find_root(folder)
        if root != folder:
            notes.append(f"using the files in the nested folder {root.relative_to(folder)}/")
        clean = Path(tmp.name) / "submission"
        clean.mkdir()
        _copy_modules(root, clean, notes)
        return Submission(folder=clean, source=source, notes=notes, _tmp=tmp)
    except BaseException:
        tmp.cleanup()
        raise

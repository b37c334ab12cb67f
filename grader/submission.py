"""Find and normalise a submission into a clean folder of module files.

Accepted: a folder with the module files (``losses.py``...), the same folder nested one level
down (as LMS downloads come), a ``.zip`` of either, or notebooks of the same tasks
(``losses.ipynb``..., as nbgrader's ``submitted/<student>/<assignment>/`` holds them): their code
cells become the module's source (nbgrader test cells are left out). Symlinks, oversize files,
zip entries escaping their folder and zip bombs are refused with a clear message.
"""
from __future__ import annotations

import dataclasses
import json
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


class SubmissionError(Exception):
    """Not a submission (usage error, exit status 2)."""


@dataclasses.dataclass
class Submission:
    folder: Path               # normalised: only regular .py files, task modules at top level
    source: Path               # what the user gave
    notes: list[str]           # what normalisation did (notebooks converted, folder unnested, ...)
    _tmp: tempfile.TemporaryDirectory

    def cleanup(self) -> None:
        self._tmp.cleanup()

    def __enter__(self) -> "Submission":
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def _has_task_files(folder: Path) -> bool:
    names = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    return bool(names & (TASK_FILES | TASK_NOTEBOOKS))


def _find_root(folder: Path) -> Path:
    if _has_task_files(folder):
        return folder
    subdirs = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))]
    matches = [d for d in subdirs if _has_task_files(d)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise SubmissionError(f"{folder}: several folders look like submissions ({', '.join(d.name for d in matches)})")
    raise SubmissionError(f"{folder}: no assignment files found (expected {', '.join(sorted(TASK_FILES))} "
                          f"or the matching .ipynb notebooks)")


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
                raise SubmissionError(f"{archive}: entry {info.filename!r} cannot be unpacked "
                                      f"({type(exc).__name__}: {exc})") from None


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
    for cell in cells:
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
        lines = [ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!"))]
        chunks.append("\n".join(lines))
    return "\n\n".join(chunks) + "\n"


def _copy_modules(root: Path, dest: Path, notes: list[str]) -> None:
    total = 0
    for path in sorted(root.iterdir()):
        if path.is_symlink():
            notes.append(f"ignored symbolic link {path.name}")
            continue
        if not path.is_file():
            continue
        size = path.stat().st_size
        if path.suffix not in (".py", ".ipynb"):
            continue
        if size > MAX_FILE:
            raise SubmissionError(f"{path.name} is larger than {MAX_FILE >> 20} MiB")
        total += size
        if total > MAX_TOTAL:
            raise SubmissionError(f"submission larger than {MAX_TOTAL >> 20} MiB")
        if path.suffix == ".py":
            shutil.copyfile(path, dest / path.name)
    for nb in sorted(root.glob("*.ipynb")):
        module = dest / f"{nb.stem}.py"
        if nb.name in TASK_NOTEBOOKS and not module.exists() and not nb.is_symlink():
            module.write_text(notebook_to_source(nb), encoding="utf-8")
            notes.append(f"{nb.name} -> {module.name}")


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
        if source.is_file():
            if source.suffix.lower() != ".zip":
                raise SubmissionError(f"{source}: not a submission (expected a folder or a .zip)")
            unpacked = Path(tmp.name) / "unpacked"
            unpacked.mkdir()
            _safe_extract(source, unpacked)
            folder = unpacked
            notes.append(f"unpacked {source.name}")
        root = _find_root(folder)
        if root != folder:
            notes.append(f"using nested folder {root.relative_to(folder)}")
        clean = Path(tmp.name) / "submission"
        clean.mkdir()
        _copy_modules(root, clean, notes)
        return Submission(folder=clean, source=source, notes=notes, _tmp=tmp)
    except BaseException:
        tmp.cleanup()
        raise

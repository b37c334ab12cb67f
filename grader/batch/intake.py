"""Which students, from which paths: the entries of a class (folders, .zip files, an nbgrader tree)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from grader import submission

RESERVED = {"gradebook.csv", "summary.json"}
SKIP_NAMES = {"__MACOSX", "__pycache__", "Thumbs.db", "desktop.ini"}
NBGRADER_EVIDENCE = ("nbgrader_config.py", "gradebook.db")  # what makes a folder an nbgrader course


# ---------------------------------------------------------------------------------------------
# entries: which students, from which paths
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Entry:
    student: str
    path: Path | None
    error: str | None = None
    key: str | None = None
    content: str | None = None


def _student_name(path: Path) -> str:
    name = path.resolve().name if path.name in ("", ".", "..") else path.name
    return name[:-4] if name.lower().endswith(".zip") and path.is_file() else name


def is_nbgrader_course(folder: Path) -> bool:
    """Evidence that ``folder`` is an nbgrader course directory: its config or its gradebook."""
    return any((folder / name).is_file() and not (folder / name).is_symlink() for name in NBGRADER_EVIDENCE)


def _nbgrader_root(folder: Path, explicit: bool = False) -> Path | None:
    """The ``submitted/`` folder to grade when ``folder`` is an nbgrader course (``folder/submitted``)
    or its ``submitted/`` folder, recognised from evidence (``is_nbgrader_course``) or because
    ``explicit`` (``--nbgrader``) says so; else None: a folder named ``submitted`` is then a student."""
    resolved = folder.resolve()
    sub = folder / "submitted"
    if sub.is_dir() and not sub.is_symlink() and (explicit or is_nbgrader_course(folder)):
        return sub
    if resolved.name == "submitted" and (explicit or is_nbgrader_course(resolved.parent)):
        return folder
    return folder if explicit else None


def _nbgrader_entry(student_dir: Path, wanted: str | None) -> Path:
    """The assignment folder of one student in an nbgrader tree (``--assignment`` picks one)."""
    if wanted:
        chosen = student_dir / wanted
        if not chosen.is_dir():
            raise submission.SubmissionError(f"no folder {wanted!r} (--assignment) in {student_dir}")
        return chosen
    return student_dir  # submission.load finds the single assignment folder one level down


def discover(
    paths: list[Path], batch: bool, out: Path, nbgrader: bool = False, assignment: str | None = None
) -> tuple[list[Entry], list[str]]:
    """The class: one Entry per student (with an error for entries that cannot be graded); every
    top-level entry is a student, except hidden files, ``SKIP_NAMES`` and the results folder
    (listed in the notes). ``nbgrader``: the folders are nbgrader course folders (else recognised
    from evidence only); ``assignment``: which assignment of an nbgrader tree, when there are several."""
    notes: list[str] = []
    found: list[tuple[str, Path, str | None]] = []
    out_resolved = out.resolve()
    for path in paths:
        if not batch:
            found.append((_student_name(path), path, None))
            continue
        if not path.is_dir():
            found.append(
                (_student_name(path), path, "--batch expects a folder of submissions (one folder or .zip per student)")
            )
            continue
        root, nb = path, _nbgrader_root(path, nbgrader)
        if nb is not None:
            root = nb
            notes.append(f"{path}: nbgrader course folder, grading {nb}/<student>/<assignment>/")
        elif (path / "submitted").is_dir():
            notes.append(
                f"{path}: 'submitted' is graded as a student: this is no nbgrader course folder "
                f"(no {' or '.join(NBGRADER_EVIDENCE)}); pass --nbgrader if it is one"
            )
        ignored = []
        for child in sorted(root.iterdir()):
            if child.name.startswith(".") or child.name in SKIP_NAMES:
                ignored.append(child.name)
                continue
            if child.resolve() == out_resolved:
                continue
            if child.is_symlink():
                found.append((child.name, child, "is a symbolic link (not graded)"))
            elif child.is_dir():
                if nb is not None:
                    try:
                        found.append((child.name, _nbgrader_entry(child, assignment), None))
                    except submission.SubmissionError as exc:
                        found.append((child.name, child, str(exc)))
                else:
                    found.append((child.name, child, None))
            elif child.suffix.lower() == ".zip":
                found.append((child.name[:-4], child, None))
            else:
                found.append((child.name, child, "not a submission (expected a folder or a .zip per student)"))
        if ignored:
            notes.append(
                f"{root}: ignored {len(ignored)} hidden or system entr{'y' if len(ignored) == 1 else 'ies'}: "
                + ", ".join(sorted(ignored)[:10])
                + (", ..." if len(ignored) > 10 else "")
            )
    by_student: dict[str, list[tuple[Path, str | None]]] = {}
    for student, path, error in found:
        by_student.setdefault(student, []).append((path, error))
    entries = []
    for student, items in sorted(by_student.items()):
        if len(items) > 1:
            names = ", ".join(p.name + ("/" if p.is_dir() else "") for p, _ in items)
            entries.append(
                Entry(student, None, f"{len(items)} entries map to this student ({names}): keep one and rerun")
            )
        elif student in RESERVED or not student or student.startswith("."):
            entries.append(Entry(student or "?", items[0][0], f"the name {student!r} is reserved: rename the entry"))
        else:
            entries.append(Entry(student, items[0][0], items[0][1]))
    return entries, notes

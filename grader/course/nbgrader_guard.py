"""Submitted notebooks as nbgrader reads them: whatever they hold is read, what would stop nbgrader
is repaired, and what was wrong is recorded for ``IsolatedGrade`` (which scores that task 0).

``GuardedNotebookExporter`` is the exporter of nbgrader's ``Autograde`` (see
``grader.course.nbgrader_preprocessors.configure``); ``read_guarded`` and ``guard_metadata`` do the
reading and the repair; ``PROBLEMS`` holds, per (gradebook, assignment, student, notebook), the
problems found.
"""

from __future__ import annotations

import copy
import json
import os

import nbformat
from nbconvert.exporters import NotebookExporter
from nbformat import v4

from grader import text as _text

SCHEMA_VERSION = 3  # nbgrader's cell metadata schema (nbgrader 0.9)


# ---------------------------------------------------------------------------------------------
# submitted notebooks: read whatever they hold, repair what would stop nbgrader, record it
# ---------------------------------------------------------------------------------------------
# (db_url, assignment, student, notebook) -> what was wrong with that submitted notebook, recorded
# when nbgrader reads it from submitted/ and read by IsolatedGrade in the same process. Kept out of
# the notebook itself: a student cannot write into it, nor clear it.
PROBLEMS: dict[tuple, list[str]] = {}
_FLAGS = ("grade", "solution", "locked", "task")


def problems_key(info: dict) -> tuple:
    return (info.get("db_url"), info.get("assignment"), info.get("student"), info.get("notebook"))


def expected_cells(db_url: str, assignment: str, notebook: str) -> dict[str, dict] | None:
    """{grade_id: what the course's cell is} for a notebook of the gradebook; None if it is not there."""
    from nbgrader.api import Gradebook, MissingEntry

    try:
        with Gradebook(db_url) as gb:
            nb = gb.find_notebook(notebook, assignment)
            spec = {
                c.name: {
                    "cell_type": c.cell_type,
                    "locked": bool(c.locked),
                    "grade": False,
                    "solution": False,
                    "task": False,
                    "points": None,
                    "checksum": c.checksum,
                    "source": c.source,
                }
                for c in nb.source_cells
            }
            for c in nb.grade_cells:
                spec.setdefault(c.name, {}).update(grade=True, points=float(c.max_score))
            for c in nb.solution_cells:
                spec.setdefault(c.name, {}).update(solution=True)
            for c in nb.task_cells:
                spec.setdefault(c.name, {}).update(task=True, points=float(c.max_score))
            return spec
    except MissingEntry:
        return None


def _canonical(grade_id: str, spec: dict) -> dict:
    meta = {
        "grade": spec["grade"],
        "grade_id": grade_id,
        "locked": spec["locked"],
        "schema_version": SCHEMA_VERSION,
        "solution": spec["solution"],
        "task": spec["task"],
    }
    if spec["grade"] or spec["task"]:
        meta["points"] = spec["points"]
    if spec.get("checksum"):
        meta["checksum"] = spec["checksum"]
    return meta


def _set_cell_type(cell, cell_type: str) -> None:
    if cell.get("cell_type") == cell_type:
        return
    cell["cell_type"] = cell_type
    if cell_type == "code":
        cell["outputs"], cell["execution_count"] = [], None
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


def _metadata_valid(cell) -> bool:
    """nbgrader's own check of one cell's metadata (schema version, types, required keys)."""
    from nbgrader.nbgraderformat import MetadataValidator

    try:
        MetadataValidator().validate_cell(copy.deepcopy(cell))
        return True
    except Exception:
        return False


def _mismatch(cell, meta: dict, spec: dict) -> str | None:
    """What differs between a cell claiming a course cell's grade_id and that course cell."""
    for flag in _FLAGS:
        value = meta.get(flag, False)
        if not isinstance(value, bool) or value != spec[flag]:
            return f"{flag} is {_text.clean_line(repr(value), 40)}, not {spec[flag]}"
    if spec["grade"] or spec["task"]:
        points = meta.get("points")
        if isinstance(points, bool) or not isinstance(points, (int, float)) or float(points) != spec["points"]:
            return f"points is {_text.clean_line(repr(points), 40)}, not {spec['points']:g}"
    if meta.get("schema_version") != SCHEMA_VERSION:
        return f"schema_version is {_text.clean_line(repr(meta.get('schema_version')), 40)}"
    if cell.get("cell_type") != spec["cell_type"]:
        return f"it became a {_text.clean_line(cell.get('cell_type'), 20)} cell"
    if not _metadata_valid(cell):
        return "nbgrader rejects its metadata"
    return None


def guard_metadata(nb, expected: dict[str, dict]) -> list[str]:
    """Make ``nb``'s nbgrader metadata what nbgrader accepts, in place; return what was wrong.

    Each of the course's graded/solution/locked cells is kept once (its first occurrence), with
    the course's metadata restored if it was changed; any other cell claiming nbgrader metadata
    (a duplicate grade_id, an id of its own, metadata that is not a mapping or that nbgrader
    rejects) loses it and is an ordinary cell again; when anything was wrong, a graded cell of the
    course that is missing then is added back (the task scores 0 there, saying why). A notebook as
    released comes out unchanged."""
    problems: list[str] = []
    seen: dict[str, int] = {}
    for index, cell in enumerate(nb.cells, start=1):
        meta = cell.get("metadata")
        if not isinstance(meta, dict) or "nbgrader" not in meta:
            continue
        nbm = meta["nbgrader"]
        gid = nbm.get("grade_id") if isinstance(nbm, dict) else None
        where = f"cell {index}"
        if isinstance(gid, str) and gid in expected and gid not in seen:
            seen[gid] = index
            what = _mismatch(cell, nbm, expected[gid]) if isinstance(nbm, dict) else "not a mapping"
            if what:
                problems.append(f"{where}: the nbgrader metadata of {gid!r} was changed ({what})")
                _set_cell_type(cell, expected[gid]["cell_type"])
                meta["nbgrader"] = nbformat.from_dict(_canonical(gid, expected[gid]))
            continue
        if (
            isinstance(nbm, dict)
            and not any(nbm.get(f) for f in _FLAGS)
            and (gid is None or gid == "")
            and _metadata_valid(cell)
        ):
            continue  # nbgrader metadata that claims nothing: harmless, nbgrader ignores it
        if isinstance(gid, str) and gid in seen:
            problems.append(
                f"cells {seen[gid]} and {index} carry the same grade_id {_text.clean_line(repr(gid), 80)} "
                f"(cell {index} is no longer graded)"
            )
        elif isinstance(gid, str) and gid:
            problems.append(
                f"{where}: nbgrader metadata with a grade_id of its own "
                f"({_text.clean_line(repr(gid), 80)}), not a cell of the assignment"
            )
        else:
            problems.append(f"{where}: malformed nbgrader metadata")
        del meta["nbgrader"]
    if problems:  # the task scores 0: its graded cells must be there to say so
        for gid, spec in expected.items():
            if spec["grade"] and gid not in seen:
                nb.cells.append(_course_cell(gid, spec))
    return problems


def _course_cell(gid: str, spec: dict):
    """The course's cell ``gid`` (a solution cell empty), as the gradebook has it."""
    source = "# not graded: see the graded cells" if spec["solution"] else spec.get("source") or ""
    cell = v4.new_code_cell(source) if spec["cell_type"] == "code" else v4.new_markdown_cell(source)
    cell.metadata["nbgrader"] = nbformat.from_dict(_canonical(gid, spec))
    return cell


def _placeholder(expected: dict[str, dict] | None):
    """The course's cells of a notebook that could not be read (its solution cells empty)."""
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [_course_cell(gid, spec) for gid, spec in (expected or {}).items()]
    return nb


def _repair_dict(raw) -> tuple[dict | None, list[str]]:
    """A notebook dict nbformat can read, from a JSON document that may not be one."""
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        return None, ["not a Jupyter notebook (no list of cells)"]
    problems = []
    cells = []
    for index, cell in enumerate(raw["cells"], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            problems.append(f"cell {index}: not a notebook cell (removed)")
            continue
        if not isinstance(cell.get("metadata"), dict):
            problems.append(f"cell {index}: malformed metadata (removed)")
            cell["metadata"] = {}
        src = cell.get("source", "")
        if not (isinstance(src, str) or (isinstance(src, list) and all(isinstance(x, str) for x in src))):
            problems.append(f"cell {index}: its source is not text (emptied)")
            cell["source"] = ""
        if cell["cell_type"] == "code":
            cell["outputs"] = cell["outputs"] if isinstance(cell.get("outputs"), list) else []
            cell.setdefault("execution_count", None)
        cells.append(cell)
    raw["cells"] = cells
    if not isinstance(raw.get("metadata"), dict):
        raw["metadata"] = {}
    raw["nbformat"], raw["nbformat_minor"] = (
        4,
        raw.get("nbformat_minor", 5) if isinstance(raw.get("nbformat_minor"), int) else 5,
    )
    return raw, problems


def _well_formed(cell) -> bool:
    return (
        isinstance(cell, dict)
        and cell.get("cell_type") in ("code", "markdown", "raw")
        and isinstance(cell.get("metadata"), dict)
        and isinstance(cell.get("source"), str)
        and (cell["cell_type"] != "code" or isinstance(cell.get("outputs"), list))
    )


def read_guarded(data: bytes, expected: dict[str, dict] | None):
    """(notebook, problems): ``data`` read as a notebook whatever it holds, and its nbgrader
    metadata guarded (``guard_metadata``) when ``expected`` is known. Never raises: what cannot be
    read becomes the course's cells with empty solutions (``_placeholder``)."""
    import warnings

    problems: list[str] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        problems.append("not UTF-8 text")
        text = data.decode("utf-8", errors="replace")
    nb = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            nb = nbformat.reads(text, as_version=4)
            if not isinstance(nb.get("cells"), list) or not all(_well_formed(c) for c in nb.cells):
                raise ValueError("not a well-formed notebook")
        except Exception:
            nb = None
        if nb is None:
            try:
                raw, fixes = _repair_dict(json.loads(text))
            except ValueError as exc:
                raw, fixes = None, [f"not a readable notebook ({_text.clean_line(exc, 200)})"]
            problems += fixes
            if raw is not None:
                try:
                    nb = nbformat.reads(json.dumps(raw), as_version=4)
                except Exception as exc:
                    problems.append(f"not a readable notebook ({_text.clean_line(type(exc).__name__, 80)})")
                    nb = None
    if nb is None:
        return _placeholder(expected), problems or ["not a readable notebook"]
    if expected is not None:
        try:
            problems += guard_metadata(nb, expected)
        except Exception as exc:  # whatever is left: the course's cells, nothing of the student's
            problems.append(f"nbgrader metadata that cannot be repaired ({_text.clean_line(type(exc).__name__, 80)})")
            nb = _placeholder(expected)
    return nb, problems


class GuardedNotebookExporter(NotebookExporter):
    """nbgrader's notebook exporter for ``Autograde``, reading notebooks with ``read_guarded``.

    Reading ``submitted/`` (nbgrader's sanitising pass) records the problems of each notebook for
    ``IsolatedGrade``; the autograde pass reads nbgrader's own sanitised copy and adds nothing."""

    def from_file(self, file_stream, resources=None, **kw):
        info = (resources or {}).get("nbgrader", {}) if isinstance(resources, dict) else {}
        buffer = getattr(file_stream, "buffer", None)
        data = buffer.read() if buffer is not None else file_stream.read()
        if isinstance(data, str):
            data = data.encode("utf-8", errors="surrogatepass")
        expected = None
        if info.get("db_url") and info.get("notebook"):
            try:
                expected = expected_cells(info["db_url"], info["assignment"], info["notebook"])
            except Exception as exc:
                self.log.warning("GuardedNotebookExporter: gradebook not readable (%s)", exc)
        nb, problems = read_guarded(data, expected)
        if info and os.environ.get("NBGRADER_EXECUTION") != "autograde":
            PROBLEMS[problems_key(info)] = problems  # sanitising submitted/: a fresh record
        elif info and problems:
            PROBLEMS.setdefault(problems_key(info), []).extend(problems)
        if problems:
            self.log.warning(
                "%s of %s: %s (the task scores 0)",
                info.get("notebook"),
                _text.clean_line(info.get("student"), 100),
                _text.clean_line("; ".join(problems), 1000),
            )
        return self.from_notebook_node(nb, resources=resources, **kw)

"""solutions/ -> assignments/: each marker region becomes ``raise NotImplementedError("Task N.M: ...")``.

N is the module's task number (``grader.rubric``), M counts the module's regions in file order,
so numbers are stable while the solution keeps its regions; the message names the function and
the first sentence of its docstring. Line 1 tells the student the file is theirs to edit.
Everything outside the markers is copied unchanged. ``check`` lists the files that differ from
what ``write`` would produce.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from grader.rubric import BY_NAME

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
ASSIGNMENTS = ROOT / "assignments"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
HEADER = (
    "# Your work for Task {number} ({title}): fill in every place that raises\n"
    '# NotImplementedError("Task {number}.M: ..."). Keep the names and signatures of the functions.\n'
)
MAX_DOC = 160  # characters of the docstring in a stub's message


class MarkerError(ValueError):
    """Unbalanced or misplaced solution markers."""


def _enclosing_functions(source: str) -> list[tuple[int, int, str, str]]:
    spans = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = (ast.get_docstring(node) or "").strip().split("\n\n")[0]
            spans.append((node.lineno, node.end_lineno or node.lineno, node.name, " ".join(doc.split())))
    return spans


def regions(source: str) -> list[tuple[int, int, str, str]]:
    """(begin line, end line, function name, docstring summary) of each marker region, 1-based.

    The summary is the docstring's first paragraph on one line."""
    spans = _enclosing_functions(source)
    found, begin = [], None
    for number, line in enumerate(source.splitlines(), start=1):
        text = line.strip()
        if text == BEGIN:
            if begin is not None:
                raise MarkerError(f"line {number}: nested {BEGIN}")
            begin = number
        elif text == END:
            if begin is None:
                raise MarkerError(f"line {number}: {END} without {BEGIN}")
            inside = [s for s in spans if s[0] < begin < s[1]]  # comments lie outside end_lineno
            if not inside:
                raise MarkerError(f"lines {begin}-{number}: a region must lie inside a function")
            _, _, name, doc = max(inside, key=lambda s: s[0])
            found.append((begin, number, name, doc))
            begin = None
    if begin is not None:
        raise MarkerError(f"line {begin}: {BEGIN} without {END}")
    return found


_OPEN, _CLOSE = "([{", ")]}"


def first_sentence(text: str, limit: int = MAX_DOC) -> str:
    """The first sentence of ``text`` (a period outside brackets, followed by a capital or the
    end), without its period; longer than ``limit``, cut at the last word boundary outside
    brackets, with " ..." (never mid-formula)."""
    text = re.sub(r"\s+", " ", text).strip()
    depth, end, cuts = 0, len(text), []
    for i, ch in enumerate(text):
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        elif depth == 0 and ch == " ":
            cuts.append(i)
        elif (
            depth == 0
            and ch == "."
            and i > 0
            and text[i - 1] not in " ."
            and (i + 1 == len(text) or re.match(r" [A-Z]", text[i + 1 : i + 3]))
        ):
            end = i
            break
    sentence = text[:end].rstrip(" .")
    if len(sentence) <= limit:
        return sentence
    fits = [c for c in cuts if c <= limit - 4]
    cut = fits[-1] if fits else limit - 4
    return sentence[:cut].rstrip(" ,;:*/+=@-") + " ..."


def task_label(number: int, index: int, function: str, doc: str) -> str:
    doc = first_sentence(doc)
    return f"Task {number}.{index}: implement {function}" + (f" ({doc})" if doc else "")


def make_stub(source: str, task_number: int | None, filename: str, header: bool = True) -> str:
    """The student version of one solution module (``header``: the lines that tell students what to do;
    a notebook's solution cell has none)."""
    lines = source.splitlines(keepends=True)
    task = BY_NAME.get(Path(filename).stem)
    title = task.title if task else Path(filename).stem
    out: list[str] = [HEADER.format(number=task_number or 0, title=title)] if header else []
    cursor = 0
    for index, (begin, end, function, doc) in enumerate(regions(source), start=1):
        out.extend(lines[cursor : begin - 1])
        indent = lines[begin - 1][: len(lines[begin - 1]) - len(lines[begin - 1].lstrip())]
        label = task_label(task_number or 0, index, function, doc)
        out.append(f"{indent}raise NotImplementedError({label!r})\n")
        cursor = end
    out.extend(lines[cursor:])
    return "".join(out)


def expected_files() -> dict[str, str]:
    """Every file of assignments/ as `course stubs` writes it."""
    files = {}
    for path in sorted(SOLUTIONS.glob("*.py")):
        if path.name == "__init__.py":
            continue
        task = BY_NAME.get(path.stem)
        source = path.read_text(encoding="utf-8")
        files[path.name] = make_stub(source, task.number if task else None, path.name) if task else source
    return files


def write(dest: Path = ASSIGNMENTS) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in expected_files().items():
        target = dest / name
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            written.append(target)
    keep = set(expected_files()) | {"README.md"}
    for stale in dest.glob("*.py"):
        if stale.name not in keep:
            stale.unlink()
            written.append(stale)
    return written


def record_public_expected(dest: Path | None = None) -> list[Path]:
    """Grade the reference with the public checks in record mode: writes the values students'
    public checks replay (grader/checks/public/expected/<task>.json)."""
    import os
    import tempfile

    from grader import expected, runner

    target = Path(dest) if dest else expected.DEFAULT_DIR
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".expected-") as fresh:
        results = runner.grade(SOLUTIONS, runner.GradeOptions(public_only=True, expected="record", expected_dir=fresh))
        failed = [f"{t.task}/{t.name}: {t.output[:200]}" for t in results.tests if not t.passed]
        failed += [f"grader error: {e[:300]}" for e in results.grader_errors]  # nothing recorded for that lane
        if failed:
            raise RuntimeError(f"the reference fails public checks while recording: {failed}")
        new = {p.name for p in Path(fresh).glob("*.json")}
        for path in Path(fresh).glob("*.json"):
            os.replace(path, target / path.name)  # each file is replaced whole
        for stale in target.glob("*.json"):
            if stale.name not in new:
                stale.unlink()
    return sorted(target.glob("*.json"))


def check(dest: Path = ASSIGNMENTS) -> list[str]:
    """Names of files in ``dest`` that are missing, stale or extra."""
    expected = expected_files()
    problems = [
        n for n, t in expected.items() if not (dest / n).exists() or (dest / n).read_text(encoding="utf-8") != t
    ]
    problems += [p.name for p in dest.glob("*.py") if p.name not in expected]
    return sorted(problems)

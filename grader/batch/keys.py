"""What a stored result was graded against: the resume key of one student's results."""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

from grader.options import GradeOptions
from grader.results import GRADER_VERSION
from grader.rubric import BY_NAME
from grader.sandbox.isolation import isolation

GRADER = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------------
# keys: what a result was graded against
# ---------------------------------------------------------------------------------------------
def content_hash(folder: Path) -> str:
    """SHA-256 of a normalised submission folder (file names and bytes, sorted)."""
    h = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


PROJECT = GRADER.parent
SOLUTIONS = PROJECT / "solutions"


def _imports(path: Path, package: str) -> tuple[set[str], bool]:
    """The absolute names of every module ``path`` imports, in any form: ``import a.b``,
    ``from a import b`` (``a.b`` may be a module), relative imports (resolved against
    ``package``), ``importlib.import_module("a.b")`` / ``__import__("a.b")`` with a literal name, and
    ``solutions.<x>`` attribute chains (also through ``import solutions as s``); plus whether it
    uses the package whole (``from solutions import *``, or ``solutions`` imported and used other
    than as ``solutions.<module>``, e.g. ``getattr(solutions, name)``), which then counts as every
    module of it."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return set(), True  # unreadable: depend on everything rather than on nothing
    names: set[str] = set()
    whole = False
    aliases = {"solutions"}  # names bound to the package itself (import solutions [as s])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
            aliases |= {alias.asname for alias in node.names if alias.name == "solutions" and alias.asname}
    attribute_values: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = parts[: len(parts) - node.level + 1] if node.level <= len(parts) else []
                base = ".".join(parent + ([base] if base else []))
            if base:
                names.add(base)
            for alias in node.names:
                if alias.name == "*":
                    whole = whole or base.split(".")[0] == "solutions"
                else:
                    names.add(f"{base}.{alias.name}" if base else alias.name)
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("import_module", "__import__"):
                names.add(node.args[0].value)
        elif isinstance(node, ast.Attribute):
            chain = []
            value: ast.AST = node
            while isinstance(value, ast.Attribute):
                chain.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id in aliases:
                names.add("solutions." + chain[-1])
                attribute_values.add(id(value))
    bound = any(
        a.name == "solutions" or a.name.startswith("solutions.")
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for a in node.names
    )
    if bound:  # the package used other than as ``solutions.<module>`` (getattr, passed on): all of it
        whole = whole or any(
            isinstance(node, ast.Name)
            and node.id in aliases
            and isinstance(node.ctx, ast.Load)
            and id(node) not in attribute_values
            for node in ast.walk(tree)
        )
    return names, whole


def _module_file(name: str, root: Path) -> Path | None:
    """The file of a project module (``grader.*``, ``solutions.*``) under ``root``; for ``pkg.attr``
    where ``attr`` is no module, the package's ``__init__.py``."""
    parts = name.split(".")
    if parts[0] not in ("grader", "solutions"):
        return None
    while parts:
        base = root.joinpath(*parts)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
        parts = parts[:-1]
    return None


def reference_files(check_files: list[Path], root: Path | None = None) -> set[Path]:
    """Every reference module (``root/solutions/*.py``) that ``check_files`` import, directly or through
    the project's own modules (``grader.*`` helpers, other reference modules), computed from the
    import statements themselves (``ast``), never from a pattern over the source."""
    root = Path(root or PROJECT)
    solutions = root / "solutions"
    seen: set[Path] = set()
    found: set[Path] = set()
    todo = [Path(p) for p in check_files]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        try:
            rel = path.resolve().relative_to(root.resolve()).with_suffix("")
            package = ".".join(rel.parts[:-1])  # a module's package; __init__'s is its own
        except ValueError:
            package = ""
        names, whole = _imports(path, package)
        if whole:
            found |= set(solutions.glob("*.py"))
        for name in names:
            target = _module_file(name, root)
            if target is None:
                continue
            if target.parent == solutions or solutions in target.parents:
                found.add(target)
            todo.append(target)
    return found


def fingerprint_files(tasks: list[str]) -> list[Path]:
    """What decides these tasks' scores: the engine (``grader/**``, less the batch, the CLI, the
    course tooling and the checks), the tasks' checks and recorded public expectations, and every
    reference module those checks import (plus each task's own reference and ``data.py``, which
    the expected values and the workers use)."""
    skip = {GRADER / "cli.py"}  # neither the command line nor the batch machinery changes a grade
    files = [
        p
        for p in GRADER.rglob("*.py")
        if p not in skip and not {"course", "checks", "batch", "__pycache__"} & set(p.relative_to(GRADER).parts[:-1])
    ]
    files += list((GRADER / "checks").glob("*.py"))
    checks = []
    for name in tasks:
        checks += BY_NAME[name].check_files()
        expected = GRADER / "checks" / "public" / "expected" / f"{name}.json"
        files += [expected] if expected.is_file() else []
        files += [p for p in (SOLUTIONS / f"{name}.py",) if p.is_file()]
    files += checks
    files += [p for p in (SOLUTIONS / "data.py",) if p.is_file()]
    files += sorted(reference_files(checks, PROJECT))
    return sorted(set(files))


def grader_fingerprint(tasks: list[str], options: GradeOptions) -> str:
    """The grader version plus a hash of ``fingerprint_files(tasks)`` and the environment (editing
    another task's checks changes nothing)."""
    h = hashlib.sha256(GRADER_VERSION.encode())
    for path in fingerprint_files(tasks):
        h.update(str(path.relative_to(PROJECT)).encode() + b"\0" + path.read_bytes())
    h.update(json.dumps(_environment(options), sort_keys=True).encode())
    return f"{GRADER_VERSION}+{h.hexdigest()[:16]}"


def _environment(options: GradeOptions) -> dict[str, str]:
    """What else changes a grade: library versions, the time-limit scale, the isolation in force."""
    from importlib import metadata

    versions = {}
    for dist in ("numpy", "torch", "tensorflow-cpu", "tensorflow", "keras", "hypothesis", "pytest"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return {
        **versions,
        "timeout_scale": repr(float(options.timeout_scale)),
        "isolation": isolation(options.sandbox).kind,
        "expected": options.expected,
    }


def make_key(content: str, fingerprint: str, seed: int, tasks: list[str], public_only: bool) -> str:
    doc = json.dumps(
        {"content": content, "grader": fingerprint, "seed": seed, "tasks": tasks, "public_only": public_only},
        sort_keys=True,
    )
    return hashlib.sha256(doc.encode()).hexdigest()

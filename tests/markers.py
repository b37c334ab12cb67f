"""Where the solution markers sit: one top-level function per region, its return inside."""

import ast
import pathlib

from grader.course.stubs import regions


def marker_functions(path: pathlib.Path) -> list[str]:
    """Names of the functions holding each BEGIN/END SOLUTION region, in file order."""
    source = path.read_text()
    lines = source.splitlines()
    tree = ast.parse(source)
    names = []
    for b, e, _, _ in regions(source):  # the stub generator's own reading of the markers
        assert b < e
        # the top-level statement the region starts in, and the next one after it
        starts = [n.lineno - len(getattr(n, "decorator_list", [])) for n in tree.body]
        k = max(i for i, s in enumerate(starts) if s < b)
        owner, stop = tree.body[k], (starts[k + 1] if k + 1 < len(starts) else len(lines) + 1)
        assert isinstance(owner, ast.FunctionDef) and owner.body[0].end_lineno < b and e < stop, (
            f"region at line {b} is not inside one top-level function body"
        )
        returns = [n for n in owner.body if isinstance(n, ast.Return) and b < n.lineno < e]
        assert returns, f"region at line {b} does not contain the function's return"
        names.append(owner.name)
    return names

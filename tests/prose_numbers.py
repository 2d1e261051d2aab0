"""Numbers in the prose that every reader sees: written into the Markdown from the run.

JupyterLab and Colab show MyST's ``{glue:text}`key``` roles as raw text. The book writes a
measured number into its Markdown instead, between two HTML comments, which render as
nothing on the site, in JupyterLab, in Colab and in the PDF::

    Model E reaches <!--glue ch07_acc:.2f-->97.08<!--/glue-->% on the test set.

``<!--glue KEY:FMT-->`` names a value that the notebook's own run stored with
``fh.glue("KEY", value)``; FMT is a Python format spec (``.2f``, ``,``, ``.0f``), or nothing
for a string (``<!--glue KEY-->``). After a notebook is executed, ``fill`` rewrites the text
between the markers as ``format(value, FMT)`` (``.ci/execute-notebooks`` calls it), and
``mismatches`` (used by ``tests/test_notebook_guard.py``) lists every marked number that
differs from the stored run, so prose and run cannot drift apart.

Usage: python tests/prose_numbers.py fill|check notebooks/NN_name.ipynb ...
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

MARKED = re.compile(r"<!--glue\s+([A-Za-z0-9_]+)(?::([^>]*?))?\s*-->(.*?)<!--/glue-->", re.S)
WRAPPED = re.compile(r"(?:np\.|numpy\.)?(?:float\d*|int\d*|tensor|str_|bool_?)\((.*)\)", re.S)


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def parse_value(text: str):
    """The Python value behind a glue record's text/plain repr.

    >>> parse_value("np.float64(97.08)"), parse_value("'a note'"), parse_value("42")
    (97.08, 'a note', 42)
    """
    text = text.strip()
    match = WRAPPED.fullmatch(text)
    if match:
        text = match.group(1).split(", dtype")[0].strip()
    if text in ("nan", "inf", "-inf"):
        return float(text)
    return ast.literal_eval(text)


def glued_values(nb: dict) -> dict:
    """Every value stored by ``glue`` in the notebook's outputs, by name."""
    values = {}
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            record = output.get("metadata", {}).get("scrapbook")
            if not record:
                continue
            data = output.get("data", {})
            plain = data.get(record.get("mime_prefix", "") + "text/plain", data.get("text/plain", ""))
            plain = plain if isinstance(plain, str) else "".join(plain)
            try:
                values[record["name"]] = parse_value(plain)
            except (ValueError, SyntaxError):
                values[record["name"]] = plain
    return values


def render(value, fmt: str | None) -> str:
    """The text the prose shows for a value: ``format(value, fmt)``."""
    return format(value, fmt or "")


def marked_keys(text: str) -> list[str]:
    """The glue keys named by markers in a Markdown text."""
    return [m.group(1) for m in MARKED.finditer(text)]


#: A Markdown line that begins with an HTML comment opens an HTML block (CommonMark): the
#: rest of the line is shown as typed, Markdown and all, and the paragraph is cut in two.
LINE_START = re.compile(r"^[ \t]*<!--glue", re.M)


def mismatches(nb: dict) -> list[str]:
    """Every marked number whose text differs from the stored run, as readable lines.

    Also every line that begins with a marker: put a word of the sentence before it.
    """
    values = glued_values(nb)
    problems = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "markdown":
            continue
        for m in LINE_START.finditer(_source(cell)):
            line = _source(cell)[m.start():].split("\n", 1)[0]
            problems.append(f"cell {i}: a line begins with a marker, which Markdown shows as raw "
                            f"HTML; put a word before it: {line[:60]!r}")
        for m in MARKED.finditer(_source(cell)):
            key, fmt, shown = m.group(1), m.group(2), m.group(3)
            if key not in values:
                problems.append(f"cell {i}: marked number {key!r} is never glued")
                continue
            try:
                expected = render(values[key], fmt)
            except (ValueError, TypeError) as e:
                problems.append(f"cell {i}: {key!r} cannot be formatted with {fmt!r}: {e}")
                continue
            if shown != expected:
                problems.append(f"cell {i}: the prose shows {shown!r} for {key!r}, the run gave {expected!r}")
    return problems


def fill(nb: dict) -> int:
    """Rewrite every marked number from the stored run; return how many changed."""
    values = glued_values(nb)
    changed = 0

    def replace(m: re.Match) -> str:
        nonlocal changed
        key, fmt = m.group(1), m.group(2)
        if key not in values:
            return m.group(0)
        text = render(values[key], fmt)
        changed += text != m.group(3)
        head = m.group(0)[: m.start(3) - m.start(0)]
        return f"{head}{text}<!--/glue-->"

    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown" and "<!--glue" in _source(cell):
            cell["source"] = MARKED.sub(replace, _source(cell))
    return changed


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("fill", "check"):
        print(__doc__.strip().splitlines()[-1])
        return 2
    status = 0
    for name in argv[1:]:
        path = Path(name)
        nb = nbformat.read(path, as_version=4)
        if argv[0] == "fill":
            changed = fill(nb)
            if changed:
                nbformat.write(nb, path)
            print(f"{path}: {changed} number(s) in the prose updated from the run")
        for problem in mismatches(nb):
            print(f"{path}: {problem}")
            status = 1
    return status


if __name__ == "__main__":
    import nbformat  # Jupyter's own reader and writer: the file keeps its layout

    sys.exit(main(sys.argv[1:]))

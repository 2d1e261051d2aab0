"""A fast guard over the stored notebooks: it reads them, it executes nothing.

`pytest --nbval` compares what a fresh run prints with what is stored. That comparison is
only fair when the stored notebook is itself sound, and when nbval is asked to compare only
what is identical on every CPU and at any load. This guard checks, for every chapter:

1. the code cells were run top to bottom in one fresh kernel (execution counts 1..N);
2. no stored output is an error, except in a cell tagged ``raises-exception``;
3. every ``{glue:text}`key``` (or other glue role) in the markdown is glued by the
   notebook's own stored outputs, so the book never shows a missing number;
4. nbval markers are cell tags, never visible ``# NBVAL_...`` comments;
5. no float is glued from a cell that nbval compares: a measured value's last digits depend
   on the CPU's kernels, so it must come from a cell tagged ``nbval-ignore-output``;
6. every value glued under a literal name (``fh.glue("key", ...)``) is used in the markdown:
   a glued number nobody reads is either a leftover or a number the prose types by hand
   instead. (Names built in a loop, ``f"..._{k}"``, may glue a few values the prose skips.)
7. every number written into the prose between ``<!--glue KEY:FMT-->`` and ``<!--/glue-->``
   (tests/prose_numbers.py) is exactly the stored run's value, formatted: readers in
   JupyterLab and Colab see the number itself, and it cannot drift from the run.

The second half of the file breaks a copy of a real chapter in each of these ways and
shows that the guard notices.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from prose_numbers import MARKED, marked_keys, mismatches

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9]*.ipynb"))

GLUE_ROLE = re.compile(r"\{glue(?::[a-z]+)?\}`([^`:<>]+)")
GLUE_DIRECTIVE = re.compile(r"^[`:]{3,}\{glue(?::[a-z]+)?\}\s+([^\s:]+)", re.M)
GLUE_CALL = re.compile(r"""\bglue\(\s*["']([^"'{}]+)["']""")
MARKER_COMMENT = re.compile(r"^\s*#\s*NBVAL_[A-Z_]+", re.M)
IGNORED = {"nbval-ignore-output", "nbval-skip"}


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def _tags(cell: dict) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def _glued(cell: dict):
    """Yield (name, text/plain value) of every glue record stored in a cell's outputs."""
    for output in cell.get("outputs", []):
        record = output.get("metadata", {}).get("scrapbook")
        if record:
            data = output.get("data", {})
            plain = data.get(record.get("mime_prefix", "") + "text/plain", data.get("text/plain", ""))
            yield record["name"], plain if isinstance(plain, str) else "".join(plain)


def _is_float_repr(text: str) -> bool:
    """True for the repr of a non-integer number: 0.5, 1e-08, np.float64(2.0), tensor(3.1), nan."""
    text = text.strip().strip("'\"")
    match = re.fullmatch(r"(?:np\.float\d+|numpy\.float\d+|tensor)\((.*)\)", text)
    if match:
        text = match.group(1).split(",")[0].strip()
    try:
        float(text)
    except ValueError:
        return False
    return not re.fullmatch(r"[-+]?\d+", text)


def notebook_problems(nb: dict) -> list[str]:
    """Every way in which a stored notebook breaks the rules above, as readable lines."""
    problems = []
    cells = nb.get("cells", [])
    code = [(i, c) for i, c in enumerate(cells) if c.get("cell_type") == "code" and _source(c).strip()]

    counts = [c.get("execution_count") for _, c in code]
    if counts != list(range(1, len(code) + 1)):
        problems.append(f"execution counts are {counts}, not 1..{len(code)}: run it top to bottom in a fresh kernel")

    glued = set()
    for i, cell in code:
        tags = _tags(cell)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and "raises-exception" not in tags:
                problems.append(f"cell {i}: stored error {output.get('ename')} without the raises-exception tag")
        if MARKER_COMMENT.search(_source(cell)):
            problems.append(f"cell {i}: nbval marker written as a comment; use a cell tag")
        for name, value in _glued(cell):
            glued.add(name)
            if _is_float_repr(value) and not tags & IGNORED:
                problems.append(f"cell {i}: float {name} = {value} glued from a cell nbval compares")

    used = set()
    for i, cell in enumerate(cells):
        if cell.get("cell_type") == "markdown":
            text = _source(cell)
            used.update(marked_keys(text))  # checked against the run by mismatches() below
            for name in GLUE_ROLE.findall(text) + GLUE_DIRECTIVE.findall(text):
                used.add(name.strip())
                if name.strip() not in glued:
                    problems.append(f"cell {i}: glue key {name.strip()!r} is used but never glued")
    literal = {name for _, c in code for name in GLUE_CALL.findall(_source(c))}
    for name in sorted((glued & literal) - used):
        problems.append(f"glue key {name!r} is glued but never used in the markdown")
    problems += mismatches(nb)
    return problems


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- the chapters


def test_there_are_chapters():
    assert len(NOTEBOOKS) >= 11, NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_notebook_is_sound(path):
    problems = notebook_problems(_load(path))
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------- the guard itself


@pytest.fixture(scope="module")
def chapter():
    """A real chapter with glued floats, ignored cells and marked numbers in its prose."""
    nb = _load(next(p for p in NOTEBOOKS if p.name.startswith("04_")))
    assert notebook_problems(nb) == []
    return nb


def _first(nb: dict, predicate) -> dict:
    return next(c for c in nb["cells"] if predicate(c))


def _has_glue(cell: dict) -> bool:
    return any(True for _ in _glued(cell))


def test_guard_catches_out_of_order_execution(chapter):
    nb = copy.deepcopy(chapter)
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and _source(c).strip()]
    code[1]["execution_count"], code[2]["execution_count"] = code[2]["execution_count"], code[1]["execution_count"]
    assert any("execution counts" in p for p in notebook_problems(nb))


def test_guard_catches_a_never_run_cell(chapter):
    nb = copy.deepcopy(chapter)
    _first(nb, lambda c: c["cell_type"] == "code")["execution_count"] = None
    assert any("execution counts" in p for p in notebook_problems(nb))


def test_guard_catches_a_stored_error(chapter):
    nb = copy.deepcopy(chapter)
    cell = _first(nb, lambda c: c["cell_type"] == "code" and "raises-exception" not in _tags(c))
    cell["outputs"].append({"output_type": "error", "ename": "ValueError", "evalue": "boom", "traceback": []})
    assert any("stored error ValueError" in p for p in notebook_problems(nb))
    cell.setdefault("metadata", {}).setdefault("tags", []).append("raises-exception")
    assert not any("stored error" in p for p in notebook_problems(nb))


def test_guard_catches_an_unused_glue_key(chapter):
    nb = copy.deepcopy(chapter)
    cell = _first(nb, lambda c: c["cell_type"] == "markdown" and MARKED.search(_source(c)))
    name = MARKED.search(_source(cell)).group(1)
    cell["source"] = MARKED.sub("a number typed by hand", _source(cell))
    assert notebook_problems(nb) != [] and all(name in p or "never used" in p for p in notebook_problems(nb))
    assert any(f"{name!r} is glued but never used" in p for p in notebook_problems(nb))


def test_guard_catches_a_missing_glue_key(chapter):
    nb = copy.deepcopy(chapter)
    _first(nb, lambda c: c["cell_type"] == "markdown")["source"] += "\nIt is {glue:text}`ch04_no_such_key:.2f` %."
    assert any("'ch04_no_such_key'" in p for p in notebook_problems(nb))


def test_guard_catches_glue_lost_with_the_outputs(chapter):
    nb = copy.deepcopy(chapter)
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and _has_glue(cell):
            cell["outputs"] = []
    assert any("never glued" in p for p in notebook_problems(nb))


def test_guard_catches_a_marker_comment(chapter):
    nb = copy.deepcopy(chapter)
    cell = _first(nb, lambda c: c["cell_type"] == "code")
    cell["source"] = "# NBVAL_IGNORE_OUTPUT\n" + _source(cell)
    assert any("marker written as a comment" in p for p in notebook_problems(nb))


def test_guard_catches_a_float_glued_in_a_compared_cell(chapter):
    nb = copy.deepcopy(chapter)
    cell = _first(nb, lambda c: c["cell_type"] == "code" and _has_glue(c) and "nbval-ignore-output" in _tags(c)
                  and any(_is_float_repr(v) for _, v in _glued(c)))
    cell["metadata"]["tags"].remove("nbval-ignore-output")
    assert any("glued from a cell nbval compares" in p for p in notebook_problems(nb))


@pytest.mark.parametrize(
    "text, is_float",
    [("0.5", True), ("1e-08", True), ("np.float64(2.0)", True), ("tensor(3.1)", True), ("nan", True),
     ("42", False), ("-7", False), ("'met'", False), ("np.int64(3)", False), ("(1, 28, 28)", False)],
)
def test_float_reprs(text, is_float):
    assert _is_float_repr(text) is is_float


# --------------------------------------------------------------------------- the intro's run times


def stored_run_seconds(nb: dict) -> float:
    """Seconds from the first cell's start to the last cell's end, from the stored run."""
    from datetime import datetime

    times = []
    for cell in nb.get("cells", []):
        execution = cell.get("metadata", {}).get("execution", {})
        for key in ("iopub.execute_input", "shell.execute_reply"):
            if key in execution:
                times.append(datetime.fromisoformat(execution[key].replace("Z", "+00:00")))
    if not times:
        raise ValueError("the notebook stores no execution times")
    return (max(times) - min(times)).total_seconds()


def test_intro_states_each_chapters_stored_run_time():
    """book/intro.md gives each chapter's run time; it must be that of the stored outputs."""
    intro = (NOTEBOOKS[0].parent.parent / "book" / "intro.md").read_text(encoding="utf-8")
    stated = {
        name: int(seconds)
        for name, seconds in re.findall(r"<\.\./notebooks/(\w+)>`.*\|\s*(\d+) s\s*\|\s*$", intro, re.M)
    }
    assert sorted(stated) == [p.stem for p in NOTEBOOKS], "every chapter's row needs its run time"
    for path in NOTEBOOKS:
        seconds = stored_run_seconds(_load(path))
        assert abs(stated[path.stem] - seconds) <= max(3, 0.1 * seconds), (path.stem, stated[path.stem], seconds)


# --------------------------------------------------------------------------- numbers in the prose


def _show_in_first_marker(nb: dict, shown: str) -> tuple[str, str]:
    """Make the first marked number of the chapter show ``shown`` instead of the run's."""
    cell = _first(nb, lambda c: c["cell_type"] == "markdown" and MARKED.search(_source(c)))
    m = MARKED.search(_source(cell))
    head = m.group(0)[: m.start(3) - m.start(0)]
    cell["source"] = _source(cell).replace(m.group(0), f"{head}{shown}<!--/glue-->", 1)
    return m.group(1), m.group(2)


def test_guard_catches_a_number_the_run_did_not_give(chapter):
    nb = copy.deepcopy(chapter)
    key, _ = _show_in_first_marker(nb, "12345")
    assert any(f"shows '12345' for {key!r}" in p for p in notebook_problems(nb))


def test_fill_writes_the_runs_number_into_the_prose(chapter):
    import prose_numbers

    nb = copy.deepcopy(chapter)
    key, fmt = _show_in_first_marker(nb, "?")
    assert notebook_problems(nb) != []
    assert prose_numbers.fill(nb) == 1
    assert notebook_problems(nb) == []
    expected = prose_numbers.render(prose_numbers.glued_values(nb)[key], fmt)
    assert f"-->{expected}<!--/glue-->" in "".join(_source(c) for c in nb["cells"])
    assert prose_numbers.fill(nb) == 0  # a second fill changes nothing


def test_guard_catches_a_line_that_begins_with_a_marker(chapter):
    nb = copy.deepcopy(chapter)
    cell = _first(nb, lambda c: c["cell_type"] == "markdown" and MARKED.search(_source(c)))
    m = MARKED.search(_source(cell))
    cell["source"] = _source(cell).replace(m.group(0), "\n  " + m.group(0), 1)
    assert any("a line begins with a marker" in p for p in notebook_problems(nb))


def test_guard_still_reads_glue_roles(chapter):
    """A {glue:text} role (shown raw in JupyterLab, so no longer used) is still checked."""
    nb = copy.deepcopy(chapter)
    cell = _first(nb, lambda c: c["cell_type"] == "markdown" and MARKED.search(_source(c)))
    m = MARKED.search(_source(cell))
    role = "{glue:text}`" + m.group(1) + (":" + m.group(2) if m.group(2) else "") + "`"
    cell["source"] = _source(cell).replace(m.group(0), role, 1)
    assert notebook_problems(nb) == []


def test_guard_catches_a_marker_for_a_value_never_glued(chapter):
    nb = copy.deepcopy(chapter)
    _first(nb, lambda c: c["cell_type"] == "markdown")["source"] += "\nIt is <!--glue ch04_nothing:.1f-->1.0<!--/glue-->."
    assert any("'ch04_nothing' is never glued" in p for p in notebook_problems(nb))


@pytest.mark.parametrize(
    "text, value",
    [("np.float64(97.08)", 97.08), ("97.08", 97.08), ("'a sentence, with commas'", "a sentence, with commas"),
     ("42", 42), ("np.int64(3)", 3), ("tensor(0.5000)", 0.5), ("nan", "nan")],
)
def test_glued_reprs_are_read_back(text, value):
    from prose_numbers import parse_value

    got = parse_value(text)
    assert (str(got) == value) if value == "nan" else got == value

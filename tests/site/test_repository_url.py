"""One repository URL, and a first cell that never leaves a reader stuck.

The URL's home is ``repository.url`` in ``_config.yml`` (the launch and repository buttons
use it); the README and every chapter's first code cell must name the same one, and the
first cell is the template of ``.ci/first_cell.py`` (run it after changing the URL).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(ROOT.glob("notebooks/[0-9]*.ipynb"))


def _load_first_cell_module():
    spec = importlib.util.spec_from_file_location("first_cell", ROOT / ".ci" / "first_cell.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


first_cell = _load_first_cell_module()
URL = first_cell.repository_url()


def test_config_names_a_repository():
    assert URL.startswith("https://"), URL


def test_readme_names_the_same_repository():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"git clone {URL}" in readme, f"the README's `git clone` line must use {URL}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_code_cell_is_the_template(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    source = "".join(first_cell.first_code_cell(nb)["source"])
    assert source == first_cell.first_cell_source(URL), (
        f"{path.name}: its first code cell is not the template for {URL}: "
        f"run `python .ci/first_cell.py {path.relative_to(ROOT)}`"
    )


def test_check_mode_finds_a_stale_first_cell(tmp_path):
    """The rewrite script sees a notebook whose first cell names another URL."""
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                     "source": first_cell.first_cell_source("https://example.org/old/url")}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "99_stale.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert first_cell.main(["--check", str(path)]) == 1
    assert first_cell.main([str(path)]) == 0
    assert first_cell.main(["--check", str(path)]) == 0


def test_template_rejects_a_bad_url():
    with pytest.raises(ValueError, match="URL"):
        first_cell.first_cell_source("not a url")


def test_first_cell_fails_with_one_clear_message(tmp_path):
    """Where ffn_helpers is missing and the URL cannot be installed from, the cell stops
    with a message that says what to do, not a CalledProcessError traceback."""
    source = first_cell.first_cell_source((tmp_path / "no-such-repo").as_uri())
    # the cell, run where ffn_helpers cannot be found (the test's own environment has it)
    program = (
        "import importlib.util\n"
        "real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda n, *a: None if n == 'ffn_helpers' else real(n, *a)\n"
        + source
    )
    run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert run.returncode == 1, run.stderr[-2000:]
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("Could not install ffn_helpers from file://"), run.stderr[-2000:]
    assert "pip install -e ." in last and "fork's URL" in last
    assert "Traceback" not in run.stderr and "CalledProcessError" not in run.stderr

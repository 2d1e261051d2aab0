#!/usr/bin/env python3
"""Write the first code cell of chapter notebooks from one template.

The first code cell installs the book's helpers where they are missing (Colab, a fresh
environment). It names the repository to install from; that URL has one home,
``repository.url`` in ``_config.yml``, which the launch buttons use too. This script
renders the template with that URL and writes it into the notebooks' first code cell
(its source only: the cell has no outputs, so no re-execution is needed).

    python .ci/first_cell.py                      # every notebooks/NN_*.ipynb
    python .ci/first_cell.py notebooks/07_*.ipynb # only those
    python .ci/first_cell.py --check              # exit 1 if a notebook differs

``tests/site/test_repository_url.py`` checks that _config.yml, the README and every
first cell agree, and that the cell fails with a clear message when it cannot install.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TEMPLATE = '''\
# In Colab or any fresh environment, install the book's helpers first.
import importlib.util, subprocess, sys

REPO = "{url}"  # or your fork's URL
if importlib.util.find_spec("ffn_helpers") is None:
    pip = [sys.executable, "-m", "pip", "install", "-q", "git+" + REPO]
    if subprocess.run(pip).returncode != 0:
        raise SystemExit(
            f"Could not install ffn_helpers from {{REPO}} (offline, or a "
            "fork?). Set REPO to your fork's URL, or clone the book, run "
            "`pip install -e .` in it and restart the kernel."
        )'''
# (as `ruff format --line-length 88` writes it, so that formatting the notebooks keeps it)


def repository_url(config: Path = ROOT / "_config.yml") -> str:
    """The book's repository URL, ``repository.url`` in ``_config.yml``.

    Read with a regular expression so that the script needs no YAML library.

    >>> repository_url().startswith("https://")
    True
    """
    text = config.read_text(encoding="utf-8")
    block = re.search(r"^repository:\s*\n((?:[ \t]+.*\n?)+)", text, re.M)
    url = block and re.search(r"^\s+url:\s*[\"']?([^\s\"'#]+)", block.group(1), re.M)
    if not url:
        raise ValueError(f"{config} has no repository.url")
    return url.group(1)


def first_cell_source(url: str | None = None) -> str:
    """The first code cell of every chapter, for the repository at ``url``.

    >>> 'REPO = "https://example.org/a/b"' in first_cell_source("https://example.org/a/b")
    True
    """
    if url is None:
        url = repository_url()
    if not isinstance(url, str) or not re.match(r"^(https?|file)://\S+$", url):
        raise ValueError(f"expected an http(s) or file URL without spaces, got {url!r}")
    return TEMPLATE.format(url=url)


def first_code_cell(nb: dict) -> dict:
    """The notebook's first code cell (ValueError if it has none)."""
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            return cell
    raise ValueError("the notebook has no code cell")


def rewrite(path: Path, source: str, check: bool = False) -> bool:
    """Give ``path``'s first code cell ``source``; True if it changed (or would change)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cell = first_code_cell(nb)
    if "".join(cell["source"]) == source:
        return False
    if cell.get("outputs"):
        raise ValueError(f"{path}: the first code cell has outputs; it should print nothing")
    if not check:
        cell["source"] = source.splitlines(keepends=True)
        text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
        path.write_text(text, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 on a difference")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(ROOT.glob("notebooks/[0-9]*.ipynb"))
    source = first_cell_source()
    changed = [p for p in paths if rewrite(p, source, check=args.check)]
    for p in changed:
        print(f"{'differs' if args.check else 'rewritten'}: {p}")
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())

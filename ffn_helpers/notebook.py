"""Notebook conveniences: MyST-NB ``glue`` when the book's tools are installed, a no-op otherwise."""

from __future__ import annotations

from typing import Any


def glue(name: str, value: Any, display: bool = False) -> None:
    """Store ``value`` under ``name`` for the book's prose.

    A chapter's Markdown shows it between two markers, ``<!--glue name:fmt-->…<!--/glue-->``,
    which ``tests/prose_numbers.py`` fills from the stored run (so the number reads the
    same on the site, in JupyterLab and in Colab).

    Uses ``myst_nb.glue`` when MyST-NB is installed (it is with requirements.txt); in a
    bare environment such as Colab the call does nothing, so notebooks run anywhere.

    Example:
        >>> glue("answer", 42)  # doctest: +SKIP
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty str, got {name!r}")
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, value, display=display)

"""The book's own Sphinx extension: what Jupyter Book 1 leaves for a book to fix in its HTML.

Listed in ``_config.yml`` under ``sphinx.local_extensions``. It

- serves MathJax from the book itself (``_static/mathjax``, from the
  ``sphinx-mathjax-offline`` package in ``requirements.txt``), so that math renders
  with no network: a book built offline reads offline;
- writes each ``<script>`` once: under Jupyter Book 1, sphinx-thebe's configuration
  script is registered twice, and its second ``const THEBE_JS_URL`` throws
  "Identifier 'THEBE_JS_URL' has already been declared" on every page;
- titles the home page with the book's title alone, not "title — title".
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError

MATHJAX_PACKAGE = "sphinx-mathjax-offline"
MATHJAX_SCRIPT = "mathjax/tex-mml-chtml.js"  # the component Sphinx loads from its CDN by default


def mathjax_static_dir() -> Path:
    """The folder that holds ``mathjax/`` in the installed ``sphinx-mathjax-offline``."""
    try:
        dist = metadata.distribution(MATHJAX_PACKAGE)
    except metadata.PackageNotFoundError:
        raise ExtensionError(
            f"{MATHJAX_PACKAGE} is not installed: run `pip install -r requirements.txt`"
        ) from None
    static = Path(str(dist.locate_file(MATHJAX_PACKAGE))) / "static"
    if not (static / MATHJAX_SCRIPT).is_file():
        raise ExtensionError(f"{static / MATHJAX_SCRIPT} is missing: reinstall {MATHJAX_PACKAGE}")
    return static


def use_local_mathjax(app: Sphinx, config: Config) -> None:
    # Sphinx copies html_static_path into _static/, and a mathjax_path without a scheme
    # is a file under _static/.
    config.html_static_path = [*config.html_static_path, str(mathjax_static_dir())]
    config.mathjax_path = MATHJAX_SCRIPT


def _script_key(script) -> tuple:
    # The copies differ only in an inline script's filename: None in one, "" in the other.
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {}) or {}
    return (str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items())))


def write_each_script_once(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen: set = set()
    unique = []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    if len(unique) != len(scripts):
        context["script_files"] = unique


def add_templates(app: Sphinx, config: Config) -> None:
    # templates/layout.html: the home page's <title> (basic/layout.html writes
    # "{{ title }} — {{ docstitle }}", and on the home page both are the book's title).
    config.templates_path = [*config.templates_path, str(Path(__file__).parent / "templates")]


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", use_local_mathjax)
    app.connect("html-page-context", write_each_script_once, priority=900)  # after sphinx-thebe
    app.connect("config-inited", add_templates)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}

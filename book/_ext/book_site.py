"""The book's own Sphinx extension: what Jupyter Book 1 leaves for a book to fix in its HTML.

Listed in ``_config.yml`` under ``sphinx.local_extensions``. It

- typesets the math at build time, when Node.js is there (``render_math.js``: TeX to
  SVG with the MathJax 3 of the ``sphinx-mathjax-offline`` package in
  ``requirements.txt``), so that pages load no MathJax and read offline; without
  Node.js it serves MathJax from the book itself (``_static/mathjax``, 1.2 MB a page);
- drops Font Awesome's all-in-one JavaScript (1.5 MB on every page) and draws the
  few icons the pages use from a small stylesheet (``_static/book-icons.css``, each
  icon an SVG mask cut from that script), so that no page loads Font Awesome's web
  fonts (0.27 MB) either;
- writes each ``<script>`` once: under Jupyter Book 1, sphinx-thebe's configuration
  script is registered twice, and its second ``const THEBE_JS_URL`` throws
  "Identifier 'THEBE_JS_URL' has already been declared" on every page;
- titles the home page with the book's title alone, not "title — title";
- numbers figures per chapter ("Fig. 6.2"), as exercises are numbered;
- adds ``static/book-reading.js`` and ``.css`` to every page: a line above each table or
  formula wider than the screen says it scrolls sideways, and each figure opens its
  full-size image on a tap.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

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


def node_executable() -> str | None:
    """Node.js, which typesets the math at build time; None: MathJax runs in the browser.

    ``BOOK_MATH=browser`` forces MathJax in the browser even where Node.js is installed.
    """
    if os.environ.get("BOOK_MATH", "").lower() == "browser":
        return None
    return shutil.which("node") or shutil.which("nodejs")


def use_local_mathjax(app: Sphinx, config: Config) -> None:
    config.html_css_files = [*config.html_css_files, "book-icons.css"]  # typeset_math_on_build
    # Every page: scroll cues for wide tables and formulas, figures that open full size.
    config.html_static_path = [*config.html_static_path, str(Path(__file__).parent / "static")]
    config.html_css_files = [*config.html_css_files, "book-reading.css"]
    config.html_js_files = [*config.html_js_files, ("book-reading.js", {"defer": "defer"})]
    app.book_node = node_executable()  # type: ignore[attr-defined]
    if app.book_node:
        # The math is typeset when the build ends (typeset_math_on_build below); pages
        # get a small stylesheet and no MathJax script.
        config.html_css_files = [*config.html_css_files, "book-math.css"]
    else:
        logger.info("book_site: no Node.js, so MathJax typesets the math in the browser")
        # Sphinx copies html_static_path into _static/, and a mathjax_path without a
        # scheme is a file under _static/.
        config.html_static_path = [*config.html_static_path, str(mathjax_static_dir())]
    config.mathjax_path = MATHJAX_SCRIPT


# A formula as Sphinx writes it for MathJax: \(...\) inline, \[...\] displayed, inside an
# element of class "math" (a numbered equation also holds its number, <span class="eqno">).
MATH_ELEMENT = re.compile(
    r'(<(span|div) class="math notranslate nohighlight"[^>]*>)(.*?)(</\2>)', re.S
)
TEX = re.compile(r"\\\((.*?)\\\)|\\\[(.*?)\\\]", re.S)
FONTAWESOME_JS = re.compile(
    r'\s*<(script|link)\b[^>]*_static/scripts/fontawesome\.js[^>]*>(\s*</script>)?'
)


def _formulas(page: str) -> list[tuple[str, bool]]:
    found = []
    for element in MATH_ELEMENT.finditer(page):
        for tex in TEX.finditer(element.group(3)):
            inline, display = tex.group(1), tex.group(2)
            found.append((html.unescape(inline if inline is not None else display), inline is None))
    return found


def _with_svgs(page: str, svgs: list[str], defs: str) -> str:
    rendered = iter(svgs)

    def element(m: re.Match) -> str:
        body = TEX.sub(lambda _: next(rendered), m.group(3))
        return m.group(1) + body + m.group(4)

    page = MATH_ELEMENT.sub(element, page)
    return re.sub(r"(<body\b[^>]*>)", lambda m: m.group(1) + defs, page, count=1)


FA_SCRIPT = "scripts/fontawesome.js"  # in the theme's static folder
FA_PREFIXES = {"solid": ("fa-solid", "fas"), "regular": ("fa-regular", "far"), "brands": ("fa-brands", "fab")}
FA_CLASS = re.compile(r'class="([^"]*\bfa[bsr]?\b[^"]*|[^"]*\bfa-(?:solid|regular|brands)\b[^"]*)"')
FA_ICON = re.compile(r'(?:"([\w-]+)"|\b([a-z][\w]*)):\[(\d+),(\d+),\[[^\]]*\],"[0-9a-f]+","(M[^"]+)"\]')


def _fontawesome_icons() -> dict[str, dict[str, tuple[int, int, str]]]:
    """Each style's icons in the theme's fontawesome.js: name -> (width, height, SVG path)."""
    import pydata_sphinx_theme

    theme = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme"
    script = theme / "static" / FA_SCRIPT
    if not script.is_file():
        raise ExtensionError(f"{script} is missing: the icons cannot be drawn")
    text = script.read_text(encoding="utf-8")
    # the script defines each style's pack, then registers it: d("fab",p) / d("far",p) / d("fas",p)
    icons: dict[str, dict[str, tuple[int, int, str]]] = {}
    start = 0
    for end in re.finditer(r'd\("(fab|far|fas)",p\)', text):
        style = {"fab": "brands", "far": "regular", "fas": "solid"}[end.group(1)]
        pack = icons.setdefault(style, {})
        for m in FA_ICON.finditer(text, start, end.start()):
            pack.setdefault(m.group(1) or m.group(2), (int(m.group(3)), int(m.group(4)), m.group(5)))
        start = end.end()
    return icons


def icon_stylesheet(pages: list[str]) -> str:
    """CSS that draws every Font Awesome icon named in ``pages`` (and the theme's own
    scripts) with an SVG mask, in the current text colour, as the web font would."""
    from urllib.parse import quote

    wanted: set[tuple[str, str]] = set()
    for page in pages + ['class="fa-solid fa-xmark"']:  # the search dialog's close button
        for cls in FA_CLASS.findall(page):
            names = cls.split()
            style = next((s for s, pre in FA_PREFIXES.items() if set(pre) & set(names)), "solid")
            for name in names:
                if name.startswith("fa-") and name[3:] not in ("solid", "regular", "brands", "lg", "fw"):
                    wanted.add((style, name[3:]))
    icons = _fontawesome_icons()
    rules = [
        "/* Font Awesome Free icons (CC BY 4.0, https://fontawesome.com/license/free), the ones",
        "   the pages use, drawn as SVG masks: written by book/_ext/book_site.py. */",
    ]
    for style, name in sorted(wanted):
        if name not in icons.get(style, {}):
            continue  # not an icon (a size or animation class): the theme's CSS handles it
        width, height, path = icons[style][name]
        svg = f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}'><path d='{path}'/></svg>"
        url = "data:image/svg+xml," + quote(svg, safe=" /=:',.-")
        element = ", ".join(f".{prefix}.fa-{name}" for prefix in FA_PREFIXES[style])
        selector = ", ".join(f".{prefix}.fa-{name}::before" for prefix in FA_PREFIXES[style])
        # the icon font's family on an empty icon still makes the browser fetch the font
        rules.append(f"{element} {{ font-family: inherit; }}")
        rules.append(
            f'{selector} {{ content: ""; display: inline-block; width: {width / height:.4f}em; '
            f"height: 1em; vertical-align: -0.125em; background-color: currentColor; "
            f'-webkit-mask: url("{url}") center / contain no-repeat; '
            f'mask: url("{url}") center / contain no-repeat; }}'
        )
    return "\n".join(rules) + "\n"


def typeset_math_on_build(app: Sphinx, exception: Exception | None) -> None:
    """Replace each page's TeX by SVG (MathJax run once by Node.js), and drop Font
    Awesome's all-in-one script from every page."""
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    pages = [p for p in sorted(outdir.rglob("*.html")) if p.relative_to(outdir).parts[0] != "_static"]
    texts = {path: path.read_text(encoding="utf-8") for path in pages}
    for path, text in texts.items():
        texts[path] = FONTAWESOME_JS.sub("", text)
    for leftover in (outdir / "_static" / "scripts").glob("fontawesome.js*"):
        leftover.unlink()
    (outdir / "_static" / "book-icons.css").write_text(icon_stylesheet(list(texts.values())), encoding="utf-8")
    node = getattr(app, "book_node", None)
    with_math = [p for p in pages if _formulas(texts[p])] if node else []
    if with_math:
        request = [[{"tex": t, "display": d} for t, d in _formulas(texts[p])] for p in with_math]
        script = Path(__file__).parent / "render_math.js"
        run = subprocess.run(
            [node, str(script), str(mathjax_static_dir() / "mathjax")],
            input=json.dumps(request), capture_output=True, text=True, encoding="utf-8",
        )
        if run.returncode != 0:
            raise ExtensionError(f"typesetting the math with {node} failed:\n{run.stderr[-3000:]}")
        for path, page in zip(with_math, json.loads(run.stdout)):
            for error in page["errors"]:
                logger.warning(f"{path.relative_to(outdir)}: TeX error {error}", type="book_site")
            texts[path] = _with_svgs(texts[path], page["svgs"], page["defs"])
        logger.info(f"book_site: typeset the math of {len(with_math)} page(s) to SVG")
    for path in pages:
        path.write_text(texts[path], encoding="utf-8")


def _script_key(script) -> tuple:
    # The copies differ only in an inline script's filename: None in one, "" in the other.
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {}) or {}
    return (str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items())))


def _is_mathjax(script) -> bool:
    filename = str(getattr(script, "filename", script) or "")
    body = str((getattr(script, "attributes", {}) or {}).get("body", ""))
    return "mathjax" in filename.lower() or "window.MathJax" in body


def write_each_script_once(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    math_on_build = bool(getattr(app, "book_node", None))
    seen: set = set()
    unique = []
    for script in scripts:
        key = _script_key(script)
        if key not in seen and not (math_on_build and _is_mathjax(script)):
            seen.add(key)
            unique.append(script)
    if len(unique) != len(scripts):
        context["script_files"] = unique


def add_templates(app: Sphinx, config: Config) -> None:
    # templates/layout.html: the home page's <title> (basic/layout.html writes
    # "{{ title }} — {{ docstitle }}", and on the home page both are the book's title).
    config.templates_path = [*config.templates_path, str(Path(__file__).parent / "templates")]


CHAPTER_FILE = re.compile(r"(?:^|/)(\d+)([a-z]?)_[^/]*$")  # notebooks/06b_… -> "6b"


def number_figures_per_chapter(app: Sphinx, env) -> list[str]:
    """Number figures, tables and listings per chapter, as exercises are: "Fig. 6.1",
    "Fig. 6.2", … in chapter 6 (Sphinx numbers them across the whole book). The chapter's
    number comes from its file name; other pages number from 1 alone."""
    for docname, by_type in env.toc_fignumbers.items():
        match = CHAPTER_FILE.search(docname)
        chapter = (str(int(match.group(1))) + match.group(2),) if match else ()
        for numbers in by_type.values():
            in_order = sorted(numbers, key=lambda ident: numbers[ident])
            for k, ident in enumerate(in_order, start=1):
                numbers[ident] = (*chapter, k)
    return []


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", use_local_mathjax)
    app.connect("html-page-context", write_each_script_once, priority=900)  # after sphinx-thebe
    app.connect("config-inited", add_templates)
    app.connect("build-finished", typeset_math_on_build)
    # after Sphinx's own numbering (TocTreeCollector, priority 500)
    app.connect("env-get-updated", number_figures_per_chapter, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}

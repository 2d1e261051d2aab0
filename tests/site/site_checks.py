"""Checks of the built site that need no browser: raw dollar math in a page's text, the
weight of a first visit, internal links and anchors, the list of external links, the PDF;
and ``serve``, the local web server that the browser test and ``.ci/book_pdf.py`` read the
built site through.

Used by ``browser_check.py`` (on the real build, in Chromium) and unit-tested on small bad
pages by ``test_site_checks.py``. As a command, it checks a build's links:

    python tests/site/site_checks.py links [_build/html]      # internal links and anchors
    python tests/site/site_checks.py external [_build/html]   # rewrite external_links.txt
"""

from __future__ import annotations

import contextlib
import functools
import html.parser
import http.server
import posixpath
import re
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
EXTERNAL_LINKS = HERE / "external_links.txt"
MAX_PAGE_BYTES = 1_500_000  # a first visit, uncompressed, every request counted

# $…$ that MathJax was never given: a dollar, text without a dollar or a line break,
# a dollar; not a price ("$5 and $10"): the closing dollar is not followed by a digit.
RAW_DOLLAR_MATH = re.compile(r"(?<![\w$\\])\$(?=\S)([^$\n]{1,200}?)(?<=\S)\$(?![\w$])")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(directory: Path):
    """Serve ``directory`` on 127.0.0.1 (uncompressed); yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


FIGURE_NUMBER = re.compile(r'class="caption-number">Fig\. ([\w.]+)\s*<')
CHAPTER_FILE = re.compile(r"(?:^|/)(\d+)([a-z]?)_[^/]*$")


def figure_number_problems(page_html: str, page: str) -> list[str]:
    """Figures numbered per chapter, as exercises are: "Fig. 6.1", "Fig. 6.2", … on the
    page of chapter 6 (``notebooks/06_….html``); 1, 2, … on a page that is no chapter."""
    match = CHAPTER_FILE.search(page)
    prefix = f"{int(match.group(1))}{match.group(2)}." if match else ""
    found = FIGURE_NUMBER.findall(page_html)
    return [
        f"figure {k} is numbered Fig. {number}, not Fig. {prefix}{k}"
        for k, number in enumerate(found, start=1)
        if number != f"{prefix}{k}"
    ]


def raw_dollar_math(text: str) -> list[str]:
    """The ``$…$`` spans left in a page's rendered text (typeset math leaves none).

    >>> raw_dollar_math("| $c$ | p(right) |")
    ['$c$']
    >>> raw_dollar_math("it costs $5 and $10 a month")
    []
    """
    if not isinstance(text, str):
        raise TypeError(f"expected the page's text as str, got {type(text).__name__}")
    return [m.group(0) for m in RAW_DOLLAR_MATH.finditer(text)]


# Markdown that was never rendered: `code`, *emphasis* or **bold** left as typed (e.g. on
# a line that CommonMark took for raw HTML because it starts with an HTML comment).
RAW_MARKDOWN = re.compile(r"`[^`\n]{1,80}`|(?<![\w*])\*{1,2}[^\s*][^*\n]{0,80}?(?<=\S)\*{1,2}(?![\w*])")


def raw_markdown(text: str) -> list[str]:
    """The Markdown code spans and emphasis left unrendered in a page's text.

    >>> raw_markdown("276 *wrong* ones; autograd with `fh.train` takes")
    ['*wrong*', '`fh.train`']
    >>> raw_markdown("2 * 3 * 4 and a*b*c")
    []
    """
    if not isinstance(text, str):
        raise TypeError(f"expected the page's text as str, got {type(text).__name__}")
    return [m.group(0) for m in RAW_MARKDOWN.finditer(text)]


def weight_problems(sizes: dict[str, int], limit: int = MAX_PAGE_BYTES) -> list[str]:
    """One line if a first visit's requests add up to more than ``limit`` bytes, naming
    the largest ones.

    >>> weight_problems({"a.js": 1_000_000, "b.css": 600_000})
    ['1.60 MB on a first visit (limit 1.50 MB); largest: a.js 1000 kB, b.css 600 kB']
    >>> weight_problems({"a.js": 1_000})
    []
    """
    if limit <= 0:
        raise ValueError(f"limit must be a positive number of bytes, got {limit}")
    total = sum(sizes.values())
    if total <= limit:
        return []
    largest = sorted(sizes.items(), key=lambda kv: -kv[1])[:4]
    names = ", ".join(f"{Path(urlsplit(u).path).name or u} {s // 1000} kB" for u, s in largest)
    return [f"{total / 1e6:.2f} MB on a first visit (limit {limit / 1e6:.2f} MB); largest: {names}"]


# -- the PDF ------------------------------------------------------------------------------

PDF_NAME = "feedforward-networks-pytorch.pdf"  # in the site's root (.ci/book_pdf.py)


def _poppler(tool: str, *args: str) -> str:
    import shutil
    import subprocess

    if not shutil.which(tool):
        raise RuntimeError(f"{tool} is missing: apt-get install poppler-utils")
    return subprocess.run([tool, *args], check=True, capture_output=True, text=True).stdout


def pdf_problems(pdf: Path, titles: list[str], min_images: int) -> list[str]:
    """What is wrong with the book's PDF: missing, a chapter that does not start a page of
    its own or comes out of order, fewer images than the site's figures, raw TeX."""
    pdf = Path(pdf)
    if not pdf.is_file():
        return [f"no PDF at {pdf}: run `python .ci/book_pdf.py` after the site's build"]
    pages = [page.strip() for page in _poppler("pdftotext", "-layout", str(pdf), "-").split("\f")]
    problems = []
    firsts = [" ".join(page.split()[:60]) for page in pages]  # a title may wrap
    # Each chapter is looked for after the previous one's page: another page may begin
    # with a chapter's name too (a row of the intro's chapter map that starts a page).
    after, out_of_order = -1, []
    for title in titles:
        where = [i for i, first in enumerate(firsts) if first.startswith(" ".join(title.split()))]
        later = [i for i in where if i > after]
        if later:
            after = later[0]
        elif where:
            out_of_order.append(title)
        else:
            problems.append(f"no page starts with the chapter {title!r}")
    if out_of_order:
        problems.append(f"chapters out of order: {out_of_order} start no page after the chapter before them")
    images = [line for line in _poppler("pdfimages", "-list", str(pdf)).splitlines()[2:] if line.strip()]
    if len(images) < min_images:
        problems.append(f"{len(images)} images in the PDF, fewer than the site's {min_images} figures")
    if m := re.search(r"\\\(|\\\[|\$\$|\\begin\{", "\n".join(pages)):
        problems.append(f"raw TeX in the PDF's text: {m.group()!r}")
    return problems


def pdf_pages(pdf: Path) -> int:
    """The PDF's number of pages (pdfinfo)."""
    info = _poppler("pdfinfo", str(pdf))
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


# -- links --------------------------------------------------------------------------------


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []  # (attribute, value)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key) and (key == "id" or tag == "a"):
                self.ids.add(attrs[key])
        for key in ("href", "src"):
            if attrs.get(key) is not None and tag in ("a", "link", "img", "script", "source", "iframe"):
                self.links.append((f"<{tag} {key}>", attrs[key]))


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def site_pages(site: Path) -> list[Path]:
    """The site's HTML pages (not the theme's templates copied into _static/)."""
    return [p for p in sorted(Path(site).rglob("*.html"))
            if p.relative_to(site).parts[0] not in ("_static", "_sources")]


def broken_links(site: Path) -> list[str]:
    """Every link of every page of ``site`` to a local file that is not there, or to an
    ``#anchor`` that the target page does not have; one line each, naming the page."""
    site = Path(site)
    if not site.is_dir():
        raise ValueError(f"no built site in {site}")
    pages = {p.relative_to(site).as_posix(): _parse(p) for p in site_pages(site)}
    problems = []
    for name, parsed in pages.items():
        for attribute, link in parsed.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:", "data:")):
                continue
            target = name if not parts.path else posixpath.normpath(
                posixpath.join(posixpath.dirname(name), unquote(parts.path))
            )
            if target.startswith("../"):
                problems.append(f"{name}: {attribute} {link!r} leaves the site")
                continue
            path = site / target
            if path.is_dir():
                target, path = posixpath.join(target, "index.html"), path / "index.html"
            if not path.is_file():
                problems.append(f"{name}: {attribute} {link!r}: no file {target}")
            elif parts.fragment and target in pages:
                if unquote(parts.fragment) not in pages[target].ids:
                    problems.append(f"{name}: {attribute} {link!r}: {target} has no #{parts.fragment}")
    return problems


def external_links(site: Path) -> list[str]:
    """The sorted, distinct http(s) links of the site's pages (not its search or index
    pages, and not the launch buttons' per-page URLs)."""
    found = set()
    for path in site_pages(site):
        for _, link in _parse(path).links:
            if link.startswith(("http://", "https://")):
                found.add(link)
    launch = re.compile(r"^https://colab\.research\.google\.com/github/|/(edit|blob|issues/new)\b")
    return sorted(link for link in found if not launch.search(link))


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("links", "external"):
        print(__doc__)
        return 2
    site = Path(argv[1]) if len(argv) > 1 else ROOT / "_build" / "html"
    if argv[0] == "links":
        problems = broken_links(site)
        for problem in problems:
            print(problem)
        pages = len(site_pages(site))
        print(f"{len(problems)} broken internal link(s) or anchor(s) in {pages} pages of {site}")
        return 1 if problems else 0
    links = external_links(site)
    EXTERNAL_LINKS.write_text(
        "# External links of the built book, one a line: written by\n"
        "# `python tests/site/site_checks.py external`, checked against the build by the\n"
        "# browser test. CI has no network; a maintainer with one checks them with\n"
        "# `bash .ci/check-external-links`.\n" + "".join(link + "\n" for link in links),
        encoding="utf-8",
    )
    print(f"{len(links)} external links written to {EXTERNAL_LINKS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

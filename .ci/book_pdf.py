#!/usr/bin/env python3
"""The whole book as one PDF, from the same sources as the site, offline.

1. ``jupyter-book build . -W -n --builder custom --custom-builder singlehtml``: every
   chapter, in the order of _toc.yml, in one HTML page (math already typeset to SVG by
   book/_ext/book_site.py);
2. headless Chromium (Debian's ``chromium``, driven by Playwright, every request that
   leaves the machine blocked) prints that page: A4, figures, tables, math, page numbers,
   the chapters as PDF bookmarks;
3. the PDF is written to ``_build/html/feedforward-networks-pytorch.pdf``, where the
   site's home page links it (build the site first: ``jupyter-book build .``).

    python .ci/book_pdf.py               # CHROMIUM=path for another Chrome
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "site"))
from site_checks import serve  # noqa: E402  (the local web server the browser test uses too)

ROOT = Path(__file__).resolve().parents[1]
SINGLE = ROOT / "_build" / "singlehtml"
PDF_NAME = "feedforward-networks-pytorch.pdf"
PDF = ROOT / "_build" / "html" / PDF_NAME

# For paper: no navigation, no buttons; code and outputs wrap instead of scrolling; a
# chapter starts on a new page; figures and tables are not cut across pages.
PRINT_CSS = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm; }
html { font-size: 10.5pt !important; }
.bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .bd-header-article, .bd-footer,
.bd-footer-article, .bd-footer-content, .prev-next-area, .headerlink, button.copybtn,
.search-button-field, #pst-back-to-top, .skip-link, .bd-search, .header-article-items,
.theme-switch-button, .primary-toggle, .secondary-toggle { display: none !important; }
.bd-main, .bd-content, .bd-article-container, .bd-container, .bd-container__inner,
.bd-page-width { max-width: none !important; width: auto !important; padding: 0 !important; margin: 0 !important; }
.bd-article { padding: 0 !important; }
body > .bd-container, .bd-main .bd-content .bd-article-container { display: block !important; }
pre, .highlight pre, .cell_output pre { white-space: pre-wrap !important; word-break: break-word; overflow: visible !important; }
.cell_output, .cell_input, .output { overflow: visible !important; max-height: none !important; }
figure, img, table, .cell_output, mjx-container[display="true"] { break-inside: avoid; }
h1, h2, h3 { break-after: avoid; }
details.hide > summary, .toggle-details, .cell_input.hide > summary { display: none !important; }
span[id^="document-"] + section { break-before: page; }
div.cell { break-inside: avoid-page; }
img { max-width: 100% !important; height: auto !important; }
table { font-size: 9pt; }
"""


def chromium() -> str:
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and (found := shutil.which(candidate)):
            return found
    sys.exit("[book-pdf] no Chromium: `apt-get install chromium` (or set CHROMIUM=/path/to/chrome)")


def build_single_page() -> Path:
    # jupyter-book from this Python's environment, activated or not (make calls .venv/bin/python)
    tool = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(tool) if tool.exists() else "jupyter-book", "build", str(ROOT), "-W", "-n", "--keep-going",
           "--builder", "custom", "--custom-builder", "singlehtml"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    import yaml

    root_doc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))["root"]
    page = SINGLE / (Path(root_doc).with_suffix("").as_posix() + ".html")
    if not page.is_file():
        sys.exit(f"[book-pdf] the single-page build has no {page}")
    # The singlehtml builder writes the root document where it lives (book/intro.html)
    # but with links relative to the build's root (_images/, _static/): read it from there.
    at_root = SINGLE / "whole-book.html"
    shutil.copyfile(page, at_root)
    return at_root


def print_pdf(page: Path, out: Path) -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sys.exit("[book-pdf] needs Playwright: pip install playwright (no browser download needed)")
    offsite: list[str] = []

    def route(r):
        host = urlsplit(r.request.url).hostname or ""
        if r.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            offsite.append(r.request.url)
            r.abort()

    with serve(SINGLE) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-dev-shm-usage"])
        context = browser.new_context(color_scheme="light")
        context.route("**/*", route)
        tab = context.new_page()
        tab.goto(base + page.relative_to(SINGLE).as_posix(), wait_until="load")
        tab.evaluate("() => document.documentElement.dataset.theme = 'light'")
        tab.add_style_tag(content=PRINT_CSS)
        tab.evaluate("() => document.fonts.ready")
        tab.emulate_media(media="print")
        footer = ('<div style="font-size:8px;width:100%;text-align:center;color:#555">'
                  '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')
        out.parent.mkdir(parents=True, exist_ok=True)
        tab.pdf(path=str(out), format="A4", print_background=True, outline=True, tagged=True,
                display_header_footer=True, header_template="<span></span>", footer_template=footer,
                prefer_css_page_size=True)
        browser.close()
    if offsite:
        sys.exit(f"[book-pdf] the page asked for the network: {offsite[:3]}")


def main() -> int:
    start = time.monotonic()
    page = build_single_page()
    built = time.monotonic()
    print_pdf(page, PDF)
    done = time.monotonic()
    size = PDF.stat().st_size
    print(f"[book-pdf] {PDF.relative_to(ROOT)}: {size / 1e6:.1f} MB; single-page build "
          f"{built - start:.0f} s, printing {done - built:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The built book, read in a real browser: headless Chromium, driven by Playwright.

Run it after a build (`.ci/browser-test` installs what it needs and runs it):

    jupyter-book build . -W -n --keep-going
    pytest tests/site/browser_check.py

Not named test_*.py, so a plain `pytest` at the root does not collect it. The site in
`_build/html` (or $BOOK_HTML) is served on 127.0.0.1 and every request that leaves the
machine is aborted, so each page is read as by a reader with no network. Chromium is
Debian's `chromium` (or $CHROMIUM): Playwright launches it and downloads no browser.

Each test names the page and what is wrong with it.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

try:
    import playwright.sync_api as playwright_api
except ImportError as exc:  # pragma: no cover
    raise ImportError(
        "the browser test needs Playwright: pip install playwright (or run .ci/browser-test)"
    ) from exc

sys.path.insert(0, str(Path(__file__).resolve().parent))
import site_checks  # noqa: E402  (beside this file: the checks that need no browser)

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html"))
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def toc_pages() -> list[str]:
    """Every page of _toc.yml, as a path without suffix: 'book/intro', 'notebooks/01_…'."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return [re.sub(r"\.(md|ipynb)$", "", page) for page in pages]


PAGES = toc_pages()
NOTEBOOK_PAGES = [p for p in PAGES if p.startswith("notebooks/")]
TABLE_PAGES = [p for p in PAGES if re.match(r"notebooks/1[01]_", p)]  # chapters 10 and 11

# What a reader must never see in a page's text.
RAW_MYST = [
    (re.compile(r"\{(glue|glue:\w+|doc|ref|numref|eq|math|term|download|cite|sub-ref)\}`"), "a MyST role"),
    (re.compile(r"^\s*(```|~~~|:::)\s*\{[\w:-]+\}", re.M), "a MyST directive"),
    (re.compile(r"^\s*\(\w[\w-]*\)=\s*$", re.M), "a MyST label"),
]
NBVAL_MARKERS = re.compile(r"NBVAL_\w+")
LOG_LINES = [
    (re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL):[\w.]*:", re.M), "a logging line"),
    (re.compile(r"^\S*\.py:\d+: \w*Warning: ", re.M), "a Python warning"),
    (re.compile(r"^\[W\d{4} [\d:.]+ ", re.M), "a PyTorch C++ warning"),
    (re.compile(r"\d+(\.\d+)?(it|s)/(s|it)\]"), "a progress bar"),
]
FILE_NAME = re.compile(r"^[\w./-]*\.(png|jpe?g|svg|gif|webp)$", re.I)
RAW_MATH = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{")


# -- serving the site and driving the browser ----------------------------------------------


serve = site_checks.serve  # the site on 127.0.0.1


@pytest.fixture(scope="session")
def base_url():
    if not (SITE / "book" / "intro.html").is_file():
        pytest.fail(f"no built book in {SITE}: run `jupyter-book build . -W -n --keep-going` first")
    with serve(SITE) as url:
        yield url


def chromium_path() -> str:
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and (found := shutil.which(candidate)):
            return found
    pytest.fail("no Chromium: `apt-get install chromium` (or set $CHROMIUM to a Chrome binary)")


@pytest.fixture(scope="session")
def browser():
    with playwright_api.sync_playwright() as p:
        # as root (CI) Chromium needs --no-sandbox; a container's small /dev/shm crashes it
        args = ["--no-sandbox", "--disable-dev-shm-usage"]
        browser = p.chromium.launch(executable_path=chromium_path(), args=args)
        yield browser
        browser.close()


class Visit:
    """One page loaded with the network off: what it logged and requested, and its DOM."""

    def __init__(self, browser, base_url: str, page: str, viewport: dict, color_scheme: str = "light"):
        self.name = page
        self.js_errors: list[str] = []
        self.offsite: list[str] = []
        self.broken: list[str] = []
        self.finished: list = []  # every request that completed, for the page's weight
        self.context = browser.new_context(viewport=viewport, color_scheme=color_scheme)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda exc: self.js_errors.append(f"uncaught {exc}"))
        self.page.on("console", self._console)
        self.page.on("response", self._response)
        self.page.on("requestfinished", lambda request: self.finished.append(request))
        self.page.goto(base_url + page + ".html", wait_until="load")
        self.math_state = self.page.evaluate(
            """async () => {
                const mj = window.MathJax;
                if (!mj || !mj.startup || !mj.startup.promise) return "MathJax did not load";
                try { await mj.startup.promise; } catch (e) { return "MathJax failed: " + e; }
                return "ok";
            }"""
        )

    def _route(self, route):
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost", "::1"):
            route.continue_()
        else:
            self.offsite.append(route.request.url)
            route.abort()

    def _console(self, message):
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.js_errors.append(message.text)  # network failures are reported as such

    def _response(self, response):
        if response.status >= 400 and urlsplit(response.url).hostname == "127.0.0.1":
            self.broken.append(f"{response.status} {urlsplit(response.url).path}")

    def weights(self) -> dict[str, int]:
        """Bytes of each response body received so far (uncompressed: the test server
        sends no Content-Encoding), by URL, after the page's network has gone quiet."""
        try:
            self.page.wait_for_load_state("networkidle", timeout=10_000)
        except playwright_api.Error:
            pass
        sizes: dict[str, int] = {}
        for request in self.finished:
            if request.url.startswith(("http://", "https://")):
                sizes[request.url] = sizes.get(request.url, 0) + request.sizes()["responseBodySize"]
        return sizes

    def close(self):
        self.context.close()


@pytest.fixture(scope="session")
def visits(browser, base_url):
    """Every page of the table of contents, read once at desktop width."""
    loaded = {}
    yield lambda page: loaded.setdefault(page, Visit(browser, base_url, page, DESKTOP))
    for visit in loaded.values():
        visit.close()


def report(page: str, problems: list[str]) -> None:
    """Fail with one line per problem, under the page's name (no traceback: it says nothing)."""
    if problems:
        where = page if "." in Path(page).name or " " in page else f"{page}.html"
        pytest.fail(f"{where}:\n  " + "\n  ".join(problems), pytrace=False)


def article_text(visit: Visit) -> str:
    """All the text of the page's article, code cells included."""
    return visit.page.locator("article.bd-article").inner_text()


def prose_text(visit: Visit) -> str:
    """The article's text without code, outputs shown as code, or typeset math."""
    return visit.page.evaluate(
        """() => {
            const article = document.querySelector('article.bd-article').cloneNode(true);
            article.querySelectorAll('pre, code, mjx-container, .cell_input').forEach(el => el.remove());
            return article.innerText || article.textContent;
        }"""
    )


def text_pieces(visit: Visit) -> str:
    """The article's text nodes outside code, code outputs and typeset math, one a line
    (so that two table cells never run together)."""
    return visit.page.evaluate(
        """() => {
            const skip = 'pre, code, mjx-container, .cell_input, script, style';
            const walker = document.createTreeWalker(
                document.querySelector('article.bd-article'), NodeFilter.SHOW_TEXT);
            const pieces = [];
            while (walker.nextNode()) {
                const node = walker.currentNode;
                if (!node.parentElement.closest(skip)) pieces.push(node.textContent);
            }
            return pieces.join('\\n');
        }"""
    )


# -- the checks ----------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_figures_numbered_per_chapter(page):
    """Figures are numbered per chapter (book/_ext/book_site.py), as exercises are."""
    html_text = (SITE / f"{page}.html").read_text(encoding="utf-8")
    report(page, site_checks.figure_number_problems(html_text, page))


@pytest.mark.parametrize("page", PAGES)
def test_toc_page_was_built(page):
    report(page, [] if (SITE / f"{page}.html").is_file() else [f"in _toc.yml but not in {SITE}"])


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_without_errors_or_network(visits, page):
    visit = visits(page)
    problems = [f"JavaScript error: {e}" for e in visit.js_errors]
    problems += [f"needs the network: {url}" for url in visit.offsite]
    problems += [f"broken link to a file of the site: {b}" for b in visit.broken]
    report(page, problems)


@pytest.mark.parametrize("page", PAGES)
def test_math_renders_offline(visits, page):
    visit = visits(page)
    unrendered = visit.page.evaluate(
        """() => Array.from(document.querySelectorAll('article .math'))
                 .filter(el => !el.querySelector('mjx-container'))
                 .map(el => el.textContent.trim().slice(0, 60))"""
    )
    problems = []
    if unrendered:
        problems.append(
            f"{len(unrendered)} formula(s) shown as raw TeX ({visit.math_state}), e.g. {unrendered[0]!r}"
        )
    raw = RAW_MATH.search(prose_text(visit))
    if raw and not unrendered:
        problems.append(f"raw TeX delimiter {raw.group()!r} in the text")
    report(page, problems)


@pytest.mark.parametrize("page", PAGES)
def test_no_raw_dollar_math(visits, page):
    """Text between dollars that nothing typeset (e.g. in a Markdown table printed by a cell)."""
    raw = site_checks.raw_dollar_math(text_pieces(visits(page)))
    report(page, [f"TeX between dollars shown as text: {m!r} (write it in Unicode)" for m in raw[:5]])


@pytest.mark.parametrize("page", PAGES)
def test_no_raw_markdown(visits, page):
    """`code`, *emphasis* left as typed: e.g. a line of a Markdown cell that starts with an
    HTML comment (a <!--glue--> marker) is raw HTML to CommonMark, markup and all."""
    raw = site_checks.raw_markdown(text_pieces(visits(page)))
    report(page, [f"Markdown shown as typed: {m!r}" for m in raw[:5]]
           + ([f"... {len(raw) - 5} more"] if len(raw) > 5 else []))


@pytest.mark.parametrize("page", PAGES)
def test_first_visit_weight(visits, page):
    """Every request of a first visit (empty cache), added up, uncompressed."""
    report(page, site_checks.weight_problems(visits(page).weights()))


def test_internal_links_and_anchors():
    """Every link of every built page to a file of the site, and every #anchor, exists."""
    problems = site_checks.broken_links(SITE)
    report("the site", problems[:20] + ([f"... {len(problems) - 20} more"] if len(problems) > 20 else []))


def test_external_links_are_listed():
    """tests/site/external_links.txt lists the build's external links, for a maintainer
    with a network to check (.ci/check-external-links)."""
    listed = [line for line in site_checks.EXTERNAL_LINKS.read_text(encoding="utf-8").splitlines()
              if line and not line.startswith("#")]
    built = site_checks.external_links(SITE)
    problems = [f"not in external_links.txt: {u}" for u in built if u not in listed]
    problems += [f"in external_links.txt, no longer in the book: {u}" for u in listed if u not in built]
    if problems:
        problems.append("rewrite the list: python tests/site/site_checks.py external")
    report("tests/site/external_links.txt", problems)


def test_checks_catch_a_bad_page(browser, tmp_path):
    """The checks above fail on a page that has the problems: raw $…$ in a results
    table, 1.6 MB of script, a link to a missing page and to a missing anchor."""
    (tmp_path / "bad.html").write_text(
        '<!doctype html><html><body><article class="bd-article"><h1 id="top">Bad</h1>'
        "<table><tr><th>$c$</th><th>distance to $[s, s+1)$</th></tr><tr><td>1</td><td>2</td></tr></table>"
        '<p>It costs $5 and $10, 2 * 3 * 4.</p><!--glue k-->276<!--/glue--> *wrong* ones, `fh.train`'
        '<a href="gone.html">x</a> <a href="bad.html#nowhere">y</a>'
        '<a href="#top">z</a></article><script src="big.js"></script></body></html>',
        encoding="utf-8",
    )
    (tmp_path / "big.js").write_text("/*" + "x" * 1_600_000 + "*/", encoding="utf-8")
    with serve(tmp_path) as url:
        visit = Visit(browser, url, "bad", DESKTOP)
        try:
            raw = site_checks.raw_dollar_math(text_pieces(visit))
            markdown = site_checks.raw_markdown(text_pieces(visit))
            weight = site_checks.weight_problems(visit.weights())
        finally:
            visit.close()
    links = site_checks.broken_links(tmp_path)
    assert raw == ["$c$", "$[s, s+1)$"], raw
    assert markdown == ["*wrong*", "`fh.train`"], markdown
    assert len(weight) == 1 and "big.js" in weight[0], weight
    assert len(links) == 2 and "no file gone.html" in links[0] and "#nowhere" in links[1], links


def page_title(page: str) -> str:
    """The page's first heading, as the built HTML writes it (without its ¶ link)."""
    text = (SITE / f"{page}.html").read_text(encoding="utf-8")
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", text, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>|¶|#", "", heading).split()).replace("&amp;", "&")


def test_pdf_has_every_chapter_in_order():
    """The whole-book PDF (.ci/book_pdf.py): each page of _toc.yml starts a PDF page, in
    order; as many images as the site has figure files; no raw TeX."""
    figures = len([p for p in (SITE / "_images").glob("*") if p.suffix in (".png", ".jpg", ".svg")])
    titles = [page_title(page) for page in PAGES]
    report(site_checks.PDF_NAME, site_checks.pdf_problems(SITE / site_checks.PDF_NAME, titles, figures))


def test_pdf_check_catches_a_bad_pdf(browser, tmp_path):
    """The PDF check fails on a PDF that lacks a chapter, has its chapters out of order
    and lacks a figure."""
    page = browser.new_page()
    try:
        page.set_content(
            '<h1>2. Second</h1><p style="break-after: page">text \\(x\\)</p><h1>1. First</h1><p>text</p>'
        )
        page.pdf(path=str(tmp_path / "bad.pdf"))
    finally:
        page.close()
    problems = site_checks.pdf_problems(tmp_path / "bad.pdf", ["1. First", "2. Second", "3. Third"], 1)
    assert any("'3. Third'" in p for p in problems), problems
    assert any("out of order" in p for p in problems), problems
    assert any("0 images" in p for p in problems), problems
    assert any("raw TeX" in p for p in problems), problems
    assert site_checks.pdf_problems(tmp_path / "none.pdf", ["1. First"], 0)[0].startswith("no PDF")


def test_some_math_is_typeset(visits):
    """The check above is not vacuous: the home page's chapter map holds a formula."""
    visit = visits(PAGES[0])
    count = visit.page.locator("article mjx-container").count()
    report(PAGES[0], [] if count else [f"no formula typeset by MathJax ({visit.math_state})"])


@pytest.mark.parametrize("page", PAGES)
def test_no_markup_markers_or_log_lines(visits, page):
    visit = visits(page)
    problems = []
    for pattern, what in RAW_MYST:
        if m := pattern.search(prose_text(visit)):
            problems.append(f"raw markup ({what}): {m.group().strip()!r}")
    if m := NBVAL_MARKERS.search(article_text(visit)):
        problems.append(
            f"test marker shown to the reader: {m.group()!r} (use a cell tag such as nbval-ignore-output)"
        )
    outputs = "\n".join(visit.page.locator("article .cell_output").all_inner_texts())
    for pattern, what in LOG_LINES:
        if m := pattern.search(outputs):
            problems.append(f"{what} in an output: {m.group().strip()!r}")
    report(page, problems)


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_figures_have_alt_text_and_captions(visits, page):
    visit = visits(page)
    images = visit.page.evaluate(
        """() => Array.from(document.querySelectorAll('article img')).map(img => ({
               src: img.getAttribute('src') || '',
               alt: (img.getAttribute('alt') || '').trim(),
               caption: ((img.closest('figure') || {}).querySelector
                         ? (img.closest('figure').querySelector('figcaption') || {}).textContent || ''
                         : '').trim(),
               natural: img.naturalWidth, shown: img.getBoundingClientRect().width,
           }))"""
    )
    problems = []
    for i, img in enumerate(images, 1):
        name = f"figure {i} ({img['src'].rsplit('/', 1)[-1][:16]}…)"
        if not img["alt"]:
            problems.append(f"{name} has no alt text")
        elif FILE_NAME.match(img["alt"]) or img["alt"] in img["src"]:
            problems.append(f"{name}: its alt text is a file name, {img['alt'][:40]!r}")
        if not img["caption"]:
            problems.append(f"{name} has no caption")
        if not img["src"].endswith(".svg") and img["shown"] and img["natural"] < 1.5 * img["shown"]:
            problems.append(
                f"{name} is blurry on high-density screens: {img['natural']} px shown at "
                f"{img['shown']:.0f} px (store retina PNGs: ffn_helpers.use_book_style())"
            )
    report(page, problems)


@pytest.mark.parametrize("page", TABLE_PAGES)
def test_comparisons_are_html_tables(visits, page):
    visit = visits(page)
    tables = visit.page.locator("article table").count()
    report(page, [] if tables else ["its comparisons are not HTML tables (no <table> in the page)"])


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
@pytest.mark.parametrize("page", [PAGES[0], NOTEBOOK_PAGES[0]])
def test_phone_menu_opens_the_chapter_list(browser, base_url, page, color_scheme):
    visit = Visit(browser, base_url, page, PHONE, color_scheme)
    try:
        # a chapter in the list, in the primary sidebar: the last one that is not this page
        other_chapter = Path([p for p in NOTEBOOK_PAGES if p != page][-1]).name
        chapter_link = visit.page.locator(f'.bd-sidebar-primary a[href$="{other_chapter}.html"]').first

        def chapter_link_on_screen() -> bool:
            if not chapter_link.is_visible():
                return False
            box = chapter_link.bounding_box()
            return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]

        problems = []
        if chapter_link_on_screen():
            problems.append("the chapter list is on screen before the menu button is pressed")
        buttons = [b for b in visit.page.locator(".primary-toggle").all() if b.is_visible()]
        if not buttons:
            problems.append("no visible menu button (.primary-toggle)")
        else:
            buttons[0].click()
            try:
                chapter_link.wait_for(state="visible", timeout=3000)
                visit.page.wait_for_timeout(500)  # the drawer slides in
            except playwright_api.Error:
                pass
            if not chapter_link_on_screen():
                problems.append(f"at {PHONE['width']} px the menu button does not open the chapter list")
        theme = visit.page.evaluate("() => document.documentElement.dataset.theme")
        if theme != color_scheme:
            problems.append(f"a reader who prefers {color_scheme} mode gets the {theme} theme")
        problems += [f"JavaScript error: {e}" for e in visit.js_errors]
        report(page, problems)
    finally:
        visit.close()


def test_one_search_box_on_desktop(browser, base_url):
    visit = Visit(browser, base_url, PAGES[0], DESKTOP)
    try:
        fields = visit.page.locator(".search-button-field, form.bd-search").all()
        boxes = [box for box in fields if box.is_visible()]
        report(PAGES[0], [] if len(boxes) == 1 else [f"{len(boxes)} search boxes on a desktop screen"])
    finally:
        visit.close()


def test_home_page_title_once(visits):
    visit = visits(PAGES[0])
    title = visit.page.title()
    parts = [p.strip() for p in re.split(r"\s[—|-]\s", title)]
    doubled = len(parts) != len(set(parts))
    report(PAGES[0], [f"doubled title in the browser tab: {title!r}"] if doubled else [])


# -- a phone's screen ----------------------------------------------------------------------

PHONE_PROBLEMS = """() => {
    // Tables, displayed formulas and figures in the article, read at a phone's width:
    // each must fit the screen, or scroll sideways in its own box under a visible cue
    // (book/_ext/static/book-reading.js); each figure opens its full-size image on a tap.
    const article = document.querySelector('article.bd-article');
    const edge = Math.min(document.documentElement.clientWidth,
                          article.getBoundingClientRect().right);
    const problems = [];
    const name = el => el.tagName.toLowerCase() + ' "' +
        (el.innerText || el.getAttribute('alt') || '').trim().replace(/\\s+/g, ' ').slice(0, 40) + '"';
    article.querySelectorAll('table, mjx-container[display="true"], img').forEach(el => {
        const box = el.closest('.pst-scrollable-table-container') || el;
        const r = box.getBoundingClientRect();
        if (r.width === 0) return;  // hidden (a collapsed cell)
        if (r.right > edge + 1) {
            problems.push(name(el) + ' is cut at the edge of the screen (' + Math.round(r.width) + ' px wide)');
        } else if (box.scrollWidth > box.clientWidth + 1) {
            const cue = (box.closest('div.math') || box).previousElementSibling;
            if (!cue || !cue.classList.contains('book-scroll-cue') || cue.offsetHeight === 0)
                problems.push(name(el) + ' scrolls sideways (' + box.scrollWidth + ' px in ' +
                              box.clientWidth + ') with no cue that it does');
        }
        if (el.tagName === 'IMG' && el.closest('.cell_output') && !el.closest('a[href]'))
            problems.push(name(el) + ': a tap does not open the full-size figure');
    });
    return problems;
}"""


def phone_problems(browser, base_url: str, page: str) -> list[str]:
    visit = Visit(browser, base_url, page, PHONE)
    try:
        visit.page.wait_for_load_state("load")
        problems = visit.page.evaluate(PHONE_PROBLEMS)
        for link in visit.page.locator("article.bd-article .cell_output a.book-zoom").all():
            href = link.get_attribute("href") or ""
            if not (SITE / page).parent.joinpath(href).resolve().is_file():
                problems.append(f"a figure links to {href}, which is not in the site")
        return problems
    finally:
        visit.close()


@pytest.mark.parametrize("page", PAGES)
def test_fits_a_phone(browser, base_url, page):
    """At 390 px, nothing is cut off at the screen's edge; what scrolls says so; figures
    open full size on a tap."""
    report(page, phone_problems(browser, base_url, page))


def test_phone_check_catches_a_bad_page(browser, tmp_path):
    """The phone check fails on a page without the book's script: a wide table that
    scrolls with no cue, a figure wider than the screen, a figure that is not a link."""
    (tmp_path / "bad.html").write_text(
        '<!doctype html><html><head><meta name="viewport" content="width=device-width">'
        '</head><body><article class="bd-article">'
        '<div class="pst-scrollable-table-container" style="overflow-x:auto">'
        '<table style="width:700px"><tr><td>wide results</td></tr></table></div>'
        '<div class="cell_output"><img alt="too wide" src="x.png" style="width:600px;height:10px">'
        '<img alt="small" src="x.png" style="width:100px;height:10px"></div>'
        "</article></body></html>",
        encoding="utf-8",
    )
    (tmp_path / "x.png").write_bytes(  # a 1x1 PNG
        bytes.fromhex(
            "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
            "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
        )
    )
    with serve(tmp_path) as url:
        visit = Visit(browser, url, "bad", PHONE)
        try:
            problems = visit.page.evaluate(PHONE_PROBLEMS)
        finally:
            visit.close()
    assert len(problems) == 4, problems
    assert "no cue" in problems[0] and "wide results" in problems[0], problems
    assert "cut at the edge" in problems[1] and "too wide" in problems[1], problems
    assert all("a tap does not open" in p for p in problems[2:]), problems

"""The browser test's checks that need no browser, each shown to fail on a bad page."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import site_checks  # noqa: E402


def test_raw_dollar_math_found_in_a_results_table():
    text = "\n".join(["scale $s$", "$\\lVert sW \\rVert^2$", "length of its gradient"])
    assert site_checks.raw_dollar_math(text) == ["$s$", "$\\lVert sW \\rVert^2$"]


def test_unicode_table_and_prices_pass():
    text = "\n".join(["scale s", "‖sW‖²", "distance to [s, s+1)", "it costs $5 and $10 a month"])
    assert site_checks.raw_dollar_math(text) == []


def test_raw_dollar_math_needs_text():
    with pytest.raises(TypeError, match="str"):
        site_checks.raw_dollar_math(None)


def test_raw_markdown_found_on_a_line_taken_for_html():
    text = "276 *wrong* ones: it has learned\n× the floor; autograd with `fh.train` takes"
    assert site_checks.raw_markdown(text) == ["*wrong*", "`fh.train`"]
    assert site_checks.raw_markdown("2 * 3 * 4, a*b, wrong ones, fh.train") == []


def test_weight_over_the_limit_names_the_largest_request():
    sizes = {"http://x/_static/scripts/fontawesome.js": 1_489_000, "http://x/page.html": 200_000}
    [problem] = site_checks.weight_problems(sizes)
    assert problem.startswith("1.69 MB on a first visit") and "fontawesome.js 1489 kB" in problem
    assert site_checks.weight_problems({"http://x/page.html": 200_000}) == []
    with pytest.raises(ValueError, match="positive"):
        site_checks.weight_problems(sizes, limit=0)


def test_broken_links_and_anchors(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "a.html").write_text(
        '<h1 id="top">A</h1><a href="b.html#there">ok</a> <a href="b.html#nowhere">bad anchor</a>'
        ' <a href="gone.html">missing page</a> <a href="#top">ok</a> <a href="https://e.org">ext</a>'
        ' <img src="../_images/fig.png"> <a href="../../outside.html">outside</a>',
        encoding="utf-8",
    )
    (tmp_path / "book" / "b.html").write_text('<section id="there"></section>', encoding="utf-8")
    problems = site_checks.broken_links(tmp_path)
    assert len(problems) == 4, problems
    assert "b.html has no #nowhere" in problems[0]
    assert "no file book/gone.html" in problems[1]
    assert "no file _images/fig.png" in problems[2]
    assert "leaves the site" in problems[3]
    assert site_checks.external_links(tmp_path) == ["https://e.org"]


def test_figures_numbered_across_the_book_are_found():
    page = '<span class="caption-number">Fig. 4 </span>x<span class="caption-number">Fig. 5 </span>'
    assert site_checks.figure_number_problems(page, "notebooks/04_logistic_regression.html") == [
        "figure 1 is numbered Fig. 4, not Fig. 4.1",
        "figure 2 is numbered Fig. 5, not Fig. 4.2",
    ]


def test_figures_numbered_per_chapter_pass():
    page = '<span class="caption-number">Fig. 6b.1 </span><span class="caption-number">Fig. 6b.2 </span>'
    assert site_checks.figure_number_problems(page, "notebooks/06b_width_depth_data.html") == []
    assert site_checks.figure_number_problems('<span class="caption-number">Fig. 1 </span>', "book/intro") == []

"""ffn_helpers.plotting and notebook: figures hold what they should; bad input is named."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from ffn_helpers import History, glue, plot_curves, show_digits, use_book_style  # noqa: E402


def teardown_function():
    plt.close("all")


def test_plot_curves_draws_one_line_per_run():
    runs = {
        "A": History(iterations=[500, 1000], test_accuracies=[80.0, 90.0], losses=[2.0, 1.0, 0.5, 0.4]),
        "B": History(iterations=[500, 1000], test_accuracies=[85.0, 95.0], losses=[1.0, 0.5, 0.3, 0.2]),
    }
    ax = plot_curves(runs)
    assert [line.get_label() for line in ax.get_lines()] == ["A", "B"]
    assert list(ax.get_lines()[1].get_ydata()) == [85.0, 95.0]
    ax = plot_curves(runs, "losses", smooth=2)
    assert list(ax.get_lines()[0].get_ydata()) == pytest.approx([1.5, 0.45])
    assert ax.get_ylabel() == "training loss"


def test_plot_curves_rejects_bad_input():
    with pytest.raises(ValueError, match="metric"):
        plot_curves({"A": History(iterations=[1], test_accuracies=[1.0])}, "accuracy")
    with pytest.raises(TypeError):
        plot_curves({"A": [1, 2, 3]})
    with pytest.raises(ValueError, match="no train_accuracies"):
        plot_curves({"A": History(iterations=[1], test_accuracies=[1.0])}, "train_accuracies")


def test_show_digits_grid_and_titles():
    fig = show_digits(torch.rand(5, 1, 28, 28), [1, 2, 3, 4, 5], predictions=[1, 2, 0, 4, 5], ncols=3)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["1→1", "2→2", "3→0", "4→4", "5→5"]
    assert fig.axes[2].title.get_color() == "red"
    with pytest.raises(ValueError, match="one label"):
        show_digits(torch.rand(3, 28, 28), [1, 2])
    with pytest.raises(ValueError, match="shape"):
        show_digits(torch.rand(3, 2, 28, 28), [1, 2, 3])
    with pytest.raises(TypeError):
        show_digits([[0.0]], [1])


def test_book_style_and_glue_arguments():
    use_book_style(72)
    assert plt.rcParams["figure.dpi"] == 72
    assert plt.rcParams["savefig.dpi"] == 144  # files are written sharp too
    assert plt.rcParams["font.size"] == 11  # legible when a figure shrinks to a phone
    use_book_style(72, retina=False)
    assert plt.rcParams["savefig.dpi"] == 72
    with pytest.raises(ValueError):
        use_book_style(0)
    with pytest.raises(ValueError):
        glue("", 1)


def test_book_style_stores_retina_pngs_in_a_notebook():
    """In a notebook, a figure's PNG has twice the pixels of its page size, which it names."""
    import base64
    import struct

    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False  # write no history database
    shell = InteractiveShell.instance(config=config)
    try:
        use_book_style()
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        data, metadata = shell.display_formatter.format(fig)
        png = data["image/png"]
        png = base64.b64decode(png) if isinstance(png, str) else png
        width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
        page = metadata["image/png"]  # the size shown: 6 x 3.6 inches at 80 dpi, cropped
        assert 400 <= page["width"] <= 480 and 240 <= page["height"] <= 288
        assert abs(width - 2 * page["width"]) <= 1 and abs(height - 2 * page["height"]) <= 1
    finally:
        InteractiveShell.clear_instance()


def test_book_style_outside_ipython_leaves_display_alone():
    from ffn_helpers.plotting import use_retina_png

    assert use_retina_png() is False  # no IPython shell runs under pytest

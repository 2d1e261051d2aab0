"""Plots the chapters share: training curves of several runs, and a grid of digits."""

from __future__ import annotations

import numbers
from typing import Mapping, Optional, Sequence

import matplotlib.pyplot as plt
import torch

from .training import History

#: The most images :func:`show_digits` draws in one figure (each costs about 15 ms).
MAX_DIGITS = 100


def _class_numbers(values, what: str) -> list[int]:
    """Labels or predictions as a list of ints: whole numbers only, one per image."""
    if isinstance(values, torch.Tensor):
        if values.dim() != 1:
            raise ValueError(
                f"{what} must hold one class per image, got shape {tuple(values.shape)}; "
                "for a model's scores (logits) pass logits.argmax(1)"
            )
        values = values.tolist()
    numbers_ = list(values)
    for value in numbers_:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != int(value):
            raise ValueError(f"{what} must be whole numbers (class indices), got {value!r}")
    return [int(value) for value in numbers_]


_METRICS = {
    "test_accuracies": "test accuracy (%)",
    "train_accuracies": "training accuracy (%)",
    "losses": "training loss",
}


def use_book_style(dpi: int = 80, *, retina: bool = True) -> None:
    """Set small, readable matplotlib defaults so that stored notebooks stay light.

    Figures are laid out at ``dpi`` pixels per inch: that is their size on the page. In a
    notebook, with ``retina`` (the default), they are stored as PNGs of twice as many
    pixels in each direction, tagged with their page size, so that they stay sharp on
    high-density screens (phones, most laptops) and the book shows them at the same size.
    ``savefig`` writes at that doubled resolution too.

    Example:
        >>> use_book_style()
        >>> [plt.rcParams[key] for key in ("figure.dpi", "savefig.dpi", "font.size")]
        [80.0, 160.0, 11.0]
    """
    if isinstance(dpi, bool) or not isinstance(dpi, numbers.Integral) or dpi <= 0:
        raise ValueError(f"dpi must be a positive int, got {dpi!r}")
    dpi = int(dpi)
    plt.rcParams.update(
        {
            "figure.dpi": dpi,
            "savefig.dpi": 2 * dpi if retina else dpi,
            "figure.figsize": (6.0, 3.6),
            # 11 pt rather than matplotlib's 10: a figure shrunk to a phone's width
            # keeps its tick labels and legends legible
            "font.size": 11,
            "axes.grid": True,
            "grid.alpha": 0.3,
        }
    )
    if retina:
        use_retina_png()


def use_retina_png() -> bool:
    """In IPython or Jupyter, show figures as retina PNGs; elsewhere do nothing.

    Returns whether a running IPython shell was switched over. (This is
    ``%config InlineBackend.figure_formats = ['retina']``, set from Python.)
    """
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # plain Python: figures are only ever saved, at savefig.dpi
        return False
    if get_ipython() is None:
        return False
    set_matplotlib_formats("retina")
    return True


def plot_curves(
    histories: Mapping[str, History],
    metric: str = "test_accuracies",
    *,
    smooth: int = 1,
    ax: Optional[plt.Axes] = None,
    title: Optional[str] = None,
) -> plt.Axes:
    """Plot one metric of several training runs on one axes, one labelled line per run.

    ``metric`` is ``"test_accuracies"``, ``"train_accuracies"`` (both against the
    evaluation iterations) or ``"losses"`` (every iteration, averaged over windows of
    ``smooth`` iterations).

    Example:
        >>> h = History(iterations=[1, 2], test_accuracies=[50.0, 60.0])
        >>> ax = plot_curves({"run": h})
        >>> [line.get_label() for line in ax.get_lines()]
        ['run']
    """
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {sorted(_METRICS)}, got {metric!r}")
    if isinstance(smooth, bool) or not isinstance(smooth, numbers.Integral) or smooth <= 0:
        raise ValueError(f"smooth must be a positive int, got {smooth!r}")
    smooth = int(smooth)
    if not isinstance(histories, Mapping) or not histories:
        raise TypeError("histories must be a non-empty mapping from a label to a History")
    if ax is None:
        _, ax = plt.subplots()
    for label, history in histories.items():
        if not isinstance(history, History):
            raise TypeError(f"histories[{label!r}] is a {type(history).__name__}, not a History")
        values = [float(v) for v in getattr(history, metric)]  # lists of tensors, or a tensor, too
        if not values:
            raise ValueError(f"run {label!r} has no {metric}")
        if metric == "losses":
            if smooth > len(values):
                raise ValueError(
                    f"smooth={smooth} is more than the {len(values)} losses of run {label!r}; pass a smaller smooth"
                )
            y = torch.tensor(values)
            n = len(y) // smooth * smooth
            y = y[:n].view(-1, smooth).mean(dim=1)
            x = torch.arange(1, len(y) + 1) * smooth
            ax.plot(x.tolist(), y.tolist(), label=str(label))
        else:
            ax.plot([int(i) for i in history.iterations], values, marker="o", markersize=3, label=str(label))
    ax.set_xlabel("iteration")
    ax.set_ylabel(_METRICS[metric])
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def show_digits(
    images: torch.Tensor,
    labels: Sequence[int],
    predictions: Optional[Sequence[int]] = None,
    *,
    ncols: int = 8,
) -> plt.Figure:
    """Show images (N, 1, 28, 28) or (N, 28, 28) in a grid, each titled with its label.

    With ``predictions``, titles read ``label→prediction`` and mistakes are shown in red.

    Example:
        >>> fig = show_digits(torch.rand(4, 1, 28, 28), [0, 1, 2, 3], ncols=2)
        >>> len(fig.axes)
        4
    """
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a tensor, not {type(images).__name__}")
    if images.dim() == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.dim() != 3:
        raise ValueError(f"images must have shape (N, 1, H, W) or (N, H, W), got {tuple(images.shape)}")
    n = images.shape[0]
    if n == 0:
        raise ValueError("there are no images to show")
    if n > MAX_DIGITS:
        raise ValueError(f"show_digits draws at most {MAX_DIGITS} images, got {n}; pass a slice such as images[:64]")
    labels = _class_numbers(labels, "labels")
    if len(labels) != n:
        raise ValueError(f"need one label per image: {n} images, {len(labels)} labels")
    if predictions is not None:
        predictions = _class_numbers(predictions, "predictions")
        if len(predictions) != n:
            raise ValueError(f"need one prediction per image: {n} images, {len(predictions)} predictions")
    if isinstance(ncols, bool) or not isinstance(ncols, numbers.Integral) or ncols <= 0:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    ncols = min(int(ncols), n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.1 * ncols, 1.3 * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.remove()
            continue
        ax.imshow(images[i].detach().cpu(), cmap="gray_r")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        label = int(labels[i])
        if predictions is None:
            ax.set_title(str(label), fontsize=9)
        else:
            guess = int(predictions[i])
            ax.set_title(f"{label}→{guess}", fontsize=9, color="black" if guess == label else "red")
    fig.tight_layout()
    return fig

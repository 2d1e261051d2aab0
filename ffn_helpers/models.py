"""The Part II feedforward network as a one-line builder, for the chapters after it.

Chapter 6 writes Models A–E out in full; later chapters, whose subject is something
else (devices, timing, regularization), build the same networks with :func:`feedforward`.
"""

from __future__ import annotations

from typing import Sequence, Type

from torch import nn


def feedforward(
    hidden: Sequence[int] = (100, 100, 100),
    activation: Type[nn.Module] = nn.ReLU,
    in_features: int = 784,
    classes: int = 10,
) -> nn.Sequential:
    """Flatten, then Linear + activation for each hidden size, then a Linear readout.

    The default is the book's Model E: 784-100-100-100-10 with ReLU.

    Example:
        >>> model = feedforward((100,), nn.Sigmoid)  # Model A
        >>> sum(p.numel() for p in model.parameters())
        79510
    """
    for name, value in (("in_features", in_features), ("classes", classes)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if isinstance(hidden, (str, bytes)) or not all(
        isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in hidden
    ):
        raise ValueError(f"hidden must be a sequence of positive ints, got {hidden!r}")
    if not (isinstance(activation, type) and issubclass(activation, nn.Module)):
        raise TypeError(f"activation must be an nn.Module class such as nn.ReLU, not {activation!r}")
    layers: list[nn.Module] = [nn.Flatten()]
    width = in_features
    for size in hidden:
        layers += [nn.Linear(width, size), activation()]
        width = size
    layers.append(nn.Linear(width, classes))
    return nn.Sequential(*layers)

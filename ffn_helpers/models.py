"""The Part II feedforward network as a one-line builder, for the chapters after it.

Chapter 6 writes Models A–E out in full; later chapters, whose subject is something
else (devices, timing, regularization), build the same networks with :func:`feedforward`.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Type

from torch import nn


def _positive_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0


def feedforward(
    hidden: Iterable[int] = (100, 100, 100),
    activation: Type[nn.Module] = nn.ReLU,
    in_features: int = 784,
    classes: int = 10,
) -> nn.Sequential:
    """Flatten, then Linear + activation for each hidden size, then a Linear readout.

    The default is the book's Model E: 784-100-100-100-10 with ReLU. ``hidden`` may be
    any iterable of sizes (a tuple, a list, a generator, a NumPy array).

    Example:
        >>> model = feedforward((100,), nn.Sigmoid)  # Model A
        >>> sum(p.numel() for p in model.parameters())
        79510
    """
    for name, value in (("in_features", in_features), ("classes", classes)):
        if not _positive_int(value):
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Iterable):
        raise TypeError(f"hidden must be a sequence of layer sizes such as (100, 100), got {hidden!r}")
    hidden = list(hidden)  # read once: a generator would be used up by the check below
    if not all(_positive_int(h) for h in hidden):
        raise ValueError(f"hidden must hold positive ints (the layer sizes), got {hidden!r}")
    if not (isinstance(activation, type) and issubclass(activation, nn.Module)):
        raise TypeError(f"activation must be an nn.Module class such as nn.ReLU, not {activation!r}")
    layers: list[nn.Module] = [nn.Flatten()]
    width = int(in_features)
    for size in hidden:
        layers += [nn.Linear(width, int(size)), activation()]
        width = int(size)
    layers.append(nn.Linear(width, int(classes)))
    return nn.Sequential(*layers)

"""Comparing results over seeds: a difference of means with its standard error.

A chapter that compares two settings trains each over a few seeds and asks whether the
difference of the mean results is larger than the noise. ``compare(a, b)`` answers
with a ``Difference``: the difference of the means, its standard error (SE), and a
verdict, ``real`` when the difference exceeds twice its standard error::

    >>> a, b = [97.0, 97.4, 96.8], [96.8, 97.1, 96.5]   # seeds 0, 1, 2 on each side
    >>> print(compare(a, b, paired=True))
    +0.27 ± 0.03 points (real)
    >>> print(compare(a, b))                            # as if the seeds were unrelated
    +0.27 ± 0.25 points (not resolved)

Two kinds of comparison:

- **paired**, when both sides ran with the same seeds (same initial weights, same batch
  order): the standard error is that of the per-seed differences,
  ``std(a - b) / sqrt(n)``.
  Whatever a seed does to both sides cancels, so a paired comparison resolves smaller
  differences with the same runs;
- **unpaired** otherwise: the standard errors of the two means combine,
  ``sqrt(se(a)**2 + se(b)**2)``. With ``n_test``, the binomial sampling error of an
  accuracy ``p`` measured on ``n_test`` images, ``100**2 * p * (1 - p) / n_test`` per
  side in points squared, is added: the test set itself is a sample of the images one
  could have drawn.

A caveat said once: with 2 or 3 seeds, "twice the standard error" is a rough heuristic,
not a 95 % test. The standard error is itself estimated from those few values, and the
95 % quantiles of Student's t distribution for 1 and 2 degrees of freedom are 12.7 and
4.3, not 2 (2.8 with 5 seeds). Use more seeds where a run takes seconds, and read
"not resolved" as "these runs cannot tell", never as "no difference".
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Difference", "compare", "mean_std", "standard_error"]


def _values(values: Any, name: str = "values") -> list[float]:
    """``values`` as a list of finite floats, or a clear TypeError/ValueError."""
    if hasattr(values, "tolist") and not isinstance(values, (str, bytes)):
        values = values.tolist()  # NumPy arrays and PyTorch tensors
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(
            f"{name} must be a list, tuple or 1-D array of numbers, "
            f"got {type(values).__name__}"
        )
    out = []
    for i, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(
                f"{name}[{i}] must be a real number, "
                f"got {type(value).__name__}: {value!r}"
            )
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{name}[{i}] is {value}: every value must be finite")
        out.append(value)
    return out


def _mean_and_std(values: list[float], name: str) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1 in the denominator) of >= 2 values."""
    if len(values) < 2:
        raise ValueError(
            f"{name} needs at least 2 values for a standard deviation, "
            f"got {len(values)}"
        )
    mean = math.fsum(values) / len(values)
    var = math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var)


def standard_error(values: Any) -> float:
    """Standard error of the mean of ``values``: sample standard deviation / sqrt(n).

    Example:
        >>> round(standard_error([1.0, 2.0, 3.0]), 4)  # std 1, n 3
        0.5774
    """
    data = _values(values)
    return _mean_and_std(data, "values")[1] / math.sqrt(len(data))


def mean_std(values: Any, digits: int = 2) -> str:
    """``"mean ± std"`` of ``values`` (sample standard deviation), ``digits`` decimals.

    Example:
        >>> mean_std([97.0, 97.25, 97.5])
        '97.25 ± 0.25'
    """
    if isinstance(digits, bool) or not isinstance(digits, numbers.Integral):
        raise TypeError(f"digits must be an int, got {type(digits).__name__}")
    if digits < 0:
        raise ValueError(f"digits must be >= 0, got {digits}")
    mean, std = _mean_and_std(_values(values), "values")
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


@dataclass(frozen=True)
class Difference:
    """A difference of two means, ``mean(a) - mean(b)``, with its standard error.

    Attributes:
        mean: the difference of the means (of the per-seed differences when paired).
        se: its standard error.
        n: the number of values on each side, ``(len(a), len(b))``.
        paired: whether the standard error is that of per-seed differences.
        unit: the unit printed after the numbers ("points" for accuracies in percent).

    ``real`` is true when ``|mean| > 2 * se``; ``str()`` prints two decimals and
    ``format(d, ".1f")`` any other format for the two numbers.

    Example:
        >>> d = Difference(mean=0.9, se=0.26, n=(3, 3), paired=True)
        >>> print(d)
        +0.90 ± 0.26 points (real)
        >>> d.real, f"{d:.1f}"
        (True, '+0.9 ± 0.3 points (real)')
    """

    mean: float
    se: float
    n: tuple[int, int]
    paired: bool
    unit: str = "points"

    @property
    def real(self) -> bool:
        """True when the difference exceeds twice its standard error."""
        return abs(self.mean) > 2 * self.se

    @property
    def z(self) -> float:
        """The difference in units of its standard error (infinite when se is 0)."""
        if self.se == 0:
            return math.copysign(math.inf, self.mean) if self.mean else 0.0
        return self.mean / self.se

    def __format__(self, spec: str) -> str:
        spec = spec or ".2f"
        verdict = "real" if self.real else "not resolved"
        unit = f" {self.unit}" if self.unit else ""
        mean = format(self.mean, "+" + spec.lstrip("+"))
        return f"{mean} ± {format(self.se, spec.lstrip('+'))}{unit} ({verdict})"

    def __str__(self) -> str:
        return format(self, ".2f")


def compare(
    a: Any,
    b: Any,
    paired: bool = False,
    n_test: int | None = None,
    unit: str = "points",
) -> Difference:
    """Compare ``a`` with ``b``: ``mean(a) - mean(b)`` and its standard error.

    Args:
        a, b: one result per seed on each side (lists, tuples or 1-D arrays of numbers),
            at least 2 each; accuracies in percent when ``n_test`` is given.
        paired: True when ``a[i]`` and ``b[i]`` ran with the same seed; then the
            standard error is that of the differences ``a[i] - b[i]``.
        n_test: for an unpaired comparison of accuracies (in percent), the number of
            test images each was measured on: adds each side's binomial variance
            ``100**2 * p * (1 - p) / n_test`` with ``p`` its mean accuracy / 100.
        unit: printed after the numbers.

    Example:
        >>> a, b = [97.2, 97.0, 97.3], [96.3, 96.2, 96.4]
        >>> print(compare(a, b, paired=True))
        +0.87 ± 0.03 points (real)
        >>> d = compare(a, b, n_test=10_000)   # seed spread and test-set sampling
        >>> print(d)
        +0.87 ± 0.27 points (real)
        >>> round(d.se, 3), d.n, d.real
        (0.273, (3, 3), True)
    """
    if not isinstance(paired, bool):
        raise TypeError(f"paired must be True or False, got {paired!r}")
    if not isinstance(unit, str):
        raise TypeError(f"unit must be a str, got {type(unit).__name__}")
    xs, ys = _values(a, "a"), _values(b, "b")
    n = (len(xs), len(ys))
    if paired:
        if n_test is not None:
            raise ValueError(
                "n_test applies to unpaired comparisons: two accuracies measured "
                "on the same test images share most of their sampling error, which "
                "a paired comparison of per-seed results cannot separate"
            )
        if len(xs) != len(ys):
            raise ValueError(
                f"a paired comparison needs one value per seed on each side, "
                f"got {len(xs)} and {len(ys)}"
            )
        diffs = [x - y for x, y in zip(xs, ys)]
        mean, std = _mean_and_std(diffs, "a paired comparison")
        return Difference(mean, std / math.sqrt(len(diffs)), n, True, unit)

    (mean_a, std_a), (mean_b, std_b) = _mean_and_std(xs, "a"), _mean_and_std(ys, "b")
    var = std_a**2 / len(xs) + std_b**2 / len(ys)
    if n_test is not None:
        if isinstance(n_test, bool) or not isinstance(n_test, numbers.Integral):
            raise TypeError(f"n_test must be an int, got {type(n_test).__name__}")
        if n_test < 1:
            raise ValueError(
                f"n_test must be a positive number of images, got {n_test}"
            )
        for name, mean in (("a", mean_a), ("b", mean_b)):
            if not 0 <= mean <= 100:
                raise ValueError(
                    f"with n_test, values are accuracies in percent; mean of {name} is "
                    f"{mean:g}, outside [0, 100]"
                )
            p = mean / 100
            var += 100**2 * p * (1 - p) / int(n_test)
    return Difference(mean_a - mean_b, math.sqrt(var), n, False, unit)

"""ffn_helpers.stats: differences with standard errors, checked by hand (fast)."""

import dataclasses
import math

import numpy as np
import pytest
import torch

import ffn_helpers as fh
from ffn_helpers.stats import Difference, compare, mean_std, standard_error

# ------------------------------------------------------------------ standard errors


def test_standard_error_of_one_two_three():
    # mean 2, sample variance (1 + 0 + 1) / 2 = 1, so SE = 1 / sqrt(3)
    assert standard_error([1.0, 2.0, 3.0]) == pytest.approx(1 / math.sqrt(3))


def test_mean_std_uses_the_sample_standard_deviation():
    # deviations -0.25, 0, 0.25: variance 0.125 / 2 = 0.0625, std 0.25
    assert mean_std([97.0, 97.25, 97.5]) == "97.25 ± 0.25"
    assert mean_std((1, 2, 3), digits=1) == "2.0 ± 1.0"
    assert mean_std([1, 2, 3], digits=0) == "2 ± 1"


# --------------------------------------------------------------------------- compare


def test_paired_uses_the_per_seed_differences():
    # differences 2, 3, 4: mean 3, std 1, SE 1 / sqrt(3)
    d = compare([3, 5, 7], [1, 2, 3], paired=True)
    assert d.mean == pytest.approx(3.0)
    assert d.se == pytest.approx(1 / math.sqrt(3))
    assert d.n == (3, 3) and d.paired is True and d.real


def test_unpaired_combines_the_two_standard_errors():
    # a: mean 2, std sqrt(2), SE 1; b: mean 0, std 0; SE of the difference 1
    d = compare([1.0, 3.0], [0.0, 0.0, 0.0])
    assert (d.mean, d.se, d.n, d.paired) == (2.0, 1.0, (2, 3), False)


def test_exactly_twice_the_standard_error_is_not_real():
    assert not compare([1.0, 3.0], [0.0, 0.0]).real  # 2 = 2 * 1
    assert compare([1.5, 3.5], [0.0, 0.0]).real  # 2.5 > 2 * 1


def test_pairing_resolves_what_the_seed_spread_hides():
    # The seed moves both sides together: the differences are 0.2, 0.3, 0.3.
    a, b = [97.0, 97.4, 96.8], [96.8, 97.1, 96.5]
    paired, unpaired = compare(a, b, paired=True), compare(a, b)
    assert paired.mean == pytest.approx(unpaired.mean) == pytest.approx(0.8 / 3)
    assert paired.se == pytest.approx(0.1 / math.sqrt(3) / math.sqrt(3))  # std 0.1/√3
    assert paired.real and not unpaired.real


def test_binomial_error_of_the_test_set_is_added_per_side():
    # 100² · 0.9 · 0.1 / 100 = 9 and 100² · 0.8 · 0.2 / 100 = 16: SE 5, difference 10
    d = compare([90.0, 90.0], [80.0, 80.0], n_test=100)
    assert d.mean == pytest.approx(10.0) and d.se == pytest.approx(5.0)
    # with seed spread too: a's SE² is 1 (values 89, 91), so SE = sqrt(1 + 9 + 16)
    d = compare([89.0, 91.0], [80.0, 80.0], n_test=100)
    assert d.se == pytest.approx(math.sqrt(26))


def test_constant_differences_have_zero_standard_error():
    d = compare([2.0, 3.0], [1.0, 2.0], paired=True)
    assert (d.mean, d.se, d.real, d.z) == (1.0, 0.0, True, math.inf)
    assert compare([1.0, 1.0], [1.0, 1.0], paired=True).z == 0.0


def test_z_is_the_difference_in_standard_errors():
    assert compare([1.0, 3.0], [0.0, 0.0]).z == pytest.approx(2.0)


# --------------------------------------------------------------------------- printing


def test_str_reads_as_a_sentence():
    assert str(Difference(0.9, 0.26, (3, 3), True)) == "+0.90 ± 0.26 points (real)"
    d = Difference(-0.3, 0.2, (3, 3), False)
    assert str(d) == "-0.30 ± 0.20 points (not resolved)"
    assert str(compare([1.0, 3.0], [0.0, 0.0])) == "+2.00 ± 1.00 points (not resolved)"


def test_format_spec_and_unit():
    d = Difference(0.9, 0.26, (3, 3), True)
    assert f"{d:.1f}" == "+0.9 ± 0.3 points (real)"
    assert format(d, "+.3f") == "+0.900 ± 0.260 points (real)"
    no_unit = compare([3, 5, 7], [1, 2, 3], paired=True, unit="")
    assert str(no_unit) == "+3.00 ± 0.58 (real)"
    # SE sqrt(2 / 2 + 0.5 / 2) ≈ 1.12
    assert str(compare([3, 5], [1, 2], unit="ms")) == "+2.50 ± 1.12 ms (real)"


def test_difference_is_frozen():
    d = Difference(0.9, 0.26, (3, 3), True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.mean = 1.0


# --------------------------------------------------------------------------- inputs


@pytest.mark.parametrize(
    "a, b",
    [
        (np.array([3.0, 5.0, 7.0]), np.array([1.0, 2.0, 3.0])),
        ([np.float32(3), np.float64(5), np.int64(7)], (1, 2, 3)),
        (torch.tensor([3.0, 5.0, 7.0]), [1.0, 2.0, 3.0]),
        (range(3, 8, 2), [1, 2, 3]),
    ],
    ids=["numpy arrays", "numpy numbers", "tensor", "range"],
)
def test_accepts_numpy_torch_and_sequences(a, b):
    d = compare(a, b, paired=True)
    assert d.mean == pytest.approx(3.0) and d.se == pytest.approx(1 / math.sqrt(3))


def test_exported_from_the_package():
    assert fh.compare is compare and fh.Difference is Difference
    assert fh.mean_std is mean_std and fh.standard_error is standard_error
    assert {"compare", "Difference", "mean_std", "standard_error"} <= set(fh.__all__)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: compare([1.0], [1.0, 2.0]), "a needs at least 2 values"),
        (lambda: compare([1.0, 2.0], []), "b needs at least 2 values"),
        (lambda: compare([1.0], [2.0], paired=True), "at least 2 values"),
        (lambda: compare([1, 2, 3], [1, 2], paired=True), "got 3 and 2"),
        (lambda: compare([1.0, float("nan")], [1.0, 2.0]), r"a\[1\] is nan"),
        (lambda: compare([1.0, 2.0], np.array([1.0, np.inf])), r"b\[1\] is inf"),
        (lambda: compare([1, 2], [1, 2], n_test=0), "positive number of images"),
        (lambda: compare([1, 2], [1, 2], paired=True, n_test=100), "unpaired"),
        (lambda: compare([0.97, 0.98], [0.96, 0.97], n_test=-5), "positive"),
        (lambda: compare([150.0, 160.0], [90.0, 91.0], n_test=100), "outside"),
        (lambda: standard_error([3.0]), "at least 2 values"),
        (lambda: mean_std([1.0, 2.0], digits=-1), "digits"),
    ],
)
def test_bad_values_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: compare(["97.1", "97.2"], [1.0, 2.0]), r"a\[0\] must be a real"),
        (lambda: compare([1.0, 2.0], "12"), "b must be a list"),
        (lambda: compare(3.0, [1.0, 2.0]), "a must be a list"),
        (lambda: compare(None, [1.0, 2.0]), "a must be a list"),
        (lambda: compare((x for x in [1.0, 2.0]), [1.0, 2.0]), "got generator"),
        (lambda: compare({1.0, 2.0}, [1.0, 2.0]), "got set"),
        (lambda: compare([True, False], [1.0, 2.0]), "real number, got bool"),
        (lambda: compare(np.ones((2, 2)), [1.0, 2.0]), r"a\[0\] must be a real number"),
        (lambda: compare([1.0, 2.0], [1.0, 2.0], paired="yes"), "paired must be"),
        (lambda: compare([1.0, 2.0], [1.0, 2.0], n_test=1e4), "n_test must be an int"),
        (lambda: compare([1.0, 2.0], [1.0, 2.0], unit=None), "unit must be a str"),
        (lambda: mean_std([1.0, 2.0], digits=1.5), "digits must be an int"),
    ],
)
def test_bad_types_raise_type_error(call, match):
    with pytest.raises(TypeError, match=match):
        call()

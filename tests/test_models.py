"""ffn_helpers.models: the feedforward builder and its argument checks."""

import numpy as np
import pytest
import torch
from torch import nn

from ffn_helpers import feedforward


def hidden_sizes(model):
    return [m.out_features for m in model if isinstance(m, nn.Linear)][:-1]


def test_any_iterable_of_sizes_builds_every_hidden_layer():
    assert hidden_sizes(feedforward(h for h in (100, 100))) == [100, 100]
    assert hidden_sizes(feedforward(iter([30, 20, 10]))) == [30, 20, 10]
    assert hidden_sizes(feedforward([])) == []  # logistic regression: no hidden layer


def test_numpy_sizes_are_valid():
    model = feedforward(np.array([50, 40]), in_features=np.int64(784), classes=np.int64(10))
    assert hidden_sizes(model) == [50, 40] and model(torch.rand(2, 1, 28, 28)).shape == (2, 10)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(hidden=100), TypeError, r"such as \(100, 100\)"),
        (dict(hidden="100"), TypeError, r"such as \(100, 100\)"),
        (dict(hidden=(100, 0)), ValueError, "positive"),
        (dict(hidden=(100, 2.5)), ValueError, "positive"),
        (dict(hidden=(True,)), ValueError, "positive"),
        (dict(classes=0), ValueError, "classes"),
        (dict(in_features=1.5), ValueError, "in_features"),
        (dict(activation=torch.relu), TypeError, "activation"),
    ],
)
def test_bad_arguments_say_what_to_do(kwargs, error, message):
    with pytest.raises(error, match=message):
        feedforward(**kwargs)

"""Issue 21, the training side: train, accuracy, the hand-written step, step_flops, floor_seconds."""

import math

import numpy as np
import pytest
import torch
from torch import nn

import ffn_helpers as fh
from ffn_helpers.perf import floor_seconds, hand_step, step_flops, train_by_hand


def data(n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)


def model_e(seed=0):
    torch.manual_seed(seed)
    return fh.feedforward()


# --------------------------------------------------------------------------- train_by_hand: structure


class Tanh(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten, self.a, self.b = nn.Flatten(), nn.Linear(784, 20), nn.Linear(20, 10)

    def forward(self, x):
        return self.b(torch.tanh(self.a(self.flatten(x))))


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten, self.a, self.relu, self.b = nn.Flatten(), nn.Linear(784, 784), nn.ReLU(), nn.Linear(784, 10)

    def forward(self, x):
        x = self.flatten(x)
        return self.b(self.relu(self.a(x)) + x)


@pytest.mark.parametrize(
    "build",
    [
        lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 20), nn.Linear(20, 10)),
        lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 20), nn.ReLU(), nn.Linear(20, 10), nn.ReLU()),
        lambda: nn.Sequential(nn.Linear(784, 20), nn.ReLU(), nn.Linear(20, 10)),
        lambda: nn.Sequential(nn.Flatten(), nn.ReLU(), nn.Linear(784, 10)),
        lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 20), nn.ReLU(), nn.ReLU(), nn.Linear(20, 10)),
        Tanh,
        Residual,
    ],
    ids=["no-relu", "relu-last", "no-flatten", "relu-first", "two-relus", "tanh-forward", "residual"],
)
def test_train_by_hand_refuses_every_other_structure(build):
    x, y = data()
    with pytest.raises(ValueError, match="Flatten"):
        train_by_hand(build(), x, y, iterations=2, batch_size=50)


def test_train_by_hand_accepts_numpy_numbers_and_small_integer_labels():
    x, y = data()
    reference = train_by_hand(model_e(), x, y, iterations=3, batch_size=50, lr=0.1, seed=1)
    for labels in (y.to(torch.int32), y.to(torch.uint8)):
        got = train_by_hand(model_e(), x, labels, iterations=3, batch_size=50, lr=np.float64(0.1), seed=np.int64(1))
        assert all(torch.equal(p, q) for p, q in zip(reference.parameters(), got.parameters()))


def test_train_by_hand_refuses_labels_out_of_range():
    x, y = data()
    y[3] = 10
    with pytest.raises(ValueError, match="label"):
        train_by_hand(model_e(), x, y, iterations=2, batch_size=50)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_train_by_hand_refuses_a_nan_or_infinite_input(bad, dtype):
    x, y = data()
    x = x.to(dtype)
    x[5, 0, 3, 3] = bad  # one value among 156,800, neither the first nor the last
    model = model_e().to(dtype)
    with pytest.raises(ValueError, match="NaN or infinite"):
        train_by_hand(model, x, y, iterations=2, batch_size=50)


def test_train_by_hand_checks_finiteness_without_a_temporary_the_size_of_the_data(monkeypatch):
    # torch.isfinite on the whole training set builds temporaries several times its size;
    # a training loop run after them was measured 12 % slower, so the check uses min and max.
    def refuse(*args, **kwargs):
        raise AssertionError("torch.isfinite called on the training inputs")

    monkeypatch.setattr(torch, "isfinite", refuse)
    x, y = data()
    train_by_hand(model_e(), x, y, iterations=2, batch_size=50)


def test_train_by_hand_refuses_frozen_parameters():
    model = model_e()
    model[1].weight.requires_grad_(False)
    x, y = data()
    with pytest.raises(ValueError, match="requires_grad"):
        train_by_hand(model, x, y, iterations=2, batch_size=50)


def test_train_by_hand_names_a_feature_mismatch():
    x, y = torch.rand(200, 785), data()[1]
    with pytest.raises(ValueError, match="785 features.*784"):
        train_by_hand(model_e(), x, y, iterations=2, batch_size=50)


@pytest.mark.parametrize("lr", [float("nan"), -0.1, 0.0, float("inf")])
def test_hand_step_refuses_a_bad_learning_rate(lr):
    W, b = [torch.zeros(3, 4)], [torch.zeros(3)]
    with pytest.raises(ValueError, match="lr"):
        hand_step(torch.ones(2, 4), torch.eye(3)[:2], W, b, [torch.empty(2, 3)], [], lr=lr)


# --------------------------------------------------------------------------- step_flops, floor_seconds


def test_step_flops_works_under_no_grad():
    model = nn.Linear(784, 10)
    with torch.no_grad():
        assert step_flops(model, torch.rand(100, 784), torch.randint(0, 10, (100,))) == 3136000


def test_step_flops_leaves_batch_norm_statistics_and_the_random_generator_alone():
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 50), nn.BatchNorm1d(50), nn.Dropout(0.5), nn.Linear(50, 10))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = data(100)
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    step_flops(model, x, y)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert torch.equal(torch.rand(3), expected)


def test_floor_seconds_accepts_numpy_numbers():
    assert floor_seconds(np.int64(43_960_000), np.int64(3000), np.float32(200e9)) == pytest.approx(0.6594, rel=1e-6)


@pytest.mark.parametrize("args", [(10**400, 3000, 200e9), (43_960_000, 3000, 5e-324)])
def test_floor_seconds_refuses_results_that_are_not_finite(args):
    with pytest.raises(ValueError):
        floor_seconds(*args)


# --------------------------------------------------------------------------- train


class GoesNaN(nn.Module):
    """A linear model whose training outputs become NaN from its ``bad``-th training call on."""

    def __init__(self, bad):
        super().__init__()
        self.net, self.calls, self.bad = nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), 0, bad

    def forward(self, x):
        out = self.net(x)
        if self.training:
            self.calls += 1
            if self.calls >= self.bad:
                out = out * float("nan")
        return out


def test_train_keeps_the_partial_history_when_the_loss_becomes_nan():
    x, y = data()
    with pytest.raises(FloatingPointError, match=r"at iteration 23\b.*stopped at iteration (\d+)") as info:
        fh.train(GoesNaN(23), (x, y), (x, y), iterations=400, batch_size=50, eval_every=5, progress=False)
    stopped = int(str(info.value).split("stopped at iteration ")[1].split()[0].rstrip(";,."))
    assert 23 <= stopped <= 33, "it ran on for too long after the loss became NaN"
    history = info.value.history
    assert isinstance(history, fh.History) and history.iterations == [5, 10, 15, 20]
    assert len(history.test_accuracies) == 4 and len(history.losses) == stopped


def test_accuracy_refuses_a_model_that_returns_nan():
    x, y = data()
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    with torch.no_grad():
        model[1].weight.fill_(float("nan"))
    with pytest.raises(ValueError, match="NaN"):
        fh.accuracy(model, (x, y))


@pytest.mark.parametrize("dtype", [torch.int32, torch.int16, torch.int64])
def test_accuracy_refuses_labels_out_of_range(dtype):
    x, y = data()
    y = y.to(dtype)
    y[7] = 10
    with pytest.raises(ValueError, match="label"):
        fh.accuracy(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), (x, y))


def test_accuracy_takes_one_hot_labels_like_training_does():
    x, y = data()
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    onehot = nn.functional.one_hot(y, 10).float()
    assert fh.accuracy(model, (x, onehot)) == fh.accuracy(model, (x, y))
    fh.train(model, (x, onehot), (x, onehot), iterations=4, batch_size=50, eval_every=2, progress=False)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(scheduler="cosine"), TypeError, "scheduler"),
        (dict(loss_fn="cross_entropy"), TypeError, "loss_fn"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(seed=2**64), ValueError, "seed"),
        (dict(iterations=10**13), ValueError, "iterations"),
    ],
)
def test_train_checks_its_arguments_before_the_first_step(kwargs, error, match):
    x, y = data()
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    before = [p.clone() for p in model.parameters()]
    with pytest.raises(error, match=match):
        fh.train(model, (x, y), iterations=kwargs.pop("iterations", 4), batch_size=50, progress=False, **kwargs)
    assert all(torch.equal(p, q) for p, q in zip(before, model.parameters()))


def test_one_hot_advice_is_argmax():
    x, y = data()
    with pytest.raises(ValueError, match=r"argmax\(1\)"):
        fh.train(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), (x, nn.functional.one_hot(y, 10)),
                 iterations=2, batch_size=50, progress=False)


def test_lr_with_an_optimizer_is_refused():
    x, y = data()
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        fh.train(model, (x, y), iterations=2, batch_size=50, lr=0.5, optimizer=optimizer, progress=False)


def test_a_scheduler_of_another_optimizer_is_refused():
    x, y = data()
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    other = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(other, step_size=1)
    with pytest.raises(ValueError, match="scheduler"):
        fh.train(model, (x, y), iterations=2, batch_size=50, optimizer=optimizer, scheduler=scheduler,
                 progress=False)


def test_a_penalty_that_is_not_a_method_is_refused():
    x, y = data()
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    model.penalty = 0.01
    with pytest.raises(TypeError, match="penalty"):
        fh.train(model, (x, y), iterations=2, batch_size=50, progress=False)


def test_ctrl_c_keeps_the_partial_history_and_the_model_mode():
    x, y = data()

    class Interrupting(nn.Module):
        def __init__(self):
            super().__init__()
            self.net, self.calls = nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), 0

        def forward(self, x):
            if self.training:
                self.calls += 1
                if self.calls == 25:
                    raise KeyboardInterrupt
            return self.net(x)

    model = Interrupting().eval()
    with pytest.raises(KeyboardInterrupt) as info:
        fh.train(model, (x, y), (x, y), iterations=100, batch_size=50, eval_every=10, progress=False)
    assert info.value.history.iterations == [10, 20] and len(info.value.history.losses) == 24
    assert not model.training


def test_a_scheduler_built_on_the_given_optimizer_still_works():
    # Chapter 11's pattern: optimizer and one-cycle schedule passed together, no lr.
    x, y = data()
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=8, cycle_momentum=False)
    history = fh.train(model, (x, y), (x, y), iterations=8, batch_size=50, optimizer=optimizer,
                       scheduler=schedule, eval_every=None, seed=0, progress=False)
    assert history.iterations == [8] and schedule.last_epoch == 8

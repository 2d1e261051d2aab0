"""ffn_helpers.perf: FLOP counts checked analytically, throughput sanity, argument checks (fast)."""

import copy

import pytest
import torch
from torch import nn

import ffn_helpers as fh
from ffn_helpers.perf import floor_seconds, matmul_flops_per_second, step_flops, train_by_hand


def batch(b=8, n=5, classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, n, generator=g), torch.randint(0, classes, (b,), generator=g)


# --------------------------------------------------------------------------- step_flops


def test_one_linear_layer_forward_and_weight_gradient():
    # Forward 2·B·in·out, weight gradient 2·B·in·out; no input gradient for plain data.
    x, y = batch(b=8, n=5, classes=3)
    assert step_flops(nn.Linear(5, 3), x, y) == 2 * (2 * 8 * 5 * 3)


def test_input_gradient_is_counted_only_when_the_input_requires_one():
    x, y = batch(b=8, n=5, classes=3)
    assert step_flops(nn.Linear(5, 3), x.requires_grad_(), y) == 3 * (2 * 8 * 5 * 3)


def test_a_second_layer_needs_its_input_gradient():
    x, y = batch(b=4, n=6, classes=2)
    model = nn.Sequential(nn.Linear(6, 7), nn.ReLU(), nn.Linear(7, 2))
    first, second = 2 * 4 * 6 * 7, 2 * 4 * 7 * 2
    assert step_flops(model, x, y) == 2 * first + 3 * second


def test_frozen_layer_needs_no_weight_gradient():
    x, y = batch(b=4, n=6, classes=2)
    model = nn.Sequential(nn.Linear(6, 7), nn.ReLU(), nn.Linear(7, 2))
    model[2].requires_grad_(False)
    first, second = 2 * 4 * 6 * 7, 2 * 4 * 7 * 2
    # the readout's input gradient is still needed to reach the first layer; its weight gradient is not
    assert step_flops(model, x, y) == 2 * first + 2 * second


def test_model_e_on_a_batch_of_100():
    torch.manual_seed(0)
    x, y = torch.rand(100, 1, 28, 28), torch.randint(0, 10, (100,))
    forward = 2 * 100 * (784 * 100 + 100 * 100 + 100 * 100 + 100 * 10)
    input_grads = 2 * 100 * (100 * 100 + 100 * 100 + 100 * 10)  # every layer but the first
    assert step_flops(fh.feedforward(), x, y) == 2 * forward + input_grads == 43_960_000


def test_step_flops_leaves_gradients_and_weights_alone():
    x, y = batch()
    model = nn.Linear(5, 3)
    model.weight.grad = torch.ones_like(model.weight)
    before = model.weight.detach().clone()
    step_flops(model, x, y)
    assert torch.equal(model.weight.grad, torch.ones_like(model.weight)) and model.bias.grad is None
    assert torch.equal(model.weight, before)


def test_custom_loss_function():
    x, _ = batch(b=8, n=5)
    target = torch.rand(8, 3)
    assert step_flops(nn.Linear(5, 3), x, target, loss_fn=nn.functional.mse_loss) == 2 * (2 * 8 * 5 * 3)


@pytest.mark.parametrize(
    "args, kwargs, error",
    [
        (("not a model", torch.rand(2, 5), torch.zeros(2, dtype=torch.long)), {}, TypeError),
        ((nn.Linear(5, 3), [[0.0] * 5], torch.zeros(1, dtype=torch.long)), {}, TypeError),
        ((nn.Linear(5, 3), torch.rand(2, 5), torch.zeros(3, dtype=torch.long)), {}, ValueError),
        ((nn.Linear(5, 3), torch.rand(0, 5), torch.zeros(0, dtype=torch.long)), {}, ValueError),
        ((nn.Linear(5, 3), torch.rand(2, 5), torch.zeros(2, dtype=torch.long)), {"loss_fn": 3}, TypeError),
        ((nn.Linear(5, 3).requires_grad_(False), torch.rand(2, 5), torch.zeros(2, dtype=torch.long)), {}, ValueError),
        ((nn.Linear(5, 3), torch.rand(2, 5), torch.zeros(2, dtype=torch.long)),
         {"loss_fn": lambda out, y: out.sum(dim=1)}, ValueError),
    ],
)
def test_step_flops_bad_arguments(args, kwargs, error):
    with pytest.raises(error):
        step_flops(*args, **kwargs)


# --------------------------------------------------------------------------- throughput and floor


def test_matmul_throughput_is_plausible_and_restores_threads():
    threads = torch.get_num_threads()
    flops = matmul_flops_per_second(n=128, repeat=2, threads=1)
    assert isinstance(flops, float) and 1e7 < flops < 1e15
    assert torch.get_num_threads() == threads


@pytest.mark.parametrize(
    "kwargs, error",
    [({"n": 0}, ValueError), ({"n": 64.0}, TypeError), ({"repeat": -1}, ValueError),
     ({"threads": 0}, ValueError), ({"threads": True}, TypeError)],
)
def test_matmul_bad_arguments(kwargs, error):
    with pytest.raises(error):
        matmul_flops_per_second(**kwargs)


def test_floor_seconds():
    assert floor_seconds(43_960_000, 3000, 200e9) == pytest.approx(0.6594)
    assert floor_seconds(1, 1, 1) == 1.0


@pytest.mark.parametrize(
    "args, error",
    [((0, 10, 1e9), ValueError), ((1e6, 0, 1e9), ValueError), ((1e6, 10, -1.0), ValueError),
     (("1e6", 10, 1e9), TypeError), ((1e6, 2.5, 1e9), TypeError), ((1e6, 10, float("nan")), ValueError),
     ((1e6, 10, float("inf")), ValueError)],
)
def test_floor_bad_arguments(args, error):
    with pytest.raises(error):
        floor_seconds(*args)


def test_exported_from_the_package():
    assert fh.step_flops is step_flops and fh.floor_seconds is floor_seconds
    assert fh.matmul_flops_per_second is matmul_flops_per_second


# --------------------------------------------------------------------------- the hand-written step


def test_one_hand_step_is_one_sgd_step_in_float64():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 7), nn.ReLU(), nn.Linear(7, 5), nn.ReLU(), nn.Linear(5, 3))
    model = model.double()
    x, y = torch.rand(8, 3, 4, dtype=torch.float64), torch.randint(0, 3, (8,))
    reference = copy.deepcopy(model)
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.5)
    nn.functional.cross_entropy(reference(x), y).backward()
    optimizer.step()
    train_by_hand(model, x, y, iterations=1, batch_size=8, lr=0.5)
    for p, q in zip(model.parameters(), reference.parameters()):
        assert (p - q).abs().max().item() < 1e-12


def test_train_by_hand_sees_the_same_batches_as_train():
    x, y = torch.rand(60, 1, 4, 4), torch.randint(0, 3, (60,))
    torch.manual_seed(1)
    model = fh.feedforward((6,), in_features=16, classes=3)
    reference = copy.deepcopy(model)
    train_by_hand(model, x, y, iterations=7, batch_size=20, lr=0.2, seed=3)  # spans 3 epochs
    fh.train(reference, (x, y), iterations=7, batch_size=20, lr=0.2, seed=3, eval_every=None, progress=False)
    for p, q in zip(model.parameters(), reference.parameters()):
        assert torch.allclose(p, q, atol=1e-6)


@pytest.mark.parametrize(
    "model, kwargs, error",
    [
        ("model", {}, TypeError),
        (nn.Sequential(nn.Flatten(), nn.Linear(16, 3), nn.Sigmoid(), nn.Linear(3, 3)), {}, ValueError),
        (nn.Sequential(nn.Linear(16, 3, bias=False)), {}, ValueError),
        (None, {"iterations": 0}, ValueError),
        (None, {"batch_size": 1.5}, TypeError),
        (None, {"batch_size": 11}, ValueError),
        (None, {"lr": -0.1}, ValueError),
        (None, {"seed": None}, TypeError),
    ],
)
def test_train_by_hand_bad_arguments(model, kwargs, error):
    model = fh.feedforward((4,), in_features=16, classes=3) if model is None else model
    with pytest.raises(error):
        train_by_hand(model, torch.rand(10, 16), torch.randint(0, 3, (10,)), **{"batch_size": 5, **kwargs})

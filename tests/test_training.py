"""ffn_helpers.training: the recipe, its argument checks, determinism, learning, evaluation."""

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ffn_helpers import History, accuracy, mnist_tensors, train


def tiny_data(n=120, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)


def small_model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))


def quick(model, data, **kwargs):
    options = dict(iterations=6, batch_size=20, eval_every=3, progress=False)
    options.update(kwargs)
    return train(model, data, data, **options)


def test_history_shapes():
    history = quick(small_model(), tiny_data(), iterations=7)
    assert isinstance(history, History)
    assert history.iterations == [3, 6, 7]
    assert len(history.losses) == 7 and len(history.test_accuracies) == 3 and len(history.elapsed) == 3
    assert 0 < history.eval_seconds <= history.seconds
    assert history.final_accuracy == history.test_accuracies[-1]


def test_train_is_deterministic_for_a_fixed_seed():
    first = quick(small_model(), tiny_data(), iterations=12, seed=5)
    second = quick(small_model(), tiny_data(), iterations=12, seed=5)
    other = quick(small_model(), tiny_data(), iterations=12, seed=6)
    assert first.losses == second.losses and first.test_accuracies == second.test_accuracies
    assert first.losses != other.losses  # the seed really drives the shuffling


def test_train_learns_on_a_small_real_mnist_subset(mnist_root):
    images, labels = mnist_tensors(mnist_root, train=True)
    test_images, test_labels = mnist_tensors(mnist_root, train=False)
    subset = (images[:2000], labels[:2000])
    model = small_model()
    before = accuracy(model, (test_images[:1000], test_labels[:1000]))
    history = train(model, subset, (test_images[:1000], test_labels[:1000]), iterations=200,
                    batch_size=50, eval_every=100, progress=False)
    first, last = sum(history.losses[:20]) / 20, sum(history.losses[-20:]) / 20
    assert last < 0.5 * first, (first, last)
    assert history.final_accuracy > 80 > before


def test_dataloader_path_matches_the_recipe():
    x, y = tiny_data()
    loader = DataLoader(TensorDataset(x, y), batch_size=20, shuffle=True)
    history = train(small_model(), loader, (x, y), iterations=8, eval_every=4, progress=False)
    assert history.iterations == [4, 8] and len(history.losses) == 8
    with pytest.raises(ValueError, match="conflicts with the DataLoader"):
        train(small_model(), loader, iterations=2, batch_size=50, progress=False)


def test_penalty_is_added_to_the_loss():
    class Penalized(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = small_model()

        def forward(self, x):
            return self.net(x)

        def penalty(self):
            return torch.tensor(10.0)

    plain, penalized = small_model(), Penalized()
    penalized.net.load_state_dict(plain.state_dict())
    a = quick(plain, tiny_data(), iterations=1)
    b = quick(penalized, tiny_data(), iterations=1)
    assert b.losses[0] == pytest.approx(a.losses[0] + 10.0)


def test_custom_optimizer_scheduler_and_train_eval():
    model = small_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    history = quick(model, tiny_data(), optimizer=optimizer, scheduler=scheduler, train_eval=True)
    assert len(history.train_accuracies) == len(history.test_accuracies) == 2
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.5**3)


@pytest.mark.parametrize("mode", [True, False])
def test_accuracy_restores_the_mode(mode):
    model = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(784, 10))
    model.train(mode)
    seen = []
    model[1].register_forward_hook(lambda module, inputs, output: seen.append(module.training))
    accuracy(model, tiny_data())
    assert seen == [False] and model.training is mode and model[1].training is mode


def test_accuracy_values():
    x, y = tiny_data(50)
    always_zero = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    with torch.no_grad():
        always_zero[1].weight.zero_()
        always_zero[1].bias.copy_(torch.arange(10, 0, -1).float())
    assert accuracy(always_zero, (x, y), batch_size=7) == pytest.approx(100 * (y == 0).float().mean().item())


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(iterations=-1), ValueError, "iterations must be positive"),
        (dict(iterations=0), ValueError, "iterations must be positive"),
        (dict(iterations=2.5), TypeError, "iterations must be an int"),
        (dict(batch_size=0), ValueError, "batch_size must be positive"),
        (dict(batch_size=1000), ValueError, "larger than the 120 training examples"),
        (dict(eval_every=0), ValueError, "eval_every must be positive"),
        (dict(lr=-0.1), ValueError, "lr must be a positive number"),
        (dict(device="gpu0"), ValueError, "not a device name"),
        (dict(device=3.0), TypeError, "device must be"),
        (dict(seed="0"), TypeError, "seed must be an int"),
        (dict(optimizer="sgd"), TypeError, "optimizer must be"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        quick(small_model(), tiny_data(), **kwargs)


def test_bad_models_and_data_are_named():
    x, y = tiny_data()
    with pytest.raises(TypeError, match="torch.nn.Module"):
        train(lambda t: t, (x, y), progress=False)
    no_flatten = nn.Linear(28, 10)  # returns (B, 1, 28, 10)
    with pytest.raises(ValueError, match="did you forget to flatten"):
        quick(no_flatten, (x, y))
    too_few_classes = nn.Sequential(nn.Flatten(), nn.Linear(784, 5))
    with pytest.raises(ValueError, match="one unit per class"):
        quick(too_few_classes, (x, y))
    with pytest.raises(ValueError, match="120 inputs but 119 labels"):
        quick(small_model(), (x, y[:-1]))
    with pytest.raises(TypeError, match="pair"):
        quick(small_model(), [x])


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_missing_cuda_is_named():
    with pytest.raises(ValueError, match="CUDA is not available"):
        quick(small_model(), tiny_data(), device="cuda")


def test_feedforward_builder():
    from ffn_helpers import feedforward

    model_e = feedforward()
    assert sum(p.numel() for p in model_e.parameters()) == 784 * 100 + 100 + 2 * (100 * 100 + 100) + 100 * 10 + 10
    assert model_e(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    assert isinstance(feedforward((100,), nn.Tanh)[2], nn.Tanh)
    with pytest.raises(ValueError, match="hidden"):
        feedforward((100, 0))
    with pytest.raises(ValueError, match="classes"):
        feedforward(classes=0)
    with pytest.raises(TypeError, match="activation"):
        feedforward(activation=torch.relu)


# --------------------------------------------------------------------------- issue 10


@pytest.mark.parametrize("lr", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_learning_rates_are_refused(lr):
    with pytest.raises(ValueError, match="lr must be a positive number"):
        quick(small_model(), tiny_data(), lr=lr)


def test_numpy_scalars_are_valid_arguments():
    import numpy as np

    plain = quick(small_model(), tiny_data(), iterations=6, batch_size=20, eval_every=3, lr=0.5, seed=1)
    numpy = quick(small_model(), tiny_data(), iterations=np.int64(6), batch_size=np.int64(20),
                  eval_every=np.int64(3), lr=np.float32(0.5), seed=np.int64(1))
    assert numpy.iterations == plain.iterations == [3, 6]
    assert numpy.losses == pytest.approx(plain.losses)
    assert 0 <= accuracy(small_model(), tiny_data(), batch_size=np.int64(7)) <= 100


def test_accuracy_refuses_column_labels():
    x, y = tiny_data(50)
    with pytest.raises(ValueError, match="1-D tensor of class indices"):
        accuracy(small_model(), (x, y.view(-1, 1)))
    loader = DataLoader(TensorDataset(x, y.view(-1, 1)), batch_size=10)
    with pytest.raises(ValueError, match="1-D tensor of class indices"):
        accuracy(small_model(), loader)


class NaNAfter(nn.Module):
    """A model whose penalty becomes NaN from its ``n``-th call on, counting its training steps."""

    def __init__(self, n):
        super().__init__()
        self.net, self.n, self.steps = small_model(), n, 0

    def forward(self, x):
        return self.net(x)

    def penalty(self):
        self.steps += 1
        return torch.tensor(float("nan") if self.steps >= self.n else 0.0)


def test_a_nan_loss_stops_training_and_names_the_iteration():
    model = NaNAfter(3)
    with pytest.raises(FloatingPointError, match="the loss became nan at iteration 3;"):
        train(model, tiny_data(), iterations=3000, batch_size=20, eval_every=None, progress=False)
    assert model.steps <= 50, "training went on long after the loss became NaN"


def test_an_infinite_loss_found_at_an_evaluation():
    class InfLoss(nn.Module):
        def __call__(self, outputs, labels):
            return nn.functional.cross_entropy(outputs, labels) * float("inf")

    with pytest.raises(FloatingPointError, match="at iteration 1;"):
        quick(small_model(), tiny_data(), loss_fn=InfLoss())


def test_an_optimizer_without_the_models_parameters_is_refused():
    model, other = small_model(), small_model()
    with pytest.raises(ValueError, match="none of the model's parameters"):
        quick(model, tiny_data(), optimizer=torch.optim.SGD(other.parameters(), lr=0.1))


def test_a_model_returning_a_tuple_is_named():
    class TwoOutputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = small_model()

        def forward(self, x):
            return self.net(x), x

    with pytest.raises(TypeError, match="returned a tuple, not a tensor"):
        train(TwoOutputs(), tiny_data(), iterations=2, batch_size=20, progress=False)
    with pytest.raises(TypeError, match="returned a tuple, not a tensor"):
        accuracy(TwoOutputs(), tiny_data())


def counting(model):
    """Count the model's forward passes in training mode (the training steps)."""
    steps = []
    model.register_forward_hook(lambda module, inputs, output: steps.append(1) if module.training else None)
    return steps


@pytest.mark.parametrize(
    "bad_test, message",
    [
        (lambda x, y: (x[:, :, :14], y), "cannot be applied to test_data"),
        (lambda x, y: (x, y.view(-1, 1)), "1-D tensor of class indices"),
        (lambda x, y: (x, torch.full_like(y, 12)), "one unit per class"),
        (lambda x, y: DataLoader(TensorDataset(x[:0], y[:0]), batch_size=10), "yields no batches"),
        (lambda x, y: DataLoader(TensorDataset(x[:, :, :14], y), batch_size=10), "cannot be applied to test_data"),
    ],
)
def test_a_bad_test_set_fails_before_training(bad_test, message):
    x, y = tiny_data()
    model = small_model()
    steps = counting(model)
    with pytest.raises((ValueError, TypeError), match=message):
        train(model, (x, y), bad_test(x, y), iterations=50, batch_size=20, eval_every=25, progress=False)
    assert steps == [], "the training time was spent before the test set was found unusable"


def test_training_labels_shaped_n_by_1_are_named():
    x, y = tiny_data()
    with pytest.raises(ValueError, match="1-D tensor of class indices"):
        train(small_model(), (x, y.view(-1, 1)), iterations=2, batch_size=20, progress=False)


def test_checking_the_test_set_does_not_change_the_run():
    # The check runs the model once in eval mode before seeding; the losses must be as without a test set.
    with_test = quick(small_model(), tiny_data(), iterations=6, seed=3)
    x, y = tiny_data()
    without = train(small_model(), (x, y), iterations=6, batch_size=20, eval_every=3, progress=False, seed=3)
    assert with_test.losses == without.losses

"""The training recipe as one function, and evaluation.

``train`` repeats the five steps every chapter teaches (zero the gradients, forward,
loss, backward, step) for a fixed number of iterations. It takes either a
``DataLoader`` (the classic path) or a pair of in-memory tensors (the fast path: whole
batches are sliced out of one tensor, no per-image work). A model with a ``penalty()``
method gets that term added to its loss, as in the book's L2 chapter.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional, Union

import torch
from torch import nn
from torch.utils.data import DataLoader

from .devices import DeviceLike, resolve_device

Data = Union[DataLoader, tuple]


@dataclass
class History:
    """What happened during :func:`train`.

    ``iterations`` are the iterations at which the model was evaluated, with the test
    (and optionally training) accuracy in percent at each. ``losses`` holds the loss of
    every iteration; ``elapsed`` the seconds since the start at each evaluation;
    ``seconds`` the whole run and ``eval_seconds`` the part spent evaluating.
    """

    iterations: list[int] = field(default_factory=list)
    test_accuracies: list[float] = field(default_factory=list)
    train_accuracies: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    elapsed: list[float] = field(default_factory=list)
    seconds: float = 0.0
    eval_seconds: float = 0.0

    @property
    def final_accuracy(self) -> float:
        """Test accuracy (percent) at the last evaluation."""
        if not self.test_accuracies:
            raise ValueError("this run was not evaluated on a test set")
        return self.test_accuracies[-1]

    @property
    def train_seconds(self) -> float:
        """Seconds spent training, evaluation excluded."""
        return self.seconds - self.eval_seconds


# --------------------------------------------------------------------------- argument checks


def _positive_int(name: str, value) -> int:
    """``value`` as a Python int; NumPy integers are fine, bools and floats are not."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return int(value)


def _learning_rate(lr) -> float:
    # `lr <= 0` is False for NaN, hence the explicit finiteness check.
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}; pass a finite learning rate such as lr=0.1")
    return float(lr)


def _check_model(model) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, not {type(model).__name__}")
    return model


def _check_tensors(data, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    if not (isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data)):
        raise TypeError(f"{what} must be a DataLoader or a pair (inputs, labels) of tensors")
    inputs, labels = data
    if inputs.shape[0] != labels.shape[0]:
        raise ValueError(f"{what} has {inputs.shape[0]} inputs but {labels.shape[0]} labels")
    if inputs.shape[0] == 0:
        raise ValueError(f"{what} is empty")
    return inputs, labels


def _model_device(model: nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")


def _sync(device: torch.device) -> None:
    """Wait for queued accelerator work, so that a clock reading means something."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _check_labels(labels: torch.Tensor, what: str = "labels") -> None:
    """Class-index labels must be one per example: (N, 1) would broadcast against (N,) predictions."""
    if labels.dim() != 1:
        advice = (
            "for one-hot labels pass labels.argmax(1)" if labels.dim() == 2 and labels.shape[1] > 1
            else "flatten them with labels.view(-1)"
        )
        raise ValueError(f"{what} must be a 1-D tensor of class indices, got shape {tuple(labels.shape)}; {advice}")


def _class_indices(outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Float labels shaped like the outputs (one-hot, or class probabilities) as their most likely class."""
    if labels.is_floating_point() and labels.dim() == 2 and labels.shape == outputs.shape:
        return labels.argmax(dim=1)
    return labels


def _check_output(outputs, labels: torch.Tensor) -> None:
    """Fail early, with a clear message, when the model's output cannot fit the labels."""
    if not isinstance(outputs, torch.Tensor):
        raise TypeError(
            f"the model returned a {type(outputs).__name__}, not a tensor; its forward must return "
            "only the (batch, classes) logits"
        )
    if not labels.is_floating_point():  # float labels may be class probabilities, shaped like the logits
        _check_labels(labels)
    if outputs.dim() != 2 or outputs.shape[0] != labels.shape[0]:
        raise ValueError(
            f"the model returned shape {tuple(outputs.shape)} for a batch of {labels.shape[0]} labels; "
            "a classifier must return (batch, classes) logits (did you forget to flatten the images?)"
        )
    if not labels.is_floating_point() and labels.dtype != torch.bool and labels.numel():
        low, high = int(labels.min()), int(labels.max())
        if low < 0:
            raise ValueError(f"a label is {low}; class indices must be 0 or more")
        if high >= outputs.shape[1]:
            raise ValueError(
                f"the model returns {outputs.shape[1]} scores per example but a label is {high}; "
                "the output layer needs one unit per class"
            )


def progress_default() -> bool:
    """Show progress bars interactively, never under CI or when ``FFN_PROGRESS=0``.

    Example:
        >>> import os; os.environ["FFN_PROGRESS"] = "0"; progress_default()
        False
    """
    setting = os.environ.get("FFN_PROGRESS", "").strip().lower()
    if setting in {"0", "false", "no", "off"}:
        return False
    if setting in {"1", "true", "yes", "on"}:
        return True
    if os.environ.get("CI"):
        return False
    return "ipykernel" in sys.modules or sys.stderr.isatty()


# --------------------------------------------------------------------------- batches


def _tensor_batches(
    inputs: torch.Tensor, labels: torch.Tensor, batch_size: int, generator: torch.Generator, device: torch.device
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless shuffled batches gathered from in-memory tensors (drops each epoch's ragged tail).

    ``index_select`` copies whole rows; ``inputs[index]`` gives the same batch through a
    general indexing kernel that is about twice as slow on a CPU (chapter 10b).
    """
    n = inputs.shape[0]
    if batch_size > n:
        raise ValueError(f"batch_size {batch_size} is larger than the {n} training examples")
    while True:
        order = torch.randperm(n, generator=generator).to(device)
        for start in range(0, n - batch_size + 1, batch_size):
            index = order[start : start + batch_size]
            yield inputs.index_select(0, index), labels.index_select(0, index)


def _loader_batches(loader: DataLoader, device: torch.device) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless batches from a DataLoader, moved to ``device``."""
    while True:
        empty = True
        for inputs, labels in loader:
            empty = False
            yield inputs.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        if empty:
            raise ValueError("the training DataLoader yielded no batches")


# --------------------------------------------------------------------------- evaluation


@torch.no_grad()
def accuracy(model: nn.Module, data: Data, *, batch_size: int = 1000, device: Optional[DeviceLike] = None) -> float:
    """Return the percentage of ``data`` that ``model`` classifies correctly.

    ``data`` is a DataLoader or a pair ``(inputs, labels)``. The model is evaluated in
    ``eval()`` mode under ``torch.no_grad()`` and put back in the mode it was in.
    Inputs go to ``device`` (default: where the model's parameters are).

    Example:
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
        >>> 0.0 <= accuracy(model, (torch.rand(50, 1, 28, 28), torch.randint(0, 10, (50,)))) <= 100.0
        True
    """
    _check_model(model)
    batch_size = _positive_int("batch_size", batch_size)
    device = _model_device(model) if device is None else resolve_device(device)
    if isinstance(data, DataLoader):
        batches = ((x.to(device), y.to(device)) for x, y in data)
    else:
        inputs, labels = _check_tensors(data, "data")
        batches = (
            (inputs[i : i + batch_size].to(device), labels[i : i + batch_size].to(device))
            for i in range(0, inputs.shape[0], batch_size)
        )
    was_training = model.training
    model.eval()
    try:
        correct = torch.zeros((), dtype=torch.int64, device=device)
        not_a_number = torch.zeros((), dtype=torch.int64, device=device)
        total = 0
        for x, y in batches:
            outputs = model(x)
            _check_output(outputs, y)
            y = _class_indices(outputs, y)
            _check_labels(y)
            correct += (outputs.argmax(dim=1) == y).sum()
            not_a_number += outputs.isnan().any(dim=1).sum()
            total += y.shape[0]
    finally:
        model.train(was_training)
    if total == 0:
        raise ValueError("data holds no examples")
    if not_a_number.item():
        raise ValueError(
            f"the model returned NaN for {not_a_number.item()} of the {total} examples, so its accuracy "
            "means nothing; its weights are probably NaN (train again with a lower learning rate)"
        )
    return 100.0 * correct.item() / total


# --------------------------------------------------------------------------- training

#: How often (in iterations) train looks for a NaN or infinite loss; each look waits for the device.
FINITE_CHECK_EVERY = 50


#: The most iterations :func:`train` runs in one call (it keeps every loss: 4 bytes each).
MAX_ITERATIONS = 10**8


def _check_finite(losses: torch.Tensor, start: int, stop: int) -> None:
    """Stop at the first NaN or infinite loss among iterations start+1..stop, naming it."""
    bad = (~torch.isfinite(losses[start:stop])).nonzero()
    if bad.numel():
        it = start + int(bad[0]) + 1
        raise FloatingPointError(
            f"the loss became {losses[it - 1].item()} at iteration {it}; training stopped at iteration {stop}, "
            "so the weights may be NaN too (the History so far is the exception's .history); lower the "
            "learning rate or look for NaN or infinite values in the inputs"
        )


def _check_optimizer(optimizer: torch.optim.Optimizer, model: nn.Module) -> None:
    own = {id(p) for p in model.parameters()}
    if not any(id(p) in own for group in optimizer.param_groups for p in group["params"]):
        raise ValueError(
            "the optimizer holds none of the model's parameters, so training would change nothing; "
            "create it from this model, e.g. torch.optim.SGD(model.parameters(), lr=0.1)"
        )


@torch.no_grad()
def _check_test_data(model: nn.Module, data: Data, device: torch.device) -> None:
    """Try the model on the first test examples, so a bad test set fails before training, not after."""
    if isinstance(data, DataLoader):
        first = next(iter(data), None)
        if first is None:
            raise ValueError("test_data is a DataLoader that yields no batches; give it a non-empty dataset")
        x, y = first
    else:
        x, y = data[0][:2], data[1][:2]
    was_training = model.training
    model.eval()
    try:
        outputs = model(x.to(device))
    except RuntimeError as exc:
        raise ValueError(
            f"the model cannot be applied to test_data ({exc}); give it inputs shaped like the training inputs"
        ) from exc
    finally:
        model.train(was_training)
    y = _class_indices(outputs, y.to(device))
    _check_output(outputs, y)
    _check_labels(y, "test_data's labels")


def train(
    model: nn.Module,
    train_data: Data,
    test_data: Optional[Data] = None,
    *,
    iterations: int = 3000,
    batch_size: Optional[int] = None,
    lr: Optional[float] = None,
    optimizer: Optional[torch.optim.Optimizer] = None,
    scheduler=None,
    loss_fn: Optional[Callable] = None,
    eval_every: Optional[int] = 500,
    train_eval: bool = False,
    device: Optional[DeviceLike] = None,
    seed: Optional[int] = 0,
    progress: Optional[bool] = None,
) -> History:
    """Train ``model`` for ``iterations`` mini-batch steps and return its :class:`History`.

    Each iteration: zero the gradients, forward, loss (plus ``model.penalty()`` when the
    model has one), backward, optimizer step (then ``scheduler.step()`` if given).

    - ``train_data``: a DataLoader (its own batch size is used) or a pair of tensors
      ``(inputs, labels)``, shuffled every epoch with a generator seeded by ``seed``,
      in batches of ``batch_size`` (default 100).
    - ``test_data``: evaluated every ``eval_every`` iterations and at the end; with
      ``train_eval=True`` the training data is evaluated too.
    - ``optimizer``: default ``SGD(model.parameters(), lr=lr)`` with ``lr`` default 0.1
      (give either ``lr`` or ``optimizer``); ``scheduler`` must be built on that optimizer;
      ``loss_fn``: default ``nn.CrossEntropyLoss()``.
    - ``device``: default where the model is; the model and every batch are moved there.
    - ``seed``: also seeds torch's global generator (dropout, a DataLoader's shuffling);
      ``None`` leaves all randomness alone.
    - ``progress``: a tqdm bar; default on only in an interactive session (see
      :func:`progress_default`).

    Mistakes fail fast: the arguments and the test set are checked before training
    starts, and a NaN or infinite loss stops training (``FloatingPointError``) within
    ``FINITE_CHECK_EVERY`` iterations, naming the iteration where it first appeared and
    the one where training stopped. When training stops early (that error, or Ctrl-C),
    the exception's ``history`` holds the :class:`History` so far and the model is put
    back in the mode (train or eval) it was in.
    NumPy numbers (``np.int64``, ``np.float32``) are accepted wherever numbers are.

    Example:
        >>> x, y = torch.rand(200, 1, 28, 28), torch.randint(0, 10, (200,))
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
        >>> history = train(model, (x, y), (x, y), iterations=20, batch_size=50, eval_every=10, progress=False)
        >>> history.iterations, len(history.losses)
        ([10, 20], 20)
    """
    _check_model(model)
    iterations = _positive_int("iterations", iterations)
    if iterations > MAX_ITERATIONS:
        raise ValueError(f"iterations must be at most {MAX_ITERATIONS:,}, got {iterations:,}")
    if eval_every is not None:
        eval_every = _positive_int("eval_every", eval_every)
    if optimizer is not None and lr is not None:
        raise ValueError(
            "lr is only used by the default optimizer; set the learning rate on the optimizer you pass "
            "(torch.optim.SGD(model.parameters(), lr=...)) and leave lr out"
        )
    lr = _learning_rate(0.1 if lr is None else lr)
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"seed must be an int or None, not {type(seed).__name__}")
        seed = int(seed)
        if not 0 <= seed < 2**32:
            raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    if optimizer is not None:
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, not {type(optimizer).__name__}")
        _check_optimizer(optimizer, model)
    if scheduler is not None:
        if not callable(getattr(scheduler, "step", None)):
            raise TypeError(
                f"scheduler must be a learning-rate scheduler such as torch.optim.lr_scheduler.StepLR, "
                f"not {type(scheduler).__name__}"
            )
        if optimizer is None or getattr(scheduler, "optimizer", optimizer) is not optimizer:
            raise ValueError(
                "the scheduler must be built on the optimizer that trains the model: pass that optimizer "
                "as optimizer= too"
            )
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, such as nn.CrossEntropyLoss(), not {type(loss_fn).__name__}")
    penalty = getattr(model, "penalty", None)
    if penalty is not None and not callable(penalty):
        raise TypeError(
            f"model.penalty is a {type(penalty).__name__}; train adds model.penalty() to the loss, so it "
            "must be a method returning the penalty term"
        )
    device = _model_device(model) if device is None else resolve_device(device)
    model.to(device)
    if test_data is not None:
        if not isinstance(test_data, DataLoader):
            test_data = _check_tensors(test_data, "test_data")
        _check_test_data(model, test_data, device)  # before seeding: a shuffling DataLoader draws from torch's RNG
    if seed is not None:
        torch.manual_seed(seed)

    if isinstance(train_data, DataLoader):
        if batch_size is not None and batch_size != train_data.batch_size:
            raise ValueError(
                f"batch_size={batch_size} conflicts with the DataLoader's batch size {train_data.batch_size}; "
                "leave batch_size out when passing a DataLoader"
            )
        batches = _loader_batches(train_data, device)
        train_eval_data = train_data
    else:
        batch_size = _positive_int("batch_size", 100 if batch_size is None else batch_size)
        inputs, labels = _check_tensors(train_data, "train_data")
        inputs, labels = inputs.to(device), labels.to(device)
        generator = torch.Generator().manual_seed(0 if seed is None else seed)
        if seed is None:
            generator.seed()
        batches = _tensor_batches(inputs, labels, batch_size, generator, device)
        train_eval_data = (inputs, labels)

    optimizer = optimizer if optimizer is not None else torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()
    show = progress_default() if progress is None else bool(progress)

    history = History()
    losses = torch.empty(iterations, device=device)
    steps = range(1, iterations + 1)
    if show:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc=type(model).__name__, leave=False)

    was_training = model.training
    model.train()
    _sync(device)
    start = time.perf_counter()
    checked = 0  # iterations whose loss is known to be finite
    done = 0  # iterations whose loss is recorded
    try:
        for it in steps:
            x, y = next(batches)
            optimizer.zero_grad(set_to_none=True)
            outputs = model(x)
            if it == 1:
                _check_output(outputs, y)
            loss = loss_fn(outputs, y)
            if penalty is not None:
                loss = loss + penalty()
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            losses[it - 1] = loss.detach()
            done = it

            evaluate = (eval_every is not None and it % eval_every == 0) or it == iterations
            if evaluate or it % FINITE_CHECK_EVERY == 0:
                _check_finite(losses, checked, it)
                checked = it
            if evaluate and (test_data is not None or train_eval):
                _sync(device)
                eval_start = time.perf_counter()
                history.iterations.append(it)
                if test_data is not None:
                    history.test_accuracies.append(accuracy(model, test_data, device=device))
                if train_eval:
                    history.train_accuracies.append(accuracy(model, train_eval_data, device=device))
                now = time.perf_counter()
                history.eval_seconds += now - eval_start
                history.elapsed.append(now - start)
                if show:
                    steps.set_postfix(loss=f"{losses[it - 1].item():.3f}", acc=history.test_accuracies[-1:])
    except BaseException as exc:  # a NaN loss, Ctrl-C, a bug in the model: keep what was learnt so far
        model.train(was_training)
        history.seconds = time.perf_counter() - start
        history.losses = losses[:done].tolist()
        exc.history = history
        raise
    _sync(device)
    history.seconds = time.perf_counter() - start
    history.losses = losses.tolist()
    return history

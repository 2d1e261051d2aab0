"""The floor of a training run: its FLOPs, the CPU's matrix-multiply throughput, their ratio.

One definition for the whole book (chapter 10, chapter 12 and ``python -m ffn_helpers.bench``):

- :func:`step_flops` counts the floating-point operations of one real training step
  (forward, cross-entropy loss, backward; no optimizer update) with PyTorch's own
  ``torch.utils.flop_counter.FlopCounterMode``. It counts the matrix products (and
  convolutions), which is where nearly all the arithmetic of a feedforward network is;
  element-wise work (ReLU, softmax, the update) is left out.
- :func:`matmul_flops_per_second` measures how many FLOPs per second this machine reaches
  on a large float32 matrix product, the best case for its math library.
- :func:`floor_seconds` divides the first by the second: the time a run would take if every
  product ran at that best-case speed and nothing else cost anything. Real runs are slower;
  how much slower is the interesting number.

It also holds chapter 12's training step written without autograd (:func:`hand_step`,
:func:`train_by_hand`), which the benchmark times beside autograd and the floor.
"""

from __future__ import annotations

import math
import numbers
import time
from typing import Callable, Optional

import torch
from torch import nn

from .training import _positive_int  # one argument check for the package (NumPy integers too)

__all__ = ["floor_seconds", "hand_step", "matmul_flops_per_second", "step_flops", "train_by_hand"]


def _positive_number(name: str, value: object) -> float:
    """``value`` as a positive finite float; NumPy numbers are fine, bools are not."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond float's range, such as 10**400
        number = math.inf
    if not (number > 0 and math.isfinite(number)):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return number


def step_flops(
    model: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    loss_fn: Optional[Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = None,
) -> int:
    """Return the FLOPs of one training step of ``model`` on the batch ``(inputs, labels)``.

    The step is run for real under ``FlopCounterMode``: forward, loss (default
    ``nn.functional.cross_entropy``), and the backward pass that ``loss.backward()`` would
    do, that is the gradients of every parameter that requires one, and of ``inputs`` only
    if ``inputs.requires_grad``. So the first layer's gradient with respect to the images
    is *not* counted for ordinary data, exactly as autograd skips it. The gradients are
    computed with ``torch.autograd.grad`` and thrown away: the model's ``.grad`` fields and
    its weights are left untouched. No optimizer update is counted.

    A ``Linear(n, m)`` layer on a batch of ``B`` costs ``2·B·n·m`` FLOPs forward, as much
    again for its weight gradient, and as much again for its input gradient when one is
    needed. Model E (784-100-100-100-10) on a batch of 100 costs 43,960,000 FLOPs.

    Example:
        >>> model = nn.Linear(784, 10)
        >>> step_flops(model, torch.rand(100, 784), torch.randint(0, 10, (100,)))  # 2 products
        3136000
    """
    from torch.utils.flop_counter import FlopCounterMode

    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, not {type(model).__name__}")
    for name, value in (("inputs", inputs), ("labels", labels)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a tensor, not {type(value).__name__}")
    if inputs.dim() == 0 or labels.dim() == 0 or inputs.shape[0] != labels.shape[0]:
        raise ValueError(
            f"inputs and labels must hold the same number of examples, got shapes "
            f"{tuple(inputs.shape)} and {tuple(labels.shape)}"
        )
    if inputs.shape[0] == 0:
        raise ValueError("the batch is empty")
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, not {type(loss_fn).__name__}")
    loss_fn = nn.functional.cross_entropy if loss_fn is None else loss_fn
    wanted = [p for p in model.parameters() if p.requires_grad]
    if inputs.requires_grad:
        wanted.append(inputs)
    if not wanted:
        raise ValueError("nothing requires a gradient: the model has no trainable parameters")

    saved = [t.grad for t in wanted]  # backward() accumulates into .grad: put it back afterwards
    # A model in train mode changes its buffers (BatchNorm's running statistics) and draws
    # from the global generator (Dropout): both are put back, so counting changes nothing.
    buffers = [(b, b.clone()) for b in model.buffers()]
    rng = torch.random.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    counter = FlopCounterMode(display=False)
    try:
        for t in wanted:
            t.grad = None
        with torch.enable_grad(), counter:  # also inside a caller's torch.no_grad()
            loss = loss_fn(model(inputs), labels)
            if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
                raise ValueError("loss_fn must return a single number (a tensor with one element)")
            loss.backward(inputs=wanted)
    finally:
        for t, grad in zip(wanted, saved):
            t.grad = grad
        with torch.no_grad():
            for buffer, value in buffers:
                buffer.copy_(value)
        torch.random.set_rng_state(rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)
    return int(counter.get_total_flops())


def matmul_flops_per_second(n: int = 2048, repeat: int = 5, threads: Optional[int] = None) -> float:
    """Measure this machine's float32 matrix-multiply throughput, in FLOPs per second.

    Times ``repeat`` rounds of products of two random ``n × n`` float32 matrices (each
    round at least one product and about 0.1 s of work, after one warm-up product) and returns the *best* round's
    ``2·n³`` FLOPs per product divided by its seconds.

    Why this size and this statistic: the floor is meant as a lower bound on a run's time,
    so it should use the highest throughput the hardware really reaches. A large square
    product (2048 × 2048, as in chapter 10) is the best case for the CPU's math library; Model E's own
    products are smaller and thinner and run slower (chapter 10 measures them), which is
    part of the gap to the floor, not part of the floor. Other programs on the machine can
    only slow a round down, never speed it up, so the fastest round is the best estimate of
    what the hardware can do.

    ``threads`` runs the measurement with that many threads (``torch.set_num_threads``)
    and restores the previous setting afterwards; ``None`` uses the current setting, which
    is what a training run in the same process uses.

    Example:
        >>> flops = matmul_flops_per_second(n=256, repeat=3)
        >>> flops > 1e8  # any machine does more than 0.1 GFLOP/s
        True
    """
    _positive_int("n", n)
    _positive_int("repeat", repeat)
    if threads is not None:
        _positive_int("threads", threads)
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        generator = torch.Generator().manual_seed(0)
        a = torch.randn(n, n, generator=generator)
        b = torch.randn(n, n, generator=generator)
        out = torch.empty(n, n)
        flops = 2.0 * n**3
        start = time.perf_counter()
        torch.mm(a, b, out=out)  # warm-up, and a first estimate of one product's duration
        once = max(time.perf_counter() - start, 1e-7)
        per_round = max(1, min(1000, int(0.1 / once)))
        rates = []
        for _ in range(repeat):
            start = time.perf_counter()
            for _ in range(per_round):
                torch.mm(a, b, out=out)
            rates.append(flops * per_round / (time.perf_counter() - start))
    finally:
        torch.set_num_threads(previous)
    return max(rates)


def floor_seconds(flops_per_step: float, iterations: int, flops_per_second: float) -> float:
    """Return the floor of a run: ``flops_per_step × iterations / flops_per_second`` seconds.

    Example:
        >>> floor_seconds(43_960_000, 3000, 200e9)  # Model E, 3000 steps, at 200 GFLOP/s
        0.6594
    """
    flops_per_step = _positive_number("flops_per_step", flops_per_step)
    iterations = _positive_int("iterations", iterations)
    flops_per_second = _positive_number("flops_per_second", flops_per_second)
    seconds = flops_per_step * iterations / flops_per_second
    if not math.isfinite(seconds):
        raise ValueError(
            f"the floor of {flops_per_step:g} FLOPs x {iterations} iterations at {flops_per_second:g} FLOP/s "
            "is too large to represent; check the units of the arguments"
        )
    return seconds


# --------------------------------------------------------------------------- a training step by hand


def hand_step(
    x: torch.Tensor,
    onehot: torch.Tensor,
    weights: list[torch.Tensor],
    biases: list[torch.Tensor],
    outputs: list[torch.Tensor],
    grads: list[torch.Tensor],
    lr: float,
) -> None:
    """One SGD step of a Linear/ReLU stack with cross-entropy, in place, without autograd.

    Chapter 12 derives it: ``x`` is a batch (B, n) and ``onehot`` its one-hot labels;
    ``weights``/``biases`` are the layers' parameters (updated in place); ``outputs``
    (each layer's output, B × m) and ``grads`` (the hidden layers' gradients) are buffers
    that :func:`train_by_hand` allocates once. ``delta`` holds B times dL/dz, so the
    updates are scaled by ``lr / B``; each weight update is fused into its gradient product
    (``W.addmm_(delta.T, a, alpha=-lr / B)``) after ``delta @ W`` used the old weights.

    Example:
        >>> W, b = [torch.zeros(3, 4)], [torch.zeros(3)]
        >>> hand_step(torch.ones(2, 4), torch.eye(3)[:2], W, b, [torch.empty(2, 3)], [], lr=0.3)
        >>> [round(v, 4) for v in b[0].tolist()]
        [0.05, 0.05, -0.1]
    """
    lr = _positive_number("lr", lr)
    for layer, (W, b, z) in enumerate(zip(weights, biases, outputs)):
        torch.addmm(b, x if layer == 0 else outputs[layer - 1], W.T, out=z)   # z = a W^T + b
        if layer < len(weights) - 1:
            z.relu_()                                     # a = relu(z), in place
    delta = torch.softmax(outputs[-1], dim=1).sub_(onehot)  # B times dL/dz4
    for layer in reversed(range(len(weights))):
        below = x if layer == 0 else outputs[layer - 1]
        if layer > 0:                                     # gradient for the layer below, with the old W
            grad_below = torch.mm(delta, weights[layer], out=grads[layer - 1])
            grad_below.mul_(below.sign())                 # ReLU's mask
        weights[layer].addmm_(delta.T, below, alpha=-lr / x.shape[0])   # W -= lr * dL/dW
        biases[layer].sub_(delta.sum(dim=0), alpha=lr / x.shape[0])     # b -= lr * dL/db
        if layer > 0:
            delta = grad_below


def _hand_trainable_linears(model: nn.Module) -> list[nn.Linear]:
    """The Linear layers of ``model`` if it is exactly Flatten, Linear, (ReLU, Linear)*; else ValueError."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, not {type(model).__name__}")
    layers = list(model.children()) if isinstance(model, nn.Sequential) else []
    shape_ok = (
        type(model).forward is nn.Sequential.forward  # a Sequential whose forward is the plain chain
        and len(layers) >= 2 and len(layers) % 2 == 0
        and type(layers[0]) is nn.Flatten and (layers[0].start_dim, layers[0].end_dim) == (1, -1)
        and all(type(layer) is nn.Linear and layer.bias is not None for layer in layers[1::2])
        and all(type(layer) is nn.ReLU for layer in layers[2::2])
    )
    if not shape_ok:
        found = ", ".join(type(layer).__name__ for layer in layers) if layers else type(model).__name__
        raise ValueError(
            "train_by_hand needs an nn.Sequential of exactly Flatten, Linear, then (ReLU, Linear) "
            f"any number of times, every Linear with a bias; got {found}"
        )
    if not all(p.requires_grad for p in model.parameters()):
        raise ValueError(
            "train_by_hand updates every parameter, but some have requires_grad=False; "
            "train a model without frozen layers, or use ffn_helpers.train"
        )
    return layers[1::2]


def train_by_hand(
    model: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    iterations: int = 3000,
    batch_size: int = 100,
    lr: float = 0.1,
    seed: int = 0,
) -> nn.Module:
    """Train ``model`` (Flatten, then Linear layers with ReLU between them) with :func:`hand_step`.

    The chapter 12 training loop, without autograd: every epoch a random order of the
    examples from a generator seeded with ``seed`` (the same batches as
    :func:`ffn_helpers.train` with the same seed), each batch copied with
    ``torch.index_select`` into a buffer allocated once, the labels made one-hot once.
    The model's parameters are updated in place; the model is returned.

    Example:
        >>> from ffn_helpers.models import feedforward
        >>> x, y = torch.rand(200, 1, 28, 28), torch.randint(0, 10, (200,))
        >>> train_by_hand(feedforward(), x, y, iterations=5, batch_size=50)[1].weight.shape
        torch.Size([100, 784])
    """
    linears = _hand_trainable_linears(model)
    if not isinstance(inputs, torch.Tensor) or not isinstance(labels, torch.Tensor):
        raise TypeError("inputs and labels must be tensors")
    if inputs.dim() == 0 or inputs.shape[0] != labels.shape[0] or labels.dim() != 1:
        raise ValueError(f"got inputs of shape {tuple(inputs.shape)} for labels of shape {tuple(labels.shape)}")
    iterations = _positive_int("iterations", iterations)
    batch_size = _positive_int("batch_size", batch_size)
    lr = _positive_number("lr", lr)
    if batch_size > inputs.shape[0]:
        raise ValueError(f"batch_size {batch_size} is larger than the {inputs.shape[0]} examples")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, not {type(seed).__name__}")
    if not 0 <= seed < 2**63:
        raise ValueError(f"seed must be in [0, 2**63), got {seed}")
    features, classes = linears[0].in_features, linears[-1].out_features
    if inputs[0].numel() != features:
        raise ValueError(
            f"each input has {inputs[0].numel()} features but the first Linear layer takes {features}"
        )
    if labels.dtype.is_floating_point or labels.dtype.is_complex or labels.dtype == torch.bool:
        raise TypeError(f"labels must be integer class indices, not {labels.dtype}")
    if labels.numel() and not (0 <= int(labels.min()) and int(labels.max()) < classes):
        raise ValueError(
            f"a label is {int(labels.max()) if int(labels.min()) >= 0 else int(labels.min())}, but the last "
            f"Linear layer has {classes} outputs: labels must be in [0, {classes})"
        )
    if inputs.is_floating_point() and inputs.numel():
        # NaN and infinities show in the minimum or maximum. torch.isfinite(inputs) would
        # build temporaries several times the size of the data, and on the book's 2-core
        # machine the training loop ran 12 % slower after them (cause not found).
        finite = all(math.isfinite(v) for v in torch.aminmax(inputs))
    else:
        finite = bool(torch.isfinite(inputs).all())  # integers (always finite), complex numbers
    if not finite:
        raise ValueError("the inputs hold NaN or infinite values; the weights would become NaN")
    labels, seed = labels.to(torch.int64), int(seed)

    weights = [layer.weight.detach() for layer in linears]
    biases = [layer.bias.detach() for layer in linears]
    n = inputs.shape[0]
    flat = inputs.reshape(n, -1)
    onehots = nn.functional.one_hot(labels, weights[-1].shape[0]).to(flat.dtype)
    x = flat.new_empty(batch_size, flat.shape[1])
    onehot = flat.new_empty(batch_size, onehots.shape[1])
    outputs = [flat.new_empty(batch_size, W.shape[0]) for W in weights]
    grads = [flat.new_empty(batch_size, W.shape[0]) for W in weights[:-1]]
    generator = torch.Generator().manual_seed(seed)
    done = 0
    while done < iterations:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n - batch_size + 1, batch_size):
            if done == iterations:
                break
            index = order[start : start + batch_size]
            torch.index_select(flat, 0, index, out=x)
            torch.index_select(onehots, 0, index, out=onehot)
            hand_step(x, onehot, weights, biases, outputs, grads, lr)
            done += 1
    return model

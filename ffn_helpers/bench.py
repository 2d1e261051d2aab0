"""Benchmark: the source documents' MNIST pipeline against the book's fast path, and the floor.

Both sides train the same network (Model E, 784-100-100-100-10 with ReLU, from the same
initial weights) with the same hyper-parameters (SGD, learning rate 0.1, batches of 100)
for the same number of iterations, and evaluate on the test set at the same iterations:

- the *source pipeline* reads images one at a time through ``torchvision``'s ``MNIST``
  with the ``ToTensor`` transform and a ``DataLoader`` (with the source's bugs fixed: no
  ``requires_grad_()`` on the inputs, evaluation in ``eval()`` mode under ``no_grad()``);
- the *fast path* holds MNIST as two tensors (:func:`ffn_helpers.mnist_tensors`) and
  slices whole batches out of them (:func:`ffn_helpers.train`).

Beside them it times chapter 12's *hand-written step* (the same batches as the fast path,
gradients written out without autograd: :func:`ffn_helpers.perf.train_by_hand`) and
computes the *floor*, the run's matrix-product FLOPs (:func:`ffn_helpers.step_flops`)
at the machine's measured matrix-multiply throughput
(:func:`ffn_helpers.matmul_flops_per_second`), as chapters 10 and 12 do.

Each side is run ``--repeat`` times (default 3), alternating, and summarized by its
median with the minimum and maximum: on a busy machine one run can be far off.

Reading the files from disk happens before either clock starts. Run it as a command::

    python -m ffn_helpers.bench --quick              # about 600 iterations, well under a minute
    python -m ffn_helpers.bench                      # the full 3000 iterations
    python -m ffn_helpers.bench --root notebooks/data --repeat 5

The last line printed is the comparison of the medians, for example
``source pipeline 41.2 s, fast path 3.1 s, speed-up 13.3x (medians of 3 runs)``. The numbers
depend on the machine and on what else runs on it: a benchmark prints, it never fails on a
slow run.
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from .data import MNISTUnavailableError, load_mnist, mnist_tensors
from .devices import set_seed
from .models import feedforward
from .perf import floor_seconds, matmul_flops_per_second, step_flops, train_by_hand
from .training import _positive_int, accuracy, train

#: The source's setting: iterations, evaluation period, batch size, learning rate.
FULL_ITERATIONS = 3000
QUICK_ITERATIONS = 600
EVAL_EVERY = 500
QUICK_EVAL_EVERY = 300
BATCH_SIZE = 100
LEARNING_RATE = 0.1
#: How many times each side runs by default.
REPEAT = 3


@dataclass
class RunResult:
    """Timings (seconds) and test accuracies (percent) of one benchmarked training run.

    ``seconds`` is the whole run, evaluation included; ``data_seconds`` the part spent
    waiting for training batches (``None`` when it was not measured separately),
    ``step_seconds`` the forward, backward and optimizer steps, ``eval_seconds`` the
    evaluations. ``accuracies`` holds the test accuracy at each of ``evaluated_at``.
    """

    name: str
    iterations: int
    seconds: float
    step_seconds: float
    eval_seconds: float
    data_seconds: Optional[float] = None
    evaluated_at: list[int] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        """Test accuracy (percent) at the last evaluation."""
        if not self.accuracies:
            raise ValueError(f"run {self.name!r} was never evaluated")
        return self.accuracies[-1]

    @property
    def ms_per_iteration(self) -> float:
        """Milliseconds per training iteration, evaluation excluded."""
        return 1000.0 * (self.seconds - self.eval_seconds) / self.iterations


_check_positive = _positive_int  # the package's one argument check (NumPy integers too)


def _loader_accuracy(model: nn.Module, loader: DataLoader) -> float:
    """Percentage of the loader's examples that ``model`` classifies correctly."""
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for images, labels in loader:
            predicted = model(images).argmax(dim=1)
            correct += int((predicted == labels).sum())
            total += labels.shape[0]
    model.train()
    return 100.0 * correct / total


def source_pipeline(
    train_set: Dataset,
    test_set: Dataset,
    *,
    iterations: int = FULL_ITERATIONS,
    eval_every: int = EVAL_EVERY,
    batch_size: int = BATCH_SIZE,
    lr: float = LEARNING_RATE,
    seed: int = 0,
) -> RunResult:
    """Train Model E the way the source documents do: a ``DataLoader`` over image datasets.

    ``train_set`` and ``test_set`` yield ``(image tensor, label)`` pairs one at a time
    (for MNIST: ``load_mnist(..., transform=ToTensor())``). The loop reshuffles every
    epoch until ``iterations`` steps are done and evaluates on the test set every
    ``eval_every`` iterations and at the end. The clock is split into waiting for
    batches, training steps and evaluation.

    Example:
        >>> from torch.utils.data import TensorDataset
        >>> data = TensorDataset(torch.rand(200, 1, 28, 28), torch.randint(0, 10, (200,)))
        >>> result = source_pipeline(data, data, iterations=4, eval_every=2, batch_size=50)
        >>> result.evaluated_at, result.iterations
        ([2, 4], 4)
    """
    _check_positive("iterations", iterations)
    _check_positive("eval_every", eval_every)
    _check_positive("batch_size", batch_size)
    torch.manual_seed(seed)  # the DataLoader's shuffling
    train_loader = DataLoader(train_set, batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=batch_size, shuffle=False)
    set_seed(seed)
    model = feedforward()  # Model E, it flattens the images itself
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    result = RunResult("source pipeline", iterations, 0.0, 0.0, 0.0, data_seconds=0.0)

    start = time.perf_counter()
    done = 0
    while done < iterations:
        batches, in_epoch = iter(train_loader), 0
        while done < iterations:
            t0 = time.perf_counter()
            try:
                images, labels = next(batches)
            except StopIteration:
                break  # end of the epoch: reshuffle
            t1 = time.perf_counter()
            optimizer.zero_grad()
            loss = loss_fn(model(images), labels)
            loss.backward()
            optimizer.step()
            t2 = time.perf_counter()
            result.data_seconds += t1 - t0
            result.step_seconds += t2 - t1
            done, in_epoch = done + 1, in_epoch + 1
            if done % eval_every == 0 or done == iterations:
                result.accuracies.append(_loader_accuracy(model, test_loader))
                result.evaluated_at.append(done)
                result.eval_seconds += time.perf_counter() - t2
        if in_epoch == 0:
            raise ValueError("the training set yields no batches")
    result.seconds = time.perf_counter() - start
    return result


def fast_path(
    train_data: tuple[torch.Tensor, torch.Tensor],
    test_data: tuple[torch.Tensor, torch.Tensor],
    *,
    iterations: int = FULL_ITERATIONS,
    eval_every: int = EVAL_EVERY,
    batch_size: int = BATCH_SIZE,
    lr: float = LEARNING_RATE,
    seed: int = 0,
) -> RunResult:
    """Train the same Model E on in-memory tensors with :func:`ffn_helpers.train`.

    Example:
        >>> x, y = torch.rand(200, 1, 28, 28), torch.randint(0, 10, (200,))
        >>> result = fast_path((x, y), (x, y), iterations=4, eval_every=2, batch_size=50)
        >>> result.evaluated_at, result.name
        ([2, 4], 'fast path')
    """
    _check_positive("iterations", iterations)
    _check_positive("eval_every", eval_every)
    set_seed(seed)
    model = feedforward()
    history = train(
        model, train_data, test_data, iterations=iterations, batch_size=batch_size, lr=lr,
        eval_every=eval_every, seed=seed, progress=False,
    )
    return RunResult(
        "fast path", iterations, history.seconds, history.train_seconds, history.eval_seconds,
        evaluated_at=list(history.iterations), accuracies=list(history.test_accuracies),
    )


def hand_path(
    train_data: tuple[torch.Tensor, torch.Tensor],
    test_data: tuple[torch.Tensor, torch.Tensor],
    *,
    iterations: int = FULL_ITERATIONS,
    batch_size: int = BATCH_SIZE,
    lr: float = LEARNING_RATE,
    seed: int = 0,
) -> RunResult:
    """Train the same Model E with chapter 12's hand-written step (no autograd), timed.

    The loop is :func:`ffn_helpers.perf.train_by_hand`: the same batches as the fast path,
    the gradients written out by hand, each weight update fused into its gradient product.
    Only the training is timed; the test accuracy is measured once at the end, off the clock.

    Example:
        >>> x, y = torch.rand(200, 1, 28, 28), torch.randint(0, 10, (200,))
        >>> result = hand_path((x, y), (x, y), iterations=4, batch_size=50)
        >>> result.name, result.evaluated_at, result.eval_seconds
        ('hand-written step', [4], 0.0)
    """
    _check_positive("iterations", iterations)
    set_seed(seed)
    model = feedforward()
    start = time.perf_counter()
    train_by_hand(model, *train_data, iterations=iterations, batch_size=batch_size, lr=lr, seed=seed)
    seconds = time.perf_counter() - start
    return RunResult("hand-written step", iterations, seconds, seconds, 0.0,
                     evaluated_at=[iterations], accuracies=[accuracy(model, test_data)])


def spread(runs: Sequence[RunResult], attribute: str = "seconds") -> tuple[float, float, float]:
    """Median, minimum and maximum of one timing (``"seconds"``, ``"step_seconds"``...) over runs.

    Example:
        >>> spread([RunResult("x", 1, s, s, 0.0) for s in (3.0, 1.0, 2.0)])
        (2.0, 1.0, 3.0)
    """
    if not runs:
        raise ValueError("no runs to summarize")
    values = [getattr(run, attribute) for run in runs]
    return statistics.median(values), min(values), max(values)


@dataclass
class Comparison:
    """Every run of the benchmark, and what one run's floor is.

    ``source``, ``fast`` and ``hand`` hold one :class:`RunResult` per repetition;
    ``flops_per_step`` is :func:`ffn_helpers.step_flops` of Model E on one batch and
    ``flops_per_second`` the best of the matrix-multiply throughputs measured before,
    between and after the runs (see :func:`peak_flops_per_second`).
    """

    source: list[RunResult]
    fast: list[RunResult]
    hand: list[RunResult]
    flops_per_step: int
    flops_per_second: float

    @property
    def floor_seconds(self) -> float:
        """The floor of one run: its FLOPs at the measured throughput."""
        return floor_seconds(self.flops_per_step, self.source[0].iterations, self.flops_per_second)


def summary_line(source, fast) -> str:
    """The benchmark's last line: both times and their ratio.

    ``source`` and ``fast`` are one :class:`RunResult` each, or lists of them: then the
    line compares their median times and says so.

    Example:
        >>> a = RunResult("source pipeline", 10, 41.2, 0.0, 0.0)
        >>> b = RunResult("fast path", 10, 3.1, 0.0, 0.0)
        >>> summary_line(a, b)
        'source pipeline 41.2 s, fast path 3.1 s, speed-up 13.3x'
        >>> summary_line([a, a, a], [b, b, b])
        'source pipeline 41.2 s, fast path 3.1 s, speed-up 13.3x (medians of 3 runs)'
    """
    suffix = ""
    if isinstance(source, RunResult) and isinstance(fast, RunResult):
        source_s, fast_s = source.seconds, fast.seconds
    else:
        source_s, fast_s = spread(source)[0], spread(fast)[0]
        counts = sorted({len(source), len(fast)})
        suffix = f" (medians of {' and '.join(map(str, counts))} run{'s' if counts[-1] > 1 else ''})"
    if fast_s <= 0:
        raise ValueError("the fast path's time must be positive")
    return f"source pipeline {source_s:.1f} s, fast path {fast_s:.1f} s, speed-up {source_s / fast_s:.1f}x{suffix}"


#: Matrix sizes at which the peak throughput is measured (the best one counts).
PEAK_SIZES = (1024, 2048)


def peak_flops_per_second() -> float:
    """The best float32 matrix-multiply throughput over :data:`PEAK_SIZES`, in FLOPs per second.

    A floor must be a lower bound on a run's time, so its throughput is the highest this
    machine reaches: other programs can only slow a measurement down, never speed it up.

    Example:
        >>> peak_flops_per_second() > 1e8  # doctest: +SKIP
        True
    """
    return max(matmul_flops_per_second(n=n, repeat=3) for n in PEAK_SIZES)


def compare(
    root: str = "data",
    *,
    iterations: int = FULL_ITERATIONS,
    eval_every: int = EVAL_EVERY,
    seed: int = 0,
    repeat: int = REPEAT,
) -> Comparison:
    """Run the source pipeline, the fast path and the hand-written step ``repeat`` times each, then the floor.

    The three alternate (source, fast, hand, source, ...), so that a busy spell on the
    machine does not fall on one side only. The floor's throughput is measured before the
    first run, after each round and after the last, in this process with its current
    number of threads, and the best measurement counts.

    Example:
        >>> result = compare("data", iterations=600, eval_every=300)  # doctest: +SKIP
        >>> spread(result.source)[0] / spread(result.fast)[0] > 1  # doctest: +SKIP
        True
    """
    from torchvision.transforms import ToTensor

    _check_positive("repeat", repeat)
    train_set = load_mnist(root, train=True, transform=ToTensor())
    test_set = load_mnist(root, train=False, transform=ToTensor())
    train_tensors = mnist_tensors(root, train=True)
    test_tensors = mnist_tensors(root, train=False)
    options = dict(iterations=iterations, eval_every=eval_every, seed=seed)
    result = Comparison([], [], [], 0, 0.0)
    peaks = [peak_flops_per_second()]
    for _ in range(repeat):
        result.source.append(source_pipeline(train_set, test_set, **options))
        result.fast.append(fast_path(train_tensors, test_tensors, **options))
        result.hand.append(hand_path(train_tensors, test_tensors, iterations=iterations, seed=seed))
        peaks.append(peak_flops_per_second())
    batch = train_tensors[0][:BATCH_SIZE], train_tensors[1][:BATCH_SIZE]
    result.flops_per_step = step_flops(feedforward(), *batch)
    result.flops_per_second = max(peaks)
    return result


def report_lines(result: Comparison) -> list[str]:
    """The lines :func:`main` prints for a comparison, the ratio of the medians last.

    Example:
        >>> runs = lambda name, s: [RunResult(name, 10, s, s * 0.8, s * 0.1, data_seconds=s * 0.1, accuracies=[97.0])]
        >>> result = Comparison(runs("source pipeline", 8.0), runs("fast path", 2.0), runs("hand-written step", 1.0),
        ...                     1_000_000, 1e8)
        >>> report_lines(result)[-1]
        'source pipeline 8.0 s, fast path 2.0 s, speed-up 4.0x (medians of 1 run)'
    """
    def timing(runs: Sequence[RunResult], attribute: str = "seconds") -> str:
        median, low, high = spread(runs, attribute)
        return f"median {median:.2f} s (min {low:.2f}, max {high:.2f})"

    source, fast, hand = result.source, result.fast, result.hand
    floor = result.floor_seconds
    fast_steps, hand_s = spread(fast, "step_seconds")[0], spread(hand)[0]
    accuracy_of = lambda runs: statistics.median(run.accuracy for run in runs)  # noqa: E731
    if min(fast_steps, hand_s) < floor:  # impossible for a true peak: the measurement was slowed down
        against_floor = (
            "medians against the floor: not shown, a run was faster than the floor allows, so the floor's "
            "throughput measurement was disturbed (other programs were busy); run again on a quieter machine"
        )
    else:
        against_floor = (
            f"medians against the floor: fast path's steps {fast_steps / floor:.2f}x, hand-written step "
            f"{hand_s / floor:.2f}x"
        )
    against_floor += f"; the hand-written step takes {hand_s / fast_steps:.2f}x the time of autograd's"
    lines = [
        f"{source[0].name}: {timing(source)}; data {spread(source, 'data_seconds')[0]:.2f} s, "
        f"steps {spread(source, 'step_seconds')[0]:.2f} s, evaluation {spread(source, 'eval_seconds')[0]:.2f} s "
        f"(medians); test accuracy {accuracy_of(source):.2f}%",
        f"{fast[0].name}: {timing(fast)}; steps {timing(fast, 'step_seconds')}, "
        f"evaluation {spread(fast, 'eval_seconds')[0]:.2f} s; test accuracy {accuracy_of(fast):.2f}%",
        f"{hand[0].name}: {timing(hand)}, training only; test accuracy {accuracy_of(hand):.2f}%",
        f"floor: {floor:.2f} s = {result.flops_per_step:,} FLOPs a step x {source[0].iterations} iterations "
        f"at {result.flops_per_second / 1e9:.0f} GFLOP/s (float32 matrix products)",
        against_floor,
        summary_line(source, fast),
    ]
    return lines


def _positive_int_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {value}")
    return value


#: The most PyTorch threads ``--threads`` may ask for, per core of this machine.
THREADS_PER_CORE = 4


def _threads_arg(text: str) -> int:
    value = _positive_int_arg(text)
    most = THREADS_PER_CORE * (os.cpu_count() or 1)
    if value > most:
        raise argparse.ArgumentTypeError(
            f"at most {most} threads ({THREADS_PER_CORE} per core of this machine), got {value}"
        )
    return value


def _seed_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"expected a seed in [0, 2**32), got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m ffn_helpers.bench``.

    Example:
        >>> build_parser().parse_args(["--quick"]).quick
        True
    """
    parser = argparse.ArgumentParser(
        prog="python -m ffn_helpers.bench",
        description="Time the source documents' MNIST pipeline (ToTensor + DataLoader) against the "
        "book's fast path (in-memory tensors), same model, same hyper-parameters, in one process.",
    )
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_ITERATIONS} iterations, evaluated every {QUICK_EVAL_EVERY} (under a minute)")
    parser.add_argument("--iterations", type=_positive_int_arg, default=None,
                        help=f"training iterations (default {FULL_ITERATIONS}, as in the source)")
    parser.add_argument("--eval-every", type=_positive_int_arg, default=None,
                        help=f"evaluate on the test set every N iterations (default {EVAL_EVERY})")
    parser.add_argument("--seed", type=_seed_arg, default=0, help="seed of weights and shuffling (default 0)")
    parser.add_argument("--repeat", type=_positive_int_arg, default=REPEAT,
                        help=f"run each side N times and report the median, min and max (default {REPEAT})")
    parser.add_argument("--threads", type=_threads_arg, default=None,
                        help="PyTorch threads (default: PyTorch's own choice; chapter 12 uses 1)")
    parser.add_argument("--root", default="data",
                        help="folder holding MNIST/raw (default ./data; fetched or rebuilt there if missing)")
    return parser


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse and complete the arguments: ``iterations`` and ``eval_every`` are always set.

    ``--quick`` cannot be combined with ``--iterations``: the parser exits with a message.

    Example:
        >>> args = parse_args(["--quick"])
        >>> args.iterations, args.eval_every
        (600, 300)
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.quick and args.iterations is not None:
        parser.error("--quick already sets the number of iterations; use either --quick or --iterations")
    if args.iterations is None:
        args.iterations = QUICK_ITERATIONS if args.quick else FULL_ITERATIONS
    if args.eval_every is None:
        args.eval_every = QUICK_EVAL_EVERY if args.quick else EVAL_EVERY
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the benchmark and print one line per run, then the comparison; return the exit status.

    An unusable ``--root`` gives one line on stderr and status 1, and so does an output
    that cannot be written (closed, or a full disk), before any run starts; Ctrl-C
    (status 130) and a closed output pipe (``| head -n 1``, status 1) end quietly, without
    a traceback.

    Example:
        >>> main(["--quick", "--root", "notebooks/data"])  # doctest: +SKIP
        Model E, batch 100, SGD lr 0.1, 600 iterations, 2 threads, 3 runs of each, MNIST under 'notebooks/data'
        source pipeline: median 8.31 s (min 8.02, max 9.10); data 6.90 s, steps 0.80 s, evaluation 0.60 s (medians); ...
        fast path: median 0.70 s (min 0.69, max 0.75); steps median 0.66 s (min 0.65, max 0.70), evaluation ...
        hand-written step: median 0.40 s (min 0.39, max 0.44), training only; test accuracy 92.55%
        floor: 0.14 s = 43,960,000 FLOPs a step x 600 iterations at 186 GFLOP/s (float32 matrix products)
        medians against the floor: fast path's steps 4.71x, hand-written step 2.86x; the hand-written ...
        source pipeline 8.3 s, fast path 0.7 s, speed-up 11.9x (medians of 3 runs)
        0
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)  # see ffn_helpers/__init__.py
    try:
        args = parse_args(argv)
        if sys.stdout is None:  # started with stdout closed (`>&-`): nowhere to print the results
            print("error: standard output is closed, so the results could not be printed", file=sys.stderr)
            return 1
        return _run(args)
    except KeyboardInterrupt:
        return 130
    except (BrokenPipeError, _OutputError) as exc:
        if isinstance(exc, _OutputError):
            print(f"error: cannot write the results to standard output ({exc.__cause__})", file=sys.stderr)
        # Whoever read our output has gone, or it cannot be written: send the rest to
        # devnull, so that exiting (which flushes stdout) is quiet too.
        try:
            stdout = sys.stdout.fileno()
            os.dup2(os.open(os.devnull, os.O_WRONLY), stdout)
        except (OSError, ValueError, io.UnsupportedOperation):  # stdout is no real file (a test's capture)
            pass
        return 1


class _OutputError(Exception):
    """Standard output refused a write (a full disk, /dev/full): nothing more can be shown."""


def _say(text: str = "") -> None:
    try:
        print(text, flush=True)
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise _OutputError from exc


def _run(args: argparse.Namespace) -> int:
    """The body of :func:`main`, once the arguments are parsed."""
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    _say(f"Model E, batch {BATCH_SIZE}, SGD lr {LEARNING_RATE}, {args.iterations} iterations, "
         f"{threads} thread{'s' if threads != 1 else ''}, {args.repeat} run{'s' if args.repeat > 1 else ''} "
         f"of each, MNIST under {args.root!r}")
    try:
        result = compare(args.root, iterations=args.iterations, eval_every=args.eval_every, seed=args.seed,
                         repeat=args.repeat)
    except (MNISTUnavailableError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for line in report_lines(result):
        _say(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())

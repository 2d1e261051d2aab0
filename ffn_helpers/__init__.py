"""ffn_helpers: the boilerplate behind *Feedforward Networks in PyTorch*.

One concern a module: ``data`` (MNIST, online or offline), ``training`` (the training
recipe and evaluation), ``plotting`` (shared figures), ``devices`` (devices and seeds),
``models`` (Part II's network as a builder, for later chapters), ``notebook`` (glue for
the book's prose). The models a chapter teaches live in that chapter.
"""

import os
import signal
import sys


def _quiet_ctrl_c_while_importing() -> None:
    """``python -m ffn_helpers.bench``: Ctrl-C while torch is still loading exits quietly.

    Importing the package takes a second or two; a Ctrl-C then would print a traceback
    from deep inside torch. For the benchmark command only, it ends the process with
    status 130, as a Ctrl-C during the runs does; :func:`ffn_helpers.bench.main` puts
    Python's own handler back once everything is imported.
    """
    argv = list(getattr(sys, "orig_argv", []))
    if "-m" in argv[:-1] and argv[argv.index("-m") + 1] == "ffn_helpers.bench":
        signal.signal(signal.SIGINT, lambda *_: os._exit(130))


_quiet_ctrl_c_while_importing()

from .data import MNISTUnavailableError, check_mnist, ensure_mnist, load_mnist, mnist_tensors
from .devices import get_device, machine_summary, resolve_device, set_seed
from .models import feedforward
from .notebook import glue
from .perf import floor_seconds, matmul_flops_per_second, step_flops
from .plotting import plot_curves, show_digits, use_book_style
from .stats import Difference, compare, mean_std, standard_error
from .training import History, accuracy, train

__version__ = "0.1.0"

__all__ = [
    "Difference",
    "History",
    "MNISTUnavailableError",
    "accuracy",
    "check_mnist",
    "compare",
    "ensure_mnist",
    "feedforward",
    "floor_seconds",
    "get_device",
    "glue",
    "load_mnist",
    "machine_summary",
    "matmul_flops_per_second",
    "mean_std",
    "mnist_tensors",
    "plot_curves",
    "resolve_device",
    "set_seed",
    "show_digits",
    "standard_error",
    "step_flops",
    "train",
    "use_book_style",
]

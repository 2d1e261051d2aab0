"""Devices and seeds: pick the accelerator that is there, say what it is, make runs repeatable."""

from __future__ import annotations

import numbers
import os
import platform
import random
from typing import Union

import numpy as np
import torch

DeviceLike = Union[str, torch.device]


def get_device() -> torch.device:
    """Return the best available device: CUDA, then Apple MPS, then the CPU.

    Example:
        >>> get_device()  # on a laptop without a GPU  # doctest: +SKIP
        device(type='cpu')
    """
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_device(device: DeviceLike) -> torch.device:
    """Turn ``"cpu"``, ``"cuda"``, ``"cuda:0"``, ``"mps"`` or a ``torch.device`` into a usable device.

    Raises TypeError for other types and ValueError for a string that names no device
    or a device this machine does not have.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    if isinstance(device, str):
        try:
            device = torch.device(device)
        except RuntimeError as exc:
            raise ValueError(
                f"{device!r} is not a device name; use 'cpu', 'cuda', 'cuda:0', 'mps' or get_device()"
            ) from exc
    if not isinstance(device, torch.device):
        raise TypeError(f"device must be a str or torch.device, not {type(device).__name__}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r} was asked for, but CUDA is not available here; try get_device()")
    if device.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ValueError("device 'mps' was asked for, but Apple MPS is not available here; try get_device()")
    return device


def set_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy and torch (all devices) with one integer.

    Example:
        >>> set_seed(0); a = torch.rand(2)
        >>> set_seed(0); bool(torch.equal(a, torch.rand(2)))
        True
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, not {type(seed).__name__}")
    seed = int(seed)  # NumPy integers too
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return " ".join(line.split(":", 1)[1].split())
    except OSError:  # not Linux
        pass
    return platform.processor() or "unknown CPU"


def machine_summary() -> str:
    """One line saying what the code runs on: CPU, cores, PyTorch threads and version, accelerator.

    Example:
        >>> machine_summary()  # doctest: +SKIP
        'Intel(R) Xeon(R) Processor, 2 cores, 2 PyTorch threads, PyTorch 2.14.1, CPU only'
    """
    cores, threads = os.cpu_count(), torch.get_num_threads()
    parts = [
        _cpu_model(),
        f"{cores} core{'s' * (cores != 1)}" if cores else "unknown number of cores",
        f"{threads} PyTorch thread{'s' * (threads != 1)}",
        f"PyTorch {torch.__version__}",
    ]
    device = get_device()
    if device.type == "cuda":
        parts.append(f"GPU {torch.cuda.get_device_name(0)}")
    elif device.type == "mps":
        parts.append("Apple GPU (MPS)")
    else:
        parts.append("CPU only")
    return ", ".join(parts)

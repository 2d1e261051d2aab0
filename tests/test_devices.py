"""ffn_helpers.devices: device choice and seeding."""

import random

import numpy as np
import pytest
import torch

from ffn_helpers import get_device, resolve_device, set_seed


def test_get_device_returns_a_usable_device():
    device = get_device()
    assert device.type in {"cuda", "mps", "cpu"}
    assert torch.ones(2, device=device).sum().item() == 2
    if not torch.cuda.is_available():
        assert device.type != "cuda"


def test_set_seed_makes_python_numpy_and_torch_repeat():
    set_seed(123)
    first = (random.random(), np.random.rand(), torch.rand(3))
    set_seed(123)
    second = (random.random(), np.random.rand(), torch.rand(3))
    assert first[0] == second[0] and first[1] == second[1] and torch.equal(first[2], second[2])


@pytest.mark.parametrize("seed, error", [(1.5, TypeError), ("1", TypeError), (True, TypeError), (-1, ValueError), (2**32, ValueError)])
def test_set_seed_rejects_bad_seeds(seed, error):
    with pytest.raises(error):
        set_seed(seed)


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(ValueError, match="not a device name"):
        resolve_device("gpu")
    with pytest.raises(TypeError):
        resolve_device(0.5)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_asking_for_missing_cuda_is_a_clear_error():
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")


def test_set_seed_accepts_numpy_integers():
    set_seed(np.int64(7))
    a = torch.rand(2)
    set_seed(7)
    assert torch.equal(a, torch.rand(2))


def test_machine_summary_is_one_line_about_this_machine():
    import os

    from ffn_helpers import machine_summary

    line = machine_summary()
    assert isinstance(line, str) and "\n" not in line and line
    assert f"{os.cpu_count()} core" in line
    assert f"{torch.get_num_threads()} PyTorch thread" in line
    assert f"PyTorch {torch.__version__}" in line
    if not torch.cuda.is_available() and get_device().type == "cpu":
        assert line.endswith("CPU only")


def test_machine_summary_says_one_thread_in_the_singular():
    from ffn_helpers import machine_summary

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert ", 1 PyTorch thread," in machine_summary()
    finally:
        torch.set_num_threads(threads)


def test_machine_summary_names_the_gpu(monkeypatch):
    from ffn_helpers import devices

    monkeypatch.setattr(devices, "get_device", lambda: torch.device("cuda"))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "NVIDIA H100")
    assert devices.machine_summary().endswith("GPU NVIDIA H100")


def test_machine_summary_without_proc_cpuinfo(monkeypatch):
    import builtins

    from ffn_helpers import devices

    real_open = builtins.open

    def no_proc(path, *args, **kwargs):
        if str(path) == "/proc/cpuinfo":
            raise FileNotFoundError(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", no_proc)
    monkeypatch.setattr(devices.platform, "processor", lambda: "")
    assert devices.machine_summary().startswith("unknown CPU, ")

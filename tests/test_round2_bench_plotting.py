"""Issue 21, the benchmark's command line and floor, and the plotting helpers."""

import errno
import io
import os

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch.utils.data import TensorDataset  # noqa: E402

import ffn_helpers as fh  # noqa: E402
from ffn_helpers import bench  # noqa: E402
from ffn_helpers.bench import Comparison, RunResult, parse_args, report_lines  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# --------------------------------------------------------------------------- the command line


@pytest.mark.parametrize("threads", ["100000", "4096", str(2**31 - 1), str(2**31)])
def test_a_huge_thread_count_is_refused_by_the_parser(threads, capsys):
    with pytest.raises(SystemExit) as info:
        parse_args(["--threads", threads])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--threads" in err and "at most" in err and "Traceback" not in err


def test_every_core_is_a_valid_thread_count():
    assert parse_args(["--threads", str(os.cpu_count())]).threads == os.cpu_count()


def fake_comparison(hand=1.0, fast_steps=1.6, floor_rate=1e10):
    def runs(name, seconds, steps):
        return [RunResult(name, 100, seconds, steps, 0.1, data_seconds=0.1, accuracies=[90.0])]

    return Comparison(runs("source pipeline", 8.0, 7.0), runs("fast path", 2.0, fast_steps),
                      runs("hand-written step", hand, hand), 43_960_000, floor_rate)


def fake_compare(*args, **kwargs):
    return fake_comparison()


def test_closed_stdout_fails_at_once_with_one_line(monkeypatch, capsys):
    monkeypatch.setattr(bench, "compare", lambda *a, **k: pytest.fail("the benchmark ran with nowhere to print"))
    monkeypatch.setattr("sys.stdout", None)
    assert bench.main(["--quick"]) == 1
    assert "standard output" in capsys.readouterr().err


class FullDisk(io.StringIO):
    def write(self, text):
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_stdout_is_one_line_and_status_1(monkeypatch, capsys):
    monkeypatch.setattr(bench, "compare", lambda *a, **k: pytest.fail("the benchmark ran with nowhere to print"))
    real_stderr = capsys  # noqa: F841 (the error goes to stderr, which capsys still captures)
    monkeypatch.setattr("sys.stdout", FullDisk())
    assert bench.main(["--quick"]) == 1
    err = capsys.readouterr().err
    assert "No space left" in err and "Traceback" not in err


def test_the_header_says_1_thread(monkeypatch, capsys):
    monkeypatch.setattr(bench, "compare", fake_compare)
    previous = torch.get_num_threads()
    try:
        assert bench.main(["--quick", "--threads", "1"]) == 0
    finally:
        torch.set_num_threads(previous)
    header = capsys.readouterr().out.splitlines()[0]
    assert "1 thread," in header


# --------------------------------------------------------------------------- the floor


def test_the_peak_is_measured_before_and_after_the_sides_over_several_sizes(monkeypatch):
    x, y = torch.rand(120, 1, 28, 28), torch.randint(0, 10, (120,))
    events = []

    def side(name):
        def run(*args, **kwargs):
            events.append(name)
            return RunResult(name, kwargs["iterations"], 1.0, 1.0, 0.0, data_seconds=0.0, accuracies=[50.0])
        return run

    def peak(n=2048, repeat=5, threads=None):
        events.append(("peak", n))
        return {512: 1e10, 1024: 3e10, 2048: 2e10}.get(n, 1e10) * (2 if len(events) > 8 else 1)

    monkeypatch.setattr(bench, "load_mnist", lambda *a, **k: TensorDataset(x, y))
    monkeypatch.setattr(bench, "mnist_tensors", lambda *a, **k: (x, y))
    for name in ("source_pipeline", "fast_path", "hand_path"):
        monkeypatch.setattr(bench, name, side(name))
    monkeypatch.setattr(bench, "matmul_flops_per_second", peak)
    result = bench.compare("nowhere", iterations=4, eval_every=2, repeat=2)
    first_side = events.index("source_pipeline")
    last_side = len(events) - 1 - events[::-1].index("hand_path")
    before = {e[1] for e in events[:first_side] if isinstance(e, tuple)}
    after = {e[1] for e in events[last_side:] if isinstance(e, tuple)}
    assert len(before) >= 2 and len(after) >= 2, events
    assert result.flops_per_second == 6e10  # the best of every measurement


def test_a_side_below_the_floor_says_the_floor_was_disturbed():
    result = fake_comparison(hand=0.3, floor_rate=1e10)  # floor 0.44 s, hand-written step 0.3 s
    line = report_lines(result)[4]
    assert "disturbed" in line and "0.68x" not in line


def test_sides_above_the_floor_are_reported_as_ratios():
    line = report_lines(fake_comparison())[4]
    assert line.startswith("medians against the floor: fast path's steps 3.64x, hand-written step 2.27x")


# --------------------------------------------------------------------------- plotting


def test_numpy_integers_are_accepted_by_the_plotting_helpers():
    history = fh.History(iterations=[1, 2], test_accuracies=[50.0, 60.0], losses=[2.0, 1.5, 1.0, 0.8])
    fh.plot_curves({"run": history}, "losses", smooth=np.int64(2))
    assert len(fh.show_digits(torch.rand(4, 1, 28, 28), [0, 1, 2, 3], ncols=np.int64(2)).axes) == 4
    fh.use_book_style(np.int64(80))
    fh.use_book_style()


def test_plot_curves_takes_a_history_holding_tensors():
    history = fh.History(iterations=[1, 2], test_accuracies=torch.tensor([50.0, 60.0]),
                         losses=[torch.tensor(2.0), torch.tensor(1.0)])
    ax = fh.plot_curves({"run": history})
    assert ax.get_lines()[0].get_ydata().tolist() == [50.0, 60.0]
    ax = fh.plot_curves({"run": history}, "losses")
    assert ax.get_lines()[0].get_ydata().tolist() == [2.0, 1.0]


def test_smooth_larger_than_the_losses_is_refused():
    history = fh.History(losses=[2.0, 1.0, 0.5])
    with pytest.raises(ValueError, match="smooth"):
        fh.plot_curves({"run": history}, "losses", smooth=10)


@pytest.mark.parametrize(
    "images, labels, predictions, match",
    [
        (torch.rand(3, 28, 28), [0, 1, 2], torch.rand(3, 10), "argmax"),
        (torch.rand(3, 28, 28), [0, 1.7, 2], None, "whole numbers"),
        (torch.rand(3, 28, 28), torch.tensor([0.0, 1.7, 2.0]), None, "whole numbers"),
        (torch.rand(0, 28, 28), [], None, "no images"),
        (torch.rand(3, 28, 28), [0, 1, 2], [0, 1], "2 predictions"),
        (torch.rand(101, 28, 28), list(range(101)), None, "at most 100"),
    ],
    ids=["logits", "float-label", "float-tensor", "empty", "short-predictions", "too-many"],
)
def test_show_digits_refuses_what_it_cannot_title(images, labels, predictions, match):
    with pytest.raises(ValueError, match=match):
        fh.show_digits(images, labels, predictions)


def test_ctrl_c_while_the_bench_is_still_importing_exits_quietly():
    """`python -m ffn_helpers.bench`, Ctrl-C during the imports: status 130, no traceback."""
    import signal
    import subprocess
    import sys

    code = (
        "import os, signal, sys\n"
        "sys.orig_argv[:] = [sys.executable, '-m', 'ffn_helpers.bench', '--quick']\n"
        "import ffn_helpers\n"
        "os.kill(os.getpid(), signal.SIGINT)\n"  # as if Ctrl-C came while importing
        "import time; time.sleep(5)\n"
        "print('still running')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 130
    assert "Traceback" not in done.stderr and "still running" not in done.stdout


def test_the_bench_puts_pythons_ctrl_c_handler_back(monkeypatch):
    import signal

    monkeypatch.setattr(bench, "_run", lambda args: 0)
    previous = signal.signal(signal.SIGINT, lambda *_: None)
    try:
        assert bench.main(["--quick"]) == 0
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)


def test_importing_the_helpers_elsewhere_leaves_ctrl_c_alone():
    import signal
    import subprocess
    import sys

    code = "import signal, ffn_helpers; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "True", done.stderr

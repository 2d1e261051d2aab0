"""Shared fixtures: one offline rebuild of MNIST per test session, and a failing network."""

import shutil
import socket

import pytest

from ffn_helpers import data


@pytest.fixture
def no_network(monkeypatch):
    """Make every connection attempt fail, as on a machine without a network."""

    def refuse(*args, **kwargs):
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="session")
def mnist_root(tmp_path_factory):
    """A folder holding the four raw files, rebuilt offline once with the network failing."""
    root = tmp_path_factory.mktemp("mnist")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "getaddrinfo", lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
        data.ensure_mnist(root)
    return root


@pytest.fixture
def mnist_copy(mnist_root, tmp_path):
    """A private copy of the raw files that a test may damage."""
    shutil.copytree(mnist_root / "MNIST", tmp_path / "MNIST")
    return tmp_path

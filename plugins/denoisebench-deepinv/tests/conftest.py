"""Fixtures of the deepinv plugin's tests: a fresh registry, an empty torch hub, and no network."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch


class NetworkAccess(AssertionError):
    """Raised by every patched download or connection function."""


def _refuse(*args: object, **kwargs: object) -> None:
    raise NetworkAccess(f"network access attempted: {args[:1]!r}")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any download (torch hub, urllib, requests through sockets) fails the test."""
    monkeypatch.setattr(torch.hub, "download_url_to_file", _refuse)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", _refuse)
    monkeypatch.setattr(urllib.request, "urlopen", _refuse)
    monkeypatch.setattr(socket.socket, "connect", _refuse)
    monkeypatch.setattr(socket, "create_connection", _refuse)


@pytest.fixture(autouse=True)
def empty_torch_hub(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty torch hub directory, so that no test sees weights cached on this machine."""
    hub = tmp_path_factory.mktemp("torch-hub")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    return hub


@pytest.fixture(autouse=True)
def all_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from denoisebench.plugins import manager as plugins

    monkeypatch.delenv(plugins.LOAD_ENV, raising=False)
    plugins.reset()
    yield
    plugins.reset()

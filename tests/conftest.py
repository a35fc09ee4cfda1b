from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tunesmith.config import CustomEntity, PiiConfig
from tunesmith.data.pii import PiiMasker
from tunesmith.examples.scaffold import create_workspace

ASSETS = Path(__file__).parent / "assets"
ACCOUNT_ID = CustomEntity(name="ACCOUNT_ID", pattern=r"\bACC-\d{6}\b")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test runs offline: any attempt to open a network connection fails loudly."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield


@pytest.fixture(scope="session")
def masker() -> PiiMasker:
    return PiiMasker(PiiConfig(custom=[ACCOUNT_ID]))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A fresh example workspace with 300 generated raw tickets."""
    return create_workspace(tmp_path / "ws", "support-tickets", rows=300)

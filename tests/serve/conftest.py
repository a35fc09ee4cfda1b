from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

_real_connect = socket.socket.connect
_real_create_connection = socket.create_connection


def _loopback(address: object) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    try:
        return ipaddress.ip_address(str(host)).is_loopback
    except ValueError:
        return host == "localhost"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Offline as everywhere, except loopback: the tests talk to a live local server."""

    def connect(sock: socket.socket, address: object) -> None:
        if not _loopback(address):
            raise AssertionError(f"network access attempted: {address}")
        return _real_connect(sock, address)

    def create_connection(address: object, *args: object, **kwargs: object) -> socket.socket:
        if not _loopback(address):
            raise AssertionError(f"network access attempted: {address}")
        return _real_create_connection(address, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    yield


def make_adapter(
    base_dir: Path, folder: Path, seed: int, rank: int = 4, targets: tuple[str, ...] = ()
) -> Path:
    """A LoRA adapter with random (non-zero) weights, so each one changes the outputs."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    config = LoraConfig(
        r=4,
        lora_alpha=32,
        target_modules=["q_proj", "v_proj", "down_proj"],
        init_lora_weights=False,
    )
    peft = get_peft_model(model, config)
    with torch.no_grad():
        for name, param in peft.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)
    peft.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def adapters(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("adapters")
    return [make_adapter(tiny_model_dir, root / f"a{i}", seed=i + 1) for i in range(3)]

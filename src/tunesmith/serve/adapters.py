"""Adapters over the one base model: loaded on first use, evicted least-recently-used."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from pathlib import Path
from typing import Any

BASE = "__base__"  # PEFT's name for "no adapter" in a mixed-adapter batch


def peft_name(key: str) -> str:
    """A module-safe PEFT adapter name for a run id."""
    return "a" + hashlib.sha256(key.encode()).hexdigest()[:12]


class AdapterPool:
    """LoRA adapters on one PEFT model; an adapter in use by a sequence is never evicted."""

    def __init__(self, base: Any, capacity: int) -> None:
        self.base = base
        self.capacity = capacity
        self.peft: Any = None
        self.loaded: OrderedDict[str, str] = OrderedDict()  # run id -> PEFT name, LRU first
        self.in_use: dict[str, int] = {}

    @property
    def model(self) -> Any:
        return self.peft if self.peft is not None else self.base

    def can_load(self, key: str) -> bool:
        return (
            key in self.loaded
            or len(self.loaded) < self.capacity
            or any(self.in_use.get(k, 0) == 0 for k in self.loaded)
        )

    def acquire(self, key: str, path: Path) -> str:
        """The PEFT name of `key`'s adapter, loading it (and evicting an idle one) if needed."""
        if key not in self.loaded:
            if len(self.loaded) >= self.capacity:
                victim = next(k for k in self.loaded if self.in_use.get(k, 0) == 0)
                self.peft.delete_adapter(self.loaded.pop(victim))
                self.in_use.pop(victim, None)
            name = peft_name(key)
            if self.peft is None:
                from peft import PeftModel

                self.peft = PeftModel.from_pretrained(self.base, str(path), adapter_name=name)
                self.peft.eval()
            else:
                self.peft.load_adapter(str(path), adapter_name=name)
            self.loaded[key] = name
        self.loaded.move_to_end(key)
        self.in_use[key] = self.in_use.get(key, 0) + 1
        return self.loaded[key]

    def release(self, key: str) -> None:
        self.in_use[key] = max(0, self.in_use.get(key, 0) - 1)

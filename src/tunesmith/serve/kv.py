"""A running batch's key/value cache: rows join (left-padded to a common length) and leave.

Every row's cache is left-padded, so the newest token of every row sits in the last column
and one decode step appends one column for all rows. Padding is masked out by the batch's 2D
attention mask; each row keeps its own position ids, so RoPE sees no gap.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from transformers.cache_utils import DynamicLayer

HEADROOM = 64  # decode steps a layer can take before its buffers are reallocated


class GrowingLayer(DynamicLayer):
    """Keys and values in buffers with headroom: a decode step writes its column in place
    instead of concatenating (copying) the whole cache, as the dynamic layer does."""

    def __init__(self) -> None:
        self._keys: torch.Tensor | None = None
        self._values: torch.Tensor | None = None
        self._length = 0
        self._values_length = 0  # set apart from keys': callers assign one, then the other
        super().__init__()

    @staticmethod
    def _roomy(tensor: torch.Tensor) -> torch.Tensor:
        shape = (*tensor.shape[:2], tensor.shape[2] + HEADROOM, tensor.shape[3])
        buffer = tensor.new_empty(shape)
        buffer[:, :, : tensor.shape[2]] = tensor
        return buffer

    @property  # type: ignore[override]
    def keys(self) -> torch.Tensor | None:
        return None if self._keys is None else self._keys[:, :, : self._length]

    @keys.setter
    def keys(self, value: torch.Tensor | None) -> None:
        self._keys = None if value is None else self._roomy(value)
        self._length = 0 if value is None else value.shape[2]

    @property  # type: ignore[override]
    def values(self) -> torch.Tensor | None:
        return None if self._values is None else self._values[:, :, : self._values_length]

    @values.setter
    def values(self, value: torch.Tensor | None) -> None:
        self._values = None if value is None else self._roomy(value)
        self._values_length = 0 if value is None else value.shape[2]

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        assert self._keys is not None and self._values is not None
        end = self._length + key_states.shape[2]
        if end > self._keys.shape[2]:
            self.keys, self.values = self.keys, self.values
        self._keys[:, :, self._length : end] = key_states
        self._values[:, :, self._length : end] = value_states
        self._length = self._values_length = end
        return self.keys, self.values  # type: ignore[return-value]


def growing(cache: Any) -> Any:
    """The same cache with every layer's tensors moved into headroom buffers."""
    for i, layer in enumerate(cache.layers):
        if isinstance(layer, GrowingLayer) or getattr(layer, "keys", None) is None:
            continue
        grown = GrowingLayer()
        grown.keys, grown.values = layer.keys, layer.values
        grown.is_initialized = True
        grown.device = layer.keys.device
        cache.layers[i] = grown
    return cache


def _layers(cache: Any) -> list[Any]:
    return [layer for layer in cache.layers if getattr(layer, "keys", None) is not None]


def pad_left(cache: Any, columns: int) -> None:
    if columns <= 0:
        return
    for layer in _layers(cache):
        layer.keys = F.pad(layer.keys, (0, 0, columns, 0))
        layer.values = F.pad(layer.values, (0, 0, columns, 0))


def trim_left(cache: Any, columns: int) -> None:
    if columns <= 0:
        return
    for layer in _layers(cache):
        layer.keys = layer.keys[:, :, columns:]
        layer.values = layer.values[:, :, columns:]


def select_rows(cache: Any, rows: torch.Tensor) -> None:
    for layer in _layers(cache):
        layer.keys = layer.keys[rows]
        layer.values = layer.values[rows]


def append_rows(cache: Any, other: Any) -> None:
    """`other`'s rows after `cache`'s, both already the same length."""
    for layer, extra in zip(_layers(cache), _layers(other), strict=True):
        layer.keys = torch.cat([layer.keys, extra.keys], dim=0)
        layer.values = torch.cat([layer.values, extra.values], dim=0)


class BatchCache:
    """The cache and 2D attention mask of the rows being decoded together."""

    def __init__(self) -> None:
        self.cache: Any = None
        self.mask: torch.Tensor | None = None

    @property
    def width(self) -> int:
        return 0 if self.mask is None else self.mask.shape[1]

    def join(self, cache: Any, mask: torch.Tensor) -> None:
        """Rows prefilled together (their own cache and mask) join the batch at its end."""
        if self.cache is None or self.mask is None:
            self.cache, self.mask = growing(cache), mask
            return
        if mask.shape[1] < self.width:
            pad_left(cache, self.width - mask.shape[1])
            mask = F.pad(mask, (self.width - mask.shape[1], 0))
        elif mask.shape[1] > self.width:
            pad_left(self.cache, mask.shape[1] - self.width)
            self.mask = F.pad(self.mask, (mask.shape[1] - self.width, 0))
        append_rows(self.cache, cache)
        self.mask = torch.cat([self.mask, mask], dim=0)

    def extend(self) -> torch.Tensor:
        """The mask for a step that adds one token per row (the cache grows in the forward)."""
        assert self.mask is not None
        self.mask = F.pad(self.mask, (0, 1), value=1)
        return self.mask

    def keep(self, rows: list[int]) -> None:
        """Only `rows` stay; columns that are padding in every remaining row are dropped."""
        if not rows:
            self.cache = self.mask = None
            return
        assert self.mask is not None
        index = torch.tensor(rows, dtype=torch.long, device=self.mask.device)
        select_rows(self.cache, index)
        self.mask = self.mask[index]
        used = self.mask.any(dim=0).nonzero()
        first = int(used[0]) if len(used) else self.width
        trim_left(self.cache, first)
        self.mask = self.mask[:, first:]

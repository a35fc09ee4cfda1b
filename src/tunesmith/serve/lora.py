"""Many LoRA adapters in one batch, one pair of matmuls per layer whatever the mix.

Every loaded adapter's A and B sit side by side in one wide matrix per layer (slot after
slot). A forward computes x·A_allᵀ for all slots at once, multiplies by a per-row mask that
keeps only the row's own slot (and carries its scale), and applies B_all: two plain matmuls
with an inner width of slots × rank. PEFT's mixed-adapter forward instead runs a matmul pair
per adapter per layer plus index copies; on a CPU that costs more than the base layer once
four adapters share a batch. Serving engines do the same with gathered kernels (Punica's
BGMV in S-LoRA and vLLM); the dense mask suits small ranks and few slots.

Loading an adapter copies its weights into a free slot (1..capacity); the least recently used
idle slot is reused when all are taken. Slot 0 is the base model and has no storage: its rows'
mask is zero. Ranks below the largest loaded one are zero-padded, which changes nothing.

A QLoRA adapter was trained over the NF4-rounded base, not the served one: its slot runs over
that base, dequantised the way eval and export do it (`models/run_model.py`), kept dense once
per dtype quantised from. Rows over such a base take its weights in place of the served ones,
so a QLoRA run is served on the weights it was evaluated with.
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tunesmith.models.quantize import BLOCK, dense_weight, nf4_weight
from tunesmith.models.run_model import nf4_source_dtype

TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
_PREFIX = "base_model.model."


def pack(weight: torch.Tensor) -> torch.Tensor | None:
    """The weight in oneDNN's blocked layout, on CPU: at decode's few rows the GEMM runs about
    twice as fast (what torch.compile's CPU freezing does); None where it does not apply."""
    if weight.device.type != "cpu" or not torch.backends.mkldnn.is_available():
        return None
    try:
        return torch.ops.mkldnn._reorder_linear_weight(weight.detach(), 8)
    except (RuntimeError, AttributeError):  # a build without the op: plain GEMMs
        return None


def linear(
    x: torch.Tensor, weight: torch.Tensor, packed: torch.Tensor | None, bias: torch.Tensor | None
) -> torch.Tensor:
    if packed is not None:
        return torch.ops.mkldnn._linear_pointwise(x, packed, bias, "none", [], "")
    return nn.functional.linear(x, weight, bias)


class PackedLinear(nn.Module):
    """A frozen linear layer (the LM head) computed with its packed weight."""

    def __init__(self, base: nn.Linear) -> None:
        super().__init__()
        self.base = base
        self.packed = pack(base.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.base.weight, self.packed, self.base.bias)


class AdapterError(ValueError):
    """An adapter this server cannot serve; the message names the file and the reason."""


class BatchSlots:
    """Which slot each row of the current forward uses; set by the engine before each pass."""

    def __init__(self, slots: int) -> None:
        self.slots = slots  # adapter slots with storage; slot s lives at index s - 1
        self.scales = [0.0] * slots
        self.rank = 0
        self.single: int | None = 0  # every row on the same slot: no mask needed
        self.mask: torch.Tensor | None = None  # (rows, slots * rank), the row's scale or 0
        self.base_of = [0] * slots  # the base each slot runs over: 0 served, k the k-th NF4 one
        self.single_base: int | None = 0  # every row over the same base
        self.base_rows: dict[int, torch.Tensor] = {}  # rows over each other base, mixed batches

    def set(self, rows: list[int], device: torch.device, dtype: torch.dtype) -> None:
        self.single = rows[0] if len(set(rows)) == 1 else None
        bases = [self.base_of[slot - 1] if slot else 0 for slot in rows]
        self.single_base = bases[0] if len(set(bases)) == 1 else None
        self.base_rows = {}
        if self.single_base is None:
            for base in set(bases) - {0}:
                picked = [i for i, b in enumerate(bases) if b == base]
                self.base_rows[base] = torch.tensor(picked, device=device)
        if self.single is not None or self.rank == 0:
            self.mask = None
            return
        mask = torch.zeros((len(rows), self.slots, self.rank), dtype=dtype)
        for i, slot in enumerate(rows):
            if slot:
                mask[i, slot - 1] = self.scales[slot - 1]
        self.mask = mask.view(len(rows), -1).to(device)


class MultiLoraLinear(nn.Module):
    """A frozen linear layer plus a LoRA delta chosen per row from its slots.

    The slots' A matrices are stored under the base weight in one matrix, so a single GEMM
    yields the base output and every slot's hidden LoRA activations; the base weight is a
    view of its first rows, so a base-only batch runs exactly the original layer.
    """

    def __init__(self, base: nn.Linear, batch: BatchSlots) -> None:
        super().__init__()
        self.base = base
        self.batch = batch
        self.out_features = base.out_features
        self.fused = base.weight.data
        self.packed = pack(self.fused)
        weight = base.weight
        self.B = torch.zeros(
            (base.out_features, batch.slots, 0), dtype=weight.dtype, device=weight.device
        )
        # the weight over each other base (see `BatchSlots.base_of`), with its packed copy;
        # a layer QLoRA left unquantised has none and runs its served weight for every row
        self.other: dict[int, tuple[torch.Tensor, torch.Tensor | None]] = {}

    @property
    def A(self) -> torch.Tensor:  # (slots, rank, in)
        return self.fused[self.out_features :].view(self.batch.slots, -1, self.fused.shape[1])

    def grow(self, rank: int) -> None:
        """Widen every slot to `rank` (zero-padded), keeping what is loaded."""
        slots, old = self.batch.slots, self.B.shape[2]
        a = self.fused.new_zeros((slots, rank, self.fused.shape[1]))
        a[:, :old] = self.A
        weight = self.fused[: self.out_features]
        self.fused = torch.cat([weight, a.view(slots * rank, -1)]).contiguous()
        self.base.weight.data = self.fused[: self.out_features]
        b = self.B.new_zeros((self.B.shape[0], slots, rank))
        b[:, :, :old] = self.B
        self.B = b

    def put(self, slot: int, a: torch.Tensor | None, b: torch.Tensor | None) -> None:
        A, index = self.A, slot - 1
        A[index].zero_()
        self.B[:, index].zero_()
        if a is not None and b is not None:
            A[index, : a.shape[0]] = a.to(A.dtype)
            self.B[:, index, : b.shape[1]] = b.to(self.B.dtype)

    def repack(self) -> None:
        """After `grow` or `put`: the packed copy the GEMM reads follows the plain weights."""
        self.packed = pack(self.fused)

    def add_base(self, index: int, weight: torch.Tensor) -> None:
        """The weight that rows over base `index` compute with, in place of the served one."""
        packed = pack(weight)
        # the GEMM reads only the packed copy where there is one: no need to hold both
        self.other[index] = (weight if packed is None else weight.new_empty(0), packed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        single, batch = self.batch.single, self.batch
        other = self.other.get(batch.single_base or 0)
        if other is not None:  # every row over one other base: the served weight is not needed
            out = linear(x, other[0], other[1], self.base.bias)
            hidden = nn.functional.linear(x, self.fused[self.out_features :])
        else:
            both = linear(x, self.fused, self.packed, None)
            out, hidden = both[..., : self.out_features], both[..., self.out_features :]
            if self.base.bias is not None:
                out = out + self.base.bias
            for index, rows in batch.base_rows.items():
                if index in self.other:
                    weight, packed = self.other[index]
                    out[rows] = linear(x[rows], weight, packed, self.base.bias)
        if batch.rank == 0 or single == 0:
            return out
        flat_out = out.reshape(-1, self.out_features)
        if single is not None:
            rank, index = batch.rank, single - 1
            own = hidden[..., index * rank : (index + 1) * rank].reshape(-1, rank)
            delta_of = self.B[:, index].T
            merged = torch.addmm(flat_out, own, delta_of, alpha=batch.scales[index])
            return merged.view(*x.shape[:-1], self.out_features)
        assert batch.mask is not None
        mask = batch.mask.view(x.shape[0], *([1] * (x.dim() - 2)), -1)
        picked = (hidden * mask).reshape(flat_out.shape[0], -1)
        merged = torch.addmm(flat_out, picked, self.B.view(self.B.shape[0], -1).T)
        return merged.view(*x.shape[:-1], self.out_features)


def install(model: nn.Module, slots: int) -> tuple[dict[str, MultiLoraLinear], BatchSlots]:
    """Wrap every attention and MLP projection of `model` in place, and pack its LM head."""
    batch = BatchSlots(slots)
    layers: dict[str, MultiLoraLinear] = {}
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, MultiLoraLinear | PackedLinear):  # served before: start afresh
                child = child.base
            if child_name == "lm_head" and isinstance(child, nn.Linear):
                setattr(module, child_name, PackedLinear(child))
                continue
            if child_name in TARGETS and isinstance(child, nn.Linear):
                wrapped = MultiLoraLinear(child, batch)
                setattr(module, child_name, wrapped)
                layers[f"{name}.{child_name}" if name else child_name] = wrapped
    return layers, batch


def read_adapter(folder: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    from safetensors.torch import load_file

    config = json.loads((folder / "adapter_config.json").read_text())
    where = folder / "adapter_config.json"
    if config.get("peft_type", "LORA") != "LORA":
        raise AdapterError(f"{where}: peft_type {config.get('peft_type')} is not LoRA")
    for field, ok in (("use_dora", False), ("bias", "none"), ("fan_in_fan_out", False)):
        if config.get(field, ok) != ok:
            raise AdapterError(f"{where}: {field}={config[field]!r} cannot be batched; merge it")
    if config.get("modules_to_save"):
        raise AdapterError(f"{where}: modules_to_save adapters cannot be batched; merge it")
    for field in ("rank_pattern", "alpha_pattern"):
        if config.get(field):
            raise AdapterError(f"{where}: per-layer {field} is not supported; merge it")
    return config, load_file(folder / "adapter_model.safetensors")


class LoraSlots:
    """Adapters by run id in the slots of the wrapped layers, least recently used first."""

    def __init__(self, model: nn.Module, capacity: int) -> None:
        self.layers, self.batch = install(model, capacity)
        self.model = model
        self.capacity = capacity
        self.nf4_bases: dict[torch.dtype, int] = {}  # dtype quantised from -> base index
        self.loaded: OrderedDict[str, int] = OrderedDict()
        self.in_use: dict[str, int] = {}

    def can_load(self, key: str) -> bool:
        return (
            key in self.loaded
            or len(self.loaded) < self.capacity
            or any(self.in_use.get(k, 0) == 0 for k in self.loaded)
        )

    def acquire(self, key: str, folder: Path) -> int:
        """The slot holding `key`'s adapter, loaded into a free or idle slot if needed."""
        if key not in self.loaded:
            if len(self.loaded) < self.capacity:
                taken = set(self.loaded.values())
                slot = next(s for s in range(1, self.capacity + 1) if s not in taken)
            else:
                victim = next(k for k in self.loaded if self.in_use.get(k, 0) == 0)
                slot = self.loaded.pop(victim)
                self.in_use.pop(victim, None)
            self._load(slot, folder)
            self.loaded[key] = slot
        self.loaded.move_to_end(key)
        self.in_use[key] = self.in_use.get(key, 0) + 1
        return self.loaded[key]

    def release(self, key: str) -> None:
        self.in_use[key] = max(0, self.in_use.get(key, 0) - 1)

    def _nf4_base(self, folder: Path) -> int:
        """The base `folder`'s adapter was trained over: 0 for the served one, else the index
        of its NF4 round trip, computed on first use exactly as eval computes it."""
        source = nf4_source_dtype(folder)
        if source is None:
            return 0
        if source in self.nf4_bases:
            return self.nf4_bases[source]
        # QLoRA quantises every linear layer but the LM head; one not wrapped here would run
        # unrounded for these rows
        wrapped = {f"{name}.base" for name in self.layers}
        for name, module in self.model.named_modules():
            quantizable = isinstance(module, nn.Linear) and module.weight.numel() % BLOCK == 0
            if quantizable and "lm_head" not in name and name not in wrapped:
                raise AdapterError(
                    f"{folder}: a QLoRA adapter over a base whose layer {name} this server "
                    "cannot run NF4-rounded; export the run merged and serve that instead"
                )
        index = len(self.nf4_bases) + 1
        for layer in self.layers.values():
            served = layer.base.weight
            # on the CPU, in the dtype the run trained in, as eval quantises (a GPU's
            # reductions may round the double-quantised scales differently)
            quantized = nf4_weight(served.detach().to("cpu", source))
            if quantized is not None:
                rounded = dense_weight(quantized, source)
                layer.add_base(index, rounded.to(served.device, served.dtype).contiguous())
        self.nf4_bases[source] = index
        return index

    def _load(self, slot: int, folder: Path) -> None:
        base = self._nf4_base(folder)
        config, tensors = read_adapter(folder)
        rank = int(config["r"])
        alpha = float(config.get("lora_alpha", rank))
        scale = alpha / math.sqrt(rank) if config.get("use_rslora") else alpha / rank
        weights: dict[str, dict[str, torch.Tensor]] = {}
        for name, tensor in tensors.items():
            module, _, kind = name.removeprefix(_PREFIX).rpartition(".lora_")
            weights.setdefault(module, {})[kind.split(".")[0]] = tensor
        unknown = sorted(set(weights) - set(self.layers))
        if unknown:
            raise AdapterError(f"{folder}: adapts layers this server cannot batch: {unknown[:3]}")
        if rank > self.batch.rank:
            for layer in self.layers.values():
                layer.grow(rank)
            self.batch.rank = rank
        for name, layer in self.layers.items():
            pair = weights.get(name, {})
            layer.put(slot, pair.get("A"), pair.get("B"))
            layer.repack()
        self.batch.scales[slot - 1] = scale
        self.batch.base_of[slot - 1] = base

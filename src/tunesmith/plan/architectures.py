"""Architecture shapes for the planner: a small table of known decoder families.

Memory and FLOPs depend on more than the parameter count: activations scale with the number
of layers and the hidden and MLP widths, logits with the vocabulary, LoRA adapters with the
shapes of the targeted linears, and QLoRA leaves the embedding and LM head unquantised. When
only a count is given ("7B"), the nearest known model by nominal size stands in for the shape;
far from every known model, a Llama-like shape is derived from the count (see `scaled_shape`).
All shapes are gated-MLP (SwiGLU) decoders with grouped-query attention where the model has it,
read from each model's published `config.json`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

# A nearest known model further than this ratio from the requested count is a poor stand-in
# (its depth/width would be wrong by more than the count), so a shape is derived instead.
MAX_NEAREST_RATIO = 1.25

# Llama-2 7B and 13B both have hidden = 128 x layers; we keep that aspect ratio when deriving.
ASPECT = 128
DEFAULT_VOCAB = 32_000

_SUFFIX = {"": 1.0, "K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12}
_COUNT = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)(?:e([+-]?\d+))?\s*([KMBGT]?)\s*$", re.IGNORECASE)


def parse_count(value: str | float, what: str = "count") -> float:
    """'135M', '1.5B', '7B', '10M', '2e9', 7e9 -> a positive float; anything else -> ValueError."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        match = _COUNT.match(str(value))
        if match is None:
            raise ValueError(
                f"cannot parse {what} {value!r}: expected a number with an optional "
                "K/M/B/T suffix, e.g. 135M, 1.5B, 7B, 70B"
            )
        mantissa, exponent, suffix = match.groups()
        number = float(mantissa) * 10 ** int(exponent or 0) * _SUFFIX[suffix.upper()]
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"cannot parse {what} {value!r}: must be a positive number")
    return number


def parse_params(value: str | float) -> float:
    """Parameter count from '135M', '1.5B', '7B', '70B' or a plain number."""
    return parse_count(value, "parameter count")


@dataclass(frozen=True)
class ModelShape:
    """The dimensions of a decoder-only transformer that memory and FLOPs depend on."""

    name: str
    nominal: float  # the size in the model's name: what a user types as --params
    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    vocab: int
    tied_embeddings: bool = False

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    def linears(self) -> dict[str, tuple[int, int]]:
        """(in, out) features of each linear in one layer, by the usual HF module name."""
        h, i, kv = self.hidden, self.intermediate, self.kv_heads * self.head_dim
        return {
            "q_proj": (h, h),
            "k_proj": (h, kv),
            "v_proj": (h, kv),
            "o_proj": (h, h),
            "gate_proj": (h, i),
            "up_proj": (h, i),
            "down_proj": (i, h),
        }

    @property
    def embedding_params(self) -> int:
        """Token embedding plus an untied LM head: the parameters QLoRA keeps in 16-bit."""
        return self.vocab * self.hidden * (1 if self.tied_embeddings else 2)

    @property
    def param_count(self) -> int:
        per_layer = sum(a * b for a, b in self.linears().values()) + 2 * self.hidden  # 2 norms
        return self.layers * per_layer + self.embedding_params + self.hidden  # + final norm


def _known(name: str, nominal: str, *dims: int, tied: bool = False) -> ModelShape:
    return ModelShape(name, parse_params(nominal), *dims, tied_embeddings=tied)


# (layers, hidden, intermediate, heads, kv_heads, vocab) from each model's config.json.
# Order breaks ties between equal nominal sizes: Llama-2 first, as the published memory
# figures we check against (QLoRA paper, LLaMA-Factory) are for LLaMA-shaped models.
KNOWN_MODELS: tuple[ModelShape, ...] = (
    _known("SmolLM2-135M", "135M", 30, 576, 1536, 9, 3, 49152, tied=True),
    _known("SmolLM2-360M", "360M", 32, 960, 2560, 15, 5, 49152, tied=True),
    _known("Qwen2.5-0.5B", "0.5B", 24, 896, 4864, 14, 2, 151936, tied=True),
    _known("Qwen2.5-1.5B", "1.5B", 28, 1536, 8960, 12, 2, 151936, tied=True),
    _known("SmolLM2-1.7B", "1.7B", 24, 2048, 8192, 32, 32, 49152, tied=True),
    _known("Qwen2.5-3B", "3B", 36, 2048, 11008, 16, 2, 151936, tied=True),
    _known("Llama-2-7B", "7B", 32, 4096, 11008, 32, 32, 32000),
    _known("Mistral-7B", "7B", 32, 4096, 14336, 32, 8, 32000),
    _known("Qwen2.5-7B", "7B", 28, 3584, 18944, 28, 4, 152064),
    _known("Llama-3-8B", "8B", 32, 4096, 14336, 32, 8, 128256),
    _known("Llama-2-13B", "13B", 40, 5120, 13824, 40, 40, 32000),
    _known("Qwen2.5-14B", "14B", 48, 5120, 13824, 40, 8, 152064),
    _known("LLaMA-30B", "30B", 60, 6656, 17920, 52, 52, 32000),  # LLaMA-1 "33B"
    _known("Qwen2.5-32B", "32B", 64, 5120, 27648, 40, 8, 152064),
    _known("LLaMA-65B", "65B", 80, 8192, 22016, 64, 64, 32000),
    _known("Llama-2-70B", "70B", 80, 8192, 28672, 64, 8, 32000),
    _known("Llama-3-70B", "70B", 80, 8192, 28672, 64, 8, 128256),
    _known("Qwen2.5-72B", "72B", 80, 8192, 29568, 64, 8, 152064),
)


def known_model(name: str) -> ModelShape:
    """A known shape by name, case-insensitively ('llama-2-7b'); ValueError lists the names."""
    for shape in KNOWN_MODELS:
        if shape.name.lower() == name.strip().lower():
            return shape
    names = ", ".join(s.name for s in KNOWN_MODELS)
    raise ValueError(f"unknown model {name!r}; known: {names}")


def scaled_shape(params: float) -> ModelShape:
    """A Llama-like shape for a count far from every known model.

    A gated MLP of width ~8/3 h gives ~12 h^2 weights per layer (Kaplan et al. 2020's
    N ~ 12 L d^2), and with h = 128 L: N ~ 12 * 128^2 * L^3, so L = (N / 196608)^(1/3).
    Head dimension 128 (64 below h = 1024), no grouped-query attention, a 32k vocabulary.
    """
    layers = max(2, round((params / (12 * ASPECT**2)) ** (1 / 3)))
    hidden = ASPECT * layers
    intermediate = 256 * max(1, round(hidden * 8 / 3 / 256))
    heads = max(1, hidden // (128 if hidden >= 1024 else 64))
    return ModelShape(
        f"scaled-{params / 1e9:g}B", params, layers, hidden, intermediate, heads, heads,
        DEFAULT_VOCAB,
    )  # fmt: skip


def nearest_shape(params: float) -> ModelShape:
    """The known model nearest in nominal size (log ratio), or a derived shape beyond 1.25x."""
    best = min(KNOWN_MODELS, key=lambda s: abs(math.log(s.nominal / params)))
    if max(best.nominal / params, params / best.nominal) > MAX_NEAREST_RATIO:
        return scaled_shape(params)
    return best


def override_shape(
    shape: ModelShape, layers: int | None, hidden: int | None, vocab: int | None
) -> ModelShape:
    """Apply explicit dimensions; a new hidden size keeps head size and MLP ratio."""
    for field, value in (("layers", layers), ("hidden", hidden), ("vocab", vocab)):
        if value is not None and value < 1:
            raise ValueError(f"{field} must be positive, got {value}")
    if layers is not None:
        shape = replace(shape, layers=layers)
    if hidden is not None and hidden != shape.hidden:
        heads = max(1, hidden // shape.head_dim)
        shape = replace(
            shape,
            hidden=hidden,
            intermediate=round(shape.intermediate * hidden / shape.hidden),
            heads=heads,
            kv_heads=max(1, round(heads * shape.kv_heads / shape.heads)),
        )
    if vocab is not None:
        shape = replace(shape, vocab=vocab)
    return shape

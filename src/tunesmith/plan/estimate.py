"""Training resource planner: GPU memory and GPU-hours for one fine-tuning run on one device.

N = parameters, A = adapter parameters, E = embedding + untied LM-head parameters, L layers,
h hidden, i MLP width, a heads, V vocabulary, s sequence length, b micro-batch. Bytes:

weights      full, lora: 2N (bf16; 4N in fp32). qlora: E*2 + (N-E)*bits/8 with NF4 at
             4 + 0.127 bits: double quantisation stores an 8-bit scale per 64 weights and an
             fp32 scale per 256 of those, 8/64 + 32/(64*256) = 0.127 bits (Dettmers et al.
             2023, QLoRA, sec. 3). Embeddings and the LM head are not quantised by
             bitsandbytes, so they stay in bf16; 8-bit (LLM.int8) is 8 bits per weight.
adapters     A = r * (d_in + d_out) over every targeted linear of every layer (all seven by
             default), stored fp32 for LoRA (PEFT upcasts adapters) and in the compute dtype
             for QLoRA (the paper's reference code keeps them bf16).
gradients    full: 2N. LoRA: 4A, QLoRA: 2A (same dtype as the adapter). Frozen weights: none.
optimizer    AdamW. full mixed precision: 12N (fp32 master copy + m + v, so 16 bytes per
             parameter with weights and gradients: Rajbhandari et al. 2020, ZeRO); fp32
             training: 8N. Adapters: 8A (fp32 m and v; QLoRA's paged optimizer only pages
             them out under memory pressure, so they are counted as resident).
activations  per layer, saved for backward, in 16-bit: s*b*(18h + 8i), plus 5*a*s^2*b without
             a fused attention kernel. This is Korthikanti et al. 2022's s*b*h*(34 + 5as/h)
             with the GELU MLP's 16sbh replaced by the gated MLP's four i-wide tensors (gate,
             up, SiLU output, down input: 8sbi). Flash/SDPA attention never materialises the
             s x s scores, so the 5as term goes. Without checkpointing all L layers are held;
             with full checkpointing only each layer's input (2sbh) plus one layer recomputed
             during its backward. fp32 doubles every term.
logits       b*s*V*4*2: fp32 logits for the loss and the fp32 log-softmax cross-entropy keeps
             for backward; large vocabularies (Qwen 152k, Llama-3 128k) make this matter.
overhead     0.75 GiB: CUDA context (0.3-0.5 GiB), cuBLAS workspaces, allocator fragmentation.

FLOPs per token (matmuls, 2 FLOPs per multiply-add): forward F = 2N + 2A + 4Lsh, the last
term QK^T and AV (PaLM, Chowdhery et al. 2022, app. B). Full: 3F, i.e. the 6N rule (Kaplan et
al. 2020; Hoffmann et al. 2022): backward computes input and weight gradients, 2N each.
LoRA/QLoRA: frozen weights need input gradients only, so 4N + 6A + 12Lsh. Gradient
checkpointing adds one forward (F) for the recompute. GPU-hours = tokens * FLOPs per token /
(peak * mfu) / 3600, where mfu is the fraction of the dense bf16 peak reached on the FLOPs
actually executed (recompute included); 0.3-0.5 is typical for single-GPU fine-tuning, QLoRA
lower (dequantisation is not counted as FLOPs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from tunesmith.plan.architectures import (
    ModelShape,
    known_model,
    nearest_shape,
    override_shape,
    parse_count,
    parse_params,
)
from tunesmith.plan.hardware import GIB, Device, get_device

METHODS: tuple[str, ...] = ("full", "lora", "qlora")
ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
QUANT_BITS = {4: 4 + 8 / 64 + 32 / (64 * 256), 8: 8.0}  # NF4 + double-quant scales; LLM.int8
ADAM_BYTES = 8  # fp32 first and second moments
LOGIT_COPIES = 2  # fp32 logits + the log-softmax saved by cross-entropy
DEFAULT_OVERHEAD_GIB = 0.75


@dataclass(frozen=True)
class Memory:
    """Peak memory by component, in bytes."""

    weights: float
    adapters: float
    gradients: float
    optimizer: float
    activations: float
    logits: float
    overhead: float

    @property
    def total(self) -> float:
        return sum(getattr(self, f.name) for f in fields(self))


@dataclass(frozen=True)
class Plan:
    """An estimate and everything it was computed from."""

    shape: ModelShape
    params: float
    method: str
    bits: int | None
    precision: str
    seq_len: int
    batch: int
    gradient_checkpointing: bool
    flash_attention: bool
    lora_rank: int | None
    adapter_params: int
    memory: Memory
    device: Device
    mfu: float
    flops_per_token: float
    tokens: float | None

    @property
    def breakdown(self) -> dict[str, float]:
        """GiB per component and the total."""
        parts = {f.name: getattr(self.memory, f.name) / GIB for f in fields(self.memory)}
        return {**parts, "total": self.memory.total / GIB}

    @property
    def total_gib(self) -> float:
        return self.memory.total / GIB

    def fits(self, gpu_memory_gib: float) -> bool:
        return self.total_gib <= gpu_memory_gib

    @property
    def tokens_per_second(self) -> float:
        return self.device.peak_tflops * 1e12 * self.mfu / self.flops_per_token

    @property
    def train_flops(self) -> float | None:
        return None if self.tokens is None else self.tokens * self.flops_per_token

    @property
    def gpu_hours(self) -> float | None:
        return None if self.tokens is None else self.tokens / self.tokens_per_second / 3600


def adapter_params(shape: ModelShape, rank: int, targets: Sequence[str] = ALL_LINEAR) -> int:
    """LoRA parameters: A (r x d_in) and B (d_out x r) for each targeted linear of each layer."""
    linears = shape.linears()
    unknown = [t for t in targets if t not in linears]
    if unknown:
        raise ValueError(f"unknown LoRA target(s) {unknown}; known: {', '.join(linears)}")
    return shape.layers * sum(rank * sum(linears[t]) for t in dict.fromkeys(targets))


def layer_activation_bytes(
    shape: ModelShape, seq_len: int, batch: int, act_bytes: int, flash_attention: bool
) -> float:
    """One layer's activations saved for backward (Korthikanti et al. 2022, gated MLP)."""
    per_token = 18 * shape.hidden + 8 * shape.intermediate
    if not flash_attention:
        per_token += 5 * shape.heads * seq_len  # the s x s scores, softmax and dropout
    return seq_len * batch * per_token * act_bytes / 2  # the formula is for 16-bit


def activation_bytes(
    shape: ModelShape,
    seq_len: int,
    batch: int,
    act_bytes: int,
    gradient_checkpointing: bool,
    flash_attention: bool,
) -> float:
    one_layer = layer_activation_bytes(shape, seq_len, batch, act_bytes, flash_attention)
    if not gradient_checkpointing:
        return shape.layers * one_layer
    # Checkpoints are the layer inputs; the layer being back-propagated is recomputed in full.
    return shape.layers * seq_len * batch * shape.hidden * act_bytes + one_layer


def flops_per_token(
    shape: ModelShape, params: float, adapters: int, method: str, seq_len: int, recompute: bool
) -> float:
    dense, adapter = 2 * params, 2 * adapters
    attention = 4 * shape.layers * seq_len * shape.hidden
    forward = dense + adapter + attention
    if method == "full":
        total = 3 * forward
    else:  # input gradients through everything, weight gradients for the adapters only
        total = forward + (dense + adapter + 2 * attention) + adapter
    return total + (forward if recompute else 0)


def estimate(
    params: str | float | None = None,
    *,
    model: str | None = None,
    method: str = "lora",
    seq_len: int = 2048,
    batch: int = 1,
    gradient_checkpointing: bool = True,
    flash_attention: bool = True,
    lora_rank: int = 16,
    lora_targets: Sequence[str] = ALL_LINEAR,
    bits: int = 4,
    precision: str = "bf16",
    layers: int | None = None,
    hidden: int | None = None,
    vocab: int | None = None,
    tokens: str | float | None = None,
    epochs: float = 1.0,
    device: str = "A100",
    mfu: float = 0.4,
    peak_gflops: float | None = None,
    overhead_gib: float = DEFAULT_OVERHEAD_GIB,
) -> Plan:
    """Estimate peak memory and compute for fine-tuning one model on one device.

    `params` ("7B") or `model` (a known name, see models.KNOWN_MODELS) picks the shape;
    `layers`/`hidden`/`vocab` override it. `params`, when given, is the count used for
    weights and FLOPs. `bits` applies to qlora only. `tokens` ("10M", the dataset's tokens)
    times `epochs` is the budget for GPU-hours; without it only memory and throughput.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    if precision not in ("bf16", "fp32"):
        raise ValueError(f"unknown precision {precision!r}; expected bf16 or fp32")
    if method == "qlora" and bits not in QUANT_BITS:
        raise ValueError(f"qlora bits must be 4 or 8, got {bits}")
    for name, value in (("seq_len", seq_len), ("batch", batch), ("lora_rank", lora_rank)):
        if value < 1:
            raise ValueError(f"{name} must be positive, got {value}")
    if not 0 < mfu <= 1:
        raise ValueError(f"mfu must be in (0, 1], got {mfu}")
    if epochs <= 0:
        raise ValueError(f"epochs must be positive, got {epochs}")
    if params is None and model is None:
        raise ValueError("give a parameter count (e.g. 7B) or a known model name")

    count = parse_params(params) if params is not None else None
    shape = known_model(model) if model is not None else nearest_shape(count or 0.0)
    shape = override_shape(shape, layers, hidden, vocab)
    n = count if count is not None else float(shape.param_count)
    budget = parse_count(tokens, "token count") * epochs if tokens is not None else None
    hardware = get_device(device, peak_gflops)

    act = 2 if precision == "bf16" else 4
    adapters = 0 if method == "full" else adapter_params(shape, lora_rank, lora_targets)
    if method == "full":
        per_param = (2, 2, 12) if precision == "bf16" else (4, 4, 8)
        weights = n * per_param[0]
        gradients, optimizer = n * per_param[1], n * per_param[2]
        adapter_bytes = 0.0
    else:
        if method == "lora":
            weights, adapter_weight = n * act, 4  # PEFT keeps adapters in fp32
        else:
            embedded = min(shape.embedding_params, n)
            weights = embedded * act + (n - embedded) * QUANT_BITS[bits] / 8
            adapter_weight = act  # the QLoRA reference code casts adapters to bf16
        adapter_bytes = adapters * adapter_weight
        gradients, optimizer = adapters * adapter_weight, adapters * ADAM_BYTES

    memory = Memory(
        weights=weights,
        adapters=adapter_bytes,
        gradients=gradients,
        optimizer=optimizer,
        activations=activation_bytes(
            shape, seq_len, batch, act, gradient_checkpointing, flash_attention
        ),
        logits=batch * seq_len * shape.vocab * 4 * LOGIT_COPIES,
        overhead=overhead_gib * GIB,
    )
    return Plan(
        shape=shape,
        params=n,
        method=method,
        bits=bits if method == "qlora" else None,
        precision=precision,
        seq_len=seq_len,
        batch=batch,
        gradient_checkpointing=gradient_checkpointing,
        flash_attention=flash_attention,
        lora_rank=None if method == "full" else lora_rank,
        adapter_params=adapters,
        memory=memory,
        device=hardware,
        mfu=mfu,
        flops_per_token=flops_per_token(
            shape, n, adapters, method, seq_len, gradient_checkpointing
        ),
        tokens=budget,
    )

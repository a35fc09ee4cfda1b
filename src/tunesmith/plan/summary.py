"""A plan as (label, value) rows, ready for a two-column rich table; no printing here."""

from __future__ import annotations

from tunesmith.plan.estimate import Plan


def human_count(value: float) -> str:
    """7.0e9 -> '7B', 1.35e8 -> '135M', 1.5e4 -> '15K'."""
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if value >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def _duration(hours: float) -> str:
    if hours < 1:
        return f"{hours * 60:.1f} min"
    return f"{hours:,.1f} h" if hours < 48 else f"{hours:,.0f} h ({hours / 24:,.1f} days)"


def _method(plan: Plan) -> str:
    if plan.method == "full":
        return f"full fine-tune, {plan.precision}, AdamW"
    name = "LoRA" if plan.method == "lora" else f"QLoRA {plan.bits}-bit"
    return f"{name}, rank {plan.lora_rank}: {human_count(plan.adapter_params)} adapter params"


def summary_rows(plan: Plan) -> list[tuple[str, str]]:
    """Inputs, memory by component (GiB), whether it fits, throughput and GPU-hours."""
    shape = plan.shape
    rows = [
        ("model", f"{human_count(plan.params)} params, shape of {shape.name}"),
        (
            "shape",
            f"{shape.layers} layers, hidden {shape.hidden}, MLP {shape.intermediate}, "
            f"vocab {shape.vocab:,}",
        ),
        ("method", _method(plan)),
        (
            "batch x sequence",
            f"{plan.batch} x {plan.seq_len}, gradient checkpointing "
            f"{'on' if plan.gradient_checkpointing else 'off'}, "
            f"{'flash/SDPA' if plan.flash_attention else 'eager'} attention",
        ),
    ]
    rows += [(name, f"{gib:.2f} GiB") for name, gib in plan.breakdown.items()]
    device = plan.device
    if not device.is_cpu:
        verdict = "fits" if plan.fits(device.memory_gib) else "does NOT fit"
        rows.append((f"on one {device.name}", f"{verdict} in {device.memory_gib:.1f} GiB"))
    peak = (
        f"{device.peak_tflops * 1000:,.0f} GFLOP/s"
        if device.is_cpu
        else f"{device.peak_tflops:,.0f} TFLOP/s"
    )
    rows += [
        ("FLOPs per token", f"{plan.flops_per_token / 1e9:,.1f} GFLOP"),
        (
            "throughput",
            f"{plan.tokens_per_second:,.0f} tokens/s at {plan.mfu:.0%} of {peak} ({device.name})",
        ),
    ]
    if plan.tokens is not None and plan.gpu_hours is not None:
        unit = "CPU-hours" if device.is_cpu else "GPU-hours"
        rows += [
            ("tokens", human_count(plan.tokens)),
            ("training FLOPs", f"{plan.train_flops or 0:.3g}"),
            (unit, f"{plan.gpu_hours:,.2f} ({_duration(plan.gpu_hours)})"),
        ]
    return rows

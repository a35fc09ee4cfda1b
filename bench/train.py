"""Training speed: tunesmith train versus a plain TRL SFTTrainer + PEFT script, side by side.

Same data (Banking77, 20 intents, 800 rows), model (SmolLM2-135M-Instruct), LoRA rank and
targets, batch size, learning rate, steps and precision. Each side runs in its own process so
peak RSS is its own. TRL gets fp32 and no gradient checkpointing (its defaults, bf16 and
checkpointing, ran ~17x slower on this CPU, which would make the comparison meaningless),
prompt-completion records (loss on the answer only, as tunesmith) and its default collation.

MFU counts the FLOPs the task needs per real token, the same for both sides: the frozen
linear layers forward and input-gradient (4·N_linear), the LoRA matrices forward and both
gradients (6·N_lora), causal attention (6·layers·d·context/2 per token), and the LM head
(4·V·d) only at positions that carry loss. Padding and logits nobody trains on are waste,
not work. The peak is a large fp32 GEMM measured on the spot with the same threads.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))

from banking77 import prepare_workspace
from results import write_section

LORA = {"lora_r": 16, "lora_alpha": 32, "lora_dropout": 0.0}
SIDES = ["trl", "tunesmith", "tunesmith-qlora"]
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def gemm_peak(seconds: float = 2.0) -> float:
    """Best fp32 GFLOP/s of large square matmuls, each timed repeatedly for `seconds`."""
    best = 0.0
    for size in (2048, 3072, 4096):
        a, b = torch.randn(size, size), torch.randn(size, size)
        a @ b
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            a @ b
            best = max(best, 2 * size**3 / (time.perf_counter() - start) / 1e9)
    return best


def _records(dataset: Path) -> list[list[dict[str, str]]]:
    lines = (dataset / "train.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["messages"] for line in lines if line]


def flops_per_real_token(model_dir: Path, dataset: Path) -> tuple[float, float]:
    """FLOPs per real token on this dataset: what LoRA needs, and PaLM's 6N count."""
    from transformers import AutoConfig, AutoTokenizer

    from tunesmith.models.tokenize import IGNORE, encode
    from tunesmith.plan import ModelShape, adapter_params

    cfg = AutoConfig.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    shape = ModelShape(
        name=cfg.model_type,
        nominal=0,
        layers=cfg.num_hidden_layers,
        hidden=cfg.hidden_size,
        intermediate=cfg.intermediate_size,
        heads=cfg.num_attention_heads,
        kv_heads=cfg.num_key_value_heads,
        vocab=cfg.vocab_size,
    )
    d, layers, vocab = shape.hidden, shape.layers, shape.vocab
    n_linear = layers * sum(i * o for i, o in shape.linears().values())
    n_lora = adapter_params(shape, LORA["lora_r"], TARGETS)
    tokens = loss_positions = attention = 0
    for messages in _records(dataset):
        encoded = encode(tokenizer, messages, 10_000)
        if encoded is None:
            continue
        s = len(encoded.input_ids)
        tokens += s
        loss_positions += sum(label != IGNORE for label in encoded.labels[1:])
        attention += 6 * layers * d * s * s / 2  # QK^T and AV over half the context on average
    lora = 4 * n_linear + 6 * n_lora + (attention + 4 * vocab * d * loss_positions) / tokens
    # PaLM: 6N per token with N every matmul weight (LM head included), plus attention
    palm = 6 * (n_linear + vocab * d) + attention / tokens
    return lora, palm


def run_tunesmith(
    workspace: Path, steps: int, batch: int, lr: float, method: str = "lora"
) -> dict[str, float]:
    from tunesmith.config.workspace import Workspace
    from tunesmith.train.run import train

    ws = Workspace(workspace)
    config = ws.load_config()
    train_config = config.train.model_copy(
        update={
            **LORA,
            "method": method,
            "target_modules": TARGETS,
            "max_steps": steps,
            "batch_size": batch,
            "learning_rate": lr,
            "warmup_ratio": 0.0,
            "save_steps": 10_000,
            "logging_steps": 5,
        }
    )
    config = config.model_copy(update={"train": train_config})
    run = train(ws, config).path
    summary = json.loads((run / "summary.json").read_text())
    lineage = json.loads((run / "lineage.json").read_text())
    return {
        "seconds": summary["train_seconds"],
        "real_tokens": summary["real_tokens"],
        "padding_share": summary["padding_share"],
        "weight_gib": lineage["base_model"]["weight_bytes_in_memory"] / 2**30,
    }


def run_trl(workspace: Path, steps: int, batch: int, lr: float) -> dict[str, float]:
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    model_dir = workspace / ".tunesmith" / "models" / "smollm2-135m-instruct"
    rows = [
        {"prompt": m[:-1], "completion": m[-1:]}
        for m in _records(workspace / "datasets" / "banking77" / "v1")
    ]
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    args = SFTConfig(
        output_dir=tempfile.mkdtemp(),
        per_device_train_batch_size=batch,
        learning_rate=lr,
        max_steps=steps,
        lr_scheduler_type="cosine",
        logging_steps=5,
        save_strategy="no",
        report_to="none",
        bf16=False,
        gradient_checkpointing=False,
        use_cpu=True,
        seed=0,
        disable_tqdm=True,
    )
    peft_config = LoraConfig(
        **{"r": LORA["lora_r"], "lora_alpha": LORA["lora_alpha"]},
        lora_dropout=LORA["lora_dropout"],
        target_modules=TARGETS,
        task_type="CAUSAL_LM",
    )
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=peft_config,
    )
    collate, real, positions = trainer.data_collator, [0], [0]

    def counting(features: list[dict]) -> dict:
        batch = collate(features)
        real[0] += sum(len(f["input_ids"]) for f in features)
        positions[0] += batch["input_ids"].numel()
        return batch

    trainer.data_collator = counting
    start = time.perf_counter()
    trainer.train()
    from tunesmith.models.quantize import weight_bytes

    return {
        "seconds": time.perf_counter() - start,
        "real_tokens": real[0],
        "padding_share": 1 - real[0] / positions[0],
        "weight_gib": weight_bytes(trainer.model) / 2**30,
    }


def worker(args: argparse.Namespace) -> None:
    workspace = Path(args.workspace)
    if args.worker == "trl":
        result = run_trl(workspace, args.steps, args.batch, args.lr)
    else:
        method = "qlora" if args.worker == "tunesmith-qlora" else "lora"
        result = run_tunesmith(workspace, args.steps, args.batch, args.lr, method)
    result["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    Path(args.out).write_text(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--work", default=None, help="Folder for the workspace (default: temp).")
    parser.add_argument("--worker", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--workspace", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    from tunesmith.models.base import resolve_base_model

    root = Path(args.work or tempfile.mkdtemp(prefix="tunesmith-bench-"))
    ws, _, _ = prepare_workspace(root)
    base = resolve_base_model(ws.load_config().base_model, ws.state_dir / "models", ws.root)
    dataset = ws.dataset_dir("banking77") / "v1"
    per_token, full_6n = flops_per_real_token(base.path, dataset)
    peak = gemm_peak()
    results = {}
    for side in SIDES:
        out = root / f"{side}.json"
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--worker",
                side,
                "--workspace",
                str(root),
                "--out",
                str(out),
                "--steps",
                str(args.steps),
                "--batch",
                str(args.batch),
                "--lr",
                str(args.lr),
            ],
            check=True,
            env={**os.environ, "TUNESMITH_MLFLOW_URI": f"sqlite:///{root}/mlflow-{side}.db"},
        )
        results[side] = {**json.loads(out.read_text()), "wall": time.perf_counter() - started}
    rows = []
    for side, r in results.items():
        tps = r["real_tokens"] / r["seconds"]
        rows.append(
            f"| {side} | {r['real_tokens']:,} | {r['padding_share']:.1%} | {r['seconds']:.1f} "
            f"| {tps:.1f} | {tps * per_token / (peak * 1e9):.1%} "
            f"| {tps * full_6n / (peak * 1e9):.1%} | {r['weight_gib']:.3f} "
            f"| {r['peak_rss_gib']:.2f} |"
        )
    speed = {side: r["real_tokens"] / r["seconds"] for side, r in results.items()}
    weights = {side: r["weight_gib"] for side, r in results.items()}
    body = "\n".join(
        [
            "## Training speed: tunesmith vs plain TRL SFTTrainer + PEFT",
            "",
            f"SmolLM2-135M-Instruct, LoRA r={LORA['lora_r']} on all 7 linear layers, "
            f"batch {args.batch}, lr {args.lr}, {args.steps} steps, fp32, 2 threads, Banking77 "
            "(20 intents, 800 rows; CC BY 4.0, Casanueva et al. 2020). TRL 1.x with fp32 and "
            "no gradient checkpointing, prompt-completion records, default collation.",
            f"Measured fp32 GEMM peak: {peak:.1f} GFLOP/s. FLOPs per real token: "
            f"{per_token / 1e6:.0f} M needed by LoRA (frozen weights get no weight gradient; "
            f"LM head only where loss is taken), {full_6n / 1e6:.0f} M by PaLM's 6N convention.",
            "",
            "| trainer | real tokens | padding | train s | real tokens/s | MFU (LoRA FLOPs) "
            "| MFU (6N) | base weights GiB | peak RSS GiB |",
            "|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            f"tunesmith / TRL real-token throughput: **{speed['tunesmith'] / speed['trl']:.2f}x**. "
            f"QLoRA base weights in memory: "
            f"**{weights['tunesmith-qlora'] / weights['tunesmith']:.2f}x** of LoRA's "
            f"(embeddings stay fp32; NF4 linear layers with double-quantised scales).",
        ]
    )
    print(body)
    write_section("train-speed", body)


if __name__ == "__main__":
    main()

"""TRL's preference trainers as `tunesmith align` configures them, and their metrics log."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from tunesmith.config.align import AlignConfig
from tunesmith.config.reward import RewardConfig


class MetricsLog(TrainerCallback):
    """Every numeric value the trainer logs, one JSON line per event, passed on for progress."""

    def __init__(self, path: Path, report: Callable[[dict[str, float], int], None]) -> None:
        self.path, self.report = path, report

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        values = {k: float(v) for k, v in (logs or {}).items() if isinstance(v, int | float)}
        if not values:
            return
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"step": state.global_step, **values}) + "\n")
        self.report(values, state.global_step)


def _shared_head(chosen: str, rejected: str) -> str:
    """The whole lines both completions open with, without the newlines after them."""
    shorter = min(len(chosen), len(rejected))
    same = next((i for i in range(shorter) if chosen[i] != rejected[i]), shorter)
    # the newlines stay in the completions: a tokenizer merges "\n\n" at the end of a text
    # into one token but not before the next word, and the prompt must tokenize as a prefix
    return chosen[: chosen.rfind("\n", 0, same) + 1].rstrip("\n")


def pair_texts(
    pairs: list[dict[str, Any]], tokenizer: Any, move_shared_head: bool
) -> list[dict[str, str]] | None:
    """Pairs as TRL's prompt/completion strings, rendered by the chat template; with
    `move_shared_head` the lines both answers share (a classification's label line, which
    label-held pairs always share) end the prompt instead, so neither the DPO term nor the
    NLL term trains them (a preference pair is about the reply, not the route). None when
    the template cannot be split this way."""
    rows = []
    for pair in pairs:
        prompt = tokenizer.apply_chat_template(
            pair["prompt"], tokenize=False, add_generation_prompt=True
        )
        answers = []
        for side in ("chosen", "rejected"):
            full = tokenizer.apply_chat_template([*pair["prompt"], *pair[side]], tokenize=False)
            if not full.startswith(prompt):
                return None
            # TRL appends the EOS token to a completion that does not end with it
            answers.append(full[len(prompt) :].rstrip("\n"))
        head = _shared_head(*answers) if move_shared_head else ""
        rows.append(
            {
                "prompt": prompt + head,
                "chosen": answers[0][len(head) :],
                "rejected": answers[1][len(head) :],
            }
        )
    return rows


def replay_rows(dataset_file: Path, count: int, seed: int) -> list[dict[str, Any]]:
    """`count` records of the SFT run's training split (a seeded sample; every record once
    before any repeats) as rows whose chosen answer is also the rejected one: the DPO and
    ORPO preference terms are constant on such a row, so only the NLL term trains it, on
    the task the SFT run learned, label line included."""
    records = [json.loads(line) for line in dataset_file.open(encoding="utf-8") if line.strip()]
    if not records or count <= 0:
        return []
    rng = random.Random(seed)
    order: list[dict[str, Any]] = []
    while len(order) < count:
        order += rng.sample(records, len(records))
    rows = []
    for record in order[:count]:
        messages = [{"role": m["role"], "content": m["content"]} for m in record["messages"]]
        answer = [messages[-1]]
        rows.append({"prompt": messages[:-1], "chosen": answer, "rejected": answer})
    return rows


def preference_arguments(
    settings: AlignConfig | RewardConfig, run_dir: Path, has_val: bool, hw: dict[str, Any]
) -> dict[str, Any]:
    """The TRL config fields pair trainers share (DPO, ORPO, reward): length, checkpoints,
    evaluation, and precision from the hardware."""
    return {
        "output_dir": str(run_dir / "checkpoints"),
        "per_device_train_batch_size": settings.batch_size,
        "per_device_eval_batch_size": settings.batch_size,
        "gradient_accumulation_steps": settings.grad_accum,
        "learning_rate": settings.learning_rate,
        "num_train_epochs": settings.epochs,
        "max_steps": settings.max_steps or -1,
        "warmup_steps": settings.warmup_ratio,  # below 1: a ratio of all steps
        "lr_scheduler_type": "cosine",
        "seed": settings.seed,
        "data_seed": settings.seed,
        "logging_steps": settings.logging_steps,
        "save_strategy": "steps",
        "save_steps": settings.save_steps,
        "save_total_limit": 2,  # with one, a crash mid-save could leave none
        "eval_strategy": "steps" if has_val else "no",
        "eval_steps": settings.save_steps,
        # bf16 only where the hardware has it; checkpointing costs compute a small model lacks
        "bf16": hw["bf16"],
        "use_cpu": hw["device"] == "cpu",
        "gradient_checkpointing": False,
        "report_to": "none",
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
    }


def build_trainer(
    model: Any,
    tokenizer: Any,
    settings: AlignConfig,
    run_dir: Path,
    train_pairs: list[dict[str, Any]],
    val_pairs: list[dict[str, Any]],
    hw: dict[str, Any],
    replay: list[dict[str, Any]] | None = None,
) -> Any:
    """TRL's DPO or ORPO trainer over the pairs (and the replayed SFT records), in the
    precision the hardware supports."""
    from datasets import Dataset

    common = preference_arguments(settings, run_dir, bool(val_pairs), hw) | {
        "beta": settings.beta,
        "max_length": settings.max_length,
    }
    fields = ("prompt", "chosen", "rejected")
    train_rows = pair_texts(train_pairs, tokenizer, settings.shared_head_in_prompt)
    val_rows = pair_texts(val_pairs, tokenizer, settings.shared_head_in_prompt)
    # a replayed answer is its own rejected: nothing of it may move into the prompt
    replay_texts = pair_texts(replay or [], tokenizer, move_shared_head=False)
    if train_rows is None or val_rows is None or replay_texts is None:
        # conversational: TRL renders the template
        train_rows = [{f: p[f] for f in fields} for p in [*train_pairs, *(replay or [])]]
        val_rows = [{f: p[f] for f in fields} for p in val_pairs]
    else:
        train_rows += replay_texts
    train = Dataset.from_list(train_rows)
    val = Dataset.from_list(val_rows) if val_rows else None
    if settings.method == "orpo":
        from trl.experimental.orpo import ORPOConfig, ORPOTrainer

        args = ORPOConfig(**common)
        return ORPOTrainer(
            model=model,
            args=args,
            train_dataset=train,
            eval_dataset=val,
            processing_class=tokenizer,
        )
    from trl import DPOConfig, DPOTrainer

    losses = [settings.loss_type] + (["sft"] if settings.sft_weight else [])
    args = DPOConfig(
        **common,
        loss_type=losses,
        loss_weights=[1.0, settings.sft_weight] if settings.sft_weight else None,
        precompute_ref_log_probs=True,
    )
    return DPOTrainer(
        model=model, args=args, train_dataset=train, eval_dataset=val, processing_class=tokenizer
    )

"""transformers' TrainingArguments from the `train:` section and the hardware found."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunesmith.config import TrainConfig

if TYPE_CHECKING:
    from transformers import TrainingArguments


def world_size() -> int:
    """How many processes torchrun started (1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def training_arguments(
    tc: TrainConfig, output_dir: Path, has_val: bool, hw: dict[str, Any]
) -> TrainingArguments:
    """Checkpoints in `output_dir`; with a val split, evaluation and the best model kept."""
    from transformers import TrainingArguments

    args = TrainingArguments(
        output_dir=str(output_dir),
        per_device_train_batch_size=tc.batch_size,
        per_device_eval_batch_size=tc.batch_size,
        gradient_accumulation_steps=tc.grad_accum,
        learning_rate=tc.learning_rate,
        num_train_epochs=tc.epochs,
        max_steps=tc.max_steps or -1,
        warmup_steps=tc.warmup_ratio,  # a float below 1 is a ratio of all steps
        lr_scheduler_type=tc.scheduler,
        weight_decay=tc.weight_decay,
        seed=tc.seed,
        data_seed=tc.seed,
        logging_steps=tc.logging_steps,
        logging_nan_inf_filter=False,  # the divergence guard must see a NaN, not a stand-in
        eval_strategy="steps" if has_val else "no",
        eval_steps=tc.eval_steps,
        save_strategy="steps",
        save_steps=tc.save_steps,
        save_total_limit=2,  # the best and the latest; with fewer, a crash could leave none
        load_best_model_at_end=has_val,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        train_sampling_strategy="group_by_length",
        bf16=hw["bf16"],
        use_cpu=hw["device"] == "cpu",
        ddp_backend="gloo" if hw["device"] == "cpu" and world_size() > 1 else None,
        report_to="none",
        disable_tqdm=True,
        remove_unused_columns=False,
        dataloader_num_workers=0,
    )
    if world_size() == 1 and args.n_gpu > 1:
        # one process over several GPUs would be nn.DataParallel, which splits every tensor
        # argument (logits_to_keep too) across replicas; several GPUs are used via --nproc
        args._n_gpu = 1
    return args

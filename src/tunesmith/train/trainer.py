"""transformers' Trainer with the LM head applied only where loss is taken.

The 49k-token vocabulary projection is about a fifth of SmolLM2's compute; most positions of
a chat (system prompt, user turn, padding) carry no loss. The model's own forward is called
(so DDP synchronises gradients) with `logits_to_keep` set to the positions where any row of
the batch has a label; length-grouped batches keep that union close to the exact set.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from transformers import Trainer
from transformers.trainer_pt_utils import LengthGroupedSampler

from tunesmith.models.tokenize import IGNORE


class CheckpointSaveError(RuntimeError):
    """Writing a checkpoint failed (most often a full disk); the cause is chained."""


class SelectiveHeadTrainer(Trainer):
    """Trainer whose loss applies the LM head at label positions only, and counts real tokens."""

    real_tokens: int = 0
    batch_positions: int = 0  # real tokens plus padding: what the decoder actually computed

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        # A full disk surfaces as OSError, safetensors' SafetensorError or torch.save's
        # RuntimeError depending on which file was being written; name them all alike.
        try:
            super()._save_checkpoint(model, trial)
        except Exception as err:
            raise CheckpointSaveError(f"{type(err).__name__}: {err}") from err

    def _get_train_sampler(self, train_dataset: Any = None) -> Any:
        # Group lengths over the global batch (devices x accumulation) so N processes see the
        # same sequences per optimizer step as one process accumulating N micro-batches.
        sampler = super()._get_train_sampler(train_dataset)
        if isinstance(sampler, LengthGroupedSampler):
            sampler.batch_size = (
                self.args.per_device_train_batch_size
                * self.args.gradient_accumulation_steps
                * self.args.world_size
            )
        return sampler

    def compute_loss(
        self,
        model: torch.nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, Any]:
        labels = inputs["labels"]
        attention_mask = inputs["attention_mask"]
        if model.training:
            counts = torch.stack([attention_mask.sum(), torch.tensor(attention_mask.numel())])
            if self.args.world_size > 1:  # ranks pad to their own longest sequence
                counts = self.accelerator.gather(counts.reshape(1, 2)).sum(dim=0)
            self.real_tokens += int(counts[0])
            self.batch_positions += int(counts[1])
        targets = labels[:, 1:]
        keep = targets != IGNORE
        # position p predicts token p+1: keep the hidden states before every labelled token
        positions = keep.any(dim=0).nonzero().flatten()
        out = model(
            input_ids=inputs["input_ids"], attention_mask=attention_mask, logits_to_keep=positions
        )
        kept = keep[:, positions]
        logits = out.logits[kept]
        total = F.cross_entropy(logits.float(), targets[:, positions][kept], reduction="sum")
        count = num_items_in_batch if num_items_in_batch is not None else keep.sum()
        loss = total / torch.clamp(torch.as_tensor(count, dtype=total.dtype), min=1)
        if num_items_in_batch is not None and self.args.average_tokens_across_devices:
            # the count is global across processes while DDP averages gradients: undo that
            loss = loss * self.accelerator.num_processes
        return (loss, {"logits": logits}) if return_outputs else loss

"""A reward model: the base model with a scalar head and a LoRA adapter, scoring answers.

Training (`train/reward.py`) and every use (evaluation, best-of-n, judging) tokenize a
(prompt, answer) pair with `pair_ids`, so a score means the same thing everywhere: the chat
template over the prompt turns and the answer as the assistant's turn. The score is the head's
output at the last token (transformers' sequence-classification pooling).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tunesmith.config.reward import RewardConfig
from tunesmith.models.run_model import RunModelError, recorded_base, trained_in
from tunesmith.store.runs import REWARD_FILE, is_reward_run


def pair_ids(tokenizer: Any, prompt: list[dict[str, Any]], answer: str) -> list[int]:
    """The token ids of `prompt` followed by `answer` as the assistant's turn."""
    messages = [*prompt, {"role": "assistant", "content": answer}]
    ids = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"]
    return list(ids)


def scalar_head_model(base_path: Path, dtype: torch.dtype) -> tuple[Any, Any]:
    """The base model with a fresh one-output head (seeded by the caller), and its tokenizer."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForSequenceClassification.from_pretrained(base_path, num_labels=1, dtype=dtype)
    model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


@dataclass
class RewardModel:
    """A reward model ready to score: the run it came from (or is training in) and the
    settings it trained with."""

    run_id: str
    model: Any
    tokenizer: Any
    settings: RewardConfig

    @torch.no_grad()
    def score(
        self, prompts: list[list[dict[str, Any]]], answers: list[str], batch_size: int = 8
    ) -> list[float]:
        """One reward per (prompt, answer); a pair longer than max_length keeps its end (the
        answer is what is scored)."""
        sequences = [
            pair_ids(self.tokenizer, p, a)[-self.settings.max_length :]
            for p, a in zip(prompts, answers, strict=True)
        ]
        pad = self.tokenizer.pad_token_id
        device = next(self.model.parameters()).device
        scores: list[float] = []
        for start in range(0, len(sequences), batch_size):
            batch = sequences[start : start + batch_size]
            width = max(len(s) for s in batch)
            # left padding: the last position is every row's last real token
            ids = torch.tensor([[pad] * (width - len(s)) + s for s in batch], device=device)
            mask = torch.tensor(
                [[0] * (width - len(s)) + [1] * len(s) for s in batch], device=device
            )
            # positions count real tokens only, so a padded row scores as it would alone
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            out = self.model(input_ids=ids, attention_mask=mask, position_ids=positions)
            scores.extend(out.logits[:, 0].float().tolist())
        return scores

    def margins(self, pairs: list[dict[str, Any]]) -> list[float]:
        """Chosen minus rejected reward of each preference pair; above 0: the human's pick."""
        prompts = [p["prompt"] for p in pairs]
        chosen = self.score(prompts, [str(p["chosen"][-1]["content"]) for p in pairs])
        rejected = self.score(prompts, [str(p["rejected"][-1]["content"]) for p in pairs])
        return [c - r for c, r in zip(chosen, rejected, strict=True)]


def pairwise_accuracy(margins: list[float]) -> float | None:
    """Share of pairs the model orders as the human did; a tie counts against it."""
    return sum(m > 0 for m in margins) / len(margins) if margins else None


def load_reward_model(run_dir: Path) -> RewardModel:
    """A finished reward run's model on the best device, in the dtype it trained in."""
    from peft import PeftModel
    from transformers import AutoTokenizer

    from tunesmith.models.hardware import hardware

    if not is_reward_run(run_dir) or not (run_dir / "summary.json").is_file():
        raise RunModelError(f"'{run_dir.name}' is not a finished reward-model run")
    lineage = json.loads((run_dir / "lineage.json").read_text(encoding="utf-8"))
    marker = json.loads((run_dir / REWARD_FILE).read_text(encoding="utf-8"))
    settings = RewardConfig.model_validate(marker["reward"])
    base, _ = scalar_head_model(recorded_base(run_dir.name, lineage), trained_in(lineage))
    adapter_dir = run_dir / "adapter"
    model = PeftModel.from_pretrained(base, adapter_dir)
    tokenizer = AutoTokenizer.from_pretrained(adapter_dir)
    model.eval().to(hardware()["device"])
    return RewardModel(run_dir.name, model, tokenizer, settings)

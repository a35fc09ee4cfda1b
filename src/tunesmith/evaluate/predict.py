"""One model, one prompt setting, all rows: answers (or labels) and what they cost."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from tunesmith.config import EvalConfig, TaskConfig
from tunesmith.data.rows import EvalInputError
from tunesmith.models.generate import generate
from tunesmith.models.grammar import ToolGrammars
from tunesmith.models.labels import parse_label
from tunesmith.models.scoring import build_trie, score_labels
from tunesmith.models.tokenize import IGNORE, Messages, encode, tokenize_prompts


@dataclass(frozen=True)
class Predictions:
    """Per row: the answer text (generation) or the label (scoring), and the cost of the pass."""

    answers: list[str]
    labels: list[str | None] | None
    margins: list[float] | None
    prompt_tokens: list[int]
    seconds: float
    method: str


def predict(
    model: Any,
    tokenizer: Any,
    prompts: list[Messages],
    task: TaskConfig,
    settings: EvalConfig,
    method: str,
    on_batch: Callable[[int], None] | None = None,
    tools: list[list[dict[str, Any]] | None] | None = None,
) -> Predictions:
    """Labels by `scoring` or `generation` for classification; generated answers otherwise
    (tool calls under their tools' grammar when `eval.constrain_tools`)."""
    ids = tokenize_prompts(tokenizer, prompts, tools)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    started = time.perf_counter()
    labels = margins = None
    if task.type == "classification" and method == "scoring":
        assert task.labels is not None
        try:
            trie = build_trie(tokenizer, task.labels, task.answer_prefix)
        except ValueError as err:
            raise EvalInputError(f"task.labels: {err}") from None
        scores = score_labels(model, ids, trie, pad, settings.batch_size, on_batch)
        # confidence of the choice: probability mass of the best label minus the runner-up
        probs = torch.softmax(scores, dim=1)
        top = probs.topk(2, dim=1).values
        labels = [task.labels[i] for i in scores.argmax(dim=1).tolist()]
        margins = (top[:, 0] - top[:, 1]).tolist()
        answers = [f"{task.answer_prefix}{label}" for label in labels]
    else:
        grammars = None
        if task.type == "tool_calling" and settings.constrain_tools and tools:
            compiler = ToolGrammars(model, tokenizer)
            grammars = [compiler.for_tools(t or []) for t in tools]
        answers = generate(
            model,
            tokenizer,
            ids,
            settings.max_new_tokens,
            settings.batch_size,
            on_batch,
            grammars=grammars,
        )
        if task.type == "classification":
            assert task.labels is not None
            labels = [parse_label(a, task.labels, task.answer_prefix) for a in answers]
    seconds = time.perf_counter() - started
    return Predictions(answers, labels, margins, [len(i) for i in ids], seconds, method)


def perplexity(
    model: Any, tokenizer: Any, records: list[dict[str, Any]], max_length: int, batch_size: int = 4
) -> float | None:
    """exp(mean negative log-likelihood) of the assistant tokens, as training scored them."""
    encoded = [
        e
        for r in records
        if (e := encode(tokenizer, r["messages"], max_length, truncate=True, tools=r.get("tools")))
    ]
    if not encoded:
        return None
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for start in range(0, len(encoded), batch_size):
        batch = encoded[start : start + batch_size]
        width = max(len(e.input_ids) for e in batch)
        ids = torch.zeros((len(batch), width), dtype=torch.long)
        labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, e in enumerate(batch):
            ids[i, : len(e.input_ids)] = torch.tensor(e.input_ids)
            labels[i, : len(e.labels)] = torch.tensor(e.labels)
            mask[i, : len(e.input_ids)] = 1
        with torch.inference_mode():
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
        targets = labels[:, 1:].to(device)
        nll = torch.nn.functional.cross_entropy(
            logits[:, :-1].float().transpose(1, 2), targets, ignore_index=IGNORE, reduction="sum"
        )
        total += nll.item()
        count += int((targets != IGNORE).sum())
    return math.exp(total / count) if count else None

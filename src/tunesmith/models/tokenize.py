"""ChatML records to token ids and labels, with loss on the assistant's tokens only.

The chat template renders the whole conversation once; an assistant turn's span runs from
the end of the prompt the template builds for it (`add_generation_prompt`) to the end of the
conversation up to and including that turn, so the end-of-turn token is a label and the
tuned model learns to stop. Token offsets map those character spans to labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tunesmith.models.tools import Tool, template_inputs

IGNORE = -100

Messages = list[dict[str, Any]]


@dataclass(frozen=True)
class Encoded:
    """One training sequence; `labels` is IGNORE where no loss is taken."""

    input_ids: list[int]
    labels: list[int]
    truncated: bool


def _render(
    tokenizer: Any, messages: Messages, generation_prompt: bool, tools: list[Tool] | None = None
) -> str:
    turns, extra = template_inputs(tokenizer, messages, tools)
    return tokenizer.apply_chat_template(
        turns, tokenize=False, add_generation_prompt=generation_prompt, **extra
    )


def assistant_spans(
    tokenizer: Any, messages: Messages, tools: list[Tool] | None = None
) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character spans of each assistant turn (its calls
    included); tool results and the tool list lie outside every span."""
    text = _render(tokenizer, messages, False, tools)
    spans = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        start = len(_render(tokenizer, messages[:i], True, tools))
        end = len(_render(tokenizer, messages[: i + 1], False, tools))
        if text[:end] != _render(tokenizer, messages[: i + 1], False, tools):
            raise ValueError("chat template is not prefix-stable; cannot locate assistant turns")
        spans.append((start, end))
    return text, spans


def encode(
    tokenizer: Any,
    messages: Messages,
    max_length: int,
    loss_on: str = "assistant",
    truncate: bool = False,
    tools: list[Tool] | None = None,
) -> Encoded | None:
    """Token ids and labels, or None when the sequence is too long and may not be cut."""
    text, spans = assistant_spans(tokenizer, messages, tools)
    encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids: list[int] = encoding["input_ids"]
    if loss_on == "all":
        labels = list(ids)
    else:
        labels = [
            token if any(s <= start < e for s, e in spans) else IGNORE
            for token, (start, _) in zip(ids, encoding["offset_mapping"], strict=True)
        ]
    truncated = len(ids) > max_length
    if truncated:
        if not truncate:
            return None
        ids, labels = ids[:max_length], labels[:max_length]
    if all(label == IGNORE for label in labels[1:]):
        return None  # nothing to learn from (e.g. the answer was cut off entirely)
    return Encoded(ids, labels, truncated)


def tokenize_prompts(
    tokenizer: Any, prompts: list[Messages], tools: list[list[Tool] | None] | None = None
) -> list[list[int]]:
    """Each conversation's tokens up to where the assistant's answer starts; `tools` holds
    each prompt's tool list (or None) when there are any."""
    listed = tools if tools is not None else [None] * len(prompts)
    return [
        tokenizer(_render(tokenizer, p, True, t), add_special_tokens=False)["input_ids"]
        for p, t in zip(prompts, listed, strict=True)
    ]

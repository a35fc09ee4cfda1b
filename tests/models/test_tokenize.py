from __future__ import annotations

from pathlib import Path

from transformers import AutoTokenizer

from tunesmith.models.tokenize import IGNORE, encode

MESSAGES = [
    {"role": "system", "content": "You are the support assistant"},
    {"role": "user", "content": "my order never arrived"},
    {"role": "assistant", "content": "Queue : shipping"},
]


def test_labels_cover_the_assistant_turn_and_its_end_token(tiny_model_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    encoded = encode(tokenizer, MESSAGES, max_length=256)
    assert encoded is not None and not encoded.truncated
    labelled = [t for t in encoded.labels if t != IGNORE]
    text = tokenizer.decode(labelled)
    assert "shipping" in text and "<|im_end|>" in text
    assert "order" not in text and "support" not in text


def test_too_long_is_dropped_or_cut_by_policy(tiny_model_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    assert encode(tokenizer, MESSAGES, max_length=12) is None
    long_answer = [*MESSAGES[:2], {"role": "assistant", "content": "Queue : shipping " * 20}]
    cut = encode(tokenizer, long_answer, max_length=24, truncate=True)
    assert cut is not None and cut.truncated and len(cut.input_ids) == 24

from __future__ import annotations

from pathlib import Path

from transformers import AutoTokenizer

from tunesmith.train.align_trainer import pair_texts

PROMPT = [{"role": "user", "content": "my card was charged twice"}]


def pair(chosen: str, rejected: str) -> dict:
    return {
        "prompt": PROMPT,
        "chosen": [{"role": "assistant", "content": chosen}],
        "rejected": [{"role": "assistant", "content": rejected}],
    }


def test_the_shared_label_line_ends_the_prompt_and_leaves_the_losses(tiny_model_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    same_label = pair("Queue: billing\n\nWe refunded it.", "Queue: billing\n\nHello.\n\nWe will.")
    other_label = pair("Queue: billing\n\nWe refunded it.", "Queue: returns\n\nWe will.")
    rows = pair_texts([same_label, other_label], tokenizer, move_shared_head=True)
    assert rows is not None
    moved, kept = rows
    generation_prompt = tokenizer.apply_chat_template(
        PROMPT, tokenize=False, add_generation_prompt=True
    )
    assert moved["prompt"] == generation_prompt + "Queue: billing"
    assert moved["chosen"].startswith("\n\nWe refunded") and "Queue" not in moved["chosen"]
    assert moved["rejected"].startswith("\n\nHello.")
    # answers that differ on their first line keep it: there it is what the pair teaches
    assert kept["prompt"] == generation_prompt
    assert kept["rejected"].startswith("Queue: returns")
    # each completion ends on the end-of-turn token, as TRL would otherwise append it
    assert all(r[s].endswith(tokenizer.eos_token) for r in rows for s in ("chosen", "rejected"))
    for row in rows:  # the prompt tokenizes as a prefix of prompt + completion
        ids = tokenizer(row["prompt"])["input_ids"]
        assert tokenizer(row["prompt"] + row["chosen"])["input_ids"][: len(ids)] == ids


def test_without_the_setting_every_answer_stays_whole(tiny_model_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    rows = pair_texts([pair("Queue: billing\n\nA.", "Queue: billing\n\nB.")], tokenizer, False)
    assert rows is not None and rows[0]["chosen"].startswith("Queue: billing")

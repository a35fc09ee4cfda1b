from __future__ import annotations

import json
from pathlib import Path

from transformers import AutoTokenizer

from tunesmith.train.align_trainer import pair_texts, replay_rows

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


def test_replayed_records_are_their_own_rejected_answer(tmp_path: Path) -> None:
    records = [
        {"messages": [{"role": "user", "content": f"ticket {i}"},
                      {"role": "assistant", "content": f"Queue: billing\n\nReply {i}."}]}
        for i in range(3)
    ]  # fmt: skip
    split = tmp_path / "train.jsonl"
    split.write_text("".join(json.dumps(r) + "\n" for r in records))
    rows = replay_rows(split, 5, seed=0)
    assert len(rows) == 5 and rows == replay_rows(split, 5, seed=0)
    # every record once before any repeats
    assert len({r["prompt"][0]["content"] for r in rows[:3]}) == 3
    assert all(r["chosen"] == r["rejected"] for r in rows)
    assert rows[0]["chosen"][0]["content"].startswith("Queue: billing")

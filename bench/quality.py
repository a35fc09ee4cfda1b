"""Does LoRA on SmolLM2-135M beat the base model prompted with the label list? Banking77.

20 intents (seed 0), 800 train rows, one epoch of `tunesmith train`, then exact-label accuracy
on 200 held-out rows of Banking77's test split by greedy generation:
  - base: SmolLM2-135M-Instruct, system prompt listing the 20 allowed intent names;
  - tuned: the LoRA adapter with the short production prompt it was trained with.
Banking77: CC BY 4.0, Casanueva et al. 2020, arXiv:2003.04807.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))

from banking77 import SYSTEM, prepare_workspace
from results import write_section


def listed_prompt(labels: list[str]) -> str:
    return (
        "Classify the banking customer's message into exactly one of these intents: "
        + ", ".join(labels)
        + ". Answer with the intent name only."
    )


def generate_labels(
    model: torch.nn.Module, tokenizer: object, system: str, texts: list[str], batch: int = 8
) -> list[str]:
    """Greedy answers, stripped; left padding so every prompt ends where generation starts."""
    tokenizer.padding_side = "left"
    answers = []
    for start in range(0, len(texts), batch):
        prompts = [
            tokenizer.apply_chat_template(
                [{"role": "system", "content": system}, {"role": "user", "content": text}],
                tokenize=False,
                add_generation_prompt=True,
            )
            for text in texts[start : start + batch]
        ]
        encoded = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            out = model.generate(
                **encoded,
                max_new_tokens=16,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
            )
        new = out[:, encoded["input_ids"].shape[1] :]
        answers += [a.strip() for a in tokenizer.batch_decode(new, skip_special_tokens=True)]
    return answers


def accuracy(answers: list[str], gold: list[str]) -> float:
    return sum(a == g for a, g in zip(answers, gold, strict=True)) / len(gold)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--work", default=None, help="Folder for the workspace (default: temp).")
    args = parser.parse_args()
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tunesmith.train.run import train

    root = Path(args.work or tempfile.mkdtemp(prefix="tunesmith-quality-"))
    train_config = {"learning_rate": args.lr, "epochs": args.epochs, "save_steps": 10_000}
    ws, labels, test_rows = prepare_workspace(root, **train_config)
    started = time.perf_counter()
    result = train(ws, ws.load_config())
    train_minutes = (time.perf_counter() - started) / 60
    texts, gold = [r["text"] for r in test_rows], [r["category"] for r in test_rows]

    base_dir = ws.state_dir / "models" / "smollm2-135m-instruct"
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32).eval()
    base_answers = generate_labels(model, tokenizer, listed_prompt(labels), texts)
    tuned = PeftModel.from_pretrained(model, result.path / "adapter").eval()
    tuned_answers = generate_labels(tuned, tokenizer, SYSTEM, texts)

    base_acc, tuned_acc = accuracy(base_answers, gold), accuracy(tuned_answers, gold)
    valid = set(labels)
    rows = [
        ("base, prompted with the 20 labels", base_acc, base_answers),
        ("LoRA, 1 epoch, short prompt", tuned_acc, tuned_answers),
    ]
    table = [
        "| model | exact-label accuracy | answers that are a valid label |",
        "|---|---|---|",
        *(
            f"| {name} | {acc:.3f} | {sum(a in valid for a in ans) / len(ans):.3f} |"
            for name, acc, ans in rows
        ),
    ]
    body = "\n".join(
        [
            "## Quality: Banking77, LoRA vs the prompted base",
            "",
            "SmolLM2-135M-Instruct; 20 intents (seed 0), 800 train rows (798 after dedup), "
            f"200 test rows from Banking77's test split; LoRA r=16, lr {args.lr}, "
            f"{args.epochs:g} epoch ({result.steps} steps, {train_minutes:.1f} min on this CPU); "
            "greedy decoding, exact match. Banking77: CC BY 4.0, Casanueva et al. 2020.",
            "",
            *table,
            "",
            f"Lift: **{tuned_acc - base_acc:+.3f}** accuracy.",
        ]
    )
    print(body)
    write_section("train-quality", body)


if __name__ == "__main__":
    main()

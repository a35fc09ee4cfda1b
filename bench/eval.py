"""Prompting versus fine-tuning, and label scoring versus generation, in one run.

Two workspaces: the bundled support-tickets example (its shipped config: 24 LoRA steps) and
Banking77 (20 intents, 800 train rows, 1 epoch; 200 rows of its test split). On each, the
same held-out rows go through the base model zero-shot, the base model few-shot and the
fine-tuned model, and each setting is classified three ways:
  - scoring: `tunesmith eval`'s label log-likelihood (shared prefix cached, label trie);
  - free generation: greedy until the model stops, at most --free-tokens new tokens;
  - label-line generation: greedy, at most --line-tokens new tokens (enough for any label).
Banking77: CC BY 4.0, Casanueva et al. 2020, arXiv:2003.04807.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from banking77 import prepare_workspace
from results import write_section
from tunesmith.config import ProjectConfig
from tunesmith.config.workspace import Workspace
from tunesmith.data.rows import read_rows
from tunesmith.evaluate import prompts
from tunesmith.evaluate.predict import predict
from tunesmith.evaluate.run import evaluate
from tunesmith.evaluate.score_model import task_metrics
from tunesmith.models.load import base_of, load_model
from tunesmith.registry.references import resolve_target


def finished_run(folder: Path) -> str | None:
    """A run already trained in `folder` by an earlier call (--work reuses it); the adapter
    variants bench/serve.py derives from it are not trained runs."""
    runs = sorted(p for p in folder.glob("runs/*/summary.json") if "-variant" not in p.parent.name)
    return runs[-1].parent.name if runs else None


def example_workspace(root: Path) -> tuple[Workspace, str, Path | None]:
    from tunesmith.data.curate import curate
    from tunesmith.examples.scaffold import create_workspace
    from tunesmith.train.run import train

    folder = root / "support-tickets"
    if (run_id := finished_run(folder)) is not None:
        return Workspace(folder), run_id, None
    ws = Workspace(create_workspace(folder, "support-tickets"))
    curate(ws, ws.load_config().data, workers=1)
    return ws, train(ws, ws.load_config()).run_id, None


def banking_workspace(root: Path) -> tuple[Workspace, str, Path]:
    import yaml

    from tunesmith.train.run import train

    folder = root / "banking77"
    if (run_id := finished_run(folder)) is not None and (folder / "test.jsonl").is_file():
        return Workspace(folder), run_id, folder / "test.jsonl"
    ws, labels, test_rows = prepare_workspace(
        folder, learning_rate=1e-3, epochs=1.0, save_steps=10_000, eval_steps=10_000
    )
    raw = yaml.safe_load(ws.config_path.read_text())
    raw["task"] = {"type": "classification", "labels": labels, "label_field": "category"}
    raw["eval"] = {"few_shot": len(labels)}
    ws.config_path.write_text(yaml.safe_dump(raw, sort_keys=False))
    system = raw["data"]["template"]["system"]
    test = folder / "test.jsonl"
    with test.open("w", encoding="utf-8") as handle:
        for i, row in enumerate(test_rows):
            messages = [
                {"role": "system", "content": system},
                {"role": "user", "content": row["text"]},
                {"role": "assistant", "content": row["category"]},
            ]
            record = {"messages": messages, "meta": {"id": f"t{i}", "category": row["category"]}}
            handle.write(json.dumps(record) + "\n")
    return ws, train(ws, ws.load_config()).run_id, test


def generation_rows(
    ws: Workspace, config: ProjectConfig, run_id: str, data: Path | None, tokens: dict[str, int]
) -> list[dict[str, object]]:
    """Each prompt setting classified by generation, with accuracy and seconds per row."""
    task = config.task
    target = resolve_target(ws, config, run_id)
    name, version = target.dataset
    folder = ws.dataset_dir(name) / version
    rows = read_rows(data or folder / "test.jsonl", task)
    system = next(m["content"] for m in rows[0].prompt if m["role"] == "system")
    instruction = prompts.instruction(task, system)
    examples = prompts.pick_examples(
        read_rows(folder / "train.jsonl", task), task, config.eval.few_shot, 0
    )
    base, tokenizer = load_model(ws, base_of(target))
    tuned, _ = load_model(ws, target)
    settings = [
        ("base, zero-shot", base, [prompts.zero_shot(r, instruction) for r in rows]),
        ("base, few-shot", base, [prompts.few_shot(r, instruction, examples, task) for r in rows]),
        ("fine-tuned", tuned, [r.prompt for r in rows]),
    ]
    out = []
    for setting, model, prompt_list in settings:
        for mode, limit in tokens.items():
            limited = config.eval.model_copy(update={"max_new_tokens": limit})
            started = time.perf_counter()
            preds = predict(model, tokenizer, prompt_list, task, limited, "generation")
            seconds = time.perf_counter() - started
            accuracy = task_metrics(config, rows, preds, list(range(len(rows))))["accuracy"]
            out.append(
                {"setting": setting, "mode": mode, "accuracy": accuracy, "s": seconds / len(rows)}
            )
            print(f"  {setting} {mode}: {accuracy:.3f}, {1000 * seconds / len(rows):.0f} ms/row")
    return out


def section(title: str, report: dict, generated: list[dict[str, object]]) -> list[str]:
    lines = [
        f"### {title}",
        "",
        f"{report['data']['rows']} held-out rows; model `{report['model']['ref']}`.",
        "",
        "| setting | prompt tokens / request | accuracy: scoring | ms / row: scoring "
        "| accuracy: free gen. | ms / row: free gen. | scoring speed-up vs free gen. "
        "| accuracy: label-line gen. | ms / row: label-line gen. | speed-up vs label-line |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    shorts = ("base, zero-shot", "base, few-shot", "fine-tuned")
    for entry, short in zip(report["compare"], shorts, strict=True):
        score_ms = entry["latency_ms_per_request"]
        free = next(g for g in generated if g["setting"] == short and g["mode"] == "free")
        line = next(g for g in generated if g["setting"] == short and g["mode"] == "line")
        lines.append(
            f"| {entry['setting']} | {entry['prompt_tokens_per_request']:.0f} "
            f"| {entry['metrics']['accuracy']:.3f} | {score_ms:.0f} "
            f"| {free['accuracy']:.3f} | {1000 * free['s']:.0f} "
            f"| {1000 * free['s'] / score_ms:.1f}x "
            f"| {line['accuracy']:.3f} | {1000 * line['s']:.0f} "
            f"| {1000 * line['s'] / score_ms:.1f}x |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--work",
        default=None,
        help="Folder for the workspaces (default: temp); runs already trained there are reused.",
    )
    parser.add_argument("--free-tokens", type=int, default=64)
    parser.add_argument("--line-tokens", type=int, default=16)
    parser.add_argument("--skip-banking77", action="store_true")
    args = parser.parse_args()
    root = Path(args.work or tempfile.mkdtemp(prefix="tunesmith-eval-bench-"))
    tokens = {"free": args.free_tokens, "line": args.line_tokens}
    body = [
        "## Evaluation: prompting versus fine-tuning; label scoring versus generation",
        "",
        "Same rows through SmolLM2-135M-Instruct zero-shot (the config's `task.instruction`, "
        "which in the example describes each queue; else an instruction listing the labels), "
        "few-shot (the instruction plus k solved train examples as earlier turns) and the LoRA "
        "model with its short production prompt. Scoring = `tunesmith eval` (log-likelihood of "
        "each allowed label; the prompt prefix all rows share is computed once). Free generation "
        f"= greedy, up to {args.free_tokens} new tokens or the end of turn; label-line generation "
        f"= greedy, up to {args.line_tokens} new tokens. Batch 8, fp32, 2 threads. "
        "ms / row is wall time of the batched pass divided by rows.",
        "",
    ]
    workspaces = [("Bundled example: support-tickets, 5 queues", example_workspace)]
    if not args.skip_banking77:
        workspaces.append(("Banking77: 20 intents, 800 train rows, 1 epoch", banking_workspace))
    for title, build in workspaces:
        print(f"== {title}")
        ws, run_id, data = build(root)
        config = ws.load_config()
        report = evaluate(ws, config, run_id, data_file=data, with_compare=True).report
        for entry in report["compare"]:
            print(f"  {entry['setting']} scoring: {entry['metrics']['accuracy']:.3f}")
        generated = generation_rows(ws, config, run_id, data, tokens)
        body += [*section(title, report, generated), ""]
    body += [
        "Published Banking77 references (all 77 intents, full 3,080-row test split, so not the "
        "same task as the 20-intent subset above): fine-tuned bert-base 0.931, fine-tuned "
        "distilroberta-base 0.896, frozen sentence embeddings + logistic regression 0.84-0.89 "
        "for 7B-class embedding models (MTEB Banking77Classification). Banking77: CC BY 4.0, "
        "Casanueva et al. 2020, arXiv:2003.04807.",
    ]
    text = "\n".join(body)
    print(text)
    write_section("eval", text)


if __name__ == "__main__":
    main()

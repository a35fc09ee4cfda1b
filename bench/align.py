"""Preference tuning from AI feedback on the bundled example: style compliance and accuracy.

A fresh workspace from the support-tickets example is curated and its SFT run trained with the
example's settings. The style policy "reply in one sentence that names the ticket's queue" is
set as the rubric (`align.rubric.max_sentences: 1`, `name_label: true`). `tunesmith feedback
generate` samples --k answers for each of --prompts train prompts from the SFT run and keeps
(best, worst) pairs by the rubric; `tunesmith align --method dpo` tunes the SFT adapter on
them. Then, on the held-out test split, side by side: rubric compliance of greedy answers,
label accuracy by label scoring (what the eval gates use), and the win rate of the aligned
model against its SFT parent by the LLM judge (the base model behind a local `tunesmith serve`,
both answer orders), a judge that did not pick the training pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from secrets import token_hex

import yaml

sys.path.insert(0, str(Path(__file__).parent))

from results import write_section
from tunesmith.config.workspace import Workspace
from tunesmith.data.curate import curate
from tunesmith.evaluate.run import evaluate
from tunesmith.examples.scaffold import create_workspace
from tunesmith.preference.candidates import generate_pairs
from tunesmith.preference.winrate import pairwise_judge, win_rate
from tunesmith.serve.try_serve import server_process
from tunesmith.store.db import open_store
from tunesmith.store.keys import create_key
from tunesmith.train.align import align
from tunesmith.train.run import train

POLICY = "Reply in one sentence that names the ticket's queue."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/tunesmith-bench-align"))
    parser.add_argument("--prompts", type=int, default=120, help="train prompts sampled")
    parser.add_argument("--k", type=int, default=4, help="answers sampled per prompt")
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--beta", type=float, default=0.5)
    parser.add_argument("--sft-weight", type=float, default=1.0, help="RPO: NLL on chosen")
    parser.add_argument(
        "--replay-ratio", type=float, default=0.0, help="SFT records replayed per pair"
    )
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature")
    parser.add_argument("--sft", help="reuse this SFT run of --work instead of training one")
    parser.add_argument("--pairs", type=Path, help="reuse this pairs.jsonl of --work")
    parser.add_argument("--aligned", help="measure this finished align run of --work again")
    args = parser.parse_args()
    started = time.perf_counter()
    root = args.work / "ws"
    if not args.sft:
        shutil.rmtree(args.work, ignore_errors=True)
        create_workspace(root)
    raw = yaml.safe_load((root / "tunesmith.yaml").read_text())
    raw["align"] = {
        "method": "dpo",
        "beta": args.beta,
        "learning_rate": args.lr,
        "epochs": args.epochs,
        "sft_weight": args.sft_weight,
        "replay_ratio": args.replay_ratio,
        "rubric": {"policy": POLICY, "max_sentences": 1, "name_label": True},
        "sampling": {
            "k": args.k,
            "limit": args.prompts,
            "max_new_tokens": 72,
            "temperature": args.temperature,
        },
    }
    (root / "tunesmith.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    ws = Workspace(root)
    config = ws.load_config()
    times: dict[str, float] = {}

    def lap(name: str, since: float) -> None:
        times[name] = time.perf_counter() - since
        print(f"{name}: {times[name]:.0f} s", flush=True)

    sft = args.sft
    if not sft:
        t = time.perf_counter()
        curate(ws, config.data)
        sft = train(ws, config).run_id
        lap("curate + SFT", t)
    if args.aligned:  # measure a finished align run of --work again
        run_id = args.aligned
        source = json.loads((ws.runs_dir / run_id / "align.json").read_text())["sources"][0]
        pairs_file = ws.root / source
    else:
        t = time.perf_counter()
        if args.pairs:
            pairs_file = args.pairs if args.pairs.is_absolute() else ws.root / args.pairs
        else:
            pairs = generate_pairs(ws, config, sft)
            pairs_file = pairs.path / "pairs.jsonl"
            print(pairs.counts, pairs.compliant_share, flush=True)
        lap("feedback generate", t)
        t = time.perf_counter()
        run_id = align(ws, config, sft, [pairs_file]).run_id
        lap("align (DPO)", t)
    summary = json.loads((ws.runs_dir / run_id / "summary.json").read_text())
    # the settings the run used, not this call's flags (--aligned measures an older run)
    used = json.loads((ws.runs_dir / run_id / "align.json").read_text())["align"]
    manifest = pairs_file.parent / "manifest.json"
    sampling = json.loads(manifest.read_text())["sampling"] if manifest.is_file() else {}
    sampling = {"k": "?", "limit": "?", "temperature": "?", **sampling}
    replayed = (summary.get("replay") or {}).get("rows", 0)
    counts, steps = summary["pairs"], summary["steps"]
    margin_before, margin_after = (
        summary["margins_before"]["train"],
        summary["margins_after"]["train"],
    )
    t = time.perf_counter()
    accuracy = {
        ref: evaluate(ws, config, ref).report["metrics"]["accuracy"] for ref in (sft, run_id)
    }
    lap("eval (label scoring)", t)
    t = time.perf_counter()
    _, key = create_key(open_store(ws.state_url()), f"judge-{token_hex(3)}", ["base"], "bench")
    os.environ[config.align.judge.api_key_env] = key
    with server_process(ws) as (url, _):
        settings = config.align.judge.model_copy(update={"base_url": url})
        report = win_rate(ws, config, run_id, sft, pairwise_judge(settings, config.serve))
    lap("win rate (answers + LLM judge)", t)
    rub = report["rubric"]
    judge, pw, audit = report["judge"], report["rubric_pairwise"], report["audit"]
    before, after = rub[sft], rub[run_id]
    lines = [
        "## Preference tuning: AI-feedback DPO on the bundled example",
        "",
        f'Policy (the rubric): "{POLICY}" — one sentence after the `Queue:` line (greetings '
        "and sign-offs are not sentences), naming the queue it routed to. SFT: the example's "
        f"LoRA run. Pairs: {pairs_file.parent.name}, {sampling['k']} samples for each of "
        f"{sampling['limit']} train prompts at temperature {sampling['temperature']}, (best, "
        f"worst) by the rubric among answers on the reference label; {counts['train']} trained "
        f"on, {counts['val']} held out. DPO: beta {used['beta']}, lr {used['learning_rate']}, "
        f"{used['epochs']} epochs, NLL weight on chosen answers (RPO) {used['sft_weight']}, "
        f"{replayed} SFT training records replayed (NLL only; replay_ratio "
        f"{used.get('replay_ratio', 0.0)}), label line in the prompt "
        f"({used.get('shared_head_in_prompt', False)}), "
        f"{steps} steps, reference = the SFT model (log-probs "
        f"precomputed). Held out: the {report['rows']} test-split tickets, greedy answers.",
        "",
        "| model | policy compliance | label accuracy (scoring) | label accuracy (answer) "
        "| mean rubric score |",
        "|---|---|---|---|---|",
        f"| SFT parent | {before['compliance']:.3f} | {accuracy[sft]:.3f} | "
        f"{before['accuracy']:.3f} | {before['mean_score']:.3f} |",
        f"| DPO on AI feedback | {after['compliance']:.3f} | {accuracy[run_id]:.3f} | "
        f"{after['accuracy']:.3f} | {after['mean_score']:.3f} |",
        "",
        f"Compliance **{100 * (after['compliance'] - before['compliance']):+.1f} points**; "
        f"accuracy by label scoring **{100 * (accuracy[run_id] - accuracy[sft]):+.1f} "
        f"points**. Chosen-over-rejected log-prob margin on the training pairs "
        f"{margin_before['mean_margin']:.2f} -> {margin_after['mean_margin']:.2f}"
        f" (chosen more likely {margin_before['chosen_preferred']:.0%} -> "
        f"{margin_after['chosen_preferred']:.0%}).",
        "",
        f"LLM judge (the base model via a local `tunesmith serve`, json_schema verdicts, both "
        f"answer orders; a judge that did not pick the pairs): {judge['wins']} wins, "
        f"{judge['ties']} ties, {judge['losses']} losses for the aligned model, win rate "
        f"{judge['win_rate']:.3f} (ties half). The rubric answer by answer (it picked the pairs, "
        f"so not independent): {pw['wins']} wins, {pw['ties']} ties, {pw['losses']} losses. "
        f"A held-out reading of the policy (spaCy's sentencizer, which counts sign-offs as "
        f"sentences; it picked no pairs): compliance {audit['compliance'][sft]:.3f} -> "
        f"{audit['compliance'][run_id]:.3f}, answer by answer {audit['wins']} wins, "
        f"{audit['ties']} ties, {audit['losses']} losses, win rate {audit['win_rate']:.3f}. "
        "Wall time: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in times.items())
        + f"; total {time.perf_counter() - started:.0f} s.",
    ]
    body = "\n".join(lines)
    print(body)
    write_section("align", body)


if __name__ == "__main__":
    main()

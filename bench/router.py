"""Specialists together: latency of a workflow (classify -> extract -> act) vs one request.

One `tunesmith serve` process on SmolLM2-135M-Instruct serves both:
  - the workflow `ticket-desk` (serve.workflows): `triage` = the support-tickets LoRA
    classifier (its answer held to "Queue: <label>"), `fields` = the base model under a JSON
    schema, `act` = a tool-calling adapter given the support-tools example's five tools;
  - the base model asked in one prompt to do all three (queue, fields, a tool call), with the
    same tools, tool_choice auto.
Held-out tickets of the support-tickets example, one request at a time, greedy. Per-step times
come from the response's `tunesmith_trace`; totals are measured by the client.

Latency only: accuracy of the chain needs trained extraction and tool-calling specialists for
these tickets and gold fields and calls for them, which this benchmark does not have. Without
--tool-caller the act step runs a random LoRA adapter (rank 8, the example's targets): the
same cost per token as a trained one, not its answers (its length is bounded by max tokens).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).parent))

from eval import example_workspace
from results import write_section
from tunesmith.config.workspace import Workspace
from tunesmith.examples.tool_backend import TOOLS
from tunesmith.serve.try_serve import held_out_prompts, server_process

FIELDS = {
    "type": "object",
    "properties": {
        "order_id": {"type": "string", "pattern": "^[A-Z0-9-]{0,12}$"},
        "urgent": {"type": "boolean"},
    },
    "required": ["order_id", "urgent"],
    "additionalProperties": False,
}
LABELS = ["billing", "technical", "account", "shipping", "returns"]
ALL_IN_ONE = (
    "For the ticket below do three things. 1. Name its queue, one of "
    + ", ".join(LABELS)
    + ', as "Queue: <queue>". 2. Give its fields as JSON: {"order_id": string, "urgent": '
    "boolean}. 3. Call the tool that acts on it."
)


def random_tool_caller(ws: Workspace, like: str, name: str) -> str:
    """A run folder like `like` (config, lineage) whose adapter is random, for latency only."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from tunesmith.models.base import resolve_base_model

    run_dir = ws.runs_dir / name
    if (run_dir / "summary.json").is_file():
        return name
    run_dir.mkdir(parents=True, exist_ok=True)
    for file in ("config.yaml", "lineage.json"):
        shutil.copy(ws.runs_dir / like / file, run_dir / file)
    base = resolve_base_model(ws.load_config().base_model, ws.state_dir / "models", ws.root)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(base.path, dtype=torch.float32)
    targets = ["q_proj", "k_proj", "v_proj", "o_proj"]
    lora = LoraConfig(r=8, lora_alpha=16, target_modules=targets, init_lora_weights=False)
    get_peft_model(model, lora).save_pretrained(run_dir / "adapter")
    (run_dir / "summary.json").write_text("{}")
    return name


def workspace(root: Path, classifier: Path | None, tool_caller: Path | None) -> tuple:
    """The example workspace with the classifier and tool-caller runs in it, and the workflow."""
    if classifier is None:
        ws, triage, _ = example_workspace(root)  # trains the classifier (minutes on a CPU)
    else:
        from tunesmith.data.curate import curate
        from tunesmith.examples.scaffold import create_workspace

        folder = root / "support-tickets"
        if not folder.exists():
            create_workspace(folder, "support-tickets")
        ws = Workspace(folder)
        if not ws.dataset_dir(ws.load_config().data.name).is_dir():
            curate(ws, ws.load_config().data, workers=1)
        triage = classifier.name
        if not (ws.runs_dir / triage).exists():
            skip = shutil.ignore_patterns("checkpoint*", "eval*")
            shutil.copytree(classifier, ws.runs_dir / triage, ignore=skip)
    if tool_caller is None:
        act = random_tool_caller(ws, triage, "random-tool-caller")
    else:
        act = tool_caller.name
        if not (ws.runs_dir / act).exists():
            skip = shutil.ignore_patterns("checkpoint*", "eval*")
            shutil.copytree(tool_caller, ws.runs_dir / act, ignore=skip)
    raw = yaml.safe_load(ws.config_path.read_text())
    steps = [
        {"name": "triage", "model": triage, "kind": "classify"},
        {"name": "fields", "model": "base", "kind": "extract", "json_schema": FIELDS,
         "max_tokens": 32},
        {"name": "act", "model": act, "kind": "act"},
    ]  # fmt: skip
    raw["serve"] = {**raw.get("serve", {}), "workflows": [{"name": "ticket-desk", "steps": steps}]}
    ws.config_path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return ws, triage, act


def timed(client: Any, **body: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    answer = client.chat.completions.create(temperature=0, **body)
    return 1000 * (time.perf_counter() - t0), answer


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default=None, help="Folder for the workspace (default: temp).")
    parser.add_argument("--classifier", type=Path, default=None, help="A finished classifier run.")
    parser.add_argument("--tool-caller", type=Path, default=None, help="A finished tool run.")
    parser.add_argument("--tickets", type=int, default=12)
    parser.add_argument("--max-tokens", type=int, default=64, help="Of the act step and the one.")
    args = parser.parse_args()
    root = Path(args.work or tempfile.mkdtemp(prefix="tunesmith-router-bench-"))
    ws, triage, act = workspace(root, args.classifier, args.tool_caller)
    prompts = held_out_prompts(ws, args.tickets + 1)

    from openai import OpenAI

    from tunesmith.store.db import open_store
    from tunesmith.store.keys import create_key

    _, key = create_key(open_store(ws.state_url()), f"bench-{int(time.time())}", ["*"], "bench")
    os.environ.setdefault("TUNESMITH_ACTOR", "bench")
    load = os.getloadavg()
    steps: dict[str, list[float]] = {"triage": [], "fields": [], "act": []}
    tokens: dict[str, list[int]] = {"triage": [], "fields": [], "act": [], "one": []}
    chain, one, labels = [], [], []
    with server_process(ws) as (url, _):
        client = OpenAI(base_url=url, api_key=key, max_retries=0, timeout=600)
        for i, messages in enumerate(prompts):
            flow_ms, flow = timed(
                client, model="ticket-desk", messages=messages, tools=TOOLS,
                max_tokens=args.max_tokens,
            )  # fmt: skip
            single = [{"role": "system", "content": ALL_IN_ONE}, messages[-1]]
            one_ms, answer = timed(
                client, model="base", messages=single, tools=TOOLS, max_tokens=2 * args.max_tokens
            )
            if i == 0:
                continue  # warm-up: adapters loaded, grammars compiled, kernels built
            trace = flow.model_extra["tunesmith_trace"]
            for entry in trace:
                steps[entry["step"]].append(entry["latency_ms"])
                tokens[entry["step"]].append(entry["completion_tokens"])
            labels.append(trace[0]["label"])
            tokens["one"].append(answer.usage.completion_tokens)
            chain.append(flow_ms)
            one.append(one_ms)
    n = len(chain)
    chain_tokens = [sum(tokens[s][i] for s in steps) for i in range(n)]
    rows = [
        f"| step `triage` (classify, {triage}) | {statistics.median(steps['triage']):.0f} | "
        f"{pct(steps['triage'], 0.95):.0f} | {statistics.mean(tokens['triage']):.1f} |",
        f"| step `fields` (extract, base + JSON schema) | {statistics.median(steps['fields']):.0f}"
        f" | {pct(steps['fields'], 0.95):.0f} | {statistics.mean(tokens['fields']):.1f} |",
        f"| step `act` (act, {act}, 5 tools) | {statistics.median(steps['act']):.0f} | "
        f"{pct(steps['act'], 0.95):.0f} | {statistics.mean(tokens['act']):.1f} |",
        f"| **workflow total** (client) | {statistics.median(chain):.0f} | {pct(chain, 0.95):.0f} "
        f"| {statistics.mean(chain_tokens):.1f} |",
        f"| one base request, all three in one prompt | {statistics.median(one):.0f} | "
        f"{pct(one, 0.95):.0f} | {statistics.mean(tokens['one']):.1f} |",
    ]
    counts = {label: labels.count(label) for label in sorted(set(labels), key=str)}
    body = [
        "## Specialists together: a workflow (classify -> extract -> act) vs one request",
        "",
        f"SmolLM2-135M-Instruct, `tunesmith serve` in its own process, {n} held-out tickets of "
        "the support-tickets example one at a time (1 warm-up not counted), greedy, fp32. "
        f"Workflow `ticket-desk`: triage = LoRA classifier `{triage}` (answer held to `Queue: "
        "<label>`), fields = the base model under a 2-field JSON schema (max 32 tokens), act = "
        f"`{act}` with the support-tools example's 5 tools (max {args.max_tokens} tokens). The "
        f"single request: the base model, one system prompt asking for all three, the same "
        f"tools, tool_choice auto, max {2 * args.max_tokens} tokens. Step times from "
        "`tunesmith_trace`, totals at the client.",
        "",
        "| what | median ms | p95 ms | completion tokens (mean) |",
        "|---|---:|---:|---:|",
        *rows,
        "",
        f"Labels the classifier gave: {json.dumps(counts)}. Latency only: accuracy of the chain "
        "vs the single prompt needs trained extraction and tool-calling specialists and gold "
        "fields and calls for these tickets, not measured here"
        + (" (the act step ran a random adapter)." if args.tool_caller is None else "."),
        f"Load average at start {load[0]:.2f} / {load[1]:.2f} (shared 2-core machine); "
        f"medians over {n} tickets on a shared machine are rough (step times varied 3-6x "
        "between tickets here).",
    ]
    print("\n".join(body))
    write_section("router", "\n".join(body))


if __name__ == "__main__":
    main()

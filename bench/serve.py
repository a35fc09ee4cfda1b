"""Serving throughput: continuous mixed-adapter batching versus one request at a time.

One run, same machine, same requests (greedy, so both systems generate the same tokens):
  - baseline: the requests one after another through PEFT `set_adapter` + `generate`;
  - tunesmith serve: 8 concurrent streaming clients (official `openai` client) over 4 adapters;
  - the same 8 clients all on one adapter (mixed-adapter batches versus single-adapter ones);
  - structured output: `json_schema` responses that must parse and validate;
  - soak: 64 concurrent clients for --soak seconds; failures and the server's memory.
Adapters: the example's trained LoRA run and 3 variants with its B matrices scaled (0.9, 0.8,
0.7): real adapters of the same rank and targets that answer differently.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from eval import example_workspace
from results import write_section
from tunesmith.config.workspace import Workspace
from tunesmith.serve.try_serve import held_out_prompts, server_process

SCHEMA = {
    "type": "object",
    "properties": {
        "queue": {"enum": ["billing", "technical", "account", "shipping", "returns"]},
        "urgent": {"type": "boolean"},
    },
    "required": ["queue", "urgent"],
    "additionalProperties": False,
}


def variants(ws: Workspace, run_id: str, count: int) -> list[str]:
    """`run_id` and count-1 copies whose LoRA B matrices are scaled down step by step."""
    from safetensors.torch import load_file, save_file

    ids = [run_id]
    for k in range(1, count):
        new = ws.runs_dir / f"{run_id}-variant{k}"
        if not new.exists():
            shutil.copytree(ws.runs_dir / run_id, new, ignore=shutil.ignore_patterns("checkpoint*"))
            weights = new / "adapter" / "adapter_model.safetensors"
            tensors = load_file(weights)
            scaled = {n: t * (1 - 0.1 * k) if "lora_B" in n else t for n, t in tensors.items()}
            save_file(scaled, weights)
        ids.append(new.name)
    return ids


def requests(ws: Workspace, count: int) -> list[list[dict[str, str]]]:
    prompts = held_out_prompts(ws)
    return [prompts[i % len(prompts)] for i in range(count)]


def baseline(
    ws: Workspace, adapters: list[str], jobs: list[tuple[str, Any]], max_tokens: int
) -> dict:
    """One request at a time: set_adapter + generate, the way a single-stream server runs."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tunesmith.models.base import resolve_base_model
    from tunesmith.models.tokenize import tokenize_prompts

    base = resolve_base_model(ws.load_config().base_model, ws.state_dir / "models", ws.root)
    model = AutoModelForCausalLM.from_pretrained(base.path, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(base.path)
    peft = PeftModel.from_pretrained(
        model, str(ws.runs_dir / adapters[0] / "adapter"), adapter_name=adapters[0]
    )
    for name in adapters[1:]:
        peft.load_adapter(str(ws.runs_dir / name / "adapter"), adapter_name=name)
    peft.eval()
    latencies, tokens = [], 0
    started = time.perf_counter()
    for adapter, messages in jobs:
        ids = torch.tensor(tokenize_prompts(tokenizer, [messages]))
        peft.set_adapter(adapter)
        t0 = time.perf_counter()
        with torch.inference_mode():
            out = peft.generate(input_ids=ids, max_new_tokens=max_tokens, do_sample=False)
        latencies.append(time.perf_counter() - t0)
        new = out[0, ids.shape[1] :].tolist()
        eos = {tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|im_end|>")}
        tokens += next((i for i, t in enumerate(new) if t in eos), len(new))
    wall = time.perf_counter() - started
    return {"tokens": tokens, "wall": wall, "latency": latencies, "ttft": []}


async def one(client: Any, model: str, messages: Any, max_tokens: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    first, tokens = None, 0
    stream = await client.chat.completions.create(
        model=model, messages=messages, max_tokens=max_tokens, temperature=0, stream=True,
        stream_options={"include_usage": True},
    )  # fmt: skip
    async for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - t0
        if chunk.usage is not None:
            tokens = chunk.usage.completion_tokens
    return {"latency": time.perf_counter() - t0, "ttft": first, "tokens": tokens}


async def concurrent(
    url: str, key: str, jobs: list[tuple[str, Any]], clients: int, max_tokens: int
) -> dict:
    """`clients` streaming clients, each taking the next job until none are left."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=url, api_key=key, max_retries=0, timeout=900)
    pending = list(jobs)
    results: list[dict[str, Any]] = []

    async def worker() -> None:
        while pending:
            model, messages = pending.pop(0)
            results.append(await one(client, model, messages, max_tokens))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    wall = time.perf_counter() - started
    await client.close()
    return {
        "tokens": sum(r["tokens"] for r in results),
        "wall": wall,
        "latency": [r["latency"] for r in results],
        "ttft": [r["ttft"] for r in results if r["ttft"] is not None],
    }


async def structured(url: str, key: str, model: str, prompts: list[Any]) -> tuple[int, int]:
    import jsonschema
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=url, api_key=key, max_retries=0, timeout=900)
    fmt = {"type": "json_schema", "json_schema": {"name": "route", "schema": SCHEMA}}

    async def ask(messages: Any) -> bool:
        done = await client.chat.completions.create(
            model=model, messages=messages, max_tokens=64, temperature=0, response_format=fmt
        )
        try:
            jsonschema.validate(json.loads(done.choices[0].message.content), SCHEMA)
        except (ValueError, jsonschema.ValidationError):
            return False
        return True

    valid = await asyncio.gather(*(ask(p) for p in prompts))
    await client.close()
    return sum(valid), len(valid)


async def soak(
    url: str, key: str, models: list[str], prompts: list[Any], seconds: float, pid: int
) -> dict:
    import psutil
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=url, api_key=key, max_retries=0, timeout=900)
    end = time.monotonic() + seconds
    ok, failed, rss = 0, 0, []

    async def worker(i: int) -> None:
        nonlocal ok, failed
        n = 0
        while time.monotonic() < end:
            try:
                await client.chat.completions.create(
                    model=models[(i + n) % len(models)], messages=prompts[(i + n) % len(prompts)],
                    max_tokens=16, temperature=0,
                )  # fmt: skip
                ok += 1
            except Exception:
                failed += 1
            n += 1

    async def sample() -> None:
        process = psutil.Process(pid)
        while time.monotonic() < end:
            rss.append(process.memory_info().rss / 2**20)
            await asyncio.sleep(2)

    await asyncio.gather(sample(), *(worker(i) for i in range(64)))
    await client.close()
    return {"ok": ok, "failed": failed, "rss": rss}


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def row(name: str, result: dict, base_rate: float | None) -> str:
    rate = result["tokens"] / result["wall"]
    ttft = (
        f"{1000 * pct(result['ttft'], 50):.0f} / {1000 * pct(result['ttft'], 95):.0f}"
        if result["ttft"]
        else "-"
    )
    lat = f"{pct(result['latency'], 50):.2f} / {pct(result['latency'], 95):.2f}"
    ratio = f"{rate / base_rate:.2f}x" if base_rate else "1.00x"
    cells = [name, str(result["tokens"]), f"{result['wall']:.1f}", f"{rate:.1f}", ratio, lat, ttft]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default=None, help="Folder for the workspace (reused).")
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--soak", type=float, default=60.0)
    args = parser.parse_args()
    root = Path(args.work or tempfile.mkdtemp(prefix="tunesmith-serve-bench-"))
    ws, run_id, _ = example_workspace(root)
    adapters = variants(ws, run_id, 4)
    prompts = requests(ws, args.requests)
    mixed = [(adapters[i % 4], p) for i, p in enumerate(prompts)]
    single = [(adapters[0], p) for p in prompts]

    from tunesmith.store.db import open_store
    from tunesmith.store.keys import create_key

    _, key = create_key(open_store(ws.state_url()), f"bench-{int(time.time())}", ["*"], "bench")
    os.environ.setdefault("TUNESMITH_ACTOR", "bench")
    with server_process(ws) as (url, pid):
        # warm-up: adapters loaded, oneDNN's kernels built for the prompt and batch shapes
        asyncio.run(concurrent(url, key, mixed, 8, 8))
        served_mixed = asyncio.run(concurrent(url, key, mixed, 8, args.max_tokens))
        served_single = asyncio.run(concurrent(url, key, single, 8, args.max_tokens))
        valid, total = asyncio.run(structured(url, key, adapters[0], prompts[:24]))
        soaked = asyncio.run(soak(url, key, adapters, prompts, args.soak, pid))
    base = baseline(ws, adapters, mixed, args.max_tokens)
    base_rate = base["tokens"] / base["wall"]
    mixed_rate = served_mixed["tokens"] / served_mixed["wall"]
    single_rate = served_single["tokens"] / served_single["wall"]
    rss = soaked["rss"]
    warm = rss[min(5, len(rss) - 1)]
    header = (
        "| system | generated tokens | wall s | tokens/s | vs baseline "
        "| latency p50 / p95 s | TTFT p50 / p95 ms |"
    )
    body = [
        "## Serving: continuous mixed-adapter batching versus one request at a time",
        "",
        "SmolLM2-135M-Instruct, the example's LoRA run + 3 scaled variants (4 adapters), "
        f"{args.requests} requests from its test split, greedy, at most {args.max_tokens} new "
        "tokens, fp32. tunesmith: `tunesmith serve` in its own process (max_batch 8), 8 "
        "concurrent streaming `openai` clients. Baseline: the same requests one at a time, "
        "PEFT `set_adapter` + `generate`.",
        "",
        header,
        "|---|---|---|---|---|---|---|",
        row("baseline: one at a time, set_adapter + generate", base, None),
        row("tunesmith serve: 8 clients over 4 adapters", served_mixed, base_rate),
        row("tunesmith serve: 8 clients on 1 adapter", served_single, base_rate),
        "",
        "- Mixed-adapter batches / single-adapter batches, tokens/s: "
        f"**{mixed_rate / single_rate:.2f}x**.",
        f"- Structured output (`json_schema`, enum + boolean): **{valid}/{total}** responses "
        "parse and validate.",
        f"- Soak: 64 concurrent clients for {args.soak:.0f} s over 4 adapters: {soaked['ok']} "
        f"answered, **{soaked['failed']} failed**; server RSS {warm:.0f} MiB after warm-up, "
        f"{rss[-1]:.0f} MiB at the end, max {max(rss):.0f} MiB.",
    ]
    text = "\n".join(body)
    print(text)
    write_section("serve", text)


if __name__ == "__main__":
    main()

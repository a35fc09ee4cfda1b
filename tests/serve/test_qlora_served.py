"""A QLoRA run is served, and exported for vLLM, on the weights eval judged it on: its adapter
over the NF4-rounded base, not over the original one."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
import torch

from tunesmith.config.workspace import Workspace
from tunesmith.data.curate import curate
from tunesmith.examples.scaffold import create_workspace
from tunesmith.models.load import load_model
from tunesmith.models.run_model import base_as_trained, merged_model
from tunesmith.models.tokenize import tokenize_prompts
from tunesmith.registry import register
from tunesmith.registry.references import resolve_target
from tunesmith.serve.app import load_state
from tunesmith.serve.engine import Done, Sequence
from tunesmith.serve.sampling import SamplingParams
from tunesmith.serve.vllm import VllmExportError, export_vllm
from tunesmith.train.run import train

from ..train.test_run import TRAIN
from .server import set_config

PROMPTS = ["refund for my late parcel", "I cannot login to my account"]
# merged (eval) and unmerged (server) adapters differ by float rounding only; the NF4 round
# trip on this model moves them by 3e-2 to 5e-2 (the adapter over the original base)
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> dict[str, Any]:
    """A workspace over the tiny model with one QLoRA run and one LoRA run."""
    root = create_workspace(tmp_path_factory.mktemp("qlora") / "ws", "support-tickets", rows=120)
    set_config(
        root,
        base_model={"name": "tiny-llama", "path": str(tiny_model_dir)},
        train={**TRAIN, "max_steps": 4, "eval_steps": 4, "save_steps": 4},
    )
    ws = Workspace(root)
    curate(ws, ws.load_config().data, workers=1)
    found = {}
    for seed, method in enumerate(["qlora", "lora"]):
        set_config(root, train={"method": method, "seed": seed})
        found[method] = train(ws, ws.load_config()).run_id
    return {"ws": ws, **found}


def _tokenizer(ws: Workspace) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(ws.load_config().base_model.path)


def _prompts(ws: Workspace) -> list[list[int]]:
    chats = [[{"role": "user", "content": text}] for text in PROMPTS]
    return tokenize_prompts(_tokenizer(ws), chats)


def _serve(ws: Workspace, asks: list[tuple[str | None, list[int]]], steps: int) -> list[list]:
    """Every (model, prompt) through the server's own state in one batch; for each, the
    (tokens so far, next-token logits) of every step."""
    state = load_state(ws, ws.load_config())
    engine = state.engine
    engine.eos = set()  # a random model may end at once; the test wants every step
    seen: list[list] = [[] for _ in asks]
    done = [threading.Event() for _ in asks]
    errors: list[str] = []
    for i, (model, prompt) in enumerate(asks):
        served = state.catalog.resolve(model or "base")

        def observe(output: list[int], logits: torch.Tensor, i: int = i) -> None:
            seen[i].append((list(output), logits.clone()))

        def sink(event: object, i: int = i) -> None:
            if isinstance(event, Done):
                errors.extend([event.error] if event.error else [])
                done[i].set()

        engine.submit(
            Sequence(
                prompt,
                SamplingParams(max_tokens=steps, temperature=0),
                sink,
                adapter=served.run_id,
                adapter_dir=served.adapter_dir,
                observe=observe,
            )
        )
    engine.start()  # after every submit: the first prefill admits them all together
    try:
        assert all(event.wait(60) for event in done)
    finally:
        engine.stop()
    assert errors == []
    return seen


def _evaluated(ws: Workspace, model: str | None, prompt: list[int], seen: list) -> list:
    """Next-token logits of eval's model (`tunesmith eval --model`) after each step's tokens."""
    target = resolve_target(ws, ws.load_config(), model or "base")
    loaded, _ = load_model(ws, target)
    with torch.inference_mode():
        return [loaded(torch.tensor([prompt + out])).logits[0, -1].float() for out, _ in seen]


def _over_original_base(ws: Workspace, run_id: str, prompt: list[int]) -> torch.Tensor:
    """What the server computed before: the QLoRA adapter over the unrounded base."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(ws.load_config().base_model.path)
    tuned = PeftModel.from_pretrained(base, ws.runs_dir / run_id / "adapter").eval()
    with torch.inference_mode():
        return tuned(torch.tensor([prompt])).logits[0, -1]


def test_a_qlora_run_is_served_with_the_logits_eval_computed(runs: dict[str, Any]) -> None:
    ws, run_id = runs["ws"], runs["qlora"]
    prompts = _prompts(ws)
    seen = _serve(ws, [(run_id, p) for p in prompts], steps=3)
    for prompt, steps in zip(prompts, seen, strict=True):
        assert len(steps) == 3
        expected = _evaluated(ws, run_id, prompt, steps)
        for (_, served), evaluated in zip(steps, expected, strict=True):
            assert torch.allclose(served, evaluated, atol=TOLERANCE, rtol=0), (
                f"served differs from evaluated by {(served - evaluated).abs().max():.2e}"
            )
    # the test can tell: the adapter over the original base (the old server) is far off,
    # and the rounded base without the adapter too
    old = _over_original_base(ws, run_id, prompts[0])
    assert (old - seen[0][0][1]).abs().max() > 50 * TOLERANCE
    rounded = base_as_trained(Path(ws.load_config().base_model.path), "qlora", torch.float32)
    with torch.inference_mode():
        untuned = rounded.eval()(torch.tensor([prompts[0]])).logits[0, -1]
    assert (untuned - seen[0][0][1]).abs().max() > 50 * TOLERANCE


def test_base_lora_and_qlora_rows_in_one_batch_each_match_eval(runs: dict[str, Any]) -> None:
    """A mixed batch: each row over its own base (original or NF4-rounded) and adapter."""
    ws = runs["ws"]
    first, second = _prompts(ws)
    asks = [(None, first), (runs["lora"], second), (runs["qlora"], first), (runs["qlora"], second)]
    seen = _serve(ws, asks, steps=2)
    for (model, prompt), steps in zip(asks, seen, strict=True):
        expected = _evaluated(ws, model, prompt, steps)
        for (_, served), evaluated in zip(steps, expected, strict=True):
            assert torch.allclose(served, evaluated, atol=TOLERANCE, rtol=0), model
    # rows of the same prompt over different models do differ
    assert (seen[0][0][1] - seen[2][0][1]).abs().max() > 50 * TOLERANCE


def test_vllm_export_of_qlora_versions_carries_the_base_eval_used(
    runs: dict[str, Any], tmp_path: Path
) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    ws, run_id = runs["ws"], runs["qlora"]
    register(ws, run_id, "router-q")
    out = tmp_path / "vllm"
    manifest = export_vllm(ws, "router-q", out)
    assert manifest["base_model"]["path"] == str(out / "base")
    assert manifest["base_model"]["nf4_round_trip_of"]["name"] == "tiny-llama"
    command = manifest["command"]
    assert command[:3] == ["vllm", "serve", str(out / "base")]
    assert command[command.index("--served-model-name") + 1] == "tiny-llama-nf4"
    assert f"vllm serve {out / 'base'} " in (out / "launch.sh").read_text()
    # what vLLM computes: the exported adapter, unmerged, over the exported base
    exported = AutoModelForCausalLM.from_pretrained(out / "base")
    served = PeftModel.from_pretrained(exported, out / "adapters" / "router-q-v1").eval()
    evaluated, _, _ = merged_model(ws, run_id)
    prompt = torch.tensor([_prompts(ws)[0]])
    with torch.inference_mode():
        got, expected = served(prompt).logits, evaluated.eval()(prompt).logits
    assert torch.allclose(got, expected, atol=TOLERANCE, rtol=0)
    old = _over_original_base(ws, run_id, _prompts(ws)[0])
    assert (old - got[0, -1]).abs().max() > 50 * TOLERANCE


def test_vllm_export_refuses_versions_over_different_bases(
    runs: dict[str, Any], tmp_path: Path
) -> None:
    ws = runs["ws"]
    register(ws, runs["qlora"], "router-mixed")
    register(ws, runs["lora"], "router-mixed")
    out = tmp_path / "vllm"
    with pytest.raises(VllmExportError) as refused:
        export_vllm(ws, "router-mixed", out)
    message = str(refused.value)
    assert f"router-mixed/1 (run {runs['qlora']})" in message
    assert f"router-mixed/2 (run {runs['lora']})" in message
    assert "NF4" in message and "one vLLM server holds one base" in message
    assert not out.exists() and not list(tmp_path.glob(".vllm-*"))


def test_a_qlora_run_trained_in_bf16_is_evaluated_in_bf16(runs: dict[str, Any]) -> None:
    """On bf16 hardware the dequantised layers stay in bf16 with the rest of the model (they
    were merged in fp32 before, and the model could not run)."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from tunesmith.models.quantize import quantize_linear_weights

    ws = runs["ws"]
    copy = ws.runs_dir / f"{runs['qlora']}-bf16"
    shutil.copytree(ws.runs_dir / runs["qlora"], copy)
    try:
        lineage = json.loads((copy / "lineage.json").read_text())
        lineage["hardware"]["bf16"] = True
        (copy / "lineage.json").write_text(json.dumps(lineage))
        model, _, _ = merged_model(ws, copy.name)
        assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
        prompt = torch.tensor([_prompts(ws)[0]])
        base = AutoModelForCausalLM.from_pretrained(
            ws.load_config().base_model.path, dtype=torch.bfloat16
        )
        quantize_linear_weights(base)
        trained = PeftModel.from_pretrained(base, copy / "adapter").eval()
        with torch.inference_mode():
            got, expected = model.eval()(prompt).logits, trained(prompt).logits
        assert (got.float() - expected.float()).abs().max() < 0.1
    finally:
        shutil.rmtree(copy)

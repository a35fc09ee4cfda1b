from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.train.test_run import _workspace
from tunesmith.config import load_config
from tunesmith.models.quantize import quantize_linear_weights
from tunesmith.train.export import ExportError, export_merged
from tunesmith.train.run import train


@pytest.mark.parametrize("method", ["lora", "qlora"])
def test_merged_export_loads_in_plain_transformers_and_matches_the_adapter(
    workspace: Path, tiny_model_dir: Path, tmp_path: Path, method: str
) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    ws = _workspace(workspace, tiny_model_dir, method=method, max_steps=4, eval_steps=4)
    result = train(ws, load_config(ws.config_path))
    out = export_merged(ws, result.run_id, tmp_path / "merged")
    assert (out / "model.safetensors").is_file()
    assert (out / "tunesmith-export.json").is_file()
    assert not list(tmp_path.glob(".merged-*")), "staging folder left behind"

    merged = AutoModelForCausalLM.from_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    if method == "qlora":
        quantize_linear_weights(base)
    tuned = PeftModel.from_pretrained(base, result.path / "adapter")
    ids = tokenizer("Subject : refund", return_tensors="pt").input_ids
    with torch.no_grad():
        expected, got = tuned(ids).logits, merged(ids).logits
        untuned = AutoModelForCausalLM.from_pretrained(tiny_model_dir)(ids).logits
    assert (expected - got).abs().max() < 1e-4
    assert (untuned - got).abs().max() > 1e-3, "export equals the base: adapter not merged"

    with pytest.raises(ExportError, match="not empty"):
        export_merged(ws, result.run_id, out)
    with pytest.raises(ExportError, match="not found"):
        export_merged(ws, "no-such-run", tmp_path / "x")
    if method == "lora":  # the base folder is shared by the session: alter a copy of the run's
        import json
        import shutil

        moved = tmp_path / "base-copy"
        shutil.copytree(tiny_model_dir, moved)
        lineage_file = result.path / "lineage.json"
        lineage = json.loads(lineage_file.read_text())
        lineage["base_model"]["path"] = str(moved)
        lineage_file.write_text(json.dumps(lineage))
        (moved / "model.safetensors").write_bytes(b"changed")
        with pytest.raises(ExportError, match="has changed since run"):
            export_merged(ws, result.run_id, tmp_path / "y")

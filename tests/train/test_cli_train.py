"""The README's `models import` and `train` commands through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tunesmith.cli import app

from .test_run import TRAIN

runner = CliRunner()


def test_train_command_on_a_local_base_model(workspace: Path, tiny_model_dir: Path) -> None:
    raw = yaml.safe_load((workspace / "tunesmith.yaml").read_text())
    raw["base_model"] = {"name": "tiny-llama", "path": str(tiny_model_dir)}
    raw["train"] = {**TRAIN, "max_steps": 4}
    (workspace / "tunesmith.yaml").write_text(yaml.safe_dump(raw))
    assert runner.invoke(app, ["curate", "-w", str(workspace)]).exit_code == 0
    result = runner.invoke(app, ["models", "import", "-w", str(workspace)])
    assert result.exit_code == 0, result.output
    assert "weights sha256" in result.output
    result = runner.invoke(app, ["train", "-w", str(workspace)])
    assert result.exit_code == 0, result.output
    assert "4 steps" in result.output
    assert "validation loss: base model" in result.output and "train sequences:" in result.output
    (run,) = (workspace / "runs").iterdir()
    result = runner.invoke(app, ["train", "-w", str(workspace), "--resume", run.name])
    assert result.exit_code == 1 and "already finished" in result.output
    result = runner.invoke(app, ["audit", "verify", "-w", str(workspace)])
    assert result.exit_code == 0 and "2 entries" in result.output, result.output
    result = runner.invoke(app, ["audit", "log", "-w", str(workspace)])
    assert "curate" in result.output and "train" in result.output, result.output
    log = workspace / ".tunesmith" / "audit.jsonl"
    original = log.read_text()
    log.write_text(original.replace('"action":"train"', '"action":"trian"'))
    result = runner.invoke(app, ["audit", "verify", "-w", str(workspace)])
    assert result.exit_code == 1 and "line 2" in result.output, result.output
    log.write_text(original)
    version = workspace / "datasets" / "support-tickets" / "v1"
    manifest = json.loads((version / "manifest.json").read_text())
    kept = json.loads((version / "train.jsonl").read_text().splitlines()[0])["meta"]
    member = manifest["duplicate_clusters"][0]["members"][0]
    quarantined = json.loads((version / "quarantine.jsonl").read_text().splitlines()[0])
    for traced, expected, carried in (
        (kept, "kept in train", True),
        (member, "duplicate of", True),
        (quarantined, "quarantined at", False),
    ):
        args = ["lineage", "--source", traced["source"], "--row", str(traced["row"])]
        result = runner.invoke(app, [*args, "-w", str(workspace)])
        assert result.exit_code == 0 and expected in result.output, result.output
        assert (run.name in result.output.replace("\n", "")) is carried, result.output
    args = ["lineage", "--source", "./raw/tickets.csv", "--row", "1", "-w", str(workspace)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and "no dataset version was built from" in result.output
    result = runner.invoke(app, ["lineage", "--run", run.name, "-w", str(workspace)])
    assert result.exit_code == 0 and manifest["sources"][0]["sha256"] in result.output
    merged = workspace / "merged"
    result = runner.invoke(app, ["export", run.name, "--merged", str(merged), "-w", str(workspace)])
    assert result.exit_code == 0, result.output
    assert (merged / "model.safetensors").is_file() and (merged / "tokenizer.json").is_file()


def test_base_model_folder_without_tokenizer_is_a_clear_error(
    workspace: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "no-tokenizer"
    broken.mkdir()
    for name in ("config.json", "model.safetensors"):
        (broken / name).write_bytes((tiny_model_dir / name).read_bytes())
    raw = yaml.safe_load((workspace / "tunesmith.yaml").read_text())
    raw["base_model"] = {"name": "broken", "path": str(broken)}
    (workspace / "tunesmith.yaml").write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["models", "import", "-w", str(workspace)])
    assert result.exit_code == 1 and "no tokenizer" in result.output


@pytest.mark.integration
def test_import_the_bundled_smollm2(tmp_path: Path) -> None:
    """GGUF -> cached safetensors once; the second resolve is a cache hit."""
    import time

    from tunesmith.config import BaseModelConfig
    from tunesmith.models.base import resolve_base_model

    first = resolve_base_model(BaseModelConfig(), tmp_path / "models", tmp_path)
    assert (first.path / "model.safetensors").is_file()
    assert (first.path / "tokenizer.json").is_file() and (first.path / "source.json").is_file()
    start = time.perf_counter()
    again = resolve_base_model(BaseModelConfig(), tmp_path / "models", tmp_path)
    assert again.weights_sha256 == first.weights_sha256
    assert time.perf_counter() - start < 10

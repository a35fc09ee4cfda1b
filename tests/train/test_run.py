from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from tunesmith.config import load_config
from tunesmith.config.workspace import Workspace
from tunesmith.data.curate import curate
from tunesmith.data.version import DatasetError
from tunesmith.train.run import TrainInputError, train

TRAIN = {
    "lora_r": 4,
    "lora_alpha": 8,
    "learning_rate": 5e-3,
    "max_steps": 12,
    "batch_size": 4,
    "eval_steps": 4,
    "save_steps": 4,
    "logging_steps": 2,
    "max_length": 384,
    "warmup_ratio": 0.0,
    "early_stopping_patience": None,
}


def _workspace(root: Path, tiny_model_dir: Path, **train: object) -> Workspace:
    raw = yaml.safe_load((root / "tunesmith.yaml").read_text())
    raw["base_model"] = {"name": "tiny-llama", "path": str(tiny_model_dir)}
    raw["train"] = {**TRAIN, **train}
    (root / "tunesmith.yaml").write_text(yaml.safe_dump(raw))
    ws = Workspace(root)
    curate(ws, ws.load_config().data, workers=1)
    return ws


def test_lora_run_learns_and_writes_a_complete_run_folder(
    workspace: Path, tiny_model_dir: Path
) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    ws = _workspace(workspace, tiny_model_dir)
    result = train(ws, load_config(ws.config_path))
    run = result.path
    for name in ("config.yaml", "lineage.json", "metrics.jsonl", "loss.png", "summary.json"):
        assert (run / name).is_file(), name
    assert (run / "adapter" / "adapter_config.json").is_file()
    assert (run / "adapter" / "adapter_model.safetensors").is_file()
    metrics = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    train_losses = [m["train_loss"] for m in metrics if "train_loss" in m]
    assert train_losses[-1] < train_losses[0]
    assert any("val_loss" in m for m in metrics)
    assert all(m["tokens_per_s"] > 0 for m in metrics if "tokens_per_s" in m)
    lineage = json.loads((run / "lineage.json").read_text())
    assert lineage["dataset"]["version"] == "v1"
    assert lineage["dataset"]["files"]["train.jsonl"]
    assert len(lineage["base_model"]["weights_sha256"]) == 64
    assert lineage["hardware"]["device"] == "cpu" and lineage["hardware"]["bf16"] is False
    assert lineage["counts"]["train"]["records"] > 0

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    tuned = PeftModel.from_pretrained(base, run / "adapter")
    changed = [n for n, p in tuned.named_parameters() if "lora_B" in n and p.abs().sum() > 0]
    assert changed, "LoRA B matrices are still zero: nothing was learned"

    import mlflow

    runs = mlflow.search_runs(
        experiment_names=["support-router"], filter_string=f"tags.tunesmith_run = '{result.run_id}'"
    )
    assert len(runs) == 1 and runs.iloc[0]["status"] == "FINISHED"
    assert (workspace / ".tunesmith" / "mlflow.db").is_file()


def test_interrupted_run_resumes_to_the_same_adapter(
    workspace: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    import shutil

    from safetensors.torch import load_file

    other = tmp_path / "other"
    shutil.copytree(workspace, other)
    ws = _workspace(workspace, tiny_model_dir)
    config = load_config(ws.config_path)
    straight = train(ws, config)

    class Interrupted(Exception):
        pass

    def crash(step: int, total: int, metrics: dict[str, float]) -> None:
        if step >= 6:
            raise Interrupted  # dies between checkpoint-4 and checkpoint-8

    ws2 = _workspace(other, tiny_model_dir)
    with pytest.raises(Interrupted):
        train(ws2, config, on_progress=crash)
    (run_id,) = [p.name for p in (other / "runs").iterdir()]
    checkpoints = sorted(p.name for p in (other / "runs" / run_id / "checkpoints").iterdir())
    assert checkpoints == ["checkpoint-4"]
    resumed = train(ws2, config, resume=run_id)
    assert resumed.steps == straight.steps == 12
    logged = [json.loads(x) for x in (resumed.path / "metrics.jsonl").read_text().splitlines()]
    steps = [m["step"] for m in logged if "train_loss" in m]
    assert steps == sorted(set(steps)), "steps after the checkpoint were logged twice"
    a = load_file(straight.path / "adapter" / "adapter_model.safetensors")
    b = load_file(resumed.path / "adapter" / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        assert (a[key] - b[key]).abs().max() < 1e-5, key
    with pytest.raises(TrainInputError, match="already finished"):
        train(ws2, config, resume=run_id)


def test_missing_dataset_version_is_a_clear_error(workspace: Path, tiny_model_dir: Path) -> None:
    ws = _workspace(workspace, tiny_model_dir, dataset="v7")
    with pytest.raises(DatasetError, match="v7 does not exist"):
        train(ws, load_config(ws.config_path))


def test_qlora_trains_adapters_over_an_nf4_base(workspace: Path, tiny_model_dir: Path) -> None:
    from safetensors.torch import load_file

    ws = _workspace(workspace, tiny_model_dir, method="qlora", max_steps=8)
    result = train(ws, load_config(ws.config_path))
    metrics = [json.loads(x) for x in (result.path / "metrics.jsonl").read_text().splitlines()]
    losses = [m["train_loss"] for m in metrics if "train_loss" in m]
    assert losses[-1] < losses[0]
    adapter = load_file(result.path / "adapter" / "adapter_model.safetensors")
    assert any("lora_B" in k and v.abs().sum() > 0 for k, v in adapter.items())
    assert all(v.dtype == torch.float32 for v in adapter.values())
    lineage = json.loads((result.path / "lineage.json").read_text())
    assert lineage["base_model"]["quantization"] == "nf4-double-quant"


@pytest.mark.parametrize(
    "error",
    [
        OSError(28, "No space left on device"),
        # what torch.save raises when the optimizer state does not fit
        RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed"),
    ],
)
def test_full_disk_during_a_checkpoint_keeps_the_previous_one_and_resumes(
    workspace: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    from transformers import Trainer

    from tunesmith.train.run import CheckpointWriteError

    ws = _workspace(workspace, tiny_model_dir)
    config = load_config(ws.config_path)
    original = Trainer._save_optimizer_and_scheduler

    def disk_fills_at_step_8(self: Trainer, output_dir: str) -> None:
        if self.state.global_step == 8:  # the adapter is already written: a half checkpoint
            raise error
        original(self, output_dir)

    monkeypatch.setattr(Trainer, "_save_optimizer_and_scheduler", disk_fills_at_step_8)
    with pytest.raises(CheckpointWriteError, match=r"disk full.*checkpoint-8.*checkpoint-4 kept"):
        train(ws, config)
    (run,) = (workspace / "runs").iterdir()
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["checkpoint-4"]
    monkeypatch.setattr(Trainer, "_save_optimizer_and_scheduler", original)
    assert train(ws, config, resume=run.name).steps == 12


def test_empty_or_too_long_train_split_is_a_clear_error(
    workspace: Path, tiny_model_dir: Path
) -> None:
    ws = _workspace(workspace, tiny_model_dir, max_length=16)
    with pytest.raises(TrainInputError, match=r"all \d+ sequences are longer than .*\(16\)"):
        train(ws, load_config(ws.config_path))
    (ws.dataset_dir("support-tickets") / "v1" / "train.jsonl").write_text("")
    with pytest.raises(TrainInputError, match="the train split is empty"):
        train(ws, load_config(ws.config_path))


@pytest.mark.parametrize("method", ["dora", "full"])
def test_dora_and_full_fine_tuning_change_what_they_should(
    workspace: Path, tiny_model_dir: Path, tmp_path: Path, method: str
) -> None:
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    from tunesmith.train.export import export_merged

    ws = _workspace(workspace, tiny_model_dir, method=method, max_steps=4, eval_steps=4)
    result = train(ws, load_config(ws.config_path))
    saved = result.path / "adapter"
    if method == "dora":
        weights = load_file(saved / "adapter_model.safetensors")
        assert any("lora_magnitude_vector" in k for k in weights), "no DoRA magnitudes saved"
    else:
        before = AutoModelForCausalLM.from_pretrained(tiny_model_dir).state_dict()
        after = AutoModelForCausalLM.from_pretrained(saved).state_dict()
        moved = [k for k in before if not torch.equal(before[k], after[k])]
        assert len(moved) > len(before) // 2, "full fine-tuning left most weights unchanged"
    merged = export_merged(ws, result.run_id, tmp_path / "merged")
    assert AutoModelForCausalLM.from_pretrained(merged).num_parameters() > 0


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(
    workspace: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tunesmith.train.callbacks import LossDivergedError, latest_complete_checkpoint
    from tunesmith.train.trainer import SelectiveHeadTrainer

    original = SelectiveHeadTrainer.compute_loss

    def poisoned(self: SelectiveHeadTrainer, model: object, inputs: object, **kw: object) -> object:
        loss = original(self, model, inputs, **kw)
        return loss * float("nan") if self.state.global_step >= 6 and model.training else loss

    monkeypatch.setattr(SelectiveHeadTrainer, "compute_loss", poisoned)
    ws = _workspace(workspace, tiny_model_dir)
    with pytest.raises(LossDivergedError, match=r"loss is nan at step 8.*last good checkpoint"):
        train(ws, load_config(ws.config_path))
    (run,) = (workspace / "runs").iterdir()
    assert latest_complete_checkpoint(run / "checkpoints").name == "checkpoint-4"
    assert not (run / "summary.json").exists() and not (run / "adapter").exists()

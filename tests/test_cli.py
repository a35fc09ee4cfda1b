"""The README's commands, run as a user would (through the Typer app)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from tunesmith.cli import app
from tunesmith.cli.common import stage_errors

runner = CliRunner()


def test_init_then_curate_as_in_the_readme(tmp_path: Path) -> None:
    ws = tmp_path / "demo"
    result = runner.invoke(app, ["init", str(ws), "--example", "support-tickets", "--rows", "200"])
    assert result.exit_code == 0, result.output
    assert (ws / "tunesmith.yaml").is_file() and (ws / "raw" / "tickets.csv").is_file()
    result = runner.invoke(app, ["curate", "--workspace", str(ws)])
    assert result.exit_code == 0, result.output
    assert "support-tickets v1" in result.output and "reconcile" in result.output
    manifest = json.loads((ws / "datasets/support-tickets/v1/manifest.json").read_text())
    assert manifest["counts"]["read"] == 200
    again = runner.invoke(app, ["curate", "--workspace", str(ws)])
    assert again.exit_code == 0 and "unchanged" in again.output


def test_init_the_tool_example_then_curate_its_conversations(tmp_path: Path) -> None:
    ws = tmp_path / "tools"
    result = runner.invoke(app, ["init", str(ws), "--example", "support-tools", "--rows", "60"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["curate", "--workspace", str(ws)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((ws / "datasets/support-tools/v1/manifest.json").read_text())
    assert manifest["counts"]["read"] == 60 and manifest["counts"]["reconciles"]
    record = json.loads((ws / "datasets/support-tools/v1/train.jsonl").open().readline())
    assert record["tools"] and record["meta"]["category"]


def test_eval_of_a_tool_caller_prints_its_categories(tmp_path: Path, bpe_model_dir: Path) -> None:
    ws = tmp_path / "tools"
    assert (
        runner.invoke(
            app, ["init", str(ws), "--example", "support-tools", "--rows", "40"]
        ).exit_code
        == 0
    )
    raw = yaml.safe_load((ws / "tunesmith.yaml").read_text())
    raw["base_model"] = {"name": "tiny-bpe", "path": str(bpe_model_dir)}
    raw["eval"] |= {"max_new_tokens": 16, "max_episode_steps": 1, "gates": {}}
    (ws / "tunesmith.yaml").write_text(yaml.safe_dump(raw))
    assert runner.invoke(app, ["curate", "--workspace", str(ws)]).exit_code == 0
    result = runner.invoke(app, ["eval", "--model", "base", "--workspace", str(ws)])
    assert result.exit_code == 0, result.output
    assert "tool calls per category" in result.output and "episode_success" in result.output


def test_init_refuses_non_empty_folder_and_unknown_example(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    result = runner.invoke(app, ["init", str(tmp_path / "full")])
    assert result.exit_code == 1 and "not empty" in result.output
    result = runner.invoke(app, ["init", str(tmp_path / "new"), "--example", "nope"])
    assert result.exit_code == 1 and "unknown example" in result.output


def test_invalid_config_gives_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "tunesmith.yaml").write_text(
        "data:\n  name: x\n  sources: [{path: a.csv}]\n  template: {user: '{{ q }}'}\n"
        "  split: {val: 2}\n"
    )
    result = runner.invoke(app, ["curate", "--workspace", str(tmp_path)])
    assert result.exit_code == 1
    assert "data.split.val" in result.output and "Traceback" not in result.output


def test_data_scan_prints_findings(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"body": "Call me on +44 20 7946 0958 about order 5512093381 today"}\n')
    result = runner.invoke(app, ["data", "scan", str(path)])
    assert result.exit_code == 0, result.output
    assert "PII PHONE_NUMBER" in result.output


def test_plan_prints_a_memory_and_gpu_hours_estimate() -> None:
    args = ["plan", "--params", "7B", "--method", "qlora", "--seq-len", "2048", "--batch", "4"]
    result = runner.invoke(app, [*args, "--tokens", "10M"])
    assert result.exit_code == 0, result.output
    assert "GPU-hours" in result.output and "fits" in result.output
    result = runner.invoke(app, ["plan", "--params", "7X"])
    assert result.exit_code == 1 and "7X" in result.output


def test_curate_with_feedback_prints_the_export_then_the_version(workspace: Path) -> None:
    """An empty review queue exports no records; the version is curated from the sources."""
    result = runner.invoke(app, ["curate", "--with-feedback", "-w", str(workspace)])
    assert result.exit_code == 0, result.output
    assert "reviewed records: 0 (0 preference pairs, 0 from pairwise choices" in result.output
    assert "support-tickets v1" in result.output and "reconcile" in result.output
    assert (workspace / "feedback" / "reviewed.jsonl").is_file()


def test_stage_errors_turn_known_failures_into_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(typer.Exit) as exit_info, stage_errors(ValueError, OSError):
        raise FileNotFoundError("raw/x.csv: not found")
    assert exit_info.value.exit_code == 1
    assert capsys.readouterr().err == "error: raw/x.csv: not found\n"
    # a KeyError's message prints without the quotes of its repr; a prefix goes before it
    with pytest.raises(typer.Exit), stage_errors(KeyError, prefix="init: "):
        raise KeyError("unknown example 'nope'; available: support-tickets")
    assert (
        capsys.readouterr().err
        == "error: init: unknown example 'nope'; available: support-tickets\n"
    )
    # anything else is a bug for `main` to report, not a clean exit
    with pytest.raises(RuntimeError), stage_errors(ValueError):
        raise RuntimeError("bug")

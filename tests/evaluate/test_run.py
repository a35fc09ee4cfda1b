"""`tunesmith eval` end to end on a tiny tuned model: report, slices, gates, MLflow, audit."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest
from typer.testing import CliRunner

from tunesmith.cli import app
from tunesmith.config.workspace import Workspace
from tunesmith.data.rows import EvalInputError
from tunesmith.evaluate.run import evaluate
from tunesmith.store import audit
from tunesmith.store.tracking import tracking_uri

from .conftest import set_config

runner = CliRunner()


def test_eval_writes_report_compare_slices_and_records(trained: tuple[Path, str]) -> None:
    root, run_id = trained
    ws = Workspace(root)
    result = evaluate(ws, ws.load_config(), run_id, with_compare=True)
    report = json.loads((result.out_dir / "report.json").read_text())
    assert result.out_dir == root / "runs" / run_id / "eval"
    assert (result.out_dir / "confusion.png").stat().st_size > 1000
    assert report["data"]["version"] == "v1" and report["data"]["split"] == "test"
    test_rows = (root / "datasets/support-tickets/v1/test.jsonl").read_text().splitlines()
    assert report["data"]["rows"] == len(test_rows)
    metrics = report["metrics"]
    assert 0 <= metrics["accuracy"] <= 1 and 0 <= metrics["macro_f1"] <= 1
    assert metrics["val_perplexity"] > 1
    assert sum(c["support"] for c in report["per_class"].values()) == len(test_rows)
    # every row is in exactly one slice value; small groups are reported, not judged
    for field in ("region", "customer_tier"):
        values = report["slices"][field]["values"]
        assert sum(v["rows"] for v in values.values()) == len(test_rows)
        assert all(v["judged"] == (v["rows"] >= 5) for v in values.values())
    names = [g["gate"] for g in report["gates"]]
    assert names[:2] == ["min accuracy", "min macro_f1"]
    assert report["passed"] == all(g["passed"] for g in report["gates"])
    zero, few, tuned = report["compare"]
    assert few["prompt_tokens_per_request"] > zero["prompt_tokens_per_request"] + 50
    assert tuned["metrics"]["accuracy"] == metrics["accuracy"]
    md = (result.out_dir / "report.md").read_text()
    assert "Prompting versus fine-tuning" in md and "Slices by `region`" in md
    (entry,) = [e for e in audit.entries(audit.audit_path(ws.state_dir)) if e.action == "eval"]
    assert entry.subject == run_id and entry.outputs["report.json"]
    mlflow.set_tracking_uri(tracking_uri(ws.state_dir))
    (run,) = mlflow.search_runs(
        filter_string=f"tags.tunesmith_run = '{run_id}'", output_format="list",
        search_all_experiments=True,
    )  # fmt: skip
    assert run.data.metrics["eval.accuracy"] == pytest.approx(metrics["accuracy"])


def test_a_failed_gate_exits_1_and_names_the_numbers(trained: tuple[Path, str]) -> None:
    root, run_id = trained
    original = (root / "tunesmith.yaml").read_text()
    try:
        set_config(root, eval={"gates": {"min": {"accuracy": 1.01}}})
        result = runner.invoke(app, ["eval", "--model", run_id, "-w", str(root)])
    finally:
        (root / "tunesmith.yaml").write_text(original)
    assert result.exit_code == 1, result.output
    assert "gate min accuracy: FAIL" in result.output and "< 1.010" in result.output


def test_base_model_eval_goes_to_the_state_folder(trained: tuple[Path, str]) -> None:
    root, _ = trained
    result = runner.invoke(app, ["eval", "--model", "base", "-w", str(root)])
    assert result.exit_code in (0, 1), result.output
    (folder,) = (root / ".tunesmith/eval").iterdir()
    assert folder.name == "tiny-llama-support-tickets-v1"
    report = json.loads((folder / "report.json").read_text())
    assert report["model"]["kind"] == "base" and report["model"]["adapter_sha256"] is None


def test_bad_data_file_names_file_row_and_field(trained: tuple[Path, str], tmp_path: Path) -> None:
    root, run_id = trained
    ws = Workspace(root)
    good = (root / "datasets/support-tickets/v1/test.jsonl").read_text().splitlines()[0]
    bad = json.loads(good)
    bad["meta"]["queue"] = "lost-and-found"
    data = tmp_path / "rows.jsonl"
    data.write_text(good + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(EvalInputError, match=r"rows.jsonl: row 2: field 'meta.queue'"):
        evaluate(ws, ws.load_config(), run_id, data_file=data)
    result = runner.invoke(app, ["eval", "--model", "no-such-run", "-w", str(root)])
    assert result.exit_code == 1 and "run 'no-such-run' not found" in result.output


def test_scores_and_val_perplexity_are_computed_once_per_model_and_rows_in_a_process(
    trained: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop scores one challenger on the test split, the feedback split and the audit
    sample: its perplexity on the same validation split is computed once and reused."""
    from tunesmith.evaluate import score_model

    root, run_id = trained
    ws = Workspace(root)
    calls: list[str] = []
    real = score_model.perplexity

    def counted(model, tokenizer, records, max_length, batch_size=4):  # type: ignore[no-untyped-def]
        calls.append(str(len(records)))
        return real(model, tokenizer, records, max_length, batch_size)

    monkeypatch.setattr(score_model, "perplexity", counted)
    score_model._PERPLEXITIES.clear()
    score_model._SCORES.clear()
    first = evaluate(ws, ws.load_config(), run_id).report["metrics"]
    # the same model on the same split again (the loop's champion): neither loaded nor run
    from tunesmith.evaluate import run as eval_run

    loads: list[str] = []
    real_load = eval_run.load_model

    def counted_load(ws_, target):  # type: ignore[no-untyped-def]
        loads.append(target.ref)
        return real_load(ws_, target)

    monkeypatch.setattr(eval_run, "load_model", counted_load)
    again = evaluate(ws, ws.load_config(), run_id).report["metrics"]
    assert again == first and loads == [] and len(calls) == 1
    test = root / "datasets/support-tickets/v1/test.jsonl"
    part = tmp_path / "part.jsonl"
    part.write_text("".join(test.read_text().splitlines(keepends=True)[:5]))
    second = evaluate(ws, ws.load_config(), run_id, data_file=part).report["metrics"]
    assert len(calls) == 1 and loads == [run_id]  # new rows: loaded and scored, perplexity kept
    assert second["val_perplexity"] == first["val_perplexity"]
    # another model (the base) on the same split is computed, not taken from the run's
    evaluate(ws, ws.load_config(), "base", data_file=part)
    assert len(calls) == 2

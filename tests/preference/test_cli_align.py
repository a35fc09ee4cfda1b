"""The README's preference commands through the Typer app, on the tiny model, with the LLM
judge behind a real `tunesmith serve` process: feedback generate, align, feedback winrate,
feedback agreement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tunesmith.cli import app
from tunesmith.config.workspace import Workspace
from tunesmith.serve.try_serve import server_process
from tunesmith.store.db import open_store
from tunesmith.store.keys import create_key

from ..train.test_align import sft_workspace, write_pairs  # noqa: F401

runner = CliRunner()


def test_generate_align_winrate_and_agreement_as_in_the_readme(
    sft_workspace: tuple,  # noqa: F811
    bpe_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws, sft_run = sft_workspace
    w = ["-w", str(ws.root)]
    generated = runner.invoke(
        app, ["feedback", "generate", "--model", sft_run, "--k", "3", "--limit", "8", *w]
    )
    assert generated.exit_code == 0, generated.output
    assert "8 prompts x 3 candidates" in " ".join(generated.output.split())
    pair_set = sorted((ws.root / "preferences").iterdir())[-1]
    manifest = json.loads((pair_set / "manifest.json").read_text())
    counts = manifest["counts"]
    assert counts["candidates"] == 24
    assert counts["pairs"] + counts["below_margin"] + counts["off_label"] == 8
    candidates = [json.loads(x) for x in (pair_set / "candidates.jsonl").open()]
    assert len(candidates) == 8 and all(len(c["candidates"]) == 3 for c in candidates)
    again = runner.invoke(
        app, ["feedback", "generate", "--model", sft_run, "--k", "3", "--limit", "8", *w]
    )
    assert again.exit_code == 0, again.output
    second = sorted((ws.root / "preferences").iterdir())[-1]
    assert (second / "candidates.jsonl").read_text() == (pair_set / "candidates.jsonl").read_text()

    pairs = write_pairs(ws, 12)
    aligned = runner.invoke(app, ["align", "--sft", sft_run, "--pairs", str(pairs), *w])
    assert aligned.exit_code == 0, aligned.output
    said = " ".join(aligned.output.split())  # rich wraps long lines at the terminal width
    assert "4 quarantined" in said and "margin on the training pairs" in said
    run_id = said.split("run ", 1)[1].split(":", 1)[0]

    # the judge is another server (as a stronger on-prem model would be): the tiny BPE model,
    # whose tokenizer can write the JSON verdict the word-level one cannot
    judge_ws = Workspace(tmp_path / "judge")
    judge_ws.root.mkdir()
    raw = yaml.safe_load(ws.config_path.read_text())
    judge_ws.config_path.write_text(
        yaml.safe_dump({**raw, "base_model": {"name": "tiny-bpe", "path": str(bpe_model_dir)}})
    )
    _, key = create_key(open_store(judge_ws.state_url()), "judge", ["base"], "test")
    monkeypatch.setenv("TUNESMITH_JUDGE_KEY", key)
    human = ws.root / "feedback" / "preferences.jsonl"
    human.parent.mkdir(exist_ok=True)
    human.write_text("".join(pairs.read_text().splitlines(keepends=True)[:3]))
    with server_process(judge_ws) as (url, _):
        raw = yaml.safe_load(ws.config_path.read_text())
        raw["align"]["judge"] = {"base_url": url, "max_tokens": 256}
        ws.config_path.write_text(yaml.safe_dump(raw))
        rated = runner.invoke(app, ["feedback", "winrate", run_id, "--limit", "4", *w])
        assert rated.exit_code == 0, rated.output
        report = json.loads((ws.runs_dir / run_id / "eval" / "winrate.json").read_text())
        judge = report["judge"]
        assert judge["wins"] + judge["ties"] + judge["losses"] == 4 == report["rows"]
        assert report["against"] == sft_run and set(report["rubric"]) == {run_id, sft_run}
        audit = report["audit"]
        assert audit["wins"] + audit["ties"] + audit["losses"] == 4
        assert set(audit["compliance"]) == {run_id, sft_run}
        agreed = runner.invoke(app, ["feedback", "agreement", "--all", *w])
        assert agreed.exit_code == 0, agreed.output
        said = " ".join(agreed.output.split())
        assert "rubric" in said and "llm (base)" in said
    stored = open_store(judge_ws.state_url())
    from sqlalchemy import text

    with stored.connect() as connection:
        judged = connection.execute(text("select count(*) from interactions")).scalar()
    assert judged == 2 * 4 + 2 * 3  # both answer orders of every judged pair reached the server

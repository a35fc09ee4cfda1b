"""`tunesmith kb index` and `kb search` as the README runs them, on a tunesmith.yaml that holds
only a `knowledge:` section."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tunesmith.cli import app
from tunesmith.config import KnowledgeConfig
from tunesmith.config.workspace import Workspace

runner = CliRunner()
Kb = tuple[Workspace, KnowledgeConfig]


def test_index_json_summary_and_batch_search_in_order(kb_workspace: Kb, tmp_path: Path) -> None:
    ws, _ = kb_workspace
    assert set((ws.root / "tunesmith.yaml").read_text().split(":\n", 1)[0].split()) == {"knowledge"}
    result = runner.invoke(app, ["kb", "index", "-w", str(ws.root), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("added", "updated", "deleted", "unchanged", "skipped", "chunks", "seconds"):
        assert key in summary
    assert (summary["added"], summary["skipped"]) == (3, 1)

    queries = tmp_path / "q.jsonl"
    asked = [
        {"query": "parental leave", "groups": ["hr"]},
        {"query": "parental leave", "groups": []},
        {"query": "refund window", "groups": ["support"]},
    ]
    queries.write_text("".join(json.dumps(q) + "\n" for q in asked))
    result = runner.invoke(
        app,
        ["kb", "search", "--queries", str(queries), "--top-k", "2", "--json", "-w", str(ws.root)],
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [line["query"] for line in lines] == [q["query"] for q in asked]
    assert lines[0]["results"][0]["doc"] == "internal/leave.md"
    assert lines[1]["results"] == []
    assert {r["doc"] for r in lines[2]["results"]} == {"public/refunds.md"}
    for result_row in lines[0]["results"]:
        assert set(result_row) >= {"doc", "chunk", "score", "text"}
        assert len(lines[0]["results"]) <= 2


def test_single_search_prints_a_table_and_skipped_files_are_listed(kb_workspace: Kb) -> None:
    ws, _ = kb_workspace
    result = runner.invoke(app, ["kb", "index", "-w", str(ws.root)])
    assert result.exit_code == 0, result.output
    assert "notes.txt" in result.output and "no access groups" in result.output
    result = runner.invoke(
        app, ["kb", "search", "bonus pool", "--groups", "exec", "-w", str(ws.root)]
    )
    assert result.exit_code == 0, result.output
    assert "kb://internal/bonus.md#0" in result.output


def test_kb_commands_name_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "tunesmith.yaml").write_text("project: x\n")
    result = runner.invoke(app, ["kb", "index", "-w", str(tmp_path)])
    assert result.exit_code == 1 and "no `knowledge:` section" in result.output
    (tmp_path / "tunesmith.yaml").write_text("knowledge:\n  sources: [{path: kb}]\n")
    result = runner.invoke(app, ["kb", "search", "x", "--groups", "a", "-w", str(tmp_path)])
    assert result.exit_code == 1 and "run `tunesmith kb index`" in result.output
    (tmp_path / "tunesmith.yaml").write_text(
        "knowledge:\n  sources: [{path: kb}]\n  groups: [HR]\n"
    )
    result = runner.invoke(app, ["kb", "index", "-w", str(tmp_path)])
    assert result.exit_code == 1 and "knowledge.groups" in result.output and "HR" in result.output

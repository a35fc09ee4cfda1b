"""An erasure request follows every road a record or a user's value takes: by record id,
through warm starts, into the state store, feedback exports and preference pairs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from tests.store_rows import add_interaction
from tunesmith.cli import app
from tunesmith.config.workspace import Workspace
from tunesmith.governance.erasure import find_value
from tunesmith.governance.lineage import RowKey, trace_record
from tunesmith.store.db import open_store

from .conftest import RUN_ID

runner = CliRunner()
WARM = "support-tickets-v2-lora-20261201T100000Z-cd34"
WARMER = "support-tickets-v3-lora-20261202T100000Z-ef56"


def _warm_start(ws: Workspace, run_folder: Callable[..., Path], run_id: str, parent: str) -> None:
    """A run on a version that never held the row, continuing `parent`'s adapter (the loop's
    default: `init_adapter` in its lineage)."""
    run = run_folder(run_id=run_id, with_eval=False)
    lineage = json.loads((run / "lineage.json").read_text())
    lineage["dataset"] = {**lineage["dataset"], "name": "other-data", "version": "v9"}
    lineage["init_adapter"] = {"run_id": parent, "sha256": "0" * 64}
    (run / "lineage.json").write_text(json.dumps(lineage))


def _first(ws: Workspace, split: str = "train") -> dict:
    line = (ws.datasets_dir / f"support-tickets/v1/{split}.jsonl").read_text().splitlines()[0]
    return json.loads(line)["meta"]


def test_runs_warm_started_from_a_carrier_carry_the_row(
    ws: Workspace, run_folder: Callable[..., Path]
) -> None:
    run_folder()
    _warm_start(ws, run_folder, WARM, RUN_ID)
    _warm_start(ws, run_folder, WARMER, WARM)
    meta = _first(ws)
    _, runs = trace_record(ws, RowKey(source=meta["source"], row=meta["row"]))
    assert runs == {
        RUN_ID: "trained on support-tickets/v1",
        WARM: f"warm-started from {RUN_ID}",
        WARMER: f"warm-started from {WARM}",
    }
    args = ["lineage", "--source", meta["source"], "--row", str(meta["row"]), "-w", str(ws.root)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"{WARMER}: warm-started from {WARM}" in " ".join(result.output.split())


def test_a_row_is_found_by_its_configured_id_field(
    ws: Workspace, run_folder: Callable[..., Path]
) -> None:
    run_folder()
    meta = _first(ws)
    assert ws.load_config().data.sources[0].id_field == "ticket_id"
    assert meta["id"] != f"{meta['source']}:{meta['row']}"  # the ticket id, not the place
    result = runner.invoke(app, ["lineage", "--id", meta["id"], "-w", str(ws.root)])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "kept in train" in flat and f"runs trained on it: {RUN_ID}" in flat
    manifest = json.loads((ws.datasets_dir / "support-tickets/v1/manifest.json").read_text())
    member = manifest["duplicate_clusters"][0]["members"][0]
    appearances, _ = trace_record(ws, RowKey(id=member["id"]))
    assert [a.how.split(" of ")[0] for a in appearances] == [f"{member['kind']} duplicate"]
    missing = runner.invoke(app, ["lineage", "--id", "T-NOT-THERE", "-w", str(ws.root)])
    assert missing.exit_code == 1 and "no dataset version holds" in " ".join(missing.output.split())


def test_a_value_is_found_in_the_store_feedback_and_preference_pairs(
    ws: Workspace, run_folder: Callable[..., Path]
) -> None:
    run_folder()
    _warm_start(ws, run_folder, WARM, RUN_ID)
    _warm_start(ws, run_folder, WARMER, WARM)
    email, name, phrase = "zelda.quist@example.org", "Zélda Quist", "my parcel 77Q went missing"
    engine = open_store(ws.state_url())
    add_interaction(engine, "int-1", f"I am {name}, write to {email}", "Queue: billing")
    engine.dispose()
    reviewed = {
        "messages": [
            {"role": "user", "content": f"Hello, {name} here"},
            {"role": "assistant", "content": "Queue: billing"},
        ],
        "meta": {"id": "fb-int-1", "source": "review", "row": 1, "interaction_id": "int-1"},
    }
    (ws.root / "feedback").mkdir()
    # written as the export writes it: JSON with non-ASCII kept
    (ws.root / "feedback/reviewed.jsonl").write_text(json.dumps(reviewed, ensure_ascii=False))
    pair = {
        "prompt": [{"role": "user", "content": phrase}],
        "chosen": [{"role": "assistant", "content": "Queue: shipping"}],
        "rejected": [{"role": "assistant", "content": "Queue: billing"}],
        "meta": {"id": "choice-3"},
    }
    (ws.root / "preferences/gen-1").mkdir(parents=True)
    (ws.root / "preferences/gen-1/pairs.jsonl").write_text(json.dumps(pair) + "\n")
    (ws.runs_dir / WARM / "pairs").mkdir()
    (ws.runs_dir / WARM / "pairs/train.jsonl").write_text(json.dumps(pair) + "\n")

    found = find_value(ws, email.upper())  # case does not hide it
    assert [p.where for p in found.places] == ["state store interactions id int-1"]
    assert found.runs == {}  # captured, but no run learned it
    found = find_value(ws, name)
    assert {p.where for p in found.places} == {
        "state store interactions id int-1",
        "feedback/reviewed.jsonl line 1",
    }
    found = find_value(ws, phrase)
    assert {p.where for p in found.places} == {
        "preferences/gen-1/pairs.jsonl line 1",
        f"runs/{WARM}/pairs/train.jsonl line 1",
    }
    # the aligned run learned it from its pairs, and the run continuing it did too
    assert found.runs == {
        WARM: "tuned on preference pairs holding it",
        WARMER: f"warm-started from {WARM}",
    }
    result = runner.invoke(app, ["lineage", "--find", "int-1", "-w", str(ws.root)])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "captured interaction" in flat and "reviewed interactions" in flat


def test_a_value_from_a_source_row_is_traced_into_the_versions_and_runs(
    ws: Workspace, run_folder: Callable[..., Path]
) -> None:
    run_folder()
    _warm_start(ws, run_folder, WARM, RUN_ID)
    meta = _first(ws)
    found = find_value(ws, meta["id"])
    wheres = [p.where for p in found.places]
    assert f"{meta['source']} row {meta['row']}" in wheres
    assert "support-tickets/v1" in wheres  # the row's treatment: kept in train
    assert any(w.startswith("datasets/support-tickets/v1/train.jsonl line") for w in wheres)
    assert found.runs == {
        RUN_ID: "trained on support-tickets/v1",
        WARM: f"warm-started from {RUN_ID}",
    }


def test_a_value_is_found_in_the_chunks_of_the_knowledge_index(
    tmp_path: Path, tiny_embedder: Path
) -> None:
    from tunesmith.config import load_knowledge_config
    from tunesmith.knowledge.index import build_index

    from ..kb_assets import write_kb

    root = tmp_path / "kb-only"
    write_kb(root)
    (root / "tunesmith.yaml").write_text(
        "knowledge:\n  sources: [{path: kb}]\n  pii: 'off'\n"
        f"  embedding: {{model: '{tiny_embedder}'}}\n"
    )
    ws = Workspace(root)
    build_index(ws, load_knowledge_config(ws.config_path))
    places = [p.where for p in find_value(ws, "maria.lopez@example.com").places]
    assert "knowledge index chunk kb://public/refunds.md#1" in places
    assert any(p.startswith("kb/public/refunds.md line") for p in places)  # and its source
    (root / "kb/public/refunds.md").write_text("# Refunds\n\nNo names here.\n")
    build_index(ws, load_knowledge_config(ws.config_path))
    places = [p.where for p in find_value(ws, "maria.lopez@example.com").places]
    assert places == []  # fixed at the source and re-indexed: gone from every chunk


def test_a_value_a_served_model_remembered_is_found_in_its_memory(ws: Workspace) -> None:
    import numpy as np

    from tunesmith.store.db import memory_facts

    engine = open_store(ws.state_url())
    with engine.begin() as conn:
        conn.execute(
            memory_facts.insert().values(
                tenant="acme", end_user="u-9", slot="city", value="Llandudno", confidence=0.9,
                method="rule:city", source_interaction="int-4", created_at="2026-12-04T10:00:00Z",
                embedding_model="m", vector=np.ones(4, dtype="<f4").tobytes(),
            )
        )  # fmt: skip
    engine.dispose()
    found = find_value(ws, "llandudno")
    assert [p.where for p in found.places] == ["state store memory_facts id 1"]
    assert "tunesmith memory forget" in found.places[0].what

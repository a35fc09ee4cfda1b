"""The model card and the Annex IV draft state what the records hold, mark what only a person
can state, and name missing records as missing."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tunesmith.config.workspace import Workspace
from tunesmith.governance.context import fmt
from tunesmith.governance.documents import (
    ANNEX_IV,
    INDEX,
    MODEL_CARD,
    RecordsError,
    resolve_ref,
    write_documents,
)
from tunesmith.store import audit
from tunesmith.store.files import sha256_file

from .conftest import BASE_SHA, RUN_ID, FakeModelVersion

TODO = "To be completed by the provider"
APPROVAL = {"by": "ana", "at": "2026-11-28T19:05:00Z", "note": "fine for EU | APAC"}


def manifest(ws: Workspace) -> dict:
    return json.loads((ws.datasets_dir / "support-tickets/v1/manifest.json").read_text())


def section(text: str, heading: str) -> str:
    """The text under a `## heading` up to the next `## `."""
    start = text.index(f"## {heading}")
    end = text.find("\n## ", start + 3)
    return text[start : end if end != -1 else len(text)]


def front_matter(card: str) -> dict:
    match = re.match(r"^---\n(.*?)\n---\n", card, re.S)
    assert match, card[:200]
    return yaml.safe_load(match[1])


@pytest.fixture
def documented(ws: Workspace, run_folder: Callable[..., Path]) -> tuple[Path, str, str]:
    run_folder()
    model = FakeModelVersion("support-router", 3, RUN_ID, ["champion"], approvals=[APPROVAL])
    result = write_documents(ws, RUN_ID, model)
    card = (result.out_dir / MODEL_CARD).read_text()
    annex = (result.out_dir / ANNEX_IV).read_text()
    return result.out_dir, card, annex


def test_documents_name_the_data_weights_gates_and_slices(
    ws: Workspace, documented: tuple[Path, str, str]
) -> None:
    out, card, annex = documented
    assert out == ws.root / "docs" / "support-router" / "v3"
    m = manifest(ws)
    for text in (card, annex):
        assert "support-tickets/v1" in text and "support-router/3" in text
        for name, entry in m["files"].items():
            assert f"`{name}` | `{entry['sha256']}`" in text
        assert m["sources"][0]["sha256"] in text and m["sources"][0]["path"] in text
        assert BASE_SHA in text
        # gates: verdict and numbers
        assert "| min accuracy | accuracy | 0.7692 | 0.7 | PASS | 0.769 >= 0.700 |" in text
        assert "| min slice ratio | accuracy | 0.6667 | 0.7 | FAIL |" in text
        assert "Overall: **FAILED**" in text
        # slices: every value with its rows and metrics; the worst/best ratio
        assert "| EU | 13 | 0.9231 | 0.9 | yes | no |" in text
        assert "| APAC | 13 | 0.6154 | 0.58 | yes | no |" in text
        assert "| LATAM | 2 | 0.5 | 0.5 | no (too few rows) | no |" in text
        assert "worst `APAC`, best `EU`" in text and "0.6667" in text
        # an approval with no record digest and no audit entry is shown but does not count
        assert "| ana | 2026-11-28T19:05:00Z | fine for EU \\| APAC | no" in text
    # the curation record: counts by stage and PII masked
    counts = m["counts"]
    assert f"| rows read | {counts['read']} |" in annex and f"| kept | {counts['kept']} |" in annex
    for stage, n in counts["quarantined_by_stage"].items():
        assert f"| quarantined at {stage} | {n} |" in annex
    for entity, n in m["pii_found"].items():
        assert f"| {entity} | {n} |" in annex
    assert "the counts reconcile" in annex
    assert "| learning_rate | 0.001 |" in card and "Validation loss: base model 2.8125" in card


def test_model_card_front_matter_is_hub_metadata(documented: tuple[Path, str, str]) -> None:
    _, card, _ = documented
    meta = front_matter(card)
    assert meta["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert meta["library_name"] == "peft" and "lora" in meta["tags"]
    (index,) = meta["model-index"]
    assert index["name"] == "support-router/3"
    (result,) = index["results"]
    assert result["task"]["type"] == "text-classification"
    assert result["dataset"] == {
        "name": "support-tickets/v1 (test split)",
        "type": "support-tickets",
        "split": "test",
    }
    values = {m["type"]: m["value"] for m in result["metrics"]}
    assert values == {"accuracy": 0.7692, "macro_f1": 0.7411, "perplexity": 3.25}
    assert "license" not in meta and "# license: to be completed by the provider" in card


def test_what_only_a_person_can_state_is_marked(documented: tuple[Path, str, str]) -> None:
    _, card, annex = documented
    for heading in (
        "5. Risk management system",
        "7. Harmonised standards applied",
        "8. EU declaration of conformity",
        "9. Post-market monitoring system",
    ):
        assert f"> **{TODO}:**" in section(annex, heading), heading
    for n in range(1, 10):
        assert f"\n## {n}. " in annex
    assert "the intended purpose" in section(annex, "1. General description")
    for heading in ("Uses", "Citation", "Model card contact"):
        assert TODO in section(card, heading), heading
    assert f"**License:** **{TODO}:**" in card and "**Missing record:**" not in card + annex


def test_index_and_audit_entry_name_the_files(
    ws: Workspace, documented: tuple[Path, str, str]
) -> None:
    out, _, _ = documented
    index = json.loads((out / INDEX).read_text())
    digests = {name: sha256_file(out / name) for name in (MODEL_CARD, ANNEX_IV)}
    assert {n: f["sha256"] for n, f in index["files"].items()} == digests
    assert index["model"] == "support-router/3" and index["run_id"] == RUN_ID
    assert f"runs/{RUN_ID}/eval/report.json" in index["records"] and index["missing"] == []
    log = audit.audit_path(ws.state_dir)
    last = audit.entries(log)[-1]
    assert (last.action, last.subject, last.outputs) == ("docs", "support-router/3", digests)
    assert last.inputs == index["records"] and index["audit_entry"]["hash"] == last.hash
    assert audit.verify(log).ok
    assert not list(out.glob(".*.tmp")), "temporary files left behind"


def test_missing_eval_is_stated_not_guessed(ws: Workspace, run_folder: Callable[..., Path]) -> None:
    run_folder(with_eval=False)
    run_id, model = resolve_ref(ws, RUN_ID)
    assert (run_id, model) == (RUN_ID, None)
    result = write_documents(ws, run_id)
    assert result.out_dir == ws.runs_dir / RUN_ID / "docs"
    card = (result.out_dir / MODEL_CARD).read_text()
    annex = (result.out_dir / ANNEX_IV).read_text()
    for text in (card, annex):
        assert (
            f"**Missing record:** no evaluation report at `runs/{RUN_ID}/eval/report.json`" in text
        )
        # whole words: the PII section names the PASSPORT type
        assert not re.search(r"\b(PASS|FAIL)\b", text) and "| EU |" not in text
        assert "not registered" in text.lower() or "unregistered" in text.lower()
    assert "model-index" not in front_matter(card)
    assert f"runs/{RUN_ID}/eval/report.json (the model has not been evaluated)" in annex
    assert any("eval/report.json" in item for item in result.missing)
    assert audit.entries(audit.audit_path(ws.state_dir))[-1].subject == RUN_ID


def test_a_record_that_disagrees_is_flagged(
    ws: Workspace, run_folder: Callable[..., Path], tmp_path: Path
) -> None:
    run_folder()
    files = {n: f["sha256"] for n, f in manifest(ws)["files"].items()}
    record = {
        "base_model": {"weights_sha256": "0" * 64},  # not what the run trained from
        "dataset": {"files": files},
        "adapter": {"files": {}},
        "eval": None,
    }
    model = FakeModelVersion("support-router", 4, RUN_ID, record=record)
    result = write_documents(ws, RUN_ID, model, out_dir=tmp_path / "out")
    annex = (tmp_path / "out" / ANNEX_IV).read_text()
    assert result.out_dir == tmp_path / "out"
    assert "| the registry version names the run's base weights | **MISMATCH** |" in annex
    assert "| the registry version names the run's dataset files | ok |" in annex
    assert "| the registered adapter weights match the run folder's | not recorded |" in annex
    assert "No approval of `support-router/4` is recorded" in annex


def test_unknown_refs_and_runs_without_lineage_are_one_line_errors(
    ws: Workspace, run_folder: Callable[..., Path]
) -> None:
    with pytest.raises(LookupError, match="neither NAME/VERSION"):
        resolve_ref(ws, "no-such-run")
    run = run_folder()
    (run / "lineage.json").unlink()
    with pytest.raises(RecordsError, match=r"no lineage\.json"):
        write_documents(ws, RUN_ID)


def test_numbers_print_without_losing_small_values() -> None:
    assert [fmt(v) for v in (2e-5, 0.7692, 0.9, 1.0, 12, None, float("nan"))] == [
        "2e-05",
        "0.7692",
        "0.9",
        "1.0",
        "12",
        "n/a",
        "nan",
    ]

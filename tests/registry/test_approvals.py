"""Who approved: the actor behind `--by`, one person however spelt, and only approvals on the
audit log; promote, `models list` and the documents count them by the same rule."""

from __future__ import annotations

import pytest
import yaml
from mlflow import MlflowClient

from tunesmith.config import RegistryConfig
from tunesmith.governance import audit
from tunesmith.governance.context import build_context
from tunesmith.governance.records import read_records
from tunesmith.registry import (
    RegistryError,
    approve,
    list_models,
    promote,
    register,
    resolve,
    show_model,
)
from tunesmith.train.tracking import tracking_uri
from tunesmith.workspace import Workspace

from .conftest import MakeRun
from .fakes import NAME

POLICY = RegistryConfig(required_approvals=1)


def _forge(ws: Workspace, version: int, n: int, **tags: str) -> None:
    """An approval tag set straight in MLflow, with no `tunesmith approve` behind it."""
    uri = tracking_uri(ws.state_dir)
    mlflow = MlflowClient(tracking_uri=uri, registry_uri=uri)
    for key, value in tags.items():
        mlflow.set_model_version_tag(NAME, str(version), f"approval.{n}.{key}", value)


def _document_approvals(ws: Workspace, ref: str) -> list[tuple[str, str]]:
    mv = resolve(ws, ref)
    model = build_context(read_records(ws, mv.run_id, mv))["model"]
    return [(a["by"], a["current"]) for a in model["approvals"]]


def test_an_approval_records_who_entered_it(
    ws: Workspace, make_run: MakeRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(ws, make_run(), NAME)
    monkeypatch.setenv(audit.ACTOR_ENV, "mallory")
    mv = approve(ws, f"{NAME}/1", "alice", "lgtm", POLICY)
    assert mv.approvals[0]["by"] == "alice" and mv.approvals[0]["actor"] == "mallory"
    (entry,) = [e for e in audit.entries(audit.audit_path(ws.state_dir)) if e.action == "approve"]
    assert entry.actor == "mallory" and entry.details["by"] == "alice"
    assert entry.inputs["record.json"] == mv.record_sha256


def test_approver_names_are_one_person_however_spelt(ws: Workspace, make_run: MakeRun) -> None:
    register(ws, make_run(), NAME)
    policy = RegistryConfig(required_approvals=2, approvers=["Alice", "bob"])
    approve(ws, f"{NAME}/1", " alice ", "", policy)  # allowed: "Alice" is listed
    with pytest.raises(RegistryError, match="already approved by ALICE"):
        approve(ws, f"{NAME}/1", "ALICE", "", policy)
    with pytest.raises(RegistryError, match=r"needs 2 distinct approval\(s\).*has 1 \(alice\)"):
        promote(ws, f"{NAME}/1", "champion", policy)
    approve(ws, f"{NAME}/1", "Bob", "", policy)
    assert promote(ws, f"{NAME}/1", "champion", policy).version == 1
    (summary,) = list_models(ws, policy)
    assert summary.versions[0].approvals == 2


def test_an_approval_tag_without_an_audit_entry_does_not_count(
    ws: Workspace, make_run: MakeRun
) -> None:
    mv = register(ws, make_run(), NAME).version
    _forge(ws, 1, 1, by="bob", at="2026-11-28T19:00:00Z", note="", record=mv.record_sha256)
    _forge(ws, 1, 2, by="carol", at="2026-11-28T19:01:00Z", note="")  # names no record
    with pytest.raises(RegistryError) as refused:
        promote(ws, f"{NAME}/1", "champion", POLICY)
    message = str(refused.value)
    assert "has 0" in message and "no approve entry in the audit log" in message
    assert "of an earlier record" in message
    assert list_models(ws)[0].versions[0].approvals == 0
    assert _document_approvals(ws, f"{NAME}/1") == [
        ("bob", "no (no approve entry in the audit log)"),
        ("carol", "no (of an earlier record)"),
    ]
    # bob's forged tag does not stand in the way of bob approving for real
    approve(ws, f"{NAME}/1", "bob", "", POLICY)
    assert promote(ws, f"{NAME}/1", "champion", POLICY).version == 1
    assert _document_approvals(ws, f"{NAME}/1")[-1] == ("bob", "yes")


def test_listing_and_documents_apply_the_approvers_policy(ws: Workspace, make_run: MakeRun) -> None:
    register(ws, make_run(), NAME)
    approve(ws, f"{NAME}/1", "alice", "", POLICY)  # anyone could approve then
    only_bob = RegistryConfig(required_approvals=1, approvers=["bob"])
    assert list_models(ws, POLICY)[0].versions[0].approvals == 1
    assert list_models(ws, only_bob)[0].versions[0].approvals == 0
    assert show_model(ws, NAME, only_bob).versions[0].approvals == 0
    with pytest.raises(RegistryError, match=r"not in registry\.approvers"):
        promote(ws, f"{NAME}/1", "champion", only_bob)
    # the documents read the workspace's policy, as `tunesmith promote` does
    raw = yaml.safe_load(ws.config_path.read_text())
    raw["registry"]["approvers"] = ["bob"]
    ws.config_path.write_text(yaml.safe_dump(raw))
    assert _document_approvals(ws, f"{NAME}/1") == [("alice", "no (not in registry.approvers)")]
    assert list_models(ws)[0].versions[0].approvals == 0

"""Who approved: the authenticated actor (an approver key or the OS user), never the name typed
after `--by`; each actor once, only approvals on the audit log; promote, `models list` and the
documents count them by the same rule."""

from __future__ import annotations

import pytest
import yaml
from mlflow import MlflowClient

from tunesmith.config import RegistryConfig
from tunesmith.config.workspace import Workspace
from tunesmith.governance.context import build_context
from tunesmith.governance.evidence import read_records
from tunesmith.registry import (
    RegistryError,
    approve,
    counting_approvers,
    list_models,
    promote,
    register,
    resolve,
    show_model,
)
from tunesmith.registry.approvals import approve_entries
from tunesmith.registry.client import client, set_tags
from tunesmith.store import audit
from tunesmith.store.actor import os_login
from tunesmith.store.db import open_store
from tunesmith.store.keys import revoke_key
from tunesmith.store.tracking import tracking_uri

from .conftest import MakeRun
from .fakes import NAME, approver_key

POLICY = RegistryConfig(required_approvals=1)
ME = f"user:{os_login()}"


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


def test_an_approval_records_the_authenticated_actor_not_the_typed_name(
    ws: Workspace, make_run: MakeRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(ws, make_run(), NAME)
    # neither $TUNESMITH_ACTOR nor $USER says who approves: anyone can set them
    monkeypatch.setenv(audit.ACTOR_ENV, "mallory")
    monkeypatch.setenv("USER", "mallory")
    mv = approve(ws, f"{NAME}/1", "alice", "lgtm", POLICY)
    given = mv.approvals[0]
    assert (given["by"], given["actor"], given["via"]) == ("alice", ME, "os-user")
    (entry,) = approve_entries(ws)
    assert entry.actor == ME and entry.details["by"] == "alice"
    assert entry.details["via"] == "os-user"
    assert entry.inputs["record.json"] == mv.record_sha256
    assert counting_approvers(mv, mv.record_sha256, POLICY, approve_entries(ws)) == [ME]


def test_one_actor_under_two_names_is_one_approval(ws: Workspace, make_run: MakeRun) -> None:
    register(ws, make_run(), NAME)
    two = RegistryConfig(required_approvals=2)
    approve(ws, f"{NAME}/1", "alice", "", two)
    with pytest.raises(RegistryError, match=f"already approved by {ME} \\(as 'alice'"):
        approve(ws, f"{NAME}/1", "Bob", "", two)
    with pytest.raises(RegistryError, match=r"needs 2 distinct approval\(s\).*has 1"):
        promote(ws, f"{NAME}/1", "champion", two)
    # the same key twice, under two names, is one approval too
    secret = approver_key(ws, "carol-key")
    approve(ws, f"{NAME}/1", "carol", "", RegistryConfig(required_approvals=3), secret)
    with pytest.raises(RegistryError, match="already approved by key:carol-key"):
        approve(ws, f"{NAME}/1", "dave", "", RegistryConfig(required_approvals=3), secret)
    # were a second approval by the same actor on the record anyway, it would count once
    mv = resolve(ws, f"{NAME}/1")
    entry = audit.append(
        audit.audit_path(ws.state_dir),
        "approve",
        mv.ref,
        inputs={"record.json": mv.record_sha256},
        details={"by": "Bob", "note": "", "run": mv.run_id, "via": "os-user"},
        actor=ME,
    )
    tags = {"by": "Bob", "actor": ME, "via": "os-user", "at": entry.time}
    tags.update(note="", record=mv.record_sha256)
    set_tags(client(ws), NAME, 1, {f"approval.3.{k}": v for k, v in tags.items()})
    mv = resolve(ws, f"{NAME}/1")
    counted = counting_approvers(mv, mv.record_sha256, two, approve_entries(ws))
    assert counted == ["key:carol-key", ME]
    assert _document_approvals(ws, f"{NAME}/1")[-1] == (
        f"Bob ({ME})",
        "no (the same approver again)",
    )
    three = RegistryConfig(required_approvals=3)
    with pytest.raises(RegistryError, match=r"has 2.*the same approver again"):
        promote(ws, f"{NAME}/1", "champion", three)


def test_two_approver_keys_are_two_actors(ws: Workspace, make_run: MakeRun) -> None:
    register(ws, make_run(), NAME)
    two = RegistryConfig(required_approvals=2, approvers=["alice-key", "key:bob-key"])
    alice, bob = approver_key(ws, "alice-key"), approver_key(ws, "bob-key")
    with pytest.raises(RegistryError, match=f"{ME} may not approve"):
        approve(ws, f"{NAME}/1", "me", "", two)
    approve(ws, f"{NAME}/1", "", "checked", two, alice)
    mv = approve(ws, f"{NAME}/1", "Bob", "", two, bob)
    assert [(a["by"], a["actor"]) for a in mv.approvals] == [
        ("alice-key", "key:alice-key"),
        ("Bob", "key:bob-key"),
    ]
    assert promote(ws, f"{NAME}/1", "champion", two).version == 1
    (step,) = [e for e in audit.entries(audit.audit_path(ws.state_dir)) if e.action == "promote"]
    assert step.details["approvers"] == ["key:alice-key", "key:bob-key"]


def test_only_a_live_approver_key_for_the_model_approves(ws: Workspace, make_run: MakeRun) -> None:
    register(ws, make_run(), NAME)
    inference = approver_key(ws, "app", roles=("inference",))
    elsewhere = approver_key(ws, "other-approver", models="other-model")
    revoked = approver_key(ws, "gone")
    revoke_key(open_store(ws.state_url()), "gone")
    for secret, why in [
        (inference, "key 'app' lacks the 'approver' role"),
        (elsewhere, f"key 'other-approver' does not cover {NAME}"),
        (revoked, "unknown or revoked"),
        ("ts-made-up", "unknown or revoked"),
    ]:
        with pytest.raises(RegistryError, match=why):
            approve(ws, f"{NAME}/1", "x", "", POLICY, secret)
    assert resolve(ws, f"{NAME}/1").approvals == [] and approve_entries(ws) == []


def test_an_approval_recorded_by_typed_name_alone_does_not_count(
    ws: Workspace, make_run: MakeRun
) -> None:
    """Approvals written when `--by` was what counted prove nobody in particular."""
    mv = register(ws, make_run(), NAME).version
    entry = audit.append(
        audit.audit_path(ws.state_dir),
        "approve",
        mv.ref,
        inputs={"record.json": mv.record_sha256},
        details={"by": "alice", "note": "", "run": mv.run_id},
    )
    _forge(ws, 1, 1, by="alice", actor="ci", at=entry.time, note="", record=mv.record_sha256)
    with pytest.raises(RegistryError, match="not by an authenticated actor"):
        promote(ws, f"{NAME}/1", "champion", POLICY)
    approve(ws, f"{NAME}/1", "alice", "", POLICY)  # again, now as who runs it
    assert promote(ws, f"{NAME}/1", "champion", POLICY).version == 1


def test_an_approval_tag_without_an_audit_entry_does_not_count(
    ws: Workspace, make_run: MakeRun
) -> None:
    mv = register(ws, make_run(), NAME).version
    bob = {"actor": "key:bob", "via": "key"}
    _forge(ws, 1, 1, by="bob", at="2026-11-28T19:00:00Z", note="", record=mv.record_sha256, **bob)
    _forge(ws, 1, 2, by="carol", actor=ME, via="os-user", at="2026-11-28T19:01:00Z", note="")
    with pytest.raises(RegistryError) as refused:
        promote(ws, f"{NAME}/1", "champion", POLICY)
    message = str(refused.value)
    assert "has 0" in message and "no approve entry in the audit log" in message
    assert "of an earlier record" in message
    assert list_models(ws)[0].versions[0].approvals == 0
    assert _document_approvals(ws, f"{NAME}/1") == [
        ("bob (key:bob)", "no (no approve entry in the audit log)"),
        (f"carol ({ME})", "no (of an earlier record)"),
    ]
    # the forged tags do not stand in the way of approving for real
    approve(ws, f"{NAME}/1", "bob", "", POLICY)
    assert promote(ws, f"{NAME}/1", "champion", POLICY).version == 1
    assert _document_approvals(ws, f"{NAME}/1")[-1] == (f"bob ({ME})", "yes")


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
    assert _document_approvals(ws, f"{NAME}/1") == [
        (f"alice ({ME})", "no (not in registry.approvers)")
    ]
    assert list_models(ws)[0].versions[0].approvals == 0

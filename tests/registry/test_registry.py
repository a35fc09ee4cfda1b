"""Register, approve, promote and roll back on a real MLflow store, with the audit trail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tunesmith.config import RegistryConfig
from tunesmith.config.workspace import Workspace
from tunesmith.registry import (
    RegistryError,
    approve,
    list_models,
    promote,
    register,
    resolve,
    rollback,
    show_model,
    standings,
)
from tunesmith.store import audit
from tunesmith.store.actor import os_login
from tunesmith.store.tracking import tracking_uri

from .conftest import MakeRun
from .fakes import BASE_SHA, NAME, approver_key, champion_of, write_report

POLICY = RegistryConfig(required_approvals=1)


def _client(ws: Workspace) -> MlflowClient:
    uri = tracking_uri(ws.state_dir)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _actions(ws: Workspace) -> list[tuple[str, str]]:
    """The registry's entries and training's; the fake eval's entries are left out."""
    log = audit.entries(audit.audit_path(ws.state_dir))
    return [(e.action, e.subject) for e in log if e.action != "eval"]


def test_register_creates_a_version_carrying_the_record(ws: Workspace, make_run: MakeRun) -> None:
    run_id = make_run()
    result = register(ws, run_id, NAME)
    mv = result.version
    assert result.created and mv.ref == f"{NAME}/1" and mv.run_id == run_id
    assert mv.record["base_model"]["weights_sha256"] == BASE_SHA
    assert mv.record["dataset"]["version"] == "v1"
    files = {"adapter_config.json", "adapter_model.safetensors"}
    assert set(mv.record["adapter"]["files"]) == files
    assert mv.record["training"]["project"] == "support-router"
    assert mv.record["eval"]["passed"] is True and mv.record["eval"]["metrics"]["accuracy"] == 0.9
    assert mv.record["summary"]["val_loss_before"] is None  # NaN is not JSON
    assert mv.tags["base_model.weights_sha256"] == BASE_SHA
    assert mv.tags["dataset.version"] == "v1" and mv.tags["eval.passed"] == "true"
    assert mv.tags["eval.accuracy"] == "0.9" and mv.tags["eval.gates_failed"] == "none"
    # the version's source is the adapter logged on the run training opened
    (run,) = _client(ws).search_runs(
        [e.experiment_id for e in _client(ws).search_experiments()],
        filter_string=f"tags.tunesmith_run = '{run_id}'",
    )
    assert mv.source == f"{run.info.artifact_uri}/adapter"
    assert Path(mv.source.removeprefix("file://"), "adapter_model.safetensors").is_file()
    detail = _client(ws).get_model_version(NAME, "1")
    artifact = f"registry/support-router/record-{mv.record_sha256[:12]}.json"
    assert mv.tags["record.path"] == artifact
    assert run_id in detail.description and artifact in detail.description
    assert _actions(ws) == [("register", f"{NAME}/1")]
    entry = audit.entries(audit.audit_path(ws.state_dir))[-1]
    assert entry.outputs["record.json"] == mv.record_sha256
    assert {"adapter/adapter_model.safetensors", "eval/report.json"} <= set(entry.inputs)


def test_registering_the_same_run_again_returns_its_version(
    ws: Workspace, make_run: MakeRun
) -> None:
    run_id = make_run()
    first = register(ws, run_id, NAME)
    again = register(ws, run_id, NAME)
    assert not again.created and not again.eval_updated and again.version.version == 1
    assert len(_client(ws).search_model_versions(f"name = '{NAME}'")) == 1
    assert again.version.record == first.version.record
    assert len(_actions(ws)) == 1


def test_a_new_eval_report_refreshes_the_version_and_makes_approvals_stale(
    ws: Workspace, make_run: MakeRun
) -> None:
    run_id = make_run(accuracy=None)
    assert register(ws, run_id, NAME).version.tags["eval.passed"] == "none"
    approve(ws, f"{NAME}/1", "alice", "looks right", POLICY)
    write_report(ws, run_id, 0.95)
    refreshed = register(ws, run_id, NAME)
    assert refreshed.eval_updated and refreshed.version.version == 1
    assert refreshed.version.tags["eval.accuracy"] == "0.95"
    stale = standings(refreshed.version, refreshed.version.record_sha256, POLICY, [])
    assert [s.why for s in stale] == ["of an earlier record"]
    with pytest.raises(RegistryError, match=r"needs 1 distinct approval.*of an earlier record"):
        promote(ws, f"{NAME}/1", "champion", POLICY)


def test_a_run_that_is_unknown_unfinished_or_altered_is_refused(
    ws: Workspace, make_run: MakeRun
) -> None:
    with pytest.raises(RegistryError, match="run 'nope' not found"):
        register(ws, "nope", NAME)
    unfinished = make_run(finished=False)
    with pytest.raises(RegistryError, match=f"run '{unfinished}' is unfinished"):
        register(ws, unfinished, NAME)
    altered = make_run(audited=True)
    (ws.runs_dir / altered / "adapter" / "adapter_model.safetensors").write_bytes(b"swapped")
    with pytest.raises(RegistryError, match="differs from what training recorded"):
        register(ws, altered, NAME)
    with pytest.raises(RegistryError, match="model name 'a/b'"):
        register(ws, make_run(), "a/b")
    assert _actions(ws) == [("train", altered)]


def test_a_run_missing_from_the_tracking_store_gets_a_run_there(
    ws: Workspace, make_run: MakeRun
) -> None:
    mv = register(ws, make_run(tracked=False), NAME).version
    assert Path(mv.source.removeprefix("file://"), "adapter_config.json").is_file()


def test_promotion_is_refused_without_approval_or_passed_gates(
    ws: Workspace, make_run: MakeRun
) -> None:
    register(ws, make_run(), NAME)
    register(ws, make_run(accuracy=0.62), NAME)
    register(ws, make_run(accuracy=None), NAME)
    with pytest.raises(RegistryError, match=r"needs 1 distinct approval\(s\).*has 0"):
        promote(ws, f"{NAME}/1", "champion", POLICY)
    for alias in ("champion", "challenger"):
        with pytest.raises(
            RegistryError, match=r"gate 'min accuracy' failed: accuracy 0\.620 < 0\.700"
        ):
            promote(ws, f"{NAME}/2", alias, POLICY)
        with pytest.raises(RegistryError, match="has no eval report"):
            promote(ws, f"{NAME}/3", alias, POLICY)
    assert [a for a, _ in _actions(ws)] == ["register"] * 3


def test_only_listed_approvers_may_approve(ws: Workspace, make_run: MakeRun) -> None:
    register(ws, make_run(), NAME)
    policy = RegistryConfig(required_approvals=2, approvers=["alice", "bob"])
    alice, bob = approver_key(ws, "alice"), approver_key(ws, "bob")
    mallory = approver_key(ws, "mallory")
    with pytest.raises(RegistryError, match="key:mallory may not approve"):
        approve(ws, f"{NAME}/1", "alice", "", policy, mallory)  # typing a listed name is not it
    approve(ws, f"{NAME}/1", "", "ok", policy, alice)
    with pytest.raises(RegistryError, match="already approved by key:alice"):
        approve(ws, f"{NAME}/1", "", "again", policy, alice)
    with pytest.raises(RegistryError, match=r"needs 2 distinct approval\(s\).*has 1 \(key:alice\)"):
        promote(ws, f"{NAME}/1", "champion", policy)
    mv = approve(ws, f"{NAME}/1", "", "ok too", policy, bob)
    assert [a["actor"] for a in mv.approvals] == ["key:alice", "key:bob"]
    assert promote(ws, f"{NAME}/1", "champion", policy).version == 1


def test_approve_promote_resolve_and_rollback(ws: Workspace, make_run: MakeRun) -> None:
    first, second = make_run(), make_run()
    register(ws, first, NAME)
    register(ws, second, NAME)
    approve(ws, f"{NAME}/1", "alice", "good on EU tickets", POLICY)
    done = promote(ws, f"{NAME}/1", "champion", POLICY, by="carol")
    assert (done.by, done.previous) == ("carol", None)
    champion = resolve(ws, f"{NAME}@champion")
    assert champion.version == 1 and champion.run_id == first and champion.aliases == ["champion"]
    assert champion.tags["promoted.champion.by"] == "carol"
    assert champion.approvals[0]["note"] == "good on EU tickets"
    with pytest.raises(RegistryError, match="a challenger must be another version"):
        promote(ws, f"{NAME}/1", "challenger", POLICY)
    promote(ws, f"{NAME}/2", "challenger", POLICY)
    # the challenger is evaluated against the champion it would replace
    write_report(ws, second, 0.92, edit=lambda r: r.update(champion=champion_of(1, first)))
    register(ws, second, NAME)
    approve(ws, f"{NAME}/2", "bob", "", POLICY)
    done = promote(ws, f"{NAME}/2", "champion", POLICY)
    assert done.previous == 1 and done.cleared == ["challenger"]
    assert resolve(ws, f"{NAME}@champion").version == 2
    with pytest.raises(LookupError, match="no alias 'challenger'"):
        resolve(ws, f"{NAME}@challenger")
    with pytest.raises(RegistryError, match="already champion"):
        promote(ws, f"{NAME}/2", "champion", POLICY)
    back = rollback(ws, NAME, POLICY, by="dave")
    assert (back.version, back.previous, back.action) == (1, 2, "rollback")
    assert resolve(ws, f"{NAME}@champion").run_id == first
    with pytest.raises(RegistryError, match="no previous champion"):
        rollback(ws, NAME, POLICY)
    summary = show_model(ws, NAME)
    assert summary.aliases == {"champion": 1}
    assert [(h["action"], h["version"]) for h in summary.history] == [
        ("promote", 1),
        ("promote", 2),
        ("promote", 2),
        ("rollback", 1),
    ]
    report = audit.verify(audit.audit_path(ws.state_dir))
    assert report.ok, report.message
    assert _actions(ws) == [
        ("register", f"{NAME}/1"),
        ("register", f"{NAME}/2"),
        ("approve", f"{NAME}/1"),
        ("promote", f"{NAME}/1"),
        ("promote", f"{NAME}/2"),
        ("register", f"{NAME}/2"),
        ("approve", f"{NAME}/2"),
        ("promote", f"{NAME}/2"),
        ("rollback", f"{NAME}/1"),
    ]
    entries = [e for e in audit.entries(audit.audit_path(ws.state_dir)) if e.action != "eval"]
    # the name typed after --by is shown; the actor is who authenticated: the OS user
    assert entries[2].details["by"] == "alice" and entries[2].actor == f"user:{os_login()}"
    assert entries[-1].actor == "dave"
    assert entries[-1].details["previous"] == f"{NAME}/2"


def test_rollback_refuses_a_previous_champion_that_no_longer_passes(
    ws: Workspace, make_run: MakeRun
) -> None:
    first, second = make_run(), make_run()
    register(ws, first, NAME)
    approve(ws, f"{NAME}/1", "alice", "", POLICY)
    promote(ws, f"{NAME}/1", "champion", POLICY)
    write_report(ws, second, 0.9, edit=lambda r: r.update(champion=champion_of(1, first)))
    register(ws, second, NAME)
    approve(ws, f"{NAME}/2", "alice", "", POLICY)
    promote(ws, f"{NAME}/2", "champion", POLICY)
    write_report(ws, first, 0.5)
    register(ws, first, NAME)  # the new, failing report replaces the old one
    with pytest.raises(RegistryError, match=r"cannot make .*/1 champion.*min accuracy"):
        rollback(ws, NAME, POLICY)
    assert resolve(ws, f"{NAME}@champion").version == 2


def test_resolve_names_what_is_missing(ws: Workspace, make_run: MakeRun) -> None:
    register(ws, make_run(), NAME)
    for ref, message in [
        ("nobody/1", "no registered model 'nobody'"),
        (f"{NAME}/7", f"no version 7 of registered model '{NAME}'"),
        (f"{NAME}@champion", f"'{NAME}' has no alias 'champion'"),
        (NAME, "not a model reference"),
    ]:
        with pytest.raises(LookupError, match=message):
            resolve(ws, ref)


def test_a_record_edited_after_registration_is_refused(ws: Workspace, make_run: MakeRun) -> None:
    mv = register(ws, make_run(), NAME).version
    artifact = Path(mv.source.removeprefix("file://")).parent / mv.tags["record.path"]
    record = json.loads(artifact.read_text())
    record["eval"]["passed"] = True
    record["eval"]["metrics"]["accuracy"] = 0.99
    artifact.write_text(json.dumps(record))
    with pytest.raises(RegistryError, match=r"does not match its record\.sha256 tag"):
        resolve(ws, f"{NAME}/1")


def test_list_models(ws: Workspace, make_run: MakeRun) -> None:
    assert list_models(ws) == []
    register(ws, make_run(), NAME)
    register(ws, make_run(accuracy=0.5), NAME)
    register(ws, make_run(), "other-model")
    approve(ws, f"{NAME}/1", "alice", "", POLICY)
    promote(ws, f"{NAME}/1", "champion", POLICY)
    models = list_models(ws)
    assert [m.name for m in models] == ["other-model", NAME]
    versions = models[1].versions
    assert [(v.version, v.eval_passed, v.approvals, v.aliases) for v in versions] == [
        (1, "true", 1, ["champion"]),
        (2, "false", 0, []),
    ]

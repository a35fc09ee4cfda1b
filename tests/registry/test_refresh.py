"""A new eval report onto a registered version: content-addressed records, tags flipped last,
and a warning when a champion or challenger takes a failing eval."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tunesmith.config import RegistryConfig
from tunesmith.config.workspace import Workspace
from tunesmith.registry import approve, promote, register, resolve
from tunesmith.store.tracking import tracking_uri

from .conftest import MakeRun
from .fakes import NAME, write_report

POLICY = RegistryConfig(required_approvals=1)
# the package exports the function `register`, which hides the module of the same name
register_module = importlib.import_module("tunesmith.registry.register")


def _client(ws: Workspace) -> MlflowClient:
    uri = tracking_uri(ws.state_dir)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


class Crash(Exception):
    """The process dying between two MLflow calls."""


def _crash_on(monkeypatch: pytest.MonkeyPatch, tag: str) -> None:
    real = register_module.set_tags

    def set_tags(mlflow: MlflowClient, name: str, version: int, tags: dict[str, str]) -> None:
        if tag in tags:
            raise Crash(tag)
        real(mlflow, name, version, tags)

    monkeypatch.setattr(register_module, "set_tags", set_tags)


def test_a_refresh_writes_a_new_record_beside_the_old_one(ws: Workspace, make_run: MakeRun) -> None:
    run_id = make_run()
    old = register(ws, run_id, NAME).version
    write_report(ws, run_id, 0.95)
    new = register(ws, run_id, NAME).version
    assert new.record["eval"]["metrics"]["accuracy"] == 0.95
    assert new.tags["record.path"] == f"registry/{NAME}/record-{new.record_sha256[:12]}.json"
    artifacts = Path(new.source.removeprefix("file://")).parent
    assert (artifacts / old.tags["record.path"]).is_file()
    assert (artifacts / new.tags["record.path"]).is_file()
    assert old.tags["record.path"] != new.tags["record.path"]


@pytest.mark.parametrize(("crash", "accuracy"), [("record.sha256", 0.9), ("record.path", 0.95)])
def test_a_refresh_cut_short_leaves_the_version_readable(
    ws: Workspace,
    make_run: MakeRun,
    monkeypatch: pytest.MonkeyPatch,
    crash: str,
    accuracy: float,
) -> None:
    run_id = make_run()
    register(ws, run_id, NAME)
    write_report(ws, run_id, 0.95)
    _crash_on(monkeypatch, crash)
    with pytest.raises(Crash):
        register(ws, run_id, NAME)
    # before the digest moved: the old record, intact; after: the new one
    assert resolve(ws, f"{NAME}/1").record["eval"]["metrics"]["accuracy"] == accuracy
    monkeypatch.undo()
    assert register(ws, run_id, NAME).version.record["eval"]["metrics"]["accuracy"] == 0.95


def test_a_version_registered_before_content_addressing_still_reads_and_refreshes(
    ws: Workspace, make_run: MakeRun
) -> None:
    run_id = make_run()
    mv = register(ws, run_id, NAME).version
    artifacts = Path(mv.source.removeprefix("file://")).parent
    # how versions were stored before: registry/<name>/record.json and no record.path tag
    (artifacts / mv.tags["record.path"]).rename(artifacts / "registry" / NAME / "record.json")
    _client(ws).delete_model_version_tag(NAME, "1", "record.path")
    assert resolve(ws, f"{NAME}/1").record == mv.record
    write_report(ws, run_id, 0.95)
    refreshed = register(ws, run_id, NAME)
    assert refreshed.eval_updated
    assert resolve(ws, f"{NAME}/1").record["eval"]["metrics"]["accuracy"] == 0.95


def test_a_champion_taking_a_failing_eval_is_warned_about(ws: Workspace, make_run: MakeRun) -> None:
    first, second = make_run(), make_run()
    register(ws, first, NAME)
    register(ws, second, NAME)
    approve(ws, f"{NAME}/1", "alice", "", POLICY)
    promote(ws, f"{NAME}/1", "champion", POLICY)
    promote(ws, f"{NAME}/2", "challenger", POLICY)
    write_report(ws, second, 0.95)
    assert register(ws, second, NAME).warnings == []  # passed: nothing to say
    for run_id, alias in ((first, "champion"), (second, "challenger")):
        write_report(ws, run_id, 0.5)
        result = register(ws, run_id, NAME)
        (warning,) = result.warnings
        assert f"is still {alias}" in warning and "'min accuracy'" in warning
        assert f"tunesmith rollback {NAME}" in warning

"""What a registration trusts of an eval report, and whether its regression gates still hold
when the version is promoted."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tunesmith.config import RegistryConfig
from tunesmith.config.workspace import Workspace
from tunesmith.governance.checks import cross_checks
from tunesmith.governance.evidence import Records
from tunesmith.registry import RegistryError, approve, promote, register, resolve, rollback

from .conftest import MakeRun
from .fakes import NAME, champion_of, write_report

POLICY = RegistryConfig(required_approvals=1)


def _passed_after_all(report: dict[str, Any]) -> None:
    """A person turning a failed verdict into a pass by editing the file."""
    for gate in report["gates"]:
        gate["passed"] = True
    report["passed"] = True


def test_a_hand_edited_report_is_refused(ws: Workspace, make_run: MakeRun) -> None:
    run_id = make_run(accuracy=None)
    write_report(ws, run_id, 0.62)  # eval wrote a failing report...
    write_report(ws, run_id, 0.62, edit=_passed_after_all, audited=False)  # ...then edited
    with pytest.raises(RegistryError) as refused:
        register(ws, run_id, NAME)
    message = str(refused.value)
    assert "not the report `tunesmith eval` wrote" in message
    assert f"re-run tunesmith eval --model {run_id}" in message and "\n" not in message
    # the report eval wrote is accepted, with its failed verdict
    write_report(ws, run_id, 0.62)
    assert register(ws, run_id, NAME).version.record["eval"]["passed"] is False


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        (lambda r: r["model"].update(run_id=None), "evaluates run 'None'"),
        (lambda r: r["model"].update(run_id="another-run"), "evaluates run 'another-run'"),
        (lambda r: r["model"].update(adapter_sha256=None), "evaluates weights sha256 None"),
        (
            lambda r: r["model"].update(adapter_sha256=hashlib.sha256(b"x").hexdigest()),
            "but the run's adapter/adapter_model.safetensors is",
        ),
    ],
)
def test_a_report_of_other_or_unnamed_weights_is_refused(
    ws: Workspace, make_run: MakeRun, edit: Any, why: str
) -> None:
    run_id = make_run(accuracy=None)
    write_report(ws, run_id, 0.9, edit=edit)  # on the audit log, so only the ids are wrong
    with pytest.raises(RegistryError, match=why):
        register(ws, run_id, NAME)


def test_a_full_fine_tune_registers_with_its_model_weights(
    ws: Workspace, make_run: MakeRun
) -> None:
    run_id = make_run(full=True, audited=True)
    mv = register(ws, run_id, NAME).version
    weights = mv.record["adapter"]["files"]["model.safetensors"]
    assert mv.record["eval"]["passed"] is True and mv.tags["adapter.sha256"] == weights
    # the documents' cross-check finds the same file
    lineage = {"dataset": {"name": "support-tickets", "version": "v1", "files": {}}}
    records = Records(ws, run_id, lineage, adapter_files={"model.safetensors": weights})
    evaluation = {"data": {}, "adapter_sha256": weights, "sha256": None}
    check = next(c for c in cross_checks(records, evaluation) if "evaluated adapter" in c["what"])
    assert check["ok"] is True


def _champion_one(ws: Workspace, make_run: MakeRun) -> str:
    first = make_run()
    register(ws, first, NAME)
    approve(ws, f"{NAME}/1", "alice", "", POLICY)
    promote(ws, f"{NAME}/1", "champion", POLICY)
    return first


def test_promotion_needs_an_eval_against_the_current_champion(
    ws: Workspace, make_run: MakeRun
) -> None:
    first = _champion_one(ws, make_run)
    second = make_run()  # evaluated before version 1 was champion: champion null
    register(ws, second, NAME)
    approve(ws, f"{NAME}/2", "alice", "", POLICY)
    with pytest.raises(RegistryError) as refused:
        promote(ws, f"{NAME}/2", "champion", POLICY)
    message = str(refused.value)
    assert f"evaluated when it had no champion, but {NAME}/1 is champion now" in message
    assert f"re-run tunesmith eval --model {NAME}/2" in message
    assert f"tunesmith register {second}" in message
    # a challenger is not measured against the champion: that alias is not held back
    promote(ws, f"{NAME}/2", "challenger", POLICY)

    write_report(ws, second, 0.9, edit=lambda r: r.update(champion=champion_of(1, first)))
    register(ws, second, NAME)
    approve(ws, f"{NAME}/2", "alice", "against v1", POLICY)
    assert promote(ws, f"{NAME}/2", "champion", POLICY).previous == 1

    # version 3 compared against version 1, but version 2 has taken over since
    third = make_run()
    write_report(ws, third, 0.9, edit=lambda r: r.update(champion=champion_of(1, first)))
    register(ws, third, NAME)
    approve(ws, f"{NAME}/3", "alice", "", POLICY)
    with pytest.raises(RegistryError, match=rf"evaluated against {NAME}/1, but {NAME}/2 is"):
        promote(ws, f"{NAME}/3", "champion", POLICY)
    # a rollback returns to an earlier champion, whose eval predates the one it replaces
    assert rollback(ws, NAME, POLICY).version == 1


def test_an_eval_against_another_models_champion_is_refused(
    ws: Workspace, make_run: MakeRun
) -> None:
    run_id = make_run(accuracy=None)
    write_report(ws, run_id, 0.9, edit=lambda r: r.update(registry_name="other-model"))
    register(ws, run_id, NAME)
    approve(ws, f"{NAME}/1", "alice", "", POLICY)
    with pytest.raises(RegistryError, match="evaluated against other-model's champion"):
        promote(ws, f"{NAME}/1", "champion", POLICY)


def test_a_report_from_before_registry_name_compared_against_nothing(
    ws: Workspace, make_run: MakeRun
) -> None:
    def old(report: dict[str, Any]) -> None:
        del report["registry_name"]
        report["champion"] = {"ref": f"{NAME}@champion", "run_id": "r", "metrics": {}}

    first = make_run(accuracy=None)
    write_report(ws, first, 0.9, edit=old)
    mv = register(ws, first, NAME).version
    # the record keeps what it always kept, so registering again changes nothing
    assert "registry_name" not in mv.record["eval"] and "champion" not in mv.record["eval"]
    approve(ws, f"{NAME}/1", "alice", "", POLICY)
    promote(ws, f"{NAME}/1", "champion", POLICY)  # no champion then, none now
    second = make_run(accuracy=None)
    write_report(ws, second, 0.9, edit=old)
    register(ws, second, NAME)
    approve(ws, f"{NAME}/2", "alice", "", POLICY)
    with pytest.raises(RegistryError, match=f"no champion, but {NAME}/1 is champion now"):
        promote(ws, f"{NAME}/2", "champion", POLICY)
    assert resolve(ws, f"{NAME}@champion").version == 1

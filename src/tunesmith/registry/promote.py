"""Approvals, promotion to `champion` / `challenger`, and rollback of the champion.

Each action is appended to the audit log before it takes effect in MLflow, so nothing
becomes champion without being on the record.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from mlflow.exceptions import MlflowException

from tunesmith.config import RegistryConfig
from tunesmith.config.workspace import Workspace
from tunesmith.registry.approvals import (
    allowed_by,
    approve_entries,
    counting_approvers,
    standings,
)
from tunesmith.registry.client import (
    ALIASES,
    ModelVersion,
    alias_version,
    check_name,
    client,
    resolve,
    set_tags,
    store_exists,
)
from tunesmith.registry.record import RegistryError, failed_gates
from tunesmith.store import audit
from tunesmith.store.actor import ActorError, authenticated

_HISTORY = re.compile(r"^promotion\.(\d+)$")


@dataclass(frozen=True)
class Promotion:
    name: str
    version: int
    alias: str
    by: str
    at: str
    previous: int | None  # the version the alias pointed at before, if any
    action: str = "promote"  # or "rollback"
    cleared: list[str] = field(default_factory=list)  # aliases this version gave up

    @property
    def ref(self) -> str:
        return f"{self.name}/{self.version}"


def _numbers(gate: dict[str, Any]) -> str:
    detail = gate.get("detail") or f"{gate.get('value')} vs threshold {gate.get('threshold')}"
    return f"{gate.get('metric')} {detail}"


def gate_problem(mv: ModelVersion) -> str | None:
    """Why the version's eval does not allow promotion, None when its gates passed."""
    result = mv.record.get("eval")
    if result is None:
        return (
            f"{mv.ref} has no eval report: evaluate run {mv.run_id}, then register it again "
            "to attach the report"
        )
    failed = failed_gates(mv.record)
    if failed:
        reasons = "; ".join(f"gate '{g.get('gate')}' failed: {_numbers(g)}" for g in failed)
        return f"{mv.ref} did not pass its eval gates: {reasons}"
    if result.get("passed") is None:
        return f"{mv.ref} was evaluated without gates (eval.passed is null): configure eval.gates"
    if result.get("passed") is not True:
        return f"{mv.ref} did not pass its eval gates (eval.passed is {result.get('passed')})"
    return None


def approval_problem(ws: Workspace, mv: ModelVersion, policy: RegistryConfig) -> str | None:
    """Why the version lacks the approvals champion needs, None when it has them."""
    counted = standings(mv, mv.record_sha256, policy, approve_entries(ws))
    have = sorted(s.approval["actor"].strip() for s in counted if s.counts)
    need = policy.required_approvals
    if len(have) >= need:
        return None
    reasons: dict[str, int] = {}
    for s in counted:
        if not s.counts:
            reasons[s.why] = reasons.get(s.why, 0) + 1
    note = "".join(f"; {n} approval(s) do not count: {why}" for why, n in reasons.items())
    who = f" ({', '.join(have)})" if have else ""
    return (
        f"{mv.ref} needs {need} distinct approval(s) to become champion, has {len(have)}{who}"
        f"{note}: tunesmith approve {mv.ref} as another OS user, or --key with an approver key"
    )


def regression_problem(mv: ModelVersion, champion: int | None) -> str | None:
    """Why the version's regression gates say nothing about today's champion, if they don't.

    `champion` is the version now holding the alias. The eval report names the registered
    model whose champion it compared against and which version that was; a report without
    `registry_name` (written before eval recorded it) compared against nothing.
    """
    result = mv.record.get("eval") or {}
    redo = (
        f"re-run tunesmith eval --model {mv.ref}, then tunesmith register {mv.run_id} "
        f"--name {mv.name} again"
    )
    against = result.get("registry_name")
    if against is not None and against != mv.name:
        return f"{mv.ref} was evaluated against {against}'s champion, not {mv.name}'s: {redo}"
    if champion is None or champion == mv.version:
        return None
    compared = (result.get("champion") or {}).get("version") if against is not None else None
    if compared == champion:
        return None
    then = "when it had no champion" if compared is None else f"against {mv.name}/{compared}"
    return (
        f"{mv.ref} was evaluated {then}, but {mv.name}/{champion} is champion now, so its "
        f"regression gates did not compare against it: {redo}"
    )


def approve(
    ws: Workspace,
    ref: str,
    by: str,
    note: str,
    policy: RegistryConfig,
    key: str | None = None,
) -> ModelVersion:
    """Record an approval of the version's current record by the authenticated actor: the
    approver key whose secret is `key`, else the OS user. `by` is a name shown beside it,
    never counted: the same actor approving again under another name is refused."""
    mv = resolve(ws, ref)
    try:
        actor = authenticated(ws.state_url(), key, "approver", mv.name)
    except ActorError as err:
        raise RegistryError(str(err)) from None
    by = by.strip() or actor.name
    if policy.approvers and not allowed_by(actor.identity, policy.approvers):
        raise RegistryError(
            f"{actor.identity} may not approve: registry.approvers lists "
            f"{', '.join(policy.approvers)}"
        )
    for given in standings(mv, mv.record_sha256, policy, approve_entries(ws)):
        if given.counts and given.approval["actor"] == actor.identity:
            a = given.approval
            raise RegistryError(
                f"{mv.ref} is already approved by {actor.identity} (as '{a.get('by')}' at "
                f"{a.get('at')}); four eyes needs another person"
            )
    entry = audit.append(
        audit.audit_path(ws.state_dir),
        "approve",
        mv.ref,
        inputs={"record.json": mv.record_sha256},
        details={"by": by, "note": note, "run": mv.run_id, "via": actor.via},
        actor=actor.identity,
    )
    n = len(mv.approvals) + 1
    tags = {
        "by": by,
        "actor": entry.actor,
        "via": actor.via,
        "at": entry.time,
        "note": note,
        "record": mv.record_sha256,
    }
    set_tags(client(ws), mv.name, mv.version, {f"approval.{n}.{k}": v for k, v in tags.items()})
    return resolve(ws, mv.ref)


def history(ws: Workspace, name: str) -> list[dict[str, Any]]:
    """Every promotion and rollback of `name`, oldest first."""
    check_name(name)
    if not store_exists(ws):
        raise LookupError(f"no registered model '{name}'")
    try:
        tags = client(ws).get_registered_model(name).tags or {}
    except MlflowException as err:
        if err.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise LookupError(f"no registered model '{name}'") from None
        raise
    numbered = [(int(m[1]), v) for k, v in tags.items() if (m := _HISTORY.match(k))]
    return [json.loads(value) for _, value in sorted(numbered)]


def _promote(
    ws: Workspace,
    mv: ModelVersion,
    alias: str,
    policy: RegistryConfig,
    by: str | None,
    action: str,
) -> Promotion:
    if alias not in ALIASES:
        raise RegistryError(f"alias must be one of {', '.join(ALIASES)}, got '{alias}'")
    mlflow = client(ws)
    previous = alias_version(mlflow, mv.name, alias)
    if previous == mv.version:
        raise RegistryError(f"{mv.ref} is already {alias}")
    if alias == "champion":
        # a rollback returns to a champion that the one it replaces was once measured against
        problem = champion_problem(ws, mv, policy, previous, regression=action == "promote")
    else:
        problem = gate_problem(mv)
    if problem:
        raise RegistryError(f"cannot make {mv.ref} {alias}: {problem}")
    if alias == "challenger" and "champion" in mv.aliases:
        raise RegistryError(f"{mv.ref} is the champion; a challenger must be another version")
    cleared = ["challenger"] if alias == "champion" and "challenger" in mv.aliases else []
    entry = audit.append(
        audit.audit_path(ws.state_dir),
        action,
        mv.ref,
        inputs={"record.json": mv.record_sha256},
        details={
            "alias": alias,
            "previous": f"{mv.name}/{previous}" if previous is not None else None,
            "approvers": counting_approvers(mv, mv.record_sha256, policy, approve_entries(ws)),
            "cleared": cleared,
            "run": mv.run_id,
        },
        actor=by,
    )
    mlflow.set_registered_model_alias(mv.name, alias, str(mv.version))
    # a challenger that became champion is no longer challenging anyone
    for gone in cleared:
        mlflow.delete_registered_model_alias(mv.name, gone)
    stamp = {f"promoted.{alias}.by": entry.actor, f"promoted.{alias}.at": entry.time}
    set_tags(mlflow, mv.name, mv.version, stamp)
    seq = len(history(ws, mv.name)) + 1
    step = {
        "action": action,
        "alias": alias,
        "version": mv.version,
        "previous": previous,
        "by": entry.actor,
        "at": entry.time,
    }
    mlflow.set_registered_model_tag(mv.name, f"promotion.{seq}", json.dumps(step))
    return Promotion(mv.name, mv.version, alias, entry.actor, entry.time, previous, action, cleared)


def champion_problem(
    ws: Workspace,
    mv: ModelVersion,
    policy: RegistryConfig,
    champion: int | None,
    regression: bool = True,
) -> str | None:
    """Why the version may not become champion now (`champion`: the current one), or None."""
    problem = gate_problem(mv)
    if problem is None and regression:
        problem = regression_problem(mv, champion)
    return problem or approval_problem(ws, mv, policy)


def promote(
    ws: Workspace, ref: str, alias: str, policy: RegistryConfig, by: str | None = None
) -> Promotion:
    """Point `alias` at the version: its gates must have passed, and champion needs approvals."""
    return _promote(ws, resolve(ws, ref), alias, policy, by, "promote")


def champion_stack(steps: list[dict[str, Any]]) -> list[int]:
    """Champions in the order they took over; a rollback removes the one it replaced."""
    stack: list[int] = []
    for step in steps:
        if step["alias"] != "champion":
            continue
        if step["action"] == "rollback":
            stack.pop()
        else:
            stack.append(step["version"])
    return stack


def rollback(ws: Workspace, name: str, policy: RegistryConfig, by: str | None = None) -> Promotion:
    """Make the previous champion champion again; it must still pass gates and approvals."""
    stack = champion_stack(history(ws, name))
    current = alias_version(client(ws), name, "champion")
    if current is None:
        raise RegistryError(f"'{name}' has no champion to roll back from")
    if not stack or stack[-1] != current:
        raise RegistryError(
            f"'{name}' champion is version {current} but its promotion history ends at "
            f"{stack[-1] if stack else 'none'}: the alias was moved outside tunesmith; "
            "promote a version explicitly"
        )
    if len(stack) < 2:
        raise RegistryError(f"'{name}' has no previous champion to roll back to")
    return _promote(ws, resolve(ws, f"{name}/{stack[-2]}"), "champion", policy, by, "rollback")

"""The main job's approvals: approver keys it makes in the open, one actor per approval."""

from __future__ import annotations

from tunesmith.config import RegistryConfig
from tunesmith.config.workspace import Workspace
from tunesmith.pipeline.approvers import CREATED_BY, simulated_approvals
from tunesmith.registry import counting_approvers, promote, register, resolve
from tunesmith.registry.approvals import approve_entries
from tunesmith.store import audit
from tunesmith.store.db import open_store
from tunesmith.store.keys import list_keys

from .conftest import MakeRun
from .fakes import NAME


def test_the_job_approves_with_as_many_audited_keys_as_the_policy_needs(
    ws: Workspace, make_run: MakeRun
) -> None:
    register(ws, make_run(), NAME)
    two = RegistryConfig(required_approvals=2)
    made = simulated_approvals(ws, f"{NAME}/1", two, "simulated")
    assert len(made) == 2 and len(set(made)) == 2
    mv = resolve(ws, f"{NAME}/1")
    assert counting_approvers(mv, mv.record_sha256, two, approve_entries(ws)) == sorted(
        f"key:{k}" for k in made
    )
    assert promote(ws, f"{NAME}/1", "champion", two).version == 1
    keys = {k.name: k for k in list_keys(open_store(ws.state_url()))}
    for name in made:  # made for the job, for this model, approvers only, and spent
        key = keys[name]
        assert (key.created_by, key.models, key.roles) == (CREATED_BY, [NAME], ["approver"])
        assert key.revoked_at is not None
    actions = [(e.action, e.subject) for e in audit.entries(audit.audit_path(ws.state_dir))]
    for name in made:
        at = actions.index(("key.create", name))
        assert actions[at + 1 : at + 3] == [("approve", f"{NAME}/1"), ("key.revoke", name)]
    # a second job in the same workspace makes new keys rather than reusing spent ones
    register(ws, make_run(), NAME)
    again = simulated_approvals(ws, f"{NAME}/2", RegistryConfig(), "simulated")
    assert len(again) == 1 and again[0] not in made

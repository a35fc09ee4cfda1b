"""The main job's simulated approvers: approver keys made for the one approval each gives.

Four eyes counts authenticated actors, so a job that approves by simulation needs as many
actors as the policy asks for. It makes them in the open: one approver key per approval,
created by "tunesmith run (simulated approver)" and scoped to the one registered model, each
`key.create`, `approve` and `key.revoke` on the audit log, the key revoked once it approved.
Nobody can mistake them for people, and nothing is left that could approve again.
"""

from __future__ import annotations

from tunesmith.config import RegistryConfig
from tunesmith.config.workspace import Workspace

SIMULATED_APPROVER = "simulated-approver"
CREATED_BY = "tunesmith run (simulated approver)"


def simulated_approvals(ws: Workspace, ref: str, policy: RegistryConfig, note: str) -> list[str]:
    """Approve `ref` (NAME/VERSION) as often as `policy` needs for champion, at least once,
    each time with a fresh approver key; the keys' names."""
    from tunesmith.registry import approve
    from tunesmith.store import audit
    from tunesmith.store.db import open_store
    from tunesmith.store.keys import create_key, list_keys, revoke_key

    store = open_store(ws.state_url())
    log = audit.audit_path(ws.state_dir)
    name = ref.split("/", 1)[0]
    taken = {k.name for k in list_keys(store)}
    made: list[str] = []
    for n in range(1, max(1, policy.required_approvals) + 1):
        key_name = f"{SIMULATED_APPROVER}-{name}-{n}"
        while key_name in taken:  # a second job in one workspace: keys are never reused
            key_name += "-again"
        key, secret = create_key(store, key_name, [name], CREATED_BY, roles=["approver"])
        taken.add(key_name)
        audit.append(log, "key.create", key_name, details=key.to_json())
        approve(ws, ref, SIMULATED_APPROVER, note, policy, secret)
        revoke_key(store, key_name)
        audit.append(log, "key.revoke", key_name)
        made.append(key_name)
    return made

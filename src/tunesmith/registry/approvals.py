"""Which approvals of a version count: the one rule that promote, `models list/show` and the
governance documents share, so no two of them can disagree about who approved what.

An approval is counted by its authenticated actor (`store/actor.py`: an approver key,
`key:NAME`, or the OS user, `user:LOGIN`), never by the name typed after `--by`, which is only
shown: one person typing two names is still one approval.

No MLflow here: the documents import this without a registry client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tunesmith.config import RegistryConfig
from tunesmith.config.workspace import Workspace
from tunesmith.store import audit
from tunesmith.store.actor import VIAS


class Approved(Protocol):
    """What the rule reads of a version (`ModelVersion`, or the documents' view of one)."""

    @property
    def ref(self) -> str: ...

    approvals: list[dict[str, str]]


@dataclass(frozen=True)
class Standing:
    """One approval tag and whether it counts; `why` says why not ("" when it counts)."""

    approval: dict[str, str]
    why: str

    @property
    def counts(self) -> bool:
        return not self.why


def normalise(name: str) -> str:
    """A name as `registry.approvers` compares it: " Alice" and "alice" are one entry."""
    return name.strip().casefold()


def allowed_by(identity: str, approvers: list[str]) -> bool:
    """Whether `registry.approvers` admits the actor: an entry is an identity (`key:NAME`,
    `user:LOGIN`) or a bare name, which admits the key or the login of that name."""
    listed = {normalise(a) for a in approvers}
    bare = identity.split(":", 1)[-1]
    return normalise(identity) in listed or normalise(bare) in listed


def registry_policy(ws: Workspace) -> RegistryConfig:
    """The workspace's approval policy (an embedding workspace's too); the defaults where it
    has no tunesmith.yaml."""
    from tunesmith.config.embedding import registry_section

    return registry_section(ws.config_path)[0] if ws.config_path.is_file() else RegistryConfig()


def approve_entries(ws: Workspace) -> list[audit.AuditEntry]:
    return [e for e in audit.entries(audit.audit_path(ws.state_dir)) if e.action == "approve"]


def _audited(entries: list[audit.AuditEntry]) -> set[tuple[str, str, str, str, str]]:
    """(model ref, actor, how authenticated, record digest, time) of every approval on the
    audit log; the time is the tag's `at`, so a tag copied beside a real approval is not it."""
    return {
        (e.subject, e.actor, str(e.details.get("via", "")), e.inputs.get("record.json", ""), e.time)
        for e in entries
        if e.action == "approve"
    }


def standings(
    mv: Approved,
    record_sha256: str,
    policy: RegistryConfig,
    entries: list[audit.AuditEntry],
) -> list[Standing]:
    """Every approval of the version, in order, with whether it counts toward champion.

    It counts when it was made by an authenticated actor, is of the version's current record
    (a refreshed eval makes earlier approvals stale), the actor is allowed by
    `registry.approvers`, and the `approve` audit entry behind it exists (same version, actor,
    record and time): a tag set directly in MLflow is not an approval.
    Each actor counts once, whatever names were typed after `--by`.
    """
    audited = _audited(entries)
    seen: set[str] = set()
    out = []
    for given in mv.approvals:
        who, via = given.get("actor", "").strip(), given.get("via", "")
        if not who:
            why = "names no approver"
        elif via not in VIAS:
            # written when the typed name was counted: it proves nobody in particular
            why = "not by an authenticated actor (approve again)"
        elif not record_sha256 or given.get("record") != record_sha256:
            why = "of an earlier record"
        elif policy.approvers and not allowed_by(who, policy.approvers):
            why = "not in registry.approvers"
        elif (mv.ref, who, via, record_sha256, given.get("at", "")) not in audited:
            why = "no approve entry in the audit log"
        elif who in seen:
            why = "the same approver again"
        else:
            why = ""
            seen.add(who)
        out.append(Standing(given, why))
    return out


def counting_approvers(
    mv: Approved,
    record_sha256: str,
    policy: RegistryConfig,
    entries: list[audit.AuditEntry],
) -> list[str]:
    """The distinct authenticated actors whose approval counts (`key:NAME`, `user:LOGIN`)."""
    counted = standings(mv, record_sha256, policy, entries)
    return sorted(s.approval["actor"].strip() for s in counted if s.counts)

"""Which approvals of a version count: the one rule that promote, `models list/show` and the
governance documents share, so no two of them can disagree about who approved what.

No MLflow here: the documents import this without a registry client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tunesmith.config import RegistryConfig
from tunesmith.governance import audit
from tunesmith.workspace import Workspace


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
    """An approver's name as compared: " Alice" and "alice" are one person, not two."""
    return name.strip().casefold()


def registry_policy(ws: Workspace) -> RegistryConfig:
    """The workspace's approval policy; the defaults where it has no tunesmith.yaml."""
    return ws.load_config().registry if ws.config_path.is_file() else RegistryConfig()


def approve_entries(ws: Workspace) -> list[audit.AuditEntry]:
    return [e for e in audit.entries(audit.audit_path(ws.state_dir)) if e.action == "approve"]


def _audited(entries: list[audit.AuditEntry]) -> set[tuple[str, str, str, str]]:
    """(model ref, approver, record digest, time) of every approval on the audit log; the time
    is the tag's `at`, so a tag copied beside a real approval is not that approval."""
    found = set()
    for e in entries:
        if e.action != "approve":
            continue
        # entries written before `details.by` existed carry the approver as their actor
        by = e.details.get("by") if isinstance(e.details.get("by"), str) else e.actor
        found.add((e.subject, normalise(by), e.inputs.get("record.json", ""), e.time))
    return found


def standings(
    mv: Approved,
    record_sha256: str,
    policy: RegistryConfig,
    entries: list[audit.AuditEntry],
) -> list[Standing]:
    """Every approval of the version, in order, with whether it counts toward champion.

    It counts when it names someone, is of the version's current record (a refreshed eval
    makes earlier approvals stale), the approver is allowed by `registry.approvers`, and the
    `approve` audit entry behind it exists (same version, approver, record and time): a tag
    set directly in MLflow is not an approval.
    Each person counts once, however their name is spelt or cased.
    """
    allowed = {normalise(a) for a in policy.approvers}
    audited = _audited(entries)
    seen: set[str] = set()
    out = []
    for given in mv.approvals:
        who = normalise(given.get("by", ""))
        if not who:
            why = "names no approver"
        elif not record_sha256 or given.get("record") != record_sha256:
            why = "of an earlier record"
        elif allowed and who not in allowed:
            why = "not in registry.approvers"
        elif (mv.ref, who, record_sha256, given.get("at", "")) not in audited:
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
    """The distinct people whose approval counts, as they first wrote their name."""
    counted = standings(mv, record_sha256, policy, entries)
    return sorted(s.approval["by"].strip() for s in counted if s.counts)

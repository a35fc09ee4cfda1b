"""Governance: the hash-chained audit log of every stage (`tunesmith audit log|verify`)."""

from tunesmith.governance.audit import (
    ACTIONS,
    ACTOR_ENV,
    GENESIS_HASH,
    AuditEntry,
    AuditError,
    VerifyReport,
    append,
    audit_path,
    entries,
    entry_hash,
    verify,
)

__all__ = [
    "ACTIONS",
    "ACTOR_ENV",
    "GENESIS_HASH",
    "AuditEntry",
    "AuditError",
    "VerifyReport",
    "append",
    "audit_path",
    "entries",
    "entry_hash",
    "verify",
]

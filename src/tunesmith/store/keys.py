"""API keys: created once with their secret shown once, stored hashed, scoped to models,
knowledge-base access groups and a memory tenant."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tunesmith.store.clock import utc_timestamp
from tunesmith.store.db import READ_ONLY, api_keys

KEY_PREFIX = "ts-"
# approver: whose `tunesmith approve --key` approvals count toward four eyes
ROLES = ("inference", "reviewer", "approver")
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(s|sec|second|m|min|minute|h|hour)\s*$")
_UNIT = {"s": "second", "sec": "second", "m": "minute", "min": "minute", "h": "hour"}
# the names documents are labelled with in a knowledge base; lowercase so `HR` and `hr` never
# become two groups that a key and a document each half match
_GROUP = re.compile(r"[a-z0-9_-]{1,64}")


class ApiKeyError(ValueError):
    """A key command that cannot be carried out (duplicate name, unknown key, bad rate or group)."""


@dataclass(frozen=True)
class ApiKey:
    """What is known about a key; the secret itself is never stored."""

    name: str
    prefix: str
    models: list[str]
    roles: list[str]
    rate: str | None  # "N/second", "N/minute" or "N/hour": N requests in any such window
    created_at: str
    created_by: str
    revoked_at: str | None
    # knowledge-base groups whose documents the key may retrieve; none retrieves nothing
    groups: list[str] = field(default_factory=list)
    # whose end users' memory the key reads and writes (memory:); none: no memory at all
    tenant: str | None = None

    def allows(self, model: str) -> bool:
        """`*` is every model; a registry name covers its versions and aliases; else exact."""
        for scope in self.models:
            if scope == "*" or model == scope:
                return True
            if model.startswith((f"{scope}/", f"{scope}@")):
                return True
        return False

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "prefix": self.prefix,
            "models": self.models,
            "roles": self.roles,
            "rate": self.rate,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "revoked_at": self.revoked_at,
            "groups": self.groups,
            "tenant": self.tenant,
        }


def parse_rate(rate: str) -> str:
    """`60/min`, `2/s` or `1000/hour` as the exact rate it names (`60/minute`, `2/second`,
    `1000/hour`): the window is kept, never converted to another one."""
    match = _RATE.match(rate)
    if not match:
        raise ApiKeyError(f"rate '{rate}': expected N/s, N/min or N/hour, e.g. 60/min")
    count, unit = int(match.group(1)), match.group(2)
    if count < 1:
        raise ApiKeyError(f"rate '{rate}': must allow at least one request")
    return f"{count}/{_UNIT.get(unit, unit)}"


def parse_groups(groups: list[str]) -> list[str]:
    """The group names as given, each checked, duplicates dropped and the first order kept."""
    bad = [g for g in groups if not _GROUP.fullmatch(g)]
    if bad:
        shown = ", ".join(repr(g) for g in bad)
        raise ApiKeyError(
            f"group name(s) {shown}: lowercase letters, digits, '-' and '_' only, 1-64 characters"
        )
    return list(dict.fromkeys(groups))


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _row_to_key(row: Any) -> ApiKey:
    return ApiKey(
        name=row.name,
        prefix=row.prefix,
        models=list(row.models),
        roles=list(row.roles),
        # a key written before exact windows stored its rate as N per minute
        rate=row.rate or (None if row.rate_per_minute is None else f"{row.rate_per_minute}/minute"),
        created_at=row.created_at,
        created_by=row.created_by,
        revoked_at=row.revoked_at,
        groups=list(row.groups or []),  # NULL on a key made before groups: it has none
        tenant=row.tenant,
    )


def create_key(
    engine: Engine,
    name: str,
    models: list[str],
    created_by: str,
    rate: str | None = None,
    roles: list[str] | None = None,
    groups: list[str] | None = None,
    tenant: str | None = None,
) -> tuple[ApiKey, str]:
    """A new key and its secret, which is returned this once and stored only as a hash."""
    roles = roles or ["inference"]
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ApiKeyError(f"unknown role(s) {unknown}; known: {list(ROLES)}")
    if not models:
        raise ApiKeyError("a key needs at least one model (or '*' for every model)")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}", name):
        raise ApiKeyError(f"key name '{name}': letters, digits, '.', '_' and '-' only")
    exact = parse_rate(rate) if rate else None
    groups = parse_groups(groups or [])
    if tenant is not None and not _GROUP.fullmatch(tenant):
        raise ApiKeyError(
            f"tenant '{tenant}': lowercase letters, digits, '-' and '_' only, 1-64 characters"
        )
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    made = utc_timestamp()
    key = ApiKey(name, secret[:10], models, roles, exact, made, created_by, None, groups, tenant)
    with engine.begin() as conn:
        if conn.execute(sa.select(api_keys.c.id).where(api_keys.c.name == name)).first():
            raise ApiKeyError(f"a key named '{name}' exists; revoke it or choose another name")
        conn.execute(
            api_keys.insert().values(
                name=name,
                secret_sha256=digest(secret),
                prefix=key.prefix,
                models=models,
                roles=roles,
                rate=exact,
                groups=groups,
                tenant=tenant,
                created_at=key.created_at,
                created_by=created_by,
            )
        )
    return key, secret


def list_keys(engine: Engine) -> list[ApiKey]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(api_keys).order_by(api_keys.c.id)).all()
    return [_row_to_key(r) for r in rows]


def revoke_key(engine: Engine, name: str) -> ApiKey:
    with engine.begin() as conn:
        row = conn.execute(sa.select(api_keys).where(api_keys.c.name == name)).first()
        if row is None:
            raise ApiKeyError(f"no key named '{name}'")
        if row.revoked_at is None:
            conn.execute(
                api_keys.update().where(api_keys.c.name == name).values(revoked_at=utc_timestamp())
            )
        row = conn.execute(sa.select(api_keys).where(api_keys.c.name == name)).one()
    return _row_to_key(row)


def authenticate(engine: Engine, secret: str) -> ApiKey | None:
    """The live key whose secret this is; None for an unknown or revoked one."""
    with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
        row = conn.execute(
            sa.select(api_keys).where(api_keys.c.secret_sha256 == digest(secret))
        ).first()
    if row is None or row.revoked_at is not None:
        return None
    return _row_to_key(row)

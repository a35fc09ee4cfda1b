"""Who is acting, authenticated: an API key (its secret checked against the state store) or
the operating system's user (the process's uid, not `$USER` or `$TUNESMITH_ACTOR`, which
anyone can set). Four eyes and the review queues count these identities, never a typed name.
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass

from tunesmith.store.db import open_store
from tunesmith.store.keys import ApiKey, authenticate

KEY_ENV = "TUNESMITH_KEY"
VIAS = ("key", "os-user")


class ActorError(ValueError):
    """The key given is unknown, revoked, lacks the role or does not cover the model."""


@dataclass(frozen=True)
class Actor:
    identity: str  # "key:NAME" or "user:LOGIN": what is compared and recorded
    via: str  # one of VIAS: how the identity was established
    name: str  # the key's name or the login
    key: ApiKey | None = None

    @property
    def reviewer(self) -> str:
        """The name the review queues hold: a key's own name (as the /review page holds it,
        so the page and the terminal share claims), else user:LOGIN."""
        return self.name if self.key is not None else self.identity


def os_login() -> str:
    """The login of the process's real uid; `uid:N` where the uid has no passwd entry."""
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # containers run as a uid with no passwd entry
        return f"uid:{uid}"


def os_user() -> Actor:
    login = os_login()
    return Actor(f"user:{login}", "os-user", login)


def key_secret(given: str | None) -> str | None:
    """The key a command was given (`--key`), else `$TUNESMITH_KEY`, else None."""
    return (given or os.environ.get(KEY_ENV) or "").strip() or None


def from_key(state_url: str, secret: str, role: str, model: str | None = None) -> Actor:
    """The key's actor; refused unless the key is live, has `role` and covers `model`."""
    key = authenticate(open_store(state_url), secret)
    if key is None:
        raise ActorError(f"the key given (--key or ${KEY_ENV}) is unknown or revoked")
    if role not in key.roles:
        raise ActorError(f"key '{key.name}' lacks the '{role}' role")
    if model is not None and not key.allows(model):
        raise ActorError(f"key '{key.name}' does not cover {model} (it covers {key.models})")
    return Actor(f"key:{key.name}", "key", key.name, key)


def authenticated(state_url: str, secret: str | None, role: str, model: str | None = None) -> Actor:
    """The key's actor when a secret is given, else the operating system's user."""
    return os_user() if secret is None else from_key(state_url, secret, role, model)

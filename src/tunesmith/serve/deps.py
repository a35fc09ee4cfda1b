"""Request dependencies: the caller's API key, its model scope and its rate limit."""

from __future__ import annotations

import math
import time
from typing import Annotated

from fastapi import Depends, Request
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from tunesmith.serve.state import ServeState
from tunesmith.store.keys import ApiKey, authenticate


class ApiError(Exception):
    """An error answered in OpenAI's error shape."""

    def __init__(
        self,
        status: int,
        message: str,
        kind: str,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind
        self.code, self.param, self.headers = code, param, headers or {}


class RateLimiter:
    """Each key's rate over a moving window (the `limits` library): `2/second` allows two
    requests in any one second and `1/hour` one in any hour, never a larger burst."""

    def __init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def take(self, name: str, rate: str) -> float | None:
        """None when allowed (and counted); else seconds until a request would be."""
        item = parse(rate)
        if self._limiter.hit(item, name):
            return None
        reset, _ = self._limiter.get_window_stats(item, name)
        return max(0.0, reset - time.time())


def get_state(request: Request) -> ServeState:
    return request.app.state.serve


StateDep = Annotated[ServeState, Depends(get_state)]


def api_key(request: Request, state: StateDep) -> ApiKey:
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret:
        raise ApiError(
            401,
            "missing API key: send 'Authorization: Bearer <key>'",
            "invalid_request_error",
            "invalid_api_key",
        )
    key = authenticate(state.store, secret.strip())
    if key is None:
        raise ApiError(
            401, "invalid or revoked API key", "invalid_request_error", "invalid_api_key"
        )
    if key.rate is not None:
        wait = request.app.state.limiter.take(key.name, key.rate)
        if wait is not None:
            raise ApiError(
                429,
                f"key '{key.name}' reached its rate limit of {key.rate} requests",
                "rate_limit_error",
                "rate_limit_exceeded",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
    return key


def require_role(key: ApiKey, role: str) -> None:
    if role not in key.roles:
        raise ApiError(
            403, f"key '{key.name}' lacks the '{role}' role", "permission_error", "forbidden"
        )


KeyDep = Annotated[ApiKey, Depends(api_key)]

"""Request dependencies: the caller's API key, its model scope and its rate limit."""

from __future__ import annotations

import math
import threading
import time
from typing import Annotated

from fastapi import Depends, Request

from tunesmith.serve.keys import ApiKey, authenticate
from tunesmith.serve.service import ServeState


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
    """A token bucket per key: `rate` requests per minute, bursts up to `rate`."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, name: str, per_minute: int) -> float | None:
        """None when allowed; else seconds until a request would be."""
        now = time.monotonic()
        refill = per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.get(name, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - last) * refill)
            if tokens >= 1:
                self._buckets[name] = (tokens - 1, now)
                return None
            self._buckets[name] = (tokens, now)
            return (1 - tokens) / refill


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
    if key.rate_per_minute is not None:
        wait = request.app.state.limiter.take(key.name, key.rate_per_minute)
        if wait is not None:
            raise ApiError(
                429,
                f"key '{key.name}' reached its limit of {key.rate_per_minute} requests a minute",
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

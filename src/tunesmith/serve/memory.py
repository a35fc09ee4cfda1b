"""Memory on the server: the user's memories read into the prompt before a call, the answered
turn written back after it is captured, `/v1/memory/{user}` to show and forget, and the
retention schedule. Scoped to (the key's tenant, the request's `user`)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from tunesmith.memory.manage import expire, forget, show
from tunesmith.memory.recall import memory_block, recall
from tunesmith.memory.records import Memory, Scope
from tunesmith.memory.write import remember
from tunesmith.serve.deps import ApiError, KeyDep, StateDep, require_role
from tunesmith.serve.retrieval import question
from tunesmith.serve.schemas import ChatRequest
from tunesmith.store.keys import ApiKey

if TYPE_CHECKING:
    from tunesmith.serve.state import Prepared, ServeState

log = logging.getLogger("tunesmith.serve")
router = APIRouter()


@dataclass(frozen=True)
class Remembered:
    """What a call was given from its user's memory (possibly nothing)."""

    scope: Scope
    used: list[Memory]
    recall_ms: float

    def record(self) -> dict[str, Any]:
        """The interaction's memory record: ids, kinds, scores and sources, never text."""
        return {
            "used": [m.record() for m in self.used],
            "recall_ms": round(self.recall_ms, 3),
        }

    def body(self) -> list[dict[str, Any]]:
        """`tunesmith_memory` of the response: what [M1], [M2] ... in the prompt were."""
        return [
            {"ref": f"M{i}", "id": m.id, "kind": m.kind, "text": m.text,
             "score": round(m.score, 4), "created_at": m.created_at}
            for i, m in enumerate(self.used, start=1)
        ]  # fmt: skip


def scope_of(state: ServeState, request: ChatRequest, key: ApiKey) -> Scope | None:
    """Memory applies when the model has it, the key has a tenant and the request a user."""
    if state.memory_embedder is None or not state.memory.enabled_for(request.model):
        return None
    if key.tenant is None or not request.user:
        return None
    return Scope(key.tenant, request.user)


def with_memory(
    state: ServeState, request: ChatRequest, key: ApiKey
) -> tuple[ChatRequest, Remembered | None]:
    """The request with the user's memories in the system turn, and what was given."""
    scope = scope_of(state, request, key)
    if scope is None:
        return request, None
    started = time.perf_counter()
    found = recall(state.store, state.memory_embedder, state.memory, scope, question(request))
    block, used = memory_block(found, _token_counter(state), state.memory.token_budget)
    remembered = Remembered(scope, used, 1000 * (time.perf_counter() - started))
    state.metrics.memory_recall.observe(remembered.recall_ms / 1000)
    return (request.with_system_note(block) if used else request), remembered


def _token_counter(state: ServeState) -> Any:
    tokenizer = state.tokenizer
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False))


def write(state: ServeState, job: Prepared, choices: list[dict[str, Any]]) -> None:
    """The answered turn into the user's memory (after its capture, before the response): a
    failure to remember is logged, never the call's failure."""
    if job.remembered is None or state.memory_masker is None or not choices:
        return
    message = choices[0]["message"]
    try:
        remember(
            state.store,
            state.memory_embedder,
            state.memory_masker,
            state.memory,
            job.remembered.scope,
            job.id,
            job.request.model,
            question(job.request),
            message.get("content") or "",
            message.get("tool_calls"),
        )
    except Exception:
        log.exception("completion %s: could not write its memory", job.id)


def _scope(state: ServeState, key: ApiKey, user: str) -> Scope:
    require_role(key, "inference")
    if key.tenant is None:
        message = f"key '{key.name}' has no memory tenant (tunesmith keys create --tenant)"
        raise ApiError(403, message, "permission_error", "no_memory_scope")
    return Scope(key.tenant, user)


@router.get("/v1/memory/{user}")
async def show_memory(user: str, key: KeyDep, state: StateDep) -> dict[str, Any]:
    """The user's live facts and episodes, in the key's tenant."""
    scope = _scope(state, key, user)
    held = await run_in_threadpool(show, state.store, scope)
    return {"object": "memory", "user": user, **held}


@router.delete("/v1/memory/{user}")
async def forget_memory(user: str, key: KeyDep, state: StateDep) -> dict[str, Any]:
    """Forget the user in the key's tenant: every episode and fact, history included, with an
    audit entry."""
    scope = _scope(state, key, user)
    if state.audit_log is None:
        raise ApiError(503, "this server keeps no audit log", "server_error")
    counts = await run_in_threadpool(forget, state.store, state.audit_log, scope, f"key:{key.name}")
    return {"object": "memory.deleted", "user": user, "deleted": counts}


async def expire_on_schedule(state: ServeState) -> None:
    """Expire memories past `memory.retention_days` at start and every `expire_every_minutes`."""
    days = state.memory.retention_days
    if days is None or state.memory_embedder is None or state.audit_log is None:
        return
    while True:
        try:
            await run_in_threadpool(
                expire, state.store, state.audit_log, days, None, "tunesmith serve"
            )
        except Exception:
            log.exception("memory expiry failed; trying again at the next interval")
        await asyncio.sleep(60 * state.memory.expire_every_minutes)

"""HTTP routes: /v1/models, /v1/chat/completions, /v1/embeddings, /healthz, /metrics."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from tunesmith.serve import service, workflow
from tunesmith.serve.catalog import ModelNotFound
from tunesmith.serve.chat import RequestError
from tunesmith.serve.deps import ApiError, KeyDep, StateDep, require_role
from tunesmith.serve.embeddings import embed
from tunesmith.serve.engine import EngineBusy
from tunesmith.serve.schemas import (
    ChatRequest,
    EmbeddingRequest,
    RatingRequest,
    error_body,
    internal_error,
)

router = APIRouter()
log = logging.getLogger("tunesmith.serve")


@router.get("/healthz")
def healthz(state: StateDep) -> dict[str, Any]:
    return {
        "status": "ok",
        "base_model": state.catalog.base_id,
        "loaded_adapters": len(state.engine.lora.loaded),
        "running": state.engine.running,
        "queue_depth": state.engine.queue_depth,
    }


@router.get("/metrics")
def metrics(state: StateDep) -> Response:
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/models")
def list_models(key: KeyDep, state: StateDep) -> dict[str, Any]:
    created = int(time.time())
    data = [
        {
            "id": entry["id"],
            "object": "model",
            "created": created,
            "owned_by": "tunesmith",
            "parent": entry["parent"],
            "root": entry["run_id"] or entry["id"],
        }
        for entry in state.catalog.listing()
        if key.allows(entry["id"])
    ] + [
        {
            "id": name,
            "object": "model",
            "created": created,
            "owned_by": "tunesmith",
            "parent": state.catalog.base_id,
            "root": name,
        }
        for name in state.workflows
        if key.allows(name)
    ]
    return {"object": "list", "data": data}


def _sse(body: dict[str, Any]) -> str:
    return f"data: {json.dumps(body)}\n\n"


async def _disconnected(http: Request) -> None:
    """Returns once the client has gone (its body is read: the next message is the end)."""
    while (await http.receive())["type"] != "http.disconnect":
        pass


@router.post("/v1/chat/completions", response_model=None)
async def chat_completions(
    request: ChatRequest, key: KeyDep, state: StateDep, http: Request
) -> dict[str, Any] | StreamingResponse:
    require_role(key, "inference")
    if not key.allows(request.model):
        raise ApiError(
            403,
            f"key '{key.name}' may not use model '{request.model}'",
            "permission_error",
            "model_not_allowed",
            "model",
        )
    flow = state.workflows.get(request.model)
    if flow is not None:
        return await _workflow(state, flow, request, key, http)
    try:
        served = await run_in_threadpool(state.catalog.resolve, request.model)
        loop = asyncio.get_running_loop()
        job = await run_in_threadpool(service.prepare, state, request, key, served, loop)
    except ModelNotFound as err:
        raise ApiError(404, str(err), "invalid_request_error", "model_not_found", "model") from None
    except RequestError as err:
        raise ApiError(400, str(err), "invalid_request_error", None, err.param) from None
    try:
        service.submit(state, job)
    except EngineBusy as err:
        retry = str(state.settings.retry_after_seconds)
        message = f"the server is busy: {err}; retry after {retry} s"
        headers = {"Retry-After": retry}
        raise ApiError(503, message, "server_error", "overloaded", headers=headers) from None
    if not request.stream:
        try:
            return await service.complete(state, job, _disconnected(http))
        except service.Failed as err:
            level = logging.INFO if err.status == "cancelled" else logging.ERROR
            log.log(level, "completion %s %s: %s", err.request_id, err.status, err.detail)
            raise ApiError(500, internal_error(err.request_id), "server_error") from None

    async def body() -> AsyncIterator[str]:
        try:
            async for chunk in service.stream(state, job):
                yield _sse(chunk)
        except Exception as err:  # headers are sent: a failure can only be said in the stream
            detail = err.detail if isinstance(err, service.Failed) else repr(err)
            log.error("completion %s failed: %s", job.id, detail)
            yield _sse(error_body(internal_error(job.id), "server_error"))
        yield "data: [DONE]\n\n"

    return StreamingResponse(body(), media_type="text/event-stream")


async def _workflow(
    state: StateDep, flow: Any, request: ChatRequest, key: KeyDep, http: Request
) -> dict[str, Any]:
    """A workflow's answer (serve.workflows), its errors said as a single call's are."""
    try:
        return await workflow.answer(state, flow, request, key, _disconnected(http))
    except ModelNotFound as err:
        raise ApiError(404, str(err), "invalid_request_error", "model_not_found", "model") from None
    except RequestError as err:
        raise ApiError(400, str(err), "invalid_request_error", None, err.param) from None
    except EngineBusy as err:
        retry = str(state.settings.retry_after_seconds)
        message = f"the server is busy: {err}; retry after {retry} s"
        headers = {"Retry-After": retry}
        raise ApiError(503, message, "server_error", "overloaded", headers=headers) from None
    except service.Failed as err:
        level = logging.INFO if err.status == "cancelled" else logging.ERROR
        log.log(level, "workflow %s %s: %s", err.request_id, err.status, err.detail)
        raise ApiError(500, internal_error(err.request_id), "server_error") from None


@router.post("/v1/embeddings")
async def embeddings(body: EmbeddingRequest, key: KeyDep, state: StateDep) -> dict[str, Any]:
    """OpenAI-compatible embeddings from the knowledge base's embedding model."""
    require_role(key, "inference")
    model = state.embedder
    if model is None or body.model != model.name:
        served = "none" if model is None else f"'{model.name}'"
        message = f"embedding model '{body.model}' is not served here (served: {served})"
        raise ApiError(404, message, "invalid_request_error", "model_not_found", "model")
    if not key.allows(body.model):
        message = f"key '{key.name}' may not use model '{body.model}'"
        raise ApiError(403, message, "permission_error", "model_not_allowed", "model")
    if body.dimensions is not None and body.dimensions != model.dim:
        message = f"dimensions {body.dimensions}: '{model.name}' gives {model.dim}"
        raise ApiError(400, message, "invalid_request_error", None, "dimensions")
    return await run_in_threadpool(embed, model, body)


@router.post("/v1/feedback")
def rate(body: RatingRequest, key: KeyDep, state: StateDep) -> dict[str, Any]:
    """A thumbs up or down on an answer, by the key that asked for it; down sends it to review."""
    require_role(key, "inference")
    try:
        service.rate(state, key, body)
    except LookupError as err:
        raise ApiError(404, str(err), "invalid_request_error", "not_found", "id") from None
    return {"id": body.id, "rating": body.rating, "object": "feedback"}

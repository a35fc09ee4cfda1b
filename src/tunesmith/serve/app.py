"""The FastAPI application: state loaded once, routes, OpenAI-shaped errors, body limits."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tunesmith.config import ProjectConfig
from tunesmith.config.workspace import Workspace
from tunesmith.serve.capture import Recorder
from tunesmith.serve.catalog import Catalog
from tunesmith.serve.confidence import TaskProbe
from tunesmith.serve.deps import ApiError, RateLimiter
from tunesmith.serve.engine import Engine
from tunesmith.serve.memory import expire_on_schedule
from tunesmith.serve.memory import router as memory_router
from tunesmith.serve.metrics import ServeMetrics
from tunesmith.serve.review_routes import router as review_router
from tunesmith.serve.routes import router
from tunesmith.serve.schemas import error_body, internal_error
from tunesmith.serve.state import ServeState
from tunesmith.serve.structured import Grammars
from tunesmith.serve.workflow import check_workflows
from tunesmith.store import audit
from tunesmith.store.db import open_store

log = logging.getLogger("tunesmith.serve")


def load_state(ws: Workspace, config: ProjectConfig) -> ServeState:
    """The base model on the best device, the engine, the catalog and the stores."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tunesmith.models.base import resolve_base_model
    from tunesmith.models.hardware import device, inference_dtype

    base = resolve_base_model(config.base_model, ws.state_dir / "models", ws.root)
    model = AutoModelForCausalLM.from_pretrained(base.path, dtype=inference_dtype())
    model = model.to(device()).eval()
    tokenizer = AutoTokenizer.from_pretrained(base.path)
    settings = config.serve
    metrics = ServeMetrics()
    engine = Engine(
        model,
        tokenizer,
        settings.max_batch,
        settings.max_adapters,
        metrics.on_step,
        max_queue=settings.max_queue,
    )
    metrics.watch(
        lambda: engine.queue_depth, lambda: engine.running, lambda: len(engine.lora.loaded)
    )
    store = open_store(ws.state_url())
    recorder = None
    if settings.capture:
        masker = None
        if settings.capture_mask_pii and config.data.pii.enabled:
            from tunesmith.data.pii import PiiMasker

            masker = PiiMasker(config.data.pii)
        recorder = Recorder(store, masker)
    retriever, embedder = _knowledge(ws, config)
    memory_embedder, memory_masker = _memory(ws, config, embedder)
    catalog = Catalog(ws, base.name, base.weights_sha256, settings.alias_refresh_seconds)
    check_workflows(catalog, settings.workflows)
    return ServeState(
        memory=config.memory,
        memory_embedder=memory_embedder,
        memory_masker=memory_masker,
        workflows={flow.name: flow for flow in settings.workflows},
        retriever=retriever,
        embedder=embedder,
        settings=settings,
        engine=engine,
        tokenizer=tokenizer,
        catalog=catalog,
        grammars=Grammars(
            tokenizer,
            int(model.config.vocab_size),
            engine.eos,
            settings.max_schema_bytes,
            settings.max_schema_depth,
            settings.schema_compile_seconds,
        ),
        probe=TaskProbe(tokenizer, config.task),
        recorder=recorder,
        metrics=metrics,
        store=store,
        monitor=config.monitor,
        audit_log=audit.audit_path(ws.state_dir),
    )


def _memory(ws: Workspace, config: ProjectConfig, embedder: Any | None) -> tuple[Any, Any]:
    """The memory index's embedding model and masker; (None, None) when no model has memory.
    The masker is data.pii's in memory's mode, on even where capture masks nothing: masked
    values never enter memory unless pseudonymised."""
    if not config.memory.models:
        return None, None
    from tunesmith.data.curate import pseudonym_key
    from tunesmith.data.pii import PiiMasker
    from tunesmith.memory.write import MemoryMasker
    from tunesmith.models.sentence import load_sentence_model

    mode = config.memory.pii
    data = config.data.model_copy(
        update={"pii": config.data.pii.model_copy(update={"enabled": True, "mode": mode})}
    )
    masker = MemoryMasker(PiiMasker(data.pii, pseudonym_key(data)), mode)
    name = config.memory.embedding_model
    if embedder is not None and embedder.name == name:
        return embedder, masker
    return load_sentence_model(name, ws.root), masker


def _knowledge(ws: Workspace, config: ProjectConfig) -> tuple[Any | None, Any | None]:
    """The knowledge index and the embedding model served at /v1/embeddings. Models set to
    answer from the index refuse to start without one; otherwise a missing index only means
    requests asking for retrieval get a 400 saying so."""
    if config.knowledge is None:
        if config.serve.retrieval.models:
            raise ValueError("serve.retrieval.models is set but tunesmith.yaml has no knowledge:")
        return None, None
    from tunesmith.knowledge.retriever import open_retriever
    from tunesmith.models.sentence import load_sentence_model

    try:
        retriever = open_retriever(ws, config.knowledge)
    except FileNotFoundError:
        if config.serve.retrieval.models:
            raise
        log.warning("no knowledge index yet: requests asking for retrieval get 400")
        return None, load_sentence_model(config.knowledge.embedding.model, ws.root)
    embedder = retriever.model or load_sentence_model(config.knowledge.embedding.model, ws.root)
    return retriever, embedder


class BodyLimit:
    """413 for a body over `limit` bytes, declared or streamed, before any of it is parsed:
    the body is read here (it is small by definition) and handed on only when it fits."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and int(declared) > self.limit:
            await _too_large(self.limit)(scope, receive, send)
            return
        messages: list[Message] = []
        size, more = 0, True
        while more:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                await _too_large(self.limit)(scope, receive, send)
                return
            more = message.get("more_body", False)

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


KNOWN_PATHS = (
    "/v1/models",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/feedback",
    "/healthz",
    "/metrics",
    "/review",
    "/v1/review/next",
    "/v1/review/choices/next",
)


class CountRequests:
    """Requests by path and status, counted from the response start (streams included)."""

    def __init__(self, app: ASGIApp, metrics: ServeMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                path = scope["path"] if scope["path"] in KNOWN_PATHS else "other"
                self.metrics.requests.labels(path, str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, counted)


def _too_large(limit: int) -> JSONResponse:
    body = error_body(
        f"request body over {limit} bytes", "invalid_request_error", None, "too_large"
    )
    return JSONResponse(body, status_code=413)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts).replace(".[", "[")


def create_app(state: ServeState, engine_thread: bool = True) -> FastAPI:
    """The app; with `engine_thread` its lifespan runs the engine on a worker thread, else the
    caller runs `state.engine.run()` itself (`serve_forever` does, on the main thread)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if engine_thread:
            state.engine.start()
        expiry = asyncio.create_task(expire_on_schedule(state))
        yield
        expiry.cancel()
        if engine_thread:
            state.engine.stop()

    app = FastAPI(title="tunesmith", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.serve = state
    app.state.limiter = RateLimiter()
    app.include_router(router)
    app.include_router(review_router)
    app.include_router(memory_router)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, err: ApiError) -> JSONResponse:
        body = error_body(err.message, err.kind, err.param, err.code)
        return JSONResponse(body, status_code=err.status, headers=err.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, err: RequestValidationError) -> JSONResponse:
        first = err.errors()[0]
        param = _field(tuple(first.get("loc", ())))
        message = "; ".join(f"{_field(tuple(e['loc']))}: {e['msg']}" for e in err.errors()[:5])
        return JSONResponse(error_body(message, "invalid_request_error", param), status_code=400)

    @app.exception_handler(Exception)
    async def failed(_: Request, err: Exception) -> JSONResponse:
        # the detail stays in the server's log: exception text can name paths and internals
        request_id = f"req-{uuid.uuid4().hex}"
        log.error("request %s failed", request_id, exc_info=err)
        return JSONResponse(error_body(internal_error(request_id), "server_error"), status_code=500)

    app.add_middleware(BodyLimit, limit=state.settings.max_body_bytes)  # type: ignore[arg-type]
    app.add_middleware(CountRequests, metrics=state.metrics)  # type: ignore[arg-type]
    return app


def serve_forever(state: ServeState, sock: socket.socket) -> None:
    """HTTP on a thread, the engine on the main thread (libgomp runs a worker thread's GEMMs
    up to ~1.7x slower). SIGINT/SIGTERM stop accepting, let running requests finish, then
    stop the engine."""
    import uvicorn

    config = uvicorn.Config(
        create_app(state, engine_thread=False), log_level="warning", timeout_graceful_shutdown=30
    )
    server = uvicorn.Server(config)
    http = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)

    def shutdown(signum: int, frame: object) -> None:
        server.should_exit = True

    def stop_engine_after_http() -> None:
        http.join()
        state.engine.stop()

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    http.start()
    threading.Thread(target=stop_engine_after_http, daemon=True).start()
    state.engine.run()

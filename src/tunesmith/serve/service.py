"""The server's state and the two ways to answer: whole, or streamed as it is generated."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool

from tunesmith.serve import chat, memory
from tunesmith.serve.catalog import ServedModel
from tunesmith.serve.engine import Delta, Done, Sequence
from tunesmith.serve.pii_restore import (
    RequestValues,
    Restorer,
    mask_request,
    restore,
    restore_json,
)
from tunesmith.serve.recording import record, record_failure, record_later
from tunesmith.serve.retrieval import Retrieved, citations, retrieve, wanted, with_sources
from tunesmith.serve.schemas import ChatRequest, RatingRequest
from tunesmith.serve.state import Failed, Prepared, ServeState
from tunesmith.serve.structured import SchemaRefused, schema_problem
from tunesmith.store.clock import utc_timestamp
from tunesmith.store.db import interactions, ratings
from tunesmith.store.keys import ApiKey

log = logging.getLogger("tunesmith.serve")


def prepare(
    state: ServeState,
    request: ChatRequest,
    key: ApiKey,
    served: ServedModel,
    loop: asyncio.AbstractEventLoop,
) -> Prepared:
    """Tokenise, check limits, compile constraints: the CPU work before the engine, run in a
    worker thread; `loop` is the event loop the engine's events are handed to."""
    settings = state.settings
    if request.n > settings.max_n:
        raise chat.RequestError(
            f"n {request.n} exceeds this server's limit of {settings.max_n}", "n"
        )
    fmt = request.response_format
    if request.stop and (chat.forced_tool(request)[0] or (fmt is not None and fmt.type != "text")):
        raise chat.RequestError(
            "stop cannot be combined with response_format or a required tool call: "
            "a stop string would cut the JSON",
            "stop",
        )
    values = None
    if served.pii is not None and settings.restore_pii:
        request, values = mask_request(state.maskers, request, served.pii, settings.invented_pii)
    retrieved = _retrieve(state, request, key)
    if (
        retrieved is not None
        and not retrieved.hits
        and settings.retrieval.when_no_sources == "refuse"
    ):
        return _refusal(state, request, key, served, retrieved, values)
    prompted = request if retrieved is None else with_sources(request, retrieved.hits)
    prompted, remembered = memory.with_memory(state, prompted, key)
    prompt = chat.prompt_ids(state.tokenizer, prompted, settings.max_prompt_tokens)
    if log.isEnabledFor(logging.DEBUG):
        log.debug("model input: %r", state.tokenizer.decode(prompt))
    queue: asyncio.Queue[tuple[int, Delta | Done]] = asyncio.Queue()
    choices, sequences = [], []
    forced = chat.forced_tool(request)[0]
    param = "tools" if chat.reads_calls(request) else "response_format"
    for index in range(request.n):
        params = chat.sampling(request, settings.default_max_tokens, settings.max_tokens, index)
        try:
            constraint = chat.constraint(state.grammars, request)
        except SchemaRefused as err:
            raise chat.RequestError(str(err), param) from None
        except Exception as err:  # xgrammar: a schema it cannot compile
            problem = schema_problem(err)
            raise chat.RequestError(f"cannot enforce this schema: {problem}", param) from None
        # a label's margin measures a routing decision, which an answer from sources is not
        probe = None if retrieved is not None else state.probe.margin_probe()
        choice = chat.ChoiceState(index, margin_probe=probe)

        def sink(event: Delta | Done, index: int = index) -> None:
            with contextlib.suppress(RuntimeError):  # a loop closed by shutdown: nobody listens
                loop.call_soon_threadsafe(queue.put_nowait, (index, event))

        choices.append(choice)
        sequences.append(
            Sequence(
                prompt,
                params,
                sink,
                adapter=served.run_id,
                adapter_dir=served.adapter_dir,
                constraint=constraint,
                observe=choice.margin_probe,
            )
        )
    started = time.monotonic()
    return Prepared(
        request,
        key,
        served,
        prompt,
        forced,
        choices,
        sequences,
        queue,
        started,
        chat.completion_id(),
        values=values,
        retrieved=retrieved,
        remembered=remembered,
    )


def _retrieve(state: ServeState, request: ChatRequest, key: ApiKey) -> Retrieved | None:
    if not wanted(state.settings.retrieval, request):
        return None
    if state.retriever is None:
        raise chat.RequestError(
            "this server has no knowledge index (`knowledge:` and `tunesmith kb index`)",
            "retrieval",
        )
    return retrieve(state.retriever, state.settings.retrieval, request, key)


def _refusal(
    state: ServeState,
    request: ChatRequest,
    key: ApiKey,
    served: ServedModel,
    retrieved: Retrieved,
    values: RequestValues | None,
) -> Prepared:
    """A call answered with the configured refusal: no sequence runs, so no model can answer
    from what it learned instead of from a source the caller may read."""
    text = state.settings.retrieval.refusal
    choices = [chat.ChoiceState(i, text=text, done=Done("stop", 0, None)) for i in range(request.n)]
    return Prepared(
        request,
        key,
        served,
        [],
        False,
        choices,
        [],
        asyncio.Queue(),
        time.monotonic(),
        chat.completion_id(),
        values=values,
        retrieved=retrieved,
        refused=True,
    )


def submit(state: ServeState, job: Prepared) -> None:
    """Hand the choices to the engine, before any response starts; EngineBusy when it is full."""
    state.engine.submit_all(job.sequences)


async def events(state: ServeState, job: Prepared) -> AsyncIterator[tuple[int, Delta | Done]]:
    """Engine events of every choice until all are done; cancels them if the caller goes away."""
    remaining = len(job.sequences)
    try:
        while remaining:
            index, event = await job.queue.get()
            choice = job.choices[index]
            if isinstance(event, Delta):
                if job.first_token is None:
                    job.first_token = time.monotonic()
                choice.text += event.text
                choice.picks += event.picks
            else:
                choice.done = event
                remaining -= 1
            yield index, event
    finally:
        for seq in job.sequences:
            seq.cancelled.set()


def failure(job: Prepared) -> tuple[str, str] | None:
    """("error" | "cancelled", why) when a choice did not finish, else None."""
    for status in ("error", "cancelled"):
        for c in job.choices:
            if c.done is not None and c.done.finish_reason == status:
                return status, c.done.error or status
    return None


def finish(state: ServeState, job: Prepared) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The choices' final form (message, tool calls, logprobs) and usage; records the call."""
    request = job.request
    out = []
    tools = chat.reads_calls(request) and not job.refused
    for choice in job.choices:
        content, calls = chat.answer_calls(choice.text, request) if tools else (choice.text, [])
        if job.values is not None:
            shown = job.shown.get(choice.index)  # a stream restored its text as it went
            content = restore(content, job.values) if shown is None else shown
            for call in calls:
                function = call["function"]
                function["arguments"] = restore_json(function["arguments"], job.values)
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None if calls and not content else content,
        }
        if calls:
            message["tool_calls"] = calls
        if job.retrieved is not None:
            answer = message["content"] or ""
            message["annotations"] = [] if job.refused else citations(answer, job.retrieved.hits)
        out.append(
            {
                "index": choice.index,
                "message": message,
                "logprobs": chat.logprobs_body(
                    state.tokenizer, choice.picks, request.top_logprobs or 0
                )
                if request.logprobs
                else None,
                "finish_reason": chat.finish_reason(choice, calls),
            }
        )
    completion = sum(c.done.completion_tokens for c in job.choices if c.done)
    usage = {
        "prompt_tokens": len(job.prompt),
        "completion_tokens": completion,
        "total_tokens": len(job.prompt) + completion,
    }
    return out, usage


async def _fail(state: ServeState, job: Prepared) -> None:
    """Record and raise Failed when a choice failed or was cancelled."""
    if (failed := failure(job)) is not None:
        await run_in_threadpool(record_failure, state, job, *failed)
        raise Failed(job.id, *failed)


async def _cancel_on(gone: Awaitable[None], job: Prepared) -> None:
    await gone
    for seq in job.sequences:
        seq.cancelled.set()


async def complete(
    state: ServeState, job: Prepared, gone: Awaitable[None] | None = None
) -> dict[str, Any]:
    """The whole answer; `gone` resolves when the client disconnects, which cancels the call."""
    if gone is not None and not job.sequences and inspect.iscoroutine(gone):
        gone.close()  # a refusal runs nothing a disconnect could cancel
        gone = None
    watcher = asyncio.ensure_future(_cancel_on(gone, job)) if gone is not None else None
    try:
        async for _ in events(state, job):
            pass
    except asyncio.CancelledError:
        record_later(state, job, "cancelled", "the request was cancelled")
        raise
    finally:
        if watcher is not None:
            watcher.cancel()
    await _fail(state, job)
    choices, usage = finish(state, job)
    await run_in_threadpool(record, state, job, choices, usage)
    body = {
        "id": job.id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": job.request.model,
        "choices": choices,
        "usage": usage,
        "system_fingerprint": job.served.run_id or "base",
    }
    if job.remembered is not None:
        body["tunesmith_memory"] = job.remembered.body()
    return body


async def stream(state: ServeState, job: Prepared) -> AsyncIterator[dict[str, Any]]:
    """Chunks as OpenAI streams them. With tools, content before the first call streams (all
    of it comes at the end when personal values are restored); the calls, the rest of the
    content and the finish come once a choice is done."""
    request = job.request
    head = {
        "id": job.id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": request.model,
        "system_fingerprint": job.served.run_id or "base",
    }

    def chunk(index: int, delta: dict[str, Any], **extra: Any) -> dict[str, Any]:
        body = {"index": index, "delta": delta, "logprobs": None, "finish_reason": None, **extra}
        return {**head, "choices": [body]}

    tools = chat.reads_calls(request) and not job.refused
    sent: dict[int, str] = {}  # with tools: the content streamed so far
    # a placeholder split across tokens is held back until it is whole, then restored
    restorers = (
        {c.index: Restorer(job.values) for c in job.choices}
        if job.values is not None and not tools
        else {}
    )
    try:
        for choice in job.choices:
            yield chunk(choice.index, {"role": "assistant", "content": ""})
            if job.refused:
                yield chunk(choice.index, {"content": choice.text})
        async for index, event in events(state, job):
            if not isinstance(event, Delta) or (tools and job.values is not None):
                continue
            if tools:  # the prefix only grows: a call or what may open one is held back
                prefix = chat.streamable_prefix(job.choices[index].text)
                text, sent[index] = prefix[len(sent.get(index, "")) :], prefix
            else:
                text = restorers[index].feed(event.text) if restorers else event.text
            if restorers:
                job.shown[index] = job.shown.get(index, "") + text
            if text or (request.logprobs and event.picks):
                logprobs = (
                    chat.logprobs_body(state.tokenizer, event.picks, request.top_logprobs or 0)
                    if request.logprobs
                    else None
                )
                yield chunk(index, {"content": text}, logprobs=logprobs)
        for index, restorer in restorers.items():
            tail = restorer.flush()
            job.shown[index] = job.shown.get(index, "") + tail
            if tail:
                yield chunk(index, {"content": tail})
    except (asyncio.CancelledError, GeneratorExit):  # the client went away mid-stream
        record_later(state, job, "cancelled", "the client disconnected")
        raise
    await _fail(state, job)
    choices, usage = finish(state, job)
    # committed before the chunks that carry finish_reason and before [DONE]
    await run_in_threadpool(record, state, job, choices, usage)
    for done in choices:
        delta: dict[str, Any] = {}
        rest = (done["message"]["content"] or "")[len(sent.get(done["index"], "")) :]
        if tools and rest:
            delta["content"] = rest
        if "tool_calls" in done["message"]:
            delta["tool_calls"] = [
                {"index": i, **c} for i, c in enumerate(done["message"]["tool_calls"])
            ]
        if "annotations" in done["message"]:  # their spans refer to the whole streamed text
            delta["annotations"] = done["message"]["annotations"]
        extra = {} if job.remembered is None else {"tunesmith_memory": job.remembered.body()}
        yield {**chunk(done["index"], delta, finish_reason=done["finish_reason"]), **extra}
    if request.stream_options is not None and request.stream_options.include_usage:
        yield {**head, "choices": [], "usage": usage}


def rate(state: ServeState, key: ApiKey, body: RatingRequest) -> None:
    """Store a caller's rating of one of its own answers."""
    with state.store.begin() as conn:
        owner = conn.execute(
            sa.select(interactions.c.key_name).where(interactions.c.id == body.id)
        ).scalar_one_or_none()
        # another key's completion ids are answered as unknown: they are not this caller's
        if owner is None or owner != key.name:
            raise LookupError(f"no answer '{body.id}' was given to key '{key.name}'")
        conn.execute(
            ratings.insert().values(
                interaction_id=body.id,
                key_name=key.name,
                rating=body.rating,
                comment=body.comment,
                created_at=utc_timestamp(timespec="milliseconds"),
            )
        )

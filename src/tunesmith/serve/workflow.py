"""Workflows (`serve.workflows`): one model name answered by a chain of specialists on the
server's one base model, e.g. a ticket classified by one adapter, its fields extracted by
another and the action taken by the tool-calling one.

Each step is an ordinary call through `service.prepare` / the engine / `service.finish` (same
batching, same grammars), on the original conversation: each specialist is served in the
format it was trained in. A classify step is held to `answer_prefix + label` (as eval scores
labels), so it always gives a label to route on; an extract step decodes under its JSON schema;
an act step gets the request's tools and tool_choice. The answer is the last step that ran,
with `tunesmith_trace` (which adapter did what, how long it took), and the interaction is
recorded once, with the trace.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import weakref
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import jsonschema
from starlette.concurrency import run_in_threadpool

from tunesmith.config.serve import WorkflowConfig, WorkflowStep
from tunesmith.models.labels import parse_json, parse_label
from tunesmith.serve import service
from tunesmith.serve.catalog import Catalog, ModelNotFound, ServedModel
from tunesmith.serve.chat import RequestError
from tunesmith.serve.recording import record, record_failure, record_later
from tunesmith.serve.schemas import ChatRequest, ResponseFormat
from tunesmith.serve.state import Failed, Prepared, ServeState
from tunesmith.serve.structured import GrammarConstraint, Grammars


def check_workflows(catalog: Catalog, workflows: list[WorkflowConfig]) -> None:
    """At start: a workflow's name is no served model's, and every step's model is served here
    with what its kind needs; a ValueError names the workflow, the step and the problem."""
    for flow in workflows:
        try:
            catalog.resolve(flow.name)
        except ModelNotFound:
            pass
        else:
            raise ValueError(
                f"serve.workflows '{flow.name}': the name is already a served model's; "
                "choose another"
            )
        for step in flow.steps:
            where = f"serve.workflows '{flow.name}' step '{step.name}'"
            try:
                served = catalog.resolve(step.model)
            except ModelNotFound as err:
                raise ValueError(f"{where}: {err}") from None
            if step.kind == "classify" and _labels(step, served) is None:
                raise ValueError(
                    f"{where}: model '{step.model}' has no classification labels; set labels"
                )


def _labels(step: WorkflowStep, served: ServedModel) -> tuple[list[str], str] | None:
    """A classify step's labels and the text before them: the step's, else the run's task's."""
    task = served.task
    prefix = task.answer_prefix if task is not None else ""
    if step.labels:
        return step.labels, prefix
    if task is not None and task.type == "classification" and task.labels:
        return list(task.labels), prefix
    return None


def _schema(step: WorkflowStep, served: ServedModel) -> dict[str, Any] | None:
    task = served.task
    if step.json_schema is not None:
        return step.json_schema
    if task is not None and task.type == "extraction":
        return task.json_schema
    return None  # any JSON object


# per tokenizer's Grammars, EBNF -> compiled: a server has few label sets, kept for good
_label_grammars: weakref.WeakKeyDictionary[Grammars, dict[str, Any]] = weakref.WeakKeyDictionary()
_label_lock = threading.Lock()


def _label_constraint(grammars: Grammars, labels: list[str], prefix: str) -> GrammarConstraint:
    """The answer held to `prefix + one label`, which is what a classifier was trained to say."""
    choice = " | ".join(json.dumps(label, ensure_ascii=False) for label in labels)
    head = f"{json.dumps(prefix, ensure_ascii=False)} " if prefix else ""
    ebnf = f"root ::= {head}({choice})"
    with _label_lock:
        cache = _label_grammars.setdefault(grammars, {})
        compiled = cache.get(ebnf)
    if compiled is None:
        compiled = grammars.compiler.compile_grammar(ebnf)
        with _label_lock:
            cache[ebnf] = compiled
    return GrammarConstraint(compiled, grammars.vocab_size)


@dataclass
class _Outcome:
    kind: str
    label: str | None = None
    fields: Any = None
    text: str = ""  # what an include note says of this step


def _skip_reason(step: WorkflowStep, outcomes: dict[str, _Outcome | None]) -> str | None:
    """Why `when` skips this step, or None when it runs."""
    for name, wanted in step.when.items():
        earlier = outcomes.get(name)
        if earlier is None:
            return f"'{name}' was skipped"
        if earlier.label not in wanted:
            return f"'{name}' gave {earlier.label!r}, not one of {wanted}"
    return None


def _note(step: WorkflowStep, outcomes: dict[str, _Outcome | None]) -> str:
    lines = ["Results of earlier steps:"]
    for name in step.include:
        earlier = outcomes.get(name)
        lines.append(f"- {name}: {'skipped' if earlier is None else earlier.text}")
    return "\n".join(lines)


def _step_request(
    request: ChatRequest,
    step: WorkflowStep,
    served: ServedModel,
    outcomes: dict[str, _Outcome | None],
) -> ChatRequest:
    """The request as this step's specialist gets it: the conversation (with a note of earlier
    outputs when `include` asks), and only what the step's kind decodes under."""
    update: dict[str, Any] = {"model": step.model, "n": 1, "stream": False, "stream_options": None}
    if step.max_tokens is not None:
        update |= {"max_tokens": step.max_tokens, "max_completion_tokens": None}
    if step.kind != "act":
        no_tools = {"tools": None, "tool_choice": None, "parallel_tool_calls": None, "stop": None}
        update |= no_tools | {"response_format": None}
    if step.kind == "extract":
        schema = _schema(step, served)
        fmt: dict[str, Any] = {"type": "json_object"}
        if schema is not None:
            fmt = {"type": "json_schema", "json_schema": {"name": step.name, "schema": schema}}
        update["response_format"] = ResponseFormat.model_validate(fmt)
    if step.include:
        update["messages"] = request.with_system_note(_note(step, outcomes)).messages
    return request.model_copy(update=update)


def _summary(
    step: WorkflowStep, served: ServedModel, message: dict[str, Any]
) -> tuple[_Outcome, dict[str, Any]]:
    """What the step gave, for routing and notes, and its output as the trace says it."""
    content = message.get("content") or ""
    if step.kind == "classify":
        found = _labels(step, served)
        label = parse_label(content, *found) if found is not None else None
        return _Outcome("classify", label=label, text=f"label {label}"), {"label": label}
    if step.kind == "extract":
        schema = _schema(step, served)
        try:
            fields = parse_json(content)
            valid = isinstance(fields, dict)
            if valid and schema is not None:
                jsonschema.validate(fields, schema)
        except (ValueError, jsonschema.ValidationError, jsonschema.SchemaError):
            fields, valid = None, False
        text = json.dumps(fields) if valid else "no valid fields"
        return _Outcome("extract", fields=fields, text=text), {"fields": fields, "valid": valid}
    calls = [c["function"]["name"] for c in message.get("tool_calls") or []]
    text = f"called {', '.join(calls)}" if calls else f"answered {content!r}"
    return _Outcome("act", text=text), {"calls": calls, "content": bool(content)}


def _entry(step: WorkflowStep, served: ServedModel | None, **fields: Any) -> dict[str, Any]:
    registry = None
    if served is not None and served.registry_name is not None:
        registry = f"{served.registry_name}/{served.registry_version}"
    return {
        "step": step.name,
        "kind": step.kind,
        "model": step.model,
        "run_id": served.run_id if served is not None else None,
        "registry": registry,
        **fields,
    }


def _as_workflow(job: Prepared, request: ChatRequest, started: float) -> None:
    """The last step's call stored as the workflow's: the name, conversation and tools the
    caller sent, timed from the workflow's start."""
    job.request, job.started = request, started


async def _generate(
    state: ServeState,
    job: Prepared,
    watcher: asyncio.Future[None] | None,
    request: ChatRequest,
    started: float,
) -> None:
    """One step through the engine; the caller leaving cancels it (and so the workflow)."""

    def cancel(_: object) -> None:
        for sequence in job.sequences:
            sequence.cancelled.set()

    if watcher is not None:
        watcher.add_done_callback(cancel)  # called at once when the caller has already left
    service.submit(state, job)
    try:
        async for _ in service.events(state, job):
            pass
    except asyncio.CancelledError:
        _as_workflow(job, request, started)
        record_later(state, job, "cancelled", "the request was cancelled")
        raise
    finally:
        if watcher is not None:
            watcher.remove_done_callback(cancel)


async def answer(
    state: ServeState,
    flow: WorkflowConfig,
    request: ChatRequest,
    key: Any,
    gone: Awaitable[None] | None = None,
) -> dict[str, Any]:
    """Run the steps in order; the response is the last step that ran, with the trace."""
    watcher = asyncio.ensure_future(gone) if gone is not None else None
    try:
        return await _run(state, flow, request, key, watcher)
    finally:
        if watcher is not None:
            watcher.cancel()


async def _run(
    state: ServeState,
    flow: WorkflowConfig,
    request: ChatRequest,
    key: Any,
    watcher: asyncio.Future[None] | None,
) -> dict[str, Any]:
    if request.stream:
        raise RequestError(f"workflow '{flow.name}' does not stream; send stream: false", "stream")
    if request.n != 1:
        raise RequestError(f"workflow '{flow.name}' gives one choice; n must be 1", "n")
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    outcomes: dict[str, _Outcome | None] = {}
    trace: list[dict[str, Any]] = []
    usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    last: tuple[Prepared, list[dict[str, Any]]] | None = None
    for step in flow.steps:
        why = _skip_reason(step, outcomes)
        if why is not None:
            outcomes[step.name] = None
            trace.append(_entry(step, None, skipped=True, reason=why, latency_ms=0.0))
            continue
        began = time.monotonic()
        served = await run_in_threadpool(state.catalog.resolve, step.model)
        step_request = _step_request(request, step, served, outcomes)
        job = await run_in_threadpool(service.prepare, state, step_request, key, served, loop)
        found = _labels(step, served) if step.kind == "classify" else None
        if found is not None and job.sequences:  # none: a refusal, for want of a source
            constraint = await run_in_threadpool(_label_constraint, state.grammars, *found)
            job.sequences[0].constraint = constraint
        await _generate(state, job, watcher, request, started)
        failure = service.failure(job)
        if failure is not None:
            _as_workflow(job, request, started)
            trace.append(_entry(step, served, skipped=False, failed=failure[0]))
            await run_in_threadpool(record_failure, state, job, *failure, trace)
            raise Failed(job.id, *failure)
        choices, step_usage = service.finish(state, job)
        outcomes[step.name], output = _summary(step, served, choices[0]["message"])
        for name, count in step_usage.items():
            usage[name] += count
        latency = round(1000 * (time.monotonic() - began), 1)
        trace.append(
            _entry(
                step,
                served,
                skipped=False,
                **output,
                finish_reason=choices[0]["finish_reason"],
                prompt_tokens=step_usage["prompt_tokens"],
                completion_tokens=step_usage["completion_tokens"],
                latency_ms=latency,
            )
        )
        last = job, choices
    assert last is not None  # the first step has no `when`: it always runs
    job, choices = last
    _as_workflow(job, request, started)
    await run_in_threadpool(record, state, job, choices, usage, trace)
    return {
        "id": job.id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.model,
        "choices": choices,
        "usage": usage,
        "system_fingerprint": job.served.run_id or "base",
        "tunesmith_trace": trace,
    }

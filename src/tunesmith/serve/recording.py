"""Each call committed to the state store: an answer with its choices, or a failure with its
status and reason (no answer text); metrics counted alongside."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from tunesmith.serve import chat, memory
from tunesmith.serve.capture import Interaction, Recorder
from tunesmith.serve.schemas import ChatRequest

if TYPE_CHECKING:
    from tunesmith.serve.state import Prepared, ServeState


def record(
    state: ServeState,
    job: Prepared,
    choices: list[dict[str, Any]],
    usage: dict[str, int],
    trace: list[dict[str, Any]] | None = None,
) -> None:
    """Metrics, and the interaction committed to the state store (called before responding);
    a workflow's call comes with its trace, and its label is its classify step's."""
    now = time.monotonic()
    model = job.request.model
    job.recorded = True
    state.metrics.completions.labels(model, "ok").inc()
    state.metrics.latency.labels(model).observe(now - job.started)
    if job.first_token is not None:
        state.metrics.ttft.labels(model).observe(job.first_token - job.started)
    state.metrics.prompt_tokens.inc(len(job.prompt))
    if job.values is not None:
        state.metrics.pii_placeholders.labels(model, "restored").inc(job.values.restored)
        state.metrics.pii_placeholders.labels(model, "invented").inc(job.values.invented)
    if state.recorder is not None:
        _capture(state.recorder, state, job, choices, usage, trace, now)
    if trace is None:  # a workflow's steps are not remembered (each step reads memory)
        memory.write(state, job, choices)


def _capture(
    recorder: Recorder,
    state: ServeState,
    job: Prepared,
    choices: list[dict[str, Any]],
    usage: dict[str, int],
    trace: list[dict[str, Any]] | None,
    now: float,
) -> None:
    """The answered call committed to the state store, its rule flags with it."""
    first = job.choices[0]
    means = [c.done.mean_logprob for c in job.choices if c.done and c.done.mean_logprob is not None]
    recorder.record(
        job.id,
        _interaction(
            job,
            now,
            choices=[
                {
                    "text": c.text,
                    "finish_reason": o["finish_reason"],
                    "tool_calls": o["message"].get("tool_calls"),
                }
                for c, o in zip(job.choices, choices, strict=True)
            ],
            finish_reason=choices[0]["finish_reason"],
            completion_tokens=usage["completion_tokens"],
            mean_logprob=sum(means) / len(means) if means else None,
            label=state.probe.label(first.text) if trace is None else _routed_label(trace),
            label_margin=first.margin_probe.margin
            if first.margin_probe and trace is None
            else None,
            response_schema=_response_schema(job.request),
            # an answer from the knowledge base is not a routing decision
            expects_label=trace is None
            and state.probe.task.type == "classification"
            and not job.request.tools
            and job.request.response_format is None
            and job.retrieved is None,
            invented_placeholders=job.values.invented if job.values is not None else 0,
            trace=trace,
        ),
    )


def _routed_label(trace: list[dict[str, Any]]) -> str | None:
    """The label of a workflow's first classify step that ran."""
    return next(
        (t.get("label") for t in trace if t["kind"] == "classify" and not t["skipped"]), None
    )


def record_failure(
    state: ServeState,
    job: Prepared,
    status: str,
    detail: str,
    trace: list[dict[str, Any]] | None = None,
) -> None:
    """A failed or cancelled call, counted and committed like an answer: the (masked) messages,
    status, reason, tokens and timings; no partial answer text."""
    if job.recorded:
        return
    job.recorded = True
    now = time.monotonic()
    model = job.request.model
    state.metrics.completions.labels(model, status).inc()
    if state.recorder is None:
        return
    state.recorder.record(
        job.id,
        _interaction(
            job,
            now,
            choices=[
                {
                    "text": "",
                    "finish_reason": c.done.finish_reason if c.done else "cancelled",
                    "tool_calls": None,
                    "error": _why(c, detail),
                }
                for c in job.choices
            ],
            finish_reason=status,
            completion_tokens=sum(len(c.picks) for c in job.choices),
            mean_logprob=None,
            label=None,
            label_margin=None,
            trace=trace,
        ),
    )


def _interaction(job: Prepared, now: float, **fields: Any) -> Interaction:
    """What every stored call carries (who, which model, the masked messages, prompt size,
    timings), with the fields of an answer or of a failure."""
    return Interaction(
        key_name=job.key.name,
        model=job.request.model,
        served=chat.served_json(job.served),
        messages=_messages(job.request),
        prompt_tokens=len(job.prompt),
        latency_ms=1000 * (now - job.started),
        ttft_ms=None if job.first_token is None else 1000 * (job.first_token - job.started),
        stream=job.request.stream,
        retrieval=None if job.retrieved is None else job.retrieved.record(),
        tools=[t.model_dump(exclude_none=True) for t in job.request.tools or []] or None,
        memory=None if job.remembered is None else job.remembered.record(),
        **fields,
    )


_ERROR_CHARS = 300  # of the reason stored with a failed call


def _why(choice: chat.ChoiceState, detail: str) -> str | None:
    """A choice's reason for not finishing; None for one that finished."""
    if choice.done is None:  # still running when the call was cancelled
        return detail[:_ERROR_CHARS]
    if choice.done.finish_reason in ("error", "cancelled"):
        return (choice.done.error or detail)[:_ERROR_CHARS]
    return None


def record_later(state: ServeState, job: Prepared, status: str, detail: str) -> None:
    """Record from a cancelled task, which cannot await: on a worker thread, not waited for."""
    if not job.recorded:
        asyncio.get_running_loop().run_in_executor(None, record_failure, state, job, status, detail)


def _messages(request: ChatRequest) -> list[dict[str, Any]]:
    return [
        m.model_dump(exclude_none=True, mode="json") | {"content": m.text()}
        for m in request.messages
    ]


def _response_schema(request: ChatRequest) -> dict[str, Any] | None:
    fmt = request.response_format
    if fmt is not None and fmt.type == "json_schema" and fmt.json_schema is not None:
        return fmt.json_schema.schema_
    return None

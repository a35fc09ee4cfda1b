"""One chat completion request: prompt, sequences for the engine, and the answer's shape."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from tunesmith.models import tools as shared
from tunesmith.models.tokenize import tokenize_prompts
from tunesmith.serve.catalog import ServedModel
from tunesmith.serve.confidence import LabelMargin
from tunesmith.serve.engine import Done
from tunesmith.serve.sampling import Pick, SamplingParams
from tunesmith.serve.schemas import ChatRequest, NamedToolChoice
from tunesmith.serve.structured import GrammarConstraint, Grammars


class RequestError(ValueError):
    """A request the server refuses (400); `param` names the offending field."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


def offered_tools(request: ChatRequest) -> list[dict[str, Any]] | None:
    """The request's tools as OpenAI dicts; None when there are none or tool_choice is none
    (then they are neither described to the model nor called)."""
    if not request.tools or request.tool_choice == "none":
        return None
    return [t.model_dump(exclude_none=True) for t in request.tools]


def message_dicts(request: ChatRequest) -> list[dict[str, Any]]:
    """The conversation as OpenAI message dicts, content as text (parts joined)."""
    out = []
    for message in request.messages:
        turn = message.model_dump(exclude_none=True)
        turn["role"] = "system" if message.role == "developer" else message.role
        turn["content"] = message.text()
        out.append(turn)
    return out


def forced_tool(request: ChatRequest) -> tuple[bool, str | None]:
    """Whether a call is required and, when a function is named, which one."""
    if isinstance(request.tool_choice, NamedToolChoice):
        return True, request.tool_choice.function.name
    return request.tool_choice == "required", None


def tool_tag(request: ChatRequest) -> dict[str, Any] | None:
    """The structural tag the answer decodes under when tools are offered: free text, and
    every call one of the tools with arguments following its schema."""
    tools = offered_tools(request)
    if tools is None:
        return None
    required, only = forced_tool(request)
    return shared.tool_call_tag(
        tools, required=required, only=only, single=request.parallel_tool_calls is False
    )


def reads_calls(request: ChatRequest) -> bool:
    """Whether the answer decodes under the tools' tag and is read for calls: tools offered,
    and either a call is forced or no JSON response_format takes precedence."""
    fmt = request.response_format
    plain = fmt is None or fmt.type == "text"
    return offered_tools(request) is not None and (plain or forced_tool(request)[0])


def constraint(grammars: Grammars, request: ChatRequest) -> GrammarConstraint | None:
    """The tools' structural tag when the answer is read for calls (a forced call wins over
    response_format; with auto, a JSON response_format wins), else the format's schema."""
    if reads_calls(request):
        tag = tool_tag(request)
        assert tag is not None
        return grammars.for_tools(tag)
    fmt = request.response_format
    if fmt is not None and fmt.type == "json_object":
        return grammars.for_schema(None)
    if fmt is not None and fmt.type == "json_schema":
        assert fmt.json_schema is not None
        return grammars.for_schema(fmt.json_schema.schema_)
    return None


def answer_calls(text: str, request: ChatRequest) -> tuple[str, list[dict[str, Any]]]:
    """The answer's content without its calls, and the calls in the OpenAI shape. An answer
    with a block that does not read as a call (one cut by max_tokens) keeps its whole text."""
    names = {t.function.name for t in request.tools or []}
    answer = shared.parse_answer(text, names)
    calls = answer.calls[:1] if request.parallel_tool_calls is False else answer.calls
    ids = [f"call_{uuid.uuid4().hex[:24]}" for _ in calls]
    content = text.strip() if answer.malformed else answer.content
    return content, shared.openai_tool_calls(calls, ids)


def streamable_prefix(text: str) -> str:
    """The part of a tools answer that is content whatever follows: the text before any call,
    stripped, less a tail that could still open one; nothing when it could be a bare call."""
    head = text.split(shared.CALL_OPEN, 1)[0]
    for cut in range(len(shared.CALL_OPEN) - 1, 0, -1):
        if head.endswith(shared.CALL_OPEN[:cut]):
            head = head[:-cut]
            break
    head = head.strip()
    return "" if head.startswith("{") else head


def prompt_ids(tokenizer: Any, request: ChatRequest, limit: int) -> list[int]:
    """The prompt in the serialisation training and eval use (`models.tools.template_inputs`)."""
    try:
        ids = tokenize_prompts(tokenizer, [message_dicts(request)], [offered_tools(request)])[0]
    except shared.ToolFormatError as err:
        field_ = "tools" if str(err).startswith("tools") else "messages"
        raise RequestError(str(err), field_) from None
    if len(ids) > limit:
        raise RequestError(
            f"prompt has {len(ids)} tokens; this server takes at most {limit}", "messages"
        )
    return ids


def sampling(request: ChatRequest, default_max: int, limit: int, index: int) -> SamplingParams:
    asked = request.max_completion_tokens or request.max_tokens
    if asked is not None and asked > limit:
        param = "max_completion_tokens" if request.max_completion_tokens else "max_tokens"
        raise RequestError(f"{param} {asked} exceeds this server's limit of {limit}", param)
    seed = None if request.seed is None else request.seed + index
    return SamplingParams(
        max_tokens=asked or default_max,
        temperature=request.temperature,
        top_p=request.top_p,
        seed=seed,
        stop=request.stops(),
        top_logprobs=(request.top_logprobs or 0) if request.logprobs else 0,
    )


@dataclass
class ChoiceState:
    """One choice as it arrives from the engine."""

    index: int
    text: str = ""
    picks: list[Pick] = field(default_factory=list)
    done: Done | None = None
    margin_probe: LabelMargin | None = None


def logprobs_body(tokenizer: Any, picks: list[Pick], top: int) -> dict[str, Any]:
    def entry(token: int, logprob: float) -> dict[str, Any]:
        text = tokenizer.decode([token])
        return {"token": text, "logprob": logprob, "bytes": list(text.encode("utf-8"))}

    return {
        "content": [
            {**entry(p.token, p.logprob), "top_logprobs": [entry(t, lp) for t, lp in p.top[:top]]}
            for p in picks
        ],
        "refusal": None,
    }


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def finish_reason(state: ChoiceState, calls: list[dict[str, Any]]) -> str:
    assert state.done is not None
    if calls:
        return "tool_calls"
    # error and cancelled are said as such: a failed choice must not read as a finished one
    return state.done.finish_reason


def served_json(served: ServedModel) -> dict[str, Any]:
    return {
        "run_id": served.run_id,
        "registry_name": served.registry_name,
        "registry_version": served.registry_version,
    }

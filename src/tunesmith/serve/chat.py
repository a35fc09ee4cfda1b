"""One chat completion request: prompt, sequences for the engine, and the answer's shape."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from tunesmith.models.tokenize import tokenize_prompts
from tunesmith.serve.catalog import ServedModel
from tunesmith.serve.confidence import LabelMargin
from tunesmith.serve.engine import Done
from tunesmith.serve.sampling import Pick, SamplingParams
from tunesmith.serve.schemas import ChatRequest, NamedToolChoice, Tool

_TOOL_CALL = re.compile(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", re.DOTALL)


class RequestError(ValueError):
    """A request the server refuses (400); `param` names the offending field."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


def tool_instructions(tools: list[Tool]) -> str:
    listed = json.dumps([t.function.model_dump(exclude_none=True) for t in tools])
    return (
        "You can call functions. To call one, answer with only "
        '<tool_call>{"name": <function name>, "arguments": <arguments object>}</tool_call>.'
        f"\nFunctions: {listed}"
    )


def chat_messages(request: ChatRequest) -> list[dict[str, str]]:
    """The conversation as the chat template takes it; tools are described in the system turn."""
    messages: list[dict[str, str]] = []
    for message in request.messages:
        role = "system" if message.role == "developer" else message.role
        content = message.text()
        for call in message.tool_calls or []:
            try:
                arguments = json.loads(call.function.arguments)
            except json.JSONDecodeError:
                raise RequestError(
                    f"tool call {call.id}: function.arguments is not JSON", "messages"
                ) from None
            body = {"name": call.function.name, "arguments": arguments}
            content += f"<tool_call>{json.dumps(body)}</tool_call>"
        if role == "tool":
            content = f"[result of {message.tool_call_id}] {content}"
        messages.append({"role": role, "content": content})
    if request.tools and request.tool_choice != "none":
        instructions = tool_instructions(request.tools)
        if messages[0]["role"] == "system":
            messages[0] = {"role": "system", "content": f"{messages[0]['content']}\n{instructions}"}
        else:
            messages.insert(0, {"role": "system", "content": instructions})
    return messages


def forced_tool(request: ChatRequest) -> tuple[bool, str | None]:
    """Whether a call is required and, when a function is named, which one."""
    if isinstance(request.tool_choice, NamedToolChoice):
        return True, request.tool_choice.function.name
    return request.tool_choice == "required", None


def parse_tool_calls(text: str, request: ChatRequest, forced: bool) -> list[dict[str, Any]]:
    """Calls in the answer: the whole (constrained) answer when a call was forced, else tagged."""
    if not request.tools or request.tool_choice == "none":
        return []
    names = {t.function.name for t in request.tools}
    bodies = [text] if forced else _TOOL_CALL.findall(text)
    calls = []
    for body in bodies:
        try:
            call = json.loads(body)
        except json.JSONDecodeError:
            continue
        if isinstance(call, dict) and call.get("name") in names:
            calls.append(
                {
                    "id": f"call_{uuid.uuid4().hex[:24]}",
                    "type": "function",
                    "function": {
                        "name": call["name"],
                        "arguments": json.dumps(call.get("arguments", {})),
                    },
                }
            )
    return calls[:1] if request.parallel_tool_calls is False else calls


def prompt_ids(tokenizer: Any, request: ChatRequest, limit: int) -> list[int]:
    ids = tokenize_prompts(tokenizer, [chat_messages(request)])[0]
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

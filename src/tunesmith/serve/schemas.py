"""Request and response bodies in the shapes of OpenAI's chat completions API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Body(BaseModel):
    # unknown fields are refused by name, not silently ignored
    model_config = ConfigDict(extra="forbid")


class ContentPart(_Body):
    type: Literal["text"] = Field(description="Only text parts; images are not served.")
    text: str = Field(description="The text of this part.")


class FunctionCall(_Body):
    name: str = Field(description="Function called.")
    arguments: str = Field(description="Its arguments, a JSON object as a string.")


class ToolCall(_Body):
    id: str = Field(description="Id the tool result refers back to.")
    type: Literal["function"] = Field(default="function", description="Always 'function'.")
    function: FunctionCall = Field(description="The call.")


class Message(_Body):
    role: Literal["system", "developer", "user", "assistant", "tool"] = Field(
        description="Who speaks."
    )
    content: str | list[ContentPart] | None = Field(default=None, description="What is said.")
    name: str | None = Field(default=None, description="Optional speaker name.")
    tool_calls: list[ToolCall] | None = Field(
        default=None, description="Calls an assistant turn made."
    )
    tool_call_id: str | None = Field(default=None, description="The call a tool turn answers.")

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""

    @model_validator(mode="after")
    def _tool_turns_name_their_call(self) -> Message:
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a tool message needs tool_call_id")
        return self


class FunctionDef(_Body):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Function name.")
    description: str | None = Field(default=None, description="What it does.")
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="JSON Schema of the arguments object.",
    )
    strict: bool | None = Field(default=None, description="Accepted; calls are always checked.")


class Tool(_Body):
    type: Literal["function"] = Field(description="Only function tools.")
    function: FunctionDef = Field(description="The function.")


class NamedChoice(_Body):
    name: str = Field(description="The function that must be called.")


class NamedToolChoice(_Body):
    type: Literal["function"] = Field(description="Always 'function'.")
    function: NamedChoice = Field(description="Which one.")


class JsonSchemaFormat(_Body):
    name: str = Field(description="Name of the schema.")
    schema_: dict[str, Any] = Field(alias="schema", description="The JSON Schema.")
    description: str | None = Field(default=None, description="What the output is.")
    strict: bool | None = Field(
        default=None, description="Accepted; output follows the schema unless cut by max_tokens."
    )


class ResponseFormat(_Body):
    type: Literal["text", "json_object", "json_schema"] = Field(description="Output constraint.")
    json_schema: JsonSchemaFormat | None = Field(default=None, description="For json_schema.")

    @model_validator(mode="after")
    def _schema_given(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("response_format.type 'json_schema' needs response_format.json_schema")
        return self


class StreamOptions(_Body):
    include_usage: bool = Field(default=False, description="A last chunk carries usage.")


class RetrievalOptions(_Body):
    enabled: bool = Field(default=True, description="Answer from the knowledge base.")
    top_k: int | None = Field(default=None, ge=1, le=20, description="Chunks in the prompt.")


class ChatRequest(_Body):
    model: str = Field(description="Base, run id, or registry reference (name/3, name@alias).")
    messages: list[Message] = Field(min_length=1, description="The conversation so far.")
    max_tokens: int | None = Field(default=None, ge=1, description="Deprecated name of the next.")
    max_completion_tokens: int | None = Field(default=None, ge=1, description="New tokens cap.")
    temperature: float = Field(default=1.0, ge=0, le=2, description="0 is greedy.")
    top_p: float = Field(default=1.0, gt=0, le=1, description="Nucleus sampling mass.")
    seed: int | None = Field(default=None, description="Same seed, same sample.")
    stop: str | list[str] | None = Field(default=None, description="Up to 4 stop strings.")
    n: int = Field(default=1, ge=1, description="Choices to generate.")
    stream: bool = Field(default=False, description="Server-sent event chunks.")
    stream_options: StreamOptions | None = Field(default=None, description="Streaming options.")
    logprobs: bool = Field(default=False, description="Return token log-probabilities.")
    top_logprobs: int | None = Field(default=None, ge=0, le=20, description="Alternatives/token.")
    response_format: ResponseFormat | None = Field(default=None, description="Output format.")
    tools: list[Tool] | None = Field(default=None, description="Functions the model may call.")
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = Field(
        default=None, description="Whether and which function must be called."
    )
    parallel_tool_calls: bool | None = Field(default=None, description="At most one call is made.")
    user: str | None = Field(
        default=None,
        max_length=256,
        description="End user whose memory the call reads and writes (memory:, a key's tenant).",
    )
    frequency_penalty: float | None = Field(default=None, description="Only 0 is supported.")
    presence_penalty: float | None = Field(default=None, description="Only 0 is supported.")
    # an extension (the openai client sends it with extra_body): sources and citations
    retrieval: RetrievalOptions | None = Field(
        default=None, description="Answer from the knowledge base the key's groups may read."
    )

    @field_validator("stop")
    @classmethod
    def _few_stops(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > 4:
            raise ValueError("at most 4 stop strings")
        if value == "" or (isinstance(value, list) and "" in value):
            raise ValueError("a stop string cannot be empty")
        return value

    @field_validator("frequency_penalty", "presence_penalty")
    @classmethod
    def _no_penalty(cls, value: float | None) -> float | None:
        if value not in (None, 0, 0.0):
            raise ValueError("penalties are not supported; send 0 or omit the field")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ChatRequest:
        if self.top_logprobs and not self.logprobs:
            raise ValueError("top_logprobs needs logprobs: true")
        if self.tool_choice not in (None, "none") and not self.tools:
            raise ValueError("tool_choice needs tools")
        if isinstance(self.tool_choice, NamedToolChoice):
            names = [t.function.name for t in self.tools or []]
            if self.tool_choice.function.name not in names:
                raise ValueError(
                    f"tool_choice names '{self.tool_choice.function.name}', not in tools"
                )
        return self

    def with_system_note(self, note: str) -> ChatRequest:
        """The request with `note` after its system (or developer) turn, or as a new first
        system turn: how sources, memories and a workflow's earlier outputs reach the model."""
        messages = list(self.messages)
        if messages and messages[0].role in ("system", "developer"):
            first = messages[0]
            messages[0] = first.model_copy(update={"content": f"{first.text()}\n\n{note}"})
        else:
            messages.insert(0, Message(role="system", content=note))
        return self.model_copy(update={"messages": messages})

    def stops(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)


class EmbeddingRequest(_Body):
    model: str = Field(description="The served embedding model (knowledge.embedding.model).")
    input: str | list[str] = Field(description="A text or a list of texts (not token arrays).")
    encoding_format: Literal["float", "base64"] = Field(
        default="float", description="Lists of floats, or base64 of little-endian float32."
    )
    dimensions: int | None = Field(
        default=None, ge=1, description="Only the model's own width is served."
    )
    user: str | None = Field(default=None, description="End-user id (not stored).")

    @field_validator("input")
    @classmethod
    def _some_text(cls, value: str | list[str]) -> str | list[str]:
        texts = [value] if isinstance(value, str) else value
        if not texts or len(texts) > 2048:
            raise ValueError("input must hold 1 to 2048 texts")
        if any(not text for text in texts):
            raise ValueError("input cannot hold an empty string")
        return value


class RatingRequest(_Body):
    id: str = Field(description="The completion's id, as returned by /v1/chat/completions.")
    rating: Literal["up", "down"] = Field(description="The caller's verdict on the answer.")
    comment: str | None = Field(default=None, max_length=2000, description="Why, in words.")


def error_body(message: str, kind: str, param: str | None = None, code: str | None = None) -> dict:
    """OpenAI's error object."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def internal_error(request_id: str) -> str:
    """What a client hears of a failure on the server: no exception text, an id to quote."""
    return f"the server could not answer this request (request id {request_id})"

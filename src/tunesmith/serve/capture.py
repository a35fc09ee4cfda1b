"""Every call, answered or failed, stored before its response leaves the server."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import jsonschema
from sqlalchemy.engine import Engine

from tunesmith.store.clock import utc_timestamp
from tunesmith.store.db import interactions


@dataclass(frozen=True)
class Interaction:
    key_name: str
    model: str
    served: dict[str, Any]
    messages: list[dict[str, str]]
    choices: list[dict[str, Any]]
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    ttft_ms: float | None
    mean_logprob: float | None
    label: str | None
    label_margin: float | None
    stream: bool
    # the json_schema the caller asked for, checked again on the stored answer
    response_schema: dict[str, Any] | None = None
    # a classification answer is expected to start with a label
    expects_label: bool = False
    # placeholders the answer held that the request never had (the model made them up)
    invented_placeholders: int = 0
    # the knowledge chunks given to the model (ids, scores, index version); None: no retrieval
    retrieval: dict[str, Any] | None = None
    # the tools the request offered, as OpenAI dicts: schemas, not personal data (not masked)
    tools: list[dict[str, Any]] | None = None
    # a workflow's steps: which adapter did what (label, fields, call names), skipped or not
    trace: list[dict[str, Any]] | None = None
    # the user's memories given to the model (ids, kinds, scores); None: no memory
    memory: dict[str, Any] | None = None


def _schema_invalid(text: str, schema: dict[str, Any]) -> bool:
    try:
        jsonschema.validate(json.loads(text), schema)
    except (ValueError, jsonschema.ValidationError, jsonschema.SchemaError):
        return True
    return False


class Recorder:
    """Writes interactions to the state store, masking personal data first when asked."""

    def __init__(self, engine: Engine, masker: Any | None) -> None:
        self.engine = engine
        self.masker = masker

    def _mask(self, text: str, found: list[str] | None = None) -> str:
        if self.masker is None or not text:
            return text
        masked, findings = self.masker.mask({"text": text})
        if found is not None:
            found.extend(findings)
        return masked["text"]

    def _mask_calls(self, choice: dict[str, Any]) -> list[dict[str, Any]] | None:
        calls = choice.get("tool_calls")
        if not calls:
            return calls
        return [
            {
                **c,
                "function": {**c["function"], "arguments": self._mask(c["function"]["arguments"])},
            }
            for c in calls
        ]

    def _mask_leaves(self, value: Any) -> Any:
        """Every string in a JSON value masked (extracted fields are the caller's data)."""
        if isinstance(value, str):
            return self._mask(value)
        if isinstance(value, list):
            return [self._mask_leaves(v) for v in value]
        if isinstance(value, dict):
            return {k: self._mask_leaves(v) for k, v in value.items()}
        return value

    def record(self, row_id: str, item: Interaction) -> None:
        """Commit one interaction under the completion's id; durable when this returns."""
        messages = [
            {**m, "content": self._mask(m.get("content", "")), "tool_calls": self._mask_calls(m)}
            for m in item.messages
        ]
        in_output: list[str] = []
        choices = [
            {
                **c,
                "text": self._mask(c.get("text", ""), in_output),
                "tool_calls": self._mask_calls(c),
            }
            | ({"error": self._mask(c["error"])} if c.get("error") else {})
            for c in item.choices
        ]
        flags = []
        schema = item.response_schema
        if schema is not None and any(
            _schema_invalid(c.get("text", ""), schema) for c in item.choices
        ):
            flags.append("schema_invalid")
        if in_output:
            flags.append("pii_in_output")
        if item.expects_label and item.label is None:
            flags.append("no_label")
        if item.invented_placeholders:
            flags.append("invented_placeholder")
        with self.engine.begin() as conn:
            conn.execute(
                interactions.insert().values(
                    id=row_id,
                    created_at=utc_timestamp(timespec="milliseconds"),
                    key_name=item.key_name,
                    model=item.model,
                    run_id=item.served.get("run_id"),
                    registry_name=item.served.get("registry_name"),
                    registry_version=item.served.get("registry_version"),
                    messages=messages,
                    choices=choices,
                    finish_reason=item.finish_reason,
                    prompt_tokens=item.prompt_tokens,
                    completion_tokens=item.completion_tokens,
                    latency_ms=item.latency_ms,
                    ttft_ms=item.ttft_ms,
                    mean_logprob=item.mean_logprob,
                    label=item.label,
                    label_margin=item.label_margin,
                    pii_masked=self.masker is not None,
                    stream=item.stream,
                    flags=flags,
                    retrieval=item.retrieval,
                    tools=item.tools or None,
                    trace=[
                        {**t, "fields": self._mask_leaves(t["fields"])} if "fields" in t else t
                        for t in item.trace
                    ]
                    if item.trace is not None
                    else None,
                    memory=item.memory,
                )
            )

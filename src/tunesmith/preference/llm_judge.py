"""An LLM judge: which of two answers is better, asked of any OpenAI-compatible endpoint.

Each pair is judged twice with the answers swapped; only a winner both orders agree on counts,
so a judge that prefers whatever comes first (position bias) yields ties, not false wins.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import jsonschema
import openai

from tunesmith.config.align import JudgeConfig
from tunesmith.config.serve import ServeConfig

Winner = Literal["a", "b", "tie"]
REASON_CHARS = 200
_TRUNCATED = re.compile(r'^\s*\{\s*"better"\s*:\s*"(A|B|tie)"\s*,\s*"reason"\s*:\s*"[^"]*$')
VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        # the decision comes first: a verdict cut off by max_tokens has at least decided
        "better": {"enum": ["A", "B", "tie"]},
        "reason": {"type": "string", "maxLength": REASON_CHARS},
    },
    "required": ["better", "reason"],
    "additionalProperties": False,
}
RESPONSE_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {"name": "verdict", "schema": VERDICT_SCHEMA},
}
INSTRUCTIONS = (
    "You are a strict judge. Two answers were written for the same task; decide which one "
    "follows the constitution below better. Judge only by the constitution: not by which "
    "answer comes first, nor by length.\n\nConstitution:\n{constitution}\n\n"
    'Reply with only a JSON object: {{"better": "A" | "B" | "tie", "reason": "<why, in at '
    'most {chars} characters>"}}.'
)


class JudgeError(ValueError):
    """The judge cannot be asked: no key, or an endpoint unreachable or answering an error."""


@dataclass(frozen=True)
class Verdict:
    """The combined verdict on one pair, with both orders' verdicts (None: unusable)."""

    winner: Winner
    first: dict[str, str] | None  # answer a shown as "A"
    second: dict[str, str] | None  # answer b shown as "A"; its labels are the swapped ones
    consistent: bool  # both orders usable and pointing at the same answer (or both tie)
    texts: tuple[str, str] = ("", "")  # what the judge wrote in each order, kept for audit


def judge_client(
    settings: JudgeConfig,
    serve: ServeConfig,
    http_client: httpx.Client | None = None,
    max_retries: int = 1,
) -> openai.OpenAI:
    """An OpenAI client for the judge's endpoint (default: the local `tunesmith serve`)."""
    # a server bound to every interface is reached on loopback
    host = "127.0.0.1" if serve.host in ("0.0.0.0", "::", "") else serve.host
    base_url = settings.base_url or f"http://{host}:{serve.port}/v1"
    key = os.environ.get(settings.api_key_env, "").strip()
    if not key:
        raise JudgeError(
            f"the LLM judge needs an API key for {base_url} in the environment variable "
            f"{settings.api_key_env}, which is unset or empty"
        )
    # one retry rides out a blip; more would multiply a dead endpoint's wait per pair
    return openai.OpenAI(
        base_url=base_url,
        api_key=key,
        timeout=settings.timeout_seconds,
        max_retries=max_retries,
        http_client=http_client,
    )


def _label(better: str | None, swapped: bool) -> Winner:
    if better == "A":
        return "b" if swapped else "a"
    if better == "B":
        return "a" if swapped else "b"
    return "tie"


def combine(first: str | None, second_swapped: str | None) -> Winner:
    """Winner from the verdict in order (a, b) and the one in order (b, a), both as written."""
    one, two = _label(first, False), _label(second_swapped, True)
    return one if one == two else "tie"


def _render(messages: list[dict[str, str]]) -> str:
    return "\n".join(f"[{m.get('role', 'user')}] {m.get('content') or ''}" for m in messages)


def judge_messages(
    settings: JudgeConfig, prompt: list[dict[str, str]], answer_a: str, answer_b: str
) -> list[dict[str, str]]:
    """The judge's conversation: the constitution, then the task and both answers."""
    system = INSTRUCTIONS.format(constitution=settings.constitution, chars=REASON_CHARS)
    user = (
        f"The task:\n<task>\n{_render(prompt)}\n</task>\n\n"
        f"Answer A:\n<answer_a>\n{answer_a}\n</answer_a>\n\n"
        f"Answer B:\n<answer_b>\n{answer_b}\n</answer_b>\n\n"
        "Which answer is better under the constitution?"
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def parse_verdict(text: str | None) -> dict[str, str] | None:
    """The verdict as a dict when it parses and validates against the schema, else None."""
    try:
        verdict = json.loads(text or "")
        jsonschema.validate(verdict, VERDICT_SCHEMA)
    except (ValueError, jsonschema.ValidationError):
        # a grammar-constrained verdict cut off by max_tokens still opens with its decision
        cut = _TRUNCATED.match(text or "")
        return {"better": cut.group(1), "reason": ""} if cut else None
    return verdict


def _ask(client: openai.OpenAI, settings: JudgeConfig, messages: list[dict[str, str]]) -> str:
    url = str(client.base_url).rstrip("/")
    try:
        done = client.chat.completions.create(
            model=settings.model,
            messages=messages,  # type: ignore[arg-type]
            temperature=0,
            max_tokens=settings.max_tokens,
            response_format=RESPONSE_FORMAT,  # type: ignore[arg-type]
        )
    except openai.APIConnectionError as err:
        # the transport's own error says why ("Connection refused", a timeout); openai's doesn't
        why = str(err.__cause__ or "") or str(err)
        raise JudgeError(f"the LLM judge at {url} cannot be reached: {why}") from err
    except openai.APIStatusError as err:
        raise JudgeError(
            f"the LLM judge at {url} answered HTTP {err.status_code}: {err.message}"
        ) from err
    # an answer without choices or text is a bad verdict, not a broken endpoint
    return (done.choices[0].message.content or "") if done.choices else ""


def compare(
    client: openai.OpenAI,
    settings: JudgeConfig,
    prompt: list[dict[str, str]],
    answer_a: str,
    answer_b: str,
) -> Verdict:
    """Judge a against b in both orders; a winner only when both orders agree."""
    text_1 = _ask(client, settings, judge_messages(settings, prompt, answer_a, answer_b))
    text_2 = _ask(client, settings, judge_messages(settings, prompt, answer_b, answer_a))
    first, second = parse_verdict(text_1), parse_verdict(text_2)
    better_1 = first["better"] if first else None
    better_2 = second["better"] if second else None
    consistent = (
        first is not None
        and second is not None
        and _label(better_1, False) == _label(better_2, True)
    )
    return Verdict(combine(better_1, better_2), first, second, consistent, (text_1, text_2))


def _answer(messages: list[dict[str, str]]) -> str:
    return "\n".join(m.get("content") or "" for m in messages)


def agreement(
    client: openai.OpenAI,
    settings: JudgeConfig,
    pairs: list[dict[str, Any]],
    on_pair: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """How often the judge agrees with the humans' chosen-over-rejected decisions."""
    counts = {"a": 0, "b": 0, "tie": 0}
    consistent = 0
    for pair in pairs:
        verdict = compare(
            client, settings, pair["prompt"], _answer(pair["chosen"]), _answer(pair["rejected"])
        )
        counts[verdict.winner] += 1
        consistent += verdict.consistent
        if on_pair is not None:
            on_pair()
    n = len(pairs)
    decided = counts["a"] + counts["b"]
    return {
        "pairs": n,
        "agree": counts["a"] / n if n else 0.0,
        "disagree": counts["b"] / n if n else 0.0,
        "tie": counts["tie"] / n if n else 0.0,
        "consistent": consistent / n if n else 0.0,
        "agreement_decided": counts["a"] / decided if decided else None,
    }

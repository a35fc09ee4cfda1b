"""Multi-step tool episodes: the model calls simulated tools until it answers in text, and a
task succeeds only when the back end's end state is the expected one (tau-bench's criterion).

The back end is the workspace's own Python module (`eval.tool_backend`) with
`run_tool(state, name, arguments) -> str`, which acts on the task's state and returns the
result the model reads (errors included: a timeout, a 4xx with a message, injected by the
task's state), and `outcome(state) -> dict`, the part of the state that decides success.
Every open episode takes its next turn in one batch.
"""

from __future__ import annotations

import copy
import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunesmith.config import EvalConfig
from tunesmith.data.rows import EvalInputError
from tunesmith.models.generate import generate
from tunesmith.models.grammar import ToolGrammars
from tunesmith.models.tokenize import tokenize_prompts
from tunesmith.models.tools import functions, openai_tool_calls, parse_answer

EPISODE_FIELDS = ("id", "tools", "messages", "state", "expected")


@dataclass(frozen=True)
class Backend:
    run_tool: Callable[[dict[str, Any], str, dict[str, Any]], str]
    outcome: Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class Episode:
    task: dict[str, Any]
    messages: list[dict[str, Any]]
    state: dict[str, Any]
    steps: int = 0
    calls: int = 0
    finished: bool = False


def load_backend(spec: str) -> Backend:
    """The module named by `eval.tool_backend`, checked for its two functions."""
    try:
        module = importlib.import_module(spec)
    except ImportError as err:
        raise EvalInputError(f"eval.tool_backend: cannot import '{spec}' ({err})") from None
    missing = [n for n in ("run_tool", "outcome") if not callable(getattr(module, n, None))]
    if missing:
        raise EvalInputError(f"eval.tool_backend: '{spec}' has no function {missing[0]}()")
    return Backend(module.run_tool, module.outcome)


def read_episodes(path: Path) -> list[dict[str, Any]]:
    """Every task of an episodes JSONL file; the first bad one stops with row and field."""
    if not path.is_file():
        raise EvalInputError(f"{path}: not found (eval.episodes)")
    tasks = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}: row {number}"
        try:
            task = json.loads(line)
        except json.JSONDecodeError as err:
            raise EvalInputError(f"{where}: not valid JSON ({err.msg})") from None
        missing = [f for f in EPISODE_FIELDS if not isinstance(task, dict) or f not in task]
        if missing:
            raise EvalInputError(f"{where}: field '{missing[0]}': missing")
        tasks.append(task)
    if not tasks:
        raise EvalInputError(f"{path}: no episodes")
    return tasks


def run_episodes(
    model: Any,
    tokenizer: Any,
    tasks: list[dict[str, Any]],
    backend: Backend,
    settings: EvalConfig,
    on_step: Callable[[int], None] | None = None,
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """episode_success, steps_per_task and calls_per_task, and one result per task."""
    grammars = ToolGrammars(model, tokenizer) if settings.constrain_tools else None
    episodes = [Episode(t, copy.deepcopy(t["messages"]), copy.deepcopy(t["state"])) for t in tasks]
    for _ in range(settings.max_episode_steps):
        open_ = [e for e in episodes if not e.finished]
        if not open_:
            break
        ids = tokenize_prompts(
            tokenizer, [e.messages for e in open_], [e.task["tools"] for e in open_]
        )
        compiled = (
            None if grammars is None else [grammars.for_tools(e.task["tools"]) for e in open_]
        )
        answers = generate(
            model, tokenizer, ids, settings.max_new_tokens, settings.batch_size, grammars=compiled
        )
        for episode, text in zip(open_, answers, strict=True):
            _take_turn(episode, text, backend)
        if on_step is not None:
            on_step(len(open_))
    results = []
    for e in episodes:
        # through JSON, as the expected outcome was stored: tuples read back as lists
        end = json.loads(json.dumps(backend.outcome(e.state), sort_keys=True, default=str))
        success = e.finished and end == e.task["expected"]
        results.append({"id": e.task["id"], "success": success, "steps": e.steps, "calls": e.calls})
    n = len(results)
    metrics = {
        "episode_success": sum(r["success"] for r in results) / n,
        "steps_per_task": sum(r["steps"] for r in results) / n,
        "calls_per_task": sum(r["calls"] for r in results) / n,
    }
    return metrics, results


def _take_turn(episode: Episode, text: str, backend: Backend) -> None:
    """The model's answer into the conversation; its calls run against the back end."""
    episode.steps += 1
    names = {f["name"] for f in functions(episode.task["tools"])}
    answer = parse_answer(text, names)
    if not answer.calls:
        episode.messages.append({"role": "assistant", "content": text})
        episode.finished = True
        return
    ids = [f"call_{episode.calls + i}" for i in range(len(answer.calls))]
    episode.messages.append(
        {
            "role": "assistant",
            "content": answer.content or None,
            "tool_calls": openai_tool_calls(answer.calls, ids),
        }
    )
    for call, call_id in zip(answer.calls, ids, strict=True):
        try:
            result = backend.run_tool(episode.state, call.name, call.arguments)
        except Exception as err:  # a back end's bug or a bad argument: the model reads it
            result = json.dumps({"error": {"message": f"{type(err).__name__}: {err}"}})
        episode.messages.append({"role": "tool", "tool_call_id": call_id, "content": result})
    episode.calls += len(answer.calls)

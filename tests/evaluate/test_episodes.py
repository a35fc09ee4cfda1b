"""Multi-step episodes: turns against a simulated back end, success by the end state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tunesmith.config import EvalConfig
from tunesmith.data.rows import EvalInputError
from tunesmith.evaluate.episodes import (
    Backend,
    Episode,
    _take_turn,
    load_backend,
    read_episodes,
    run_episodes,
)
from tunesmith.models.tools import Call

REFUND = {
    "type": "function",
    "function": {
        "name": "issue_refund",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}},
            "required": ["order_id", "amount"],
            "additionalProperties": False,
        },
    },
}


def run_tool(state: dict[str, Any], name: str, arguments: dict[str, Any]) -> str:
    if state["faults"]:
        state["faults"].pop()
        return json.dumps({"error": {"status": 504, "message": "timed out, try again"}})
    state["refunds"].append([arguments["order_id"], arguments["amount"]])
    return json.dumps({"refund_id": f"R{len(state['refunds'])}"})


def outcome(state: dict[str, Any]) -> dict[str, Any]:
    return {"refunds": sorted(state["refunds"])}


BACKEND = Backend(run_tool, outcome)
TASK = {
    "id": "t1",
    "tools": [REFUND],
    "messages": [{"role": "user", "content": "Refund 5 on ORD-1"}],
    "state": {"refunds": [], "faults": [{"kind": "timeout"}]},
    "expected": {"refunds": [["ORD-1", 5]]},
}


def test_a_call_runs_against_the_back_end_and_a_text_answer_ends_the_episode() -> None:
    episode = Episode(TASK, list(TASK["messages"]), json.loads(json.dumps(TASK["state"])))
    call = Call("issue_refund", {"order_id": "ORD-1", "amount": 5}).text()
    _take_turn(episode, call, BACKEND)  # times out
    _take_turn(episode, call, BACKEND)  # the retry lands
    assert episode.calls == 2 and not episode.finished
    assert [m["role"] for m in episode.messages] == ["user", "assistant", "tool"] * 1 + [
        "assistant",
        "tool",
    ]
    assert "timed out" in episode.messages[2]["content"]
    assert episode.messages[3]["tool_calls"][0]["id"] == "call_1"
    _take_turn(episode, "Refunded.", BACKEND)
    assert episode.finished and episode.steps == 3
    assert outcome(episode.state) == TASK["expected"]
    assert TASK["state"]["faults"], "the task's own state is never changed"


def test_a_back_end_that_raises_is_read_by_the_model_not_a_crash() -> None:
    episode = Episode(TASK, [], {"refunds": [], "faults": []})
    _take_turn(episode, Call("issue_refund", {"amount": 5}).text(), BACKEND)
    assert "KeyError" in episode.messages[-1]["content"]


def test_run_episodes_counts_steps_calls_and_judges_by_the_end_state(bpe_model_dir: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(bpe_model_dir)
    model = AutoModelForCausalLM.from_pretrained(bpe_model_dir)
    settings = EvalConfig(max_episode_steps=2, max_new_tokens=40, batch_size=2)
    metrics, results = run_episodes(
        model, tokenizer, [TASK, {**TASK, "id": "t2"}], BACKEND, settings
    )
    assert [r["id"] for r in results] == ["t1", "t2"]
    assert all(1 <= r["steps"] <= 2 for r in results)
    # success takes three turns (the timeout, the retry, the answer): two cannot reach it
    assert metrics["episode_success"] == 0.0
    assert metrics["steps_per_task"] == sum(r["steps"] for r in results) / 2


def test_episode_files_and_back_ends_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "episodes.jsonl"
    path.write_text(json.dumps(TASK) + "\n" + json.dumps({"id": "x", "tools": []}) + "\n")
    with pytest.raises(EvalInputError, match=r"row 2: field 'messages'"):
        read_episodes(path)
    with pytest.raises(EvalInputError, match="cannot import 'no_such_backend'"):
        load_backend("no_such_backend")
    with pytest.raises(EvalInputError, match="has no function run_tool"):
        load_backend("json")
    with pytest.raises(ValueError, match="go together"):
        EvalConfig(episodes="episodes.jsonl")

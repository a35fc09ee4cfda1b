from __future__ import annotations

import ast
import copy
import hashlib
import json
import random
from collections import Counter
from pathlib import Path

import jsonschema
import pytest

from tunesmith.examples import tool_backend
from tunesmith.examples.scaffold import EXAMPLES_DIR, create_workspace
from tunesmith.examples.support_tools import (
    CATEGORY_SHARES,
    SYSTEM_PROMPT,
    TOOLS,
    generate_episodes,
    generate_tool_records,
    new_state,
    outcome,
    run_tool,
    write_example,
)
from tunesmith.examples.tool_trajectories import trajectory

RECORDS = generate_tool_records(600, 0)
EPISODES = generate_episodes(60, 1)
SCHEMAS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}
MODULES = ["support_tools", "tool_backend", "tool_phrasing", "tool_trajectories", "tool_vocabulary"]


def _calls(message: dict) -> list[tuple[str, dict]]:
    return [
        (c["function"]["name"], json.loads(c["function"]["arguments"]))
        for c in message.get("tool_calls") or []
    ]


def _replay(episode: dict, calls: list[dict]) -> dict:
    state = copy.deepcopy(episode["state"])
    for call in calls:
        run_tool(state, call["name"], call["arguments"])
    return json.loads(json.dumps(outcome(state)))


def test_modules_are_leaves_importing_only_the_stdlib_and_each_other() -> None:
    for name in MODULES:
        tree = ast.parse((EXAMPLES_DIR / f"{name}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tunesmith"):
                assert (node.module or "").startswith("tunesmith.examples."), (name, node.module)
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("tunesmith") for a in node.names), name
        assert len((EXAMPLES_DIR / f"{name}.py").read_text().splitlines()) <= 300, name


def test_tools_are_strict_schemas() -> None:
    assert [t["function"]["name"] for t in TOOLS] == [
        "lookup_order", "issue_refund", "escalate", "update_address", "cancel_order",
    ]  # fmt: skip
    for tool in TOOLS:
        schema = tool["function"]["parameters"]
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["additionalProperties"] is False
        assert set(schema["required"]) == set(schema["properties"])
    # rendered into every prompt of a small model: 247 SmolLM2 tokens as tools_text's signatures
    assert len(json.dumps(TOOLS)) < 2000


def test_deterministic_per_seed_and_the_category_mix(tmp_path: Path) -> None:
    assert generate_tool_records(600, 0) == RECORDS
    assert generate_tool_records(50, 1) != generate_tool_records(50, 2)
    assert generate_episodes(60, 1) == EPISODES
    first = write_example(tmp_path / "a", n=120, seed=4)
    second = write_example(tmp_path / "b", n=120, seed=4)
    assert first.read_bytes() == second.read_bytes()
    assert (tmp_path / "a" / "tool_episodes.jsonl").read_bytes() == (
        tmp_path / "b" / "tool_episodes.jsonl"
    ).read_bytes()
    counts = Counter(r["category"] for r in RECORDS)
    assert counts == {c: round(600 * share) for c, share in CATEGORY_SHARES.items()}
    assert len({r["id"] for r in RECORDS}) == 600
    assert Counter(r["category"] for r in generate_tool_records(7, 0)).keys() <= set(counts)


def test_every_call_validates_and_every_result_answers_its_call() -> None:
    for record in RECORDS:
        messages, names = record["messages"], {t["function"]["name"] for t in record["tools"]}
        assert messages[0] == {"role": "system", "content": SYSTEM_PROMPT}
        assert messages[1]["role"] == "user" and messages[-1]["role"] == "assistant"
        open_ids: set[str] = set()
        for message in messages:
            for call in message.get("tool_calls") or []:
                assert call["type"] == "function" and call["id"].startswith("call_")
                name, args = call["function"]["name"], json.loads(call["function"]["arguments"])
                assert name in names
                jsonschema.validate(args, SCHEMAS[name])
                assert all(
                    v == v.strip() and "\n" not in v for v in args.values() if isinstance(v, str)
                )
                open_ids.add(call["id"])
            if message["role"] == "tool":
                assert message["tool_call_id"] in open_ids
                open_ids.discard(message["tool_call_id"])
        category, last = record["category"], messages[-1]
        if category == "multi_step":
            assert not open_ids and isinstance(last["content"], str) and "tool_calls" not in last
        elif category == "irrelevance":
            assert not any(m.get("tool_calls") for m in messages) and last["content"]
        else:
            calls = _calls(last)
            assert len(calls) >= 2 if category == "parallel" else len(calls) == 1
            assert len(messages) == 3
            if category == "simple":
                assert [t["function"]["name"] for t in record["tools"]] == [calls[0][0]]
            else:
                assert len(record["tools"]) == 5


def test_multi_step_results_come_from_run_tool() -> None:
    steps = [r for r in RECORDS if r["category"] == "multi_step"]
    results = [
        json.loads(m["content"]) for r in steps for m in r["messages"] if m["role"] == "tool"
    ]
    statuses = Counter(r.get("error", {}).get("status") for r in results)
    assert statuses[None] > 100 and statuses[504] > 5 and statuses[409] > 5
    assert statuses[404] > 0 and statuses[422] > 0
    for record in steps:
        messages, totals = record["messages"], {}
        for i, message in enumerate(messages):
            if message["role"] != "tool":
                continue
            result = json.loads(message["content"])
            if "total" in result:
                totals[result["order_id"]] = result["total"]
            if "refunded" in result and result["order_id"] in totals:  # never above the total
                assert result["refunded"] <= totals[result["order_id"]]
            if result.get("error", {}).get("status") == 504:
                assert _calls(messages[i + 1]) == _calls(messages[i - 1])  # the same call again
    rng = random.Random(5)
    for kind in ["status", "refund", "address", "cancel"] * 25:
        conv = trajectory(rng, kind, fault=rng.random() < 0.5, not_found=rng.random() < 0.2)
        state, results = copy.deepcopy(conv.initial), []
        for call in conv.gold:
            results.append(run_tool(state, call["name"], call["arguments"]))
        assert results == [m["content"] for m in conv.messages if m["role"] == "tool"]
        assert state == conv.state


def test_episodes_replay_to_expected_and_wrong_trajectories_fail() -> None:
    kinds = Counter(e["kind"] for e in EPISODES)
    assert set(kinds) == {"refund", "address", "cancel"}
    faulted = sum(bool(e["state"]["faults"]) for e in EPISODES)
    assert 0.2 * len(EPISODES) <= faulted <= 0.35 * len(EPISODES)
    for episode in EPISODES:
        assert [m["role"] for m in episode["messages"]] == ["system", "user"]
        assert episode["gold_calls"] == len(episode["gold"])
        assert _replay(episode, episode["gold"]) == episode["expected"]
        assert _replay(episode, []) != episode["expected"]
        wrong = copy.deepcopy(episode["gold"])
        for call in wrong:
            if call["name"] == "issue_refund":
                call["arguments"]["amount"] = round(call["arguments"]["amount"] - 1.0, 2)
            if call["name"] == "escalate":
                call["arguments"]["team"] = "technical"
            if call["name"] == "update_address":
                call["arguments"]["city"] = "Nowhere"
        if wrong != episode["gold"]:
            assert _replay(episode, wrong) != episode["expected"]


def test_faults_fire_once_and_errors_leave_the_state_alone() -> None:
    state = new_state(random.Random(0), 3)
    oid = sorted(state["orders"])[0]
    state["orders"][oid]["status"] = "processing"
    state["faults"].append({"tool": "cancel_order", "kind": "timeout"})
    before = outcome(state)
    first = json.loads(run_tool(state, "cancel_order", {"order_id": oid}))
    assert first == {"error": {"status": 504, "message": "cancel_order timed out, try again"}}
    assert outcome(state) == before and state["faults"] == []
    assert json.loads(run_tool(state, "cancel_order", {"order_id": oid}))["status"] == "cancelled"
    missing = json.loads(run_tool(state, "lookup_order", {"order_id": "ORD-000000"}))
    assert missing["error"] == {"status": 404, "message": "order ORD-000000 not found"}
    assert json.loads(run_tool(state, "lookup_order", {"order_id": "12"}))["error"]["status"] == 400
    address = {"street": "1 A St", "city": "Bath", "postcode": "BA1 1AA"}
    moved = json.loads(run_tool(state, "update_address", {"order_id": oid, **address}))
    assert moved["error"]["status"] == 409


@pytest.mark.parametrize(
    ("status", "refunded", "amount", "reason", "code"),
    [
        ("delivered", False, 10.0, "damaged", None), ("shipped", False, 10.0, "late", None),
        ("shipped", False, 10.0, "damaged", 409), ("processing", False, 10.0, "late", 409),
        ("delivered", True, 10.0, "damaged", 409), ("delivered", False, 10_000.0, "late", 422),
    ],
)  # fmt: skip
def test_refund_rules(status: str, refunded: bool, amount: float, reason: str, code: int) -> None:
    state = new_state(random.Random(1), 1)
    ((oid, order),) = state["orders"].items()
    order |= {"status": status, "refunded": refunded}
    arguments = {"order_id": oid, "amount": amount, "reason": reason}
    result = json.loads(run_tool(state, "issue_refund", arguments))
    assert result.get("error", {}).get("status") == code
    assert len(state["refunds"]) == (code is None)


def test_backend_module_has_the_episode_runners_functions() -> None:
    assert callable(tool_backend.run_tool) and callable(tool_backend.outcome)


def test_create_workspace(tmp_path: Path) -> None:
    workspace = create_workspace(tmp_path / "ws", "support-tools", rows=50)
    rows = (workspace / "raw" / "tool_conversations.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 50 and (workspace / "tunesmith.yaml").is_file()
    assert {json.loads(r)["category"] for r in rows} == set(CATEGORY_SHARES)
    assert (workspace / "raw" / "tool_episodes.jsonl").is_file()


def test_output_is_byte_identical_to_the_recorded_digests(tmp_path: Path) -> None:
    # any change to the word lists or to the order of random draws changes every data set,
    # test and benchmark built on the example: change these only on purpose
    conversations = write_example(tmp_path, n=600, seed=0)
    assert hashlib.sha256(conversations.read_bytes()).hexdigest() == (
        "1535c893194b04232e4c40d1f7f413baec8fc124c83c71344cb2f77eba9666ad"
    )
    assert hashlib.sha256((tmp_path / "tool_episodes.jsonl").read_bytes()).hexdigest() == (
        "6dfa6b1f174e9d46253746f98b686ca484d35ba71433eff9062787dc9240eea4"
    )


def test_a_trajectory_looks_an_order_up_only_for_the_amount_not_given() -> None:
    """The first call follows from the request, never from a coin: a single-turn record and a
    trajectory asking the same thing start with the same call."""
    rng = random.Random(5)
    for kind, action in (("address", "update_address"), ("cancel", "cancel_order")):
        for _ in range(30):
            conv = trajectory(rng, kind, fault=False)
            assert conv.gold[0]["name"] == action
    looked_up = direct = 0
    for _ in range(60):
        conv = trajectory(rng, "refund", fault=False)
        refund = next(c for c in conv.gold if c["name"] == "issue_refund")
        total = conv.state["orders"][refund["arguments"]["order_id"]]["total"]
        if conv.gold[0]["name"] == "lookup_order":  # the customer gave no amount
            looked_up += 1
            assert refund["arguments"]["amount"] == total
        else:
            direct += 1
    assert looked_up and direct

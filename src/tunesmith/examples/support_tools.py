"""The support-tools example: a support desk's five tools, their simulated back end, and
generated tool-use conversations for training, evaluation and live episodes.

Records are OpenAI chat conversations (`tools`, assistant `tool_calls` with JSON-string
arguments, `tool` results answering a `tool_call_id`) in the categories of the Berkeley
Function Calling Leaderboard: `simple` (only the right tool offered), `multiple` (all five),
`parallel` (two or three calls in one turn), `irrelevance` (no tool fits: a plain answer) and
`multi_step` (whole trajectories whose results come from `run_tool`, timeouts and 4xx
recoveries included). Everything is drawn from a seeded `random.Random`: the same seed gives
the same bytes.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

from tunesmith.examples.tool_backend import (
    SYSTEM_PROMPT,
    TOOL_NAMES,
    TOOLS,
    new_customer,
    new_state,
    order_id,
    outcome,
    run_tool,
)
from tunesmith.examples.tool_phrasing import Phrasing
from tunesmith.examples.tool_trajectories import generate_episodes, trajectory
from tunesmith.examples.tool_vocabulary import (
    IRRELEVANT,
    JOIN_THREE,
    JOIN_TWO,
    PRODUCTS,
    TWO_LOOKUPS,
)

__all__ = [
    "CATEGORY_SHARES",
    "SYSTEM_PROMPT",
    "TOOLS",
    "generate_episodes",
    "generate_tool_records",
    "new_state",
    "outcome",
    "run_tool",
    "write_example",
]

# choosing among all five tools (multiple, parallel) is where a small model errs most
CATEGORY_SHARES = {"simple": 0.15, "multiple": 0.28, "parallel": 0.20, "irrelevance": 0.12,
                   "multi_step": 0.25}  # fmt: skip
_CALL_WEIGHTS = {"lookup_order": 3, "issue_refund": 2, "escalate": 2, "update_address": 2,
                 "cancel_order": 2}  # fmt: skip
_TOOL_BY_NAME = dict(zip(TOOL_NAMES, TOOLS, strict=True))


def _quotas(n: int) -> list[str]:
    """Each category's share of `n` records, the remainders to the largest fractions."""
    exact = {c: n * share for c, share in CATEGORY_SHARES.items()}
    counts = {c: int(v) for c, v in exact.items()}
    for c in sorted(exact, key=lambda c: counts[c] - exact[c])[: n - sum(counts.values())]:
        counts[c] += 1
    return [c for c, k in counts.items() for _ in range(k)]


def _calls(calls: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    tool_calls = [
        {"id": f"call_{i}", "type": "function",
         "function": {"name": name, "arguments": json.dumps(args, ensure_ascii=False)}}
        for i, (name, args) in enumerate(calls, start=1)
    ]  # fmt: skip
    return {"role": "assistant", "content": None, "tool_calls": tool_calls}


def _turns(user: str, answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}, answer]


def _all_tools(rng: random.Random) -> list[dict[str, Any]]:
    return rng.sample(copy.deepcopy(TOOLS), len(TOOLS))  # the order varies per record


def _single(p: Phrasing, category: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    name = p.rng.choices(list(_CALL_WEIGHTS), weights=list(_CALL_WEIGHTS.values()))[0]
    text, args = p.request(name, order_id(p.rng))
    user = p.message(text, _customer(p))
    tools = [copy.deepcopy(_TOOL_BY_NAME[name])] if category == "simple" else _all_tools(p.rng)
    return tools, _turns(user, _calls([(name, args)]))


def _parallel(p: Phrasing) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng, roll = p.rng, p.rng.random()
    ids = [order_id(rng) for _ in range(3)]
    while len(set(ids)) < 3:
        ids = [order_id(rng) for _ in range(3)]
    if roll < 0.3:
        text = rng.choice(TWO_LOOKUPS).format(o1=p.ref(ids[0]), o2=p.ref(ids[1]))
        calls = [("lookup_order", {"order_id": oid}) for oid in ids[:2]]
    else:
        k = 3 if roll > 0.8 else 2
        names = rng.choices(list(_CALL_WEIGHTS), weights=[4, 1, 1, 1, 3], k=k)
        clauses, calls = [], []
        for name, oid in zip(names, ids, strict=False):
            clause, args = p.clause(name, oid)
            clauses.append(clause)
            calls.append((name, args))
        slots = dict(zip("abc", clauses, strict=False))
        text = rng.choice(JOIN_TWO if k == 2 else JOIN_THREE).format(
            A=clauses[0][0].upper() + clauses[0][1:], **slots
        )
    return _all_tools(rng), _turns(p.message(text, _customer(p)), _calls(calls))


def _irrelevant(p: Phrasing) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    requests, answers = p.rng.choice(IRRELEVANT)
    text = p.fill(requests, order=order_id(p.rng), product=p.rng.choice(PRODUCTS)[0])
    answer = {"role": "assistant", "content": p.rng.choice(answers)}
    return _all_tools(p.rng), _turns(p.message(text, _customer(p)), answer)


def _customer(p: Phrasing) -> dict[str, str]:
    return new_customer(p.rng)


_STEP_KINDS = ["status", "refund", "address", "cancel"]


def _multi_step(rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    kind = rng.choices(_STEP_KINDS, weights=[2, 4, 3, 3])[0]
    conv = trajectory(rng, kind, fault=rng.random() < 0.25, not_found=rng.random() < 0.12)
    return _all_tools(rng), conv.messages


def generate_tool_records(n: int, seed: int) -> list[dict[str, Any]]:
    """`n` conversations `{"id", "category", "tools", "messages"}`, the categories in
    `CATEGORY_SHARES` (shuffled); a single-turn record ends with its target assistant turn."""
    rng = random.Random(f"support-tools-{seed}")
    categories = _quotas(n)
    rng.shuffle(categories)
    p = Phrasing(rng)
    records = []
    for i, category in enumerate(categories):
        if category in ("simple", "multiple"):
            tools, messages = _single(p, category)
        elif category == "parallel":
            tools, messages = _parallel(p)
        elif category == "irrelevance":
            tools, messages = _irrelevant(p)
        else:
            tools, messages = _multi_step(rng)
        records.append({"id": f"tools-{i:05d}", "category": category, "tools": tools,
                        "messages": messages})  # fmt: skip
    return records


def _write_jsonl(rows: list[dict[str, Any]], path: Path) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_example(raw_dir: Path, n: int = 600, seed: int = 0, episodes: int | None = None) -> Path:
    """`raw/tool_conversations.jsonl` (`n` records) and `raw/tool_episodes.jsonl` (`episodes`
    tasks, default one per ten records, from another seed so no episode repeats a training
    conversation)."""
    episodes = max(1, n // 10) if episodes is None else episodes
    raw_dir.mkdir(parents=True, exist_ok=True)
    path = raw_dir / "tool_conversations.jsonl"
    _write_jsonl(generate_tool_records(n, seed), path)
    _write_jsonl(generate_episodes(episodes, seed + 1000), raw_dir / "tool_episodes.jsonl")
    return path

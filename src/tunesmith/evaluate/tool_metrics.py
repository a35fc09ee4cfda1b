"""Single-turn tool-call metrics, in the categories of the Berkeley Function Calling
Leaderboard: simple, multiple, parallel, irrelevance.

A call is right when its name and arguments match the reference's by value, not by text:
argument order is free, a parallel turn's calls match as a multiset, and types are checked
(`"5"` is not `5`, `true` is not `1`; an integer matches the same float).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from tunesmith.data.tool_checks import Problem, parse_tools
from tunesmith.models.tools import Answer, Call, functions, parse_answer


def same_value(predicted: Any, gold: Any) -> bool:
    if isinstance(predicted, bool) or isinstance(gold, bool):
        return type(predicted) is type(gold) and predicted == gold
    if isinstance(predicted, int | float) and isinstance(gold, int | float):
        return float(predicted) == float(gold)
    if isinstance(predicted, dict) and isinstance(gold, dict):
        return predicted.keys() == gold.keys() and all(
            same_value(predicted[k], gold[k]) for k in gold
        )
    if isinstance(predicted, list) and isinstance(gold, list):
        return len(predicted) == len(gold) and all(
            same_value(p, g) for p, g in zip(predicted, gold, strict=True)
        )
    return type(predicted) is type(gold) and predicted == gold


def same_calls(predicted: list[Call], gold: list[dict[str, Any]]) -> bool:
    """Whether the calls match the gold ones one to one, in any order."""
    if len(predicted) != len(gold):
        return False
    left = list(gold)
    for call in predicted:
        match = next(
            (
                g
                for g in left
                if g["name"] == call.name and same_value(call.arguments, g["arguments"])
            ),
            None,
        )
        if match is None:
            return False
        left.remove(match)
    return True


def schema_valid(call: Call, tools: list[dict[str, Any]]) -> bool:
    """Whether the call names one of `tools` and its arguments validate; the validators are
    curate's, compiled once per tool list."""
    toolset = parse_tools(json.dumps(tools), "tools")
    if isinstance(toolset, Problem) or call.name not in toolset.validators:
        return False
    return toolset.validators[call.name].is_valid(call.arguments)


def read_answers(tools: list[list[dict[str, Any]] | None], outputs: list[str]) -> list[Answer]:
    return [
        parse_answer(text, {f["name"] for f in functions(t or [])})
        for t, text in zip(tools, outputs, strict=True)
    ]


def row_outcome(tools: list[dict[str, Any]] | None, reference: str, output: str) -> dict[str, Any]:
    """One turn's result for predictions.jsonl: the function names wanted and called, the
    unreadable call blocks, and whether the turn was right; names only, never arguments
    (they carry customers' values)."""
    (answer,) = read_answers([tools], [output])
    gold = json.loads(reference)
    return {
        "gold_calls": [g["name"] for g in gold],
        "called": [c.name for c in answer.calls],
        "malformed": len(answer.malformed),
        "correct": same_calls(answer.calls, gold) and not answer.malformed,
    }


def tool_calling(
    tools: list[list[dict[str, Any]] | None], references: list[str], outputs: list[str]
) -> dict[str, float]:
    """call_accuracy (the turn right: its calls, or rightly none), name_accuracy and
    argument_exact (over turns that call), schema_valid_rate (over the calls made, a block
    that reads as no call counting against it), irrelevance_rate (over turns that must not)."""
    answers = read_answers(tools, outputs)
    right = names = exact = calling = no_call = abstained = made = valid = 0
    for answer, reference, listed in zip(answers, references, tools, strict=True):
        gold = json.loads(reference)
        matched = same_calls(answer.calls, gold)
        right += matched and not answer.malformed
        made += len(answer.calls) + len(answer.malformed)
        valid += sum(schema_valid(c, listed or []) for c in answer.calls)
        if gold:
            calling += 1
            names += Counter(c.name for c in answer.calls) == Counter(g["name"] for g in gold)
            exact += matched
        else:
            no_call += 1
            abstained += not answer.calls and not answer.malformed
    metrics = {"call_accuracy": right / len(answers) if answers else 0.0}
    if calling:
        metrics |= {"name_accuracy": names / calling, "argument_exact": exact / calling}
    metrics["schema_valid_rate"] = valid / made if made else 1.0
    if no_call:
        metrics["irrelevance_rate"] = abstained / no_call
    return metrics


def per_category(
    categories: list[str],
    tools: list[list[dict[str, Any]] | None],
    references: list[str],
    outputs: list[str],
) -> dict[str, dict[str, float]]:
    """The metrics of each category's rows, with their count as `rows`."""
    out = {}
    for category in sorted(set(categories)):
        index = [i for i, c in enumerate(categories) if c == category]
        metrics = tool_calling(
            [tools[i] for i in index], [references[i] for i in index], [outputs[i] for i in index]
        )
        out[category] = {"rows": float(len(index)), **metrics}
    return out

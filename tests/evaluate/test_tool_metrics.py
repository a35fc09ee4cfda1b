"""Tool-call metrics: AST matching, order-free and typed, per category."""

from __future__ import annotations

import json

from tunesmith.evaluate.tool_metrics import per_category, row_outcome, same_value, tool_calling
from tunesmith.models.tools import Call

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "issue_refund",
            "parameters": {
                "type": "object",
                "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}},
                "required": ["order_id", "amount"],
            },
        },
    },
    {"type": "function", "function": {"name": "lookup_order", "parameters": {"type": "object"}}},
]
REFUND = {"name": "issue_refund", "arguments": {"order_id": "ORD-1", "amount": 5}}


def gold(*calls: dict) -> str:
    return json.dumps(list(calls))


def test_values_match_by_type_and_value_not_text() -> None:
    assert same_value({"a": 5, "b": "x"}, {"b": "x", "a": 5.0})
    assert not same_value({"a": "5"}, {"a": 5})
    assert not same_value({"a": True}, {"a": 1})
    assert not same_value({"a": 1, "extra": 2}, {"a": 1})


def test_the_metrics_of_right_wrong_parallel_and_irrelevant_turns() -> None:
    right = Call("issue_refund", {"amount": 5.0, "order_id": "ORD-1"}).text()
    wrong_amount = Call("issue_refund", {"order_id": "ORD-1", "amount": "5"}).text()
    lookups = (
        Call("lookup_order", {"order_id": "B"}).text()
        + Call("lookup_order", {"order_id": "A"}).text()
    )
    rows = [
        (gold(REFUND), right),  # right
        (gold(REFUND), wrong_amount),  # right name, wrong argument type, schema-invalid
        (
            gold(
                {"name": "lookup_order", "arguments": {"order_id": "A"}},
                {"name": "lookup_order", "arguments": {"order_id": "B"}},
            ),
            lookups,  # parallel, other order: right
        ),
        (gold(), "We open at nine."),  # rightly no call
        (gold(), right),  # a call where none fits
    ]
    metrics = tool_calling([TOOLS] * 5, [r for r, _ in rows], [o for _, o in rows])
    assert metrics["call_accuracy"] == 3 / 5
    assert metrics["name_accuracy"] == 1.0
    assert metrics["argument_exact"] == 2 / 3
    assert metrics["irrelevance_rate"] == 1 / 2
    assert metrics["schema_valid_rate"] == 4 / 5  # five calls made, one invalid


def test_a_block_that_is_no_call_counts_against_validity() -> None:
    metrics = tool_calling([TOOLS], [gold(REFUND)], ["<tool_call>{broken"])
    assert metrics["schema_valid_rate"] == 0.0 and metrics["call_accuracy"] == 0.0


def test_per_category_counts_rows() -> None:
    right = Call("issue_refund", {"order_id": "ORD-1", "amount": 5}).text()
    table = per_category(
        ["simple", "irrelevance"], [TOOLS, TOOLS], [gold(REFUND), gold()], [right, "hello"]
    )
    assert table["simple"]["rows"] == 1 and table["simple"]["call_accuracy"] == 1.0
    assert (
        table["irrelevance"]["irrelevance_rate"] == 1.0
        and "name_accuracy" not in table["irrelevance"]
    )


def test_a_row_outcome_names_the_calls_but_never_their_arguments() -> None:
    wrong = Call("lookup_order", {"order_id": "ORD-1"}).text() + "<tool_call>{broken"
    outcome = row_outcome(TOOLS, gold(REFUND), wrong)
    assert outcome == {
        "gold_calls": ["issue_refund"],
        "called": ["lookup_order"],
        "malformed": 1,
        "correct": False,
    }
    assert "ORD-1" not in json.dumps(outcome)
    right = Call("issue_refund", {"order_id": "ORD-1", "amount": 5}).text()
    assert row_outcome(TOOLS, gold(REFUND), right)["correct"]

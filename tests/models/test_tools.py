"""The shared serialisation of tools and calls, its loss mask and its grammar."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from tunesmith.examples.tool_backend import TOOLS
from tunesmith.models.tokenize import IGNORE, encode, tokenize_prompts
from tunesmith.models.tools import (
    Call,
    ToolFormatError,
    native_tool_template,
    parse_answer,
    schema_text,
    signature,
    template_inputs,
    text_turns,
    tools_text,
)

LOOKUP = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "description": "Look up an order.",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string", "pattern": "^ORD-[0-9]{6}$"}},
            "required": ["order_id"],
            "additionalProperties": False,
        },
    },
}
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
RESULT = '{"status": "delivered", "total": 59.9, "customer": "Jane Roe"}'
CONVERSATION = [
    {"role": "system", "content": "You are the support desk."},
    {"role": "user", "content": "Refund ORD-123456 please"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_0",
                "type": "function",
                "function": {"name": "lookup_order", "arguments": '{"order_id": "ORD-123456"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_0", "content": RESULT},
    {"role": "assistant", "content": "Refunded 59.90."},
]


def test_plain_conversations_render_as_before() -> None:
    plain = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    assert template_inputs(object(), plain, None) == (plain, {})


def test_text_turns_put_tools_in_the_system_turn_calls_and_results_in_their_turns() -> None:
    turns = text_turns(CONVERSATION, [LOOKUP])
    assert turns[0]["content"].startswith("You are the support desk.")
    assert "\nlookup_order(order_id: string): Look up an order." in turns[0]["content"]
    assert turns[2] == {
        "role": "assistant",
        "content": '<tool_call>{"name": "lookup_order", "arguments": {"order_id": "ORD-123456"}}'
        "</tool_call>",
    }
    assert turns[3]["content"] == f'<tool_response name="lookup_order">{RESULT}</tool_response>'


def test_a_call_whose_arguments_are_not_json_names_the_message() -> None:
    bad = [
        {
            **CONVERSATION[2],
            "tool_calls": [{"id": "c", "function": {"name": "x", "arguments": "{"}}],
        }
    ]
    with pytest.raises(
        ToolFormatError, match=r"messages\[0\]\.tool_calls\[0\]\.function\.arguments"
    ):
        text_turns(bad, None)


def test_parse_answer_reads_tagged_calls_bare_calls_and_flags_the_rest() -> None:
    two = (
        Call("lookup_order", {"order_id": "A"}).text() + Call("issue_refund", {"amount": 1}).text()
    )
    answer = parse_answer("Let me check. " + two, {"lookup_order", "issue_refund"})
    assert [c.name for c in answer.calls] == ["lookup_order", "issue_refund"]
    assert answer.content == "Let me check."
    assert parse_answer('{"name": "lookup_order", "arguments": {}}').calls == [
        Call("lookup_order", {})
    ]
    unknown = parse_answer(Call("delete_all", {}).text(), {"lookup_order"})
    assert unknown.calls == [] and len(unknown.malformed) == 1
    assert parse_answer("<tool_call>{not json").malformed == ["{not json"]
    assert parse_answer("We open at nine.").calls == []


def test_the_loss_covers_calls_and_answers_never_results_or_the_tool_list(
    bpe_model_dir: Path,
) -> None:
    tokenizer = AutoTokenizer.from_pretrained(bpe_model_dir)
    assert not native_tool_template(tokenizer)
    encoded = encode(tokenizer, CONVERSATION, 2048, tools=[LOOKUP])
    assert encoded is not None
    learned = tokenizer.decode([t for t in encoded.labels if t != IGNORE])
    assert '<tool_call>{"name": "lookup_order"' in learned and "Refunded 59.90." in learned
    assert "Jane Roe" not in learned and "Look up an order." not in learned
    prompt = tokenize_prompts(tokenizer, [CONVERSATION[:-1]], [[LOOKUP]])[0]
    assert prompt == encoded.input_ids[: len(prompt)]  # served as it was trained


def test_a_native_tool_template_gets_the_openai_shape() -> None:
    class Native:
        chat_template = "{% for tool in tools %}{% endfor %}{{ message.tool_calls }}"

    messages, extra = template_inputs(Native(), CONVERSATION, [LOOKUP])
    assert extra == {"tools": [LOOKUP]}
    assert messages[2]["tool_calls"][0]["function"]["arguments"] == {"order_id": "ORD-123456"}


def test_grammar_constrained_generation_only_makes_valid_calls(bpe_model_dir: Path) -> None:
    """A random 2-layer model writes garbage; with at least one call required, the grammar
    still makes every answer a call of a listed tool whose arguments follow its schema."""
    from jsonschema import validate
    from transformers import AutoModelForCausalLM

    from tunesmith.models.generate import generate
    from tunesmith.models.grammar import ToolGrammars

    tokenizer = AutoTokenizer.from_pretrained(bpe_model_dir)
    model = AutoModelForCausalLM.from_pretrained(bpe_model_dir)
    tools = [LOOKUP, REFUND]
    prompts = [[{"role": "user", "content": f"order {i}"}] for i in range(3)]
    ids = tokenize_prompts(tokenizer, prompts, [tools] * 3)
    grammars = ToolGrammars(model, tokenizer)
    required = [grammars.for_tools(tools, required=True)] * 3
    answers = generate(model, tokenizer, ids, 120, batch_size=2, grammars=required)
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in tools}
    for text in answers:
        answer = parse_answer(text, set(schemas))
        assert answer.calls and not answer.malformed, text
        for call in answer.calls:
            validate(call.arguments, schemas[call.name])
    assert len(grammars._cache) == 1  # compiled once for the three prompts


def test_the_example_s_tool_results_carry_no_loss(bpe_model_dir: Path) -> None:
    from transformers import AutoTokenizer

    from tunesmith.examples.support_tools import generate_tool_records
    from tunesmith.models.tokenize import encode

    tokenizer = AutoTokenizer.from_pretrained(bpe_model_dir)
    record = next(r for r in generate_tool_records(40, 0) if r["category"] == "multi_step")
    encoded = encode(tokenizer, record["messages"], 4096, tools=record["tools"])
    assert encoded is not None
    learned = tokenizer.decode([t for t in encoded.labels if t != IGNORE])
    results = [m["content"] for m in record["messages"] if m["role"] == "tool"]
    assert results and all(r not in learned for r in results)
    assert "<tool_call>" in learned


def test_the_eval_grammar_keeps_the_schema_s_property_order(bpe_model_dir: Path) -> None:
    """Arguments are written in the order the tool's schema lists them, as in training."""
    import xgrammar as xgr
    from transformers import AutoModelForCausalLM

    from tunesmith.models.grammar import ToolGrammars

    tokenizer = AutoTokenizer.from_pretrained(bpe_model_dir)
    model = AutoModelForCausalLM.from_pretrained(bpe_model_dir)
    compiled = ToolGrammars(model, tokenizer).for_tools([REFUND])

    def accepts(text: str) -> bool:
        matcher = xgr.GrammarMatcher(compiled)
        return all(matcher.accept_token(t) for t in tokenizer(text)["input_ids"])

    assert accepts(Call("issue_refund", {"order_id": "A", "amount": 5}).text())
    assert not accepts(Call("issue_refund", {"amount": 5, "order_id": "A"}).text())


def test_signatures_render_types_enums_optionals_and_nesting() -> None:
    schema = {
        "type": "object",
        "properties": {
            "ids": {"type": "array", "items": {"type": "string"}},
            "mode": {"type": "string", "enum": ["fast", "safe"], "description": "How."},
            "limit": {"type": ["integer", "null"]},
            "where": {"type": "object", "properties": {"city": {"type": "string"}},
                      "required": ["city"]},
            "either": {"anyOf": [{"type": "number"}, {"type": "boolean"}]},
        },
        "required": ["ids", "mode"],
    }  # fmt: skip
    line = signature({"name": "find", "description": "Find things.", "parameters": schema})
    assert line == (
        'find(ids: string[], mode: "fast" | "safe" /* How. */, limit?: integer | null, '
        "where?: {city: string}, either?: number | boolean): Find things."
    )
    assert signature({"name": "ping"}) == "ping()"
    assert schema_text({"type": "array", "items": {"enum": [1, 2]}}) == "(1 | 2)[]"
    # the shared text is a third of the JSON schemas' length (tokens follow characters)
    assert len(tools_text(TOOLS)) < len(json.dumps([t["function"] for t in TOOLS])) * 0.75

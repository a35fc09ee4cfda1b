"""Masking a request as training data was masked, and putting the caller's values back."""

from __future__ import annotations

import json

import pytest

from tunesmith.config import PiiConfig
from tunesmith.data.pii import PiiMasker
from tunesmith.serve.pii_restore import (
    PLACEHOLDER,
    Maskers,
    Restorer,
    mask_messages,
    mask_request,
    restore,
)
from tunesmith.serve.schemas import ChatRequest

NAME, EMAIL = "Dana Whitfield", "dana.whitfield@example.org"


@pytest.fixture(scope="module")
def masker() -> PiiMasker:
    return PiiMasker(PiiConfig())


def _request() -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "Route the ticket to its queue, then reply."},
        {
            "role": "user",
            "content": f"Subject: refund\n\nHello, this is {NAME} ({EMAIL}). "
            "I was charged twice for my plan this month.",
        },
    ]


def test_the_model_sees_no_raw_value_and_the_mapping_holds_them(masker: PiiMasker) -> None:
    masked, values = mask_messages(masker, _request(), {})
    text = " ".join(m["content"] for m in masked)
    assert NAME not in text and "Whitfield" not in text and EMAIL not in text
    assert "<PERSON_1>" in text and "<EMAIL_ADDRESS_1>" in text
    assert values.values == {"<PERSON_1>": NAME, "<EMAIL_ADDRESS_1>": EMAIL}
    assert masked[0] == _request()[0]  # the operator's system prompt is not the caller's data


def test_answer_greets_the_caller_and_drops_an_invented_name(masker: PiiMasker) -> None:
    _, values = mask_messages(masker, _request(), {})
    answer = (
        "Queue: billing\n\nHi <PERSON_1>,\n\nWe wrote to <EMAIL_ADDRESS_1>.\n\nBest, <PERSON_2>"
    )
    restored = restore(answer, values)
    assert restored == f"Queue: billing\n\nHi {NAME},\n\nWe wrote to {EMAIL}.\n\nBest,"
    assert (values.restored, values.invented) == (2, 1)
    assert not PLACEHOLDER.search(restored)


def test_a_request_without_a_name_gets_no_name(masker: PiiMasker) -> None:
    messages = [{"role": "user", "content": "My parcel has not arrived yet, can you check?"}]
    masked, values = mask_messages(masker, messages, {"EMAIL_ADDRESS": "your e-mail address"})
    assert masked == messages and values.values == {}
    restored = restore("Hi <PERSON_1>, we wrote to <EMAIL_ADDRESS_1>.", values)
    assert restored == "Hi, we wrote to your e-mail address."
    assert values.invented == 2


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7])
def test_streamed_placeholders_split_across_chunks_are_held_back(
    masker: PiiMasker, size: int
) -> None:
    _, values = mask_messages(masker, _request(), {})
    answer = "Hi <PERSON_1>,\n\nthanks <PERSON_1>! Best regards, <PERSON_3> <ACCOUNT_ID_2>"
    restorer = Restorer(values)
    sent: list[str] = []
    for start in range(0, len(answer), size):
        sent.append(restorer.feed(answer[start : start + size]))
        assert "<PERSON" not in "".join(sent) and "<ACC" not in "".join(sent)
    sent.append(restorer.flush())
    assert "".join(sent) == f"Hi {NAME},\n\nthanks {NAME}! Best regards,"
    assert values.invented == 2


def test_text_that_only_looks_like_a_placeholder_start_is_sent_at_the_end() -> None:
    from tunesmith.serve.pii_restore import RequestValues

    restorer = Restorer(RequestValues())
    assert restorer.feed("a < b and <PERS") == "a < b and"
    assert restorer.feed("ONAL note> ok") == " <PERSONAL note> ok"
    assert restorer.feed(" <") == ""
    assert restorer.flush() == " <"


def test_history_call_arguments_are_masked_with_the_conversation(masker: PiiMasker) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "find_customer",
                "parameters": {
                    "type": "object",
                    "properties": {"email": {"type": "string"}, "tier": {"enum": ["gold"]}},
                },
            },
        }
    ]
    arguments = json.dumps({"email": EMAIL, "tier": "gold", "count": 2})
    call = {"id": "call_1", "type": "function", "function": {"name": "find_customer"}}
    messages = [
        *_request(),
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{**call, "function": {"name": "find_customer", "arguments": arguments}}],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": f'{{"name": "{NAME}"}}'},
    ]
    masked, values = mask_messages(masker, messages, {}, tools)
    shown = json.dumps(masked)
    assert EMAIL not in shown and NAME not in shown
    # one numbering across the conversation: the user's address and the argument's agree
    sent = json.loads(masked[2]["tool_calls"][0]["function"]["arguments"])
    assert sent == {"email": "<EMAIL_ADDRESS_1>", "tier": "gold", "count": 2}
    assert masked[2]["tool_calls"][0]["id"] == "call_1"
    assert values.values["<EMAIL_ADDRESS_1>"] == EMAIL
    untouched = [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {**call, "function": {"name": "find_customer", "arguments": '{"tier":"gold"}'}}
            ],
        }
    ]
    assert mask_messages(masker, untouched, {}, tools)[0] == untouched  # caller's JSON kept


def test_a_request_with_calls_reaches_the_model_masked() -> None:
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "content": f"I am {NAME}"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": json.dumps({"who": EMAIL})},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "found"},
        ],
    }
    request = ChatRequest.model_validate(body)
    masked, values = mask_request(Maskers(), request, PiiConfig(), {})
    call = masked.messages[1].tool_calls[0]
    assert (call.id, call.function.name) == ("call_1", "lookup")
    assert json.loads(call.function.arguments) == {"who": "<EMAIL_ADDRESS_1>"}
    assert masked.messages[0].content == "I am <PERSON_1>" and masked.messages[2].content == "found"
    assert values.values["<EMAIL_ADDRESS_1>"] == EMAIL

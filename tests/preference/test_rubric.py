from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunesmith.config import PiiConfig, TaskConfig
from tunesmith.config.align import RubricConfig
from tunesmith.preference.pairs import PreferenceInputError, read_pairs, split_pairs
from tunesmith.preference.rubric import count_sentences, pii_counter, score_answer

TASK = TaskConfig(
    type="classification",
    labels=["billing", "technical", "account", "shipping", "returns"],
    answer_prefix="Queue: ",
)
ONE_SENTENCE = RubricConfig(max_sentences=1)
LONG = (
    "Queue: billing\n\nHello <PERSON_1>,\n\nThank you for reaching out to our billing team. "
    "The duplicate charge has been reversed on our side.\n\nBest regards, <PERSON_2>"
)
SHORT = (
    "Queue: billing\n\nHi <PERSON_1>,\n\nOur billing team has reversed the charge."
    "\n\nRegards,\n<PERSON_2>"
)


@pytest.fixture(scope="module")
def count_pii() -> object:
    return pii_counter(PiiConfig())


def test_greetings_and_sign_offs_are_not_sentences() -> None:
    assert count_sentences("Hi Ana,\n\nThanks. It is fixed!\n\nKind regards,\nBo") == 2
    assert count_sentences("Is it fixed? Yes.\nRegards") == 2
    assert count_sentences("Hello,") == 0


def test_the_policy_prefers_the_short_answer_that_names_the_queue(count_pii: object) -> None:
    short = score_answer(SHORT, TASK, ONE_SENTENCE, "billing", count_pii)
    long = score_answer(LONG, TASK, ONE_SENTENCE, "billing", count_pii)
    assert short.compliant and not long.compliant
    assert short.score > long.score
    assert long.checks["length"] == 0.5  # two sentences where one is allowed: half marks
    assert short.checks == {"format": 1, "label": 1, "length": 1, "names_label": 1, "pii": 1}


def test_wrong_label_missing_queue_name_and_leaked_pii_each_cost_score(count_pii: object) -> None:
    wrong = score_answer(SHORT, TASK, ONE_SENTENCE, "shipping", count_pii)
    assert wrong.checks["label"] == 0 and wrong.compliant  # style is met, routing is not
    unnamed = score_answer(SHORT.replace("billing team", "team"), TASK, ONE_SENTENCE, "billing")
    assert unnamed.checks["names_label"] == 0 and not unnamed.compliant
    leak = SHORT.replace("Hi <PERSON_1>", "Hi Ana, write to ana.lopez@example.com")
    leaked = score_answer(leak, TASK, ONE_SENTENCE, "billing", count_pii)
    assert leaked.checks["pii"] == 0
    no_label = score_answer("I can help with that.", TASK, ONE_SENTENCE, "billing", count_pii)
    assert no_label.checks["format"] == 0 and no_label.label is None


def test_weights_choose_the_checks() -> None:
    only_length = RubricConfig(max_sentences=1, weights={"length": 1.0})
    assert score_answer(LONG, TASK, only_length, "billing").checks == {"length": 0.5}
    with pytest.raises(ValueError, match="positive weight"):
        RubricConfig(weights={"length": 0.0})


def _pair(prompt: str, chosen: str, rejected: str) -> dict:
    return {
        "prompt": [{"role": "system", "content": "Route."}, {"role": "user", "content": prompt}],
        "chosen": [{"role": "assistant", "content": chosen}],
        "rejected": [{"role": "assistant", "content": rejected}],
    }


def test_malformed_records_are_quarantined_with_file_line_and_reason(tmp_path: Path) -> None:
    good = _pair("Where is my parcel?", "Queue: shipping", "Queue: billing")
    tail_is_assistant = {**good, "prompt": [{"role": "assistant", "content": "hi"}]}
    lines = [
        json.dumps(good),
        json.dumps({k: v for k, v in good.items() if k != "chosen"}),
        json.dumps({**good, "rejected": good["chosen"]}),
        json.dumps({**good, "chosen": [{"role": "user", "content": "Queue: shipping"}]}),
        json.dumps({**good, "rejected": [{"role": "assistant", "content": "  "}]}),
        json.dumps(tail_is_assistant),
        "not json",
        "",
        json.dumps({**good, "meta": {"source": "review", "interaction_id": "chatcmpl-1"}}),
    ]
    path = tmp_path / "prefs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    pairs = read_pairs([path], tmp_path)
    reasons = {q["line"]: (q["reason"], q["field"]) for q in pairs.quarantined}
    assert reasons == {
        2: ("missing 'chosen'", "chosen"),
        3: ("chosen and rejected are identical", "chosen"),
        4: ("chosen[0] has role 'user'; an answer must be 'assistant'", "chosen[0].role"),
        5: ("rejected[0] has no text content", "rejected[0].content"),
        6: ("the prompt must end with a user (or tool) message", "prompt[0]"),
        7: (reasons[7][0], None),
    }
    assert reasons[7][0].startswith("bad JSON")
    assert pairs.counts == {"read": 8, "kept": 2, "quarantined": 6}  # the blank line is no record
    assert pairs.kept[1]["meta"]["interaction_id"] == "chatcmpl-1"
    assert pairs.kept[1]["meta"]["pair_source"] == "prefs.jsonl"
    assert pairs.sources["prefs.jsonl"]["lines"] == 8


def test_pairs_of_one_prompt_stay_on_one_side_of_the_split() -> None:
    pairs = [_pair(f"ticket {i % 20}", f"Queue: billing {i}", "Queue: returns") for i in range(60)]
    train, val = split_pairs(pairs, 0.25, seed=3)
    assert len(train) + len(val) == 60 and val
    prompts = lambda ps: {p["prompt"][-1]["content"] for p in ps}  # noqa: E731
    assert not prompts(train) & prompts(val)
    assert split_pairs(pairs, 0.25, seed=3) == (train, val)


def test_a_missing_or_empty_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PreferenceInputError, match="not found"):
        read_pairs([tmp_path / "none.jsonl"])
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(PreferenceInputError, match="no preference records"):
        read_pairs([tmp_path / "empty.jsonl"])

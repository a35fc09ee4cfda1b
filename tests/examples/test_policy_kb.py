from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from tunesmith.examples.policy_kb import GROUPS, generate_policy_kb, topics


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*.md")}


def _parse(path: Path) -> tuple[dict, dict[str, str]]:
    """Front matter and section heading -> section text."""
    text = path.read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert match is not None, path
    parts = re.split(r"^## (.+)$", text[match.end() :], flags=re.M)
    return yaml.safe_load(match.group(1)), dict(zip(parts[1::2], parts[2::2], strict=True))


def test_same_seed_same_bytes_and_facts_other_seed_differs(tmp_path: Path) -> None:
    first = generate_policy_kb(tmp_path / "a", 30, seed=5)
    second = generate_policy_kb(tmp_path / "b", 30, seed=5)
    other = generate_policy_kb(tmp_path / "c", 30, seed=6)
    assert first == second and first != other
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert _files(tmp_path / "a") != _files(tmp_path / "c")


@pytest.mark.parametrize("documents", [0, 1, 13, 60])
def test_writes_the_requested_number_of_documents(tmp_path: Path, documents: int) -> None:
    facts = generate_policy_kb(tmp_path, documents, seed=0)
    assert len(_files(tmp_path)) == documents
    assert {fact.doc for fact in facts} == set(_files(tmp_path))


def test_too_many_documents_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="documents must be between"):
        generate_policy_kb(tmp_path, 10**6, seed=0)


def test_every_value_sits_under_its_section_and_groups_are_in_front_matter(tmp_path: Path) -> None:
    facts = generate_policy_kb(tmp_path, 60, seed=1)
    assert len(facts) >= 60 * 8
    for fact in facts:
        meta, sections = _parse(tmp_path / fact.doc)
        assert fact.fact in sections[fact.section] and fact.value in fact.fact
        assert tuple(meta["groups"]) == fact.groups and meta["title"]
        assert fact.doc.split("/")[0] in fact.groups and list(fact.groups) == sorted(fact.groups)
    per_group = Counter(group for fact in facts for group in fact.groups)
    assert set(per_group) == set(GROUPS)


def test_each_question_has_one_gold_fact(tmp_path: Path) -> None:
    facts = generate_policy_kb(tmp_path, 200, seed=2)
    assert len({f.fact for f in facts}) == len(facts)
    assert len({f.question for f in facts}) == len(facts)
    assert len({f.question_heldout for f in facts}) == len(facts)
    values = Counter(f.value for f in facts)
    assert len(values) > 0.4 * len(facts) and max(values.values()) < 0.025 * len(facts)
    # where the range allows, an attribute's value is not reused by another office or subject
    notice = [f.value for f in facts if f.fact.startswith("The notice period for")]
    assert len(notice) > 30 and len(set(notice)) == len(notice)


def test_question_families_differ_and_do_not_give_the_answer(tmp_path: Path) -> None:
    for fact in generate_policy_kb(tmp_path, 60, seed=3):
        assert len({fact.question, fact.question_heldout, fact.fact}) == 3
        assert fact.value not in fact.question and fact.value not in fact.question_heldout
        assert fact.question.endswith("?") and fact.question_heldout.endswith("?")


def _trigrams(template: str) -> set[tuple[str, ...]]:
    # a slot breaks the text, so shared city or subject names are not shared wording
    grams: set[tuple[str, ...]] = set()
    for piece in re.split(r"\{\w+\}", template.lower()):
        words = re.findall(r"[\w']+", piece)
        grams |= {tuple(words[i : i + 3]) for i in range(len(words) - 2)}
    return grams


def test_family_b_templates_share_no_wording_with_family_a() -> None:
    templates = [t for topic in topics() for ts in topic.sections.values() for t in ts]
    assert len(templates) == sum(4 for _ in topics()) and len(topics()) >= 12
    for template in templates:
        shared = _trigrams(template.question) & _trigrams(template.question_heldout)
        assert not shared, (template.question, template.question_heldout, shared)
        assert "{subject_b}" in template.question_heldout
        assert "{subject_b}" not in template.question
    assert {topic.group for topic in topics()} == set(GROUPS)

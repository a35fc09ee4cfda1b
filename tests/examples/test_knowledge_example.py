"""The bundled support-tickets knowledge base and its gold facts agree with each other."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

import tunesmith.examples

EXAMPLE = Path(tunesmith.examples.__file__).parent / "support-tickets"
KNOWLEDGE = EXAMPLE / "knowledge"
DOCUMENTS = sorted(p for p in KNOWLEDGE.rglob("*") if p.suffix in {".md", ".txt", ".html"})


def _front_matter(text: str) -> tuple[dict, str]:
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    if match is None:
        return {}, text
    return yaml.safe_load(match.group(1)) or {}, text[match.end() :]


def _groups(path: Path) -> list[str]:
    """Front matter wins; otherwise the nearest `_access.yaml` up to the knowledge root."""
    if path.suffix in {".md", ".txt"}:
        meta, _ = _front_matter(path.read_text(encoding="utf-8"))
        if "groups" in meta:
            return list(meta["groups"])
    for folder in path.parents:
        access = folder / "_access.yaml"
        if access.exists():
            return list(yaml.safe_load(access.read_text(encoding="utf-8"))["groups"])
        if folder == KNOWLEDGE:
            break
    return []


def _sections(path: Path) -> dict[str, str]:
    """Section heading -> its text, whitespace collapsed (tags stripped for HTML)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".html":
        parts = re.split(r"<h2>(.*?)</h2>", text)
        parts = [re.sub(r"<[^>]+>", " ", part) for part in parts]
    else:
        parts = re.split(r"^## (.+)$", _front_matter(text)[1], flags=re.M)
    return {parts[i].strip(): " ".join(parts[i + 1].split()) for i in range(1, len(parts), 2)}


def _facts() -> list[dict]:
    lines = (EXAMPLE / "knowledge_facts.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_every_fact_is_verbatim_under_its_section_with_its_documents_groups() -> None:
    facts = _facts()
    assert len(facts) >= 40
    for fact in facts:
        path = KNOWLEDGE / fact["doc"]
        section = _sections(path)[fact["section"]]
        assert fact["fact"] in section, fact["fact"]
        assert fact["value"] in fact["fact"]
        assert fact["groups"] == _groups(path), fact["doc"]


def test_questions_are_paraphrases_that_do_not_give_the_answer_away() -> None:
    for fact in _facts():
        question, heldout = fact["question"], fact["question_heldout"]
        assert question != heldout and fact["fact"] not in (question, heldout)
        assert fact["value"].lower() not in question.lower() + " " + heldout.lower(), fact


def test_documents_have_groups_sections_and_a_sensible_length() -> None:
    assert 10 <= len(DOCUMENTS) <= 14
    assert any(p.suffix == ".html" for p in DOCUMENTS)
    for path in DOCUMENTS:
        assert _groups(path), path
        assert 2 <= len(_sections(path)) <= 4, path
        words = len(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8")).split())
        assert 150 <= words <= 500, (path, words)
    assert all(p.suffix in {".md", ".html", ".yaml"} for p in KNOWLEDGE.rglob("*") if p.is_file())


def test_support_reads_public_and_its_refund_limits_but_never_hr() -> None:
    support = {p.relative_to(KNOWLEDGE).as_posix() for p in DOCUMENTS if "support" in _groups(p)}
    assert "billing/refund-approvals.md" in support  # front matter overrides the billing folder
    assert "billing/invoicing.md" not in support
    assert not any(doc.startswith("hr/") for doc in support)
    assert {p.relative_to(KNOWLEDGE).parts[0] for p in DOCUMENTS} == {"public", "billing", "hr"}

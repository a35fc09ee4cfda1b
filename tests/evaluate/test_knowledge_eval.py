from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunesmith.config.workspace import Workspace
from tunesmith.evaluate.knowledge_eval import (
    KnowledgeEvalError,
    evaluate_knowledge,
    questions_file,
)
from tunesmith.evaluate.knowledge_scoring import (
    KnowledgeQuestion,
    QuestionFileError,
    changed_value,
    holds,
    read_questions,
    retrieval_scores,
    score_answer,
    summarise,
)
from tunesmith.evaluate.knowledge_update import pick_edits
from tunesmith.knowledge.index import build_index
from tunesmith.knowledge.search import Hit
from tunesmith.knowledge.store import StoredChunk
from tunesmith.store import audit

from ..kb_assets import write_kb
from .conftest import set_config

REFUND = KnowledgeQuestion(
    "How long may a customer wait before asking for money back?",
    "public/refunds.md",
    "Customers may ask for a refund within 30 days of delivery.",
    "30 days",
    ("staff", "support"),
)


def _hit(doc: str, number: int, text: str, groups: tuple[str, ...] = ("support",)) -> Hit:
    return Hit(StoredChunk(number, doc, number, (), 0, len(text), text, groups), 1.0, 1, 1)


HITS = [
    _hit("public/refunds.md", 0, "Customers may ask for a refund within 30 days of delivery."),
    _hit("public/refunds.md", 1, "Gift cards are never refunded."),
    _hit("public/shipping.md", 0, "Parcels travel by courier within five working days."),
]


# ---- scoring, on fixed answers
def test_value_is_found_whatever_case_and_whitespace() -> None:
    assert holds("You have 30\n  DAYS to ask.", "30 days")
    assert not holds("You have 3 days.", "30 days")


def test_a_marked_citation_of_the_gold_chunk_is_gold_and_supported() -> None:
    answer = "Customers may ask for a refund within 30 days of delivery [1]. Gift cards too [3]."
    scores = score_answer(answer, HITS, REFUND)
    # sentence 1 cites [1], sentence 2 cites [3]: its words (gift, cards, too) are not in [3]
    assert scores == {"value": True, "citations": 2, "gold_citations": 1, "supported": 1}


def test_an_unmarked_answer_is_cited_by_word_overlap_only_when_a_chunk_holds_most_words() -> None:
    answer = "A refund may be asked within 30 days of delivery. The moon is made of cheese."
    scores = score_answer(answer, HITS, REFUND)
    # refund, may, asked -> 'asked' missing: within, days, delivery, refund, may (5 of 6) held
    assert scores["citations"] == 1 and scores["gold_citations"] == 1
    assert scores["supported"] == 1 and scores["value"] is True


def test_a_citation_of_another_chunk_is_not_gold() -> None:
    scores = score_answer("Gift cards are never refunded [2].", HITS, REFUND)
    assert scores == {"value": False, "citations": 1, "gold_citations": 0, "supported": 1}
    assert score_answer("No idea.", [], REFUND)["citations"] == 0


def test_summary_shares_are_over_answers_and_support_over_citations() -> None:
    rows = [
        {"value": True, "citations": 2, "gold_citations": 1, "supported": 1},
        {"value": False, "citations": 0, "gold_citations": 0, "supported": 0},
        {"value": True, "citations": 1, "gold_citations": 0, "supported": 1},
        {"value": False, "citations": 1, "gold_citations": 1, "supported": 0},
    ]
    assert summarise(rows) == {
        "value_share": 0.5,
        "cites_gold": 0.5,
        "citation_support": 0.5,  # 2 of 4 citations
        "cited_answers": 0.75,
    }
    assert summarise([rows[1]])["citation_support"] is None


def test_retrieval_scores_rank_documents_at_their_best_chunk() -> None:
    ranked = [HITS[2], HITS[0], HITS[1]]  # shipping, refunds, refunds
    assert retrieval_scores(ranked, "public/refunds.md") == {
        "recall@1": 0.0,
        "recall@5": 1.0,
        "mrr@10": 0.5,
    }
    assert retrieval_scores([], "public/refunds.md")["mrr@10"] == 0.0


def test_changed_values_move_every_number_and_never_collide() -> None:
    assert changed_value("3 business days", "") == "10 business days"
    assert changed_value("3 business days", "within 10 business days") == "14 business days"
    assert changed_value("09:00", "") == "16:07"
    assert changed_value("the original payment method", "") is None


def test_edits_take_facts_whose_value_occurs_once_and_each_only_once() -> None:
    texts = {"a.md": "within 30 days and 30 days again", "b.md": "20 weeks; 12 percent"}
    twice = KnowledgeQuestion("q", "a.md", "f", "30 days", ("x",))
    weeks = KnowledgeQuestion("q", "b.md", "f", "20 weeks", ("x",))
    percent = KnowledgeQuestion("q", "b.md", "f", "12 percent", ("x",))
    edits = pick_edits([twice, weeks, percent, weeks], texts, 5)
    assert [(e.index, e.new_value) for e in edits] == [(1, "27 weeks"), (2, "19 percent")]
    assert len(pick_edits([twice, weeks, percent], texts, 1)) == 1


def test_a_questions_file_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    good = {"question": "q", "doc": "d", "fact": "f", "value": "v", "groups": ["a"]}
    path.write_text(json.dumps(good) + "\n" + json.dumps(good | {"groups": []}) + "\n")
    with pytest.raises(QuestionFileError, match=r"q.jsonl:2: field 'groups'"):
        read_questions(path)
    path.write_text(json.dumps(good) + "\n")
    assert read_questions(path)[0].groups == ("a",)


# ---- the whole evaluation, on the tiny model and the tiny embedder
QUESTIONS = [
    REFUND,
    KnowledgeQuestion(
        "How much paid leave does a new parent get?",
        "internal/leave.md",
        "Employees receive 20 weeks of paid parental leave, starting up to 4 weeks before the "
        "birth.",
        "20 weeks",
        ("hr",),
    ),
    KnowledgeQuestion(
        "How big is the bonus pool of the executives?",
        "internal/bonus.md",
        "The executive bonus pool is 12 percent of operating profit.",
        "12 percent",
        ("exec",),
    ),
    # a support agent asking about HR's document: it must never be retrieved for them
    KnowledgeQuestion(
        "How many weeks of parental leave do employees receive?",
        "internal/leave.md",
        "Employees receive 20 weeks of paid parental leave.",
        "20 weeks",
        ("support",),
    ),
]


@pytest.fixture(scope="module")
def kb_eval(trained: tuple[Path, str], tiny_embedder: Path) -> tuple[Workspace, str, Path]:
    root, run_id = trained
    write_kb(root)
    set_config(
        root,
        knowledge={
            "sources": [{"path": "kb"}],
            "groups": ["staff", "support", "hr", "exec"],
            "embedding": {"model": str(tiny_embedder)},
            "chunking": {"max_tokens": 32, "overlap_tokens": 8},
        },
        # the example names its own gold facts; these tests bring theirs
        eval={"knowledge_questions": None},
    )
    ws = Workspace(root)
    build_index(ws, ws.load_config().knowledge)
    path = root / "kb-questions.jsonl"
    rows = [
        {"question": q.question, "doc": q.doc, "fact": q.fact, "value": q.value}
        | {"groups": list(q.groups)}
        for q in QUESTIONS
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return ws, run_id, path


def test_three_settings_retrieval_within_groups_and_the_update(
    kb_eval: tuple[Workspace, str, Path],
) -> None:
    ws, run_id, path = kb_eval
    config = ws.load_config()
    result = evaluate_knowledge(ws, config, path, run_id, max_new_tokens=8)
    report = result.report
    assert [s["setting"] for s in report["settings"]] == [
        "base + retrieval",
        "fine-tuned",
        "fine-tuned + retrieval",
    ]
    alone = report["settings"][1]
    assert alone["retrieval"] is False and alone["citation_support"] is None
    assert alone["prompt_tokens"] < report["settings"][2]["prompt_tokens"]
    assert all(len(s["per_question"]) == 4 for s in report["settings"])
    retrieval = report["retrieval"]
    assert retrieval["permission_violations"] == 0
    ranked = [q["ranked"] for q in retrieval["per_question"]]
    assert ranked[1] == ["internal/leave.md"] and ranked[2] == ["internal/bonus.md"]
    assert ranked[3] == ["public/refunds.md"]  # support reads no HR document
    assert retrieval["per_question"][3]["recall@5"] == 0.0
    assert retrieval["recall@1"] == pytest.approx(0.75)  # each caller's only document is gold
    update = report["update"]
    # one fact per document with a unique number: refunds (30 days), leave (20 weeks), bonus
    assert update["edited_documents"] == [
        "internal/bonus.md",
        "internal/leave.md",
        "public/refunds.md",
    ]
    assert update["reindex"]["updated"] == 3 and update["reindex"]["unchanged"] == 0
    assert update["hits_before"]["old_value"] == 1.0
    assert update["hits_with_old_value"] == 0.0 and update["hits_with_new_value"] == 1.0
    json_file, md_file = result.files
    assert json_file.parent == ws.knowledge_dir / "eval"
    assert json.loads(json_file.read_text())["settings"][0]["model"] == "base"
    table = md_file.read_text()
    assert "| fine-tuned + retrieval |" in table and "## Knowledge update" in table
    entry = audit.entries(audit.audit_path(ws.state_dir))[-1]
    assert entry.action == "eval.knowledge" and entry.subject == run_id


def test_without_a_fine_tuned_model_only_base_retrieval_is_run_with_a_note(
    kb_eval: tuple[Workspace, str, Path],
) -> None:
    ws, _, path = kb_eval
    result = evaluate_knowledge(ws, ws.load_config(), path, None, limit=1, update_facts=1)
    report = result.report
    assert [s["setting"] for s in report["settings"]] == ["base + retrieval"]
    assert "skipped" in report["notes"][0]
    assert report["questions"]["count"] == 1 and report["update"]["edited_facts"] == 1
    assert report["update"]["reindex"]["embedded"] > 0
    assert report["update"]["reindex"]["unchanged"] == 2  # leave and bonus were not embedded


def test_the_questions_file_comes_from_the_flag_or_the_config(
    kb_eval: tuple[Workspace, str, Path],
) -> None:
    ws, _, path = kb_eval
    config = ws.load_config()
    with pytest.raises(KnowledgeEvalError, match="--questions"):
        questions_file(ws, config, None)
    assert questions_file(ws, config, path) == path
    settings = config.eval.model_copy(update={"knowledge_questions": "kb-questions.jsonl"})
    assert questions_file(ws, config.model_copy(update={"eval": settings}), None) == path


def test_cli_prints_the_table_and_needs_a_questions_file(
    kb_eval: tuple[Workspace, str, Path],
) -> None:
    from typer.testing import CliRunner

    from tunesmith.cli import app

    ws, _, path = kb_eval
    runner = CliRunner()
    args = ["eval", "--knowledge", "-w", str(ws.root)]
    missing = runner.invoke(app, args)
    assert missing.exit_code == 1 and "--questions" in missing.output
    wide = {"COLUMNS": "250"}  # rich wraps table cells to the terminal width
    result = runner.invoke(app, [*args, "--questions", str(path), "--limit", "2"], env=wide)
    assert result.exit_code == 0, result.output
    assert "base + retrieval" in result.output and "fine-tuned" in result.output  # the note
    assert "knowledge update" in result.output
    assert runner.invoke(app, ["eval", "-w", str(ws.root)]).exit_code == 2

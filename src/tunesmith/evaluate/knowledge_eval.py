"""`tunesmith eval --knowledge`: fine-tuning versus retrieval versus both, on one knowledge base.

Each gold fact's question is asked by a caller holding its document's groups: retrieval is
scored by the gold document's rank, then answers by greedy generation in three settings (base
model + retrieval, the fine-tuned model alone, fine-tuned + retrieval), scored by string
(knowledge_scoring.py). The knowledge-update check edits facts in a copy of the knowledge base,
re-indexes and asks again. The report goes to `.tunesmith/knowledge/eval/<time>.json` and `.md`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunesmith import __version__
from tunesmith.config import ProjectConfig
from tunesmith.config.workspace import Workspace
from tunesmith.evaluate.knowledge_report import markdown
from tunesmith.evaluate.knowledge_scoring import (
    RETRIEVAL_METRICS,
    KnowledgeQuestion,
    holds,
    mean,
    read_questions,
    retrieval_scores,
    score_answer,
    summarise,
)
from tunesmith.evaluate.knowledge_update import as_edited, run_update
from tunesmith.evaluate.score_model import ProgressFactory, no_progress
from tunesmith.knowledge.answers import with_sources
from tunesmith.knowledge.retriever import open_retriever
from tunesmith.knowledge.search import Hit
from tunesmith.models.generate import generate
from tunesmith.models.load import Target, load_model
from tunesmith.models.tokenize import tokenize_prompts
from tunesmith.registry.references import resolve_target
from tunesmith.store import audit
from tunesmith.store.clock import utc_timestamp
from tunesmith.store.files import sha256_file, write_atomic, write_json_atomic

DEPTH = 10  # chunks ranked per question: MRR@10 needs ten
ANSWER_TOKENS = 64


class KnowledgeEvalError(ValueError):
    """No knowledge section, no questions file, or questions the index cannot serve."""


@dataclass(frozen=True)
class KnowledgeEvalResult:
    report: dict[str, Any]
    files: list[Path]


def questions_file(ws: Workspace, config: ProjectConfig, flag: Path | None) -> Path:
    """`--questions`, else `eval.knowledge_questions` (relative to the workspace)."""
    if flag is not None:
        return flag
    if config.eval.knowledge_questions is None:
        raise KnowledgeEvalError(
            "no questions: pass --questions FILE or set eval.knowledge_questions "
            "(JSONL: question, doc, fact, value, groups a line)"
        )
    return ws.resolve(config.eval.knowledge_questions)


@dataclass(frozen=True)
class Answered:
    answers: list[str]
    prompt_tokens: list[int]
    seconds: float


def answer(
    loaded: tuple[Any, Any],
    asked: Sequence[tuple[KnowledgeQuestion, list[Hit] | None]],
    batch_size: int,
    max_new_tokens: int,
    tick: Any,
) -> Answered:
    """Greedy answers; a question with hits is given them as numbered sources."""
    model, tokenizer = loaded
    conversations = []
    for question, hits in asked:
        messages = [{"role": "user", "content": question.question}]
        conversations.append(messages if hits is None else with_sources(messages, hits))
    prompts = tokenize_prompts(tokenizer, conversations)
    started = time.perf_counter()
    answers = generate(model, tokenizer, prompts, max_new_tokens, batch_size, tick)
    return Answered(answers, [len(p) for p in prompts], time.perf_counter() - started)


def _setting(
    name: str,
    target: Target,
    asked: Sequence[tuple[KnowledgeQuestion, list[Hit] | None]],
    done: Answered,
    search_ms: float,
) -> dict[str, Any]:
    scores = [score_answer(a, h or [], q) for a, (q, h) in zip(done.answers, asked, strict=True)]
    retrieved = asked[0][1] is not None if asked else False
    generation_ms = 1000 * done.seconds / len(asked) if asked else 0.0
    return {
        "setting": name,
        "model": target.ref,
        "retrieval": retrieved,
        **summarise(scores),
        "prompt_tokens": mean(done.prompt_tokens),
        "ms_per_question": generation_ms + (search_ms if retrieved else 0.0),
        "per_question": scores,
    }


def evaluate_knowledge(
    ws: Workspace,
    config: ProjectConfig,
    questions_path: Path,
    model_ref: str | None = None,
    progress: ProgressFactory = no_progress,
    limit: int | None = None,
    update_facts: int = 10,
    max_new_tokens: int = ANSWER_TOKENS,
) -> KnowledgeEvalResult:
    """Retrieval and answer metrics of base + retrieval, `model_ref` alone and with retrieval
    (those two skipped with a note when no fine-tuned model is named), and the update check."""
    knowledge = config.knowledge
    if knowledge is None:
        raise KnowledgeEvalError("no `knowledge:` section in tunesmith.yaml")
    questions = read_questions(questions_path)[:limit]
    # everything that can refuse is checked before minutes of inference
    base = resolve_target(ws, config, "base")
    tuned = None if model_ref in (None, "base") else resolve_target(ws, config, model_ref)
    retriever = open_retriever(ws, knowledge)
    try:
        started = time.perf_counter()
        ranked = [retriever.search(q.question, q.groups, DEPTH) for q in questions]
        search_ms = 1000 * (time.perf_counter() - started) / max(len(questions), 1)
        version = retriever.index.current_version()
        embedder = retriever.model
    finally:
        retriever.close()
    # the search keeps to the caller's groups; the report counts any hit that did not
    leaks = sum(
        not set(h.chunk.groups) & set(q.groups)
        for q, hs in zip(questions, ranked, strict=True)
        for h in hs
    )
    per_query = [retrieval_scores(hs, q.doc) for q, hs in zip(questions, ranked, strict=True)]
    retrieval = {m: mean([r[m] for r in per_query]) for m in RETRIEVAL_METRICS}
    retrieval |= {"search_ms_per_question": search_ms, "permission_violations": leaks}
    retrieval["per_question"] = [
        {"doc": q.doc, "ranked": list(dict.fromkeys(h.chunk.doc for h in hs))} | scores
        for q, hs, scores in zip(questions, ranked, per_query, strict=True)
    ]
    top = [hs[: knowledge.retrieval.top_k] for hs in ranked]
    with_hits = list(zip(questions, top, strict=True))
    batch = config.eval.batch_size

    def run(loaded: Any, name: str, asked: Sequence[tuple[KnowledgeQuestion, Any]]) -> Answered:
        return answer(loaded, asked, batch, max_new_tokens, progress(name, len(asked)))

    settings = []
    loaded = load_model(ws, base)
    done = run(loaded, "base + retrieval", with_hits)
    settings.append(_setting("base + retrieval", base, with_hits, done, search_ms))
    update, after = run_update(
        ws,
        knowledge,
        questions,
        update_facts,
        embedder,
        lambda asked: run(loaded, "after the edits", asked).answers,
    )
    before = done.answers
    update["hits_before"] = {
        "old_value": mean(
            [any(holds(h.chunk.text, e.question.value) for h in top[e.index]) for e, _, _ in after]
        ),
        "new_value": mean(
            [any(holds(h.chunk.text, e.new_value) for h in top[e.index]) for e, _, _ in after]
        ),
    }
    update["answers"] = {
        "before": {
            "old_value": mean([holds(before[e.index], e.question.value) for e, _, _ in after]),
            "new_value": mean([holds(before[e.index], e.new_value) for e, _, _ in after]),
        },
        "after": {
            "old_value": mean([holds(a, e.question.value) for e, _, a in after]),
            "new_value": mean([holds(a, e.new_value) for e, _, a in after]),
            "cites_gold": mean(
                [
                    score_answer(a, h, as_edited(e.question, e))["gold_citations"] > 0
                    for e, h, a in after
                ]
            ),
        },
    }
    del loaded
    notes = []
    if tuned is None:
        notes.append("no fine-tuned model given (--model RUN_ID): its two settings are skipped")
    else:
        loaded = load_model(ws, tuned)
        alone = [(q, None) for q in questions]
        done = run(loaded, "fine-tuned", alone)
        settings.append(_setting("fine-tuned", tuned, alone, done, search_ms))
        done = run(loaded, "fine-tuned + retrieval", with_hits)
        settings.append(_setting("fine-tuned + retrieval", tuned, with_hits, done, search_ms))
        del loaded
    report = {
        "schema": 1,
        "created_at": utc_timestamp(),
        "tunesmith_version": __version__,
        "questions": {
            "file": str(questions_path),
            "sha256": sha256_file(questions_path),
            "count": len(questions),
        },
        "index_version": version,
        "top_k": knowledge.retrieval.top_k,
        "max_new_tokens": max_new_tokens,
        "models": {"base": base.to_json(), "fine_tuned": tuned and tuned.to_json()},
        "retrieval": retrieval,
        "settings": settings,
        "update": update,
        "notes": notes,
    }
    files = _write(ws, report, base, tuned)
    return KnowledgeEvalResult(report, files)


def _write(ws: Workspace, report: dict[str, Any], base: Target, tuned: Target | None) -> list[Path]:
    folder = ws.knowledge_dir / "eval"
    folder.mkdir(parents=True, exist_ok=True)
    stem = report["created_at"].replace(":", "")
    n = 1
    while (folder / f"{stem}.json").exists():  # two runs in one second keep both reports
        n += 1
        stem = f"{report['created_at'].replace(':', '')}-{n}"
    data, table = folder / f"{stem}.json", folder / f"{stem}.md"
    write_json_atomic(data, report)
    write_atomic(table, markdown(report).encode("utf-8"))
    inputs = {"questions": report["questions"]["sha256"]}
    if base.base_record.get("weights_sha256"):
        inputs["base_weights"] = base.base_record["weights_sha256"]
    if tuned is not None and tuned.adapter_sha256:
        inputs["adapter"] = tuned.adapter_sha256
    audit.append(
        audit.audit_path(ws.state_dir),
        "eval.knowledge",
        tuned.run_id or "base" if tuned else "base",
        inputs=inputs,
        outputs={data.name: sha256_file(data)},
        details={
            "questions": report["questions"]["count"],
            "index_version": report["index_version"],
            "recall@5": round(report["retrieval"]["recall@5"], 4),
            "value_share": {s["setting"]: round(s["value_share"], 4) for s in report["settings"]},
        },
    )
    return [data, table]

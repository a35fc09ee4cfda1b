"""An aligned model against its SFT parent on held-out prompts.

Both answer the same prompts greedily; the rubric says how often each meets the style policy
and routes correctly; the LLM judge (position-swapped, a different judge from the rubric that
picked the training pairs) says which answer is better. Written to `runs/<run>/eval/`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tunesmith.config import JudgeConfig, ProjectConfig, ServeConfig
from tunesmith.config.workspace import Workspace
from tunesmith.data.rows import EvalInputError, EvalRow, read_rows
from tunesmith.data.version import resolve_dataset
from tunesmith.models.generate import generate
from tunesmith.models.load import Target, load_model
from tunesmith.models.tokenize import tokenize_prompts
from tunesmith.preference.llm_judge import compare, judge_client
from tunesmith.preference.rubric import PiiCounter, pii_counter, score_answer
from tunesmith.preference.second_rubric import audit_compliant, prefer
from tunesmith.registry.references import resolve_target
from tunesmith.store.files import write_atomic

# (prompt, answer of the model, answer of the one it is compared with) -> "a", "b" or "tie"
Judge = Callable[[list[dict[str, str]], str, str], str]


@dataclass(frozen=True)
class ModelAnswers:
    ref: str
    answers: list[str]
    compliance: float
    accuracy: float | None
    mean_score: float
    scores: list[float]


def answers_of(
    workspace: Workspace, target: Target, rows: list[EvalRow], max_new_tokens: int, batch: int
) -> list[str]:
    """Greedy answers of one model to the rows' prompts."""
    model, tokenizer = load_model(workspace, target)
    ids = tokenize_prompts(tokenizer, [r.prompt for r in rows])
    return generate(model, tokenizer, ids, max_new_tokens, batch)


def judge_answers(
    config: ProjectConfig,
    ref: str,
    rows: list[EvalRow],
    answers: list[str],
    count_pii: PiiCounter | None = None,
) -> ModelAnswers:
    """The rubric over one model's answers: policy compliance, label accuracy, mean score."""
    scores = [
        score_answer(a, config.task, config.align.rubric, r.label, count_pii)
        for r, a in zip(rows, answers, strict=True)
    ]
    labelled = [s.checks["label"] for s in scores if "label" in s.checks]
    return ModelAnswers(
        ref,
        answers,
        sum(s.compliant for s in scores) / len(scores),
        sum(labelled) / len(labelled) if labelled else None,
        sum(s.score for s in scores) / len(scores),
        [s.score for s in scores],
    )


def held_out_rows(
    workspace: Workspace, config: ProjectConfig, target: Target, limit: int | None
) -> list[EvalRow]:
    """The test split of the dataset version the model was trained on."""
    name, version = target.dataset or (config.data.name, "latest")
    dataset_dir, _ = resolve_dataset(workspace, name, version)
    rows = read_rows(dataset_dir / "test.jsonl", config.task)[:limit]
    if not rows:
        raise EvalInputError(f"{dataset_dir / 'test.jsonl'}: no held-out rows")
    return rows


def parent_of(workspace: Workspace, run_id: str) -> str:
    """The run an aligned (or warm-started) run continued from."""
    lineage = json.loads((workspace.runs_dir / run_id / "lineage.json").read_text())
    parent = (lineage.get("init_adapter") or {}).get("run_id")
    if not parent:
        raise EvalInputError(f"run '{run_id}' has no parent run; name one with --against")
    return parent


def pairwise_judge(settings: JudgeConfig, serve: ServeConfig) -> Judge:
    """The LLM judge at `settings`' endpoint (default: the local server): both answer orders
    asked, a winner only when they agree."""
    client = judge_client(settings, serve)

    def judge(prompt: list[dict[str, str]], a: str, b: str) -> str:
        return compare(client, settings, prompt, a, b).winner

    return judge


def win_rate(
    workspace: Workspace,
    config: ProjectConfig,
    model_ref: str,
    against: str | None,
    judge: Judge | None,
    limit: int | None = None,
    on_step: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Rubric results for both models and, with a judge, wins / ties / losses of the first."""
    target = resolve_target(workspace, config, model_ref)
    if target.run_id is None:
        raise EvalInputError("win rate compares a run with its parent; the base has none")
    parent = resolve_target(workspace, config, against or parent_of(workspace, target.run_id))
    rows = held_out_rows(workspace, config, target, limit)
    tokens, batch = config.align.sampling.max_new_tokens, config.eval.batch_size
    results = []
    count_pii = pii_counter(config.data.pii)  # one detector for both models' answers
    for each in (target, parent):
        if on_step:
            on_step(f"answers of {each.ref}")
        answers = answers_of(workspace, each, rows, tokens, batch)
        results.append(judge_answers(config, each.ref, rows, answers, count_pii))
    # each answer read once by the second judge; compliance and the tally both come from it
    audited = [
        [audit_compliant(a, config.task, config.align.rubric) for a in r.answers] for r in results
    ]
    report: dict[str, Any] = {
        "model": target.ref,
        "against": parent.ref,
        "rows": len(rows),
        "policy": config.align.rubric.policy,
        "rubric": {
            r.ref: {
                "compliance": r.compliance,
                "accuracy": r.accuracy,
                "mean_score": round(r.mean_score, 4),
            }
            for r in results
        },
        # the rubric picked the training pairs, so this is no independent verdict
        "rubric_pairwise": _tally(
            [
                "a" if x > y else "b" if y > x else "tie"
                for x, y in zip(results[0].scores, results[1].scores, strict=True)
            ]
        ),
        # a second reading of the policy (spaCy's sentencizer) that never picked pairs
        "audit": {
            "compliance": {
                r.ref: sum(ok) / len(rows) for r, ok in zip(results, audited, strict=True)
            },
            **_tally([prefer(a, b) for a, b in zip(*audited, strict=True)]),
        },
    }
    if judge is not None:
        winners = []
        for row, mine, theirs in zip(rows, results[0].answers, results[1].answers, strict=True):
            if on_step:
                on_step("judge")
            winners.append(judge(row.prompt, mine, theirs))
        report["judge"] = {
            "model": config.align.judge.model,
            "endpoint": config.align.judge.base_url or "local tunesmith serve",
            **_tally(winners),
        }
    out = workspace.runs_dir / target.run_id / "eval"
    out.mkdir(parents=True, exist_ok=True)
    answers = "".join(
        json.dumps({"row_id": r.id, "model": a, "parent": b}, ensure_ascii=False) + "\n"
        for r, a, b in zip(rows, results[0].answers, results[1].answers, strict=True)
    )
    write_atomic(out / "winrate-answers.jsonl", answers.encode("utf-8"))
    write_atomic(out / "winrate.md", render(report).encode("utf-8"))
    write_atomic(out / "winrate.json", (json.dumps(report, indent=2) + "\n").encode("utf-8"))
    report["path"] = str(out / "winrate.md")
    return report


def _tally(winners: list[str]) -> dict[str, Any]:
    """Wins, ties and losses of the first model; ties count half, as pairwise win rates do."""
    wins, ties = winners.count("a"), winners.count("tie")
    return {
        "wins": wins,
        "ties": ties,
        "losses": winners.count("b"),
        "win_rate": round((wins + ties / 2) / max(len(winners), 1), 4),
    }


def render(report: dict[str, Any]) -> str:
    lines = [
        f"# {report['model']} against {report['against']}",
        "",
        f"{report['rows']} held-out prompts. Policy: {report['policy']}",
        "",
        "| model | policy compliance | label accuracy | mean rubric score |",
        "|---|---|---|---|",
    ]
    for ref, r in report["rubric"].items():
        accuracy = "n/a" if r["accuracy"] is None else f"{r['accuracy']:.3f}"
        lines.append(f"| {ref} | {r['compliance']:.3f} | {accuracy} | {r['mean_score']:.3f} |")
    tally, audit = report["rubric_pairwise"], report["audit"]
    shares = ", ".join(f"{ref} {share:.3f}" for ref, share in audit["compliance"].items())
    lines += [
        "",
        f"Rubric, answer by answer (the judge that picked the training pairs): {tally['wins']} "
        f"wins, {tally['ties']} ties, {tally['losses']} losses; win rate {tally['win_rate']:.3f}.",
        "",
        f"Held-out reading of the policy (spaCy sentencizer; it picked no pairs): compliance "
        f"{shares}; answer by answer {audit['wins']} wins, {audit['ties']} ties, "
        f"{audit['losses']} losses; win rate {audit['win_rate']:.3f}.",
    ]
    judge = report.get("judge")
    if judge:
        lines += [
            "",
            f"LLM judge ({judge['model']} at {judge['endpoint']}, both answer orders): "
            f"{judge['wins']} wins, {judge['ties']} ties, {judge['losses']} losses; "
            f"win rate {judge['win_rate']:.3f} (ties count half).",
        ]
    return "\n".join(lines) + "\n"

"""AI feedback (`tunesmith feedback generate`): sample k answers per prompt, judge, pair.

Each prompt of a dataset split gets `k` answers sampled from the current model at the
configured temperature and seed; the rubric judge scores each; the best and the worst become
a pair when their scores differ by more than the margin. Every candidate and its scores are
kept beside the pairs, so a pair can be traced to what it was picked from.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from secrets import token_hex
from typing import Any

import torch

from tunesmith.config import ProjectConfig
from tunesmith.config.align import SamplingConfig
from tunesmith.config.workspace import Workspace
from tunesmith.data.rows import EvalInputError, EvalRow, read_rows
from tunesmith.data.version import resolve_dataset
from tunesmith.models.load import load_model
from tunesmith.models.tokenize import tokenize_prompts
from tunesmith.preference.rubric import RubricScore, pii_counter, score_answer
from tunesmith.registry.references import resolve_target
from tunesmith.store import audit
from tunesmith.store.files import sha256_file, write_json, write_jsonl

PREFERENCES_DIR = "preferences"


@dataclass(frozen=True)
class PairSetResult:
    path: Path
    counts: dict[str, int]
    mean_best: float
    mean_worst: float
    compliant_share: float


def sample_answers(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[Sequence[int]],
    sampling: SamplingConfig,
    on_prompts: Callable[[int], None] | None = None,
) -> list[list[str]]:
    """`k` sampled answers per tokenised prompt; the same seed gives the same answers."""
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    k = sampling.k
    per_batch = max(1, sampling.batch_size // k)
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    answers: list[list[str]] = [[] for _ in prompts]
    for number, start in enumerate(range(0, len(order), per_batch)):
        rows = order[start : start + per_batch]
        width = max(len(prompts[i]) for i in rows)
        ids = torch.full((len(rows) * k, width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for j, i in enumerate(rows):
            ids[j * k : (j + 1) * k, width - len(prompts[i]) :] = torch.tensor(list(prompts[i]))
            mask[j * k : (j + 1) * k, width - len(prompts[i]) :] = 1
        # a seed per batch: a rerun draws the same answers whatever ran before it
        torch.manual_seed(sampling.seed * 100_003 + number)
        with torch.inference_mode():
            out = model.generate(
                input_ids=ids.to(device),
                attention_mask=mask.to(device),
                max_new_tokens=sampling.max_new_tokens,
                do_sample=True,
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                top_k=0,
                pad_token_id=pad,
                eos_token_id=tokenizer.eos_token_id,
            )
        texts = tokenizer.batch_decode(out[:, width:], skip_special_tokens=True)
        for j, i in enumerate(rows):
            answers[i] = [t.strip() for t in texts[j * k : (j + 1) * k]]
        if on_prompts is not None:
            on_prompts(len(rows))
    return answers


def best_and_worst(scores: list[RubricScore], answers: list[str]) -> tuple[int, int]:
    """Indexes of the best and worst answer; among equals, the shorter best, longer worst."""
    ranked = sorted(range(len(scores)), key=lambda i: (-scores[i].score, len(answers[i]), i))
    return ranked[0], ranked[-1]


def generate_pairs(
    workspace: Workspace,
    config: ProjectConfig,
    model_ref: str,
    on_start: Callable[[int], None] | None = None,
    on_prompts: Callable[[int], None] | None = None,
) -> PairSetResult:
    """Sample, judge and pair over a split of the model's dataset version; writes
    `preferences/<id>/` (pairs.jsonl, candidates.jsonl, manifest.json) whole or not at all."""
    sampling = config.align.sampling
    target = resolve_target(workspace, config, model_ref)
    name, version = target.dataset or (config.data.name, config.train.dataset)
    dataset_dir, manifest = resolve_dataset(workspace, name, version)
    split_file = dataset_dir / f"{sampling.split}.jsonl"
    if not split_file.is_file():
        raise EvalInputError(f"{split_file}: no '{sampling.split}' split in {name}/{version}")
    rows = read_rows(split_file, config.task)[: sampling.limit]
    if not rows:
        raise EvalInputError(f"{split_file}: no rows to sample prompts from")
    model, tokenizer = load_model(workspace, target)
    if on_start is not None:
        on_start(len(rows))
    answers = sample_answers(
        model,
        tokenizer,
        tokenize_prompts(tokenizer, [r.prompt for r in rows]),
        sampling,
        on_prompts,
    )
    count_pii = pii_counter(config.data.pii)
    rubric = config.align.rubric
    pairs, candidates, best_scores, worst_scores, compliant = [], [], [], [], 0
    off_label = 0
    for row, texts in zip(rows, answers, strict=True):
        scores = [score_answer(t, config.task, rubric, row.label, count_pii) for t in texts]
        compliant += sum(s.compliant for s in scores)
        candidates.append(_candidates_record(row, texts, scores))
        pool = list(range(len(texts)))
        if sampling.hold_label and row.label is not None:
            pool = [i for i in pool if scores[i].label == row.label]
            if len(pool) < 2:
                off_label += 1
                continue
        best, worst = best_and_worst([scores[i] for i in pool], [texts[i] for i in pool])
        best, worst = pool[best], pool[worst]
        best_scores.append(scores[best].score)
        worst_scores.append(scores[worst].score)
        if scores[best].score - scores[worst].score > sampling.margin:
            pairs.append(_pair(row, texts, scores, best, worst, target.ref, target.run_id))
    counts = {
        "prompts": len(rows),
        "candidates": sum(len(t) for t in answers),
        "pairs": len(pairs),
        "below_margin": len(rows) - len(pairs) - off_label,
        "off_label": off_label,
    }
    created = datetime.now(UTC)
    set_id = f"{created.strftime('%Y%m%d-%H%M%S')}-{token_hex(2)}"
    out = workspace.root / PREFERENCES_DIR / set_id
    staging = out.with_name(f".staging-{set_id}")
    staging.mkdir(parents=True)
    try:
        write_jsonl(staging / "pairs.jsonl", pairs)
        write_jsonl(staging / "candidates.jsonl", candidates)
        record = {
            "id": set_id,
            "created": created.isoformat(),
            "source": "ai-feedback",
            "model": target.to_json(),
            "dataset": {
                "name": name,
                "version": manifest["version"],
                "split": sampling.split,
                "sha256": sha256_file(split_file),
            },
            "sampling": sampling.model_dump(),
            "judge": {"kind": "rubric", **rubric.model_dump()},
            "counts": counts,
            "files": {f: sha256_file(staging / f) for f in ("pairs.jsonl", "candidates.jsonl")},
        }
        write_json(staging / "manifest.json", record)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    audit.append(
        audit.audit_path(workspace.state_dir),
        "feedback",
        set_id,
        inputs={f"{name}/{manifest['version']}/{split_file.name}": record["dataset"]["sha256"]},
        outputs=record["files"],
        details={"model": target.ref, **counts},
    )
    n = max(len(best_scores), 1)
    return PairSetResult(
        out,
        counts,
        sum(best_scores) / n,
        sum(worst_scores) / n,
        compliant / max(counts["candidates"], 1),
    )


def _pair(
    row: EvalRow,
    texts: list[str],
    scores: list[RubricScore],
    best: int,
    worst: int,
    model_ref: str,
    run_id: str | None,
) -> dict[str, Any]:
    return {
        "prompt": row.prompt,
        "chosen": [{"role": "assistant", "content": texts[best]}],
        "rejected": [{"role": "assistant", "content": texts[worst]}],
        "meta": {
            "source": "ai-feedback",
            "row_id": row.id,
            "model": model_ref,
            "run_id": run_id,
            "judge": "rubric",
            "chosen_score": scores[best].score,
            "rejected_score": scores[worst].score,
            "chosen_checks": scores[best].checks,
            "rejected_checks": scores[worst].checks,
        },
    }


def _candidates_record(row: EvalRow, texts: list[str], scores: list[RubricScore]) -> dict:
    return {
        "row_id": row.id,
        "label": row.label,
        "candidates": [
            {"text": t, "score": s.score, "checks": s.checks, "compliant": s.compliant}
            for t, s in zip(texts, scores, strict=True)
        ],
    }


def read_manifest(path: Path) -> dict[str, Any]:
    return json.loads((path / "manifest.json").read_text(encoding="utf-8"))

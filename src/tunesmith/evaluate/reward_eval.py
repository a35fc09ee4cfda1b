"""`tunesmith eval` of a reward-model run: pairwise accuracy on held-out human decisions,
beside the rubric's (and, asked for, the LLM judge's) agreement on the very same decisions,
and calibration: accuracy per bucket of |reward margin|.

The decisions are the run's `pairs/held_out.jsonl`, the human pairs `align.judge_holdout`
kept from its training (`feedback agreement` holds out the same ones). A tie counts against
every judge: a judge that cannot tell the answers apart did not agree with the human.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

from tunesmith.config import ProjectConfig
from tunesmith.config.workspace import Workspace
from tunesmith.models.reward import load_reward_model, pairwise_accuracy
from tunesmith.preference.agreement import rubric_agreement
from tunesmith.store import audit
from tunesmith.store.clock import utc_timestamp
from tunesmith.store.files import sha256_file, write_atomic


def calibration(margins: list[float], edges: list[float]) -> list[dict[str, Any]]:
    """Per bucket of |margin| (chosen minus rejected): pairs and the share the model got right;
    a calibrated model is right more often where its margin is wider."""
    bounds = [0.0, *edges, float("inf")]
    out = []
    for low, high in pairwise(bounds):
        inside = [m for m in margins if low <= abs(m) < high]
        out.append(
            {
                "bucket": f"[{low:g}, {high:g})",
                "pairs": len(inside),
                "accuracy": sum(m > 0 for m in inside) / len(inside) if inside else None,
            }
        )
    return out


def _decisions(run_dir: Path) -> tuple[Path, list[dict[str, Any]]]:
    path = run_dir / "pairs" / "held_out.jsonl"
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]
    if not rows:  # no human decisions were given: the validation pairs stand in, and say so
        path = run_dir / "pairs" / "val.jsonl"
        rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]
    return path, rows


def evaluate_reward(
    ws: Workspace,
    config: ProjectConfig,
    run_id: str,
    llm_judge: Callable[[list[dict[str, Any]]], dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], Path, list[Path]]:
    """The report of reward run `run_id`, written to its `eval/` folder; `llm_judge` (the
    pairs -> agreement of `preference.llm_judge.agreement`) adds the LLM judge's column."""
    run_dir = ws.runs_dir / run_id
    path, pairs = _decisions(run_dir)
    model = load_reward_model(run_dir)
    margins = model.margins(pairs)
    accuracy = pairwise_accuracy(margins)
    rubric = rubric_agreement(config, pairs)
    judges: dict[str, Any] = {
        "reward model": {"pairs": len(pairs), "agree": accuracy},
        "rubric": rubric,
    }
    if llm_judge is not None and pairs:
        judges[f"llm ({config.align.judge.model})"] = llm_judge(pairs)
    report = {
        "schema": 1,
        "kind": "reward",
        "created_at": utc_timestamp(),
        "model": {"run_id": run_id},
        "data": {
            "file": str(path.relative_to(ws.root)),
            "sha256": sha256_file(path),
            "pairs": len(pairs),
            "human_decisions": path.name == "held_out.jsonl",
        },
        "metrics": {
            "pairwise_accuracy": accuracy,
            "mean_margin": sum(margins) / len(margins) if margins else None,
        },
        "calibration": calibration(margins, model.settings.margin_buckets),
        "judges": judges,
        "passed": None,  # no gates on a reward model yet
    }
    out_dir = run_dir / "eval"
    out_dir.mkdir(exist_ok=True)
    files = [out_dir / "report.json", out_dir / "report.md"]
    write_atomic(files[0], (json.dumps(report, indent=2) + "\n").encode("utf-8"))
    write_atomic(files[1], render(report).encode("utf-8"))
    audit.append(
        audit.audit_path(ws.state_dir),
        "eval",
        run_id,
        inputs={path.name: report["data"]["sha256"]},
        outputs={"report.json": sha256_file(files[0])},
        details={"kind": "reward", "pairwise_accuracy": accuracy, "pairs": len(pairs)},
    )
    return report, out_dir, files


def _cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def render(report: dict[str, Any]) -> str:
    data = report["data"]
    source = "held-out human decisions" if data["human_decisions"] else "validation pairs"
    lines = [
        f"# Reward model {report['model']['run_id']}",
        "",
        f"{data['pairs']} {source} ({data['file']}); a tie counts as disagreeing.",
        "",
        "| judge | pairs | agrees with the human |",
        "|---|---:|---:|",
    ]
    for name, result in report["judges"].items():
        lines.append(f"| {name} | {result['pairs']} | {_cell(result['agree'])} |")
    lines += ["", "## Calibration (accuracy by |reward margin|)", ""]
    lines += ["| margin | pairs | accuracy |", "|---|---:|---:|"]
    for row in report["calibration"]:
        lines.append(f"| {row['bucket']} | {row['pairs']} | {_cell(row['accuracy'])} |")
    return "\n".join(lines) + "\n"

"""The eval report: JSON for machines, Markdown for people, a confusion-matrix PNG; atomic."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "—" if value is None else str(value)


def compare_table(compare: list[dict[str, Any]], main_metric: str) -> list[str]:
    lines = [
        f"| setting | {main_metric} | prompt tokens / request | ms / request | method |",
        "|---|---|---|---|---|",
    ]
    for entry in compare:
        lines.append(
            f"| {entry['setting']} | {_fmt(entry['metrics'].get(main_metric))} "
            f"| {entry['prompt_tokens_per_request']:.0f} | {entry['latency_ms_per_request']:.0f} "
            f"| {entry['method']} |"
        )
    return lines


def markdown(report: dict[str, Any]) -> str:
    """The report for people: verdict first, then metrics, comparison, slices, classes."""
    model, data, main = report["model"], report["data"], report["main_metric"]
    verdict = {True: "PASSED", False: "FAILED", None: "no gates configured"}[report["passed"]]
    where = (
        f"{data.get('dataset')}/{data.get('version')} {data['split']}"
        if data.get("dataset")
        else data["file"]
    )
    lines = [
        f"# Evaluation of `{model['ref']}`",
        "",
        f"- data: {where}, {data['rows']} rows, sha256 `{data['sha256']}`",
        f"- task: {report['task']['type']}; predictions by {report['method']}",
        f"- gates: **{verdict}**",
        "",
        "## Metrics",
        "",
        "| metric | value |",
        "|---|---|",
        *(f"| {k} | {_fmt(v)} |" for k, v in report["metrics"].items()),
    ]
    if report["gates"]:
        lines += ["", "## Gates", "", "| gate | result | numbers |", "|---|---|---|"]
        lines += [
            f"| {g['gate']} | {'pass' if g['passed'] else '**FAIL**'} | {g['detail']} |"
            for g in report["gates"]
        ]
    if report.get("champion"):
        champ = report["champion"]
        lines += [
            "",
            f"Champion `{champ['ref']}` on the same rows: "
            f"{main} {_fmt(champ['metrics'].get(main))}.",
        ]
    if report.get("compare"):
        lines += [
            "",
            "## Prompting versus fine-tuning",
            "",
            *compare_table(report["compare"], main),
        ]
    for field, audit in report["slices"].items():
        lines += [
            "",
            f"## Slices by `{field}`",
            "",
            f"| {field} | rows | {main} | judged | below floor |",
        ]
        lines.append("|---|---|---|---|---|")
        for value, s in audit["values"].items():
            lines.append(
                f"| {value} | {s['rows']} | {_fmt(s['metrics'].get(main))} | "
                f"{'yes' if s['judged'] else 'too few rows'} | "
                f"{'**yes**' if s['below_floor'] else 'no'} |"
            )
        if audit["ratio"] is not None:
            lines += [
                "",
                f"Worst `{audit['worst']}`, best `{audit['best']}`, ratio {audit['ratio']:.3f}.",
            ]
    if report.get("per_class"):
        lines += ["", "## Per class", "", "| label | precision | recall | f1 | support |"]
        lines.append("|---|---|---|---|---|")
        for label, c in report["per_class"].items():
            lines.append(
                f"| {label} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} "
                f"| {c['support']} |"
            )
        lines += ["", "![confusion matrix](confusion.png)"]
    if report.get("per_category"):
        lines += ["", "## Per category (tool calls)", "", category_table(report["per_category"])]
    return "\n".join(lines) + "\n"


TOOL_COLUMNS = ("call_accuracy", "name_accuracy", "argument_exact", "schema_valid_rate",
                "irrelevance_rate")  # fmt: skip


def category_table(per_category: dict[str, dict[str, float]]) -> str:
    """A markdown table: one row per tool-call category, '-' where a metric does not apply."""
    lines = ["| category | rows | " + " | ".join(TOOL_COLUMNS) + " |"]
    lines.append("|---|---:|" + "---:|" * len(TOOL_COLUMNS))
    for category, m in per_category.items():
        cells = [_fmt(m.get(c)) for c in TOOL_COLUMNS]
        lines.append(f"| {category} | {int(m['rows'])} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_confusion(matrix: list[list[int]], labels: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = [*labels, "invalid"]
    fig, ax = plt.subplots(figsize=(1.2 * len(columns) + 2, 0.9 * len(labels) + 2))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(columns)), columns, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    top = max(max(row) for row in matrix) or 1
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            color = "white" if count > top / 2 else "black"
            ax.text(j, i, str(count), ha="center", va="center", color=color)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(
    report: dict[str, Any],
    out_dir: Path,
    confusion: list[list[int]] | None,
    predictions: list[dict[str, Any]],
) -> list[Path]:
    """report.json, report.md, predictions.jsonl (and confusion.png), replaced all at once."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    old: Path | None = None
    try:
        (staging / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        (staging / "report.md").write_text(markdown(report), encoding="utf-8")
        lines = "".join(json.dumps(p) + "\n" for p in predictions)
        (staging / "predictions.jsonl").write_text(lines, encoding="utf-8")
        if confusion is not None:
            plot_confusion(confusion, report["task"]["labels"], staging / "confusion.png")
        staging.chmod(0o755)
        if out_dir.exists():
            # two renames, not one: a folder cannot replace a non-empty folder atomically
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-old-", dir=out_dir.parent))
            old.rmdir()
            out_dir.rename(old)
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if old is not None and not out_dir.exists():
            old.rename(out_dir)  # the previous report comes back rather than vanishing
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return sorted(out_dir.iterdir())

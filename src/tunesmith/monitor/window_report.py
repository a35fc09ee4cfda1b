"""The monitor's report: JSON verdicts, Markdown, and an HTML page with its plots."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from tunesmith.config import ProjectConfig


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _plot_confidence(margins: list[float], threshold: float, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.hist(margins, bins=20, range=(0, 1), color="#4c72b0")
    ax.axvline(threshold, color="#c44e52", linestyle="--", label="review threshold")
    ax.set_xlabel("label margin")
    ax.set_ylabel("answers")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_labels(reference: dict[str, int], current: dict[str, int], path: Path) -> None:
    labels = sorted(set(reference) | set(current))
    ref_total, cur_total = sum(reference.values()) or 1, sum(current.values()) or 1
    x = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(x - 0.2, [reference.get(k, 0) / ref_total for k in labels], 0.4, label="training")
    ax.bar(x + 0.2, [current.get(k, 0) / cur_total for k in labels], 0.4, label="window")
    ax.set_xticks(x, labels, rotation=30, ha="right")
    ax.set_ylabel("share")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_embeddings(reference: np.ndarray, current: np.ndarray, path: Path) -> None:
    """Both sets on the first two principal axes of their union."""
    both = np.concatenate([reference, current])
    centred = both - both.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    points = centred @ axes[:2].T
    fig, ax = plt.subplots(figsize=(5, 4))
    n = len(reference)
    ax.scatter(points[:n, 0], points[:n, 1], s=6, alpha=0.4, label="training inputs")
    ax.scatter(points[n:, 0], points[n:, 1], s=10, alpha=0.8, label="window inputs")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _markdown(report: dict[str, Any]) -> str:
    window = report["window"]
    lines = [
        "# Monitor report",
        "",
        f"Window {window['start']} – {window['end']}: {report['interactions']} interactions.",
        "",
    ]
    for model in report["models"]:
        stats = model["statistics"]
        verdict = "DRIFT" if model["drifted"] else "no drift"
        lines += [f"## {model['model']}: {verdict}", ""]
        lines += [f"**Alert**: {alert}." for alert in model.get("alerts", [])]
        lines += ["| statistic | value |", "|---|---|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in stats.items()]
        lines.append("")
        if model.get("drift_skipped"):
            lines += [f"Drift not judged: {model['drift_skipped']}.", ""]
        if model["checks"]:
            lines += [
                f"Reference: the training inputs of run `{model['reference_run']}` "
                f"({model['reference_dataset']}).",
                "",
                "| check | statistic | threshold | p-value | drifted |",
                "|---|---|---|---|---|",
            ]
            lines += [
                f"| {c['name']} | {_fmt(c['statistic'])} | {_fmt(c['threshold'])} | "
                f"{_fmt(c['p_value'])} | {'yes' if c['drifted'] else 'no'} |"
                for c in model["checks"]
            ]
            lines.append("")
        if model["review_candidates"]:
            found = ", ".join(f"{k}: {v}" for k, v in sorted(model["review_candidates"].items()))
            lines += [f"Sent to review (by reason, an answer may have several): {found}.", ""]
    queue = report["review"]["queue"]
    lines += [
        f"Review queue: {report['review']['enqueued']} added; {queue['open']} open "
        f"({queue['claimed']} claimed), {queue['done']} decided.",
        "",
    ]
    return "\n".join(lines)


def _html(markdown: str, images: dict[str, list[str]]) -> str:
    """The Markdown's content as a plain page, each model followed by its plots."""
    body: list[str] = []
    table: list[str] = []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            if not set(line) <= set("|-"):
                cells = [html.escape(c.strip()) for c in line.strip("|").split("|")]
                tag = "th" if not table else "td"
                table.append("<tr>" + "".join(f"<{tag}>{c}</{tag}>" for c in cells) + "</tr>")
            continue
        if table:
            body.append("<table>" + "".join(table) + "</table>")
            table = []
        if line.startswith("## "):
            title = line[3:]
            body.append(f"<h2>{html.escape(title)}</h2>")
            model = title.split(":")[0]
            body += [f'<img src="{src}" alt="{src}">' for src in images.get(model, [])]
        elif line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line:
            body.append(f"<p>{html.escape(line)}</p>")
    style = "body{font-family:sans-serif;max-width:60em;margin:2em auto}td,th{padding:2px 8px}"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>tunesmith monitor</title>"
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n"
    )


def write_report(
    root: Path, report: dict[str, Any], plots: dict[str, dict[str, Any]], config: ProjectConfig
) -> Path:
    """report.json / report.md / report.html and PNGs in root/<timestamp>/, written whole."""
    stamp = report["created_at"].replace(":", "")
    target = root / stamp
    staging = root / f".staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    images: dict[str, list[str]] = {}
    for model, data in plots.items():
        slug, names = _slug(model), []
        if data.get("margins"):
            names.append(f"{slug}-confidence.png")
            _plot_confidence(
                data["margins"], config.monitor.confidence_threshold, staging / names[-1]
            )
        if data.get("label_reference") and data.get("labels"):
            names.append(f"{slug}-labels.png")
            _plot_labels(data["label_reference"], data["labels"], staging / names[-1])
        if "reference" in data:
            names.append(f"{slug}-inputs.png")
            _plot_embeddings(data["reference"], data["current"], staging / names[-1])
        images[model] = names
    markdown = _markdown(report)
    (staging / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (staging / "report.md").write_text(markdown, encoding="utf-8")
    (staging / "report.html").write_text(_html(markdown, images), encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staging, target)
    return target

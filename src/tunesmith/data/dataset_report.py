"""The human side of a dataset version: report.md and a length histogram a privacy officer reads."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def plot_lengths(lengths: dict[str, list[int]], path: Path) -> None:
    """Histogram of message lengths in characters per split; deterministic bytes (no dates)."""
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=100)
    values = [v for split_lengths in lengths.values() for v in split_lengths]
    bins = 40 if values else 1
    for split, split_lengths in lengths.items():
        if split_lengths:
            ax.hist(split_lengths, bins=bins, range=(0, max(values)), alpha=0.6, label=split)
    ax.set_xlabel("characters per record (all messages)")
    ax.set_ylabel("records")
    ax.set_title("Record length by split")
    if values:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, format="png", metadata={"Software": None})
    plt.close(fig)


def _table(header: tuple[str, ...], rows: list[tuple[object, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def render_report(manifest: dict[str, object], reasons: Counter[str]) -> str:
    """Markdown summary of a version: counts, reconciliation, PII, duplicates, quarantine."""
    counts: dict = manifest["counts"]  # type: ignore[assignment]
    pii: dict = manifest["pii_found"]  # type: ignore[assignment]
    clusters: list = manifest["duplicate_clusters"]  # type: ignore[assignment]
    lines = [f"# Dataset {manifest['name']} {manifest['version']}", ""]
    parent = manifest["parent"] or "none"
    lines += [f"Parent version: {parent}. tunesmith {manifest['tunesmith_version']}.", ""]
    lines += ["## Counts", ""]
    dups = counts["duplicates"]
    rows = [
        ("rows read", counts["read"]),
        ("kept", counts["kept"]),
        ("exact duplicates", dups["exact"]),
        ("near duplicates", dups["near"]),
        ("quarantined", counts["quarantined"]),
    ]
    rows += [(f"split {name}", n) for name, n in counts["splits"].items()]
    lines += _table(("what", "records"), rows)
    verdict = "reconciles" if counts["reconciles"] else "DOES NOT reconcile"
    lines += [
        "",
        f"read {counts['read']} = kept {counts['kept']} + duplicates "
        f"{dups['exact'] + dups['near']} + quarantined {counts['quarantined']}: {verdict}.",
        "",
        "## Personal data found and masked",
        "",
    ]
    pii_rows = sorted(pii.items(), key=lambda kv: (-kv[1], kv[0]))
    lines += _table(("entity", "values masked"), pii_rows) if pii_rows else ["None found."]
    lines += ["", f"Masking mode: `{manifest['config']['pii']['mode']}`.", ""]
    lines += ["## Duplicate clusters", ""]
    biggest = sorted(clusters, key=lambda c: (-len(c["members"]), c["kept"]["id"]))[:10]
    lines += [f"{len(clusters)} clusters; the largest:", ""]
    lines += _table(
        ("kept id", "source row", "members"),
        [(c["kept"]["id"], c["kept"]["row"], len(c["members"])) for c in biggest],
    )
    lines += ["", "## Quarantine", ""]
    reason_rows = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    lines += _table(("reason", "rows"), reason_rows) if reason_rows else ["Nothing quarantined."]
    lines += ["", "## Lengths", "", "![record lengths](lengths.png)", ""]
    return "\n".join(lines)

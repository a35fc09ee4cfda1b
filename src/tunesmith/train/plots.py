"""loss.png: train and validation loss against optimizer steps."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from tunesmith.train.callbacks import read_metrics


def plot_loss(metrics_path: Path, out: Path) -> None:
    records = read_metrics(metrics_path)
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=100)
    for key, label in (("train_loss", "train"), ("val_loss", "validation")):
        points = [(r["step"], r[key]) for r in records if key in r]
        if points:
            ax.plot(
                *zip(*points, strict=True), marker="o" if key == "val_loss" else None, label=label
            )
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (assistant tokens)")
    ax.set_title("Training loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, metadata={"Software": None})
    plt.close(fig)

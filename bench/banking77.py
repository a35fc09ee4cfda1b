"""Banking77 (CC BY 4.0) as a tunesmith workspace: 20 intents, 800 train rows, 200 test rows.

Casanueva, Temčinas, Gerz, Henderson, Vulić (2020). Efficient Intent Detection with Dual
Sentence Encoders. NLP4ConvAI workshop, ACL 2020. arXiv:2003.04807.
The data is read by path from ../shared/datasets/banking77 and never copied into the repo.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import yaml

from tunesmith.config.workspace import Workspace
from tunesmith.data.curate import curate

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "banking77"
SYSTEM = "Classify the banking customer's message. Answer with its intent name only."


def _read(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def select(
    intents: int = 20, train_rows: int = 800, test_rows: int = 200, seed: int = 0
) -> tuple[list[str], list[dict[str, str]], list[dict[str, str]]]:
    """Seeded choice of intents, then rows balanced across them, from train.csv and test.csv."""
    rng = random.Random(seed)
    labels = sorted(rng.sample(json.loads((DATA / "categories.json").read_text()), intents))

    def balanced(rows: list[dict[str, str]], total: int) -> list[dict[str, str]]:
        picked = []
        for i, label in enumerate(labels):
            pool = [r for r in rows if r["category"] == label]
            share = total // intents + (1 if i < total % intents else 0)
            picked += rng.sample(pool, share)
        rng.shuffle(picked)
        return picked

    return labels, balanced(_read("train.csv"), train_rows), balanced(_read("test.csv"), test_rows)


def prepare_workspace(
    root: Path, base_model: dict[str, str] | None = None, **train: object
) -> tuple[Workspace, list[str], list[dict[str, str]]]:
    """A curated workspace whose dataset is the 800 train rows (no val/test split taken)."""
    labels, train_rows, test_rows = select()
    raw = root / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    with (raw / "banking77.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "text", "category"])
        writer.writeheader()
        for i, row in enumerate(train_rows):
            writer.writerow({"id": f"b77-{i:04d}", **row})
    config = {
        "project": "banking77",
        "data": {
            "name": "banking77",
            "sources": [{"path": "raw/banking77.csv", "id_field": "id"}],
            "template": {"system": SYSTEM, "user": "{{ text }}", "assistant": "{{ category }}"},
            "meta_fields": ["category"],
            "pii": {"skip_fields": ["id", "category"]},
            "dedup": {"fields": ["text"]},
            "quality": {"min_chars": 1},
            "split": {"val": 0.0, "test": 0.0},
        },
        "train": train,
    }
    if base_model:
        config["base_model"] = base_model
    (root / "tunesmith.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    workspace = Workspace(root)
    curate(workspace, workspace.load_config().data, workers=1)
    return workspace, labels, test_rows

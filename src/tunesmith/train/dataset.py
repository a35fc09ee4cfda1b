"""A dataset version's splits as token ids and labels for the Trainer, with counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tunesmith.config import TrainConfig
from tunesmith.config.workspace import Workspace
from tunesmith.data.version import latest_version
from tunesmith.train.tokenize import encode


class TrainInputError(ValueError):
    """A dataset, split or run that cannot be trained on; the message names it."""


def resolve_dataset(workspace: Workspace, name: str, version: str) -> tuple[Path, dict[str, Any]]:
    folder = workspace.dataset_dir(name)
    if version == "latest":
        latest = latest_version(folder)
        if latest is None:
            raise TrainInputError(
                f"no versions of dataset '{name}' in {folder}; run `tunesmith curate`"
            )
        version = f"v{latest[0]}"
    path = folder / version
    if not (path / "manifest.json").is_file():
        raise TrainInputError(f"dataset version {path} does not exist")
    return path, json.loads((path / "manifest.json").read_text(encoding="utf-8"))


def read_split(path: Path, split: str) -> list[dict[str, Any]]:
    file = path / f"{split}.jsonl"
    if not file.is_file():
        raise TrainInputError(f"{file}: split missing")
    return [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line]


def upsample_reviewed(records: list[dict[str, Any]], times: int) -> list[dict[str, Any]]:
    """Each reviewed record (one that names the interaction it came from) `times` times: a few
    dozen corrections among hundreds of records would otherwise barely move a short run."""
    out = []
    for record in records:
        repeat = times if record.get("meta", {}).get("interaction_id") else 1
        out += [record] * repeat
    return out


def encode_split(
    tokenizer: Any, records: list[dict[str, Any]], config: TrainConfig
) -> tuple[list[dict[str, list[int]]], dict[str, int]]:
    rows, counts = [], {"records": len(records), "truncated": 0, "dropped_too_long": 0}
    for record in records:
        encoded = encode(
            tokenizer,
            record["messages"],
            config.max_length,
            config.loss_on,
            truncate=config.truncation == "truncate",
        )
        if encoded is None:
            counts["dropped_too_long"] += 1
            continue
        counts["truncated"] += encoded.truncated
        rows.append({"input_ids": encoded.input_ids, "labels": encoded.labels})
    return rows, counts


def as_dataset(rows: list[dict[str, list[int]]]) -> Any:
    from datasets import Dataset

    return Dataset.from_list([{**r, "length": len(r["input_ids"])} for r in rows])

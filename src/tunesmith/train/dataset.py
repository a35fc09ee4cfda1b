"""A dataset version's splits as token ids and labels for the Trainer, with counts."""

from __future__ import annotations

from typing import Any

from tunesmith.config import TrainConfig
from tunesmith.data.version import DatasetError
from tunesmith.models.tokenize import encode


class TrainInputError(DatasetError):
    """A dataset, split or run that cannot be trained on; the message names it."""


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
            tools=record.get("tools"),
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

"""Preference records: `{"prompt", "chosen", "rejected", "meta"}` read, checked and split.

A record that cannot be trained on (bad JSON, a missing or empty answer, an answer that is not
the assistant's, chosen identical to rejected) goes to quarantine with its file, line and
reason; every line read ends as kept or quarantined, so the counts reconcile.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunesmith.data.pii import PiiMasker
from tunesmith.store.files import sha256_file

PROMPT_ROLES = {"system", "user", "assistant", "tool"}


class PreferenceInputError(ValueError):
    """Preference data that cannot be used at all; the message names the file."""


@dataclass
class PairSet:
    """Pairs read from one or more files, what was quarantined, and where they came from."""

    kept: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        read = sum(s["lines"] for s in self.sources.values())
        return {"read": read, "kept": len(self.kept), "quarantined": len(self.quarantined)}


def problem(record: Any) -> tuple[str, str | None] | None:
    """Why a preference record cannot be trained on, and the field at fault; None if it can."""
    if not isinstance(record, dict):
        return "not a JSON object", None
    prompt = record.get("prompt")
    if not isinstance(prompt, list) or not prompt:
        return "missing or empty 'prompt' (a list of messages)", "prompt"
    for i, message in enumerate(prompt):
        where = f"prompt[{i}]"
        if not isinstance(message, dict) or message.get("role") not in PROMPT_ROLES:
            return f"{where} has no valid role", f"{where}.role"
        if not isinstance(message.get("content"), str):
            return f"{where} has no text content", f"{where}.content"
    if prompt[-1]["role"] not in ("user", "tool"):
        return "the prompt must end with a user (or tool) message", f"prompt[{len(prompt) - 1}]"
    answers = {}
    for name in ("chosen", "rejected"):
        answer = record.get(name)
        if answer is None:
            return f"missing '{name}'", name
        if not isinstance(answer, list) or not answer:
            return f"'{name}' must be a non-empty list of messages", name
        for i, message in enumerate(answer):
            where = f"{name}[{i}]"
            if not isinstance(message, dict) or message.get("role") != "assistant":
                role = message.get("role") if isinstance(message, dict) else None
                return f"{where} has role {role!r}; an answer must be 'assistant'", f"{where}.role"
            if not isinstance(message.get("content"), str) or not message["content"].strip():
                return f"{where} has no text content", f"{where}.content"
        answers[name] = [m["content"].strip() for m in answer]
    if answers["chosen"] == answers["rejected"]:
        return "chosen and rejected are identical", "chosen"
    if "meta" in record and not isinstance(record["meta"], dict):
        return "'meta' must be an object", "meta"
    return None


def read_pairs(paths: list[Path], root: Path | None = None) -> PairSet:
    """Every line of every file checked: kept pairs (meta says where each came from) and
    quarantined lines with reasons. A file named twice is read once."""
    pairs = PairSet()
    for path in dict.fromkeys(p.resolve() for p in paths):
        if not path.is_file():
            raise PreferenceInputError(f"{path}: preference file not found")
        name = (
            str(path.relative_to(root.resolve()))
            if root and path.is_relative_to(root.resolve())
            else str(path)
        )
        lines = 0
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                lines += 1
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as err:
                    pairs.quarantined.append(_rejected(name, number, f"bad JSON: {err.msg}", line))
                    continue
                found = problem(record)
                if found is not None:
                    reason, at = found
                    pairs.quarantined.append(_rejected(name, number, reason, line, at))
                    continue
                meta = {**record.get("meta", {}), "pair_source": name, "pair_line": number}
                pairs.kept.append({**_answers_only(record), "meta": meta})
        if not lines:
            raise PreferenceInputError(f"{path}: no preference records")
        pairs.sources[name] = {"sha256": sha256_file(path), "lines": lines}
    return pairs


def mask_pairs(pairs: PairSet, masker: PiiMasker) -> dict[str, int]:
    """Mask personal data in every message of every kept pair, with the curate masker:
    review corrections and prepared files may carry names a served answer never had. One
    record is masked as one text, so a name gets the same placeholder in prompt and answers.
    A pair whose answers only differed in personal data is quarantined."""
    found: Counter[str] = Counter()
    kept = []
    for pair in pairs.kept:
        fields = {
            f"{side}{i}": m["content"]
            for side in ("prompt", "chosen", "rejected")
            for i, m in enumerate(pair[side])
        }
        masked, counts = masker.mask(fields)
        found.update(counts)
        for side in ("prompt", "chosen", "rejected"):
            for i, message in enumerate(pair[side]):
                message["content"] = masked[f"{side}{i}"]
        if [m["content"] for m in pair["chosen"]] == [m["content"] for m in pair["rejected"]]:
            meta = pair["meta"]
            reason = "chosen and rejected are identical once personal data is masked"
            pairs.quarantined.append(
                {
                    "source": meta["pair_source"],
                    "line": meta["pair_line"],
                    "field": "chosen",
                    "reason": reason,
                    "sha256": None,
                }
            )
            continue
        kept.append(pair)
    pairs.kept = kept
    return dict(sorted(found.items()))


def held_out(pair: dict[str, Any], share: float) -> bool:
    """Whether a human pair is kept back from training to check the judges against, stable
    for its prompt."""
    return _unit(pair["prompt"], "judges") < share


def take_held_out(
    pairs: PairSet, review_files: list[Path], root: Path, share: float
) -> list[dict[str, Any]]:
    """Take the human pairs (those read from `review_files`) that `held_out` keeps back out of
    `pairs.kept`, and return them: never trained on, the decisions the judges are checked on."""
    reviews = {str(p.resolve().relative_to(root.resolve())) for p in review_files}
    kept_back = [
        p for p in pairs.kept if p["meta"]["pair_source"] in reviews and held_out(p, share)
    ]
    pairs.kept = [p for p in pairs.kept if not any(p is k for k in kept_back)]
    return kept_back


def require_pairs(pairs: PairSet) -> None:
    """Refuse a set with no pair left to train on, naming the first reasons."""
    if not pairs.kept:
        reasons = "; ".join(
            f"{q['source']}:{q['line']}: {q['reason']}" for q in pairs.quarantined[:3]
        )
        raise PreferenceInputError(f"no usable preference pairs ({reasons})")


def split_pairs(
    pairs: list[dict[str, Any]], val_share: float, seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Train and validation pairs by a seeded hash of the prompt: pairs of one prompt stay
    together, so validation margins are measured on prompts never trained on."""
    train, val = [], []
    for pair in pairs:
        (val if _unit(pair["prompt"], f"{seed}\x00pair") < val_share else train).append(pair)
    if not train:
        raise PreferenceInputError(f"all {len(pairs)} pairs fell into validation; lower val_share")
    return train, val


def _unit(prompt: list[dict[str, str]], salt: str) -> float:
    """A number in [0, 1] fixed by the prompt and the salt."""
    text = json.dumps(prompt, sort_keys=True, ensure_ascii=False)
    return int(hashlib.sha256(f"{salt}\x00{text}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def _answers_only(record: dict[str, Any]) -> dict[str, Any]:
    """The fields a trainer reads; answer messages reduced to role and content."""
    return {
        "prompt": [{"role": m["role"], "content": m["content"]} for m in record["prompt"]],
        "chosen": [{"role": "assistant", "content": m["content"]} for m in record["chosen"]],
        "rejected": [{"role": "assistant", "content": m["content"]} for m in record["rejected"]],
    }


def _rejected(
    source: str, line: int, reason: str, text: str, field_name: str | None = None
) -> dict[str, Any]:
    """Where the line is and why it was refused; not its text, which may hold personal data
    that was never masked (the line stays in its source file, findable by file and line)."""
    digest = hashlib.sha256(text.rstrip("\n").encode()).hexdigest()
    return {"source": source, "line": line, "field": field_name, "reason": reason, "sha256": digest}

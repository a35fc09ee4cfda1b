"""What memory holds and hands out: the scope it is kept under, and one memory as the model
is given it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np


@dataclass(frozen=True)
class Scope:
    """Whose memory: the API key's tenant and the request's end user."""

    tenant: str
    user: str

    @property
    def subject(self) -> str:
        """How the audit log names the scope: the user only as a digest (the log is kept for
        good, the user's id is personal data that `forget` must not leave behind)."""
        digest = hashlib.sha256(f"{self.tenant}\x00{self.user}".encode()).hexdigest()[:16]
        return f"memory:{self.tenant}/{digest}"


@dataclass(frozen=True)
class Memory:
    """One fact or earlier turn given to the model, with what it came from."""

    id: str  # "f12" a fact row, "e7" an episode row
    kind: Literal["fact", "episode"]
    text: str  # as the prompt shows it
    score: float  # cosine similarity to the question
    created_at: str
    source_interaction: str

    def record(self) -> dict[str, Any]:
        """The interaction's memory record: ids, kinds and scores, never the text."""
        return {
            "id": self.id,
            "kind": self.kind,
            "score": round(self.score, 6),
            "source": self.source_interaction,
        }


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_blobs(blobs: list[bytes]) -> np.ndarray:
    if not blobs:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([np.frombuffer(b, dtype="<f4") for b in blobs])


def fact_text(slot: str, value: str) -> str:
    """A fact as it is embedded and shown: `preferred contact: phone`."""
    return f"{slot.replace('_', ' ').replace('.', ' ')}: {value}"

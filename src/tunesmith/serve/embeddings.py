"""`POST /v1/embeddings`: the knowledge base's sentence-embedding model, in OpenAI's shape."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from tunesmith.models.sentence import SentenceModel
from tunesmith.serve.schemas import EmbeddingRequest


def embed(model: SentenceModel, request: EmbeddingRequest) -> dict[str, Any]:
    """Normalised vectors, as floats or as base64 of little-endian float32 (the encoding the
    openai client asks for by default); usage counts the model's own tokens."""
    texts = [request.input] if isinstance(request.input, str) else list(request.input)
    vectors = model.encode(texts)
    tokens = sum(
        min(len(ids), model.max_tokens)
        for ids in model.tokenizer(texts, add_special_tokens=True)["input_ids"]
    )
    data = []
    for index, vector in enumerate(vectors):
        if request.encoding_format == "base64":
            value: Any = base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
        else:
            value = [float(x) for x in np.asarray(vector, dtype=np.float32)]
        data.append({"object": "embedding", "index": index, "embedding": value})
    return {
        "object": "list",
        "data": data,
        "model": model.name,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }

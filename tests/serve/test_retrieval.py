"""Answers from the knowledge base through the unmodified `openai` client: the key's groups
decide what reaches the prompt, the response, the stream and the captured interaction."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import openai
import pytest
import sqlalchemy as sa
from openai import OpenAI

from tunesmith.config.workspace import Workspace
from tunesmith.examples.scaffold import create_workspace
from tunesmith.knowledge.index import build_index
from tunesmith.serve.app import create_app, load_state
from tunesmith.store.db import interactions
from tunesmith.store.keys import create_key

from ..kb_assets import write_kb
from .server import live_server, set_config

HR_TEXT = "20 weeks of paid parental leave"
EXEC_TEXT = "12 percent of operating profit"
REFUSAL = "I cannot answer that from the documents you have access to."


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, bpe_model_dir: Path, tiny_embedder: Path
) -> Iterator[dict[str, Any]]:
    root = create_workspace(tmp_path_factory.mktemp("kb-serve") / "ws", "support-tickets", rows=60)
    write_kb(root)
    set_config(
        root,
        base_model={"name": "tiny-bpe", "path": str(bpe_model_dir)},
        knowledge={
            "sources": [{"path": "kb"}],
            "embedding": {"model": str(tiny_embedder)},
            "chunking": {"max_tokens": 32, "overlap_tokens": 8},
        },
        serve={"max_tokens": 32, "retrieval": {"models": ["tiny-bpe"], "top_k": 3}},
    )
    ws = Workspace(root)
    config = ws.load_config()
    assert config.knowledge is not None
    build_index(ws, config.knowledge)
    state = load_state(ws, config)
    keys = {
        name: create_key(state.store, name, ["*"], "ci", groups=groups)[1]
        for name, groups in [("support", ["support"]), ("hr", ["hr"]), ("nobody", [])]
    }
    with live_server(create_app(state)) as url:
        yield {"url": url, "keys": keys, "state": state, "embedder": tiny_embedder}


def api(served: dict[str, Any], key: str) -> OpenAI:
    return OpenAI(base_url=served["url"] + "/v1", api_key=served["keys"][key], max_retries=0)


def _stored(served: dict[str, Any], completion_id: str) -> Any:
    with served["state"].store.connect() as conn:
        return conn.execute(sa.select(interactions).where(interactions.c.id == completion_id)).one()


def _ask(served: dict[str, Any], key: str, text: str, **extra: Any) -> Any:
    return api(served, key).chat.completions.create(
        model="tiny-bpe",
        messages=[{"role": "user", "content": text}],
        max_tokens=8,
        temperature=0,
        **extra,
    )


def test_a_caller_is_answered_only_from_documents_its_groups_may_read(
    served: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="tunesmith.serve")
    for question in ("how long is parental leave", "executive bonus pool", "refund window"):
        reply = _ask(served, "support", question)
        message = reply.choices[0].message
        assert isinstance(message.annotations, list)
        stored = _stored(served, reply.id)
        chunks = stored.retrieval["chunks"]
        assert chunks and all(c["id"].startswith("public/") for c in chunks)
        assert stored.retrieval["index_version"] == 1 and stored.retrieval["refused"] is False
        for annotation in message.annotations:
            assert annotation.url_citation.url.startswith("kb://public/")
    prompts = " ".join(r.getMessage() for r in caplog.records if "model input" in r.getMessage())
    assert "kb://public/refunds.md" in prompts  # the sources reached the model's prompt...
    assert HR_TEXT not in prompts and EXEC_TEXT not in prompts  # ...and only readable ones
    hr = _stored(served, _ask(served, "hr", "how long is parental leave").id)
    assert [c["id"] for c in hr.retrieval["chunks"]] == ["internal/leave.md#0"]


def test_a_key_without_groups_gets_the_refusal_and_the_model_never_runs(
    served: dict[str, Any],
) -> None:
    reply = _ask(served, "nobody", "how long is parental leave")
    assert reply.choices[0].message.content == REFUSAL
    assert reply.choices[0].message.annotations == []
    assert reply.usage.completion_tokens == 0
    stored = _stored(served, reply.id)
    assert stored.retrieval == {"index_version": 1, "chunks": [], "refused": True}
    assert HR_TEXT not in str(stored.messages) + str(stored.choices)

    chunks = list(
        api(served, "nobody").chat.completions.create(
            model="tiny-bpe",
            messages=[{"role": "user", "content": "parental leave"}],
            stream=True,
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == REFUSAL
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_a_stream_carries_the_citations_in_its_last_chunk(served: dict[str, Any]) -> None:
    chunks = list(
        api(served, "support").chat.completions.create(
            model="tiny-bpe",
            messages=[{"role": "user", "content": "refund window"}],
            max_tokens=8,
            temperature=0,
            stream=True,
        )
    )
    last = chunks[-1].choices[0]
    assert last.finish_reason is not None
    assert isinstance(last.delta.model_extra.get("annotations"), list)
    assert _stored(served, chunks[0].id).retrieval["chunks"]


def test_a_request_can_turn_retrieval_off(served: dict[str, Any]) -> None:
    reply = _ask(served, "nobody", "parental leave", extra_body={"retrieval": {"enabled": False}})
    assert reply.choices[0].message.content != REFUSAL
    assert _stored(served, reply.id).retrieval is None
    assert getattr(reply.choices[0].message, "annotations", None) is None


def test_embeddings_are_served_in_openais_shape(served: dict[str, Any]) -> None:
    client = api(served, "support")
    model = str(served["embedder"])
    # the client asks for base64 by default and decodes it itself
    got = client.embeddings.create(model=model, input=["refund window", "parental leave"])
    vectors = np.array([d.embedding for d in got.data])
    assert vectors.shape == (2, 32)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    plain = client.embeddings.create(model=model, input="refund window", encoding_format="float")
    assert np.allclose(plain.data[0].embedding, vectors[0], atol=1e-6)
    assert got.usage.prompt_tokens > 0
    decoded = np.frombuffer(base64.b64decode(_raw_b64(served, model)), dtype="<f4")
    assert decoded.shape == (32,)
    with pytest.raises(openai.NotFoundError, match="not served here"):
        client.embeddings.create(model="text-embedding-3-small", input="x")


def _raw_b64(served: dict[str, Any], model: str) -> str:
    import httpx

    response = httpx.post(
        served["url"] + "/v1/embeddings",
        headers={"Authorization": f"Bearer {served['keys']['support']}"},
        json={"model": model, "input": "x", "encoding_format": "base64"},
    )
    assert response.status_code == 200, response.text
    return response.json()["data"][0]["embedding"]


def test_a_reviewer_sees_which_sources_an_answer_was_given(served: dict[str, Any]) -> None:
    from tunesmith.review import queue

    store = served["state"].store
    sourced = _ask(served, "hr", "how long is parental leave")
    refused = _ask(served, "nobody", "how long is parental leave")
    queue.enqueue(
        store,
        [queue.Candidate(r.id, "tiny-bpe", ["audit_sample"], -1.0) for r in (sourced, refused)],
    )
    by_interaction = {
        i.interaction_id: i
        for i in (queue.get_item(store, n) for n in range(1, 10) if _exists(store, n))
    }
    assert [c["id"] for c in by_interaction[sourced.id].retrieval["chunks"]] == [
        "internal/leave.md#0"
    ]
    assert by_interaction[refused.id].retrieval["refused"] is True


def _exists(store: Any, item_id: int) -> bool:
    from tunesmith.store.db import review_items

    with store.connect() as conn:
        found = conn.execute(sa.select(review_items.c.id).where(review_items.c.id == item_id))
        return found.first() is not None

"""Memory on the server through the unmodified `openai` client: what a user said is given to
the model in the user's next call, within the key's tenant only, committed before the response,
forgotten by `DELETE /v1/memory/{user}` with an audit entry."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from openai import OpenAI

from tunesmith.config.workspace import Workspace
from tunesmith.examples.scaffold import create_workspace
from tunesmith.memory.manage import count
from tunesmith.memory.records import Scope
from tunesmith.review.queue import Candidate, enqueue
from tunesmith.serve.app import create_app, load_state
from tunesmith.store import audit
from tunesmith.store.db import interactions, memory_facts
from tunesmith.store.keys import create_key

from .server import live_server, set_config

ORDER = "ORD-482913"


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, bpe_model_dir: Path, tiny_embedder: Path
) -> Iterator[dict[str, Any]]:
    root = create_workspace(tmp_path_factory.mktemp("memory") / "ws", "support-tickets", rows=60)
    set_config(
        root,
        base_model={"name": "tiny-bpe", "path": str(bpe_model_dir)},
        serve={"max_tokens": 16},
        memory={
            "models": ["tiny-bpe"],
            "embedding_model": str(tiny_embedder),
            "min_similarity": -1.0,
            "facts": [
                {"slot": "order_id", "pattern": r"\b(ORD-\d{6})\b"},
                {"slot": "city", "pattern": r"(?i)\bI (?:live|moved) (?:in|to) ([A-Z][a-z]+)"},
            ],
        },
    )
    ws = Workspace(root)
    state = load_state(ws, ws.load_config())
    keys = {
        name: create_key(state.store, name, ["*"], "ci", tenant=tenant)[1]
        for name, tenant in [("acme-app", "acme"), ("acme-web", "acme"), ("globex", "globex"),
                             ("plain", None)]
    }  # fmt: skip
    keys["reviewer"] = create_key(state.store, "rev", ["*"], "ci", roles=["reviewer"])[1]
    with live_server(create_app(state)) as url:
        yield {"url": url, "keys": keys, "state": state, "log": audit.audit_path(ws.state_dir)}


def _client(served: dict[str, Any], key: str) -> OpenAI:
    return OpenAI(base_url=served["url"] + "/v1", api_key=served["keys"][key], max_retries=0)


def _ask(served: dict[str, Any], key: str, text: str, user: str | None, **extra: Any) -> Any:
    return _client(served, key).chat.completions.create(
        model="tiny-bpe",
        messages=[{"role": "user", "content": text}],
        max_tokens=4,
        temperature=0,
        **({"user": user} if user else {}),
        **extra,
    )


def _memory(reply: Any) -> list[dict[str, Any]] | None:
    return (reply.model_extra or {}).get("tunesmith_memory")


def test_a_users_words_reach_their_next_call_and_no_one_elses(
    served: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    first = _ask(served, "acme-app", f"My order {ORDER} is late. I live in Leeds.", "u-1")
    # written before the response: the facts are in the store when the reply arrives
    with served["state"].store.connect() as conn:
        facts = conn.execute(
            sa.select(memory_facts.c.slot, memory_facts.c.value, memory_facts.c.source_interaction)
        ).all()
    assert {(f.slot, f.value) for f in facts} == {("order_id", ORDER), ("city", "Leeds")}
    assert {f.source_interaction for f in facts} == {first.id}

    caplog.set_level(logging.DEBUG, logger="tunesmith.serve")
    second = _ask(served, "acme-web", "What was my order number?", "u-1")  # same tenant
    given = _memory(second)
    assert given and any(m["text"] == f"order id: {ORDER}" for m in given)
    prompts = " ".join(r.getMessage() for r in caplog.records if "model input" in r.getMessage())
    assert ORDER in prompts and "[M1]" in prompts
    with served["state"].store.connect() as conn:
        stored = conn.execute(sa.select(interactions).where(interactions.c.id == second.id)).one()
    assert [m["id"] for m in stored.memory["used"]] == [m["id"] for m in given]
    assert ORDER not in str(stored.memory)  # the record names memories, never holds them

    # the review page's item says which memories the answer was given, with their text
    enqueue(served["state"].store, [Candidate(second.id, "tiny-bpe", ["audit_sample"], 0.5)])
    reviewer = {"Authorization": f"Bearer {served['keys']['reviewer']}"}
    item = httpx.get(f"{served['url']}/v1/review/next", headers=reviewer).json()["item"]
    assert item["interaction_id"] == second.id
    assert f"order_id: {ORDER}" in [m["text"] for m in item["memories"]]

    caplog.clear()
    for key, user in [("globex", "u-1"), ("acme-app", "u-2"), ("plain", "u-1"), ("acme-app", None)]:
        other = _ask(served, key, "What was my order number?", user)
        assert not _memory(other), (key, user)
    prompts = " ".join(r.getMessage() for r in caplog.records if "model input" in r.getMessage())
    assert ORDER not in prompts
    assert count(served["state"].store, Scope("globex", "u-1")) == 1  # its own turn only
    assert count(served["state"].store, Scope("plain", "u-1")) == 0  # no tenant: nothing


def test_the_stream_names_the_memories_and_forget_removes_them(served: dict[str, Any]) -> None:
    _ask(served, "acme-app", "I moved to Manchester.", "u-3")
    chunks = list(
        _client(served, "acme-app").chat.completions.create(
            model="tiny-bpe",
            messages=[{"role": "user", "content": "Where do I live?"}],
            max_tokens=4,
            user="u-3",
            stream=True,
        )
    )
    last = next(c for c in chunks if c.choices and c.choices[0].finish_reason)
    assert any(m["text"] == "city: Manchester" for m in last.model_extra["tunesmith_memory"])

    headers = {"Authorization": f"Bearer {served['keys']['acme-web']}"}
    shown = httpx.get(f"{served['url']}/v1/memory/u-3", headers=headers).json()
    assert [f["value"] for f in shown["facts"]] == ["Manchester"]
    gone = httpx.delete(f"{served['url']}/v1/memory/u-3", headers=headers)
    assert gone.status_code == 200 and gone.json()["deleted"] == {"episodes": 2, "facts": 1}
    assert count(served["state"].store, Scope("acme", "u-3")) == 0
    assert not _memory(_ask(served, "acme-app", "Where do I live?", "u-3"))
    entry = [e for e in audit.entries(served["log"]) if e.action == "memory.forget"][-1]
    assert entry.actor == "key:acme-web" and "u-3" not in entry.subject
    assert audit.verify(served["log"]).ok

    plain = {"Authorization": f"Bearer {served['keys']['plain']}"}
    refused = httpx.delete(f"{served['url']}/v1/memory/u-1", headers=plain)
    assert refused.status_code == 403


def test_the_servers_schedule_expires_memories_past_retention(served: dict[str, Any]) -> None:
    import asyncio

    import numpy as np

    from tunesmith.serve.memory import expire_on_schedule
    from tunesmith.store.db import memory_episodes

    state = served["state"]
    with state.store.begin() as conn:
        conn.execute(
            memory_episodes.insert().values(
                tenant="acme", end_user="u-old", interaction_id="c-old", model="tiny-bpe",
                created_at="2020-01-01T00:00:00.000Z", text="user: hi", embedding_model="m",
                vector=np.ones(4, dtype="<f4").tobytes(),
            )
        )  # fmt: skip
    assert count(state.store, Scope("acme", "u-old")) == 1

    async def one_round() -> None:
        with pytest.raises(TimeoutError):  # the schedule runs until the server stops
            await asyncio.wait_for(expire_on_schedule(state), timeout=1.0)

    asyncio.run(one_round())
    assert count(state.store, Scope("acme", "u-old")) == 0
    assert [e.action for e in audit.entries(served["log"])][-1] == "memory.expire"

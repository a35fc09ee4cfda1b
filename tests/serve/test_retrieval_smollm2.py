"""The bundled SmolLM2 answering from the bundled knowledge base through the unmodified `openai`
client: a support agent's answer cites a policy it may read; a question only HR's documents
answer is refused to the agent and answered for HR."""

from __future__ import annotations

from pathlib import Path

import pytest
from openai import OpenAI

from tunesmith.config.workspace import Workspace
from tunesmith.examples.scaffold import create_workspace
from tunesmith.knowledge.index import build_index
from tunesmith.serve.app import create_app, load_state
from tunesmith.store.keys import create_key

from .server import live_server, set_config

SHIPPING = "How long does standard shipping take?"
LEAVE = "How many weeks of parental leave do birth parents get?"


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_smollm2_cites_what_the_key_may_read_and_refuses_the_rest(tmp_path: Path) -> None:
    root = create_workspace(tmp_path / "ws", "support-tickets", rows=20)
    set_config(root, serve={"max_tokens": 64})
    ws = Workspace(root)
    config = ws.load_config()
    assert config.knowledge is not None
    build_index(ws, config.knowledge)
    state = load_state(ws, config)
    agent = create_key(state.store, "agent", ["base"], "ci", groups=["support", "staff"])[1]
    hr = create_key(state.store, "hr", ["base"], "ci", groups=["hr"])[1]
    with live_server(create_app(state)) as url:

        def ask(key: str, question: str):  # type: ignore[no-untyped-def]
            client = OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=300)
            return (
                client.chat.completions.create(
                    model="base",
                    messages=[{"role": "user", "content": question}],
                    max_tokens=60,
                    temperature=0,
                    extra_body={"retrieval": {"enabled": True, "top_k": 3}},
                )
                .choices[0]
                .message
            )

        cited = ask(agent, SHIPPING)
        urls = [a.url_citation.url for a in cited.annotations]
        assert urls and all(u.startswith("kb://public/") for u in urls), cited
        first = cited.annotations[0].url_citation
        assert cited.content[first.start_index : first.end_index].strip()
        refused = ask(agent, LEAVE)
        assert refused.content == config.serve.retrieval.refusal and refused.annotations == []
        answered = ask(hr, LEAVE)
        assert answered.content != config.serve.retrieval.refusal
        assert all(a.url_citation.url.startswith("kb://hr/") for a in answered.annotations)

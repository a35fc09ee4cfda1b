"""A streamed call is committed before the chunk that carries its finish_reason: SIGKILL the
`tunesmith serve` process the moment the client reads that chunk, and the row is there.
A constrained answer cut by max_tokens says "length", not that it is valid."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import torch

from tunesmith.config.workspace import Workspace
from tunesmith.examples.scaffold import create_workspace
from tunesmith.serve.structured import Grammars
from tunesmith.store.db import interactions, open_store
from tunesmith.store.keys import create_key

from .server import set_config


def test_a_stream_is_committed_before_its_finish_chunk(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    root = create_workspace(tmp_path / "ws", "support-tickets", rows=40)
    set_config(root, base_model={"name": "tiny-word", "path": str(tiny_model_dir)})
    ws = Workspace(root)
    store = open_store(ws.state_url())
    secret = create_key(store, "app", ["*"], "ci")[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "tunesmith.cli", "serve", "-w", str(root), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "TUNESMITH_ACTOR": "ci"},
    )
    finish = None
    try:
        url = re.search(r"http://\S+/v1", server.stdout.readline()).group(0)
        body = {
            "model": "tiny-word",
            "messages": [{"role": "user", "content": "late parcel refund"}],
            "stream": True,
            "max_tokens": 30,
        }
        headers = {"Authorization": f"Bearer {secret}"}
        with httpx.stream(
            "POST", url + "/chat/completions", json=body, headers=headers, timeout=60
        ) as reply:
            for line in reply.iter_lines():
                if not line.startswith("data: {"):
                    continue
                chunk = json.loads(line[len("data: ") :])
                if chunk["choices"] and chunk["choices"][0]["finish_reason"]:
                    server.send_signal(signal.SIGKILL)  # before [DONE] is read
                    finish = chunk
                    break
        server.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    assert finish is not None
    with store.connect() as conn:
        row = conn.execute(sa.select(interactions).where(interactions.c.id == finish["id"])).first()
    assert row is not None and row.stream
    assert row.finish_reason == finish["choices"][0]["finish_reason"]


def test_a_constrained_answer_cut_by_max_tokens_finishes_with_length(
    bpe_model_dir: Path,
) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tunesmith.models.tokenize import tokenize_prompts
    from tunesmith.serve.engine import Engine, Sequence
    from tunesmith.serve.sampling import SamplingParams

    from .test_engine import Collector

    model = AutoModelForCausalLM.from_pretrained(bpe_model_dir, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(bpe_model_dir)
    engine = Engine(model, tokenizer)
    grammars = Grammars(tokenizer, int(model.config.vocab_size), engine.eos)
    schema = {
        "type": "object",
        "properties": {"queue": {"enum": ["billing", "technical", "shipping"]}},
        "required": ["queue"],
    }
    prompt = tokenize_prompts(tokenizer, [[{"role": "user", "content": "route this"}]])[0]
    engine.start()
    try:
        sink = Collector()
        params = SamplingParams(max_tokens=3, temperature=0.0)
        engine.submit(Sequence(prompt, params, sink, constraint=grammars.for_schema(schema)))
        assert sink.finished.wait(60)
    finally:
        engine.stop()
    assert sink.done is not None and sink.done.finish_reason == "length"
    assert sink.text.startswith("{")
    with pytest.raises(json.JSONDecodeError):
        json.loads(sink.text)

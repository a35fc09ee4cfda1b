"""The official `openai` client, unmodified, against a live server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import openai
import pytest
import sqlalchemy as sa
from openai import OpenAI

from tunesmith.registry import register
from tunesmith.registry.client import client
from tunesmith.serve.app import create_app, load_state
from tunesmith.store.db import interactions
from tunesmith.store.keys import create_key

from .server import live_server, set_config, trained_workspace

SCHEMA = {
    "type": "object",
    "properties": {
        "queue": {"enum": ["billing", "technical", "shipping"]},
        "urgent": {"type": "boolean"},
    },
    "required": ["queue", "urgent"],
    "additionalProperties": False,
}
LOOKUP = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "description": "Find an order",
        "parameters": {
            "type": "object",
            "properties": {"priority": {"enum": ["low", "high"]}},
            "required": ["priority"],
            "additionalProperties": False,
        },
    },
}


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, bpe_model_dir: Path
) -> Iterator[dict[str, Any]]:
    ws, runs = trained_workspace(tmp_path_factory.mktemp("serve") / "ws", bpe_model_dir)
    # a call in the tools' format is ~70 tokens of this tiny BPE vocabulary
    set_config(ws.root, serve={"max_tokens": 128})
    for run_id in runs:
        register(ws, run_id, "support-router")
    client(ws).set_registered_model_alias("support-router", "champion", "1")
    state = load_state(ws, ws.load_config())
    keys = {
        name: create_key(state.store, name, models, "ci", rate)[1]
        for name, models, rate in [
            ("app", ["support-router", "tiny-bpe"], None),
            ("narrow", ["other-model"], None),
            ("slow", ["*"], "2/min"),
            ("wide", ["*"], None),
        ]
    }
    with live_server(create_app(state)) as url:
        yield {"ws": ws, "runs": runs, "url": url, "keys": keys, "state": state}


def api(served: dict[str, Any], key: str = "app") -> OpenAI:
    return OpenAI(base_url=served["url"] + "/v1", api_key=served["keys"][key], max_retries=0)


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_chat_completion_and_stream_agree(served: dict[str, Any]) -> None:
    client_ = api(served)
    done = client_.chat.completions.create(
        model="support-router@champion",
        messages=ask("my parcel is late"),
        max_tokens=12,
        temperature=0,
        logprobs=True,
        top_logprobs=2,
    )
    choice = done.choices[0]
    assert choice.finish_reason in ("stop", "length") and choice.message.role == "assistant"
    assert done.usage.prompt_tokens > 0 and done.usage.completion_tokens == len(
        choice.logprobs.content
    )
    assert all(len(t.top_logprobs) == 2 for t in choice.logprobs.content)
    assert done.system_fingerprint == served["runs"][0]
    chunks = list(
        client_.chat.completions.create(
            model="support-router@champion",
            messages=ask("my parcel is late"),
            max_tokens=12,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == choice.message.content
    assert chunks[-1].usage.completion_tokens == done.usage.completion_tokens
    finishes = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finishes == [choice.finish_reason]


def test_n_choices_are_independent_and_seeded(served: dict[str, Any]) -> None:
    client_ = api(served)

    def sample() -> list[str]:
        done = client_.chat.completions.create(
            model="tiny-bpe", messages=ask("refund"), n=3, seed=5, temperature=1.0, max_tokens=8
        )
        assert [c.index for c in done.choices] == [0, 1, 2]
        return [c.message.content for c in done.choices]

    first = sample()
    assert sample() == first and len(set(first)) > 1


def test_json_schema_output_always_validates(served: dict[str, Any]) -> None:
    client_ = api(served)
    for seed in range(5):
        done = client_.chat.completions.create(
            model="support-router/2",
            messages=ask("route this ticket"),
            max_tokens=48,
            temperature=1.0,
            seed=seed,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "route", "schema": SCHEMA},
            },
        )
        jsonschema.validate(json.loads(done.choices[0].message.content), SCHEMA)


def test_tool_call_round_trip(served: dict[str, Any]) -> None:
    client_ = api(served)
    messages: list[dict[str, Any]] = ask("where is order A1?")
    first = client_.chat.completions.create(
        model="tiny-bpe",
        messages=messages,
        tools=[LOOKUP],
        tool_choice="required",
        parallel_tool_calls=False,
        max_tokens=96,
        temperature=0,
    )
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls" and call.function.name == "lookup_order"
    jsonschema.validate(json.loads(call.function.arguments), LOOKUP["function"]["parameters"])
    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"status": "shipped"}'},
    ]
    second = client_.chat.completions.create(
        model="tiny-bpe", messages=messages, tools=[LOOKUP], tool_choice="none", max_tokens=8
    )
    assert second.choices[0].message.content is not None


def test_refusals_have_openai_status_and_shape(served: dict[str, Any]) -> None:
    bad = OpenAI(base_url=served["url"] + "/v1", api_key="ts-not-a-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="tiny-bpe", messages=ask("hi"))
    with pytest.raises(openai.PermissionDeniedError) as denied:
        api(served, "narrow").chat.completions.create(
            model="support-router@champion", messages=ask("hi")
        )
    assert "may not use model" in denied.value.message
    with pytest.raises(openai.BadRequestError) as invalid:
        api(served).chat.completions.create(model="tiny-bpe", messages=ask("hi"), temperature=5)
    assert "temperature" in invalid.value.message
    with pytest.raises(openai.BadRequestError):
        api(served).chat.completions.create(model="tiny-bpe", messages=ask("hi"), max_tokens=10_000)
    with pytest.raises(openai.NotFoundError):
        api(served).chat.completions.create(model="support-router/9", messages=ask("hi"))
    slow = api(served, "slow")
    for _ in range(2):
        slow.chat.completions.create(model="tiny-bpe", messages=ask("hi"), max_tokens=2)
    with pytest.raises(openai.RateLimitError) as limited:
        slow.chat.completions.create(model="tiny-bpe", messages=ask("hi"), max_tokens=2)
    assert int(limited.value.response.headers["retry-after"]) >= 1
    big = httpx.post(
        served["url"] + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {served['keys']['app']}"},
        content=b"x" * 2_000_000,
    )
    assert big.status_code == 413 and big.json()["error"]["code"] == "too_large"

    def chunks() -> Any:
        for _ in range(40):
            yield b"x" * 65536

    streamed = httpx.post(
        served["url"] + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {served['keys']['app']}"},
        content=chunks(),
    )
    assert streamed.status_code == 413
    with pytest.raises(openai.BadRequestError, match="stop string"):
        api(served).chat.completions.create(model="tiny-bpe", messages=ask("hi"), stop=[""])
    with pytest.raises(openai.BadRequestError, match="not JSON"):
        api(served).chat.completions.create(
            model="tiny-bpe",
            messages=[
                {"role": "user", "content": "hi"},
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{"},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "ok"},
            ],
        )


def test_models_lists_base_registry_and_runs_within_scope(served: dict[str, Any]) -> None:
    ids = {m.id: m for m in api(served, "wide").models.list()}
    for ref in [
        "tiny-bpe",
        "support-router@champion",
        "support-router/1",
        "support-router/2",
        *served["runs"],
    ]:
        assert ref in ids
    assert ids["support-router/1"].model_extra["parent"] == "tiny-bpe"
    scoped = {m.id for m in api(served).models.list()}
    assert served["runs"][0] not in scoped and "support-router/2" in scoped


def test_alias_move_switches_the_served_adapter_without_restart(served: dict[str, Any]) -> None:
    import time

    client_ = api(served)
    first = client_.chat.completions.create(model="support-router", messages=ask("x"), max_tokens=2)
    assert first.system_fingerprint == served["runs"][0]
    client(served["ws"]).set_registered_model_alias("support-router", "champion", "2")
    deadline = time.monotonic() + 5
    while True:
        now = client_.chat.completions.create(
            model="support-router", messages=ask("x"), max_tokens=2
        )
        if now.system_fingerprint == served["runs"][1]:
            break
        assert time.monotonic() < deadline, "the server still serves the old champion"
        time.sleep(0.1)
    client(served["ws"]).set_registered_model_alias("support-router", "champion", "1")


def test_answered_calls_are_stored_masked(served: dict[str, Any]) -> None:
    state = served["state"]
    with state.store.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(interactions)).scalar_one()
    done = api(served).chat.completions.create(
        model="support-router@champion",
        messages=ask("Please write to maria.garcia@example.com about ACC-123456"),
        max_tokens=4,
    )
    with state.store.connect() as conn:
        rows = conn.execute(sa.select(interactions).where(interactions.c.id == done.id)).all()
        after = conn.execute(sa.select(sa.func.count()).select_from(interactions)).scalar_one()
    assert after == before + 1 and len(rows) == 1
    row = rows[0]
    stored = json.dumps(row.messages)
    assert "maria.garcia@example.com" not in stored and "ACC-123456" not in stored
    assert row.run_id == served["runs"][0] and row.registry_version == 1 and row.key_name == "app"
    assert row.completion_tokens == done.usage.completion_tokens and row.mean_logprob < 0


def test_health_and_metrics(served: dict[str, Any]) -> None:
    health = httpx.get(served["url"] + "/healthz").json()
    assert health["status"] == "ok" and health["base_model"] == "tiny-bpe"
    text = httpx.get(served["url"] + "/metrics").text
    for name in (
        "tunesmith_requests_total",
        "tunesmith_request_latency_seconds_bucket",
        "tunesmith_time_to_first_token_seconds_bucket",
        "tunesmith_generated_tokens_total",
        "tunesmith_queue_depth",
        "tunesmith_loaded_adapters",
    ):
        assert name in text
    assert 'status="401"' in text


def test_killing_the_server_loses_no_answered_call(served: dict[str, Any], tmp_path: Path) -> None:
    """SIGKILL a `tunesmith serve` process under load: every call that got its answer is
    in the state store, because the record is committed before the response is sent; and
    nothing the clients said or got back reached the server's output."""
    import os
    import re
    import signal
    import subprocess
    import sys
    import threading
    import time

    env = {**os.environ, "TUNESMITH_ACTOR": "ci"}
    errors = (tmp_path / "stderr.txt").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tunesmith.cli",
            "serve",
            "-w",
            str(served["ws"].root),
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
        env=env,
    )
    try:
        line = server.stdout.readline()
        url = re.search(r"http://\S+/v1", line).group(0)
        answered: list[str] = []
        stop = threading.Event()

        def load() -> None:
            client_ = OpenAI(
                base_url=url, api_key=served["keys"]["wide"], max_retries=0, timeout=30
            )
            while not stop.is_set():
                try:
                    done = client_.chat.completions.create(
                        model="support-router/2",
                        messages=ask("zebra-4711 late parcel"),
                        max_tokens=6,
                    )
                except openai.APIConnectionError:
                    return
                answered.append(done.id)

        workers = [threading.Thread(target=load) for _ in range(4)]
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 60
        while len(answered) < 8 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    assert len(answered) >= 8
    with served["state"].store.connect() as conn:
        stored = set(conn.execute(sa.select(interactions.c.id)).scalars())
    assert set(answered) <= stored
    errors.close()
    printed = server.stdout.read() + (tmp_path / "stderr.txt").read_text()
    assert "zebra-4711" not in printed


def test_vllm_export_writes_adapters_and_the_launch_command(
    served: dict[str, Any], tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from tunesmith.cli import app
    from tunesmith.store.files import sha256_file

    out = tmp_path / "vllm"
    ws = served["ws"]
    result = CliRunner().invoke(
        app, ["export", "support-router", "--vllm", str(out), "-w", str(ws.root)]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert [a["ref"] for a in manifest["adapters"]] == ["support-router/1", "support-router/2"]
    assert manifest["real_max_rank"] == 4 and manifest["max_lora_rank"] == 8
    script = (out / "launch.sh").read_text()
    assert "--enable-lora" in script and "--max-lora-rank 8" in script
    assert f"support-router@champion={out}/adapters/support-router-v1" in script
    for adapter, run_id in zip(manifest["adapters"], served["runs"], strict=True):
        copied = out / "adapters" / adapter["ref"].replace("/", "-v")
        original = ws.runs_dir / run_id / "adapter" / "adapter_model.safetensors"
        assert sha256_file(copied / "adapter_model.safetensors") == sha256_file(original)
    again = CliRunner().invoke(
        app, ["export", "support-router", "--vllm", str(out), "-w", str(ws.root)]
    )
    assert again.exit_code == 1 and "not empty" in again.output


def test_try_serve_starts_a_server_and_asks_it_through_the_openai_client(
    served: dict[str, Any],
) -> None:
    """What `make demo` ends with: a live server, real requests, answers printed, server gone."""
    from typer.testing import CliRunner

    from tunesmith.cli import app

    ws = served["ws"]
    result = CliRunner().invoke(
        app, ["try-serve", "support-router@champion", "--requests", "2", "-w", str(ws.root)]
    )
    assert result.exit_code == 0, result.output
    assert "answered 3 requests" in result.output
    for kind in ("chat", "streamed", "json_schema"):
        assert kind in result.output
    answer = result.output.split("json_schema", 1)[1].split("answer: ", 1)[1].strip()
    assert json.loads(answer.splitlines()[0])["queue"] in ws.load_config().task.labels

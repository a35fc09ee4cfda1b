"""A live server in a child process and a few real requests through the official `openai`
client: what `tunesmith try-serve` (and `make demo`) shows."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tunesmith.config.workspace import Workspace
from tunesmith.data.version import list_versions


def route_schema(labels: list[str] | None) -> dict[str, Any]:
    """A routing decision as JSON: the queue (one of the task's labels) and urgency."""
    queue: dict[str, Any] = {"enum": labels} if labels else {"type": "string"}
    return {
        "type": "object",
        "properties": {"queue": queue, "urgent": {"type": "boolean"}},
        "required": ["queue", "urgent"],
        "additionalProperties": False,
    }


@dataclass(frozen=True)
class Exchange:
    """One request and what came back."""

    kind: str
    question: str
    answer: str
    model: str
    served_by: str
    seconds: float


@contextmanager
def server_process(ws: Workspace, startup_timeout: float = 300) -> Iterator[tuple[str, int]]:
    """`tunesmith serve` on a free loopback port; yields (base URL, pid) and stops it after."""
    # stderr to a file: a pipe nobody drains could block the server
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "tunesmith.cli", "serve", "-w", str(ws.root), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env={**os.environ},
        )
        try:
            assert process.stdout is not None
            deadline = time.monotonic() + startup_timeout
            line = process.stdout.readline()
            while line and "serving on" not in line and time.monotonic() < deadline:
                line = process.stdout.readline()
            found = re.search(r"http://\S+/v1", line)
            if found is None:
                errors.seek(0)
                raise RuntimeError(f"the server did not start: {errors.read().strip()[-500:]}")
            yield found.group(0), process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


def held_out_prompts(ws: Workspace, count: int | None = None) -> list[list[dict[str, str]]]:
    """Prompts (system + user turns) of the latest dataset version's test split."""
    folder = ws.dataset_dir(ws.load_config().data.name)
    versions = list_versions(folder)
    if not versions:
        raise ValueError(f"no dataset version in {folder}: run tunesmith curate first")
    rows = (folder / f"v{versions[-1]}" / "test.jsonl").read_text(encoding="utf-8").splitlines()
    rows = rows[:count]
    return [[m for m in json.loads(r)["messages"] if m["role"] != "assistant"] for r in rows]


def exchanges(
    url: str, key: str, model: str, prompts: list[Any], schema: dict[str, Any]
) -> Iterator[Exchange]:
    """A completion per prompt, one of them streamed, and one `json_schema` answer."""
    from openai import OpenAI

    client = OpenAI(base_url=url, api_key=key, max_retries=0, timeout=600)
    for i, messages in enumerate(prompts):
        question = messages[-1]["content"]
        started = time.perf_counter()
        if i == 1:
            stream = client.chat.completions.create(
                model=model, messages=messages, max_tokens=48, temperature=0, stream=True
            )
            text, fingerprint = "", ""
            for chunk in stream:
                fingerprint = chunk.system_fingerprint or fingerprint
                text += "".join(c.delta.content or "" for c in chunk.choices)
            yield Exchange(
                "streamed", question, text, model, fingerprint, time.perf_counter() - started
            )
            continue
        done = client.chat.completions.create(
            model=model, messages=messages, max_tokens=48, temperature=0
        )
        yield Exchange(
            "chat", question, done.choices[0].message.content or "", model,
            done.system_fingerprint or "", time.perf_counter() - started,
        )  # fmt: skip
    started = time.perf_counter()
    done = client.chat.completions.create(
        model=model,
        messages=prompts[0],
        max_tokens=48,
        temperature=0,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "route", "schema": schema},
        },
    )
    yield Exchange(
        "json_schema", prompts[0][-1]["content"], done.choices[0].message.content or "", model,
        done.system_fingerprint or "", time.perf_counter() - started,
    )  # fmt: skip


def demo_key(ws: Workspace, model: str) -> str:
    """A fresh key for `model`'s registry name, named after the moment it was made."""
    from tunesmith.store.db import open_store
    from tunesmith.store.keys import create_key

    scope = re.split(r"[@/]", model)[0]
    _, secret = create_key(
        open_store(ws.state_url()), f"try-{int(time.time() * 1000)}", [scope], "try-serve"
    )
    return secret


def run_trial(ws: Workspace, model: str, requests: int) -> list[Exchange]:
    key = demo_key(ws, model)
    with server_process(ws) as (url, _):
        schema = route_schema(ws.load_config().task.labels)
        return list(exchanges(url, key, model, held_out_prompts(ws, requests), schema))


def short(text: str, width: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"

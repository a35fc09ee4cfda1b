"""`tunesmith run --example support-tools`: a tuned tool-caller, from raw conversations to
calls served through the OpenAI API.

init → curate (calls checked against their tools' schemas) → train (loss on the calls and
answers) → eval against the base model prompted with the tool list, single turn per category
and live episodes against the example's simulated back end → register → approve → promote →
serve → held-out conversations through the OpenAI API with `tools`, their calls scored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tunesmith.evaluate import tool_metrics
from tunesmith.models.tools import Call
from tunesmith.pipeline.job_steps import (
    Bar,
    Job,
    JobSettings,
    Say,
    app_key,
    curate_step,
    import_base_model,
    init_job,
    register_step,
    train_step,
)
from tunesmith.pipeline.stage_rows import StageRow

SERVED_REQUESTS = 24  # held-out conversations sent through the server (at most)


def run_tool_job(
    root: Path,
    say: Say,
    bar: Bar,
    overrides: dict[str, dict[str, Any]] | None = None,
    raw_rows: int = 600,
) -> list[StageRow]:
    """Every stage of the tool-calling example in a new workspace at `root` (`raw_rows`
    generated conversations, one live episode per ten)."""
    from tunesmith.serve.try_serve import server_process

    job = init_job(root, "support-tools", say, bar, JobSettings(), overrides, raw_rows)
    data = curate_step(job)
    import_base_model(job)
    run = train_step(job, data.version)
    _evaluate(job, run.run_id)
    register_step(job, run.run_id)
    key = app_key(job)
    say("start the server")
    with server_process(job.ws) as (url, _):
        _serve(job, url, key, data.path / "test.jsonl")
    return job.rows


def _evaluate(job: Job, run_id: str) -> None:
    """The tuned tool-caller against the base model prompted with the tool list."""
    from tunesmith.evaluate.run import evaluate

    job.say("evaluate against the base model prompted with the tool list (and live episodes)")
    report = evaluate(job.ws, job.config, run_id, with_compare=True).report
    base, tuned = (c["metrics"] for c in report["compare"])
    metrics = report["metrics"]
    episodes = (
        f"; episodes {metrics['episode_success']:.2f} succeeded"
        if "episode_success" in metrics
        else ""
    )
    job.rows.append(
        StageRow(
            "eval",
            f"call accuracy base {base['call_accuracy']:.3f} → tuned "
            f"{tuned['call_accuracy']:.3f}{episodes}; gates "
            f"{'pass' if report['passed'] else 'FAIL'}",
            f"argument exact {metrics.get('argument_exact', 0.0):.3f}, schema-valid "
            f"{metrics['schema_valid_rate']:.3f}",
            f"runs/{run_id}/eval/report.md",
        )
    )


def _ask(client: Any, model: str, record: dict[str, Any]) -> str:
    """One held-out conversation through the API; the answer in the shared call format."""
    done = client.chat.completions.create(
        model=model,
        messages=record["messages"][:-1],
        tools=record["tools"],
        tool_choice="auto",
        max_tokens=192,  # three parallel calls run to 172 tokens
        temperature=0,
    )
    message = done.choices[0].message
    calls = [
        Call(c.function.name, json.loads(c.function.arguments)).text()
        for c in message.tool_calls or []
    ]
    return "\n".join([message.content or "", *calls]).strip()


def _serve(job: Job, url: str, key: str, test: Path) -> None:
    """Held-out conversations to the champion with their tools; the served calls scored."""
    from tunesmith.data.rows import read_rows

    with test.open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle][:SERVED_REQUESTS]
    rows = read_rows(test, job.config.task)[: len(records)]
    advance: Callable[[int], None] = job.bar("tool-use requests", len(records))
    from openai import OpenAI

    model = f"{job.name}@champion"
    client = OpenAI(base_url=url, api_key=key, max_retries=2, timeout=600)

    def one(record: dict[str, Any]) -> str:
        answer = _ask(client, model, record)
        advance(1)
        return answer

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(one, records))
    metrics = tool_metrics.tool_calling(
        [r.tools for r in rows], [r.reference for r in rows], answers
    )
    job.rows.append(
        StageRow(
            "serve",
            f"{len(records)} held-out conversations through the OpenAI API with `tools`",
            f"call accuracy {metrics['call_accuracy']:.3f}, schema-valid "
            f"{metrics['schema_valid_rate']:.3f}",
            ".tunesmith/state.db (interactions)",
        )
    )

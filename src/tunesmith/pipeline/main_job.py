"""`tunesmith run`: the whole product on a bundled example, one stage after another.

init → curate → train → eval against prompting → register → approve → promote → serve →
simulated traffic with a drifted segment → monitor → simulated review → loop retrains →
challenger promoted → served without a restart. Every stage calls the same API as its own
command; the result is one row per stage: what it did, its key number, where the evidence is.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunesmith.pipeline import simulate
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
from tunesmith.pipeline.stage_rows import StageRow, accuracy, compared_text
from tunesmith.review.queue import AUDIT


def peak_rss_gib() -> tuple[float, float]:
    """Peak resident memory of this process and of its finished children (the server), GiB."""
    import resource

    kib = 1024 * 1024  # ru_maxrss is in KiB on Linux
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / kib
    return own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / kib


@dataclass(frozen=True)
class _Server:
    """The job's running server, the simulated app's API key and the model it asks for."""

    url: str
    key: str
    model: str


def run_main_job(
    root: Path,
    example: str,
    say: Say,
    bar: Bar,
    settings: JobSettings | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> list[StageRow]:
    """Every stage in order on `example` in a new workspace at `root`; one row per stage."""
    from tunesmith.serve.try_serve import server_process

    job = init_job(root, example, say, bar, settings or JobSettings(), overrides)
    data = curate_step(job)
    import_base_model(job)
    run = train_step(job, data.version)
    _evaluate(job, run.run_id)
    register_step(job, run.run_id)
    key = app_key(job)
    kb_keys = _index_knowledge(job)
    say("start the server")
    with server_process(job.ws) as (url, _):
        server = _Server(url, key, f"{job.name}@champion")
        _ask_knowledge(job, url, kb_keys)
        sent, new_product_before = _serve(job, server)
        enqueued = _monitor(job)
        _review(job, sent, enqueued)
        steps = _loop(job, server)
        _served(job, server, steps, new_product_before)
    return job.rows


def _evaluate(job: Job, run_id: str) -> None:
    """The run against prompting the base model, through the eval gates."""
    from tunesmith.evaluate.run import evaluate

    job.say("evaluate against prompting the base model")
    report = evaluate(job.ws, job.config, run_id, with_compare=True).report
    compare = {c["setting"]: c for c in report["compare"]}
    main = report["main_metric"]
    shown = " / ".join(f"{c['metrics'][main]:.3f}" for c in compare.values())
    job.rows.append(
        StageRow(
            "eval",
            f"{' / '.join(compare)}; gates {'pass' if report['passed'] else 'FAIL'}",
            f"{main} {shown}",
            f"runs/{run_id}/eval/report.md",
        )
    )


def _index_knowledge(job: Job) -> dict[str, str]:
    """The example's policies indexed with their access groups; the callers' keys."""
    from tunesmith.pipeline import knowledge_step

    if job.config.knowledge is None:
        return {}
    job.say("index the knowledge base")
    job.rows.append(knowledge_step.index_knowledge(job.ws, job.config))
    return knowledge_step.make_keys(job.ws)


def _ask_knowledge(job: Job, url: str, keys: dict[str, str]) -> None:
    """A support agent's cited answer and refusal, and HR's answer, from the live server."""
    from tunesmith.pipeline import knowledge_step

    if not keys:
        return
    asked = knowledge_step.ask_knowledge(url, keys, job.config.serve.retrieval.refusal)
    for one in asked:
        job.say(f"{one.key} asks: {one.question}")
        job.say(f"  answer: {' '.join(one.answer.split())[:160]}")
        job.say(f"  sources cited: {', '.join(one.citations) or 'none'}")
    job.rows.append(knowledge_step.knowledge_row(asked))


def _serve(job: Job, server: _Server) -> tuple[list[simulate.Sent], float]:
    """Simulated traffic, a share about a new product line; thumbs-down on some wrong answers.
    The answers sent and the accuracy on the new product line before the loop."""
    config, s = job.config, job.settings
    tickets = simulate.traffic(config, s.normal_requests, s.drifted_requests, s.seed)
    advance = job.bar("simulated traffic", len(tickets))
    sent = simulate.send(
        server.url, server.key, server.model, tickets, s.max_tokens, progress=advance
    )
    rated = simulate.rate_wrong_answers(server.url, server.key, sent, config)
    before = (accuracy(sent, config, False), accuracy(sent, config, True))
    job.rows.append(
        StageRow(
            "serve",
            f"{len(sent)} requests ({s.drifted_requests} about a new product line), "
            f"{rated} thumbs-down",
            f"accuracy {before[0]:.2f} usual / {before[1]:.2f} new product",
            ".tunesmith/state.db (interactions)",
        )
    )
    return sent, before[1]


def _monitor(job: Job) -> int:
    """The last hour's window: drift checks, answers sent to review; how many were enqueued."""
    from tunesmith.monitor.run import monitor

    job.say("monitor the window")
    watched = monitor(job.ws, job.config, since="1h")
    models = watched.report["models"]
    checks = [c for m in models for c in m["checks"]]
    flagged = next((m for m in models if m["model"] == job.name), None)
    auc = checks[0]["statistic"] if checks else float("nan")
    drawn = sum(m["review_candidates"].get(AUDIT, 0) for m in models)
    job.rows.append(
        StageRow(
            "monitor",
            f"input drift {'FLAGGED' if flagged and flagged['input_drift'] else 'not flagged'}"
            f"; {watched.enqueued} answers sent to review ({drawn} of them the random "
            "audit sample)",
            f"domain-classifier AUC {auc:.3f}",
            str(watched.path.relative_to(job.ws.root) / "report.html"),
        )
    )
    return watched.enqueued


def _review(job: Job, sent: list[simulate.Sent], enqueued: int) -> None:
    """The simulated reviewer decides the queue from the generator's ground truth."""
    advance = job.bar("simulated review", enqueued)
    reviewed = simulate.review_queue(job.ws, job.config, sent, advance)
    job.rows.append(
        StageRow(
            "review",
            f"simulated reviewer (generator's ground truth): {reviewed['accept']} accepted, "
            f"{reviewed['correct']} corrected; {reviewed['audit']} of them the audit "
            "sample, held out of training",
            f"{reviewed['correct']} corrections",
            "feedback/ after the loop",
        )
    )


def _loop(job: Job, server: _Server) -> dict[str, Any]:
    """One loop cycle (triggers, retrain, evaluate, promote) while a trickle of traffic goes on;
    the cycle's steps."""
    from tunesmith.loop.run import run_once

    config, s = job.config, job.settings
    job.say("loop: triggers, retrain, evaluate, promote (traffic goes on meanwhile)")
    meanwhile: list[simulate.Sent] = []
    stop = threading.Event()
    usual = simulate.traffic(config, s.normal_requests, 0, s.seed + 2)
    producer = threading.Thread(
        target=simulate.trickle,
        args=(
            server.url,
            server.key,
            server.model,
            usual,
            s.trickle_tokens,
            s.trickle_seconds,
            stop,
            meanwhile,
        ),
    )
    producer.start()
    try:
        outcome = run_once(job.ws, config, progress=job.say)
    finally:
        stop.set()
        producer.join()
    kept = simulate.stored(job.ws, [m.id for m in meanwhile])
    cycle = outcome.cycle or {}
    steps = cycle.get("steps", {})
    job.rows.append(
        StageRow(
            "loop",
            f"fired: {', '.join(t['name'] for t in outcome.triggers if t['fired']) or 'none'}"
            f"; {cycle.get('outcome', 'no cycle')}; answered meanwhile: {len(meanwhile)}, "
            f"stored: {kept}",
            compared_text(steps.get("compare", {})),
            f".tunesmith/loop/cycle-{cycle.get('id', '')}.json",
        )
    )
    return steps


def _served(job: Job, server: _Server, steps: dict[str, Any], new_before: float) -> None:
    """Fresh new-product tickets to the champion alias: answered by the challenger run now."""
    # the server re-reads the champion alias every few seconds, without a restart
    time.sleep(job.config.serve.alias_refresh_seconds + 1)
    s = job.settings
    fresh = simulate.traffic(job.config, 0, s.fresh_requests, s.seed + 1)
    advance = job.bar("new-product tickets to the new champion", len(fresh))
    after = simulate.send(
        server.url, server.key, server.model, fresh, s.max_tokens, progress=advance
    )
    new_acc = accuracy(after, job.config, True)
    challenger = steps.get("train", {}).get("run_id", "")
    by_challenger = sum(challenger in a.served_by for a in after) if challenger else 0
    job.rows.append(
        StageRow(
            "served",
            f"{by_challenger}/{len(after)} answers of {server.model} came from the challenger run",
            f"new-product accuracy {new_before:.2f} → {new_acc:.2f} (fresh tickets from the "
            "generator of the corrections)",
            ".tunesmith/audit.jsonl",
        )
    )

"""`tunesmith run`: the whole product on a bundled example, one stage after another.

init → curate → train → eval against prompting → register → approve → promote → serve →
simulated traffic with a drifted segment → monitor → simulated review → loop retrains →
challenger promoted → served without a restart. Every stage calls the same API as its own
command; the result is one row per stage: what it did, its key number, where the evidence is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from tunesmith.config import ProjectConfig
from tunesmith.config.workspace import Workspace
from tunesmith.pipeline import simulate
from tunesmith.pipeline.stage_rows import StageRow, TimedRows, accuracy, compared_text
from tunesmith.review.queue import AUDIT

if TYPE_CHECKING:
    from tunesmith.data.curate import CurateResult
    from tunesmith.train.run import TrainResult

Say = Callable[[str], None]
Bar = Callable[[str, int], Callable[[int], None]]  # (description, total) -> advance


def peak_rss_gib() -> tuple[float, float]:
    """Peak resident memory of this process and of its finished children (the server), GiB."""
    import resource

    kib = 1024 * 1024  # ru_maxrss is in KiB on Linux
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / kib
    return own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / kib


@dataclass(frozen=True)
class JobSettings:
    normal_requests: int = 60  # fresh tickets like the training data
    drifted_requests: int = 50  # tickets about a product line training never saw
    fresh_requests: int = 16  # new-product tickets sent to the new champion at the end
    max_tokens: int = 16  # the queue line and the reply's opening: what routing needs
    # while the loop retrains, one short request this often (it shares the 2 cores with
    # training: every 10 s with 16 tokens made the whole job 3 minutes longer)
    trickle_seconds: float = 30.0
    trickle_tokens: int = 4
    seed: int = 11


def _override(config_path: Path, sections: dict[str, dict[str, Any]]) -> None:
    """Merge `sections` into the example's tunesmith.yaml (another base model, smaller runs)."""
    raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    for name, values in sections.items():
        raw[name] = {**raw.get(name, {}), **values}
    config_path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")


@dataclass(frozen=True)
class _Job:
    """What every stage step needs: the workspace, its config, the settings and the output."""

    ws: Workspace
    config: ProjectConfig
    settings: JobSettings
    say: Say
    bar: Bar
    rows: TimedRows
    name: str  # the registry model name the job registers, serves and retrains


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

    job = _init(root, example, say, bar, settings or JobSettings(), overrides)
    data = _curate(job)
    _import_base_model(job)
    run = _train(job, data.version)
    _evaluate(job, run.run_id)
    _register(job, run.run_id)
    key = _app_key(job)
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


def _init(
    root: Path,
    example: str,
    say: Say,
    bar: Bar,
    settings: JobSettings,
    overrides: dict[str, dict[str, Any]] | None,
) -> _Job:
    """A new workspace from the bundled example, its tunesmith.yaml merged with `overrides`."""
    from tunesmith.examples.scaffold import create_workspace
    from tunesmith.registry import default_name

    rows = TimedRows()
    ws = Workspace(create_workspace(root, example).resolve())
    if overrides:
        _override(ws.config_path, overrides)
    config = ws.load_config()
    job = _Job(ws, config, settings, say, bar, rows, default_name(config))
    rows.append(StageRow("init", f"workspace from example '{example}'", "", str(ws.root)))
    return job


def _curate(job: _Job) -> CurateResult:
    """The example's raw tickets curated into the first dataset version."""
    from tunesmith.data.curate import curate

    job.say("curate")
    data = curate(job.ws, job.config.data)
    counts = data.manifest["counts"]
    pii = sum(data.manifest["pii_found"].values())  # type: ignore[attr-defined]
    job.rows.append(
        StageRow(
            "curate",
            f"{counts['read']} rows read, {counts['kept']} kept, {pii} PII values masked",
            f"reconciles: {counts['reconciles']}",
            str(data.path / "report.md"),
        )
    )
    return data


def _import_base_model(job: _Job) -> None:
    """The base model into the workspace's model store (no row: train's time includes it)."""
    from tunesmith.models.base import resolve_base_model

    job.say("import the base model")
    resolve_base_model(job.config.base_model, job.ws.state_dir / "models", job.ws.root)


def _train(job: _Job, dataset_version: str) -> TrainResult:
    """The first adapter, with a progress bar of its steps."""
    from tunesmith.train.run import train

    config = job.config
    advance = job.bar("train", config.train.max_steps or 0)
    run = train(job.ws, config, on_progress=lambda step, _total, _m: advance(1))
    job.rows.append(
        StageRow(
            "train",
            f"{config.train.method} on {dataset_version}, {run.steps} steps",
            f"val loss {run.val_loss_before:.3f} → {run.best_val_loss:.3f}",
            f"runs/{run.run_id}/loss.png",
        )
    )
    return run


def _evaluate(job: _Job, run_id: str) -> None:
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


def _register(job: _Job, run_id: str) -> None:
    """Registered, approved by simulated approvers, promoted to champion, documents written."""
    from tunesmith.governance.documents import resolve_ref, write_documents
    from tunesmith.pipeline.approvers import simulated_approvals
    from tunesmith.registry import promote, register

    ws, config = job.ws, job.config
    version = register(ws, run_id, job.name).version
    # four eyes counts authenticated actors: the job's are approver keys made for it, audited
    simulated_approvals(ws, version.ref, config.registry, "simulated approver of the main job")
    promote(ws, version.ref, "champion", config.registry)
    champion_run, model_version = resolve_ref(ws, f"{job.name}@champion")
    documents = write_documents(ws, champion_run, model_version)
    job.rows.append(
        StageRow(
            "register",
            f"{version.ref} approved (simulated approver), promoted; model card + Annex IV",
            "champion",
            str(documents.out_dir.relative_to(ws.root)),
        )
    )


def _app_key(job: _Job) -> str:
    """An API key of the simulated app, allowed the job's model."""
    from tunesmith.store.db import open_store
    from tunesmith.store.keys import create_key

    store = open_store(job.ws.state_url())
    _, app_key = create_key(store, "simulated-app", [job.name], "tunesmith run")
    return app_key


def _index_knowledge(job: _Job) -> dict[str, str]:
    """The example's policies indexed with their access groups; the callers' keys."""
    from tunesmith.pipeline import knowledge_step

    if job.config.knowledge is None:
        return {}
    job.say("index the knowledge base")
    job.rows.append(knowledge_step.index_knowledge(job.ws, job.config))
    return knowledge_step.make_keys(job.ws)


def _ask_knowledge(job: _Job, url: str, keys: dict[str, str]) -> None:
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


def _serve(job: _Job, server: _Server) -> tuple[list[simulate.Sent], float]:
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


def _monitor(job: _Job) -> int:
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


def _review(job: _Job, sent: list[simulate.Sent], enqueued: int) -> None:
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


def _loop(job: _Job, server: _Server) -> dict[str, Any]:
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


def _served(job: _Job, server: _Server, steps: dict[str, Any], new_before: float) -> None:
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

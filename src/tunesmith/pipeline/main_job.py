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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from tunesmith.config import ProjectConfig
from tunesmith.config.workspace import Workspace
from tunesmith.models.labels import parse_label
from tunesmith.pipeline import simulate
from tunesmith.review.queue import AUDIT

Say = Callable[[str], None]
Bar = Callable[[str, int], Callable[[int], None]]  # (description, total) -> advance


@dataclass(frozen=True)
class StageRow:
    stage: str
    did: str
    number: str
    evidence: str
    seconds: float = 0.0  # the stage's own wall time (since the row before it)


class _TimedRows(list[StageRow]):
    """Rows stamped with the seconds since the previous one, so the summary shows where the
    job's time goes."""

    def __init__(self) -> None:
        super().__init__()
        self._last = time.monotonic()

    def append(self, row: StageRow) -> None:
        now = time.monotonic()
        super().append(replace(row, seconds=now - self._last))
        self._last = now


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


def _accuracy(sent: list[simulate.Sent], config: ProjectConfig, drifted: bool) -> float:
    labels, prefix = config.task.labels or [], config.task.answer_prefix
    chosen = [s for s in sent if s.ticket.drifted == drifted]
    right = sum(
        parse_label(s.answer, labels, prefix) == parse_label(s.ticket.truth, labels, prefix)
        for s in chosen
    )
    return right / len(chosen) if chosen else 0.0


def _compared(compared: dict[str, Any]) -> str:
    """Challenger vs champion, each number named by its split: the feedback split favours the
    challenger (reviewed because the champion was doubtful or wrong); the audit sample is
    drawn at random from served traffic."""
    if not compared:
        return "no comparison"
    nan = float("nan")
    text = (
        f"{compared['metric']} challenger vs champion: feedback split (biased) "
        f"{compared.get('feedback_challenger', nan):.3f} vs "
        f"{compared.get('feedback_champion', nan):.3f}"
    )
    if not compared.get("audit_rows"):
        return text + "; no audit sample"
    return text + (
        f"; audit sample (n={compared['audit_rows']}, random) "
        f"{compared['audit_challenger']:.3f} vs {compared['audit_champion']:.3f}"
    )


def _override(config_path: Path, sections: dict[str, dict[str, Any]]) -> None:
    """Merge `sections` into the example's tunesmith.yaml (another base model, smaller runs)."""
    raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    for name, values in sections.items():
        raw[name] = {**raw.get(name, {}), **values}
    config_path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")


def run_main_job(
    root: Path,
    example: str,
    say: Say,
    bar: Bar,
    settings: JobSettings | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> list[StageRow]:
    from tunesmith.data.curate import curate
    from tunesmith.evaluate.run import evaluate
    from tunesmith.examples.scaffold import create_workspace
    from tunesmith.governance.documents import resolve_ref, write_documents
    from tunesmith.loop.run import run_once
    from tunesmith.models.base import resolve_base_model
    from tunesmith.monitor.run import monitor
    from tunesmith.pipeline.approvers import simulated_approvals
    from tunesmith.registry import default_name, promote, register
    from tunesmith.serve.try_serve import server_process
    from tunesmith.store.db import open_store
    from tunesmith.store.keys import create_key
    from tunesmith.train.run import train

    job = settings or JobSettings()
    rows = _TimedRows()
    ws = Workspace(create_workspace(root, example).resolve())
    if overrides:
        _override(ws.config_path, overrides)
    config = ws.load_config()
    name = default_name(config)
    rows.append(StageRow("init", f"workspace from example '{example}'", "", str(ws.root)))

    say("curate")
    data = curate(ws, config.data)
    counts = data.manifest["counts"]
    pii = sum(data.manifest["pii_found"].values())  # type: ignore[attr-defined]
    rows.append(
        StageRow(
            "curate",
            f"{counts['read']} rows read, {counts['kept']} kept, {pii} PII values masked",
            f"reconciles: {counts['reconciles']}",
            str(data.path / "report.md"),
        )
    )
    say("import the base model")
    resolve_base_model(config.base_model, ws.state_dir / "models", ws.root)

    total = config.train.max_steps or 0
    advance = bar("train", total)
    run = train(ws, config, on_progress=lambda step, _total, _m: advance(1))
    rows.append(
        StageRow(
            "train",
            f"{config.train.method} on {data.version}, {run.steps} steps",
            f"val loss {run.val_loss_before:.3f} → {run.best_val_loss:.3f}",
            f"runs/{run.run_id}/loss.png",
        )
    )
    say("evaluate against prompting the base model")
    report = evaluate(ws, config, run.run_id, with_compare=True).report
    compare = {c["setting"]: c for c in report["compare"]}
    main = report["main_metric"]
    shown = " / ".join(f"{c['metrics'][main]:.3f}" for c in compare.values())
    rows.append(
        StageRow(
            "eval",
            f"{' / '.join(compare)}; gates {'pass' if report['passed'] else 'FAIL'}",
            f"{main} {shown}",
            f"runs/{run.run_id}/eval/report.md",
        )
    )
    version = register(ws, run.run_id, name).version
    # four eyes counts authenticated actors: the job's are approver keys made for it, audited
    simulated_approvals(ws, version.ref, config.registry, "simulated approver of the main job")
    promote(ws, version.ref, "champion", config.registry)
    run_id, model_version = resolve_ref(ws, f"{name}@champion")
    documents = write_documents(ws, run_id, model_version)
    rows.append(
        StageRow(
            "register",
            f"{version.ref} approved (simulated approver), promoted; model card + Annex IV",
            "champion",
            str(documents.out_dir.relative_to(ws.root)),
        )
    )

    store = open_store(ws.state_url())
    _, app_key = create_key(store, "simulated-app", [name], "tunesmith run")
    model = f"{name}@champion"
    say("start the server")
    with server_process(ws) as (url, _):
        tickets = simulate.traffic(config, job.normal_requests, job.drifted_requests, job.seed)
        advance = bar("simulated traffic", len(tickets))
        sent = simulate.send(url, app_key, model, tickets, job.max_tokens, progress=advance)
        rated = simulate.rate_wrong_answers(url, app_key, sent, config)
        before = (_accuracy(sent, config, False), _accuracy(sent, config, True))
        rows.append(
            StageRow(
                "serve",
                f"{len(sent)} requests ({job.drifted_requests} about a new product line), "
                f"{rated} thumbs-down",
                f"accuracy {before[0]:.2f} usual / {before[1]:.2f} new product",
                ".tunesmith/state.db (interactions)",
            )
        )
        say("monitor the window")
        watched = monitor(ws, config, since="1h")
        checks = [c for m in watched.report["models"] for c in m["checks"]]
        flagged = next((m for m in watched.report["models"] if m["model"] == name), None)
        auc = checks[0]["statistic"] if checks else float("nan")
        drawn = sum(m["review_candidates"].get(AUDIT, 0) for m in watched.report["models"])
        rows.append(
            StageRow(
                "monitor",
                f"input drift {'FLAGGED' if flagged and flagged['input_drift'] else 'not flagged'}"
                f"; {watched.enqueued} answers sent to review ({drawn} of them the random "
                "audit sample)",
                f"domain-classifier AUC {auc:.3f}",
                str(watched.path.relative_to(ws.root) / "report.html"),
            )
        )
        advance = bar("simulated review", watched.enqueued)
        reviewed = simulate.review_queue(ws, config, sent, advance)
        rows.append(
            StageRow(
                "review",
                f"simulated reviewer (generator's ground truth): {reviewed['accept']} accepted, "
                f"{reviewed['correct']} corrected; {reviewed['audit']} of them the audit "
                "sample, held out of training",
                f"{reviewed['correct']} corrections",
                "feedback/ after the loop",
            )
        )
        say("loop: triggers, retrain, evaluate, promote (traffic goes on meanwhile)")
        meanwhile: list[simulate.Sent] = []
        stop = threading.Event()
        usual = simulate.traffic(config, job.normal_requests, 0, job.seed + 2)
        producer = threading.Thread(
            target=simulate.trickle,
            args=(
                url,
                app_key,
                model,
                usual,
                job.trickle_tokens,
                job.trickle_seconds,
                stop,
                meanwhile,
            ),
        )
        producer.start()
        try:
            outcome = run_once(ws, config, progress=say)
        finally:
            stop.set()
            producer.join()
        kept = simulate.stored(ws, [s.id for s in meanwhile])
        cycle = outcome.cycle or {}
        steps = cycle.get("steps", {})
        compared = steps.get("compare", {})
        rows.append(
            StageRow(
                "loop",
                f"fired: {', '.join(t['name'] for t in outcome.triggers if t['fired']) or 'none'}"
                f"; {cycle.get('outcome', 'no cycle')}; answered meanwhile: {len(meanwhile)}, "
                f"stored: {kept}",
                _compared(compared),
                f".tunesmith/loop/cycle-{cycle.get('id', '')}.json",
            )
        )
        # the server re-reads the champion alias every few seconds, without a restart
        time.sleep(config.serve.alias_refresh_seconds + 1)
        fresh = simulate.traffic(config, 0, job.fresh_requests, job.seed + 1)
        advance = bar("new-product tickets to the new champion", len(fresh))
        after = simulate.send(url, app_key, model, fresh, job.max_tokens, progress=advance)
        new_acc = _accuracy(after, config, True)
        challenger = steps.get("train", {}).get("run_id", "")
        by_challenger = sum(challenger in s.served_by for s in after) if challenger else 0
        rows.append(
            StageRow(
                "served",
                f"{by_challenger}/{len(after)} answers of {model} came from the challenger run",
                f"new-product accuracy {before[1]:.2f} → {new_acc:.2f} (fresh tickets from the "
                "generator of the corrections)",
                ".tunesmith/audit.jsonl",
            )
        )
    return rows

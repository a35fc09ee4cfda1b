"""The steps of one loop cycle, each safe to run again after a crash.

A step returns what it did (kept in the cycle record and on the audit log); `stop` ends the
cycle early with that reason; `done: False` leaves it open (waiting for an approval).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tunesmith.config import ProjectConfig
from tunesmith.config.workspace import Workspace

Progress = Callable[[str], None]


def _name(config: ProjectConfig) -> str:
    from tunesmith.registry import default_name

    return default_name(config)


def feedback(
    ws: Workspace, config: ProjectConfig, cycle: dict[str, Any], tick: Progress
) -> dict[str, Any]:
    from tunesmith.review.export import export_feedback

    exported = export_feedback(ws, config.task)
    cycle["feedback_through"] = max(exported.through, cycle["feedback_through"])
    return {**exported.counts, "feedback_through": cycle["feedback_through"]}


def curate(
    ws: Workspace, config: ProjectConfig, cycle: dict[str, Any], tick: Progress
) -> dict[str, Any]:
    from tunesmith.review.to_curate import curate_reviewed

    result = curate_reviewed(ws, config)
    splits = result.manifest["counts"]["splits"]  # type: ignore[index]
    if not splits.get("feedback"):
        return {"version": result.version, "stop": "the new version has no feedback split"}
    return {
        "version": result.version,
        "path": str(result.path.relative_to(ws.root)),
        "created": result.created,
        "train_records": splits["train"],
        "feedback_records": splits["feedback"],
    }


def challenger_config(ws: Workspace, config: ProjectConfig, cycle: dict[str, Any]) -> ProjectConfig:
    """The workspace's config with the champion run's training settings on the new version,
    continuing the champion's adapter when `monitor.retrain.warm_start` (and it has one), for
    `monitor.retrain.max_steps` steps when set."""
    champion = cycle["champion"]["run_id"]
    used = yaml.safe_load((ws.runs_dir / champion / "config.yaml").read_text(encoding="utf-8"))
    train = {**used["train"], "dataset": cycle["steps"]["curate"]["version"]}
    train["reviewed_repeat"] = config.train.reviewed_repeat
    retrain_steps = config.monitor.retrain.max_steps
    if retrain_steps is not None:
        # a warm start continues a trained adapter: it needs fewer steps than the first run
        train["max_steps"] = retrain_steps
        if retrain_steps % train["eval_steps"] or retrain_steps % train["save_steps"]:
            # the last step must be evaluated and saved, or the best checkpoint kept at the
            # end would be an earlier one
            train["eval_steps"] = train["save_steps"] = retrain_steps
    if config.monitor.retrain.warm_start and train["method"] != "full":
        train["init_adapter"] = champion
    return config.model_copy(update={"train": config.train.model_validate(train)})


def train(
    ws: Workspace, config: ProjectConfig, cycle: dict[str, Any], tick: Progress
) -> dict[str, Any]:
    from tunesmith.loop.cycles import clear_stale_run, save_cycle
    from tunesmith.train.run import new_run_id
    from tunesmith.train.run import train as run_train

    run_config = challenger_config(ws, config, cycle)
    started = cycle["steps"].get("train", {})
    run_id = started.get("run_id")
    if run_id is None:
        run_id = new_run_id(run_config, cycle["steps"]["curate"]["version"])
        # the id is on record before any file exists, so a rerun resumes this very run
        cycle["steps"]["train"] = {"run_id": run_id, "done": False}
        save_cycle(ws, cycle)
    run_dir = ws.runs_dir / run_id
    clear_stale_run(ws, run_id)
    if not (run_dir / "summary.json").is_file():

        def show(step: int, total: int, _: dict[str, float]) -> None:
            tick(f"train step {step}/{total}")

        if (run_dir / "config.yaml").is_file():
            run_train(ws, run_config, resume=run_id, on_progress=show)
        else:
            run_train(ws, run_config, run_id=run_id, on_progress=show)
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    return {"run_id": run_id, "steps": summary["steps"], "best_val_loss": summary["best_val_loss"]}


def _main_metric(report: dict[str, Any]) -> tuple[str, float]:
    name = report["main_metric"]
    return name, float(report["metrics"][name])


def evaluate(
    ws: Workspace, config: ProjectConfig, cycle: dict[str, Any], tick: Progress
) -> dict[str, Any]:
    from tunesmith.evaluate.run import evaluate as run_eval

    run_id = cycle["steps"]["train"]["run_id"]
    result = run_eval(ws, config, run_id)
    metric, value = _main_metric(result.report)
    failed = [f"{g['gate']} {g['metric']}" for g in result.report["gates"] if not g["passed"]]
    return {
        "run_id": run_id,
        "passed": result.passed,
        "metric": metric,
        "value": value,
        "failed_gates": ", ".join(failed) or None,
        "report": str((result.out_dir / "report.json").relative_to(ws.root)),
    }


def _on_file(
    ws: Workspace, config: ProjectConfig, cycle: dict[str, Any], data: Path, tick: Progress
) -> dict[str, Any]:
    """Challenger and champion on one file: the challenger's eval scores the champion on the
    same rows too, so the champion runs again only when the alias has moved since."""
    from tunesmith.evaluate.run import evaluate as run_eval

    champion = cycle["champion"]["run_id"]
    tick(f"challenger and champion on {data.name}")
    report = run_eval(ws, config, cycle["steps"]["train"]["run_id"], data_file=data).report
    metric, challenger = _main_metric(report)
    scored = report.get("champion") or {}
    if scored.get("run_id") == champion:
        held = float(scored["metrics"][metric])
    else:
        held = _main_metric(run_eval(ws, config, champion, data_file=data).report)[1]
    return {
        "metric": metric,
        "rows": report["data"]["rows"],
        "sha256": report["data"]["sha256"],
        "challenger": challenger,
        "champion": held,
    }


def compare(
    ws: Workspace, config: ProjectConfig, cycle: dict[str, Any], tick: Progress
) -> dict[str, Any]:
    """Challenger and champion on the feedback split and on the audit sample.

    The feedback split holds answers reviewed because the champion was doubtful or wrong, so
    it favours the challenger by construction; the audit sample holds answers drawn at random
    from served traffic and never trained on: the independent comparison.
    """
    from tunesmith.review.export import AUDIT_FILE

    feedback = _on_file(
        ws, config, cycle, ws.root / cycle["steps"]["curate"]["path"] / "feedback.jsonl", tick
    )
    out: dict[str, Any] = {"metric": feedback.pop("metric")}
    out |= {f"feedback_{k}": v for k, v in feedback.items()}
    audit_file = ws.resolve(AUDIT_FILE)
    audited = audit_file.is_file() and audit_file.stat().st_size > 0
    if audited:
        on_audit = _on_file(ws, config, cycle, audit_file, tick)
        out |= {f"audit_{k}": v for k, v in on_audit.items() if k != "metric"}
        out["audit_file"] = AUDIT_FILE
    else:
        out["audit_rows"] = 0
    wins, out["verdict"] = _verdict(config, out)
    out["challenger_wins"] = wins
    out["summary"] = _evidence(out)
    return out


def _evidence(out: dict[str, Any]) -> str:
    """Both comparisons, each named by the split it is on."""
    metric = out["metric"]
    text = (
        f"feedback split ({out['feedback_rows']} answers reviewed because the champion was "
        f"doubtful or wrong: favours the challenger): {metric} challenger "
        f"{out['feedback_challenger']:.3f} vs champion {out['feedback_champion']:.3f}"
    )
    if not out["audit_rows"]:
        return text + "; audit sample: none reviewed yet (monitor.audit_sample_rate)"
    return text + (
        f"; audit sample ({out['audit_rows']} answers drawn at random from served traffic, "
        f"never trained on: independent): {metric} challenger {out['audit_challenger']:.3f} "
        f"vs champion {out['audit_champion']:.3f}"
    )


def _verdict(config: ProjectConfig, out: dict[str, Any]) -> tuple[bool, str]:
    policy, metric = config.monitor.retrain, out["metric"]
    gain, loss = policy.min_feedback_gain, policy.max_audit_loss
    ours, theirs = out["feedback_challenger"], out["feedback_champion"]
    if gain is not None and not ours - theirs > gain:
        return False, (
            f"feedback-split {metric} {ours:.3f} does not beat the champion's {theirs:.3f} by "
            f"more than {gain}"
        )
    passed = [] if gain is None else [f"beats the champion on the feedback split by > {gain}"]
    if loss is not None and out["audit_rows"]:
        ours, theirs = out["audit_challenger"], out["audit_champion"]
        if theirs - ours > loss:
            return False, (
                f"audit-sample {metric} {ours:.3f} ({out['audit_rows']} random answers) trails "
                f"the champion's {theirs:.3f} by more than {loss}"
            )
        passed.append(f"trails it on the audit sample by <= {loss}")
    return True, " and ".join(passed) or "no comparison required"


def register(
    ws: Workspace, config: ProjectConfig, cycle: dict[str, Any], tick: Progress
) -> dict[str, Any]:
    from tunesmith.registry import register as run_register

    registered = run_register(ws, cycle["steps"]["train"]["run_id"], _name(config))
    return {"ref": registered.version.ref, "version": registered.version.version}


def promote(
    ws: Workspace, config: ProjectConfig, cycle: dict[str, Any], tick: Progress
) -> dict[str, Any]:
    from tunesmith.registry import approve, promote, resolve

    steps, policy = cycle["steps"], config.monitor.retrain
    ref = steps["register"]["ref"]
    mv = resolve(ws, ref)
    if "champion" in mv.aliases:
        return {"ref": ref, "promoted": True}  # done before a crash
    if not steps["evaluate"]["passed"]:
        return {
            "ref": ref,
            "promoted": False,
            "stop": f"gates failed: {steps['evaluate']['failed_gates']}",
        }
    compared = steps["compare"]
    if not compared["challenger_wins"]:
        return {"ref": ref, "promoted": False, "stop": compared["verdict"]}
    registry_policy = config.registry
    if policy.approval == "auto":
        if not any(a["by"].casefold() == policy.approver.casefold() for a in mv.approvals):
            note = (
                f"automatic (monitor.retrain.approval: auto): gates passed; {compared['summary']}"
            )
            approve(ws, ref, policy.approver, note, registry_policy)
    elif "challenger" not in mv.aliases:
        promote(ws, ref, "challenger", registry_policy)
    from tunesmith.registry import champion_problem
    from tunesmith.registry.client import alias_version, client

    current = alias_version(client(ws), mv.name, "champion")
    problem = champion_problem(ws, resolve(ws, ref), registry_policy, current)
    if problem is not None:
        # manual approval: the cycle stays open until `tunesmith approve` is given
        return {"ref": ref, "promoted": False, "reason": problem, "done": False}
    promote(
        ws,
        ref,
        "champion",
        registry_policy,
        by=policy.approver if policy.approval == "auto" else None,
    )
    return {"ref": ref, "promoted": True}

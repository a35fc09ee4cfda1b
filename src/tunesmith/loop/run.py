"""`tunesmith loop`: when a trigger fires, retrain a challenger and promote it if it wins.

A cycle is a list of steps (feedback, curate, train, evaluate, compare, register, promote).
Its record, `.tunesmith/loop/current.json`, is rewritten atomically after every step, and
every step is idempotent on its own (curate of unchanged inputs writes nothing, a started
run resumes, registering a run again returns its version, an alias already set is seen), so
a cycle killed at any point and run again finishes with one new version and one promotion.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tunesmith.config import ProjectConfig
from tunesmith.config.workspace import Workspace
from tunesmith.loop.cycles import last_cycle, loop_dir, save_cycle
from tunesmith.loop.policy import evaluate_triggers
from tunesmith.store import audit
from tunesmith.store.clock import utc_timestamp

STEPS = ("feedback", "curate", "train", "evaluate", "compare", "register", "promote")
Progress = Callable[[str], None]


class LoopError(RuntimeError):
    """A cycle that cannot go on (no champion to challenge, a step refused)."""


@dataclass(frozen=True)
class LoopOutcome:
    triggers: list[dict[str, Any]]
    cycle: dict[str, Any] | None  # None: no trigger fired and no cycle was open
    finished: bool


def _log(ws: Workspace, cycle: dict[str, Any], step: str, details: dict[str, Any]) -> None:
    audit.append(
        audit.audit_path(ws.state_dir),
        "loop",
        f"cycle/{cycle['id']}",
        details={"step": step, **details},
    )


def _champion(ws: Workspace, name: str) -> Any:
    from tunesmith.registry import RegistryError, resolve

    try:
        return resolve(ws, f"{name}@champion")
    except RegistryError as err:
        raise LoopError(f"no champion of '{name}' to challenge: {err}") from None


def _open_cycle(ws: Workspace, config: ProjectConfig, name: str, now: datetime) -> LoopOutcome:
    champion = _champion(ws, name)
    since = champion.tags.get("promoted.champion.at") or champion.created_at
    triggers = [t.to_json() for t in evaluate_triggers(ws, config, name, since, now)]
    if not any(t["fired"] for t in triggers):
        return LoopOutcome(triggers, None, False)
    previous = last_cycle(ws)
    cycle = {
        "id": now.strftime("%Y%m%d-%H%M%S"),
        "model": name,
        "started_at": utc_timestamp(),
        "triggers": triggers,
        "champion": {"ref": champion.ref, "version": champion.version, "run_id": champion.run_id},
        "feedback_through": previous["feedback_through"] if previous else 0,
        "steps": {},
    }
    save_cycle(ws, cycle)
    _log(ws, cycle, "start", {"fired": [t["name"] for t in triggers if t["fired"]]})
    return LoopOutcome(triggers, cycle, False)


def run_once(ws: Workspace, config: ProjectConfig, progress: Progress | None = None) -> LoopOutcome:
    """Continue the open cycle, or open one when a trigger fires; run it as far as it goes."""
    from tunesmith.registry import default_name

    tick = progress or (lambda _: None)
    current = loop_dir(ws) / "current.json"
    if current.is_file():
        cycle = json.loads(current.read_text(encoding="utf-8"))
        triggers = cycle["triggers"]
        tick(f"continuing cycle {cycle['id']}")
    else:
        opened = _open_cycle(ws, config, default_name(config), datetime.now(UTC))
        if opened.cycle is None:
            return opened
        cycle, triggers = opened.cycle, opened.triggers
    from tunesmith.loop import steps

    for name in STEPS:
        if cycle["steps"].get(name, {}).get("done"):
            continue
        tick(name)
        result = getattr(steps, name)(ws, config, cycle, tick)
        cycle["steps"][name] = {**result, "done": result.get("done", True), "at": utc_timestamp()}
        save_cycle(ws, cycle)
        _log(ws, cycle, name, {k: v for k, v in result.items() if _small(v)})
        if not cycle["steps"][name]["done"]:
            return LoopOutcome(triggers, cycle, False)  # waits (for an approval)
        if result.get("stop"):
            break
    cycle["finished_at"] = utc_timestamp()
    cycle["outcome"] = _outcome(cycle)
    # which split each number is on: the biased feedback split, the random audit sample
    cycle["evidence"] = cycle["steps"].get("compare", {}).get("summary")
    finished = loop_dir(ws) / f"cycle-{cycle['id']}.json"
    finished.write_text(json.dumps(cycle, indent=2) + "\n", encoding="utf-8")
    current.unlink()
    _log(ws, cycle, "finish", {"outcome": cycle["outcome"], "evidence": cycle["evidence"]})
    return LoopOutcome(triggers, cycle, True)


def _small(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def _outcome(cycle: dict[str, Any]) -> str:
    promote = cycle["steps"].get("promote", {})
    if promote.get("promoted"):
        return f"promoted {promote['ref']} to champion"
    for step in reversed(STEPS):
        reason = cycle["steps"].get(step, {}).get("stop")
        if reason:
            return f"stopped at {step}: {reason}"
    return promote.get("reason", "finished")

"""`tunesmith loop --once`: triggers, a whole cycle on a tiny model, and crashes at every step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.store_rows import add_interaction
from tunesmith.config.workspace import Workspace
from tunesmith.data.curate import curate
from tunesmith.evaluate.run import evaluate
from tunesmith.examples.scaffold import create_workspace
from tunesmith.loop import run as loop
from tunesmith.loop import steps
from tunesmith.registry import approve, history, promote, register, resolve
from tunesmith.review import queue as review
from tunesmith.store.db import open_store
from tunesmith.train.run import train

from ..serve.server import set_config
from ..train.test_run import TRAIN


class Crash(Exception):
    """Stands for the process being killed right after a step did its work."""


def _champion_workspace(root: Path, model_dir: Path, **monitor: object) -> Workspace:
    root = create_workspace(root, "support-tickets", rows=120)
    set_config(
        root,
        base_model={"name": "tiny", "path": str(model_dir)},
        train={**TRAIN, "max_steps": 2, "eval_steps": 2, "save_steps": 2},
        eval={"gates": {"min": {"accuracy": 0.0}}, "slices": []},
        monitor={
            "retrain": {"on_drift": False, "min_corrections": 3, "approval": "auto", **monitor}
        },
    )
    ws = Workspace(root)
    config = ws.load_config()
    curate(ws, config.data)
    run_id = train(ws, config).run_id
    evaluate(ws, config, run_id)
    ref = register(ws, run_id, "support-router").version.ref
    approve(ws, ref, "ana", "first model", config.registry)
    promote(ws, ref, "champion", config.registry)
    return ws


def _corrections(ws: Workspace, run_id: str, n: int) -> None:
    store = open_store(ws.state_url())
    task = ws.load_config().task
    for i in range(n):
        user = (
            f"Subject: Voltway bike {i}\n\nMy Voltway City e-bike {i} will not charge, code E{i}."
        )
        add_interaction(store, f"chatcmpl-{i}", user, "Queue: technical\n\nHi", run_id=run_id)
    review.enqueue(store, [review.Candidate(f"chatcmpl-{i}", "m", ["drift"], 0) for i in range(n)])
    while (item := review.claim_next(store, "ben", 60)) is not None:
        review.decide(
            store,
            item.id,
            "ben",
            "correct",
            task=task,
            correction="Queue: returns\n\nWe recall it.",
        )


def _audit_sample(ws: Workspace, run_id: str, n: int) -> set[str]:
    """`n` answers drawn for the audit sample and reviewed: every other one was right."""
    store = open_store(ws.state_url())
    task = ws.load_config().task
    ids = [f"chatcmpl-audit-{i}" for i in range(n)]
    for i, row_id in enumerate(ids):
        user = f"Subject: invoice {i}\n\nI was charged twice for order {i}."
        add_interaction(store, row_id, user, "Queue: billing\n\nHi", run_id=run_id)
    review.enqueue(store, [review.Candidate(i, "m", [review.AUDIT], -1.0) for i in ids])
    for i in range(n):
        item = review.claim_next(store, "cy", 60)
        assert item is not None and item.interaction_id in ids
        right = i % 2 == 0
        review.decide(
            store,
            item.id,
            "cy",
            "accept" if right else "correct",
            task=task,
            correction=None if right else "Queue: shipping\n\nIt is on its way.",
        )
    return set(ids)


def test_no_trigger_no_cycle(tiny_model_dir: Path, tmp_path: Path) -> None:
    ws = _champion_workspace(tmp_path / "ws", tiny_model_dir)
    outcome = loop.run_once(ws, ws.load_config())
    assert outcome.cycle is None
    assert [t["fired"] for t in outcome.triggers] == [False, False]  # corrections, accuracy


def test_a_cycle_killed_after_every_step_ends_with_one_version_and_one_promotion(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = _champion_workspace(
        tmp_path / "ws", tiny_model_dir, min_feedback_gain=None, max_audit_loss=None
    )
    config = ws.load_config()
    champion = resolve(ws, "support-router@champion")
    _corrections(ws, champion.run_id, 12)
    audited = _audit_sample(ws, champion.run_id, 8)
    for name in loop.STEPS:
        real = getattr(steps, name)

        def crash_after(*args: object, real=real) -> dict:  # type: ignore[no-untyped-def]
            real(*args)
            raise Crash

        monkeypatch.setattr(steps, name, crash_after)
        with pytest.raises(Crash):
            loop.run_once(ws, config)
        monkeypatch.setattr(steps, name, real)
        assert (ws.state_dir / "loop" / "current.json").is_file()
    outcome = loop.run_once(ws, config)
    assert outcome.finished and outcome.cycle["outcome"].startswith("promoted support-router/2")
    fired = {t["name"] for t in outcome.triggers if t["fired"]}
    assert fired == {"corrections", "reviewed_accuracy"}  # 4 of 20 reviewed answers were right
    assert sorted(p.name for p in ws.dataset_dir("support-tickets").iterdir()) == ["v1", "v2"]
    assert len(list(ws.runs_dir.iterdir())) == 2  # the champion's run and one challenger
    new = resolve(ws, "support-router@champion")
    assert new.version == 2 and new.run_id == outcome.cycle["steps"]["train"]["run_id"]
    promotions = [h for h in history(ws, "support-router") if h["alias"] == "champion"]
    assert [p["version"] for p in promotions] == [1, 2]
    assert any(a["by"] == "tunesmith-loop" for a in new.approvals)
    lineage = json.loads((ws.runs_dir / new.run_id / "lineage.json").read_text())
    assert lineage["init_adapter"]["run_id"] == champion.run_id  # warm start from the champion
    # the next check has nothing new to act on
    assert loop.run_once(ws, config).cycle is None
    cycle = json.loads(next((ws.state_dir / "loop").glob("cycle-*.json")).read_text())
    assert cycle["steps"]["curate"]["feedback_records"] >= 1
    assert cycle["feedback_through"] == 20
    # the audit sample is compared on, never trained on
    assert cycle["steps"]["feedback"]["audit_records"] == 8
    version = ws.dataset_dir("support-tickets") / "v2"
    trained = {
        json.loads(line)["meta"].get("interaction_id")
        for split in ("train", "val", "test", "feedback")
        for line in (version / f"{split}.jsonl").read_text().splitlines()
    }
    assert not trained & audited
    compared = cycle["steps"]["compare"]
    assert compared["audit_rows"] == 8 and compared["feedback_rows"] >= 1
    for split in ("feedback", "audit"):
        for role in ("challenger", "champion"):
            assert 0 <= compared[f"{split}_{role}"] <= 1
    summary = compared["summary"]
    assert summary.startswith(f"feedback split ({compared['feedback_rows']} answers reviewed")
    assert "favours the challenger" in summary
    assert "; audit sample (8 answers drawn at random from served traffic" in summary
    assert "independent" in summary and cycle["evidence"] == summary
    assert list((ws.runs_dir / new.run_id).glob("eval-audit-*/report.json"))


def test_a_challenger_that_does_not_win_on_feedback_is_not_promoted(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    ws = _champion_workspace(tmp_path / "ws", tiny_model_dir, min_feedback_gain=0.99)
    config = ws.load_config()
    _corrections(ws, resolve(ws, "support-router@champion").run_id, 6)
    outcome = loop.run_once(ws, config)
    assert outcome.finished and "does not beat the champion" in outcome.cycle["outcome"]
    assert resolve(ws, "support-router@champion").version == 1


def test_manual_approval_keeps_the_cycle_open_until_someone_approves(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    ws = _champion_workspace(
        tmp_path / "ws", tiny_model_dir, min_feedback_gain=None, approval="manual"
    )
    config = ws.load_config()
    _corrections(ws, resolve(ws, "support-router@champion").run_id, 10)
    waiting = loop.run_once(ws, config)
    assert not waiting.finished and "approval" in waiting.cycle["steps"]["promote"]["reason"]
    assert resolve(ws, "support-router@challenger").version == 2
    assert resolve(ws, "support-router@champion").version == 1
    assert not loop.run_once(ws, config).finished  # still nobody approved
    approve(ws, "support-router/2", "ana", "read the loop's report", config.registry)
    done = loop.run_once(ws, config)
    assert done.finished and done.cycle["outcome"] == "promoted support-router/2 to champion"
    assert resolve(ws, "support-router@champion").version == 2


def test_a_challenger_that_fails_a_gate_stops_the_cycle_naming_the_gate(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    ws = _champion_workspace(tmp_path / "ws", tiny_model_dir, min_feedback_gain=None)
    set_config(ws.root, eval={"gates": {"min": {"accuracy": 1.0}}})  # after the champion passed
    _corrections(ws, resolve(ws, "support-router@champion").run_id, 6)
    outcome = loop.run_once(ws, ws.load_config())
    assert outcome.finished and "gates failed: min accuracy" in outcome.cycle["outcome"]
    assert resolve(ws, "support-router@champion").version == 1


@pytest.mark.parametrize(
    "retrain_steps, expected, every", [(None, 24, 12), (12, 12, 12), (18, 18, 18), (7, 7, 7)]
)
def test_the_challenger_trains_the_champions_settings_for_retrain_max_steps(
    tmp_path: Path, retrain_steps: int | None, expected: int, every: int
) -> None:
    """A warm-started challenger takes `monitor.retrain.max_steps` when set, else the
    champion run's own `train.max_steps`; the rest of the champion's settings either way."""
    import yaml

    ws = Workspace(create_workspace(tmp_path / "ws", "support-tickets", rows=20))
    config = ws.load_config()
    config = config.model_copy(
        update={
            "monitor": config.monitor.model_copy(
                update={
                    "retrain": config.monitor.retrain.model_copy(
                        update={"max_steps": retrain_steps}
                    )
                }
            )
        }
    )
    used = config.model_dump(mode="json")
    used["train"] |= {"max_steps": 24, "learning_rate": 5e-4, "eval_steps": 12, "save_steps": 12}
    (ws.runs_dir / "champ").mkdir(parents=True)
    (ws.runs_dir / "champ" / "config.yaml").write_text(yaml.safe_dump(used))
    cycle = {"champion": {"run_id": "champ"}, "steps": {"curate": {"version": "v2"}}}
    train_config = steps.challenger_config(ws, config, cycle).train
    assert train_config.max_steps == expected and train_config.learning_rate == 5e-4
    # the last step is evaluated and saved: the best checkpoint cannot be an earlier one only
    assert train_config.eval_steps == train_config.save_steps == every
    assert train_config.init_adapter == "champ" and train_config.dataset == "v2"

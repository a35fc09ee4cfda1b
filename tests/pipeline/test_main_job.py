"""`tunesmith run` end to end on a tiny model: every stage runs and the loop closes."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import sqlalchemy as sa

from tunesmith.config.workspace import Workspace
from tunesmith.pipeline.main_job import JobSettings, run_main_job
from tunesmith.pipeline.simulate import SIMULATED_REVIEWER
from tunesmith.registry import resolve
from tunesmith.review.queue import decided_items
from tunesmith.store.db import interactions, open_store, review_items

from ..train.test_run import TRAIN


def test_the_main_job_closes_the_loop_on_a_tiny_model(tiny_model_dir: Path, tmp_path: Path) -> None:
    said: list[str] = []
    bars: dict[str, int] = {}

    def bar(description: str, total: int):  # type: ignore[no-untyped-def]
        bars[description] = 0

        def advance(n: int) -> None:
            bars[description] += n

        return advance

    overrides = {
        "base_model": {"name": "tiny", "path": str(tiny_model_dir)},
        "train": {**TRAIN, "max_steps": 2, "eval_steps": 2, "save_steps": 2},
        "eval": {"gates": {"min": {"accuracy": 0.0}}, "slices": [], "few_shot": 2},
        "serve": {"alias_refresh_seconds": 0.5},
        "monitor": {
            "min_window": 20,
            "drift_review_top": 15,
            "retrain": {
                "min_corrections": 3,
                "min_feedback_gain": None,
                "max_audit_loss": None,  # a 2-step tiny challenger: no bar to clear
                "approval": "auto",
            },
        },
    }
    settings = JobSettings(
        normal_requests=24, drifted_requests=16, fresh_requests=8, max_tokens=6, trickle_seconds=1
    )
    started = time.monotonic()
    rows = run_main_job(tmp_path / "job", "support-tickets", said.append, bar, settings, overrides)

    stages = [r.stage for r in rows]
    assert stages == ["init", "curate", "train", "eval", "register", "kb index", "kb answer",
                      "serve", "monitor", "review", "loop", "served"]  # fmt: skip
    assert bars["simulated traffic"] == 40
    ws = Workspace((tmp_path / "job").resolve())
    by_stage = {r.stage: r for r in rows}
    assert "FLAGGED" in by_stage["monitor"].did  # the new product line is noticed
    # the support agent is refused what only HR may read; HR and the refund question are not
    assert by_stage["kb answer"].number.endswith("1 refused")
    assert "support-agent: How many weeks of parental leave… refused" in by_stage["kb answer"].did
    with open_store(ws.state_url()).connect() as conn:
        records = conn.execute(
            sa.select(interactions.c.key_name, interactions.c.retrieval).where(
                interactions.c.retrieval.is_not(None)
            )
        ).all()
    assert len(records) == 3
    for key_name, retrieval in records:
        readable = ("public/",) if key_name == "support-agent" else ("hr/",)
        assert all(c["id"].startswith(readable) for c in retrieval["chunks"]), retrieval
    decided = decided_items(open_store(ws.state_url()))
    assert decided and {i.decided_by for i in decided} == {SIMULATED_REVIEWER}
    cycle_file = next((ws.state_dir / "loop").glob("cycle-*.json"))
    cycle = json.loads(cycle_file.read_text())
    assert cycle["outcome"] == "promoted support-router/2 to champion"
    # the example reviews 3 answers in 20 at random; the summary names each number's split
    audited = [i for i in decided if "audit_sample" in i.reasons]
    assert audited and cycle["steps"]["compare"]["audit_rows"] == len(audited)
    # the monitor samples every answer; the simulated reviewer leaves the knowledge calls
    # (not its traffic) for a person
    with open_store(ws.state_url()).connect() as conn:
        sampled = sum(
            "audit_sample" in reasons
            for (reasons,) in conn.execute(sa.select(review_items.c.reasons))
        )
    assert sampled >= len(audited)
    assert f"({sampled} of them the random audit sample)" in by_stage["monitor"].did
    assert f"{len(audited)} of them the audit sample, held out" in by_stage["review"].did
    loop_number = by_stage["loop"].number
    assert "feedback split (biased)" in loop_number
    assert f"audit sample (n={len(audited)}, random)" in loop_number
    assert "generator of the corrections" in by_stage["served"].number
    # production went on while the loop retrained, and every answer of that time is stored
    answered, stored = re.search(
        r"answered meanwhile: (\d+), stored: (\d+)", by_stage["loop"].did
    ).groups()
    assert int(answered) >= 3 and answered == stored
    champion = resolve(ws, "support-router@champion")
    assert champion.run_id == cycle["steps"]["train"]["run_id"]
    # the running server switched to the new champion without a restart
    assert by_stage["served"].did.startswith("8/8 answers")
    # each stage carries its own time, and together they are the job's
    assert all(r.seconds > 0 for r in rows[1:])
    assert sum(r.seconds for r in rows) <= time.monotonic() - started
    for row in rows[1:]:
        evidence = row.evidence.split(" ")[0]
        if "/" in evidence and not evidence.startswith("."):
            assert (ws.root / evidence).exists(), row

"""The governance bar across stages, through the `tunesmith` CLI on a tiny tuned model.

curate -> train -> eval -> register -> approve -> promote champion -> train a challenger ->
eval against the champion -> a failing gate blocks promotion -> docs -> audit verify.

One module-scoped fixture runs every step once and keeps each command's exit code and
output; the tests then check one part of the story each, so any one of them runs alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tunesmith.cli import app
from tunesmith.config.workspace import Workspace
from tunesmith.data.curate import curate
from tunesmith.examples.scaffold import create_workspace
from tunesmith.registry import resolve
from tunesmith.store import audit
from tunesmith.store.actor import os_login
from tunesmith.store.files import sha256_file
from tunesmith.store.tracking import URI_ENV
from tunesmith.train.run import train

from .train.test_run import TRAIN

NAME = "support-router"
# the tiny model routes tickets badly: a floor it passes, and a regression it will not exceed
GATES = {"min": {"accuracy": 0.0}, "max_regression": {"accuracy": 0.5}}

runner = CliRunner()


@dataclass
class Story:
    root: Path
    run1: str
    run2: str
    steps: dict[str, tuple[int, str]] = field(default_factory=dict)
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)

    def cli(self, step: str, *args: str) -> tuple[int, str]:
        result = runner.invoke(app, [*args, "-w", str(self.root)])
        self.steps[step] = (result.exit_code, result.output)
        return self.steps[step]

    def report(self, run_id: str) -> dict[str, Any]:
        return json.loads((self.root / "runs" / run_id / "eval" / "report.json").read_text())

    @property
    def audit_log(self) -> Path:
        return self.root / ".tunesmith" / "audit.jsonl"


def _configure(root: Path, **sections: Any) -> None:
    path = root / "tunesmith.yaml"
    raw = yaml.safe_load(path.read_text())
    for key, value in sections.items():
        raw[key] = {**raw.get(key, {}), **value}
    path.write_text(yaml.safe_dump(raw))


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Iterator[Story]:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(URI_ENV, raising=False)
        mp.setenv(audit.ACTOR_ENV, "ci")
        root = create_workspace(tmp_path_factory.mktemp("pipeline") / "ws", "support-tickets", 100)
        _configure(
            root,
            base_model={"name": "tiny-llama", "path": str(tiny_model_dir)},
            train={**TRAIN, "max_steps": 4, "batch_size": 2},
            eval={"gates": GATES},
        )
        ws = Workspace(root)
        curate(ws, ws.load_config().data, workers=1)
        run1 = train(ws, ws.load_config()).run_id
        s = Story(root, run1, "")

        s.cli("eval1", "eval", "--model", run1)
        s.reports["eval1"] = s.report(run1)
        s.cli("register1", "register", run1, "--name", NAME)
        s.cli("promote1_unapproved", "promote", f"{NAME}/1", "--alias", "champion")
        s.cli("approve1", "approve", f"{NAME}/1", "--by", "alice", "--note", "ok")
        s.cli("promote1", "promote", f"{NAME}/1", "--alias", "champion")
        s.cli("show1", "models", "show", f"{NAME}/1")

        _configure(root, train={"seed": 1})
        s.run2 = train(ws, ws.load_config()).run_id
        s.cli("eval2", "eval", "--model", s.run2)
        s.reports["eval2"] = s.report(s.run2)
        s.cli("register2", "register", s.run2, "--name", NAME)

        _configure(root, eval={"gates": {**GATES, "min": {"accuracy": 1.01}}})
        s.cli("eval2_failing", "eval", "--model", s.run2)
        s.reports["eval2_failing"] = s.report(s.run2)
        s.cli("register2_again", "register", s.run2, "--name", NAME)
        s.cli("promote2", "promote", f"{NAME}/2", "--alias", "champion")
        s.cli("show_champion", "models", "show", f"{NAME}@champion")

        s.cli("docs", "docs", f"{NAME}/1")
        s.cli("docs2", "docs", f"{NAME}/2")
        yield s


def _ok(story: Story, step: str) -> str:
    code, out = story.steps[step]
    assert code == 0, f"{step}: {out}"
    return out


def test_first_version_becomes_champion_only_after_approval(story: Story) -> None:
    report = story.reports["eval1"]
    gates = {g["gate"]: g for g in report["gates"]}
    assert gates["min accuracy"]["passed"] is True
    assert gates["max regression accuracy"]["detail"] == "no champion to compare"
    assert report["passed"] is True and report["champion"] is None
    _ok(story, "eval1")
    assert f"registered {NAME}/1 from run {story.run1} (eval passed: true)" in _ok(
        story, "register1"
    )
    code, out = story.steps["promote1_unapproved"]
    assert code == 1 and "approval" in out and f"approve {NAME}/1" in out, out
    assert "enough approvals for champion" in _ok(story, "approve1")
    assert f"{NAME}/1 is now champion, by ci" in _ok(story, "promote1")
    show = _ok(story, "show1")
    assert re.search(r"aliases\s*│\s*champion", show), show
    assert "alice" in show and "can become champion: yes" in show


def test_a_challenger_is_evaluated_against_the_champion(story: Story) -> None:
    assert story.run2 != story.run1
    lineages = [
        json.loads((story.root / "runs" / r / "lineage.json").read_text())
        for r in (story.run1, story.run2)
    ]
    assert [lin["seed"] for lin in lineages] == [0, 1]
    report = story.reports["eval2"]
    champion = report["champion"]
    assert champion["ref"] == f"{NAME}@champion" and champion["run_id"] == story.run1
    # the champion is scored again on the same rows: the same numbers as its own eval
    first = story.reports["eval1"]["metrics"]
    assert champion["metrics"]["accuracy"] == pytest.approx(first["accuracy"])
    assert report["data"]["sha256"] == story.reports["eval1"]["data"]["sha256"]
    gate = next(g for g in report["gates"] if g["gate"] == "max regression accuracy")
    drop = first["accuracy"] - report["metrics"]["accuracy"]
    assert gate["value"] == pytest.approx(drop)
    assert gate["detail"].startswith("champion ")
    assert gate["passed"] is (drop <= 0.5)
    code, out = story.steps["eval2"]
    assert code == (0 if report["passed"] else 1), out
    assert "gate max regression accuracy" in out
    assert f"registered {NAME}/2 from run {story.run2}" in _ok(story, "register2")


def test_a_failing_gate_blocks_promotion_and_names_the_gate(story: Story) -> None:
    code, out = story.steps["eval2_failing"]
    assert code == 1 and "gate min accuracy: FAIL" in out, out
    failing = story.reports["eval2_failing"]
    assert failing["passed"] is False and failing["champion"]["ref"] == f"{NAME}@champion"
    register = _ok(story, "register2_again")
    assert f"run {story.run2} is {NAME}/2: its new eval report is attached" in register
    assert "(passed: false)" in register
    code, out = story.steps["promote2"]
    assert code == 1, out
    assert f"cannot make {NAME}/2 champion" in out
    assert "gate 'min accuracy' failed" in out and "1.010" in out
    # the refused promotion changed nothing
    assert _ok(story, "show_champion").split()[0] == f"{NAME}/1"
    champion = resolve(Workspace(story.root), f"{NAME}@champion")
    assert champion.version == 1 and champion.run_id == story.run1


def test_docs_state_dataset_weights_gates_and_slices(story: Story) -> None:
    out = _ok(story, "docs")
    folder = story.root / "docs" / NAME / "v1"
    card = (folder / "MODEL_CARD.md").read_text()
    annex = (folder / "ANNEX_IV.md").read_text()
    assert "MODEL_CARD.md" in out and "ANNEX_IV.md" in out
    dataset_dir = story.root / "datasets" / "support-tickets" / "v1"
    manifest = json.loads((dataset_dir / "manifest.json").read_text())
    lineage = json.loads((story.root / "runs" / story.run1 / "lineage.json").read_text())
    train_sha = manifest["files"]["train.jsonl"]["sha256"]
    assert train_sha == sha256_file(dataset_dir / "train.jsonl")
    assert train_sha == lineage["dataset"]["files"]["train.jsonl"]
    base_sha = lineage["base_model"]["weights_sha256"]
    assert re.fullmatch(r"[0-9a-f]{64}", base_sha)
    for name, text in (("MODEL_CARD.md", card), ("ANNEX_IV.md", annex)):
        assert "`support-tickets/v1`" in text, name
        assert train_sha in text, name
        assert base_sha in text, name
        for gate in ("min accuracy", "max regression accuracy"):
            assert re.search(rf"\| {gate} \|.*\| PASS \|", text), (name, gate)
        for slice_field in ("region", "customer_tier"):
            assert f"By `{slice_field}`" in text, (name, slice_field)
        assert story.run1 in text, name
    index = json.loads((folder / "documents.json").read_text())
    assert index["model"] == f"{NAME}/1" and index["run_id"] == story.run1
    # the challenger's documents state its failed gate
    _ok(story, "docs2")
    for name in ("MODEL_CARD.md", "ANNEX_IV.md"):
        text = (story.root / "docs" / NAME / "v2" / name).read_text()
        assert re.search(r"\| min accuracy \|.*\| FAIL \| 0\.\d+ < 1\.010 \|", text), name
        assert re.search(r"\| max regression accuracy \|.*\| PASS \| champion ", text), name


def _verify(root: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "verify", "-w", str(root)])
    return result.exit_code, result.output


def test_the_audit_log_records_every_step_and_catches_tampering(story: Story) -> None:
    log = story.audit_log
    original = log.read_bytes()
    lines = original.decode().splitlines(keepends=True)
    entries = audit.entries(log)
    actions = [e.action for e in entries]
    for action in ("curate", "train", "eval", "register", "approve", "promote", "docs"):
        assert action in actions, actions
    assert actions.count("docs") == 2
    assert actions.count("train") == 2 and actions.count("eval") == 3
    assert actions.count("register") == 3  # run 1, run 2, run 2's new report
    assert actions.count("promote") == 1  # the refused promotions left no entry
    approval = next(e for e in entries if e.action == "approve")
    # the name typed after --by, and the OS user who ran the command: the one counted
    assert approval.details["by"] == "alice" and approval.actor == f"user:{os_login()}"
    assert approval.subject == f"{NAME}/1"

    code, out = _verify(story.root)
    assert code == 0 and f"audit log ok: {len(lines)} entries" in out, out

    edited = json.loads(lines[2])
    edited["actor"] = "mallory"
    deleted = lines[:2] + lines[3:]
    swapped = [*lines[:2], lines[3], lines[2], *lines[4:]]
    rehashed = dict(edited, hash=audit.entry_hash(edited))
    cases = {
        "edit": ([*lines[:2], json.dumps(edited) + "\n", *lines[3:]], "line 3", "hash"),
        "delete": (deleted, "line 3", "removed or reordered"),
        "swap": (swapped, "line 3", "removed or reordered"),
        "edit and rehash": (
            [*lines[:2], json.dumps(rehashed) + "\n", *lines[3:]],
            "line 4",
            "prev_hash",
        ),
    }
    try:
        for case, (tampered, where, why) in cases.items():
            log.write_text("".join(tampered))
            code, out = _verify(story.root)
            assert code == 1, (case, out)
            assert "FAILED" in out and why in out, (case, out)
            assert re.search(rf"\b{where}\b", out), (case, out)
            log.write_bytes(original)
    finally:
        log.write_bytes(original)
    assert _verify(story.root)[0] == 0

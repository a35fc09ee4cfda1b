"""Workflows (serve.workflows) through the official `openai` client: a ticket classified by one
adapter, its fields extracted by another, the action taken by a third, on one tiny base model
in one server, with the trace of which adapter did what in the response and in the store.
The adapters are random: the grammars (labels, JSON schema, tool calls) make their outputs
valid, which is what routing needs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import openai
import pytest
import sqlalchemy as sa
import yaml
from alembic import command
from openai import OpenAI
from pydantic import ValidationError

from tunesmith.config.serve import WorkflowConfig
from tunesmith.config.workspace import Workspace
from tunesmith.examples.scaffold import create_workspace
from tunesmith.models.base import weights_digest
from tunesmith.serve.app import create_app, load_state
from tunesmith.serve.catalog import ServedModel
from tunesmith.serve.schemas import ChatRequest
from tunesmith.serve.workflow import _Outcome, _step_request
from tunesmith.store import migrate
from tunesmith.store.db import interactions, open_store, reading
from tunesmith.store.keys import create_key

from .conftest import make_adapter
from .server import live_server, set_config
from .test_tool_calls import TOOLS, valid_calls

LABELS = ["billing", "technical", "account", "shipping", "returns"]
FIELDS = {
    "type": "object",
    "properties": {
        "order": {"type": "string", "pattern": "^A[0-9]{1,3}$"},
        "urgent": {"type": "boolean"},
    },
    "required": ["order", "urgent"],
    "additionalProperties": False,
}
RUNS = ("run-triage", "run-fields", "run-act")
DESK = {
    "name": "ticket-desk",
    "steps": [
        {"name": "triage", "model": "run-triage", "kind": "classify"},
        {"name": "fields", "model": "run-fields", "kind": "extract", "json_schema": FIELDS},
        {"name": "act", "model": "run-act", "kind": "act"},
    ],
}
ROUTED = {
    "name": "routed-desk",
    "steps": [
        # one label only: the classifier's answer is held to it, so the route is known
        {"name": "triage", "model": "run-triage", "kind": "classify", "labels": ["billing"]},
        {
            "name": "refund",
            "model": "run-act",
            "kind": "act",
            "when": {"triage": ["billing"]},
            "include": ["triage"],
        },
        {"name": "address", "model": "run-fields", "kind": "act", "when": {"triage": ["shipping"]}},
    ],
}
TICKET = [{"role": "user", "content": "I was charged twice for order A12, please refund"}]


def fake_run(ws: Workspace, run_id: str, base_dir: Path, seed: int) -> None:
    """A finished LoRA run as the catalogue reads one: its config, lineage and adapter."""
    run_dir = ws.runs_dir / run_id
    run_dir.mkdir(parents=True)
    make_adapter(base_dir, run_dir / "adapter", seed=seed)
    raw = yaml.safe_load((ws.root / "tunesmith.yaml").read_text())
    (run_dir / "config.yaml").write_text(yaml.safe_dump(raw))
    lineage = {"base_model": {"path": str(base_dir), "weights_sha256": weights_digest(base_dir)}}
    (run_dir / "lineage.json").write_text(json.dumps({**lineage, "hardware": {}}))
    (run_dir / "summary.json").write_text("{}")


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, bpe_model_dir: Path) -> Iterator[dict]:
    root = create_workspace(tmp_path_factory.mktemp("flows") / "ws", "support-tickets", rows=40)
    set_config(root, base_model={"name": "tiny-bpe", "path": str(bpe_model_dir)})
    ws = Workspace(root)
    for seed, run_id in enumerate(RUNS, start=1):
        fake_run(ws, run_id, bpe_model_dir, seed)
    set_config(root, serve={"workflows": [DESK, ROUTED]})
    state = load_state(ws, ws.load_config())
    _, secret = create_key(state.store, "app", ["*"], "ci")
    with live_server(create_app(state)) as url:
        client = OpenAI(base_url=url + "/v1", api_key=secret, max_retries=0)
        yield {"ws": ws, "state": state, "client": client}


def test_a_ticket_is_classified_extracted_and_acted_on_by_three_adapters(desk: dict) -> None:
    answer = desk["client"].chat.completions.create(
        model="ticket-desk",
        messages=TICKET,
        tools=TOOLS,
        tool_choice="required",
        max_tokens=96,
        temperature=0,
    )
    trace = answer.model_extra["tunesmith_trace"]
    assert [(t["step"], t["kind"], t["run_id"]) for t in trace] == [
        ("triage", "classify", "run-triage"),
        ("fields", "extract", "run-fields"),
        ("act", "act", "run-act"),
    ]
    assert not any(t["skipped"] for t in trace)
    assert trace[0]["label"] in LABELS  # held to the run's task labels
    assert trace[1]["valid"] is True
    jsonschema.validate(trace[1]["fields"], FIELDS)
    # the answer is the last step's: the tool-calling adapter's call
    assert answer.model == "ticket-desk" and answer.system_fingerprint == "run-act"
    calls = valid_calls(answer.choices[0].message)
    assert calls and trace[2]["calls"] == [name for name, _ in calls]
    assert answer.choices[0].finish_reason == "tool_calls"
    assert all(t["latency_ms"] > 0 for t in trace)
    steps = sum(t["completion_tokens"] for t in trace)
    assert answer.usage.completion_tokens == steps


def test_the_label_routes_which_steps_run(desk: dict) -> None:
    answer = desk["client"].chat.completions.create(
        model="routed-desk",
        messages=TICKET,
        tools=TOOLS,
        tool_choice="required",
        max_tokens=96,
        temperature=0,
    )
    triage, refund, address = answer.model_extra["tunesmith_trace"]
    assert triage["label"] == "billing" and not refund["skipped"]
    assert refund["run_id"] == "run-act" and refund["calls"]
    assert address["skipped"] and address["run_id"] is None
    assert address["reason"] == "'triage' gave 'billing', not one of ['shipping']"
    assert answer.system_fingerprint == "run-act"  # the last step that ran
    assert answer.choices[0].message.tool_calls


def test_the_trace_is_stored_with_the_interaction(desk: dict) -> None:
    answer = desk["client"].chat.completions.create(
        model="ticket-desk", messages=TICKET, max_tokens=16, temperature=0
    )
    with reading(desk["state"].store) as conn:
        row = conn.execute(sa.select(interactions).where(interactions.c.id == answer.id)).one()
    assert row.model == "ticket-desk" and row.run_id == "run-act"
    assert [t["run_id"] for t in row.trace] == list(RUNS)
    assert row.label == row.trace[0]["label"] and row.label in LABELS
    assert row.messages[0]["content"] == TICKET[0]["content"]  # the caller's, not a step's
    assert row.choices[0]["text"] == (answer.choices[0].message.content or "")


def test_workflows_are_listed_and_refuse_streaming(desk: dict) -> None:
    listed = {m.id for m in desk["client"].models.list()}
    assert {"ticket-desk", "routed-desk", *RUNS} <= listed
    with pytest.raises(openai.BadRequestError) as err:
        desk["client"].chat.completions.create(model="ticket-desk", messages=TICKET, stream=True)
    assert "does not stream" in str(err.value) and err.value.body["param"] == "stream"


def test_an_unknown_step_model_stops_the_server_at_start(desk: dict) -> None:
    ws: Workspace = desk["ws"]
    config = ws.load_config()
    flow = {**DESK, "steps": [*DESK["steps"][:2], {**DESK["steps"][2], "model": "no-such-run"}]}
    config.serve.workflows = [WorkflowConfig.model_validate(flow)]
    with pytest.raises(ValueError, match=r"'ticket-desk' step 'act': model 'no-such-run'"):
        load_state(ws, config)
    config.serve.workflows = [WorkflowConfig.model_validate({**DESK, "name": "run-act"})]
    with pytest.raises(ValueError, match="already a served model's"):
        load_state(ws, config)


def test_steps_refer_only_to_earlier_classify_steps() -> None:
    late = {**ROUTED, "steps": [ROUTED["steps"][1], ROUTED["steps"][0]]}
    with pytest.raises(ValidationError, match="'triage' is not an earlier step"):
        WorkflowConfig.model_validate(late)
    on_extract: dict[str, Any] = {
        "name": "x",
        "steps": [
            {"name": "f", "model": "m", "kind": "extract"},
            {"name": "a", "model": "m", "kind": "act", "when": {"f": ["billing"]}},
        ],
    }
    with pytest.raises(ValidationError, match="needs a classify step"):
        WorkflowConfig.model_validate(on_extract)


def test_include_adds_earlier_outputs_as_a_system_note() -> None:
    flow = WorkflowConfig.model_validate(ROUTED)
    request = ChatRequest.model_validate({"model": "routed-desk", "messages": TICKET})
    served = ServedModel("run-act", "run-act", None)
    outcomes: dict[str, Any] = {
        "triage": _Outcome("classify", label="billing", text="label billing")
    }
    sent = _step_request(request, flow.steps[1], served, outcomes)
    assert sent.model == "run-act" and sent.messages[1:] == request.messages
    assert sent.messages[0].role == "system"
    assert sent.messages[0].text() == "Results of earlier steps:\n- triage: label billing"
    # without include, each specialist sees the conversation as the caller sent it
    assert _step_request(request, flow.steps[0], served, outcomes).messages == request.messages


def test_a_store_before_workflows_gains_the_trace_column(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    engine = open_store(url)
    with engine.begin() as conn:
        command.downgrade(migrate.alembic_config(conn), "0005")
    with reading(engine) as conn:
        assert "trace" not in {c["name"] for c in sa.inspect(conn).get_columns("interactions")}
    open_store(url)
    with reading(engine) as conn:
        assert migrate.current(conn) == migrate.head()  # the newest, 0006 or later
        assert "trace" in {c["name"] for c in sa.inspect(conn).get_columns("interactions")}

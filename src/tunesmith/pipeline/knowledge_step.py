"""The main job's knowledge stages: index the example's policies, then ask the live server as a
support agent (a cited answer, and a refusal where only HR may read the answer) and as HR."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tunesmith.config import ProjectConfig
from tunesmith.config.workspace import Workspace
from tunesmith.pipeline.stage_rows import StageRow

# asked as a support agent (support, staff) and as HR; the model is the bundled base model:
# the knowledge base, not training, decides what is true
QUESTIONS = (
    ("support-agent", "How long does standard shipping take?"),
    ("support-agent", "How many weeks of parental leave do birth parents get?"),
    ("hr-partner", "How many weeks of parental leave do birth parents get?"),
)
KEYS = {"support-agent": ["support", "staff"], "hr-partner": ["hr"]}
MODEL = "base"


@dataclass(frozen=True)
class Asked:
    key: str
    question: str
    answer: str
    citations: list[str]  # the cited kb:// addresses, in order
    refused: bool


def index_knowledge(ws: Workspace, config: ProjectConfig) -> StageRow:
    from tunesmith.knowledge.index import build_index

    assert config.knowledge is not None
    report = build_index(ws, config.knowledge)
    documents = report.added + report.updated + report.unchanged
    return StageRow(
        "kb index",
        f"{documents} policy documents with access groups, {len(report.skipped)} skipped",
        f"{report.chunks} chunks",
        report.manifest,
    )


def make_keys(ws: Workspace) -> dict[str, str]:
    """A key per caller, with its access groups, allowed the base model."""
    from tunesmith.store.db import open_store
    from tunesmith.store.keys import create_key

    store = open_store(ws.state_url())
    try:
        return {
            name: create_key(store, name, [MODEL], "tunesmith run", groups=groups)[1]
            for name, groups in KEYS.items()
        }
    finally:
        store.dispose()


def ask_knowledge(url: str, keys: dict[str, str], refusal: str) -> list[Asked]:
    """Each question through the unmodified `openai` client, answered from the sources."""
    from openai import OpenAI

    asked = []
    for key, question in QUESTIONS:
        client = OpenAI(base_url=url, api_key=keys[key], max_retries=0, timeout=600)
        done = client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": question}],
            max_tokens=60,
            temperature=0,
            extra_body={"retrieval": {"enabled": True, "top_k": 3}},
        )
        message: Any = done.choices[0].message
        # one address per source, though several sentences may cite it
        cited = list(dict.fromkeys(a.url_citation.url for a in message.annotations or []))
        answer = message.content or ""
        asked.append(Asked(key, question, answer, cited, answer == refusal))
    return asked


def knowledge_row(asked: list[Asked]) -> StageRow:
    """One summary line: what each caller got."""
    parts = []
    for one in asked:
        got = (
            "refused"
            if one.refused
            else (f"cites {one.citations[0]}" if one.citations else "answered, no citation")
        )
        parts.append(f"{one.key}: {one.question[:32]}… {got}")
    cited = sum(bool(a.citations) for a in asked)
    refused = sum(a.refused for a in asked)
    return StageRow(
        "kb answer",
        "; ".join(parts),
        f"{cited} cited, {refused} refused",
        ".tunesmith/state.db (interactions.retrieval)",
    )

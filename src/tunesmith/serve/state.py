"""What the server holds (ServeState, built once at start) and what one call carries through
the engine (Prepared)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunesmith.config.memory import MemoryConfig
from tunesmith.config.monitor import MonitorConfig
from tunesmith.config.serve import ServeConfig, WorkflowConfig
from tunesmith.serve import chat
from tunesmith.serve.capture import Recorder
from tunesmith.serve.catalog import Catalog, ServedModel
from tunesmith.serve.confidence import TaskProbe
from tunesmith.serve.engine import Delta, Done, Engine, Sequence
from tunesmith.serve.metrics import ServeMetrics
from tunesmith.serve.pii_restore import Maskers, RequestValues
from tunesmith.serve.retrieval import Retrieved
from tunesmith.serve.schemas import ChatRequest
from tunesmith.serve.structured import Grammars
from tunesmith.store.keys import ApiKey

if TYPE_CHECKING:
    from tunesmith.memory.write import MemoryMasker
    from tunesmith.serve.memory import Remembered


@dataclass
class ServeState:
    """Everything a request needs; built once when the server starts."""

    settings: ServeConfig
    engine: Engine
    tokenizer: Any
    catalog: Catalog
    grammars: Grammars
    probe: TaskProbe
    recorder: Recorder | None
    metrics: ServeMetrics
    store: Any  # SQLAlchemy engine of the state store (keys, interactions, review queue)
    monitor: MonitorConfig  # review lease and thresholds
    audit_log: Path | None = None  # review decisions are appended here
    maskers: Maskers = field(default_factory=Maskers)  # requests masked as training data was
    retriever: Any | None = None  # knowledge.retriever.Retriever: the knowledge index, if any
    embedder: Any | None = None  # models.sentence.SentenceModel served at /v1/embeddings
    workflows: dict[str, WorkflowConfig] = field(default_factory=dict)  # by the name asked for
    memory: MemoryConfig = field(default_factory=MemoryConfig)  # what models remember of users
    memory_embedder: Any | None = None  # models.sentence.SentenceModel; None: no memory
    memory_masker: MemoryMasker | None = None  # text masked before it enters memory


@dataclass
class Prepared:
    request: ChatRequest
    key: ApiKey
    served: ServedModel
    prompt: list[int]
    forced_tool: bool
    choices: list[chat.ChoiceState]
    sequences: list[Sequence]
    queue: asyncio.Queue[tuple[int, Delta | Done]]
    started: float
    id: str  # the completion's id, and the id of its stored interaction
    first_token: float | None = None
    recorded: bool = False  # committed (answer or failure): once per call
    # the request's personal values, in memory for this call only; None: nothing was masked
    values: RequestValues | None = None
    shown: dict[int, str] = field(default_factory=dict)  # streamed text as the caller saw it
    retrieved: Retrieved | None = None  # the sources given; None: answered without retrieval
    refused: bool = False  # no source the caller may read: the refusal, the model not run
    remembered: Remembered | None = None  # the user's memories given; None: no memory


class Failed(Exception):
    """A call the server could not answer, recorded under `request_id` before this is raised;
    `detail` is for the server's log only."""

    def __init__(self, request_id: str, status: str, detail: str) -> None:
        super().__init__(f"{request_id} {status}: {detail}")
        self.request_id, self.status, self.detail = request_id, status, detail

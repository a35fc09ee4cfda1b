"""What `kb search` and the server hold: the built index, the model it was embedded with and
how to search it, checked to belong together."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tunesmith.config.knowledge import KnowledgeConfig
from tunesmith.config.workspace import Workspace
from tunesmith.knowledge.index import index_path, on_server, open_index
from tunesmith.knowledge.search import Hit, search
from tunesmith.knowledge.store import KnowledgeIndex
from tunesmith.models.sentence import SentenceModel, load_sentence_model

if TYPE_CHECKING:
    from tunesmith.knowledge.pg_store import PostgresIndex


class IndexMismatch(ValueError):
    """The index was built with another embedding model than the config names now."""


@dataclass
class Retriever:
    """An open index, its embedding model and how to search: what `kb search` and the
    server hold. One connection, used under a lock (the server calls from many threads)."""

    index: KnowledgeIndex | PostgresIndex
    model: SentenceModel | None
    config: KnowledgeConfig
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def version(self) -> int:
        with self.lock:
            return self.index.current_version()

    def search(self, query: str, groups: Any, top_k: int | None = None) -> list[Hit]:
        with self.lock:
            return search(self.index, self.model, query, groups, self.config.retrieval, top_k)

    def close(self) -> None:
        self.index.close()


def open_retriever(workspace: Workspace, config: KnowledgeConfig) -> Retriever:
    """The built index with the model it was embedded with; refuses an index that is missing
    or was built with another model than `knowledge.embedding.model` names now."""
    if on_server(config):  # a server has no file to look for: its version rows tell
        index = open_index(workspace, config)
        path = index.path
    else:
        path = index_path(workspace, config)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no knowledge index yet; run `tunesmith kb index`")
        index = KnowledgeIndex(path)
    if index.current_version() == 0:
        index.close()
        raise FileNotFoundError(f"{path}: no index version yet; run `tunesmith kb index`")
    model = None
    if config.retrieval.mode != "lexical":
        model = load_sentence_model(config.embedding.model, workspace.root)
        if index.meta("embedding_digest") != model.digest:
            built = index.meta("embedding_model")
            index.close()
            raise IndexMismatch(
                f"{path}: built with embedding model '{built}', but knowledge.embedding.model "
                f"is '{config.embedding.model}' (other weights); run `tunesmith kb index`"
            )
    if isinstance(index, KnowledgeIndex):
        index.resident()  # the vectors and words into memory now, not on the first search
    return Retriever(index, model, config)

"""A knowledge-only workspace over the small knowledge base of tests/kb_assets.py, indexed in
SQLite and, where a PostgreSQL server with pgvector can be started here (`pgserver`), there
too."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tunesmith.config import KnowledgeConfig
from tunesmith.config.workspace import Workspace

from ..kb_assets import write_kb


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway PostgreSQL server (pgserver bundles one with pgvector), on a Unix socket."""
    import pgserver  # a dev dependency: `make test` installs it, so its absence is a failure

    failed: list[str] = []
    for _ in range(3):  # pg_ctl now and then fails to start on a loaded machine: a fresh try
        try:
            server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
            server.psql("CREATE EXTENSION IF NOT EXISTS vector;")
            break
        except Exception as err:  # no binaries for this platform, no shared memory, ...
            failed.append(f"{type(err).__name__}: {err}")
    else:
        pytest.fail(f"cannot start a local PostgreSQL with pgvector: {failed}")
    yield server.get_uri()
    server.cleanup()


@pytest.fixture(params=["sqlite", "postgresql"])
def kb_workspace(
    request: pytest.FixtureRequest, tmp_path: Path, tiny_embedder: Path
) -> tuple[Workspace, KnowledgeConfig]:
    root = tmp_path / "ws"
    write_kb(root)
    store = {}
    if request.param == "postgresql":
        # a schema of its own per test: knowledge bases sharing one server stay apart
        url = request.getfixturevalue("postgres_url")
        store = {"store": f"{url}&schema=kb_{uuid.uuid4().hex[:12]}"}
    config = KnowledgeConfig.model_validate(
        {
            "sources": [{"path": "kb"}],
            "groups": ["staff", "support", "hr", "exec"],
            "embedding": {"model": str(tiny_embedder)},
            "chunking": {"max_tokens": 32, "overlap_tokens": 8},
        }
        | store
    )
    (root / "tunesmith.yaml").write_text(
        "knowledge:\n" + "\n".join(f"  {line}" for line in _yaml(config).splitlines()) + "\n"
    )
    return Workspace(root), config


def _yaml(config: KnowledgeConfig) -> str:
    import yaml

    return yaml.safe_dump(config.model_dump(mode="json", exclude_defaults=True), sort_keys=False)

"""A knowledge-only workspace over the small knowledge base of tests/kb_assets.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunesmith.config import KnowledgeConfig
from tunesmith.config.workspace import Workspace

from ..kb_assets import write_kb


@pytest.fixture
def kb_workspace(tmp_path: Path, tiny_embedder: Path) -> tuple[Workspace, KnowledgeConfig]:
    root = tmp_path / "ws"
    write_kb(root)
    config = KnowledgeConfig.model_validate(
        {
            "sources": [{"path": "kb"}],
            "groups": ["staff", "support", "hr", "exec"],
            "embedding": {"model": str(tiny_embedder)},
            "chunking": {"max_tokens": 32, "overlap_tokens": 8},
        }
    )
    (root / "tunesmith.yaml").write_text(
        "knowledge:\n" + "\n".join(f"  {line}" for line in _yaml(config).splitlines()) + "\n"
    )
    return Workspace(root), config


def _yaml(config: KnowledgeConfig) -> str:
    import yaml

    return yaml.safe_dump(config.model_dump(mode="json", exclude_defaults=True), sort_keys=False)

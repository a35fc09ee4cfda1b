"""`tunesmith init`: a new workspace from a bundled example."""

from __future__ import annotations

import shutil
from pathlib import Path

from tunesmith.examples import support_tools
from tunesmith.examples.support_tickets import write_example

EXAMPLES_DIR = Path(__file__).parent
EXAMPLES = {"support-tickets": write_example}
EXAMPLES["support-tools"] = support_tools.write_example


def create_workspace(directory: Path, example: str = "support-tickets", rows: int = 600) -> Path:
    """Copy the example's tunesmith.yaml (and knowledge documents) and generate its raw data
    into `directory`."""
    if example not in EXAMPLES:
        raise KeyError(f"unknown example '{example}'; available: {', '.join(sorted(EXAMPLES))}")
    if directory.exists() and any(directory.iterdir()):
        raise FileExistsError(f"{directory} exists and is not empty")
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(EXAMPLES_DIR / example / "tunesmith.yaml", directory / "tunesmith.yaml")
    EXAMPLES[example](directory / "raw", n=rows, seed=0)
    if (EXAMPLES_DIR / example / "knowledge").is_dir():  # the policies its knowledge base indexes
        shutil.copytree(EXAMPLES_DIR / example / "knowledge", directory / "knowledge")
    facts = EXAMPLES_DIR / example / "knowledge_facts.jsonl"  # their gold facts, for eval
    if facts.is_file():
        shutil.copyfile(facts, directory / facts.name)
    for folder in ("datasets", "runs"):
        (directory / folder).mkdir(exist_ok=True)
    (directory / ".gitignore").write_text(".tunesmith/\n", encoding="utf-8")
    return directory.resolve()

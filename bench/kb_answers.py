"""Fine-tuning vs retrieval vs both, measured on one knowledge base: `tunesmith eval
--knowledge` on a workspace that `tunesmith run` made (the bundled example: its policies, its
76 gold facts, its fine-tuned champion), written as the `kb-answers` section of RESULTS.md.

    python bench/kb_answers.py --workspace /tmp/demo-ws [--limit N] [--write]

The three settings answer the same questions, each asked by a caller holding its document's
groups: the base model with retrieval, the fine-tuned model alone, the fine-tuned model with
retrieval; then the knowledge-update check (edit facts, re-index, ask again)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from results import write_section
from tunesmith.config.workspace import Workspace
from tunesmith.evaluate.knowledge_eval import evaluate_knowledge, questions_file
from tunesmith.evaluate.knowledge_report import markdown
from tunesmith.registry import default_name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True, help="made by `tunesmith run`")
    parser.add_argument("--model", default=None, help="fine-tuned model (default: champion)")
    parser.add_argument("--limit", type=int, default=None, help="first N questions only")
    parser.add_argument("--write", action="store_true", help="write bench/RESULTS.md")
    args = parser.parse_args()
    ws = Workspace(args.workspace.resolve())
    config = ws.load_config()
    model = args.model or f"{default_name(config)}@champion"
    load = os.getloadavg()[0]
    started = time.perf_counter()
    result = evaluate_knowledge(
        ws, config, questions_file(ws, config, None), model, limit=args.limit
    )
    seconds = time.perf_counter() - started
    body = (
        markdown(result.report)
        .replace(
            "# Knowledge evaluation: fine-tuning, retrieval and both",
            "## Fine-tuning, retrieval and both, on the bundled example (issue 18)",
        )
        .replace("## Knowledge update", "### Knowledge update")
    )
    body += (
        f"\nFine-tuned model: `{model}` of a workspace `tunesmith run` made (the ticket router:"
        f" trained on routing and replies, never on the policies). {seconds:.0f} s in all;"
        f" load average (1 min) {load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end,"
        " on 2 cores.\n"
    )
    print(body)
    if args.write:
        write_section("kb-answers", body)


if __name__ == "__main__":
    main()

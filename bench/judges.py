"""How far each judge agrees with held-out human decisions.

The human decisions are the review queue's preference pairs of a workspace (chosen = the
reviewer's correction, rejected = the model's answer), by default those a `tunesmith run` job
leaves in `feedback/preferences.jsonl` (its reviewer is the simulated one, answering from the
generator's ground truth). Both judges see each pair: the rubric judge (no reference label: the
human's choice is the only reference) and the LLM judge (the base model behind a local
`tunesmith serve`, json_schema verdicts, both answer orders). Agreement = the judge prefers
what the human chose; ties are reported apart.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from results import write_section
from tunesmith.config.workspace import Workspace
from tunesmith.preference.agreement import human_agreement
from tunesmith.serve.try_serve import server_process
from tunesmith.store.db import open_store
from tunesmith.store.keys import create_key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="a workspace with review pairs")
    parser.add_argument("--limit", type=int, default=None, help="pairs judged at most")
    args = parser.parse_args()
    ws = Workspace(args.work)
    config = ws.load_config()
    _, key = create_key(open_store(ws.state_url()), "bench-judge", ["base"], "bench")
    os.environ[config.align.judge.api_key_env] = key
    with server_process(ws) as (url, _):
        judged = config.model_copy(
            update={
                "align": config.align.model_copy(
                    update={"judge": config.align.judge.model_copy(update={"base_url": url})}
                )
            }
        )
        # every pair: no run of this workspace was preference-tuned on them
        report = human_agreement(
            ws, judged, ws.root / "feedback" / "preferences.jsonl", args.limit, every_pair=True
        )
    lines = [
        "## Judges against human decisions",
        "",
        f"{report['counts']['judged']} review pairs of `{args.work.name}` (chosen = the reviewer's "
        "correction, rejected = the model's answer; the reviewer of `tunesmith run` is the "
        "simulated one). LLM judge: the base model (SmolLM2-135M-Instruct) behind a local "
        "`tunesmith serve`, json_schema verdict, asked in both answer orders, a winner only when "
        "both agree. Rubric: the workspace's rubric settings, without a reference label.",
        "",
        "| judge | pairs | agrees | disagrees | ties | agreement where decided |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in report["judges"].items():
        decided = "n/a" if r["agreement_decided"] is None else f"{r['agreement_decided']:.3f}"
        lines.append(
            f"| {name} | {r['pairs']} | {r['agree']:.3f} | {r['disagree']:.3f} | {r['tie']:.3f} "
            f"| {decided} |"
        )
    body = "\n".join(lines)
    print(body)
    write_section("judges", body)


if __name__ == "__main__":
    main()

"""Preference-tuning settings side by side: policy compliance against the accuracy they cost.

For the SFT run and each align run of a `bench/align.py` workspace: the settings it used
(`align.json`, `summary.json`), label-scoring accuracy on the 53 test tickets and on the fresh
tickets of `bench/align_accuracy.py` (read from the runs' stored `tunesmith eval` reports,
`eval/report.json` and `eval-fresh-<sha>/report.json`, whose data sha256 is checked to be
the same for every run), account recall on the fresh tickets (the class that moves most), and
policy compliance of greedy answers on the test tickets, generated here for every model.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from results import write_section
from tunesmith.config.workspace import Workspace
from tunesmith.preference.rubric import pii_counter
from tunesmith.preference.winrate import answers_of, held_out_rows, judge_answers
from tunesmith.registry.references import resolve_target


def stored(run_dir: Path, pattern: str) -> dict[str, Any]:
    reports = sorted(run_dir.glob(f"{pattern}/report.json"))
    if not reports:
        raise SystemExit(f"{run_dir}: no {pattern}/report.json; run bench/align_accuracy.py")
    return json.loads(reports[-1].read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/tunesmith-bench-align"))
    parser.add_argument("--sft", required=True)
    parser.add_argument("runs", nargs="+", help="align runs of --work")
    args = parser.parse_args()
    ws = Workspace(args.work / "ws")
    config = ws.load_config()
    count_pii = pii_counter(config.data.pii)
    rows_out, fresh_sha = [], set()
    for ref in [args.sft, *args.runs]:
        run_dir = ws.runs_dir / ref
        test, fresh = stored(run_dir, "eval"), stored(run_dir, "eval-fresh-*")
        fresh_sha.add(fresh["data"]["sha256"])
        target = resolve_target(ws, config, ref)
        prompts = held_out_rows(ws, config, target, None)
        answers = answers_of(ws, target, prompts, config.align.sampling.max_new_tokens, 8)
        rubric = judge_answers(config, ref, prompts, answers, count_pii)
        summary = json.loads((run_dir / "summary.json").read_text())
        used = {}
        if (run_dir / "align.json").is_file():
            used = json.loads((run_dir / "align.json").read_text())["align"]
            used["source"] = json.loads((run_dir / "align.json").read_text())["sources"][0]
        rows_out.append(
            {
                "ref": ref,
                "used": used,
                "steps": summary.get("steps"),
                "replay": (summary.get("replay") or {}).get("rows", 0),
                "test": test["metrics"]["accuracy"],
                "fresh": fresh["metrics"]["accuracy"],
                "fresh_rows": fresh["data"]["rows"],
                "account": fresh["per_class"]["account"]["recall"],
                "compliance": rubric.compliance,
            }
        )
        print(rows_out[-1], flush=True)
    if len(fresh_sha) != 1:
        raise SystemExit(f"fresh reports of different data: {sorted(fresh_sha)}")
    sft = rows_out[0]
    lines = [
        "## Preference tuning: settings against the accuracy they cost",
        "",
        f"SFT `{sft['ref']}` and DPO runs on its label-held AI-feedback pairs (policy as in "
        f"the section above). Test: label scoring on the 53 test tickets; fresh: on the "
        f"{sft['fresh_rows']} fresh tickets of `bench/align_accuracy.py` (both from the runs' "
        "stored `tunesmith eval` reports); compliance: greedy answers to the test tickets, "
        "generated in this run. Differences against the SFT row in points.",
        "",
        "| run | pairs | beta | lr | epochs | NLL weight | label line in prompt | replayed "
        "SFT records | steps | compliance | test acc. | fresh acc. | account recall (fresh) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        f"| SFT `{sft['ref'][-4:]}` | | | | | | | | {sft['steps']} | {sft['compliance']:.3f} | "
        f"{sft['test']:.3f} | {sft['fresh']:.3f} | {sft['account']:.2f} |",
    ]
    for r in rows_out[1:]:
        u = r["used"]
        pairs = "balanced (repeats)" if "balanced" in u["source"] else Path(u["source"]).parent.name
        lines.append(
            f"| `{r['ref'][-4:]}` | {pairs} | {u['beta']} | {u['learning_rate']} | "
            f"{u['epochs']} | {u['sft_weight']} | {u.get('shared_head_in_prompt', False)} | "
            f"{r['replay']} | {r['steps']} | {r['compliance']:.3f} "
            f"({100 * (r['compliance'] - sft['compliance']):+.1f}) | {r['test']:.3f} "
            f"({100 * (r['test'] - sft['test']):+.1f}) | {r['fresh']:.3f} "
            f"({100 * (r['fresh'] - sft['fresh']):+.1f}) | {r['account']:.2f} |"
        )
    body = "\n".join(lines)
    print(body)
    write_section("align-sweep", body)


if __name__ == "__main__":
    main()

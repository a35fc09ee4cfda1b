"""Label accuracy of an aligned run and its SFT parent on fresh tickets, side by side.

The test split of the example has 53 tickets, so one ticket is 1.9 points: too coarse for
"accuracy within 1 point". Here both models of a `bench/align.py` workspace are scored (label
scoring, as the eval gates use) on tickets the example generator writes from another seed,
curated with the workspace's own settings (PII masking, dedup, template) in a side workspace:
every split of that version; how many repeat a training ticket word for word is reported.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from results import write_section
from tunesmith.config.workspace import Workspace
from tunesmith.data.curate import curate
from tunesmith.evaluate.run import evaluate
from tunesmith.examples.support_tickets import write_example


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/tunesmith-bench-align"))
    parser.add_argument("--sft", required=True)
    parser.add_argument("--aligned", required=True)
    parser.add_argument("--tickets", type=int, default=600)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    ws = Workspace(args.work / "ws")
    config = ws.load_config()
    side = Workspace(args.work / "fresh")
    shutil.rmtree(side.root, ignore_errors=True)
    (side.root / "raw").mkdir(parents=True)
    shutil.copyfile(ws.config_path, side.config_path)
    write_example(side.root / "raw", n=args.tickets, seed=args.seed)
    version = curate(side, config.data).path
    fresh = args.work / "fresh.jsonl"
    fresh.write_text(
        "".join((version / f"{split}.jsonl").read_text() for split in ("train", "val", "test"))
    )
    rows = len(fresh.read_text().splitlines())
    trained = {
        _user(line) for line in (ws.dataset_dir(config.data.name) / "v1" / "train.jsonl").open()
    }
    overlap = sum(_user(line) in trained for line in fresh.open())
    accuracy = {
        ref: evaluate(ws, config, ref, data_file=fresh).report["metrics"]["accuracy"]
        for ref in (args.sft, args.aligned)
    }
    delta = 100 * (accuracy[args.aligned] - accuracy[args.sft])
    body = "\n".join(
        [
            "## Preference tuning: label accuracy on fresh tickets",
            "",
            f"{rows} tickets from the example generator (seed {args.seed}, {args.tickets} raw "
            f"rows, curated with the workspace's settings; {overlap} of them have a user turn "
            "identical to a training ticket's), label scoring. "
            f"SFT `{args.sft}`: **{accuracy[args.sft]:.3f}**; aligned "
            f"`{args.aligned}`: **{accuracy[args.aligned]:.3f}**; difference **{delta:+.1f} "
            f"points** (one ticket = {100 / rows:.2f} points).",
        ]
    )
    print(body)
    write_section("align-accuracy", body)


def _user(line: str) -> str:
    return json.loads(line)["messages"][-2]["content"]


if __name__ == "__main__":
    main()

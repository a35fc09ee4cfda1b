"""Permission through the real server: a generated policy knowledge base indexed in a
workspace made from the bundled example, `tunesmith serve` as its own process (SmolLM2-135M,
retrieval on for every model), and each sampled family-B question asked through the unmodified
`openai` client by three keys: one holding one of the gold document's groups, one holding only
groups the gold document lacks, one with no groups. A leak is a chunk from a document sharing no
group with the key (groups as generated) in the response's citations or in the captured
interaction's retrieval record (the chunks the prompt was given). Written as the `kb-served`
section of RESULTS.md.

    python bench/kb_served.py [--documents 60] [--questions 100] [--write]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
import yaml
from openai import OpenAI

sys.path.insert(0, str(Path(__file__).parent))

from results import write_section
from tunesmith.config.workspace import Workspace
from tunesmith.examples.policy_kb import GROUPS, generate_policy_kb
from tunesmith.examples.scaffold import create_workspace
from tunesmith.knowledge.index import build_index
from tunesmith.models.base import resolve_base_model
from tunesmith.serve.try_serve import server_process
from tunesmith.store.db import interactions, open_store
from tunesmith.store.keys import create_key

SEED = 0


def workspace(root: Path, documents: int) -> tuple[Workspace, list, dict[str, tuple]]:
    ws_root = create_workspace(root / "ws", "support-tickets", rows=60)
    facts = generate_policy_kb(ws_root / "policies", documents, SEED)
    raw = yaml.safe_load((ws_root / "tunesmith.yaml").read_text())
    raw["knowledge"] = {"sources": [{"path": "policies"}], "groups": list(GROUPS)}
    raw["serve"] = {**raw.get("serve", {}), "retrieval": {"models": ["*"], "top_k": 3}}
    (ws_root / "tunesmith.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    ws = Workspace(ws_root)
    config = ws.load_config()
    assert config.knowledge is not None
    build_index(ws, config.knowledge)
    resolve_base_model(config.base_model, ws.state_dir / "models", ws.root)
    groups_of = {f.doc: tuple(f.groups) for f in facts}
    return ws, facts, groups_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=60)
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--write", action="store_true", help="write bench/RESULTS.md")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tunesmith-kb-served-") as tmp:
        ws, facts, groups_of = workspace(Path(tmp), args.documents)
        rng = random.Random(SEED)
        asked = rng.sample(facts, min(args.questions, len(facts)))
        store = open_store(ws.state_url())
        callers = {
            "one of the gold groups": lambda f: [rng.choice(f.groups)],
            "only groups the gold doc lacks": lambda f: sorted(set(GROUPS) - set(f.groups)),
            "no groups": lambda f: [],
        }
        keys: dict[tuple[str, ...], str] = {}

        def key_for(groups: list[str]) -> str:
            if tuple(groups) not in keys:
                name = "k-" + ("-".join(groups) or "none")
                keys[tuple(groups)] = create_key(store, name, ["*"], "bench", groups=groups)[1]
            return keys[tuple(groups)]

        model = ws.load_config().base_model.name
        rows = []
        with server_process(ws) as (url, _):
            for kind, groups_for in callers.items():
                counts = dict.fromkeys(("asked", "cited", "cited_leaks", "prompt_chunks"), 0)
                counts |= {"prompt_leaks": 0, "refused": 0, "gold_in_prompt": 0, "not_captured": 0}
                for fact in asked:
                    groups = groups_for(fact)
                    client = OpenAI(base_url=url, api_key=key_for(groups), max_retries=0)
                    reply = client.chat.completions.create(
                        model=model,
                        messages=[{"role": "user", "content": fact.question_heldout}],
                        max_tokens=8,
                        temperature=0,
                    )
                    readable = set(groups)
                    cited = [
                        a.url_citation.url.removeprefix("kb://").rpartition("#")[0]
                        for a in reply.choices[0].message.annotations or []
                    ]
                    with store.connect() as conn:
                        captured = conn.execute(
                            sa.select(interactions.c.retrieval).where(interactions.c.id == reply.id)
                        ).one_or_none()
                    counts["not_captured"] += int(captured is None)
                    captured = captured[0] if captured is not None else None
                    chunks = [
                        c["id"].rpartition("#")[0] for c in (captured or {}).get("chunks", [])
                    ]
                    counts["asked"] += 1
                    counts["cited"] += len(cited)
                    counts["cited_leaks"] += sum(not readable & set(groups_of[d]) for d in cited)
                    counts["prompt_chunks"] += len(chunks)
                    counts["prompt_leaks"] += sum(not readable & set(groups_of[d]) for d in chunks)
                    counts["refused"] += int(not chunks)
                    counts["gold_in_prompt"] += int(fact.doc in chunks)
                rows.append((kind, counts))
    seconds = time.perf_counter() - started
    head = ["caller", "questions", "prompt chunks", "leaked prompt chunks", "citations"]
    head += ["leaked citations", "refused (no readable chunk)", "gold doc in prompt"]
    head += ["not captured"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for kind, c in rows:
        cells = [kind, c["asked"], c["prompt_chunks"], c["prompt_leaks"], c["cited"]]
        cells += [c["cited_leaks"], c["refused"], c["gold_in_prompt"], c["not_captured"]]
        lines.append("| " + " | ".join(str(v) for v in cells) + " |")
    leaks = sum(c["prompt_leaks"] + c["cited_leaks"] for _, c in rows)
    body = (
        "## Knowledge bases through the server (issue 18): permission in served answers and "
        "captured interactions\n\n"
        f"`generate_policy_kb(documents={args.documents}, seed={SEED})` indexed in a workspace "
        "made from the bundled example; `tunesmith serve` in its own process with SmolLM2-135M-"
        "Instruct and retrieval on (top 3 chunks); "
        f"{len(asked)} family-B questions (sampled, seed {SEED}) "
        "asked through the `openai` client by three keys each, greedy, 8 tokens. Prompt chunks "
        "are the captured interaction's retrieval record (the sources the prompt was given); "
        "citations are the response's `url_citation` annotations. "
        f"Leaks (prompt chunks and citations from a document sharing no group with the key): "
        f"**{leaks}**.\n\n" + "\n".join(lines) + "\n\n"
        f"{seconds:.0f} s in all; load average (1 min) {load:.2f} at the start, "
        f"{os.getloadavg()[0]:.2f} at the end, on 2 cores.\n"
    )
    print(body)
    if args.write:
        write_section("kb-served", body)


if __name__ == "__main__":
    main()

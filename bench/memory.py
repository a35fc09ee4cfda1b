"""Does memory let a served model answer what a user told it in an earlier session?

A generated multi-session benchmark on SmolLM2-135M-Instruct behind `tunesmith serve`'s app
(its own process, the official `openai` client): users in two tenants tell the desk their order
number, product, city and preferred contact in a first session; distractor users (the same
user ids in the other tenant, neighbours with the same product) tell it similar facts; a
quarter of the users then move city. A later session asks one question per user whose answer
is one of those facts. The same questions go once with memory (a key with the user's tenant,
the request's `user`) and once without (a key without tenant), same model, same server.

Reported: answer accuracy with vs without memory (the needed value in the answer), recall@k of
the needed memory (a fact or earlier turn holding the value among those given), memories of
another user or tenant given (must be 0), the newer of two contradicting facts given and the
older not, recall latency p50 / p95 (server side) and the prompt tokens memory adds; then every
user of one tenant forgotten: rows left in the store and the audit chain checked.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

sys.path.insert(0, str(Path(__file__).parent))

from results import write_section

PRODUCTS = ["webcam", "desk lamp", "power bank", "office chair", "e-reader", "backpack",
            "travel mug", "bluetooth speaker", "yoga mat", "coffee grinder"]  # fmt: skip
CITIES = ["Leeds", "Manchester", "Swansea", "Coventry", "Plymouth", "Glasgow", "Cardiff",
          "Leicester", "Norwich", "Oxford", "Sheffield", "Exeter", "Nottingham",
          "Liverpool"]  # fmt: skip
CONTACTS = ["email", "phone", "post", "text message"]
RULES = [
    {"slot": "order_id", "pattern": r"\b(ORD-\d{6})\b"},
    {"slot": "product", "pattern": r"(?i)\bordered an? ((?:[a-z-]+ )?[a-z-]+) last"},
    {"slot": "city", "pattern": r"(?i)\bI (?:live in|moved to|have moved to) ([A-Z][a-z]+)"},
    {"slot": "preferred_contact", "pattern": r"(?i)\bcontact me by ([a-z ]+?)(?:,|\.|$| please)"},
]
QUESTIONS = {
    "order_id": "What was the order number of my {product}? Reply with the number.",
    "product": "Which product did I order last week?",
    "city": "Which city do I live in now?",
    "preferred_contact": "How did I ask to be contacted?",
}
SYSTEM = "You are a support desk assistant. Answer in one short sentence."


def users(n: int, seed: int) -> list[dict[str, Any]]:
    """`n` users per tenant with the same ids in both tenants, each with their own facts."""
    rng = random.Random(seed)
    out = []
    for tenant in ("acme", "globex"):
        for i in range(n):
            facts = {
                "order_id": f"ORD-{rng.randrange(10**6):06d}",
                "product": rng.choice(PRODUCTS),
                "city": rng.choice(CITIES),
                "preferred_contact": rng.choice(CONTACTS),
            }
            moved = rng.choice([c for c in CITIES if c != facts["city"]]) if i % 4 == 0 else None
            ask = rng.choice(list(QUESTIONS)) if moved is None else "city"
            out.append({"tenant": tenant, "user": f"user-{i:03d}", "facts": facts,
                        "moved": moved, "ask": ask})  # fmt: skip
    return out


def first_session(u: dict[str, Any]) -> str:
    f = u["facts"]
    return (
        f"Hi, I ordered a {f['product']} last week, order {f['order_id']}, and it has not "
        f"arrived. I live in {f['city']}. Please contact me by {f['preferred_contact']}."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=30, help="Users per tenant.")
    parser.add_argument("--max-tokens", type=int, default=24)
    parser.add_argument("--work", default=None)
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from openai import OpenAI

    from tunesmith.config.workspace import Workspace
    from tunesmith.examples.scaffold import create_workspace
    from tunesmith.memory.manage import count, forget
    from tunesmith.memory.records import Scope
    from tunesmith.serve.try_serve import server_process
    from tunesmith.store import audit
    from tunesmith.store.db import interactions, memory_episodes, memory_facts, open_store
    from tunesmith.store.keys import create_key

    root = Path(args.work or tempfile.mkdtemp(prefix="tunesmith-memory-")) / "ws"
    create_workspace(root, "support-tickets", rows=40)
    config_path = root / "tunesmith.yaml"
    settings = yaml.safe_load(config_path.read_text())
    settings["memory"] = {"models": ["*"], "facts": RULES}
    config_path.write_text(yaml.safe_dump(settings, sort_keys=False))
    ws = Workspace(root)
    memory = ws.load_config().memory
    store = open_store(ws.state_url())
    keys = {t: create_key(store, t, ["*"], "bench", tenant=t)[1] for t in ("acme", "globex")}
    keys["none"] = create_key(store, "no-memory", ["*"], "bench")[1]
    population = users(args.users, 0)
    results: list[dict[str, Any]] = []
    with server_process(ws) as (url, _):  # `tunesmith serve` in its own process
        clients = {k: OpenAI(base_url=url, api_key=v, max_retries=0) for k, v in keys.items()}

        def ask(key: str, user: str | None, text: str) -> Any:
            extra = {"user": user} if user else {}
            return clients[key].chat.completions.create(
                model="base",
                messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}],
                max_tokens=args.max_tokens,
                temperature=0,
                **extra,
            )

        started = time.perf_counter()
        for u in population:
            ask(u["tenant"], u["user"], first_session(u))
        for u in population:
            if u["moved"]:
                ask(u["tenant"], u["user"], f"Quick update: I have moved to {u['moved']}.")
        for u in population:
            question = QUESTIONS[u["ask"]].format(product=u["facts"]["product"])
            needed = u["moved"] if u["ask"] == "city" and u["moved"] else u["facts"][u["ask"]]
            with_memory = ask(u["tenant"], u["user"], question)
            without = ask("none", None, question)
            results.append({"u": u, "needed": needed, "with": with_memory, "without": without})
        minutes = (time.perf_counter() - started) / 60

    def owners(ids: list[str]) -> set[tuple[str, str]]:
        found = set()
        with store.connect() as conn:
            for table, prefix in ((memory_facts, "f"), (memory_episodes, "e")):
                wanted = [int(i[1:]) for i in ids if i[0] == prefix]
                rows = conn.execute(
                    sa.select(table.c.tenant, table.c.end_user).where(table.c.id.in_(wanted))
                )
                found |= {tuple(r) for r in rows}
        return found

    correct = {"with": 0, "without": 0}
    recalled = foreign = newer_given = older_given = moved = 0
    recall_ms, added_tokens = [], []
    for r in results:
        u, needed = r["u"], r["needed"].lower()
        for side in ("with", "without"):
            correct[side] += needed in (r[side].choices[0].message.content or "").lower()
        given = r["with"].model_extra.get("tunesmith_memory") or []
        texts = [m["text"].lower() for m in given]
        recalled += any(needed in t for t in texts)
        foreign += len(owners([m["id"] for m in given]) - {(u["tenant"], u["user"])})
        if u["moved"]:
            moved += 1
            facts = [m["text"] for m in given if m["kind"] == "fact"]
            newer_given += f"city: {u['moved']}" in facts
            older_given += f"city: {u['facts']['city']}" in facts
        with store.connect() as conn:
            row = conn.execute(
                sa.select(interactions.c.memory).where(interactions.c.id == r["with"].id)
            ).one()
        recall_ms.append(row.memory["recall_ms"])
        added_tokens.append(r["with"].usage.prompt_tokens - r["without"].usage.prompt_tokens)

    log = audit.audit_path(ws.state_dir)
    acme = [u for u in population if u["tenant"] == "acme"]
    for u in acme:
        forget(store, log, Scope("acme", u["user"]), actor="bench")
    left = sum(count(store, Scope("acme", u["user"])) for u in acme)
    kept = sum(
        count(store, Scope("globex", u["user"])) for u in population if u["tenant"] == "globex"
    )
    chain = audit.verify(log)
    n = len(results)
    q = statistics.quantiles(recall_ms, n=20)
    k = memory.facts_k + memory.episodes_k
    rows = [
        ("answer accuracy, with memory", f"{correct['with'] / n:.3f}"),
        ("answer accuracy, without memory (same model)", f"{correct['without'] / n:.3f}"),
        (f"recall@{k} of the needed memory", f"{recalled / n:.3f}"),
        ("memories of another user or tenant given", str(foreign)),
        (f"moved users: newer city given ({moved})", f"{newer_given / max(moved, 1):.3f}"),
        (f"moved users: older city given ({moved})", f"{older_given / max(moved, 1):.3f}"),
        (
            "recall latency p50 / p95 (ms, server side)",
            f"{statistics.median(recall_ms):.1f} / {q[18]:.1f}",
        ),
        ("prompt tokens added by memory (mean)", f"{statistics.mean(added_tokens):.0f}"),
        (f"rows left after forgetting {len(acme)} users of one tenant", str(left)),
        ("rows of the other tenant's users kept", str(kept)),
        ("audit chain after the forgets", "verifies" if chain.ok else f"BROKEN: {chain}"),
    ]
    body = "\n".join(
        [
            "## Memory: answers that need an earlier session, with and without memory",
            "",
            f"SmolLM2-135M-Instruct (base), greedy, max {args.max_tokens} new tokens; the "
            "server in its own process (`tunesmith serve`), the official `openai` client. "
            f"{args.users} users in "
            "each of two tenants with the same user ids (so every user has a same-named "
            "distractor elsewhere), each telling order number, product, city and preferred "
            "contact in a first session; a quarter then move city. "
            f"One question per user ({n}) asked with memory (the tenant's key, `user`) and without "
            "(a key with no tenant). Memory: rule facts (4 patterns), all-MiniLM-L6-v2, "
            f"facts_k {memory.facts_k}, episodes_k {memory.episodes_k}, budget "
            f"{memory.token_budget} tokens. {minutes:.1f} min for {3 * n + moved} calls.",
            "",
            "| measure | value |",
            "|---|---:|",
            *[f"| {a} | {b} |" for a, b in rows],
            "",
            f"Load average at the end {os.getloadavg()[0]:.2f}.",
        ]
    )
    print(body)
    write_section("memory", body)


if __name__ == "__main__":
    main()

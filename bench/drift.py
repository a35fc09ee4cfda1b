"""Input drift: detection power and false-alarm rate of the monitor's embedding drift checks.

Reference: the curated-looking (defect-free) part of `generate_tickets(600, seed=0)`, first
--reference texts, embedded with all-MiniLM-L6-v2 (`tunesmith.monitor.embed`). Windows of
--sizes tickets are drawn without overlap from pools the checks never saw:
  - unshifted: fresh support tickets (`generate_tickets`, seeds 1, 2, ...);
  - shifted: the same, with a --share of them replaced by Aurora e-bike tickets
    (`generate_product_line_tickets`), a product line the reference never mentions.
Each window goes through the domain-classifier test (out-of-fold logistic regression AUC,
threshold = (1-alpha) quantile of the AUC under shuffled domain labels) and the RBF MMD test.
Power = share of shifted windows flagged; false-alarm rate = share of unshifted ones flagged.
Text of a ticket: "Subject: {subject}\\n\\n{body}".
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from results import write_section
from tunesmith.examples.new_product import generate_product_line_tickets
from tunesmith.examples.support_tickets import GeneratedTicket, generate_tickets
from tunesmith.monitor.drift import domain_classifier_test, mmd_test
from tunesmith.monitor.embed import embed


def texts(tickets: list[GeneratedTicket]) -> list[str]:
    return [f"Subject: {t.row['subject']}\n\n{t.row['body']}" for t in tickets if t.defect is None]


def fresh_pool(n: int) -> list[str]:
    """At least n defect-free support tickets from seeds other than the reference's."""
    out: list[str] = []
    seed = 1
    while len(out) < n:
        out += texts(generate_tickets(1000, seed=seed))
        seed += 1
    return out[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=30, help="windows of each kind per size")
    parser.add_argument("--sizes", default="40,60", help="window sizes, comma-separated")
    parser.add_argument("--share", type=float, default=0.25, help="Aurora share of a shifted window")
    parser.add_argument("--reference", type=int, default=500)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--permutations", type=int, default=1000)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    biggest = max(sizes)
    n_new = [round(args.share * s) for s in sizes]

    start = time.perf_counter()
    reference = embed(texts(generate_tickets(600, seed=0))[: args.reference])
    # Disjoint windows within a size; sizes reuse the pools (each size is its own experiment).
    fresh = embed(fresh_pool(args.windows * (2 * biggest - min(n_new))))
    aurora = embed(texts(generate_product_line_tickets(args.windows * max(n_new), seed=1)))
    embed_s = time.perf_counter() - start
    print(f"embedded {len(reference) + len(fresh) + len(aurora)} texts in {embed_s:.1f} s")

    rows = []
    for size, k_new in zip(sizes, n_new, strict=True):
        res: dict[str, dict[str, list[float]]] = {}
        pos_f = pos_a = 0
        for w in range(args.windows):
            unshifted = fresh[pos_f : pos_f + size]
            pos_f += size
            shifted = np.vstack([fresh[pos_f : pos_f + size - k_new], aurora[pos_a : pos_a + k_new]])
            pos_f, pos_a = pos_f + size - k_new, pos_a + k_new
            for kind, window in (("unshifted", unshifted), ("shifted", shifted)):
                t0 = time.perf_counter()
                dc, _ = domain_classifier_test(
                    reference, window, seed=w, n_permutations=args.permutations, alpha=args.alpha
                )
                t1 = time.perf_counter()
                mmd = mmd_test(
                    reference, window, seed=w, n_permutations=args.permutations, alpha=args.alpha
                )
                t2 = time.perf_counter()
                for check, secs in ((dc, t1 - t0), (mmd, t2 - t1)):
                    r = res.setdefault(check.name, {})
                    r.setdefault(f"{kind}_flag", []).append(float(check.drifted))
                    r.setdefault(f"{kind}_stat", []).append(check.statistic)
                    r.setdefault("secs", []).append(secs)
        for name, r in res.items():
            rows.append((size, k_new, name, np.mean(r["shifted_flag"]),
                         np.mean(r["unshifted_flag"]), np.mean(r["shifted_stat"]),
                         np.mean(r["unshifted_stat"]), np.mean(r["secs"])))  # fmt: skip
            print(f"size {size}: {name} power {rows[-1][3]:.2f}, false alarms {rows[-1][4]:.2f}")

    body = [
        "## Monitor: input drift (new product line) — power and false alarms",
        "",
        f"Reference: {len(reference)} tickets from `generate_tickets(600, seed=0)` (defect-free "
        "rows), embedded with all-MiniLM-L6-v2 (offline package). Per window size, "
        f"{args.windows} unshifted windows (fresh tickets, other seeds) and {args.windows} "
        f"shifted ones ({args.share:.0%} Aurora e-bike tickets, a product line the reference "
        "never mentions), no ticket in two windows of one size. alpha = "
        f"{args.alpha}, {args.permutations} permutations; the reference is subsampled to 4x "
        "the window. Domain classifier: 5-fold out-of-fold logistic regression on standardised "
        "embeddings, statistic = ROC AUC, threshold = (1-alpha) quantile of the AUC with the "
        "domain labels shuffled against the out-of-fold scores. MMD: unbiased RBF MMD², median-"
        "heuristic bandwidth, label-permutation threshold. Bar: power ≥ 0.9, false alarms ≤ 0.1.",
        "",
        "| window | Aurora in shifted | test | power | false-alarm rate | mean statistic "
        "shifted | mean statistic unshifted | s / check |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for size, k_new, name, power, fa, s_stat, u_stat, secs in rows:
        stat = "AUC" if name == "domain_classifier" else "MMD²"
        body.append(f"| {size} | {k_new} ({k_new / size:.0%}) | {name} | {power:.2f} | "
                    f"{fa:.2f} | {stat} {s_stat:.3f} | {stat} {u_stat:.3f} | {secs:.3f} |")  # fmt: skip
    body += ["", f"Embedding all {len(reference) + len(fresh) + len(aurora)} texts took "
             f"{embed_s:.1f} s (not included in s / check)."]  # fmt: skip
    text = "\n".join(body)
    print(text)
    write_section("drift", text)


if __name__ == "__main__":
    main()

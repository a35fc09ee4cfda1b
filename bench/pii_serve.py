"""What masking a request and restoring its answer adds to a served call (issue: "Hi <PERSON_1>").

For tickets of the example generator (names, e-mails, phones, account ids in the body), the
server's own path: `mask_request` (the curate masker in the example's mode, over the request's
turns) and `restore` of an answer written the way the tuned model writes it (greeting the
`<PERSON_1>` of the request, signing off with an invented `<PERSON_2>`), streamed token-sized
chunks through `Restorer` as well. Both run serially on the request's path (prepare, then the
answer), so their sum is the latency added per request.

    python bench/pii_serve.py [--requests 300] [--seed 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from rich.console import Console
from rich.table import Table

from results import write_section
from tunesmith.config import ProjectConfig
from tunesmith.config.serve import ServeConfig
from tunesmith.examples.scaffold import EXAMPLES_DIR
from tunesmith.examples.support_tickets import generate_tickets
from tunesmith.serve.pii_restore import Maskers, Restorer, mask_request, restore
from tunesmith.serve.schemas import ChatRequest

ANSWER = "Queue: billing\n\nHi <PERSON_1>,\n\nThanks for contacting us about it. Best, <PERSON_2>"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()

    import yaml

    example = EXAMPLES_DIR / "support-tickets" / "tunesmith.yaml"
    config = ProjectConfig.model_validate(yaml.safe_load(example.read_text()))
    pii, invented = config.data.pii, ServeConfig().invented_pii
    maskers = Maskers()
    maskers.get(pii)  # built once per server, at the first request: not a per-request cost
    tickets = generate_tickets(args.requests, args.seed)
    mask_ms, restore_ms, stream_ms, restored = [], [], [], 0
    for ticket in tickets:
        row = ticket.row
        user = f"Subject: {row['subject']}\n\n{row['body']}\n\n{row['customer_name']}"
        request = ChatRequest.model_validate(
            {"model": "m", "messages": [{"role": "user", "content": user}]}
        )
        start = time.perf_counter()
        _, values = mask_request(maskers, request, pii, invented)
        mask_ms.append(1000 * (time.perf_counter() - start))
        start = time.perf_counter()
        restore(ANSWER, values)
        restore_ms.append(1000 * (time.perf_counter() - start))
        restored += values.restored
        start = time.perf_counter()
        restorer = Restorer(values)
        for i in range(0, len(ANSWER), 4):  # about a token per chunk
            restorer.feed(ANSWER[i : i + 4])
        restorer.flush()
        stream_ms.append(1000 * (time.perf_counter() - start))
    total = [m + r for m, r in zip(mask_ms, restore_ms, strict=True)]

    table = Table(title=f"added per request, {len(tickets)} generated tickets (ms)")
    for column in ("step", "p50", "p95", "mean"):
        table.add_column(column, justify="right")
    lines = ["| step | p50 ms | p95 ms | mean ms |", "|---|---|---|---|"]
    for name, values_ms in (
        ("mask the request", mask_ms),
        ("restore the whole answer", restore_ms),
        ("restore it streamed (4-char chunks)", stream_ms),
        ("added per request (mask + restore)", total),
    ):
        cells = [f"{_pct(values_ms, 0.5):.2f}", f"{_pct(values_ms, 0.95):.2f}"]
        cells.append(f"{statistics.fmean(values_ms):.2f}")
        table.add_row(name, *cells)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    Console().print(table)
    body = (
        "## Serving models tuned on masked data: latency of masking and restoring\n\n"
        f"{len(tickets)} tickets of the example generator (seed {args.seed}; subject, body and "
        "the customer's name as the user turn), masked as the example's data is masked "
        f"(`{pii.mode}`, its custom ACCOUNT_ID), then the answer `{ANSWER!r}` restored: "
        f"{restored} values restored in all. The masker is built once per server (not "
        "counted). Both steps run on the request's path, so their sum is what a call waits.\n\n"
        + "\n".join(lines)
    )
    write_section("pii-serve", body)


if __name__ == "__main__":
    main()

"""Throughput and memory of the full curate pipeline on generated support tickets.

Generates N raw tickets (default 100,000) into a scratch workspace, runs every stage (read,
normalise, quality, exact + near dedup, PII masking on all cores, templating, split, version
writing) and reports records/s and the peak resident memory of the whole process tree
(main process plus PII workers, sampled every 50 ms).

    python bench/curate.py [--rows 100000] [--workers N]
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import tempfile
import threading
import time
from pathlib import Path

import psutil
from rich.console import Console
from rich.table import Table

from results import write_section
from tunesmith.config.workspace import Workspace
from tunesmith.data.curate import curate
from tunesmith.examples.scaffold import EXAMPLES_DIR
from tunesmith.examples.support_tickets import write_example


class PeakRss:
    """Samples the summed RSS of this process and its children until stopped."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = me.memory_info().rss
            for child in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):  # a worker may exit between calls
                    total += child.memory_info().rss
            self.peak = max(self.peak, total)
            time.sleep(0.05)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tunesmith-bench-"))
    try:
        shutil.copyfile(
            EXAMPLES_DIR / "support-tickets" / "tunesmith.yaml", root / "tunesmith.yaml"
        )
        start = time.perf_counter()
        csv_path = write_example(root / "raw", n=args.rows, seed=0)
        generate_s = time.perf_counter() - start
        workspace = Workspace(root)
        config = workspace.load_config().data
        with PeakRss() as rss:
            start = time.perf_counter()
            result = curate(workspace, config, workers=args.workers)
            seconds = time.perf_counter() - start
        counts = result.manifest["counts"]
        rate = counts["read"] / seconds
        size_mb = csv_path.stat().st_size / 2**20
    finally:
        shutil.rmtree(root, ignore_errors=True)
    table = Table(title=f"curate on {args.rows:,} generated tickets")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("raw CSV", f"{size_mb:.1f} MB"),
        ("rows read", f"{counts['read']:,}"),
        (
            "kept / duplicates / quarantined",
            f"{counts['kept']:,} / "
            f"{counts['duplicates']['exact'] + counts['duplicates']['near']:,} / "
            f"{counts['quarantined']:,}",
        ),
        ("counts reconcile", str(counts["reconciles"])),
        ("curate wall time", f"{seconds:.1f} s"),
        ("records/s", f"{rate:,.0f}"),
        ("peak RSS (process tree)", f"{rss.peak / 2**30:.2f} GiB"),
        ("(generating the raw file)", f"{generate_s:.1f} s"),
    ]
    for row in rows:
        table.add_row(*row)
    Console().print(table)
    body = "\n".join(
        ["## Curate throughput", "", "| measure | value |", "|---|---|"]
        + [f"| {a} | {b} |" for a, b in rows]
    )
    write_section("curate", body)


if __name__ == "__main__":
    main()

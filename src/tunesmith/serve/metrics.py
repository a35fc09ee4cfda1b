"""Prometheus metrics of one server: requests, completions by outcome, latency, TTFT, tokens,
queue, adapters."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128)


class ServeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "tunesmith_requests",
            "Requests by model and HTTP status.",
            ["model", "status"],
            registry=r,
        )
        self.completions = Counter(
            "tunesmith_completions",
            "Chat completions by model and outcome: ok, error, cancelled.",
            ["model", "outcome"],
            registry=r,
        )
        self.pii_placeholders = Counter(
            "tunesmith_pii_placeholders",
            "Placeholders in answers: restored (the caller's own value) or invented (the "
            "request had none; written neutrally).",
            ["model", "outcome"],
            registry=r,
        )
        self.latency = Histogram(
            "tunesmith_request_latency_seconds",
            "Request latency, arrival to last token.",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.ttft = Histogram(
            "tunesmith_time_to_first_token_seconds",
            "Arrival to first generated token.",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.memory_recall = Histogram(
            "tunesmith_memory_recall_seconds",
            "Time to read a user's memories into a call's prompt (memory:).",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=r,
        )
        self.prompt_tokens = Counter(
            "tunesmith_prompt_tokens", "Prompt tokens processed.", registry=r
        )
        self.generated_tokens = Counter(
            "tunesmith_generated_tokens", "Tokens generated.", registry=r
        )
        self.batch_rows = Histogram(
            "tunesmith_batch_rows",
            "Sequences per decode step.",
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=r,
        )
        self.tokens_per_second = Gauge(
            "tunesmith_tokens_per_second", "Generated tokens/s over the last 10 s.", registry=r
        )
        self.tokens_per_second.set_function(self._recent_rate)
        self._recent: deque[tuple[float, int]] = deque()

    def watch(
        self,
        queue_depth: Callable[[], int],
        running: Callable[[], int],
        adapters: Callable[[], int],
    ) -> None:
        r = self.registry
        Gauge("tunesmith_queue_depth", "Sequences waiting.", registry=r).set_function(queue_depth)
        Gauge("tunesmith_running_sequences", "Sequences decoding.", registry=r).set_function(
            running
        )
        Gauge("tunesmith_loaded_adapters", "Adapters in memory.", registry=r).set_function(adapters)

    def on_step(self, rows: int, generated: int) -> None:
        """Called by the engine thread after each forward pass."""
        self.batch_rows.observe(rows)
        self.generated_tokens.inc(generated)
        now = time.monotonic()
        self._recent.append((now, generated))
        while self._recent and self._recent[0][0] < now - 10:
            self._recent.popleft()

    def _recent_rate(self) -> float:
        now = time.monotonic()
        total = sum(n for t, n in list(self._recent) if t >= now - 10)
        return total / 10.0

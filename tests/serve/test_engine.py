from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch

from tunesmith.models.tokenize import tokenize_prompts
from tunesmith.serve.engine import Delta, Done, Engine, Sequence
from tunesmith.serve.sampling import SamplingParams


class Collector:
    def __init__(self) -> None:
        self.text = ""
        self.tokens: list[int] = []
        self.done: Done | None = None
        self.finished = threading.Event()

    def __call__(self, event: Delta | Done) -> None:
        assert self.done is None, "an event after Done"
        if isinstance(event, Delta):
            self.text += event.text
            self.tokens += [p.token for p in event.picks]
        else:
            self.done = event
            self.finished.set()


@pytest.fixture(scope="module")
def base(tiny_model_dir: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    return model, AutoTokenizer.from_pretrained(tiny_model_dir)


def reference(tiny_model_dir: Path, adapter: Path | None, prompt: list[int], n: int) -> list[int]:
    """Greedy tokens from plain `generate`, one sequence, one adapter, no batching."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    if adapter is not None:
        model = PeftModel.from_pretrained(model, str(adapter)).eval()
    with torch.inference_mode():
        out = model.generate(
            input_ids=torch.tensor([prompt]),
            max_new_tokens=n,
            min_new_tokens=n,
            do_sample=False,
        )
    return out[0, len(prompt) :].tolist()


def prompts(tokenizer, count: int) -> list[list[int]]:
    words = ["billing", "invoice", "refund", "login", "password", "parcel", "order", "late"]
    chats = [
        [{"role": "user", "content": " ".join(words[: 2 + (i * 3) % 7])}] for i in range(count)
    ]
    return tokenize_prompts(tokenizer, chats)


def test_mixed_adapters_joining_mid_batch_match_one_stream_each(
    base, tiny_model_dir: Path, adapters: list[Path]
) -> None:
    """Rows of 3 adapters and the base, joining while others decode, give the same tokens as
    each sequence generated alone; the engine never holds more than max_batch rows."""
    model, tokenizer = base
    engine = Engine(model, tokenizer, max_batch=4, max_adapters=2)
    engine.eos = set()  # a random model ends early at random; the test wants full lengths
    batches: list[int] = []
    engine.on_step = lambda rows, _: batches.append(rows)
    engine.start()
    plan = [(adapters[i % 3] if i % 4 else None, p) for i, p in enumerate(prompts(tokenizer, 8))]
    collectors = []
    try:
        for i, (adapter, prompt) in enumerate(plan):
            sink = Collector()
            collectors.append(sink)
            seq = Sequence(
                prompt,
                SamplingParams(max_tokens=6 + i % 3, temperature=0),
                sink,
                adapter=None if adapter is None else adapter.name,
                adapter_dir=adapter,
            )
            engine.submit(seq)
            if i == 3:
                assert collectors[0].finished.wait(30)
        for sink in collectors:
            assert sink.finished.wait(60)
    finally:
        engine.stop()
    assert [c.done.error for c in collectors if c.done.error] == []
    assert max(batches) <= 4 and max(batches) > 1
    for (adapter, prompt), sink in zip(plan, collectors, strict=True):
        assert sink.done is not None and sink.done.finish_reason == "length"
        assert sink.tokens == reference(tiny_model_dir, adapter, prompt, len(sink.tokens))
    # the adapters differ from each other and from the base on the same prompt
    same = prompts(tokenizer, 1)[0]
    outs = {tuple(reference(tiny_model_dir, a, same, 6)) for a in [None, *adapters]}
    assert len(outs) == 4


def test_cancelled_sequence_leaves_and_stop_strings_end_text(base) -> None:
    model, tokenizer = base
    engine = Engine(model, tokenizer, max_batch=4, max_adapters=1)
    engine.eos = set()
    engine.start()
    try:
        long, cancelled = Collector(), Collector()
        keep = Sequence(prompts(tokenizer, 1)[0], SamplingParams(40, temperature=0), long)
        drop = Sequence(prompts(tokenizer, 1)[0], SamplingParams(400, temperature=0), cancelled)
        engine.submit(keep)
        engine.submit(drop)
        drop.cancelled.set()
        assert cancelled.finished.wait(30) and long.finished.wait(30)
        assert cancelled.done.finish_reason == "cancelled"
        assert long.done.finish_reason == "length" and long.done.completion_tokens == 40
        word = long.text.split()[3]
        stopped = Collector()
        engine.submit(
            Sequence(
                prompts(tokenizer, 1)[0], SamplingParams(40, temperature=0, stop=[word]), stopped
            )
        )
        assert stopped.finished.wait(30)
        assert stopped.done.finish_reason == "stop"
        assert word not in stopped.text and long.text.startswith(stopped.text)
    finally:
        engine.stop()
    assert engine.running == 0 and engine.batch.cache is None


def test_seeded_sampling_repeats_and_differs_by_seed(base) -> None:
    model, tokenizer = base
    engine = Engine(model, tokenizer)
    engine.eos = set()
    engine.start()
    try:
        runs = []
        for seed in (1, 1, 2):
            sink = Collector()
            engine.submit(
                Sequence(
                    prompts(tokenizer, 1)[0],
                    SamplingParams(12, temperature=1.5, seed=seed),
                    sink,
                )
            )
            assert sink.finished.wait(30)
            runs.append(sink.tokens)
    finally:
        engine.stop()
    assert runs[0] == runs[1] != runs[2]


def test_adapters_of_other_ranks_and_layers_share_a_batch_exactly(
    base, tiny_model_dir: Path, tmp_path: Path
) -> None:
    """A rank-2 adapter on attention and a rank-8 one on the MLP, with a base row, in one
    batch with one slot (so each load evicts the other): each row as PEFT computes it alone."""
    from .conftest import make_adapter

    model, tokenizer = base
    small = make_adapter(
        tiny_model_dir, tmp_path / "small", 7, rank=2, targets=("k_proj", "o_proj")
    )
    large = make_adapter(
        tiny_model_dir, tmp_path / "large", 8, rank=8, targets=("gate_proj", "up_proj")
    )
    engine = Engine(model, tokenizer, max_batch=4, max_adapters=1)
    engine.eos = set()
    engine.start()
    plan = [(small, 0), (large, 1), (None, 2), (large, 3), (small, 4)]
    sinks = []
    try:
        for adapter, i in plan:
            sink = Collector()
            sinks.append(sink)
            engine.submit(
                Sequence(
                    prompts(tokenizer, 5)[i],
                    SamplingParams(max_tokens=5, temperature=0),
                    sink,
                    adapter=None if adapter is None else adapter.name,
                    adapter_dir=adapter,
                )
            )
        for sink in sinks:
            assert sink.finished.wait(60)
    finally:
        engine.stop()
    for (adapter, i), sink in zip(plan, sinks, strict=True):
        expected = reference(tiny_model_dir, adapter, prompts(tokenizer, 5)[i], 5)
        assert sink.tokens == expected, (adapter, i)


def test_rows_that_end_at_their_first_token_leave_before_the_next_step(base) -> None:
    """max_tokens=1, and a client gone while its prompt was read, next to a long row in one
    prefill: they end there, get nothing after Done, and the long row is unharmed."""
    model, tokenizer = base
    engine = Engine(model, tokenizer, max_batch=4)
    engine.eos = set()
    prompt = prompts(tokenizer, 1)[0]
    gone = Collector()
    leaving = Sequence(prompt, SamplingParams(20, temperature=0), gone)

    class LeavesOthers(Collector):
        def __call__(self, event: Delta | Done) -> None:
            leaving.cancelled.set()  # during the shared prefill, before `leaving` is emitted
            super().__call__(event)

    one, long = LeavesOthers(), Collector()
    for seq in (Sequence(prompt, SamplingParams(1, temperature=0), one), leaving):
        engine.waiting.put(seq)
    engine.waiting.put(Sequence(prompt, SamplingParams(6, temperature=0), long))
    engine.start()
    try:
        for sink in (one, gone, long):
            assert sink.finished.wait(30)
    finally:
        engine.stop()
    assert one.done.finish_reason == "length" and len(one.tokens) == 1
    assert gone.done.finish_reason == "cancelled"
    assert long.done.finish_reason == "length" and len(long.tokens) == 6

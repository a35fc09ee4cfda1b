"""Continuous batching over one base model and many adapters, on one worker thread.

Between decode steps, waiting sequences are prefilled together and join the running batch;
finished or cancelled ones leave. Rows of different adapters share each forward pass: every
row reads its own adapter's slot in the LoRA layers (`serve/lora.py`). The thread owns the
model: requests only enqueue sequences and receive events through the sink they passed in.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

from tunesmith.serve.kv import BatchCache
from tunesmith.serve.lora import AdapterError, LoraSlots
from tunesmith.serve.sampling import NoTokenAllowed, Pick, SamplingParams, pick_token


class Constraint(Protocol):
    """Constrained decoding of one sequence (a JSON schema, a tool call)."""

    def apply(self, scores: torch.Tensor) -> None: ...
    def accept(self, token: int) -> bool: ...
    def is_finished(self) -> bool: ...


class EngineBusy(RuntimeError):
    """The waiting queue is full: the request is refused (503) instead of waiting unbounded."""


@dataclass(frozen=True)
class Delta:
    """New text of one sequence and the tokens that made it."""

    text: str
    picks: list[Pick]


@dataclass(frozen=True)
class Done:
    """The end of one sequence."""

    finish_reason: str  # stop | length | error | cancelled
    completion_tokens: int
    mean_logprob: float | None
    error: str | None = None


@dataclass
class Sequence:
    """One choice being generated; `adapter` is a run id, None for the base model."""

    prompt: list[int]
    params: SamplingParams
    sink: Callable[[Delta | Done], None]
    adapter: str | None = None
    adapter_dir: Path | None = None
    constraint: Constraint | None = None
    # sees the output so far and the next token's logits each step (confidence probes)
    observe: Callable[[list[int], torch.Tensor], None] | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    # state owned by the engine thread
    output: list[int] = field(default_factory=list)
    picks: list[Pick] = field(default_factory=list)
    sent: int = 0  # characters of the decoded output already sent
    picks_sent: int = 0
    position: int = 0
    pending: int | None = None  # sampled but not yet in the cache
    slot: int = 0  # the adapter's slot in the LoRA layers; 0 is the base model
    generator: torch.Generator | None = None
    done: bool = False


class Engine:
    """The worker thread: admit, prefill, decode, emit, evict."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        max_batch: int = 8,
        max_adapters: int = 4,
        on_step: Callable[[int, int], None] | None = None,
        max_queue: int | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.device = next(model.parameters()).device
        self.model = model
        self.dtype = next(model.parameters()).dtype
        self.lora = LoraSlots(model, max_adapters)
        self.max_batch = max_batch
        self.max_queue = max_queue  # sequences waiting at most; None: no bound
        self.max_positions = int(getattr(model.config, "max_position_embeddings", 8192))
        self.vocab_size = int(model.config.vocab_size)
        self.eos = self._eos_ids(model, tokenizer)
        self.waiting: queue.Queue[Sequence] = queue.Queue()
        self.deferred: list[Sequence] = []
        self.active: list[Sequence] = []
        self.batch = BatchCache()
        self.on_step = on_step  # (rows in the step, tokens generated) for metrics
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._submitting = threading.Lock()

    @staticmethod
    def _eos_ids(model: Any, tokenizer: Any) -> set[int]:
        ids = {tokenizer.eos_token_id}
        configured = model.generation_config.eos_token_id
        ids.update(configured if isinstance(configured, list) else [configured])
        end_of_turn = tokenizer.convert_tokens_to_ids("<|im_end|>")
        if isinstance(end_of_turn, int) and end_of_turn != tokenizer.unk_token_id:
            ids.add(end_of_turn)
        return {i for i in ids if i is not None}

    # -- the request side ------------------------------------------------------------------
    def start(self) -> None:
        """Run the loop on a worker thread (tests, embedding). `tunesmith serve` runs it on the
        main thread instead: OpenMP (libgomp) runs a worker thread's GEMMs up to ~1.7x slower."""
        self._thread = threading.Thread(target=self.run, name="tunesmith-engine", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.waiting.put_nowait(None)  # type: ignore[arg-type]
        if self._thread is not None:
            self._thread.join(timeout=30)

    def submit(self, seq: Sequence) -> None:
        self.submit_all([seq])

    def submit_all(self, seqs: list[Sequence]) -> None:
        """Enqueue a request's sequences together, or none of them when the queue is full."""
        with self._submitting:
            if self.max_queue is not None and self.queue_depth + len(seqs) > self.max_queue:
                raise EngineBusy(
                    f"{self.queue_depth} sequences wait for the engine (at most {self.max_queue})"
                )
            for seq in seqs:
                if seq.params.seed is not None:
                    seq.generator = torch.Generator().manual_seed(seq.params.seed)
                self.waiting.put(seq)

    @property
    def queue_depth(self) -> int:
        return self.waiting.qsize() + len(self.deferred)

    @property
    def running(self) -> int:
        return len(self.active)

    # -- the worker thread -----------------------------------------------------------------
    def run(self) -> None:
        """The loop, until `stop`: admit, prefill, decode, emit, evict."""
        while not self._stop.is_set():
            admitted = self._admit(block=not self.active)
            try:
                if admitted:
                    self._prefill(admitted)
                    # a row can end at its first token (EOS, max_tokens=1, a stop, a cancel)
                    self._drop_finished()
                if self.active:
                    self._decode()
            except Exception as err:  # one failed step must not take the server down
                for seq in [*self.active, *admitted]:
                    self._finish(seq, "error", error=f"{type(err).__name__}: {err}")
                self.active, self.batch = [], BatchCache()
            self._drop_finished()
        # nothing waits forever: whatever is left hears that the server stopped
        leftovers = [*self.active, *self.deferred]
        while not self.waiting.empty():
            item = self.waiting.get_nowait()
            if item is not None:
                leftovers.append(item)
        for seq in leftovers:
            self._finish(seq, "error", error="the server is shutting down")
        self.active, self.deferred, self.batch = [], [], BatchCache()

    def _admit(self, block: bool) -> list[Sequence]:
        candidates, self.deferred = self.deferred, []
        room = self.max_batch - len(self.active)
        try:
            if block and not candidates:
                first = self.waiting.get(timeout=0.5)
                if first is not None:
                    candidates.append(first)
            while len(candidates) < room:
                item = self.waiting.get_nowait()
                if item is not None:
                    candidates.append(item)
        except queue.Empty:
            pass
        admitted: list[Sequence] = []
        for seq in candidates:
            if seq.cancelled.is_set():
                self._finish(seq, "cancelled")
            elif len(admitted) >= room or (
                seq.adapter is not None and not self.lora.can_load(seq.adapter)
            ):
                self.deferred.append(seq)
            else:
                if seq.adapter is not None:
                    assert seq.adapter_dir is not None
                    try:
                        seq.slot = self.lora.acquire(seq.adapter, seq.adapter_dir)
                    except Exception as err:  # a broken adapter fails its request, not the server
                        reason = str(err) if isinstance(err, AdapterError | OSError) else repr(err)
                        self._finish(seq, "error", error=f"adapter {seq.adapter}: {reason}")
                        continue
                admitted.append(seq)
        return admitted

    def _forward(self, seqs: list[Sequence], **inputs: Any) -> Any:
        self.lora.batch.set([s.slot for s in seqs], self.device, self.dtype)
        with torch.inference_mode():
            return self.model(**inputs, use_cache=True, logits_to_keep=1)

    def _prefill(self, seqs: list[Sequence]) -> None:
        width = max(len(s.prompt) for s in seqs)
        ids = torch.zeros((len(seqs), width), dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for row, seq in enumerate(seqs):
            ids[row, width - len(seq.prompt) :] = torch.tensor(seq.prompt)
            mask[row, width - len(seq.prompt) :] = 1
            seq.position = len(seq.prompt)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        out = self._forward(
            seqs,
            input_ids=ids.to(self.device),
            attention_mask=mask.to(self.device),
            position_ids=positions.to(self.device),
        )
        self.batch.join(out.cache, mask.to(self.device))
        self.active.extend(seqs)
        self._emit(seqs, out.logits[:, -1])

    def _decode(self) -> None:
        seqs = self.active
        ids = torch.tensor([[s.pending] for s in seqs], device=self.device)
        positions = torch.tensor([[s.position] for s in seqs], device=self.device)
        mask = self.batch.extend()
        out = self._forward(
            seqs,
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            cache=self.batch.cache,
        )
        self.batch.cache = out.cache
        for seq in seqs:
            seq.position += 1
        self._emit(seqs, out.logits[:, -1])

    def _emit(self, seqs: list[Sequence], logits: torch.Tensor) -> None:
        logits = logits.float().cpu()
        generated = 0
        for row, seq in enumerate(seqs):
            if seq.cancelled.is_set():
                self._finish(seq, "cancelled")
                continue
            if seq.observe is not None:
                seq.observe(seq.output, logits[row])
            constrain = seq.constraint.apply if seq.constraint else None
            try:
                pick = pick_token(logits[row], seq.params, seq.generator, constrain)
                generated += 1
                self._advance(seq, pick)
            except NoTokenAllowed as err:
                self._finish(seq, "error", error=str(err))
            except Exception as err:  # one row's failure (a grammar, a sample) ends only that row
                self._finish(seq, "error", error=f"{type(err).__name__}: {err}")
        if self.on_step is not None:
            self.on_step(len(seqs), generated)

    def _advance(self, seq: Sequence, pick: Pick) -> None:
        if seq.constraint is not None and not seq.constraint.accept(pick.token):
            raise NoTokenAllowed  # _emit ends the row with its message
        if pick.token in self.eos:
            self._flush(seq, final=True)
            self._finish(seq, "stop")
            return
        seq.output.append(pick.token)
        seq.picks.append(pick)
        seq.pending = pick.token
        text = self.tokenizer.decode(seq.output, skip_special_tokens=True)
        for stop in seq.params.stop:
            at = text.find(stop, max(0, seq.sent - len(stop)))
            if at >= 0:
                self._send(seq, text[:at])
                self._finish(seq, "stop")
                return
        if seq.constraint is not None and seq.constraint.is_finished():
            self._send(seq, text)
            self._finish(seq, "stop")
        elif len(seq.output) >= seq.params.max_tokens or seq.position + 1 >= self.max_positions:
            self._send(seq, text)
            self._finish(seq, "length")
        else:
            self._flush(seq, final=False, text=text)

    def _flush(self, seq: Sequence, final: bool, text: str | None = None) -> None:
        if text is None:
            text = self.tokenizer.decode(seq.output, skip_special_tokens=True)
        if not final:
            # hold back a partial character and what could still become a stop string
            hold = max((len(s) - 1 for s in seq.params.stop), default=0)
            end = len(text) - hold
            while end > seq.sent and text[end - 1] == "\ufffd":
                end -= 1
            text = text[: max(end, seq.sent)]
        self._send(seq, text)

    def _send(self, seq: Sequence, text: str) -> None:
        picks = seq.picks[seq.picks_sent :]
        if len(text) > seq.sent or picks:
            seq.sink(Delta(text[seq.sent :], picks))
            seq.sent = max(seq.sent, len(text))
            seq.picks_sent = len(seq.picks)

    def _finish(self, seq: Sequence, reason: str, error: str | None = None) -> None:
        if seq.done:
            return
        seq.done = True
        if seq.adapter is not None and seq.slot != 0:
            self.lora.release(seq.adapter)
        logprobs = [p.logprob for p in seq.picks]
        mean = sum(logprobs) / len(logprobs) if logprobs else None
        seq.sink(Done(reason, len(seq.output), mean, error))

    def _drop_finished(self) -> None:
        keep = [i for i, s in enumerate(self.active) if not s.done]
        if len(keep) != len(self.active):
            self.active = [self.active[i] for i in keep]
            self.batch.keep(keep)

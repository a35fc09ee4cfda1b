"""Constrained decoding with xgrammar: output that follows the requested JSON schema.

A request's JSON schema, or its tools' structural tag (`models.tools.tool_call_tag`: free
text, every call one of the tools with arguments following its schema), compiles to a grammar
over the tokenizer's vocabulary once; each sequence gets a matcher that masks every token the
grammar forbids. Whitespace between JSON tokens is limited, so a model cannot pad forever.
An answer cut by `max_tokens` ends with finish_reason "length" and is not valid JSON (a cut
call is no call); keywords xgrammar does not enforce are checked again on the stored answer
(capture's `schema_invalid` flag).

A schema is the caller's input: its size, depth and compile time are bounded. A compile that
runs over its time finishes on one of a few compile threads (xgrammar cannot be interrupted)
and its schema is refused at once from then on.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import torch

CACHED_GRAMMARS = 256  # compiled schemas kept, least recently used dropped
# whitespace in a tool call's arguments: json.dumps' one space, so a model cannot pad forever
CALL_WHITESPACE = 1
COMPILE_THREADS = 2  # schema compiles at once; a slow one holds its thread until it ends


class SchemaRefused(ValueError):
    """A schema over this server's size, depth or compile-time limit (a 400)."""


_XGRAMMAR_PREFIX = re.compile(r"^\[[^\]]*\]\s*\S+:\d+:\s*")  # "[time] file.cc:line: "


def schema_problem(err: Exception) -> str:
    """What xgrammar says is wrong with a schema, without its source paths."""
    return _XGRAMMAR_PREFIX.sub("", str(err)).strip()


def schema_depth(value: Any) -> int:
    """How deeply objects and arrays nest in `value` (a scalar is 0)."""
    depth, level = 0, [value]
    while True:
        containers = [v for v in level if isinstance(v, dict | list)]
        if not containers:
            return depth
        depth += 1
        level = [c for v in containers for c in (v.values() if isinstance(v, dict) else v)]


class GrammarConstraint:
    """One sequence's matcher: masks forbidden tokens, follows the chosen ones."""

    def __init__(self, compiled: Any, vocab_size: int) -> None:
        import xgrammar as xgr

        self._xgr = xgr
        self.matcher = xgr.GrammarMatcher(compiled)
        self.bitmask = xgr.allocate_token_bitmask(1, vocab_size)
        self.vocab_size = vocab_size

    def apply(self, scores: torch.Tensor) -> None:
        self.matcher.fill_next_token_bitmask(self.bitmask)
        self._xgr.apply_token_bitmask_inplace(scores, self.bitmask, vocab_size=self.vocab_size)

    def accept(self, token: int) -> bool:
        return bool(self.matcher.accept_token(token))

    def is_finished(self) -> bool:
        return self.matcher.is_terminated()


class Grammars:
    """Compiles and caches grammars for one tokenizer; safe to call from request threads."""

    def __init__(
        self,
        tokenizer: Any,
        vocab_size: int,
        stop_ids: set[int],
        max_bytes: int = 32_768,
        max_depth: int = 24,
        compile_seconds: float = 10.0,
    ) -> None:
        import xgrammar as xgr

        info = xgr.TokenizerInfo.from_huggingface(
            tokenizer, vocab_size=vocab_size, stop_token_ids=sorted(stop_ids)
        )
        self.compiler = xgr.GrammarCompiler(info)
        self.vocab_size = vocab_size
        self.max_bytes, self.max_depth, self.compile_seconds = max_bytes, max_depth, compile_seconds
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._too_slow: set[str] = set()  # schemas that ran over the time: refused at once
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(COMPILE_THREADS, thread_name_prefix="tunesmith-grammar")

    def _compiled(self, key: str, compile_: Any) -> Any:
        # compiled outside the lock: one slow schema must not hold up every other request
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            if key in self._too_slow:
                raise SchemaRefused(self._slow_message())
        future = self._pool.submit(compile_)
        try:
            compiled = future.result(timeout=self.compile_seconds)
        except FutureTimeout:
            with self._lock:
                self._too_slow.add(key)
            raise SchemaRefused(self._slow_message()) from None
        with self._lock:
            self._cache[key] = compiled
            while len(self._cache) > CACHED_GRAMMARS:
                self._cache.popitem(last=False)
        return compiled

    def _slow_message(self) -> str:
        return f"the schema's grammar takes over {self.compile_seconds:g} s to compile"

    def check(self, schema: dict[str, Any]) -> str:
        """The schema as compiled, or SchemaRefused when over a limit. Its keys keep the
        caller's order: xgrammar writes an object's properties in the order the schema lists."""
        text = json.dumps(schema)
        size = len(text.encode("utf-8"))
        if size > self.max_bytes:
            raise SchemaRefused(f"the schema is {size} bytes; this server takes {self.max_bytes}")
        depth = schema_depth(schema)
        if depth > self.max_depth:
            raise SchemaRefused(
                f"the schema nests {depth} deep; this server takes {self.max_depth}"
            )
        return text

    def for_schema(self, schema: dict[str, Any] | None) -> GrammarConstraint:
        """Any JSON object when `schema` is None, else JSON following `schema`."""
        if schema is None:
            compiled = self._compiled("json_object", self.compiler.compile_builtin_json_grammar)
        else:
            text = self.check(schema)
            compiled = self._compiled(
                text,
                lambda: self.compiler.compile_json_schema(
                    text, any_whitespace=False, strict_mode=True
                ),
            )
        return GrammarConstraint(compiled, self.vocab_size)

    def for_tools(self, tag: dict[str, Any]) -> GrammarConstraint:
        """Text under a structural tag (`models.tools.tool_call_tag`), whitespace in each call's
        arguments bounded; the tag is held to the same limits as a schema."""
        bounded = {
            **tag,
            "format": {
                **tag["format"],
                "tags": [
                    {**t, "content": {"max_whitespace_cnt": CALL_WHITESPACE, **t["content"]}}
                    for t in tag["format"]["tags"]
                ],
            },
        }
        self.check(bounded)
        # keys in the caller's order: xgrammar holds a call's properties to the declared order
        text = json.dumps(bounded)
        compiled = self._compiled(f"tag:{text}", lambda: self.compiler.compile_structural_tag(text))
        return GrammarConstraint(compiled, self.vocab_size)

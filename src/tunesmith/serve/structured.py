"""Constrained decoding with xgrammar: output that always parses (and validates).

A request's JSON schema (or a tool's parameters) compiles to a grammar over the tokenizer's
vocabulary once; each sequence gets a matcher that masks every token the grammar forbids.
Whitespace between JSON tokens is limited, so a model cannot pad forever.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

import torch

from tunesmith.serve.schemas import Tool

CACHED_GRAMMARS = 256  # compiled schemas kept, least recently used dropped


def tool_call_schema(tools: list[Tool], only: str | None = None) -> dict[str, Any]:
    """A JSON object `{"name": ..., "arguments": {...}}` for one of `tools` (or `only`)."""
    options = [
        {
            "type": "object",
            "properties": {
                "name": {"const": tool.function.name},
                "arguments": tool.function.parameters,
            },
            "required": ["name", "arguments"],
            "additionalProperties": False,
        }
        for tool in tools
        if only is None or tool.function.name == only
    ]
    return options[0] if len(options) == 1 else {"anyOf": options}


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

    def __init__(self, tokenizer: Any, vocab_size: int, stop_ids: set[int]) -> None:
        import xgrammar as xgr

        info = xgr.TokenizerInfo.from_huggingface(
            tokenizer, vocab_size=vocab_size, stop_token_ids=sorted(stop_ids)
        )
        self.compiler = xgr.GrammarCompiler(info)
        self.vocab_size = vocab_size
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def _compiled(self, key: str, compile_: Any) -> Any:
        # compiled outside the lock: one slow schema must not hold up every other request
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        compiled = compile_()
        with self._lock:
            self._cache[key] = compiled
            while len(self._cache) > CACHED_GRAMMARS:
                self._cache.popitem(last=False)
        return compiled

    def for_schema(self, schema: dict[str, Any] | None) -> GrammarConstraint:
        """Any JSON object when `schema` is None, else JSON valid under `schema`."""
        if schema is None:
            compiled = self._compiled("json_object", self.compiler.compile_builtin_json_grammar)
        else:
            text = json.dumps(schema, sort_keys=True)
            compiled = self._compiled(
                text,
                lambda: self.compiler.compile_json_schema(
                    text, any_whitespace=False, strict_mode=True
                ),
            )
        return GrammarConstraint(compiled, self.vocab_size)

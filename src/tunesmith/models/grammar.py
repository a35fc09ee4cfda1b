"""Grammar-constrained generation for evaluation: xgrammar over transformers' `generate`.

Tool calls decode under `tools.tool_call_tag`, the structural tag the server uses too, so a
call the model starts always names a listed function and follows its parameters' schema.
"""

from __future__ import annotations

import json
from typing import Any

from tunesmith.models.tools import Tool, tool_call_tag


class ToolGrammars:
    """Compiled tool-call grammars for one model and tokenizer, cached by tool list."""

    def __init__(self, model: Any, tokenizer: Any) -> None:
        import xgrammar as xgr

        # the logits' width, which can exceed the tokenizer's vocabulary (padding rows)
        vocab_size = int(model.get_output_embeddings().weight.shape[0])
        stops = {tokenizer.eos_token_id} - {None}
        info = xgr.TokenizerInfo.from_huggingface(
            tokenizer, vocab_size=vocab_size, stop_token_ids=sorted(stops)
        )
        self.compiler = xgr.GrammarCompiler(info)
        self._cache: dict[str, Any] = {}

    def for_tools(self, tools: list[Tool], required: bool = False) -> Any:
        # the caller's key order: xgrammar writes properties in the order the schema lists
        # them, and the model was trained on arguments in that order
        text = json.dumps(tool_call_tag(tools, required=required))
        if text not in self._cache:
            self._cache[text] = self.compiler.compile_structural_tag(text)
        return self._cache[text]


def logits_processor(grammars: list[Any]) -> Any:
    """A one-use processor masking each batch row by its own compiled grammar."""
    import xgrammar.contrib.hf

    return xgrammar.contrib.hf.LogitsProcessor(list(grammars))

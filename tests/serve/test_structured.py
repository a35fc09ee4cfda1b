"""Grammars for response_format schemas: limits, and the caller's property order kept."""

from __future__ import annotations

from pathlib import Path

from transformers import AutoTokenizer

from tunesmith.serve.structured import Grammars


def _accepts(grammars: Grammars, tokenizer: object, schema: dict, text: str) -> bool:
    constraint = grammars.for_schema(schema)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]  # type: ignore[operator]
    return all(constraint.accept(i) for i in ids)


def test_properties_come_in_the_order_the_schema_lists_them(bpe_model_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(bpe_model_dir)
    grammars = Grammars(tokenizer, len(tokenizer), {tokenizer.eos_token_id})
    schema = {
        "type": "object",
        "properties": {"zeta": {"type": "integer"}, "alpha": {"type": "integer"}},
        "required": ["zeta", "alpha"],
        "additionalProperties": False,
    }
    assert _accepts(grammars, tokenizer, schema, '{"zeta": 1, "alpha": 2}')
    assert not _accepts(grammars, tokenizer, schema, '{"alpha": 2, "zeta": 1}')

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tunesmith.config import CustomEntity, PiiConfig
from tunesmith.data.pii import PiiMasker
from tunesmith.examples.scaffold import create_workspace

ASSETS = Path(__file__).parent / "assets"
ACCOUNT_ID = CustomEntity(name="ACCOUNT_ID", pattern=r"\bACC-\d{6}\b")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test runs offline: any attempt to open a network connection fails loudly."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield


@pytest.fixture(scope="session")
def masker() -> PiiMasker:
    return PiiMasker(PiiConfig(custom=[ACCOUNT_ID]))


@pytest.fixture(scope="session")
def tiny_embedder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide sentence-transformers model with random weights, saved offline."""
    from .kb_assets import save_tiny_embedder

    return save_tiny_embedder(tmp_path_factory.mktemp("tiny-embedder"))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A fresh example workspace with 300 generated raw tickets."""
    return create_workspace(tmp_path / "ws", "support-tickets", rows=300)


CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content']"
    " + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 64-wide Llama with a word-level ChatML tokenizer, built offline."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    from tunesmith.examples.support_tickets import generate_tickets

    corpus = []
    for ticket in generate_tickets(300, 1):
        corpus += [ticket.row[f] for f in ("subject", "body", "agent_reply", "queue")]
    corpus += ["system user assistant Queue : You are the support assistant"]
    specials = ["<unk>", "<|im_start|>", "<|im_end|>"]
    tokenizer = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()]
    )
    tokenizer.train_from_iterator(
        (re.sub(r"<[A-Z_]+_\d+>", " ", t) for t in corpus),
        trainers.WordLevelTrainer(vocab_size=4000, special_tokens=specials, min_frequency=2),
    )
    return save_tiny_llama(tokenizer, tmp_path_factory.mktemp("tiny-llama"), 1024)


@pytest.fixture(scope="session")
def bpe_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama with a byte-level BPE tokenizer: any text, JSON included, is writable,
    so grammars and tool calls can be enforced (the word-level test tokenizer cannot)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    from tunesmith.examples.support_tickets import generate_tickets

    corpus = []
    for ticket in generate_tickets(200, 1):
        corpus += [ticket.row[f] for f in ("subject", "body", "agent_reply", "queue")]
    corpus += ['{"name": "lookup_order", "arguments": {"order_id": "A1"}} true false null']
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.train_from_iterator(
        corpus,
        trainers.BpeTrainer(
            vocab_size=600,
            special_tokens=["<unk>", "<|im_start|>", "<|im_end|>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    return save_tiny_llama(tokenizer, tmp_path_factory.mktemp("bpe-llama"), 2048)


def save_tiny_llama(tokenizer: object, folder: Path, max_positions: int) -> Path:
    """A 2-layer, 64-wide Llama over `tokenizer` (a `tokenizers` object) with a ChatML
    template, randomly initialised with seed 0 and saved with its tokenizer to `folder`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="<unk>",
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|im_end|>",
    )
    fast.chat_template = CHATML
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_positions,
        tie_word_embeddings=True,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder

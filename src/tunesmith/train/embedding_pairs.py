"""What an embedding run trains on: the knowledge base's chunks (parsed, masked and cut as
`kb index` does), (query, gold) pairs from a JSONL file or made from the chunks, the held-out
split, and hard negatives mined with the stock model."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tunesmith.config.embedding import EmbeddingTrainConfig
from tunesmith.config.knowledge import KnowledgeConfig
from tunesmith.evaluate.retrieval import CorpusChunk, Encoder, EvalQuery
from tunesmith.knowledge.index import indexed_chunks, masker_for
from tunesmith.store.files import jsonl_objects

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_SPACE = re.compile(r"\s+")


class PairsError(ValueError):
    """A pairs file line that cannot be used, named by file and line."""


@dataclass(frozen=True)
class Pair:
    query: str  # what training sees
    gold: tuple[str, ...]  # chunk ids (level chunk) or one document (level doc)
    level: Literal["chunk", "doc"]
    groups: tuple[str, ...]  # the caller's groups when this pair is measured
    heldout_query: str  # what measuring sees: a paraphrase written apart, else `query`
    positive: str = ""  # the passage trained towards; for a doc pair chosen at mining
    negatives: tuple[str, ...] = ()

    def to_eval(self) -> EvalQuery:
        return EvalQuery(self.heldout_query, self.gold, self.groups, self.level)


def _mask_text(masker: Any, text: str) -> str:
    return text if masker is None else masker.mask({"text": text})[0]["text"]


def knowledge_corpus(root: Path, config: KnowledgeConfig, tokenizer: Any) -> list[CorpusChunk]:
    """Every readable document's chunks with their groups, as the index holds them."""
    return [
        CorpusChunk(chunk.chunk_id, chunk.doc, chunk.embedded_text, document.groups, chunk.headings)
        for document, chunks in indexed_chunks(root, config, tokenizer)
        for chunk in chunks
    ]


def _flat(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _groups_of(corpus: list[CorpusChunk], gold: set[str], level: str) -> tuple[str, ...]:
    found = {
        g for c in corpus if (c.chunk_id if level == "chunk" else c.doc) in gold for g in c.groups
    }
    return tuple(sorted(found))


def _as_pair(row: dict[str, Any]) -> dict[str, Any]:
    if "query" in row or not isinstance(row.get("question"), str) or "fact" not in row:
        return row
    pair = {"query": row["question"], "passage": row["fact"], "groups": row.get("groups")}
    if "question_heldout" in row:
        pair["query_heldout"] = row["question_heldout"]
    return pair


def read_pairs(path: Path, corpus: list[CorpusChunk], config: KnowledgeConfig) -> list[Pair]:
    """The pairs of a JSONL file: `query` with `passage` (gold: the chunks holding it, after
    the index's masking) or `doc` (gold: that document); optional `query_heldout` (measured
    instead of `query` when held out) and `groups` (the caller's; default the gold's). A
    knowledge-questions line (`question`, `fact`, `question_heldout`, as `eval --knowledge`
    reads) is the pair `query: question, passage: fact, query_heldout: question_heldout`."""
    masker = masker_for(config)
    docs = {c.doc for c in corpus}
    flat = [(c.chunk_id, _flat(c.text)) for c in corpus]
    pairs = []
    for where, row in jsonl_objects(path, PairsError):
        row = _as_pair(row)
        if not isinstance(row.get("query"), str):
            raise PairsError(f"{where}: field 'query' must be a string")
        if isinstance(row.get("passage"), str) == isinstance(row.get("doc"), str):
            raise PairsError(f"{where}: give a string 'passage' or a string 'doc', not both")
        groups = row.get("groups")
        if groups is not None and not (
            isinstance(groups, list) and all(isinstance(g, str) for g in groups)
        ):
            raise PairsError(f"{where}: field 'groups' must be a list of strings")
        heldout = row.get("query_heldout", row["query"])
        if not isinstance(heldout, str):
            raise PairsError(f"{where}: field 'query_heldout' must be a string")
        if isinstance(row.get("doc"), str):
            if row["doc"] not in docs:
                raise PairsError(
                    f"{where}: doc '{row['doc']}' is not a document of the knowledge base"
                )
            gold, level, positive = {row["doc"]}, "doc", ""
        else:
            passage = _flat(_mask_text(masker, row["passage"]))
            gold = {chunk_id for chunk_id, text in flat if passage in text}
            # the positive is the gold chunk the stock model ranks best (chosen at mining); a
            # passage in no chunk trains as written and, with no gold, is never measured
            level, positive = "chunk", "" if gold else row["passage"]
        caller = tuple(groups) if groups is not None else _groups_of(corpus, gold, level)
        pairs.append(Pair(row["query"], tuple(sorted(gold)), level, caller, heldout, positive))
    if not pairs:
        raise PairsError(f"{path}: no pairs")
    return pairs


def knowledge_pairs(corpus: list[CorpusChunk], seed: int, sentences: int = 2) -> list[Pair]:
    """Pairs made from the chunks alone, no questions written by anyone: the heading trail as
    a query for its chunk, and a sentence as a query for the rest of its chunk (the inverse
    cloze task, Lee et al. 2019), up to `sentences` per chunk. Cheap and weak: queries echo
    the documents' wording."""
    rng = random.Random(seed)
    pairs = []
    for chunk in corpus:
        if chunk.headings:
            topic = " - ".join(chunk.headings)
            pairs.append(Pair(topic, (chunk.chunk_id,), "chunk", chunk.groups, topic, chunk.text))
        found = [
            s.strip()
            for s in _SENTENCE.split(chunk.text)
            if len(s.split()) >= 6 and not s.lstrip().startswith("#") and " > " not in s
        ]
        if len(found) < 2:  # a chunk of one sentence has no rest to find it by
            continue
        for sentence in rng.sample(found, min(sentences, len(found))):
            rest = _flat(chunk.text.replace(sentence, " "))
            pairs.append(Pair(sentence, (chunk.chunk_id,), "chunk", chunk.groups, sentence, rest))
    return pairs


def split_pairs(pairs: list[Pair], share: float, seed: int) -> tuple[list[Pair], list[int]]:
    """The training pairs and the held-out pairs' line indices (sorted), drawn by `seed`."""
    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)
    count = min(max(1, round(share * len(pairs))), len(pairs) - 1)
    held = sorted(order[:count])
    held_set = set(held)
    return [p for i, p in enumerate(pairs) if i not in held_set], held


def mine(
    stock: Encoder, pairs: list[Pair], corpus: list[CorpusChunk], config: EmbeddingTrainConfig
) -> list[Pair]:
    """Each pair's positive (a doc pair: its document's chunk the stock model ranks best) and
    `hard_negatives` negatives: the stock model's best chunks that are not gold."""
    if not corpus or (config.hard_negatives == 0 and all(p.positive for p in pairs)):
        return pairs
    chunks = stock.encode([c.text for c in corpus], 64)
    queries = stock.encode([p.query for p in pairs], 64)
    mined = []
    for pair, vector in zip(pairs, queries, strict=True):
        scores = chunks @ vector
        order = np.argsort(-scores, kind="stable")
        key = (lambda c: c.chunk_id) if pair.level == "chunk" else (lambda c: c.doc)
        gold = set(pair.gold)
        positive = pair.positive
        if not positive:
            positive = next(corpus[i].text for i in order if key(corpus[i]) in gold)
        negatives: list[str] = []
        for i in order:
            chunk = corpus[i]
            if len(negatives) >= config.hard_negatives:
                break
            if key(chunk) not in gold and chunk.text != positive and chunk.text not in negatives:
                negatives.append(chunk.text)
        mined.append(replace(pair, positive=positive, negatives=tuple(negatives)))
    return mined

"""Every place a value (a person's name, an e-mail, a record or interaction id) sits in a
workspace, and every run that learned it: the search behind an erasure request.

A value reaches a workspace by three roads. A source record is read from `raw/`, curated into
dataset versions (where masking may hide the value but not the rest of the row) and trained
on. A served call is captured in the state store (interactions, ratings, review items,
pairwise choices), exported to `feedback/*.jsonl`, curated into a dataset version with
`--with-feedback`, or turned into preference pairs (`preferences/<id>/`, `runs/<run>/pairs/`)
that `align` trains on. A knowledge document is chunked into the knowledge index. So the
search reads each configured source row by row (a hit is traced through
`lineage.trace_record`), every table of the state store, every chunk of the knowledge index
and every text file of the workspace; a hit in a dataset split or a run's training pairs names
the runs that learned it, and warm starts carry that on (`lineage.runs_carrying`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from tunesmith.config import SourceConfig
from tunesmith.config.project import read_yaml
from tunesmith.config.workspace import Workspace
from tunesmith.governance.lineage import RowKey, runs_carrying, trace_record

# text formats a record can be copied into; weights, checkpoints and SQLite files are not text
TEXT_SUFFIXES = {".jsonl", ".json", ".csv", ".tsv", ".txt", ".md", ".yaml", ".yml", ".html", ".log"}
# the base model cache: tokenizer vocabularies hold every word, none of them a person's data
SKIPPED = (".tunesmith/models",)
MIN_CHARS = 3
STORE_TABLES = {
    "interactions": "captured interaction",
    "ratings": "caller's rating",
    "review_items": "review item",
    "choice_items": "pairwise choice",
    "api_keys": "API key",
    "memory_episodes": "remembered turn of an end user (tunesmith memory forget)",
    "memory_facts": "remembered fact of an end user (tunesmith memory forget)",
}


@dataclass(frozen=True)
class Place:
    """One place holding the value: `where` to find it, `what` it is."""

    where: str
    what: str


@dataclass
class ValueTrace:
    """Where a value was found, and which runs learned it (run id -> why)."""

    places: list[Place] = field(default_factory=list)
    runs: dict[str, str] = field(default_factory=dict)


def _needles(value: str) -> set[str]:
    # JSON files hold the value escaped, with or without non-ASCII escapes
    forms = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    return {f.casefold() for f in forms}


def _hit(text: str, needles: set[str]) -> bool:
    folded = text.casefold()
    return any(n in folded for n in needles)


def _sources(ws: Workspace) -> list[SourceConfig]:
    """Configured sources, and those of every dataset version (a source may have been
    dropped from the config since)."""
    found: dict[str, SourceConfig] = {}
    snapshots = []
    # a workspace holding only a knowledge base has no data sources
    if ws.config_path.is_file() and "data" in read_yaml(ws.config_path):
        snapshots.append(ws.load_config().data.model_dump(mode="json"))
    for manifest in sorted(ws.datasets_dir.glob("*/v*/manifest.json")):
        snapshots.append(json.loads(manifest.read_text(encoding="utf-8")).get("config", {}))
    for snapshot in snapshots:
        for source in snapshot.get("sources", []):
            try:
                found.setdefault(source["path"], SourceConfig.model_validate(source))
            except ValidationError:  # a version made by a release with another schema
                found.setdefault(source["path"], SourceConfig(path=source["path"]))
    return list(found.values())


def _source_rows(ws: Workspace, needles: set[str]) -> Iterator[tuple[str, int, str]]:
    """(source, row, record id) of each raw row holding the value."""
    from tunesmith.data.readers import Row, read_source

    for source in _sources(ws):
        path = ws.resolve(source.path)
        if not path.exists():
            continue
        for item in read_source(path, source.path, source.format, source.id_field):
            fields = item.fields.values() if isinstance(item, Row) else ()
            if any(_hit(v, needles) for v in fields):
                yield item.source, item.row, item.id


def _store_rows(ws: Workspace, needles: set[str]) -> Iterator[Place]:
    """Rows of the state store holding the value, read without a write lock."""
    url = ws.state_url()
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return  # opening it would create an empty store
    from tunesmith.store.db import READ_ONLY, metadata, open_store

    engine = open_store(url)
    try:
        with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            for name, what in STORE_TABLES.items():
                table = metadata.tables[name]
                for row in conn.execute(table.select().order_by(table.c.id)).mappings():
                    # an embedding's bytes hold no text to find
                    fields = {k: v for k, v in row.items() if k != "vector"}
                    text = json.dumps(fields, ensure_ascii=False, default=str)
                    if _hit(text, needles):
                        detail = f" of model {row['model']}" if row.get("model") else ""
                        place = f"state store {name} id {row['id']}"
                        yield Place(place, f"{what}{detail}")
    finally:
        engine.dispose()


def _knowledge_chunks(ws: Workspace, needles: set[str]) -> Iterator[Place]:
    """Chunks of the knowledge index holding the value (the index is not a text file: its
    chunks are read one by one). A hit is fixed at the source document, then `kb index`."""
    from tunesmith.config import ConfigError, load_knowledge_config
    from tunesmith.knowledge.index import index_path, open_index

    try:
        config = load_knowledge_config(ws.config_path)
    except ConfigError:
        return  # no knowledge base configured
    if config.store is None and not index_path(ws, config).is_file():
        return  # never indexed: opening it would create an empty index
    index = open_index(ws, config)
    try:
        version = index.current_version()
        for doc, number, text in index.texts():
            if _hit(text, needles):
                where = f"knowledge index chunk kb://{doc}#{number}"
                yield Place(where, f"indexed chunk of document {doc} (index version {version})")
    finally:
        index.close()


def _kind(ws: Workspace, rel: Path) -> tuple[str, str | None, str | None]:
    """What a workspace file is, the dataset version whose split it is, the run it trains."""
    parts = rel.parts
    if parts[0] == "datasets" and len(parts) == 4:
        ref, split = f"{parts[1]}/{parts[2]}", Path(parts[3]).stem
        if split == "quarantine":
            return f"quarantine of dataset version {ref} (not trained on)", None, None
        if (ws.root / rel).suffix == ".jsonl":
            return f"dataset version {ref}, {split} split", ref, None
        return f"dataset version {ref} ({parts[3]})", None, None
    if parts[0] == "runs" and len(parts) == 4 and parts[2] == "pairs":
        if parts[3] in ("train.jsonl", "val.jsonl"):
            return f"preference pairs run {parts[1]} tuned on", None, parts[1]
        return f"quarantined preference pairs of run {parts[1]}", None, None
    if parts[0] == "runs":
        return f"run {parts[1]} ({'/'.join(parts[2:])})", None, None
    labels = {
        "feedback": "reviewed interactions exported for training",
        "preferences": "generated preference pairs",
        "raw": "raw records",
        "docs": "model documents",
    }
    return labels.get(parts[0], "workspace file"), None, None


def _files(ws: Workspace, read: set[Path]) -> Iterator[Path]:
    """Text files of the workspace, except the sources already read row by row."""
    skipped = {*read, *(ws.root / s for s in SKIPPED)}
    for path in sorted(ws.root.rglob("*")):
        if path.suffix.lower() not in TEXT_SUFFIXES or not path.is_file():
            continue
        if any(path == s or s in path.parents for s in skipped):
            continue
        yield path


def _file_lines(path: Path, needles: set[str]) -> list[int]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        return [n for n, line in enumerate(handle, start=1) if _hit(line, needles)]


def find_value(ws: Workspace, value: str) -> ValueTrace:
    """Every place holding `value` (case-insensitive), and the runs that learned it."""
    if len(value.strip()) < MIN_CHARS:
        raise ValueError(f"give at least {MIN_CHARS} characters to search for")
    needles = _needles(value.strip())
    trace = ValueTrace()
    datasets: set[str] = set()
    runs: dict[str, str] = {}
    for source, row, record_id in _source_rows(ws, needles):
        trace.places.append(Place(f"{source} row {row}", f"source record id {record_id}"))
        try:
            appearances, _ = trace_record(ws, RowKey(source=source, row=row))
        except LookupError:
            continue  # the source was never curated
        for appearance in appearances:
            trace.places.append(Place(appearance.dataset, f"{source} row {row}: {appearance.how}"))
            if appearance.carried:
                datasets.add(appearance.dataset)
    trace.places.extend(_store_rows(ws, needles))
    trace.places.extend(_knowledge_chunks(ws, needles))
    raw = {ws.resolve(s.path) for s in _sources(ws)}
    for path in _files(ws, raw):
        lines = _file_lines(path, needles)
        if not lines:
            continue
        rel = path.relative_to(ws.root)
        what, dataset, run = _kind(ws, rel)
        shown = ", ".join(map(str, lines[:10])) + (
            f" (+{len(lines) - 10})" if len(lines) > 10 else ""
        )
        trace.places.append(Place(f"{rel.as_posix()} line {shown}", what))
        if dataset:
            datasets.add(dataset)
        if run:
            runs.setdefault(run, "tuned on preference pairs holding it")
    trace.runs = runs_carrying(ws, datasets, runs)
    return trace

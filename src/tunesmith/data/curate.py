"""`tunesmith curate`: the stages in order, over a stream of rows, into a dataset version."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunesmith import __version__
from tunesmith.config import DataConfig
from tunesmith.config.workspace import Workspace
from tunesmith.data.conversation import Template, make_template, scan_fields
from tunesmith.data.dataset_report import plot_lengths, render_report
from tunesmith.data.dedup import DedupIndex, Duplicate, deduplicate
from tunesmith.data.feedback import (
    FEEDBACK_SPLIT,
    feedback_split,
    last_user_text,
    masked_record,
    read_feedback,
    seed_index,
)
from tunesmith.data.parallel import default_workers, mask_rows
from tunesmith.data.pii import PiiMasker
from tunesmith.data.readers import infer_format, source_files
from tunesmith.data.records import Rejection, Row
from tunesmith.data.split import SPLITS, assign_splits
from tunesmith.data.stream import checked_rows
from tunesmith.data.version import latest_version, publish, staging_dir
from tunesmith.models.tools import message_text
from tunesmith.store import audit
from tunesmith.store.files import fingerprint, sha256_file, sha256_tree, write_json

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class CurateResult:
    """What a curate run produced: the version folder and its manifest."""

    path: Path
    version: str
    created: bool
    manifest: dict[str, object]


def pseudonym_key(config: DataConfig) -> bytes | None:
    if not config.pii.enabled or config.pii.mode != "pseudonym":
        return None
    value = os.environ.get(config.pii.pseudonym_key_env, "")
    return value.encode() if value else None


def _source_inputs(workspace: Workspace, config: DataConfig) -> list[dict[str, object]]:
    inputs = []
    for source in config.sources:
        path = workspace.resolve(source.path)
        if not path.exists():
            raise FileNotFoundError(f"{source.path}: source not found in {workspace.root}")
        files = source_files(path, source.format or infer_format(path))
        inputs.append({"path": source.path, "sha256": sha256_tree(path, files)})
    return inputs


def compare_fields(config: DataConfig, template: Template) -> list[str]:
    return config.dedup.fields or [f for f in template.fields if f not in config.meta_fields]


@dataclass(frozen=True)
class FeedbackInput:
    """Reviewed records to add (`--with-feedback`) and the share held out to evaluate on."""

    path: str  # relative to the workspace
    eval_share: float


def curate(
    workspace: Workspace,
    config: DataConfig,
    progress: Progress | None = None,
    workers: int | None = None,
    feedback: FeedbackInput | None = None,
) -> CurateResult:
    """Curate the configured sources into datasets/<name>/v<N>/ unless nothing changed."""
    template = make_template(config)
    key = pseudonym_key(config)
    sources = _source_inputs(workspace, config)
    config_snapshot = config.model_dump(mode="json")
    inputs = {"sources": sources, "config": config_snapshot, "tunesmith": __version__}
    if feedback is not None:
        reviewed = workspace.resolve(feedback.path)
        if not reviewed.is_file():
            raise FileNotFoundError(f"{feedback.path}: no reviewed records (run the review first)")
        sources.append({"path": feedback.path, "sha256": sha256_file(reviewed)})
        inputs["feedback_eval_share"] = feedback.eval_share
    digest = fingerprint(inputs)
    dataset_dir = workspace.dataset_dir(config.name)
    latest = latest_version(dataset_dir)
    if latest is not None and latest[1].get("fingerprint") == digest:
        path = dataset_dir / f"v{latest[0]}"
        _record_in_audit_log(workspace, latest[1], only_if_missing=True)
        return CurateResult(path, f"v{latest[0]}", False, latest[1])

    staging = staging_dir(dataset_dir)
    # with feedback the earlier version's rows keep their splits: its test set stays fixed
    parent = dataset_dir / f"v{latest[0]}" if latest and feedback else None
    try:
        manifest = _run(
            workspace, config, template, key, staging, progress, workers, feedback, parent
        )
        number = (latest[0] if latest else 0) + 1
        manifest = {
            "name": config.name,
            "version": f"v{number}",
            "parent": f"v{latest[0]}" if latest else None,
            "tunesmith_version": __version__,
            "fingerprint": digest,
            "sources": [
                {**s, "rows_read": manifest["rows_per_source"].get(s["path"], 0)} for s in sources
            ],
            "config": config_snapshot,
            **{k: v for k, v in manifest.items() if k != "rows_per_source"},
        }
        reasons: Counter[str] = manifest.pop("_reasons")  # type: ignore[assignment]
        (staging / "report.md").write_text(render_report(manifest, reasons), encoding="utf-8")
        files = (*(f"{split}.jsonl" for split in manifest["counts"]["splits"]), "quarantine.jsonl")
        manifest["files"] = {
            name: {"sha256": sha256_file(staging / name)}
            for name in (*files, "report.md", "lengths.png")
        }
        write_json(staging / "manifest.json", manifest)
        path = publish(staging, dataset_dir, number)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _record_in_audit_log(workspace, manifest)
    return CurateResult(path, f"v{number}", True, manifest)


def _run(
    workspace: Workspace,
    config: DataConfig,
    template: Template,
    key: bytes | None,
    out: Path,
    progress: Progress | None,
    workers: int | None,
    feedback: FeedbackInput | None = None,
    parent: Path | None = None,
) -> dict[str, object]:
    tick = progress or (lambda stage, n: None)
    fields = compare_fields(config, template)
    scan = scan_fields(config, template)
    read_counts: Counter[str] = Counter()
    quarantine = (out / "quarantine.jsonl").open("w", encoding="utf-8")
    rejected: Counter[str] = Counter()
    reasons: Counter[str] = Counter()

    def reject(rejection: Rejection) -> None:
        quarantine.write(json.dumps(rejection.to_json(), ensure_ascii=False) + "\n")
        rejected[rejection.stage] += 1
        reasons[f"{rejection.stage}: {rejection.reason.split(':')[0]}"] += 1

    index = DedupIndex(config.dedup, fields)
    duplicates: Counter[str] = Counter()

    def unique(rows: Iterator[Row]) -> Iterator[Row]:
        for item in deduplicate(rows, index):
            if isinstance(item, Duplicate):
                duplicates[item.kind] += 1
            else:
                yield item

    pii_found: Counter[str] = Counter()
    records_path = out / "records.tmp.jsonl"
    strata: list[tuple[str, str | None]] = []
    with records_path.open("w", encoding="utf-8") as records:
        masked = mask_rows(
            unique(checked_rows(workspace, config, template, fields, reject, read_counts, tick)),
            config.pii,
            key,
            scan,
            workers or default_workers(),
            expected=_estimate_rows(workspace, config),
            on_done=lambda n: tick("mask", n),
        )
        for row in masked:
            pii_found.update(row.findings)
            content = template.record(row)
            if isinstance(content, Rejection):
                reject(content)
                continue
            meta = {"id": row.id, "source": row.source, "row": row.row}
            meta |= {name: row.fields.get(name, "") for name in config.meta_fields}
            if row.findings:
                meta["pii"] = dict(sorted(row.findings.items()))
            records.write(json.dumps({**content, "meta": meta}, ensure_ascii=False))
            records.write("\n")
            stratum = row.fields.get(config.split.stratify_by) if config.split.stratify_by else None
            strata.append((row.id, stratum))
    assignment: dict[str, str] = {}
    if feedback is not None:
        found, assignment = _add_feedback(
            workspace, config, key, feedback, records_path, reject, read_counts, duplicates
        )
        pii_found.update(found)
    quarantine.close()

    assignment |= assign_splits(strata, config.split)
    if parent is not None:
        assignment |= {i: s for i, s in _splits_of(parent).items() if i in assignment}
    split_counts, lengths = _write_splits(records_path, out, assignment)
    records_path.unlink()
    plot_lengths(lengths, out / "lengths.png")
    read_total = sum(read_counts.values())
    quarantined = sum(rejected.values())
    kept = len(assignment)
    dup_total = duplicates["exact"] + duplicates["near"]
    clusters = [
        {"kept": index.kept[kept_id], "members": members}
        for kept_id, members in index.clusters.items()
    ]
    return {
        "rows_per_source": dict(read_counts),
        "counts": {
            "read": read_total,
            "kept": kept,
            "duplicates": {"exact": duplicates["exact"], "near": duplicates["near"]},
            "quarantined": quarantined,
            "quarantined_by_stage": dict(sorted(rejected.items())),
            "splits": split_counts,
            "reconciles": read_total == kept + dup_total + quarantined,
        },
        "pii_found": dict(sorted(pii_found.items())),
        "duplicate_clusters": clusters,
        "_reasons": reasons,
    }


def _add_feedback(
    workspace: Workspace,
    config: DataConfig,
    key: bytes | None,
    feedback: FeedbackInput,
    records_path: Path,
    reject: Callable[[Rejection], None],
    read_counts: Counter[str],
    duplicates: Counter[str],
) -> tuple[Counter[str], dict[str, str]]:
    """Append reviewed records that are new to records_path; their splits."""
    index = seed_index(config, records_path)
    masker = PiiMasker(config.pii, key) if config.pii.enabled else None
    found: Counter[str] = Counter()
    assignment: dict[str, str] = {}
    path = workspace.resolve(feedback.path)
    with records_path.open("a", encoding="utf-8") as records:

        def refuse(rejection: Rejection) -> None:
            read_counts[feedback.path] += 1  # a refused line was read too
            reject(rejection)

        for row, record in read_feedback(path, feedback.path, refuse):
            read_counts[feedback.path] += 1
            text = last_user_text(record["messages"])
            duplicate = index.check(Row(row.source, row.row, row.id, {"text": text}))
            if duplicate is not None:
                duplicates[duplicate.kind] += 1
                continue
            masked, pii = masked_record(row, record, masker)
            found.update(pii)
            records.write(json.dumps(masked, ensure_ascii=False) + "\n")
            assignment[row.id] = feedback_split(row.id, config.split.seed, feedback.eval_share)
    return found, assignment


def _splits_of(version: Path) -> dict[str, str]:
    """Record id -> split in an existing version."""
    out = {}
    for split in (*SPLITS, FEEDBACK_SPLIT):
        path = version / f"{split}.jsonl"
        if path.is_file():
            with path.open(encoding="utf-8") as handle:
                out |= {json.loads(line)["meta"]["id"]: split for line in handle}
    return out


def _write_splits(
    records_path: Path, out: Path, assignment: dict[str, str]
) -> tuple[dict[str, int], dict[str, list[int]]]:
    names = [*SPLITS, *([FEEDBACK_SPLIT] if FEEDBACK_SPLIT in assignment.values() else [])]
    handles = {name: (out / f"{name}.jsonl").open("w", encoding="utf-8") for name in names}
    counts = dict.fromkeys(names, 0)
    lengths: dict[str, list[int]] = {name: [] for name in names}
    with records_path.open(encoding="utf-8") as records:
        for line in records:
            record = json.loads(line)
            split = assignment[record["meta"]["id"]]
            handles[split].write(line)
            counts[split] += 1
            lengths[split].append(sum(_chars(m) for m in record["messages"]))
    for handle in handles.values():
        handle.close()
    return counts, lengths


def _chars(message: dict[str, Any]) -> int:
    """A message's length: its text and its calls' arguments (content may be None)."""
    calls = message.get("tool_calls") or []
    return len(message_text(message)) + sum(len(c["function"]["arguments"]) for c in calls)


def _estimate_rows(workspace: Workspace, config: DataConfig) -> int:
    """Rough row count from file sizes, only to decide whether processes pay off."""
    size = sum(
        p.stat().st_size if p.is_file() else sum(f.stat().st_size for f in p.rglob("*"))
        for p in (workspace.resolve(s.path) for s in config.sources)
    )
    return size // 400


def _record_in_audit_log(
    workspace: Workspace, manifest: dict[str, Any], only_if_missing: bool = False
) -> None:
    """The version in the audit log: sources in, split files out. A version published by a
    run whose audit append failed is recorded the next time curate finds it unchanged."""
    log = audit.audit_path(workspace.state_dir)
    subject = f"{manifest['name']}/{manifest['version']}"
    if only_if_missing and any(
        e.action == "curate" and e.subject == subject for e in audit.entries(log)
    ):
        return
    counts = manifest["counts"]
    audit.append(
        log,
        "curate",
        subject,
        inputs={str(s["path"]): str(s["sha256"]) for s in manifest["sources"]},
        outputs={name: f["sha256"] for name, f in manifest["files"].items()},
        details={
            "fingerprint": manifest["fingerprint"],
            "read": counts["read"],
            "kept": counts["kept"],
        },
    )

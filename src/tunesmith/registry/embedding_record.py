"""The record of a registered embedding run (`task.type: embedding`): the tuned
sentence-transformers folder instead of an adapter, the pairs instead of a dataset version,
the retrieval eval (stock versus tuned) instead of the task eval; no MLflow here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tunesmith.registry.record import RegistryError, RunRecord, _read_json, _written_by_eval
from tunesmith.store import audit
from tunesmith.store.files import sha256_file, sha256_tree
from tunesmith.store.runs import EMBEDDING_KIND as KIND


def _trained_digest(entries: list[audit.AuditEntry], run_id: str) -> str | None:
    found = [e for e in entries if e.action == "train" and e.subject == run_id]
    return found[-1].outputs.get("model") if found else None


def _eval_section(
    report_path: Path, run_id: str, model_sha: str, entries: list[audit.AuditEntry]
) -> dict[str, Any]:
    report = _read_json(report_path, "eval report")
    redo = f"re-run tunesmith eval --model {run_id}"
    if report.get("run_id") != run_id or report.get("kind") != KIND:
        raise RegistryError(f"{report_path}: not the retrieval eval of run '{run_id}': {redo}")
    if (report.get("model") or {}).get("sha256") != model_sha:
        raise RegistryError(f"{report_path}: evaluates other model weights: {redo}")
    if "gates" not in report or "passed" not in report:
        raise RegistryError(f"{report_path}: written before eval judged gates: {redo}")
    report_sha = sha256_file(report_path)
    if _written_by_eval(entries, run_id, report_sha) is None:
        raise RegistryError(
            f"{report_path}: not the report `tunesmith eval` wrote for run '{run_id}' (no eval "
            f"entry in the audit log has its sha256 {report_sha[:12]}…): {redo}"
        )
    return {
        "created_at": report.get("created_at"),
        "main_metric": report.get("main_metric"),
        "metrics": report.get("metrics") or {},
        "gates": report["gates"],
        "passed": report["passed"],
        "data": {"queries": (report.get("retrieval") or {}).get("queries")},
        "report_sha256": report_sha,
        "compare": None,
    }


def build_embedding_record(
    run_dir: Path, state_dir: Path, run_id: str, manifest: dict[str, Any]
) -> RunRecord:
    """Read an embedding run into a record; refuse one whose model folder changed since
    training put its digest on the audit log."""
    model_dir = run_dir / str(manifest.get("model", {}).get("path", "model"))
    files = sorted(p for p in model_dir.rglob("*") if p.is_file()) if model_dir.is_dir() else []
    if not any(p.suffix == ".safetensors" for p in files):
        raise RegistryError(f"run '{run_id}': {model_dir} holds no *.safetensors weights")
    digest = sha256_tree(model_dir)
    entries = audit.entries(audit.audit_path(state_dir))
    trained = _trained_digest(entries, run_id)
    if trained is None or trained != digest or manifest["model"].get("sha256") != digest:
        raise RegistryError(
            f"run '{run_id}': {model_dir} (sha256 {digest[:12]}…) is not the model training "
            f"recorded in the audit log; refusing to register an altered model"
        )
    pairs = manifest.get("pairs") or {}
    report = run_dir / "eval" / "report.json"
    record = {
        "run_id": run_id,
        "kind": KIND,
        "base_model": {
            "name": manifest["base_model"].get("name"),
            "weights_sha256": manifest["base_model"].get("sha256"),
            "source": "sentence-transformers",
            "quantization": None,
        },
        "model": {
            "sha256": digest,
            "files": {p.relative_to(model_dir).as_posix(): sha256_file(p) for p in files},
        },
        "dataset": {
            "name": pairs.get("source"),
            "version": None,
            "files": {"pairs": pairs.get("sha256")},
        },
        "training": manifest.get("config"),
        "summary": {**(manifest.get("train") or {}), "held_out": manifest.get("held_out")},
        "eval": _eval_section(report, run_id, digest, entries) if report.is_file() else None,
    }
    inputs = {"model": digest, "manifest.json": sha256_file(run_dir / "manifest.json")}
    if report.is_file():
        inputs["eval/report.json"] = sha256_file(report)
    return RunRecord(run_id, record, inputs)

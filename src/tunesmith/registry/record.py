"""The record of a registered version, built from a finished run folder; no MLflow here."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tunesmith.store import audit
from tunesmith.store.files import sha256_file
from tunesmith.store.runs import EMBEDDING_KIND


class RegistryError(Exception):
    """A registry action refused: unknown or unfinished run, failed gate, missing approval."""


@dataclass(frozen=True)
class RunRecord:
    """What registering a run stores: the record and the digests of the files it came from."""

    run_id: str
    record: dict[str, Any]
    inputs: dict[str, str]  # "adapter/<file>", "lineage.json", ... -> sha256, for the audit log

    @property
    def text(self) -> str:
        return record_json(self.record)

    @property
    def sha256(self) -> str:
        return record_sha256(self.record)


def record_json(record: dict[str, Any]) -> str:
    """The record as stored in the artifact: sorted keys, so equal records are equal bytes."""
    return json.dumps(record, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def record_sha256(record: dict[str, Any]) -> str:
    return hashlib.sha256(record_json(record).encode("utf-8")).hexdigest()


def _finite(value: Any) -> Any:
    # NaN and inf are not JSON; a metric that diverged is stored as null rather than refused
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise RegistryError(f"{path}: cannot read the {what}: {err}") from None
    if not isinstance(data, dict):
        raise RegistryError(f"{path}: the {what} is not a JSON object")
    return data


def _weights_name(files: dict[str, str]) -> str | None:
    # imported here: run_model loads torch, which registering a run otherwise never needs
    from tunesmith.models.run_model import weights_file_name

    return weights_file_name(files)


def _written_by_eval(
    entries: list[audit.AuditEntry], run_id: str, report_sha: str
) -> audit.AuditEntry | None:
    """The `eval` audit entry that wrote exactly these report bytes for this run, if any."""
    written = (e for e in entries if e.action == "eval" and e.subject == run_id)
    return next((e for e in written if e.outputs.get("report.json") == report_sha), None)


def _eval_section(
    report_path: Path,
    weights: tuple[str | None, str | None],
    run_id: str,
    entries: list[audit.AuditEntry],
) -> dict[str, Any]:
    """The eval part of the record, from a report `tunesmith eval` wrote for this very run."""
    report = _read_json(report_path, "eval report")
    if "passed" not in report or "gates" not in report:
        raise RegistryError(f"{report_path}: not an eval report (no 'passed' or 'gates')")
    model = report.get("model") or {}
    weights_name, weights_sha = weights
    redo = f"re-run tunesmith eval --model {run_id}"
    # a report of another run, or of other weights, must not vouch for this one
    if model.get("run_id") != run_id:
        raise RegistryError(
            f"{report_path}: evaluates run '{model.get('run_id')}', not '{run_id}': {redo}"
        )
    if weights_sha is None or model.get("adapter_sha256") != weights_sha:
        raise RegistryError(
            f"{report_path}: evaluates weights sha256 {model.get('adapter_sha256')}, but the "
            f"run's adapter/{weights_name or '<no weights file>'} is {weights_sha}: {redo}"
        )
    report_sha = sha256_file(report_path)
    # the audit log names the bytes eval wrote: an edited report (a failed gate turned into
    # a pass) no longer matches any of them
    if _written_by_eval(entries, run_id, report_sha) is None:
        raise RegistryError(
            f"{report_path}: not the report `tunesmith eval` wrote for run '{run_id}' (no eval "
            f"entry in the audit log has its sha256 {report_sha[:12]}…): {redo}"
        )
    section = {
        "created_at": report.get("created_at"),
        "main_metric": report.get("main_metric"),
        "metrics": report.get("metrics") or {},
        "gates": report.get("gates") or [],
        "passed": report["passed"],
        "data": report.get("data"),
        "report_sha256": report_sha,
        # the prompt-versus-fine-tune table that justified this version, when it was run
        "compare": report.get("compare"),
    }
    # Which model's champion the regression gates compared against; promote checks it is
    # still the champion. Reports from before eval wrote `registry_name` compared against
    # nothing checkable, and keep the record they always had (so registering them again is
    # no change that would make approvals stale).
    if "registry_name" in report:
        section["registry_name"] = report["registry_name"]
        section["champion"] = report.get("champion")
    return section


def _trained_adapter(entries: list[audit.AuditEntry], run_id: str) -> dict[str, str] | None:
    """The adapter weights' digests train (or align) put on the audit log, if it did."""
    found = None
    for entry in entries:
        if entry.action in ("train", "align") and entry.subject == run_id:
            found = entry.outputs
    return found


def build_record(runs_dir: Path, state_dir: Path, run_id: str) -> RunRecord:
    """Read runs/<run_id>/ into a record; refuse an unknown, unfinished or altered run."""
    from tunesmith.registry.embedding_record import build_embedding_record
    from tunesmith.store.runs import embedding_manifest

    run_dir = runs_dir / run_id
    if not run_id or set(run_id) & set("/'\\"):
        raise RegistryError(f"run '{run_id}' not found in {runs_dir}")
    manifest = embedding_manifest(run_dir)
    if manifest is not None:
        return build_embedding_record(run_dir, state_dir, run_id, manifest)
    if not (run_dir / "config.yaml").is_file():
        raise RegistryError(f"run '{run_id}' not found in {runs_dir}")
    if not (run_dir / "summary.json").is_file():
        raise RegistryError(f"run '{run_id}' is unfinished (no summary.json): finish or resume it")
    adapter_dir = run_dir / "adapter"
    files = sorted(p for p in adapter_dir.glob("*") if p.is_file()) if adapter_dir.is_dir() else []
    if not any(p.suffix == ".safetensors" for p in files):
        raise RegistryError(f"run '{run_id}': {adapter_dir} holds no *.safetensors weights")
    adapter = {p.name: sha256_file(p) for p in files}
    entries = audit.entries(audit.audit_path(state_dir))
    trained = _trained_adapter(entries, run_id) or {}
    for name, digest in trained.items():
        if adapter.get(name) != digest:
            raise RegistryError(
                f"run '{run_id}': adapter/{name} differs from what training recorded in the "
                f"audit log (sha256 {digest}); refusing to register an altered adapter"
            )
    lineage = _read_json(run_dir / "lineage.json", "lineage")
    summary = _read_json(run_dir / "summary.json", "run summary")
    try:
        training = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise RegistryError(f"{run_dir / 'config.yaml'}: cannot read the config: {err}") from None
    base = lineage.get("base_model") or {}
    dataset = lineage.get("dataset") or {}
    report = run_dir / "eval" / "report.json"
    weights_name = _weights_name(adapter)
    weights = (weights_name, adapter.get(weights_name) if weights_name else None)
    record = {
        "run_id": run_id,
        "base_model": {
            "name": base.get("name"),
            "weights_sha256": base.get("weights_sha256"),
            "source": base.get("source"),
            "quantization": base.get("quantization"),
        },
        "adapter": {"files": adapter},
        "dataset": {
            "name": dataset.get("name"),
            "version": dataset.get("version"),
            "files": dataset.get("files") or {},
        },
        "training": training,
        "summary": summary,
        "eval": _eval_section(report, weights, run_id, entries) if report.is_file() else None,
    }
    inputs = {f"adapter/{name}": digest for name, digest in adapter.items()}
    for name in ("lineage.json", "config.yaml", "summary.json", "eval/report.json"):
        if (run_dir / name).is_file():
            inputs[name] = sha256_file(run_dir / name)
    return RunRecord(run_id, _finite(record), inputs)


def _short(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)[:250]


def failed_gates(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [g for g in (record.get("eval") or {}).get("gates", []) if g.get("passed") is False]


def weights_folder(record: dict[str, Any]) -> str:
    """The run folder (and the artifact folder) holding the version's weights."""
    return "model" if record.get("kind") == EMBEDDING_KIND else "adapter"


def weights_files(record: dict[str, Any]) -> dict[str, str]:
    """The version's weight files and their sha256: the adapter's, or an embedding model's."""
    return (record.get(weights_folder(record)) or {}).get("files") or {}


def flat_tags(record: dict[str, Any]) -> dict[str, str]:
    """Short, flat model-version tags that the MLflow UI lists and its search can filter."""
    base, dataset = record["base_model"], record["dataset"]
    training = record.get("training") or {}
    tags = {
        "tunesmith_run": record["run_id"],
        "base_model.name": _short(base.get("name")),
        "base_model.weights_sha256": _short(base.get("weights_sha256")),
        "dataset.name": _short(dataset.get("name")),
        "dataset.version": _short(dataset.get("version")),
        "train.method": _short(record.get("kind") or (training.get("train") or {}).get("method")),
        "record.sha256": record_sha256(record),
    }
    if record.get("kind") == EMBEDDING_KIND:
        weights = record["model"]["sha256"]
    else:
        files = record["adapter"]["files"]
        weights = files.get(_weights_name(files) or "")
    if weights:
        tags["adapter.sha256"] = weights
    tags.update(eval_tags(record))
    return tags


def eval_tags(record: dict[str, Any]) -> dict[str, str]:
    """The eval part of the flat tags: verdict, metrics, failed gates, report digest."""
    result = record.get("eval")
    if result is None:
        return {"eval.passed": "none"}
    tags = {"eval.passed": _short(result["passed"]), "eval.report_sha256": result["report_sha256"]}
    for metric, value in (result.get("metrics") or {}).items():
        # MLflow tag keys take no '@' (retrieval metrics: ndcg@10 is tagged ndcg_at_10)
        tags[f"eval.{metric.replace('@', '_at_')}"] = _short(value)
    failed = [str(g.get("gate")) for g in failed_gates(record)]
    tags["eval.gates_failed"] = ", ".join(failed)[:250] if failed else "none"
    return tags


def description(name: str, version: int, record: dict[str, Any], artifact: str) -> str:
    """The version's description in the MLflow UI: the essentials and where the record is."""
    base, dataset, result = record["base_model"], record["dataset"], record.get("eval")
    verdict = "no eval report" if result is None else f"gates passed: {_short(result['passed'])}"
    lines = [
        f"**{name}/{version}** from tunesmith run `{record['run_id']}`",
        f"- base model: {base.get('name')} (weights sha256 `{base.get('weights_sha256')}`)",
        f"- dataset: {dataset.get('name')} {dataset.get('version')}",
        f"- eval: {verdict}",
        f"- full record: run artifact `{artifact}` (sha256 `{record_sha256(record)}`)",
    ]
    # the SQL store caps a description at 5000 characters
    return "\n".join(lines)[:5000]

"""The records turned into the plain values the document templates print.

Every key the templates read is set here (None or empty when the record lacks it), so the
templates run under StrictUndefined and a misspelt name fails loudly instead of printing "".
"""

from __future__ import annotations

import math
from typing import Any

from tunesmith.governance.checks import cross_checks
from tunesmith.governance.evidence import ModelVersionLike, Records
from tunesmith.store.audit import VerifyReport

# Bundled base models by their Hugging Face Hub id and licence, for the card's front matter;
# a local folder has no known Hub id, so its card names none rather than guess one.
HUB_MODELS = {"smollm2-135m-instruct": ("HuggingFaceTB/SmolLM2-135M-Instruct", "apache-2.0")}
HF_TASKS = {
    "classification": "text-classification",
    "extraction": "text-generation",
    "generation": "text-generation",
}


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def fmt(value: Any) -> str:
    """A number as the documents print it: up to 4 decimals, no trailing zeros."""
    if value is None:
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int) or not math.isfinite(value):
        return str(value)
    if value == int(value):
        return f"{value:.1f}"
    if abs(value) < 1e-3:  # a learning rate of 2e-5 must not print as 0
        return f"{value:.4g}"
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _detail(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_detail(v) for v in value) + "]"
    return "none" if value is None else fmt(value)


def _approvals(records: Records, model: ModelVersionLike) -> list[dict[str, Any]]:
    """Each approval and whether it counts, by the rule promote applies (the registry's)."""
    from tunesmith.config import ConfigError
    from tunesmith.registry.approvals import registry_policy, standings

    # the typed name, and the authenticated actor that the count goes by
    rows = [
        {
            "by": f"{a.get('by', '?')} ({a['actor']})" if a.get("via") else a.get("by", "?"),
            "at": a.get("at", "?"),
            "note": a.get("note") or "",
        }
        for a in model.approvals
    ]
    try:
        policy = registry_policy(records.workspace)
    except ConfigError as err:
        # the documents still state the approvals, and that their standing is unknown
        unknown = f"unknown (tunesmith.yaml: {' '.join(str(err).split())})"
        return [{**row, "current": unknown} for row in rows]
    # a version read without its record digest (not from the registry) has no current record
    digest = getattr(model, "record_sha256", "") or ""
    judged = standings(model, digest, policy, records.audit_entries)
    return [
        {**row, "current": "yes" if s.counts else f"no ({s.why})"}
        for row, s in zip(rows, judged, strict=True)
    ]


def _model(records: Records) -> dict[str, Any] | None:
    model = records.model
    if model is None:
        return None
    approvals = _approvals(records, model)
    return {
        "name": model.name,
        "version": model.version,
        "ref": model.ref,
        "aliases": list(model.aliases),
        "created_at": model.created_at,
        "source": model.source,
        "approvals": approvals,
    }


def _dataset(records: Records) -> dict[str, Any]:
    lineage = records.lineage["dataset"]
    out: dict[str, Any] = {
        "ref": records.dataset_ref,
        "name": lineage["name"],
        "version": lineage["version"],
        "path": lineage["path"],
        "files": dict(sorted(lineage["files"].items())),
        "manifest": records.manifest is not None,
    }
    manifest = records.manifest or {}
    counts = manifest.get("counts", {})
    config = manifest.get("config", {})
    clusters = manifest.get("duplicate_clusters", [])
    out |= {
        "parent": manifest.get("parent"),
        "fingerprint": manifest.get("fingerprint"),
        "tunesmith_version": manifest.get("tunesmith_version"),
        "sources": manifest.get("sources", []),
        "read": counts.get("read"),
        "kept": counts.get("kept"),
        "duplicates": counts.get("duplicates", {}),
        "clusters": len(clusters),
        "quarantined": counts.get("quarantined"),
        "quarantined_by_stage": counts.get("quarantined_by_stage", {}),
        "splits": counts.get("splits", {}),
        "reconciles": counts.get("reconciles"),
        "pii_found": dict(sorted(manifest.get("pii_found", {}).items(), key=lambda kv: -kv[1])),
        "pii": config.get("pii"),
        "dedup": config.get("dedup"),
        "quality": config.get("quality"),
        "split": config.get("split"),
        "template": config.get("template"),
        "meta_fields": config.get("meta_fields", []),
        "report": f"{lineage['path']}/report.md"
        if "report.md" in manifest.get("files", {})
        else None,
    }
    return out


def _base_model(records: Records) -> dict[str, Any]:
    base = records.lineage["base_model"]
    hub_id, licence = HUB_MODELS.get(base["name"], (None, None))
    return {
        "name": base["name"],
        "hub_id": hub_id,
        "license": licence,
        "weights_sha256": base["weights_sha256"],
        "source": base.get("source"),
        "quantization": base.get("quantization"),
        "weight_bytes_in_memory": base.get("weight_bytes_in_memory"),
    }


def _hardware_line(hw: dict[str, Any]) -> str:
    parts = [hw.get("device"), hw.get("name")]
    parts += [f"bf16 {hw['bf16']}" if "bf16" in hw else None]
    parts += [f"torch {hw['torch']}" if hw.get("torch") else None]
    parts += [f"{hw['threads']} threads" if hw.get("threads") else None]
    return ", ".join(str(p) for p in parts if p) or "not recorded"


def _run(records: Records) -> dict[str, Any]:
    lineage, summary = records.lineage, records.summary or {}
    train = (records.config or {}).get("train", {})
    hw = lineage.get("hardware", {})
    seconds = summary.get("train_seconds")
    if lineage["base_model"].get("quantization"):
        regime = f"{lineage['base_model']['quantization']} frozen base, adapters in "
    else:
        regime = ""
    regime += "bf16 mixed precision" if hw.get("bf16") else "fp32"
    return {
        "id": records.run_id,
        "path": records.run_path,
        "method": train.get("method"),
        "hyperparameters": {k: v for k, v in train.items() if k != "dataset"},
        "regime": regime,
        "seed": lineage.get("seed"),
        "git_commit": lineage.get("git_commit"),
        "tunesmith_version": lineage.get("tunesmith_version"),
        "hardware": hw,
        "hardware_line": _hardware_line(hw),
        "counts": lineage.get("counts", {}),
        "finished": records.summary is not None,
        "steps": summary.get("steps"),
        "val_loss_before": summary.get("val_loss_before"),
        "best_val_loss": summary.get("best_val_loss"),
        "stopped_early": summary.get("stopped_early"),
        "train_seconds": seconds,
        "train_hours": seconds / 3600 if _finite(seconds) else None,
        "real_tokens": summary.get("real_tokens"),
        "real_tokens_per_s": summary.get("real_tokens_per_s"),
        "adapter_files": records.adapter_files,
    }


def _alignment(records: Records) -> dict[str, Any] | None:
    """What preference tuning added on top of the SFT parent; None for SFT runs."""
    preferences = records.lineage.get("preferences")
    if not preferences:
        return None
    settings = (records.config or {}).get("align", {})
    summary, winrate = records.summary or {}, records.winrate or {}
    keys = ("method", "beta", "loss_type", "sft_weight", "replay_ratio", "learning_rate")
    keys += ("epochs", "seed")
    return {
        "method": preferences.get("method"),
        "parent": records.lineage.get("init_adapter") or {},
        "sources": preferences.get("sources", {}),
        "counts": preferences.get("counts", {}),
        "pii_masked": preferences.get("pii_masked", {}),
        "settings": {k: settings[k] for k in keys if k in settings},
        "policy": (settings.get("rubric") or {}).get("policy"),
        "margins": {
            when: (summary.get(f"margins_{when}") or {}).get("train")
            for when in ("before", "after")
        },
        "rubric": winrate.get("rubric"),
        "judge": winrate.get("judge"),
        "audit": winrate.get("audit"),
        "against": winrate.get("against"),
    }


def _slices(report: dict[str, Any]) -> list[dict[str, Any]]:
    main = report["main_metric"]
    out = []
    for name, data in (report.get("slices") or {}).items():
        values = data.get("values", {})
        keys = sorted({k for v in values.values() for k in v.get("metrics", {})})
        keys = ([main] if main in keys else []) + [k for k in keys if k != main]
        rows = [
            {
                "value": value,
                "rows": v.get("rows"),
                "metrics": [v.get("metrics", {}).get(k) for k in keys],
                "judged": v.get("judged"),
                "below_floor": v.get("below_floor"),
            }
            for value, v in values.items()
        ]
        out.append(
            {
                "field": name,
                "metric_names": keys,
                "values": rows,
                "worst": data.get("worst"),
                "best": data.get("best"),
                "ratio": data.get("ratio"),
            }
        )
    return out


def _evaluation(records: Records) -> dict[str, Any] | None:
    report = records.eval_report
    if report is None:
        return None
    compare = report.get("compare") or []
    compare_metrics = sorted({k for c in compare for k in c.get("metrics", {})})
    return {
        "path": f"{records.run_path}/eval/report.json",
        "sha256": records.inputs.get(f"{records.run_path}/eval/report.json"),
        "created_at": report.get("created_at"),
        "model_ref": report.get("model", {}).get("ref"),
        "data": report.get("data", {}),
        "task": report.get("task", {}),
        "main_metric": report.get("main_metric"),
        "metrics": report.get("metrics", {}),
        "per_class": report.get("per_class") or {},
        "slices": _slices(report),
        "champion": report.get("champion"),
        "gates": report.get("gates") or [],
        "passed": report.get("passed"),
        "compare": compare,
        "compare_metrics": compare_metrics,
        "adapter_sha256": report.get("model", {}).get("adapter_sha256"),
    }


def _audit_message(check: VerifyReport | None) -> str:
    if check is None:
        return "not checked"
    if not check.ok:
        return f"**FAILED verification**: {check.reason}"
    return f"verified, {check.entries} entries, head hash `{check.head_hash}`"


def build_context(records: Records) -> dict[str, Any]:
    """Every value the model card and Annex IV templates read."""
    config = records.config or {}
    task = config.get("task") or {}
    evaluation = _evaluation(records)
    model = _model(records)
    check = records.audit_check
    return {
        "title": model["ref"] if model else f"run {records.run_id}",
        "project": config.get("project"),
        "model": model,
        "run": _run(records),
        "alignment": _alignment(records),
        "base_model": _base_model(records),
        "dataset": _dataset(records),
        "task": {
            "type": task.get("type"),
            "labels": task.get("labels"),
            "label_field": task.get("label_field"),
            "answer_prefix": task.get("answer_prefix"),
            "hf_task": HF_TASKS.get(task.get("type") or "generation", "text-generation"),
        },
        "evaluation": evaluation,
        "checks": cross_checks(records, evaluation),
        "audit": {
            "ok": check.ok if check else None,
            "message": _audit_message(check),
            "head": check.head_hash if check else None,
            "entries": [
                {
                    "seq": e.seq,
                    "time": e.time,
                    "actor": e.actor,
                    "action": e.action,
                    "subject": e.subject,
                    "details": ", ".join(f"{k}={_detail(v)}" for k, v in sorted(e.details.items())),
                }
                for e in records.audit_entries
            ],
            "as_of": records.audit_entries[-1].time if records.audit_entries else None,
        },
        "missing": records.missing,
    }

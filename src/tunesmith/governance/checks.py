"""Cross-checks between the records behind a document: run, dataset manifest, eval report
and registry record each name files by sha256, and those that describe the same file must agree.

A mismatch is printed in the Annex IV draft, not raised: the document states what the records
say, including that they disagree.
"""

from __future__ import annotations

from typing import Any

from tunesmith.governance.evidence import Records


def _check(what: str, expected: Any, found: Any) -> dict[str, Any]:
    """One cross-check; a side the records do not hold is "not recorded", not a mismatch."""
    if expected is None or found is None:
        return {"what": what, "ok": None, "result": "not recorded"}
    ok = expected == found
    return {"what": what, "ok": ok, "result": "ok" if ok else "**MISMATCH**"}


def cross_checks(records: Records, evaluation: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Each pair of records that should name the same bytes, and whether they do."""
    lineage = records.lineage
    files = lineage["dataset"]["files"]
    checks = []
    if records.manifest is not None:
        listed = {n: f["sha256"] for n, f in records.manifest.get("files", {}).items()}
        named = "the dataset files named by the run match the dataset version's manifest"
        checks.append(_check(named, files, {n: listed.get(n) for n in files}))
    if evaluation is not None:
        data = evaluation["data"]
        split_file = f"{data.get('split')}.jsonl"
        named = f"the evaluation data is {split_file} of the dataset version the run trained on"
        found = (data.get("dataset"), data.get("version"), data.get("sha256"))
        trained = (lineage["dataset"]["name"], lineage["dataset"]["version"])
        checks.append(_check(named, (*trained, files.get(split_file)), found if found[2] else None))
        adapter = evaluation["adapter_sha256"]
        if adapter is not None:
            # run_model loads torch: imported only when there is an evaluation to compare
            from tunesmith.models.run_model import weights_file_name

            weights = weights_file_name(records.adapter_files)  # LoRA or full fine-tune
            checks.append(
                _check(
                    "the evaluated adapter is the run's adapter",
                    adapter,
                    records.adapter_files.get(weights) if weights else None,
                )
            )
    if records.model is not None:
        record = records.model.record
        reg_dataset = record.get("dataset", {})
        checks.append(
            _check(
                "the registry version names the run's dataset files",
                reg_dataset.get("files"),
                files,
            )
        )
        checks.append(
            _check(
                "the registry version names the run's base weights",
                record.get("base_model", {}).get("weights_sha256"),
                lineage["base_model"]["weights_sha256"],
            )
        )
        registered = record.get("adapter", {}).get("files", {})
        if records.adapter_files:
            weights = {n: s for n, s in registered.items() if n.endswith(".safetensors")}
            checks.append(
                _check(
                    "the registered adapter weights match the run folder's",
                    weights or None,
                    records.adapter_files,
                )
            )
        reg_eval = record.get("eval")
        if reg_eval and evaluation is not None:
            checks.append(
                _check(
                    "the eval report on disk is the one recorded at registration",
                    reg_eval.get("report_sha256"),
                    evaluation["sha256"],
                )
            )
    return checks

"""Stages 1–3 as one stream: read every source, check each row, normalise, gate on quality.

Everything that can disqualify a row on its own runs here, before dedup: a row that would
later fail its template, repeat an id or break a length rule must never become the kept
copy of a duplicate cluster, or its duplicates would be dropped along with it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

from tunesmith.config import DataConfig
from tunesmith.config.workspace import Workspace
from tunesmith.data.conversation import Template
from tunesmith.data.normalise import normalise_row
from tunesmith.data.pii import PiiMasker
from tunesmith.data.quality import check_length, check_quality
from tunesmith.data.readers import READ_STAGE, SourceError, infer_format, read_source
from tunesmith.data.records import Rejection, Row
from tunesmith.data.template import FORMAT_STAGE

ID_SAMPLE = 50  # rows whose id is checked for personal data


def _configured_fields(config: DataConfig, template: Template) -> dict[str, list[str]]:
    return {
        "data.template": template.fields,
        "data.meta_fields": config.meta_fields,
        "data.dedup.fields": config.dedup.fields or [],
        "data.pii.skip_fields": config.pii.skip_fields,
        "data.pii.name_fields": config.pii.name_fields or [],
    }


def check_schema(row: Row, config: DataConfig, template: Template) -> None:
    """A column named in the config but absent from a fixed-schema source is a config typo."""
    for key, names in _configured_fields(config, template).items():
        for i, name in enumerate(names):
            if name not in row.fields:
                columns = ", ".join(row.fields)
                raise SourceError(
                    f"{row.source}: {key}[{i}] '{name}' is not a column (columns: {columns})"
                )


def checked_rows(
    workspace: Workspace,
    config: DataConfig,
    template: Template,
    compared: list[str],
    reject: Callable[[Rejection], None],
    read_counts: Counter[str],
    tick: Callable[[str, int], None],
) -> Iterator[Row]:
    """Rows that passed reading, schema, length, template, id and quality checks."""
    required = list(dict.fromkeys([*template.fields, *config.meta_fields]))
    seen_ids: set[str] = set()
    id_masker: PiiMasker | None = None
    for source in config.sources:
        path = workspace.resolve(source.path)
        fixed_schema = (source.format or infer_format(path)) in ("csv", "parquet")
        checked_ids = 0
        items = read_source(path, source.path, source.format, source.id_field, template.verbatim)
        for item in items:
            read_counts[source.path] += 1
            tick("read", 1)
            if isinstance(item, Rejection):
                reject(item)
                continue
            if read_counts[source.path] == 1 and fixed_schema:
                check_schema(item, config, template)
            if source.id_field and checked_ids < ID_SAMPLE:
                checked_ids += 1
                id_masker = id_masker or PiiMasker(config.pii.model_copy(update={"mode": "redact"}))
                found = id_masker.detect({source.id_field: item.id})
                if found:
                    raise SourceError(
                        f"{source.path} row {item.row}: id_field '{source.id_field}' holds "
                        f"personal data ({found[0].entity}); ids are written unmasked"
                    )
            missing = [name for name in required if name not in item.fields]
            if missing:
                reason = f"template field missing: '{missing[0]}' not in row"
                reject(Rejection(item.source, item.row, FORMAT_STAGE, reason, missing[0], item.id))
                continue
            rejection = check_length(item, template.fields, config.quality)
            # a conversation is checked and laid out as text fields before the text rules
            rejection = rejection or template.prepare(item)
            if rejection is None:
                row = normalise_row(item, required)
                rejection = check_quality(row, compared, config.quality) or template.check(row)
            if rejection is None and row.id in seen_ids:
                rejection = Rejection(row.source, row.row, READ_STAGE, "duplicate id", id=row.id)
            if rejection is not None:
                reject(rejection)
                continue
            seen_ids.add(row.id)
            yield row
        if read_counts[source.path] == 0:
            raise SourceError(f"{source.path}: no rows (empty file or folder?)")

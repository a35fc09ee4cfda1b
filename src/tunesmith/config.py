"""The typed schema of `tunesmith.yaml`: YAML only sets values, defaults and rules live here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import jinja2
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tunesmith.monitor.settings import MonitorConfig
from tunesmith.preference.settings import AlignConfig
from tunesmith.serve.settings import ServeConfig

CONFIG_FILENAME = "tunesmith.yaml"

PII_ENTITIES = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_SSN",
    "IP_ADDRESS",
    "DATE_OF_BIRTH",
    "POSTAL_ADDRESS",
    "NATIONAL_ID",
    "PASSPORT",
)


class ConfigError(ValueError):
    """A `tunesmith.yaml` that cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Strict):
    path: str = Field(description="File or folder of raw records, relative to the workspace.")
    format: Literal["csv", "jsonl", "json", "parquet", "text"] | None = Field(
        default=None, description="Reader to use; inferred from the extension when omitted."
    )
    id_field: str | None = Field(
        default=None, description="Column holding a stable record id; else '<source>:<row>'."
    )


class TemplateConfig(_Strict):
    system: str | None = Field(default=None, description="Jinja2 template of the system message.")
    user: str = Field(description="Jinja2 template of the user message, over a row's fields.")
    assistant: str | None = Field(
        default=None, description="Jinja2 template of the assistant message (the target)."
    )

    @field_validator("system", "user", "assistant")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                jinja2.Environment().parse(value)
            except jinja2.TemplateSyntaxError as err:
                raise ValueError(
                    f"not a valid Jinja2 template: {err.message} (line {err.lineno})"
                ) from None
        return value


class CustomEntity(_Strict):
    name: str = Field(description="Entity type to report and mask, e.g. ACCOUNT_ID.")
    pattern: str = Field(description="Python regular expression matching the entity.")

    @field_validator("name")
    @classmethod
    def _upper_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", value):
            raise ValueError("must be UPPER_SNAKE_CASE, e.g. ACCOUNT_ID")
        return value

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as err:
            raise ValueError(f"not a valid regular expression: {err}") from None
        return value


class PiiConfig(_Strict):
    enabled: bool = Field(default=True, description="Detect and mask personal data.")
    mode: Literal["placeholder", "pseudonym", "redact"] = Field(
        default="placeholder", description="How found values are replaced."
    )
    entities: list[str] = Field(
        default=list(PII_ENTITIES), description="Built-in entity types to detect."
    )
    custom: list[CustomEntity] = Field(
        default_factory=list, description="User-defined entities matched by regex."
    )
    skip_fields: list[str] = Field(
        default_factory=list, description="Columns never scanned (labels, ids, categories)."
    )
    name_fields: list[str] | None = Field(
        default=None,
        description="Columns whose whole value is a person's name; default: names ending 'name'.",
    )
    pseudonym_key_env: str = Field(
        default="TUNESMITH_PII_KEY",
        description="Environment variable holding the pseudonym key; the key is never written.",
    )

    @field_validator("entities")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(PII_ENTITIES))
        if unknown:
            raise ValueError(f"unknown entity types {unknown}; known: {list(PII_ENTITIES)}")
        return value


class DedupConfig(_Strict):
    near_threshold: float = Field(
        default=0.85, gt=0, le=1, description="Jaccard similarity on word shingles for near-dups."
    )
    shingle_size: int = Field(default=3, ge=1, le=10, description="Words per shingle.")
    num_perm: int = Field(default=128, ge=16, le=1024, description="MinHash permutations.")
    fields: list[str] | None = Field(
        default=None, description="Fields compared; default: those the templates use."
    )


class QualityConfig(_Strict):
    min_chars: int = Field(default=20, ge=0, description="Shorter compared text is quarantined.")
    max_chars: int = Field(default=20_000, gt=0, description="Longer text is quarantined.")


class SplitConfig(_Strict):
    val: float = Field(default=0.1, ge=0, lt=1, description="Fraction of records for validation.")
    test: float = Field(default=0.1, ge=0, lt=1, description="Fraction of records for test.")
    seed: int = Field(default=0, description="Seed of the split assignment.")
    stratify_by: str | None = Field(
        default=None, description="Meta field whose values keep their proportions in each split."
    )

    @model_validator(mode="after")
    def _leaves_train(self) -> SplitConfig:
        if self.val + self.test >= 1:
            raise ValueError(f"val + test must be < 1 (got {self.val + self.test})")
        return self


class DataConfig(_Strict):
    name: str = Field(description="Dataset name; versions go to datasets/<name>/v<N>/.")
    sources: list[SourceConfig] = Field(min_length=1, description="Raw inputs to curate.")
    template: TemplateConfig = Field(description="How a row becomes ChatML messages.")
    meta_fields: list[str] = Field(
        default_factory=list, description="Row fields copied into each record's meta."
    )
    pii: PiiConfig = Field(default_factory=PiiConfig, description="Personal-data masking.")
    dedup: DedupConfig = Field(default_factory=DedupConfig, description="Duplicate removal.")
    quality: QualityConfig = Field(default_factory=QualityConfig, description="Row filters.")
    split: SplitConfig = Field(default_factory=SplitConfig, description="Train/val/test split.")

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", value):
            raise ValueError("use letters, digits, '-', '_' and '.' only")
        return value

    @model_validator(mode="after")
    def _stratify_is_meta(self) -> DataConfig:
        field = self.split.stratify_by
        if field is not None and field not in self.meta_fields:
            raise ValueError(f"split.stratify_by '{field}' must be listed in data.meta_fields")
        return self


class BaseModelConfig(_Strict):
    name: str = Field(
        default="smollm2-135m-instruct",
        description="Bundled base model to import, or a label for `path`.",
    )
    path: str | None = Field(
        default=None, description="Local Hugging Face model folder used instead of a bundled one."
    )


class TrainConfig(_Strict):
    dataset: str = Field(
        default="latest", description="Dataset version of data.name: 'latest' or 'vN'."
    )
    method: Literal["lora", "dora", "qlora", "full"] = Field(
        default="lora",
        description="LoRA or DoRA adapters, LoRA over a 4-bit NF4 base (qlora), or all weights.",
    )
    lora_r: int = Field(default=16, ge=1, description="Adapter rank.")
    lora_alpha: int = Field(default=32, ge=1, description="Adapter scaling numerator.")
    lora_dropout: float = Field(
        default=0.0, ge=0, lt=1, description="Dropout on adapter input; 0 skips a pass per layer."
    )
    target_modules: list[str] = Field(
        default=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        description="Linear layers that get adapters.",
    )
    learning_rate: float = Field(default=2e-4, gt=0, description="Peak learning rate.")
    epochs: float = Field(default=1.0, gt=0, description="Passes over the train split.")
    max_steps: int | None = Field(
        default=None, ge=1, description="Optimizer steps; overrides epochs."
    )
    batch_size: int = Field(default=8, ge=1, description="Sequences per micro-batch.")
    grad_accum: int = Field(default=1, ge=1, description="Micro-batches per optimizer step.")
    warmup_ratio: float = Field(default=0.05, ge=0, lt=1, description="Share of steps warming up.")
    scheduler: Literal["linear", "cosine", "constant_with_warmup"] = Field(
        default="cosine", description="Learning-rate schedule after warm-up."
    )
    weight_decay: float = Field(default=0.0, ge=0, description="AdamW weight decay.")
    seed: int = Field(default=0, description="Seed of initialisation, dropout and data order.")
    init_adapter: str | None = Field(
        default=None,
        description="Run id whose adapter this run continues from; null: a fresh adapter.",
    )
    reviewed_repeat: int = Field(
        default=1, ge=1, le=100, description="Times each reviewed (feedback) record is trained on."
    )
    max_length: int = Field(default=512, ge=8, description="Longest tokenised sequence.")
    truncation: Literal["drop", "truncate"] = Field(
        default="drop", description="Longer sequences are dropped or cut; either way counted."
    )
    loss_on: Literal["assistant", "all"] = Field(
        default="assistant", description="Tokens that carry loss."
    )
    eval_steps: int = Field(default=50, ge=1, description="Validation loss every N steps.")
    save_steps: int = Field(default=50, ge=1, description="Checkpoint every N steps.")
    logging_steps: int = Field(default=5, ge=1, description="Train loss logged every N steps.")
    early_stopping_patience: int | None = Field(
        default=3, ge=1, description="Evaluations without improvement before stopping."
    )

    @model_validator(mode="after")
    def _checkpoints_line_up_with_evaluations(self) -> TrainConfig:
        # the best checkpoint is chosen among saved ones, so every save must follow an eval
        if self.save_steps % self.eval_steps:
            raise ValueError(
                f"save_steps ({self.save_steps}) must be a multiple of eval_steps "
                f"({self.eval_steps}) so the best checkpoint can be kept"
            )
        return self


class TaskConfig(_Strict):
    type: Literal["classification", "extraction", "generation"] = Field(
        default="generation", description="What the assistant answer is, which sets the metrics."
    )
    labels: list[str] | None = Field(
        default=None, description="Allowed labels of a classification task."
    )
    label_field: str | None = Field(
        default=None,
        description="Meta field with the gold label; else it is read from the reference answer.",
    )
    answer_prefix: str = Field(
        default="", description="Text before the label in an answer, e.g. 'Queue: '."
    )
    instruction: str | None = Field(
        default=None,
        description="Base-model instruction for the prompt comparison; default built from labels.",
    )
    json_schema: dict[str, Any] | None = Field(
        default=None, description="JSON Schema an extraction answer must validate against."
    )

    @model_validator(mode="after")
    def _type_has_what_it_needs(self) -> TaskConfig:
        if self.type == "classification":
            if not self.labels or len(self.labels) < 2:
                raise ValueError("a classification task needs task.labels (at least two)")
            if len(set(self.labels)) != len(self.labels):
                raise ValueError("task.labels has duplicates")
            if any(not label.strip() for label in self.labels):
                raise ValueError("task.labels has an empty label")
        if self.type == "extraction":
            if self.json_schema is None:
                raise ValueError("an extraction task needs task.json_schema")
            from jsonschema import Draft202012Validator, SchemaError

            try:
                Draft202012Validator.check_schema(self.json_schema)
            except SchemaError as err:
                raise ValueError(
                    f"task.json_schema is not a valid JSON Schema: {err.message}"
                ) from None
        return self


class GatesConfig(_Strict):
    min: dict[str, float] = Field(
        default_factory=dict, description="Metric -> lowest value allowed, e.g. accuracy: 0.8."
    )
    max: dict[str, float] = Field(
        default_factory=dict,
        description="Metric -> highest value allowed, e.g. invalid_rate: 0.05.",
    )
    max_regression: dict[str, float] = Field(
        default_factory=dict,
        description="Metric -> largest drop allowed against the champion on the same rows.",
    )
    min_slice_ratio: float | None = Field(
        default=None, gt=0, le=1, description="Lowest worst-slice / best-slice metric ratio."
    )


class EvalConfig(_Strict):
    split: Literal["test", "val"] = Field(default="test", description="Split that is scored.")
    classify_by: Literal["scoring", "generation"] = Field(
        default="scoring",
        description="Labels by log-likelihood of each allowed label, or by free generation.",
    )
    max_new_tokens: int = Field(default=128, ge=1, description="Longest generated answer.")
    batch_size: int = Field(default=8, ge=1, description="Rows per forward pass.")
    few_shot: int = Field(
        default=5, ge=0, description="Train examples in the few-shot prompt of --compare."
    )
    slices: list[str] = Field(
        default_factory=list, description="Meta fields whose values get their own metrics."
    )
    slice_floor: float | None = Field(
        default=None, ge=0, description="A slice whose main metric is below this is flagged."
    )
    min_slice_rows: int = Field(
        default=10, ge=1, description="Slices with fewer rows are reported but not judged."
    )
    gates: GatesConfig = Field(default_factory=GatesConfig, description="Promotion gates.")
    seed: int = Field(default=0, description="Seed of the few-shot example choice.")


class RegistryConfig(_Strict):
    model_name: str | None = Field(
        default=None, description="Registered model name; default: the project name."
    )
    required_approvals: int = Field(
        default=1, ge=0, description="Distinct human approvals needed to become champion."
    )
    approvers: list[str] = Field(
        default_factory=list, description="Who may approve; empty means anyone named."
    )


class ProjectConfig(_Strict):
    project: str = Field(default="tunesmith-project", description="Human name of the project.")
    base_model: BaseModelConfig = Field(
        default_factory=BaseModelConfig, description="The model to fine-tune."
    )
    data: DataConfig = Field(description="Curation: sources, template, PII, dedup, split.")
    train: TrainConfig = Field(default_factory=TrainConfig, description="Fine-tuning.")
    task: TaskConfig = Field(default_factory=TaskConfig, description="What the model answers.")
    eval: EvalConfig = Field(default_factory=EvalConfig, description="Evaluation and gates.")
    registry: RegistryConfig = Field(
        default_factory=RegistryConfig, description="Model versions, approvals, promotion."
    )
    serve: ServeConfig = Field(default_factory=ServeConfig, description="The HTTP server.")
    monitor: MonitorConfig = Field(
        default_factory=MonitorConfig, description="Monitoring, review and retraining."
    )
    align: AlignConfig = Field(
        default_factory=AlignConfig, description="Preference data, judges and preference tuning."
    )

    @model_validator(mode="after")
    def _fields_exist(self) -> ProjectConfig:
        for field in [*self.eval.slices, self.task.label_field]:
            if field is not None and field not in self.data.meta_fields:
                raise ValueError(f"'{field}' is used by task/eval but not in data.meta_fields")
        return self

    @model_validator(mode="after")
    def _gates_name_reported_metrics(self) -> ProjectConfig:
        from tunesmith.evaluate.metrics import known_metrics

        known = known_metrics(self.task.type, self.task.json_schema)
        gates = self.eval.gates
        for kind, metrics in (
            ("min", gates.min),
            ("max", gates.max),
            ("max_regression", gates.max_regression),
        ):
            unknown = sorted(set(metrics) - known)
            if unknown:
                raise ValueError(
                    f"eval.gates.{kind}: {unknown} not reported for task.type "
                    f"'{self.task.type}'; known: {sorted(known)}"
                )
        return self


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(f"[{part}]" if isinstance(part, int) else part for part in loc).replace(
        ".[", "["
    )


def parse_config(raw: object, source: str = CONFIG_FILENAME) -> ProjectConfig:
    """Validate already-loaded YAML; raise ConfigError naming every bad field."""
    try:
        return ProjectConfig.model_validate(raw)
    except ValidationError as err:
        problems = [f"{_field_path(e['loc']) or '<root>'}: {e['msg']}" for e in err.errors()]
        raise ConfigError(f"{source}: " + "; ".join(problems)) from None


def load_config(path: Path) -> ProjectConfig:
    """Read and validate `tunesmith.yaml` before any work starts."""
    if not path.is_file():
        raise ConfigError(
            f"{path}: not found (is this a tunesmith workspace? try `tunesmith init`)"
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}:{where}: not valid YAML: {err}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 ({err.reason} at byte {err.start})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return parse_config(raw, str(path))


def with_section(config: ProjectConfig, section: str, values: dict[str, Any]) -> ProjectConfig:
    """`config` with some values of one section replaced, validated like the YAML would be
    (command-line overrides get the same limits and errors as the file)."""
    raw = config.model_dump(mode="json")
    raw[section] = {**raw[section], **values}
    return parse_config(raw, f"{CONFIG_FILENAME} ({section} from the command line)")

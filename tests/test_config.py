from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tunesmith.config import ConfigError, load_config, parse_config
from tunesmith.examples.scaffold import EXAMPLES_DIR

EXAMPLE_CONFIG = EXAMPLES_DIR / "support-tickets" / "tunesmith.yaml"


def _example() -> dict:
    return yaml.safe_load(EXAMPLE_CONFIG.read_text())


def test_shipped_example_config_loads() -> None:
    config = load_config(EXAMPLE_CONFIG)
    assert config.data.name == "support-tickets"
    assert config.data.pii.custom[0].name == "ACCOUNT_ID"
    assert config.data.split.stratify_by == "queue"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("split", "val"), 1.5, "data.split.val"),
        (("dedup", "near_threshold"), 0, "data.dedup.near_threshold"),
        (("pii", "mode"), "scramble", "data.pii.mode"),
        (("pii", "entities"), ["PERSON", "SHOE_SIZE"], "SHOE_SIZE"),
        (("template", "user"), "{{ subject ", "data.template.user"),
        (("split", "stratify_by"), "colour", "stratify_by 'colour'"),
    ],
)
def test_invalid_field_is_named(path: tuple[str, str], value: object, expected: str) -> None:
    raw = _example()
    raw["data"][path[0]][path[1]] = value
    with pytest.raises(ConfigError) as err:
        parse_config(raw, "ws/tunesmith.yaml")
    assert "ws/tunesmith.yaml" in str(err.value)
    assert expected in str(err.value)


def test_bad_custom_regex_and_unknown_key_are_reported_together() -> None:
    raw = _example()
    raw["data"]["pii"]["custom"] = [{"name": "ACCOUNT_ID", "pattern": "ACC-(\\d+"}]
    raw["data"]["dedupe"] = {}
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    message = str(err.value)
    assert "data.pii.custom[0].pattern" in message
    assert "not a valid regular expression" in message
    assert "data.dedupe" in message


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "tunesmith.yaml"
    path.write_text("data:\n  name: x\n  sources: [\n")
    with pytest.raises(ConfigError, match=r"line \d+"):
        load_config(path)


def test_missing_file_says_how_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="tunesmith init"):
        load_config(tmp_path / "tunesmith.yaml")


def test_gates_must_name_metrics_the_task_reports() -> None:
    raw = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    raw["eval"]["gates"]["min"] = {"acuracy": 0.8}
    with pytest.raises(ConfigError, match=r"eval.gates.min: \['acuracy'\] not reported"):
        parse_config(raw)
    raw["eval"]["gates"]["min"] = {"accuracy": 0.8}
    raw["task"]["labels"] = ["billing", " "]
    with pytest.raises(ConfigError, match="empty label"):
        parse_config(raw)

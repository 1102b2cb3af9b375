"""Loading configs from YAML (once, at the edge) with errors that name the field."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from qlearn_sense.config._models import ExperimentConfig


class ConfigError(ValueError):
    """An invalid config. ``errors`` lists ``(field_path, value, accepted)`` triples."""

    def __init__(self, source: str, errors: list[tuple[str, Any, str]]):
        self.source = source
        self.errors = errors
        lines = [f"{path}: got {value!r}; {accepted}" for path, value, accepted in errors]
        super().__init__(f"invalid config {source}:\n  " + "\n  ".join(lines))


def _format(exc: ValidationError) -> list[tuple[str, Any, str]]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith(("function-", "tagged-union")))
        kind = err["type"]
        msg = err["msg"]
        if kind == "extra_forbidden":
            msg = "unknown key; remove it or check its spelling"
        elif kind.startswith("value_error"):
            msg = msg.removeprefix("Value error, ")
        elif "ctx" in err:
            msg = f"accepted: {msg.lower()}"
        value = err.get("input")
        if isinstance(value, dict):
            value = "{...}"
        out.append((loc or "<root>", value, msg))
    return out


def config_from_dict(data: dict, source: str = "<dict>") -> ExperimentConfig:
    """Validate a plain dict as an :class:`ExperimentConfig`.

    Raises:
      ConfigError: on unknown keys, wrong types or out-of-range values; the
        message names each field path, its value and what is accepted.
    """
    if not isinstance(data, dict):
        raise ConfigError(source, [("<root>", type(data).__name__, "expected a mapping of config sections")])
    try:
        return ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, _format(exc)) from None


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate a YAML config file.

    Raises:
      ConfigError: the file is missing, not YAML, or fails validation.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(str(path), [("<file>", str(path), "file not found")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), [("<file>", str(path), f"not valid YAML: {exc}")]) from None
    return config_from_dict(data, str(path))


def config_to_yaml(config: ExperimentConfig) -> str:
    """The validated config as YAML (all defaults filled in); round-trips through :func:`load_config`."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def config_hash(config: ExperimentConfig) -> str:
    """SHA-256 (hex, 16 chars) of the config's canonical JSON."""
    text = json.dumps(config.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]

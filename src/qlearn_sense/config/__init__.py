"""Experiment configs: YAML -> frozen pydantic models in SI units."""

from qlearn_sense.config._load import ConfigError, config_from_dict, config_hash, config_to_yaml, load_config
from qlearn_sense.config._models import (
    MEASUREMENT_NAMES,
    PREPARATION_NAMES,
    ActionPotentialSignal,
    AnsatzConfig,
    ConstantSignal,
    DetectionConfig,
    ExecutionConfig,
    ExperimentConfig,
    OptimizerConfig,
    ProtocolConfig,
    SensorConfig,
    ShadowsConfig,
    SinusoidSignal,
)

__all__ = [
    "MEASUREMENT_NAMES",
    "PREPARATION_NAMES",
    "ActionPotentialSignal",
    "AnsatzConfig",
    "ConfigError",
    "ConstantSignal",
    "DetectionConfig",
    "ExecutionConfig",
    "ExperimentConfig",
    "OptimizerConfig",
    "ProtocolConfig",
    "SensorConfig",
    "ShadowsConfig",
    "SinusoidSignal",
    "config_from_dict",
    "config_hash",
    "config_to_yaml",
    "load_config",
]

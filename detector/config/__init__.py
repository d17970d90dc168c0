"""The typed configuration: the sections (``sections.py``: the dataclasses), reading and checking them
(``loading.py``), their option schema (``schema.py``) and ranges (``ranges.py``), the YAML loader
(``yaml_loader.py``), ``key=value`` overrides (``overrides.py``), migration of old layouts (``migrate.py``), path
checks (``paths.py``) and the generator of configs/defaults.yaml and docs/CONFIG.md (``docs.py``).
``from detector.config import X`` is the public path of the names below; the other modules are imported by their own
paths."""

from detector.config.loading import (
    config_from_dict,
    config_to_dict,
    key_range,
    load_config,
    option_at,
    save_config,
    section_type,
    type_name,
)
from detector.config.plugins import HeadConfig, default_head_config, head_config_class, neck_names
from detector.config.sections import (
    AugmentConfig,
    BackboneConfig,
    Config,
    ConfigError,
    DataConfig,
    EvalConfig,
    ModelConfig,
    NeckConfig,
    PredictConfig,
    ShapesConfig,
    SplitConfig,
    TrackConfig,
    TrainConfig,
    predict_settings,
)

__all__ = [
    "AugmentConfig",
    "BackboneConfig",
    "Config",
    "ConfigError",
    "DataConfig",
    "EvalConfig",
    "HeadConfig",
    "ModelConfig",
    "NeckConfig",
    "PredictConfig",
    "ShapesConfig",
    "SplitConfig",
    "TrackConfig",
    "TrainConfig",
    "config_from_dict",
    "config_to_dict",
    "default_head_config",
    "head_config_class",
    "key_range",
    "load_config",
    "neck_names",
    "option_at",
    "predict_settings",
    "save_config",
    "section_type",
    "type_name",
]

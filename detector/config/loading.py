"""Reading a config: YAML files + ``key.sub=value`` overrides -> :class:`detector.config.sections.Config`, checked.

Every key is checked against its declaration (``detector/config/sections.py``): an unknown key is an error that
suggests the nearest valid key, a wrong type names the key and the expected type, a number outside its declared range
or a value outside its choices names the key and what is allowed, an empty path where one is needed
(``detector/config/paths.py``) names the key. Overrides that set one key twice are applied in order and warned about
(``detector/config/overrides.py``). A section given a mapping (``train={epochs: 1}``) sets the keys it names, as a
file does over its ``base``; a section given a value (``train=5``) is an error. A config file may start from another
with ``base: other.yaml`` (path relative to the file) and override only what differs; configs of the old layout are
migrated (``detector/config/migrate.py``).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import types
import typing
import warnings
from pathlib import Path
from typing import Any, Union

import yaml

from detector.config.migrate import (
    migrate_head_layout,
    migrate_head_override,
    migrate_renamed_keys,
    migrate_renamed_override,
)
from detector.config.overrides import override_collisions, parse_override
from detector.config.paths import empty_path_problem
from detector.config.plugins import (
    LEGACY_DEFAULT_HEAD_FAMILY,
    HeadConfig,
    default_head_config,
    head_config_class,
    head_family_names,
)
from detector.config.ranges import Range, range_problem
from detector.config.schema import option_choices, option_range
from detector.config.sections import (
    Config,
    ConfigError,
)
from detector.config.yaml_loader import DuplicateKeyError, load_yaml_text, yaml_error_line
from detector.output_files import write_text_atomic


def option_at(key: str) -> dataclasses.Field:
    """The declaration of the config key ``key`` (``'data.img_size'``); KeyError naming it when there is none."""
    cls: Any = Config
    *sections, name = key.split(".")
    for part in sections:
        cls = section_type(typing.get_type_hints(cls)[part]) if part in _field_names(cls) else None
    if name not in _field_names(cls):
        raise KeyError(f"'{key}' is not a config key (see docs/CONFIG.md)")
    return next(f for f in dataclasses.fields(cls) if f.name == name)


def _field_names(cls: Any) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)] if isinstance(cls, type) and dataclasses.is_dataclass(cls) else []


def key_range(key: str) -> Range:
    """The declared range of the numeric config key ``key``; KeyError when it has none."""
    allowed = option_range(option_at(key))
    if allowed is None:
        raise KeyError(f"config key '{key}' declares no range")
    return allowed


def section_type(tp: Any) -> Any:
    """The dataclass of a section annotation (``ShapesConfig | None`` -> ``ShapesConfig``); ``tp`` otherwise."""
    if typing.get_origin(tp) in (Union, types.UnionType):
        sections = [a for a in typing.get_args(tp) if dataclasses.is_dataclass(a)]
        return sections[0] if len(sections) == 1 else tp
    return tp


def type_name(tp: Any) -> str:
    """An annotation as errors and docs name it: ``int``, ``float or null``, ``list of int``, ``mapping``."""
    if dataclasses.is_dataclass(tp):
        return "mapping"
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (Union, types.UnionType):
        return " or ".join("null" if a is type(None) else type_name(a) for a in args)
    if typing.get_origin(tp) is list:
        return f"list of {type_name(args[0])}"
    return getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any, key: str, source: str) -> Any:
    """Check ``value`` against the annotation ``tp`` (converting int -> float); raise ConfigError if it does not fit."""
    origin = typing.get_origin(tp)
    if isinstance(tp, type) and issubclass(tp, HeadConfig) and isinstance(value, dict):
        return _build(_head_class(value.get("type"), key, source), value, key, source)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in typing.get_args(tp):
            return None
        for arg in typing.get_args(tp):
            if arg is type(None):
                continue
            if isinstance(arg, type) and dataclasses.is_dataclass(arg) and isinstance(value, dict):
                return _build(arg, value, key, source)  # a mapping for a section: its own errors (did you mean)
            try:
                return _convert(value, arg, key, source)
            except ConfigError:
                continue
    elif isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if isinstance(value, dict):
            return _build(tp, value, key, source)
        if isinstance(value, tp):
            return value
    elif origin is list:
        if isinstance(value, (list, tuple)):
            (item_tp,) = typing.get_args(tp)
            return [_convert(v, item_tp, f"{key}[{i}]", source) for i, v in enumerate(value)]
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads "1e-3" as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif tp is str and isinstance(value, str):
        return value
    section = section_type(tp)
    if isinstance(section, type) and dataclasses.is_dataclass(section):
        optional = type(None) in typing.get_args(tp)
        raise _not_a_section_value(section, key, value, source, optional)
    raise ConfigError(f"{source}: key '{key}' expects {type_name(tp)}, got {value!r} ({type(value).__name__})")


def _not_a_section_value(section: type, key: str, value: Any, source: str, optional: bool) -> ConfigError:
    """The error for a value that is no mapping given to the section ``key`` (``train=5``, ``train: 5``): the
    section's defaults would otherwise stand in for everything set in it before."""
    first = dataclasses.fields(section)[0].name
    keys = ", ".join(f"{key}.{f.name}" for f in dataclasses.fields(section)[:3])
    mapping = f"a mapping ({{{first}: ...}})" + (" or null (off)" if optional else "")
    return ConfigError(
        f"{source}: '{key}' is a section ({keys}, ...), not a value; got {value!r}: set its keys one by one, "
        f"e.g. {key}.{first}=..., or give {mapping}"
    )


def _unknown_key(key: str, valid: list[str], prefix: str, source: str) -> ConfigError:
    full = f"{prefix}.{key}" if prefix else key
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
    hint = f"; did you mean '{prefix + '.' if prefix else ''}{close[0]}'?" if close else ""
    section = f"'{prefix}'" if prefix else "the top level"
    return ConfigError(f"{source}: unknown key '{full}'{hint} (valid keys in {section}: {', '.join(valid)})")


def _head_class(type_name: Any, key: str, source: str) -> type[HeadConfig]:
    """The config class of the head family ``type_name`` (``<key>.type``; None: the default family)."""
    if type_name is None:
        return type(default_head_config())
    names = head_family_names()
    if type_name not in names:
        raise ConfigError(f"{source}: key '{key}.type' must be one of {names}, got {type_name!r}")
    return head_config_class(type_name)


def _build(cls: type, data: dict, prefix: str, source: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in fields:
            raise _unknown_key(str(key), list(fields), prefix, source)
        full = f"{prefix}.{key}" if prefix else key
        kwargs[key] = _convert(value, hints[key], full, source)
        declared = fields[key]
        choices = option_choices(declared)
        if choices is not None and kwargs[key] not in choices:
            raise ConfigError(f"{source}: key '{full}' must be one of {list(choices)}, got {value!r}")
        problem = range_problem(full, kwargs[key], option_range(declared)) or empty_path_problem(full, kwargs[key])
        if problem:
            raise ConfigError(f"{source}: key {problem}")
    return cls(**kwargs)


def _merge(base: dict, update: dict) -> dict:
    """Recursive dict merge: mappings merge key by key, anything else replaces. A tagged mapping whose ``type``
    differs from the base's (e.g. another head family in ``model.head``) replaces the base's mapping."""
    out = dict(base)
    for k, v in update.items():
        old = out.get(k)
        mergeable = isinstance(old, dict) and isinstance(v, dict) and not _retyped(old, v.get("type"))
        out[k] = _merge(old, v) if mergeable and isinstance(old, dict) else v
    return out


def _retyped(section: dict, new_type: Any) -> bool:
    """Whether setting ``type`` to ``new_type`` changes a tagged section's type (its other keys then no longer
    apply: they belong to the old type)."""
    return new_type is not None and "type" in section and section["type"] != new_type


def _read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    """Read a YAML config, resolving ``base:`` chains (paths relative to the including file)."""
    if not path.is_file():
        raise ConfigError(f"config file not found: {path} (configs live in configs/, e.g. configs/yolo_cspx50.yaml)")
    if path.resolve() in seen:
        raise ConfigError(f"{path}: 'base' chain loops back to itself")
    try:
        data = load_yaml_text(path.read_text(encoding="utf-8"), str(path))
    except DuplicateKeyError as exc:
        raise ConfigError(str(exc)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {yaml_error_line(exc)}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a text file ({exc.reason} at byte {exc.start}); give a YAML config") from None
    if data is None or data == {}:
        raise ConfigError(
            f"config {path} is empty: it sets no key; write the keys that differ from the defaults (e.g. "
            "'base: defaults.yaml' and a data section), or pass configs/defaults.yaml for every default"
        )
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: a config must be a mapping of sections (model, data, ...), got {type(data).__name__}"
        )
    base = data.pop("base", None)
    if base is None:
        return data
    return _merge(_read_yaml((path.parent / str(base)), (*seen, path.resolve())), data)


def _apply_override(data: dict, override: str) -> bool:
    """Apply ``a.b.c=value`` (value parsed as YAML: numbers, true/false, null, [lists]) to the raw dict. Setting
    ``model.head.type`` to another family starts ``model.head`` afresh (the old family's keys do not apply).
    A renamed key (:data:`detector.config.migrate.RENAMED_KEYS`) sets its new name. Returns whether the key was of
    the old head layout (``model.head.<family>.*``, ``loss.<family>.*``)."""
    if "=" not in override:
        raise ConfigError(f"override '{override}' must look like key.sub=value (e.g. train.epochs=10)")
    key, value = parse_override(override)
    renamed = migrate_renamed_override(key)
    new_key, family = migrate_head_override(renamed, head_family_names())
    head = data.get("model", {}).get("head", {}) if isinstance(data.get("model"), dict) else {}
    selected = (head.get("type") if isinstance(head, dict) else None) or default_head_config().type
    if family is not None and family != selected:
        raise ConfigError(
            f"command-line override '{key}': model.head.type is {selected!r}, not {family!r}; set "
            f"model.head.type={family} first, then its keys as {new_key}"
        )
    parts = new_key.split(".")
    cls: Any = Config
    node = data
    for i, part in enumerate(parts):
        if isinstance(cls, type) and issubclass(cls, HeadConfig):
            cls = _head_class(node.get("type"), ".".join(parts[:i]), "command-line override")
        hints = typing.get_type_hints(cls)
        prefix = ".".join(parts[:i])
        if part not in hints:
            raise _unknown_key(part, list(hints), prefix, "command-line override")
        if i == len(parts) - 1:
            if part == "type" and _retyped(node, value):
                node.clear()
            old = node.get(part)
            section = section_type(hints[part])
            if isinstance(value, dict) and isinstance(old, dict) and dataclasses.is_dataclass(section):
                node[part] = _merge(old, value)  # a mapping sets the keys it names; the section's others stay
            else:
                node[part] = value
            return new_key != renamed
        tp = hints[part]
        if typing.get_origin(tp) in (Union, types.UnionType):
            tp = next(a for a in typing.get_args(tp) if a is not type(None))
        if not dataclasses.is_dataclass(tp):
            raise ConfigError(f"command-line override: '{'.'.join(parts[: i + 1])}' is not a section")
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node, cls = node[part], tp
    raise AssertionError("unreachable: the loop returns at the last part")


def config_from_dict(data: dict, source: str = "config", overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Validate a plain (YAML-like) dict into a :class:`Config`, then apply ``key.sub=value`` overrides.

    A config (or override) of the old head layout (``model.head.<family>: {...}``, ``loss.<family>: {...}``) is
    migrated to ``model.head: {type, <family fields>, loss: {...}}`` with one warning naming the new keys; keys renamed
    since (:data:`detector.config.migrate.RENAMED_KEYS`, e.g. ``eval.conf_thres`` -> ``eval.conf``) likewise."""
    data, moved = migrate_head_layout(data, head_family_names(), LEGACY_DEFAULT_HEAD_FAMILY)
    data, renamed = migrate_renamed_keys(data)
    cfg = _build(Config, data, "", source)
    legacy_overrides, renamed_overrides = [], []
    if overrides:
        data = copy.deepcopy(data)
        for override in overrides:
            key = override.split("=", 1)[0].strip()
            if migrate_renamed_override(key) != key:
                renamed_overrides.append(f"{key} -> {migrate_renamed_override(key)}")
            if _apply_override(data, override):
                legacy_overrides.append(key)
        cfg = _build(Config, data, "", "command-line override")
        for message in override_collisions(overrides):
            warnings.warn(message, UserWarning, stacklevel=3)
    if moved or legacy_overrides:
        old = ", ".join([*moved, *legacy_overrides])
        warnings.warn(
            f"{source}: old head config layout ({old}); the head family's settings are now keys of model.head "
            f"(model.head: {{type: {cfg.model.head.type}, <its fields>, loss: {{...}}}}, e.g. model.head.loss.box); "
            f"update the file or override",
            UserWarning,
            stacklevel=2,
        )
    if renamed or renamed_overrides:
        warnings.warn(
            f"{source}: renamed config keys ({', '.join([*renamed, *renamed_overrides])}); use the new names",
            UserWarning,
            stacklevel=2,
        )
    return cfg


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Load ``path`` (or the defaults when None), apply ``key.sub=value`` overrides, validate, return a Config."""
    data = _read_yaml(Path(path)) if path is not None else {}
    return config_from_dict(data, str(path) if path is not None else "defaults", overrides)


def config_to_dict(cfg: Config) -> dict:
    """The resolved config as plain dicts/lists (what is saved next to runs and inside checkpoints)."""
    return dataclasses.asdict(cfg)


def save_config(cfg: Config, path: str | Path) -> None:
    """Write the resolved config as YAML (loadable again with :func:`load_config`)."""
    write_text_atomic(path, yaml.safe_dump(config_to_dict(cfg), sort_keys=False), fsync=False)

"""Configuration: strict pydantic models, YAML loading and flag overrides.

Every stage owns a config model derived from `StrictModel`; the pipeline config
(`PipelineConfig`) holds one section per stage. Unknown keys are errors that name the key,
field docstrings are the help text of the matching command-line flags, and flags override
the YAML file (dolma's `-c config.yaml` merged with flags, flags winning).
"""

from __future__ import annotations

import argparse
import re
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dataflow.errors import ConfigError
from dataflow.object_store import as_path

M = typing.TypeVar("M", bound=BaseModel)


PositiveFinite = Annotated[float, Field(gt=0, allow_inf_nan=False)]
"""A weight, prior or concentration: above 0 and a real number (NaN or inf would reach a fit or a
Dirichlet and fail, or silently give NaN, only after every run has trained)."""


class _Loader(yaml.SafeLoader):
    """YAML 1.1 (PyYAML) reads `2e9` as a string, as its floats need a dot (`2.0e9`); a config value
    `total_tokens: 2e9` is meant as a number, as YAML 1.2 reads it."""


_Loader.add_implicit_resolver("tag:yaml.org,2002:float",
                              re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789"))


def parse_yaml(text: str) -> Any:
    """`yaml.safe_load` that reads `2e9` and `1e-3` as numbers (`_Loader`)."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader


class StrictModel(BaseModel):
    """Base for every config model: unknown keys are errors, docstrings are help text."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


def format_validation_error(err: ValidationError, source: str) -> str:
    """One line per problem, naming the dotted key: `extract.max_html_bytes: ...`."""
    problems = []
    for item in err.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            problems.append(f"unknown key '{key}'{_known_keys_hint(err, item['loc'])}")
        elif item["type"] == "value_error":  # our validators' messages name the value and the fix
            problems.append(f"{key}: {item['ctx']['error']}")
        else:
            problems.append(f"{key}: {item['msg']} (got {item.get('input')!r})")
    return f"invalid config in {source}: " + "; ".join(problems)


def _known_keys_hint(err: ValidationError, loc: tuple) -> str:
    model = _model_at(err.title, loc[:-1])
    if model is None:
        return ""
    return f"; known keys here: {', '.join(model.model_fields)}"


_MODELS_BY_NAME: dict[str, type[BaseModel]] = {}


def _model_at(title: str, loc: tuple) -> type[BaseModel] | None:
    """Walk from the top model named `title` down `loc` to the nested model class."""
    model = _MODELS_BY_NAME.get(title)
    for part in loc:
        if model is None or part not in model.model_fields:
            return None
        model = _nested_model(model.model_fields[part].annotation)
    return model


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def validate_config(model: type[M], data: Any, source: str) -> M:
    """Validate `data` against `model`, turning pydantic's error into a one-line ConfigError."""
    _MODELS_BY_NAME[model.__name__] = model
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, source)) from None


def load_yaml(path: str | Path) -> Any:
    """Read a YAML file (a path, or an object-store URL: a search's search.yaml on S3), with a one-line
    error naming the file and the line at fault."""
    path = as_path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        return parse_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"malformed YAML in {path}{where}: {problem}") from None


def load_config(model: type[M], path: str | Path | None) -> M:
    """Load `path` (YAML) as `model`; no path gives the documented defaults."""
    if path is None:
        return validate_config(model, {}, "defaults")
    data = load_yaml(path)
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys, not {type(data).__name__}")
    return validate_config(model, data, str(path))


# --- flags generated from model fields -----------------------------------------------------


def add_model_flags(parser: argparse.ArgumentParser, model: type[BaseModel], skip: set[str] = frozenset(),
                    prefix: str = "") -> None:
    """Add one `--field-name` flag per field of `model`, with the field docstring as help.

    A field holding a nested model gets flags named by the dotted path, as in dolma
    (`--optim.warmup-steps`). Flags default to None so that only flags given on the
    command line override the YAML. Values are parsed as YAML scalars or collections
    (`--keep-languages "[en, de]"`).
    """
    group = parser.add_argument_group(f"{model.__name__} (override the YAML config)")
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        if _is_model(field.annotation):
            add_model_flags(parser, field.annotation, prefix=f"{prefix}{name}.")
            continue
        if _nested_model(field.annotation) is not None:
            continue  # a collection of models (e.g. a mapping of sources) is set in the YAML only
        flag = "--" + (prefix + name).replace("_", "-")
        help_text = (field.description or "").replace("%", "%%")
        default = field.get_default(call_default_factory=True)
        help_text += f" [default: {default!r}]"
        dest = prefix + name
        if _is_bool(field.annotation):
            group.add_argument(flag, dest=dest, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        else:
            choices = _literal_choices(field.annotation)
            group.add_argument(flag, dest=dest, default=None, metavar=name.upper(),
                               type=str if choices else _yaml_value, choices=choices, help=help_text)


def flag_overrides(args: argparse.Namespace, model: type[BaseModel], prefix: str = "") -> dict[str, Any]:
    """The model fields that were given as flags, nested like the model (`{"optim": {"lr": 0.1}}`)."""
    given: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if _is_model(field.annotation):
            nested = flag_overrides(args, field.annotation, f"{prefix}{name}.")
            if nested:
                given[name] = nested
        elif getattr(args, prefix + name, None) is not None:
            given[name] = getattr(args, prefix + name)
    return given


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` laid over `base`; nested mappings merge key by key, anything else is replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def with_overrides(config: M, overrides: dict[str, Any], source: str = "command-line flags") -> M:
    """Re-validate `config` with `overrides` applied (flags win over the file)."""
    if not overrides:
        return config
    return validate_config(type(config), deep_merge(config.model_dump(), overrides), source)


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _yaml_value(text: str) -> Any:
    try:
        return parse_yaml(text)
    except yaml.YAMLError:
        return text


def _is_bool(annotation: Any) -> bool:
    return annotation is bool or (typing.get_origin(annotation) in (typing.Union, types.UnionType)
                                  and bool in typing.get_args(annotation))


def _literal_choices(annotation: Any) -> list[str] | None:
    if typing.get_origin(annotation) is Literal:
        return [str(value) for value in typing.get_args(annotation)]
    return None

"""MkDocs hook: the configuration reference, rendered from the config models at build time.

docs/reference.md holds a marker line per group of models (`<!-- config: pipeline -->`); this hook
replaces each with one table per model (field, type, default, the field's docstring), walking nested
models. The field docstrings are the same text `--help` prints (`StrictModel` sets
`use_attribute_docstrings`), so the page cannot drift from the code: `mkdocs build --strict` renders
whatever the models say at that commit. Registered in mkdocs.yml under `hooks:`.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

MARKER = re.compile(r"^<!-- config: (\w+) -->$", re.MULTILINE)


def _groups() -> dict[str, list[tuple[str, type[BaseModel]]]]:
    """Marker name -> (heading, model) in page order; imported here so `mkdocs` alone loads nothing."""
    from dataflow.mix.mixture import Mixture
    from dataflow.pipeline import PipelineConfig
    from trainer.config import TrainConfig
    from trainer.search.searches.hparams import HparamConfig
    from trainer.search.searches.mixture_config import MixtureConfig
    from trainer.search.searches.scaling import ScalingConfig
    from trainer.search.searches.variants import VariantConfig

    return {
        "pipeline": [("pipeline file", PipelineConfig)],
        "mixture": [("mixture file", Mixture)],
        "train": [("run file", TrainConfig)],
        "search": [
            ("search mixture", MixtureConfig),
            ("search scaling", ScalingConfig),
            ("search variants", VariantConfig),
            ("search hparams", HparamConfig),
        ],
    }


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Every config model an annotation names (`X`, `X | None`, `dict[str, X]`, unions of several)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += [model for model in _models_in(arg) if model not in found]
    return found


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return " | ".join(_type_name(arg) for arg in typing.get_args(annotation))
    text = str(annotation).replace("typing.", "")
    return re.sub(r"\b(?:[a-z_]+\.)+([A-Z]\w*)", r"\1", text)  # module paths off class names


def _default(field: Any) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if isinstance(value, BaseModel):
        return "(section)"
    text = repr(value)
    return f"`{text}`" if len(text) <= 60 else f"`{text[:57]}...`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _anchor(model: type[BaseModel]) -> str:
    return f"{model.__module__}.{model.__name__}".replace(".", "-").replace("_", "-").lower()


def _tables(heading: str, model: type[BaseModel], done: set[type[BaseModel]]) -> list[str]:
    """The model's table, then the tables of the models its fields name that no earlier table showed."""
    done.add(model)
    doc = _cell((model.__doc__ or "").split("\n\n")[0])
    lines = [f"### {heading} {{#{_anchor(model)}}}", "", f"`{model.__module__}.{model.__name__}`: {doc}", "",
             "| field | type | default | what |", "|---|---|---|---|"]
    nested: list[tuple[str, type[BaseModel]]] = []
    for name, field in model.model_fields.items():
        what = _cell(field.description or "")
        for sub in _models_in(field.annotation):
            what += f" See [{sub.__name__}](#{_anchor(sub)})."
            if sub not in done and sub not in [pair[1] for pair in nested]:
                nested.append((f"{heading}: {name}" + (f" ({sub.__name__})" if len(_models_in(field.annotation)) > 1
                                                       else ""), sub))
        lines.append(f"| `{name}` | `{_cell(_type_name(field.annotation))}` | {_default(field)} | {what} |")
    lines.append("")
    for sub_heading, sub in nested:
        if sub not in done:
            lines += _tables(sub_heading, sub, done)
    return lines


def _filter_rules() -> list[str]:
    from dataflow.filters import DEFAULT_RULES, RULES

    lines = []
    for name, rule in RULES.items():
        doc = _cell((rule.__doc__ or "").split("\n\n")[0])
        on = "default" if name in DEFAULT_RULES else "optional"
        lines += [f"### `{name}` {{#rule-{name.replace('_', '-')}}}", "",
                  f"`{rule.__module__}.{rule.__name__}` ({on}): {doc}", ""]
        fields = [(field_name, field) for field_name, field in rule.model_fields.items()]
        if fields:
            lines += ["| field | type | default | what |", "|---|---|---|---|"]
            lines += [f"| `{n}` | `{_cell(_type_name(f.annotation))}` | {_default(f)} | {_cell(f.description or '')} |"
                      for n, f in fields]
            lines.append("")
    return lines


def render(group: str, done: set[type[BaseModel]]) -> str:
    if group == "rules":
        return "\n".join(_filter_rules())
    lines: list[str] = []
    for heading, model in _groups()[group]:
        lines += _tables(heading, model, done)
    return "\n".join(lines)


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if page.file.src_uri != "reference.md":
        return markdown
    done: set[type[BaseModel]] = set()
    return MARKER.sub(lambda match: render(match.group(1), done), markdown)

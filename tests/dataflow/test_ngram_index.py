"""The n-gram index: exact agreement with string n-grams, size floor, CJK, common n-grams."""

from __future__ import annotations

import doctest
import gzip
from itertools import islice

import numpy as np
import pytest

import dataflow.decontaminate.ngram_index
from dataflow.decontaminate.benchmarks import BenchmarkItem, load_items, load_registry
from dataflow.decontaminate.matches import find_matches, locate
from dataflow.decontaminate.ngram_index import build_index
from dataflow.text import normalized_units
from bench.common.real_pages import load_pages


@pytest.fixture(scope="module")
def pages(shared_data) -> dict[str, str]:
    return {page["id"]: page["text"] for page in load_pages(shared_data)}


@pytest.fixture(scope="module")
def registry(shared_data):
    return load_registry([], str(shared_data / "benchmarks"))


def test_doctests():
    assert doctest.testmod(dataflow.decontaminate.ngram_index).failed == 0


def reference_hits(text: str, items: dict[str, BenchmarkItem], ngram: int, floor: int) -> set[tuple[int, int, str]]:
    """(first unit, size, item key) by comparing unit tuples: what the hashed index must reproduce."""
    grams: dict[tuple, set[str]] = {}
    for key, item in items.items():
        fields = [normalized_units(text) for text in item.texts]
        joined = [unit for units in fields for unit in units]
        pieces = [joined[i:i + ngram] for i in range(len(joined) - ngram + 1)] if len(joined) >= ngram else [joined]
        pieces += [units for units in fields if floor <= len(units) < ngram]
        for piece in pieces:
            if len(piece) >= floor and sum(not unit.strip("0") for unit in piece) * 2 <= len(piece):
                grams.setdefault(tuple(piece), set()).add(key)
    units = normalized_units(text)
    sizes = {len(gram) for gram in grams}
    return {(start, size, key) for size in sizes for start in range(len(units) - size + 1)
            for key in grams.get(tuple(units[start:start + size]), ())}


def test_lookups_equal_exact_ngram_comparison(registry, pages):
    benchmarks = {name: list(islice(load_items(registry[name]), 40)) for name in ("copa", "triviaqa")}
    index = build_index(benchmarks)
    items = {f"{name}:{item.id}": item for name, some in benchmarks.items() for item in some}
    texts = list(pages.values())[:40]
    planted = [f"{text}\n{item.texts[0]} {' '.join(item.texts[1:])}\n" for text, item in zip(texts,
                                                                                             list(items.values())[::2])]
    for text in [*texts, *planted]:
        hits = find_matches(text, index)
        found = {(start, size, index.catalog.key(item))
                 for start, size, item in zip(hits.starts.tolist(), hits.sizes.tolist(), hits.items.tolist())}
        assert found == reference_hits(text, items, 13, 8)
    assert index.stats["benchmarks"]["triviaqa"] == {"items": 40, "items_skipped": 1}
    assert sum(len(find_matches(text, index)) > 0 for text in planted) == 39  # all but the skipped triviaqa:32


def test_index_is_a_sorted_uint64_array_with_uint32_items(registry):
    index = build_index({"gsm8k": load_items(registry["gsm8k"])})
    assert index.hashes.dtype == np.uint64 and index.items.dtype == np.uint32
    assert (np.diff(index.hashes.astype(np.float64)) >= 0).all() and index.stats["bytes"] == index.nbytes
    assert index.stats["benchmarks"] == {"gsm8k": {"items": 1319, "items_skipped": 0}}
    assert index.stats["entries"] == len(index.hashes) and index.catalog.sizes[-1] == 13


def test_items_below_the_floor_are_skipped_and_counted(pages):
    host = pages["readability/wikipedia-2"]
    three = BenchmarkItem("three", ["the Pacific Ocean"])
    nine = BenchmarkItem("nine", ["islands in the Pacific Ocean that are not included"])
    index = build_index({"tiny": [three, nine]})
    assert index.stats["benchmarks"]["tiny"] == {"items": 2, "items_skipped": 1}
    assert index.catalog.sizes == [9] and index.catalog.item_ids == ["nine"]
    assert host.count("the Pacific Ocean") >= 1
    located = locate(host, find_matches(host, index))
    assert {host[start:end] for start, end in zip(located.starts, located.ends)} == {
        "islands in the Pacific Ocean that are not included"}
    assert not len(find_matches("islands in the Pacific Ocean that are not", index))  # 8 of its 9 words


def test_chinese_and_japanese_items_are_character_ngrams(shared_data, pages):
    with gzip.open(shared_data / "text" / "lingua-testdata" / "sentences" / "zh.txt.gz", "rt") as lines:
        sentence = next(lines).strip()
    index = build_index({"zh": [BenchmarkItem("0", [sentence])]})
    host = pages["chinese-web-content-extraction/05e98007-d810-4036-b154-2ef2fe68c2af"]
    planted = host[:200] + sentence + host[200:]  # no spaces around it, as Chinese is written
    located = locate(planted, find_matches(planted, index))
    assert len(located.hits) == len(normalized_units(sentence)) - 12
    assert (located.starts.min(), located.ends.max()) == (200, 200 + len(sentence.rstrip("。")))
    assert not len(find_matches(host, index))


def test_ngrams_in_too_many_items_or_common_phrases_are_ignored():
    template = "which of the following statements about the economy of the country is true"  # 13 units
    items = [BenchmarkItem(str(n), [f"{template} {word}"]) for n, word in enumerate("abcdefghijk")]
    assert build_index({"quiz": items}, max_items_per_ngram=11).stats["ngrams_too_common"] == 0
    common = build_index({"quiz": items}, max_items_per_ngram=10)
    assert common.stats["ngrams_too_common"] == 1 and not len(find_matches(template, common))
    assert len(find_matches(f"{template} c", common)) == 1  # each item's own second 13-gram stays
    phrased = build_index({"quiz": items[:2]}, common_phrases=[template])
    assert phrased.stats["ngrams_in_common_phrases"] == 1 and not len(find_matches(template, phrased))


def test_ngrams_mostly_of_numbers_are_ignored():
    index = build_index({"math": [BenchmarkItem("0", ["1, 2, 3, 4, 5, 6, 7, 8, 9 and then 10 11 12 13 14 15 16"])]})
    assert index.stats["ngrams_mostly_numbers"] == 6 and index.stats["entries"] == 0  # 18 units: six 13-grams
    assert not len(find_matches("Chapters 2 3 4 5 6 7 8 9 10 and then 11 12 13 14", index))

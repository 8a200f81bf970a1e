"""Word units and normalisation shared by filters, dedup and decontamination."""

from __future__ import annotations

import doctest

import pytest

import dataflow.text
from dataflow.text import (normalize, normalize_batch, normalized_chunks, normalized_unit_spans, normalized_units,
                           unspaced_share, word_units)
from bench.common.real_pages import load_pages


def test_doctests():
    assert doctest.testmod(dataflow.text).failed == 0


def test_chinese_and_japanese_are_split_per_character_latin_per_word():
    assert word_units("我们在北京 meet at 5pm") == ["我", "们", "在", "北", "京", "meet", "at", "5pm"]
    assert word_units("ひらがなカタカナ") == list("ひらがなカタカナ")


def test_korean_and_cyrillic_stay_whole_words():
    assert word_units("한국어 문장 и русские слова") == ["한국어", "문장", "и", "русские", "слова"]


def test_normalisation_folds_case_width_digits_and_punctuation():
    assert normalize("The  QUICK\tbrown—fox, 1999!") == normalize("the quick brown fox 2024")
    assert normalized_units("Ｎｏ．１　東京") == ["no", "0", "東", "京"]


def test_unspaced_share_tells_cjk_from_spaced_text():
    assert unspaced_share("这是一个中文句子，没有空格。") > 0.8
    assert unspaced_share("An English sentence with spaces.") == 0.0


@pytest.mark.slow
def test_unit_spans_agree_with_normalized_units_on_every_real_page(shared_data):
    for text in (page["text"] for page in load_pages(shared_data)):
        units, starts, ends = normalized_unit_spans(text)
        assert units == normalized_units(text)
        assert (starts[1:] >= starts[:-1]).all() and (ends > starts).all()
        # a span holds its unit; "½" is one span for the two units "0 0"
        assert all(unit in normalized_units(text[start:end]) for unit, start, end in zip(units[:100], starts, ends))


@pytest.mark.parametrize("text, pieces", [
    ("Straße ﬁnal…", ["Straße", "ﬁnal"]),                            # folds longer than the original
    ("cafe\u0301 au lait", ["cafe\u0301", "au", "lait"]),             # composes: the whole token
    ("Ｎｏ．１　東京タワー・展望台", ["Ｎｏ", "１", *"東京タワー展望台"]),   # width, CJK per character, "・" dropped
    ("snake_case and İstanbul", ["snake", "case", "and", "İ", "stanbul"]),
])
def test_unit_spans_point_at_the_original_text(text, pieces):
    units, starts, ends = normalized_unit_spans(text)
    assert units == normalized_units(text)
    assert [text[start:end] for start, end in zip(starts, ends)] == pieces


@pytest.mark.slow
def test_batch_normalisation_equals_normalize_on_every_real_page(real_pages):
    texts = [page["text"] for page in real_pages] + ["", None, "!!", "a", "東京", "  x _ y  "]
    batch = normalize_batch(texts)
    assert [batch.text(i) for i in range(len(texts))] == [normalize(text or "") for text in texts]
    assert [batch.units(i) for i in range(len(texts))] == [normalized_units(text or "") for text in texts]


@pytest.mark.slow
def test_batch_normalisation_equals_normalize_for_every_code_point():
    # Every code point alone, inside a word and after a CJK character, a thousand to a text:
    # its class and its effect on unit boundaries must match the regular expressions.
    chars = list(map(chr, range(0x110000)))
    texts = [" ".join(f"{char} a{char}b 東{char}" for char in chars[start:start + 1000])
             for start in range(0, len(chars), 1000)]
    batch = normalize_batch(texts)
    assert [batch.text(i) for i in range(len(texts))] == [normalize(text) for text in texts]
    assert [batch.units(i) for i in range(len(texts))] == [normalized_units(text) for text in texts]


def test_normalized_chunks_cover_every_text_once():
    texts = ["one two", None, "x" * 50, "three", "four five six"]
    chunks = list(normalized_chunks(texts, max_chars=10))
    assert [span for span, _ in chunks] == [slice(0, 2), slice(2, 3), slice(3, 4), slice(4, 5)]
    assert [batch.text(i) for _, batch in chunks for i in range(len(batch.text_offsets) - 1)] == [
        normalize(text or "") for text in texts]

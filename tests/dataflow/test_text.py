"""Word units and normalisation shared by filters, dedup and decontamination."""

from __future__ import annotations

import doctest

import dataflow.text
from dataflow.text import normalize, normalized_units, unspaced_share, word_units


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

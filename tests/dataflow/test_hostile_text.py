"""Regular expressions over document text stay linear on hostile text (no backtracking blow-up)."""

from __future__ import annotations

import pytest

from dataflow.filters.stats import TextStats


@pytest.mark.timeout(60)  # a hang guard, not a timing: before the fix this line took about 20 minutes
def test_a_line_of_200k_dots_counts_as_one_sentence_without_backtracking():
    assert TextStats("." * 200_000 + "x\nOne. Two! Three?").sentences == 1 + 3


@pytest.mark.parametrize(("line", "sentences"), [
    ("Wait... really?! \"Yes.\" Fine", 3),
    ("Version 2.5 is out. See www.example.com now!", 2),
    ("..x ?!) end.", 2),
    ("句子一。句子二！「好？」", 3),
])
def test_sentence_ends_are_counted_as_before(line, sentences):
    assert TextStats(line).sentences == sentences

"""C4 rules (Raffel et al. 2020, "Exploring the Limits of Transfer Learning with a Unified
Text-to-Text Transformer", section 2.2; reference code: TensorFlow Datasets `c4_utils.py`
clean_page, and datatrove's `C4QualityFilter`).

Line rules (`LineRule`) edit the text; the documents that survive carry the edited text, and
stats.json reports the lines and characters each line rule removed:

- keep only lines ending in a terminal punctuation mark (a period, exclamation mark, question
  mark or end quotation mark; not an ellipsis),
- drop lines with fewer than 3 words, lines mentioning "javascript", cookie/terms-of-use
  lines, and lines holding a "word" over 1000 characters (the last two from the reference
  code, not the paper),
- strip Wikipedia-style citation marks ("[1]", "[edit]", "[citation needed]").

Document rules, on the text the line rules left: no "lorem ipsum", no curly bracket (code), at
least 5 sentences. The reference checks "lorem ipsum" and "{" line by line in the middle of its
line loop, so it misses them on lines that a later line rule (javascript, policy) drops; here
they are checked on the final text, which differs only on such lines. The bad-words rule of
the paper is `banned_words` in lists.py (user-supplied list).

Words are `dataflow.text.word_units` (Chinese and Japanese: characters), and the terminal marks
include the CJK full stop, question and exclamation marks and closing quotes, so C4 keeps
Chinese and Japanese prose lines; the reference splits on whitespace and knows only ASCII marks.
For zh and ja, a line without a terminal mark is cut into sentences before the line rules
(`C4TerminalPunct.split_sentences`), and sentences are counted at the same marks. datatrove's
`C4QualityFilter(language=...)` also judges whole lines by default and only counts sentences
with a per-language tokenizer (spaCy's sentencizer; `split_paragraph=False` judges sentences
instead of lines, for every language); FineWeb-2 does not run the C4 rules at all, and turns
trafilatura's table cell marks ("|") into line breaks after filtering.
"""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import Field

from dataflow.filters.rule import Count, LineRule, MaxValue, MinValue
from dataflow.filters.stats import TextStats
from dataflow.text import CJK_SENTENCE_END, count_word_units, longest_token, split_cjk_sentences

_CITATION = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]", re.IGNORECASE)
POLICY_SUBSTRINGS = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies",
                     "use cookies")


class C4LongWordLine(LineRule):
    """Drop lines holding a "word" longer than 1000 characters (base64 blobs, minified code)."""

    name: ClassVar[str] = "c4_long_word_line"

    max_word_chars: int = Field(1000, gt=0)
    """Drop lines with a longer run of non-space characters (CJK characters count as breaks)."""

    def apply(self, line: str) -> str | None:
        return None if len(line) > self.max_word_chars and longest_token(line) > self.max_word_chars else line


class C4Citations(LineRule):
    """Strip Wikipedia citation marks ("[1]", "[edit]", "[citation needed]") from every line."""

    name: ClassVar[str] = "c4_citations"

    def apply(self, line: str) -> str | None:
        return _CITATION.sub("", line).strip() if "[" in line else line


class C4TerminalPunct(LineRule):
    """Keep only lines ending in a terminal punctuation mark, and not in an ellipsis.

    Chinese and Japanese (`split_sentences`): a line that does not end in a mark but holds several
    sentence ends (`dataflow.text.CJK_SENTENCE_END`: 。！？) is first cut into its sentences, each a
    line of its own that the line rules judge; the unterminated tail is dropped. Table-laid-out
    pages come out of the extractor as one long line of cells ("| 正文。…。 |"), which would
    otherwise be dropped whole. A caption with one sentence and a credit ("…讲话。新华社记者 摄")
    is still dropped whole, as C4 intends.
    """

    name: ClassVar[str] = "c4_terminal_punct"
    language_defaults: ClassVar = {"zh": {"split_sentences": 3}, "ja": {"split_sentences": 3}}

    marks: str = ".!?\"'”’“»。｡！？．」』"
    """Characters that end a line worth keeping (C4: . ! ? and end quotes; plus CJK marks)."""
    split_sentences: Count = 0
    """Cut a line not ending in a mark into its sentences (at 。！？) when it holds at least this many
    (0: never; zh and ja: 3)."""

    def apply(self, line: str) -> str | None:
        return line if line[-1] in self.marks and not line.endswith("...") else None

    def split(self, line: str) -> list[str]:
        if not self.split_sentences or self.apply(line) is not None:
            return [line]
        return split_cjk_sentences(line) if len(CJK_SENTENCE_END.findall(line)) >= self.split_sentences else [line]


class C4MinLineWords(LineRule):
    """Drop lines with fewer than 3 words: buttons, menu items, captions."""

    name: ClassVar[str] = "c4_min_line_words"

    min_words: Count = 3
    """Drop lines with fewer word units (Chinese/Japanese: characters)."""

    def apply(self, line: str) -> str | None:
        return line if count_word_units(line, self.min_words) >= self.min_words else None


class C4JavascriptLine(LineRule):
    """Drop lines mentioning JavaScript ("please enable JavaScript")."""

    name: ClassVar[str] = "c4_javascript_line"

    def apply(self, line: str) -> str | None:
        return None if "javascript" in line.lower() else line


class C4PolicyLine(LineRule):
    """Drop cookie-banner and terms-of-use lines (the reference code's policy substrings)."""

    name: ClassVar[str] = "c4_policy_line"

    substrings: tuple[str, ...] = POLICY_SUBSTRINGS
    """Lower-case phrases whose presence drops a line."""

    def apply(self, line: str) -> str | None:
        lower = line.lower()
        return None if any(phrase in lower for phrase in self.substrings) else line


class C4LoremIpsum(MaxValue):
    """Reject placeholder pages: any "lorem ipsum"."""

    name: ClassVar[str] = "c4_lorem_ipsum"
    threshold: ClassVar[str] = "max_count"

    max_count: Count = 0
    """Reject documents with more occurrences of "lorem ipsum" (case-insensitive)."""

    def measure(self, doc: TextStats) -> float:
        return doc.text.lower().count("lorem ipsum")


class C4CurlyBracket(MaxValue):
    """Reject pages with a curly bracket: C4's guard against code and templates."""

    name: ClassVar[str] = "c4_curly_bracket"
    threshold: ClassVar[str] = "max_count"

    max_count: Count = 0
    """Reject documents with more "{" than this."""

    def measure(self, doc: TextStats) -> float:
        return doc.text.count("{")


class C4MinSentences(MinValue):
    """Reject pages with fewer than 5 sentences (counted after the line rules)."""

    name: ClassVar[str] = "c4_min_sentences"
    threshold: ClassVar[str] = "min_sentences"

    min_sentences: Count = 5
    """Reject documents with fewer sentences (at least one per line; . ! ? or CJK 。！？ end one)."""

    def measure(self, doc: TextStats) -> float:
        return doc.sentences


RULES = (C4LongWordLine, C4Citations, C4TerminalPunct, C4MinLineWords, C4JavascriptLine, C4PolicyLine,
         C4LoremIpsum, C4CurlyBracket, C4MinSentences)

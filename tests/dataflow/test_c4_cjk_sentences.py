"""C4's line rules on Chinese and Japanese laid out in tables: an article that the extractor gives
as one long line without a terminal mark ("| 正文。…。 |") is cut into its sentences and kept, while
degenerate and boilerplate pages, and short unterminated lines (captions, menus), stay rejected."""

from __future__ import annotations

import pytest

from bench.cjk_thresholds import as_table_line, clean_pages, junk_pages
from dataflow.filters.apply import evaluate
from dataflow.filters.config import FilterConfig, RuleSet
from dataflow.samples import prose
from dataflow.text import split_cjk_sentences

UNSPLIT = FilterConfig(languages={language: {"c4_terminal_punct": {"split_sentences": 0}} for language in ("zh", "ja")})


def verdict(text: str, language: str, config: FilterConfig | None = None):
    return evaluate(text, RuleSet(config or FilterConfig()).steps(language), language)


@pytest.mark.parametrize("language", ["zh", "ja"])
def test_a_table_line_of_the_project_prose_keeps_every_sentence(language):
    for topic in prose.topics(language):
        text = as_table_line("\n".join(topic.sentences))
        assert verdict(text, language, UNSPLIT).rejections[0].rule == "c4_min_sentences"  # dropped whole before
        kept = verdict(text, language)
        assert kept.rejections == []
        assert kept.text.splitlines() == [f"| {topic.sentences[0]}", *topic.sentences[1:]]
        assert kept.values["c4_min_sentences"] == len(topic.sentences)
        assert kept.values["c4_terminal_punct"] == 1  # the closing cell mark " |"


def test_sentences_are_cut_and_counted_at_the_same_marks():
    line = "第一句。第二句！“第三句？”第四句｡ 来源：新华社"
    assert split_cjk_sentences(line) == ["第一句。", "第二句！", "“第三句？”", "第四句｡", "来源：新华社"]
    config = FilterConfig(rules=["c4_terminal_punct", "c4_min_sentences"],
                          thresholds={"c4_min_sentences": {"min_sentences": 4}})
    kept = verdict(line, "zh", config)
    assert kept.text.splitlines() == ["第一句。", "第二句！", "“第三句？”", "第四句｡"]
    assert kept.values["c4_min_sentences"] == 4


@pytest.mark.parametrize(("line", "language"), [
    ("11月30日上午，习近平在上海主持召开座谈会并发表重要讲话。新华社记者 谢环驰 摄", "zh"),  # a caption: one sentence
    ("首页。新闻。体育 | 财经 | 科技", "zh"),  # two marks are not a paragraph
    ("It rained. Then it stopped. We went out. Home | News | Sport", "en"),  # spaced languages: C4 as written
])
def test_short_or_spaced_unterminated_lines_are_still_dropped_whole(line, language):
    config = FilterConfig(rules=["c4_terminal_punct"])
    assert verdict(line, language, config).text == ""


def test_the_cut_is_a_per_language_setting_on_for_chinese_and_japanese():
    config = FilterConfig()
    assert config.languages["zh"]["c4_terminal_punct"] == {"split_sentences": 3}
    assert config.languages["ja"]["c4_terminal_punct"] == {"split_sentences": 3}
    line = as_table_line("今天早上下雨了。我们在家里看书。下午天气变好了。晚上去公园散步。")
    only_c4 = {"rules": ["c4_terminal_punct"]}
    assert verdict(line, "zh", FilterConfig(**only_c4)).text.count("\n") == 3
    assert verdict(line, "ko", FilterConfig(**only_c4)).text == ""
    off = FilterConfig(**only_c4, languages={"zh": {"c4_terminal_punct": {"split_sentences": 0}}})
    assert verdict(line, "zh", off).text == ""


def test_long_clean_articles_laid_out_as_one_table_line_are_kept(shared_data):
    """The long clean zh/ja articles of ../shared/data (bench.cjk_thresholds), each laid out as the
    extractor gives a table-laid-out page: at least 80% kept (none before), as many as in their own layout."""
    pages = clean_pages(shared_data)
    assert len(pages) >= 40

    def kept(config, layout):
        return sum(not verdict(layout(page["text"]), page["language"], config).rejections for page in pages)

    in_lines, in_table = kept(None, str), kept(None, as_table_line)
    assert in_table >= 0.8 * len(pages)
    assert in_table >= in_lines - 1
    assert kept(UNSPLIT, as_table_line) <= 0.1 * len(pages)


def test_every_degenerate_and_boilerplate_sample_is_still_rejected():
    """Every degenerate and boilerplate page of the sample crawl, as extracted and laid out as one
    table line (the zh/ja ones, where the cut applies), is rejected."""
    junk = [page for page in junk_pages(2000) if page["id"].startswith(("degenerate", "boilerplate"))]
    assert len(junk) >= 150 and sum(page["language"] in ("zh", "ja") for page in junk) >= 10
    for page in junk:
        layouts = [page["text"]] + ([as_table_line(page["text"])] if page["language"] in ("zh", "ja") else [])
        for text in layouts:
            assert verdict(text, page["language"]).rejections, page["id"]

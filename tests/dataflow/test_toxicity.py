"""Toxicity (dataflow/filters/toxicity.py, screens.py): one row per scorer, clean text passing, and the
filter batch's contract (score column, threshold, rejected rows with reason `toxic`)."""

from __future__ import annotations

import gzip

import fasttext
import pyarrow as pa
import pytest

from dataflow.filters.apply import filter_batch
from dataflow.filters.config import FilterConfig, RuleSet
from dataflow.filters.toxicity import (ENGLISH_MODEL, FASTTEXT, WORDS, ToxicityConfig, score_documents,
                                       toxic_value)
from dataflow.schema import doc_schema

ABUSE = "Shut up, you stupid bitch. Fuck you and your asshole friends, you worthless piece of shit."


@pytest.fixture(scope="module")
def word_list(shared_data):
    return str(shared_data / "text" / "lists" / "naughty_words_en.txt")


@pytest.fixture(scope="module")
def clean_articles(shared_data) -> list[str]:
    """WikiText-2 test articles: encyclopedic English, some about sex, drugs and violence."""
    text = gzip.open(shared_data / "text" / "wikitext-2" / "test.txt.gz", "rt", encoding="utf-8").read()
    articles, current = [], []
    for line in text.splitlines():
        if line.startswith(" = ") and not line.startswith(" = = ") and current:
            articles.append("\n".join(current))
            current = []
        current.append(line)
    return [article for article in articles if len(article) > 2000]


@pytest.fixture(scope="module")
def fasttext_model(tmp_path_factory, clean_articles) -> str:
    """A small fastText model in dolma's Jigsaw label format, trained here on clean lines vs abusive ones."""
    folder = tmp_path_factory.mktemp("toxicity")
    clean = [line.strip() for article in clean_articles for line in article.splitlines() if len(line) > 80][:300]
    lines = [f"__label__non-toxic {line}" for line in clean] + [f"__label__toxic {ABUSE}"] * 50
    (folder / "train.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    model = fasttext.train_supervised(input=str(folder / "train.txt"), dim=16, epoch=10, bucket=20_000, minCount=1,
                                      verbose=0, seed=1, thread=1)
    model.save_model(str(folder / "toxic.bin"))
    return str(folder / "toxic.bin")


def config_for(scorer: str, word_list: str, fasttext_model: str) -> ToxicityConfig:
    return {WORDS: ToxicityConfig(word_lists={"en": word_list}), ENGLISH_MODEL: ToxicityConfig(english_model=True),
            FASTTEXT: ToxicityConfig(fasttext_model=fasttext_model)}[scorer]


@pytest.mark.parametrize("scorer", [WORDS, ENGLISH_MODEL, FASTTEXT])
def test_each_scorer_flags_an_abusive_passage_in_a_clean_article(scorer, word_list, fasttext_model, clean_articles):
    config = config_for(scorer, word_list, fasttext_model)
    article = clean_articles[0]
    planted = article[:len(article) // 2] + "\n" + ABUSE + " " + ABUSE + "\n" + article[len(article) // 2:]
    if scorer == FASTTEXT:  # a document-level model judges the whole text: the abuse alone
        planted = ABUSE
    scores = score_documents([planted], ["en"], config)[0]
    assert toxic_value(scores, config) == scores[scorer]


@pytest.mark.parametrize("scorer", [WORDS, ENGLISH_MODEL, FASTTEXT])
def test_each_scorer_passes_clean_articles(scorer, word_list, fasttext_model, clean_articles):
    config = config_for(scorer, word_list, fasttext_model)
    scores = score_documents(clean_articles, ["en"] * len(clean_articles), config)
    assert [toxic_value(score, config) for score in scores] == [None] * len(clean_articles)


def test_one_listed_word_in_a_medical_sentence_is_not_toxic(word_list):
    text = ("The anal canal is the last part of the large intestine. Patients with fissures of the anus report "
            "pain during bowel movements; treatment starts with fibre, fluids and warm baths. ") * 3
    config = ToxicityConfig(word_lists={"en": word_list})
    score = score_documents([text], ["en"], config)[0]
    assert 0 < score[WORDS] < config.max_word_frac


def test_unknown_word_list_is_a_config_error(tmp_path):
    with pytest.raises(ValueError, match=r"word list .*missing.txt for language 'en' does not exist"):
        ToxicityConfig(word_lists={"en": str(tmp_path / "missing.txt")})


def test_filter_batch_rejects_toxic_rows_and_fills_the_score_column(word_list, clean_articles):
    rows = [{"id": "clean", "text": clean_articles[1], "language": "en"},
            {"id": "abusive", "text": clean_articles[2] + "\n" + ABUSE * 4, "language": "en"}]
    batch = pa.Table.from_pylist(rows, schema=doc_schema()).to_batches()[0]
    config = FilterConfig(rules=["gopher_word_count"], toxicity={"word_lists": {"en": word_list}})
    out = filter_batch(batch, RuleSet(config)).to_pylist()
    assert [row["reject_reason"] for row in out] == [None, "toxic"]
    clean, abusive = (row["toxicity_score"] for row in out)
    assert clean < 1 < abusive  # the score is divided by the threshold
    assert dict(out[1]["filter_values"])[WORDS] == pytest.approx(float(out[1]["reject_value"]), rel=1e-5)


MEETING = """The committee met on Tuesday to discuss the new budget for the coming year and the plans of the city.
Members of the public asked many questions about the roads, the schools and the parks of the town.
The mayor said that the city would spend more money on the schools and that the roads would be fixed.
Some people were not happy with the answers, and they said so loudly at the end of the long meeting.
The next meeting will be held in March, and everyone is welcome to attend it and to ask questions.
For details write to jane.doe@example.org before the end of the month.
"""


def test_explain_shows_each_scorer_and_the_personal_data_found(word_list, tmp_path, capsys):
    import cli

    page = tmp_path / "page.txt"
    page.write_text(MEETING, encoding="utf-8")
    config = tmp_path / "pipeline.yaml"
    config.write_text(f"filter:\n  toxicity:\n    word_lists: {{en: {word_list}}}\n", encoding="utf-8")
    assert cli.main(["inspect", "explain", str(page), "--language", "en", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "toxicity.words" in out and "max=0.1" in out
    assert "email=1" in out and "action=mask" in out and "verdict: kept" in out

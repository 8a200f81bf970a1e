"""The fastText quality classifier: trained on real text, evaluated on its held-out split, card,
one text normalisation, and model files that are refused with one clear message."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest

from classifiers.quality import (POSITIVE_LABEL, card_path, check_model_file, load_quality_model, model_text,
                                 score_texts)
from classifiers.sources import read_texts
from classifiers.train import TrainConfig, train_quality_classifier
from dataflow.errors import InputError


def test_classifier_separates_wikipedia_from_boilerplate_on_held_out_text(quality_model):
    card = json.loads(open(card_path(str(quality_model))).read())
    heldout = card["metrics"]["heldout"]
    assert heldout["positives"] > 30 and heldout["negatives"] > 30
    # Ranking is what selection by top fraction uses; with DCLM's 5 epochs on ~900 documents the
    # probabilities stay near 0.5, so the F1 at 0.5 (in the card) is not the measure here.
    assert heldout["auc"] >= 0.97
    assert set(heldout) == {"threshold", "precision", "recall", "f1", "auc", "positives", "negatives"}


def test_card_records_sources_sizes_hyperparameters_and_the_model_hash(quality_model, shared_data):
    card = json.loads(open(card_path(str(quality_model))).read())
    wikitext = shared_data / "text" / "wikitext-2" / "valid.txt.gz"
    assert card["sources"]["positive"] == [{"path": str(wikitext), "bytes": wikitext.stat().st_size,
                                            "sha256": hashlib.sha256(wikitext.read_bytes()).hexdigest()}]
    assert card["model"]["sha256"] == hashlib.sha256(quality_model.read_bytes()).hexdigest()
    assert card["examples"]["train"]["positive"] + card["examples"]["heldout"]["positive"] == 500
    assert {key: card["hyperparameters"][key] for key in ("word_ngrams", "dim", "lr", "epoch")} == {
        "word_ngrams": 2, "dim": 100, "lr": 0.1, "epoch": 5}  # DCLM's defaults
    assert card["labels"] == {"positive": POSITIVE_LABEL, "negative": "__label__cc"}


def test_scores_are_probabilities_of_the_positive_label_and_text_is_normalised_once(quality_model):
    model = load_quality_model(str(quality_model))
    wiki = ("The cathedral was completed in 1345 after nearly a century of construction , "
            "and its west front became a model for later Gothic churches in the region .")
    forum = "Reply #3 on: May 12 2021 Quote\nLogged\nRe: help pls\nPosts: 45"
    scores = score_texts(model, [wiki, forum, "", None])
    assert scores.dtype == np.float32 and 1 >= scores[0] > scores[1] > 0 and list(scores[2:]) == [0, 0]
    assert model_text("Line one,\nLINE two: 42!") == "line one line two 00"  # no newline reaches fastText
    assert model_text("中文句子") == "中 文 句 子"


def test_training_reads_parquet_jsonl_and_text_sources(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"content": ["a parquet document", None, ""]}), tmp_path / "docs.parquet")
    (tmp_path / "docs.jsonl").write_text(json.dumps({"text": "a json document"}) + "\n\n")
    (tmp_path / "docs.txt").write_text("first line document\n\nsecond line document\n")
    assert list(read_texts(str(tmp_path / "docs.parquet"), "content")) == ["a parquet document"]
    assert list(read_texts(str(tmp_path / "docs.jsonl"))) == ["a json document"]
    assert list(read_texts(str(tmp_path / "docs.txt"))) == ["first line document", "second line document"]
    with pytest.raises(InputError, match="has no column 'text' .*columns: content.*--text-column"):
        list(read_texts(str(tmp_path / "docs.parquet")))
    with pytest.raises(InputError, match="training needs documents of both classes"):
        train_quality_classifier([str(tmp_path / "docs.txt")], [str(tmp_path / "docs.jsonl")], str(tmp_path / "m.bin"),
                                 TrainConfig(bucket=1000, holdout_frac=0.99))  # everything held out


def test_missing_truncated_and_foreign_models_are_refused_with_one_line(quality_model, tmp_path):
    with pytest.raises(InputError, match="does not exist: train one with `dataflow classifiers train`"):
        check_model_file(str(tmp_path / "nope.bin"))
    truncated = tmp_path / "quality.bin"
    truncated.write_bytes(quality_model.read_bytes()[:100_000])
    shutil.copy(card_path(str(quality_model)), card_path(str(truncated)))
    with pytest.raises(InputError, match="does not match its card"):
        check_model_file(str(truncated))
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"not a model" * 100)
    with pytest.raises(InputError, match="is not a fastText model"):
        check_model_file(str(garbage))

"""The fastText quality classifier at scoring time: text normalisation, model loading, scoring.

Labels follow DCLM's released classifier (Li et al. 2024, "DataComp-LM", section 4.4):
`__label__hq` for the positive ("high quality") set and `__label__cc` for the negative (web)
set, so a DCLM model file scores here too. `quality_score` is the model's probability of
`__label__hq`.

`model_text` is the one normalisation used both to write the training file and to score:
`dataflow.text.normalized_units` (NFKC, case folded, digits to 0, punctuation dropped,
Chinese/Japanese split per character) joined by spaces, which also removes the newlines that
fastText's `predict` refuses.

A model is checked on the driver before any task starts (`load_quality_model`): it must exist,
load as fastText, have the `__label__hq` label and, when its card (`<model>.card.json`, written
by training) is present, match the card's size and sha256: fastText itself loads a truncated
file without complaint.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from functools import lru_cache

import numpy as np
import pyarrow as pa

from dataflow.errors import InputError
from dataflow.text import normalized_units

POSITIVE_LABEL = "__label__hq"
NEGATIVE_LABEL = "__label__cc"
QUALITY_SCORE = "quality_score"
QUALITY_SCORE_FIELD = pa.field(QUALITY_SCORE, pa.float32())


def model_text(text: str | None) -> str:
    """The text fastText sees, at training and at scoring time."""
    return " ".join(normalized_units(text or ""))


def card_path(model_path: str) -> str:
    """Where a model's JSON card lives: next to it, `quality.bin` -> `quality.card.json`."""
    root, _ = os.path.splitext(model_path)
    return root + ".card.json"


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_model_file(path: str) -> None:
    """Raise InputError (one line) unless `path` is a usable quality model; run on the driver."""
    if not os.path.isfile(path):
        raise InputError(f"quality model {path} does not exist: train one with `dataflow classifiers train` or fix "
                         "--model")
    card = card_path(path)
    if os.path.isfile(card):
        expected = json.loads(open(card, encoding="utf-8").read())["model"]
        if os.path.getsize(path) != expected["bytes"] or file_sha256(path) != expected["sha256"]:
            raise InputError(f"quality model {path} does not match its card {card} (size or sha256 differ): "
                             "the file is truncated or replaced; copy it again or retrain")
    labels = load_quality_model(path).labels
    if POSITIVE_LABEL not in labels:
        raise InputError(f"{path} is not a quality classifier: its labels are {labels}, expected {POSITIVE_LABEL}")


@lru_cache(maxsize=2)
def load_quality_model(path: str):
    """The fastText model at `path`, loaded once per process (Python worker)."""
    import fasttext

    try:
        return fasttext.load_model(path)
    except ValueError as err:
        raise InputError(f"{path} is not a fastText model ({err}): pass the .bin written by `dataflow classifiers "
                         "train`") from None


def score_texts(model, texts: list[str | None]) -> np.ndarray:
    """P(positive) per raw text, shape (len(texts),), float32; 0 for empty text."""
    return score_lines(model, [model_text(text) for text in texts])


def score_lines(model, lines: list[str]) -> np.ndarray:
    """P(positive) per text already in `model_text` form (as training and held-out files hold it)."""
    scores = np.zeros(len(lines), dtype=np.float32)
    present = [i for i, line in enumerate(lines) if line]
    if present:
        labels, probs = model.predict([lines[i] for i in present], k=-1)
        for i, row_labels, row_probs in zip(present, labels, probs):
            scores[i] = dict(zip(row_labels, row_probs)).get(POSITIVE_LABEL, 0.0)
    return np.minimum(scores, 1.0)  # fastText's softmax can round to 1.00001


def score_batches(batches: Iterable[pa.RecordBatch], model_path: str) -> Iterator[pa.RecordBatch]:
    """mapInArrow body: document batches in, the same rows with `quality_score` appended."""
    model = load_quality_model(model_path)
    for batch in batches:
        scores = pa.array(score_texts(model, batch.column("text").to_pylist()), pa.float32())
        yield pa.RecordBatch.from_arrays([*batch.columns, scores], schema=batch.schema.append(QUALITY_SCORE_FIELD))

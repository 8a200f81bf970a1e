"""Train the fastText quality classifier from a positive and a negative set, with a held-out split.

    dataflow classifiers train --positive wiki.parquet --negative out/docs --output models/quality.bin

Defaults follow DCLM's classifier (Li et al. 2024, "DataComp-LM", section 4.4 and appendix:
fastText supervised, word bigrams, dim 100, lr 0.1, 5 epochs; fastText's own defaults for the
rest, including 2,000,000 hash buckets, which makes an ~800 MB model: pass a smaller
`--bucket` for small training sets). Labels are DCLM's `__label__hq` / `__label__cc`.

Each document goes to the held-out split by a hash of its normalised text and the seed, so
the split is reproducible and exact duplicates never straddle it. Training lines are shuffled
in memory (fastText reads its file in order, and label-sorted input ruins SGD), so the
training set must fit in memory as text. Training runs on `threads` threads; fastText is
only deterministic on one. The model is written with a JSON card (`<model>.card.json`):
sources with sizes and sha256, example counts, hyper-parameters, held-out precision, recall,
F1 and AUC.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator

import numpy as np
import xxhash
from pydantic import Field

import dataflow
from classifiers.metrics import binary_metrics
from classifiers.quality import NEGATIVE_LABEL, POSITIVE_LABEL, card_path, file_sha256, model_text, score_lines
from classifiers.sources import describe_source, read_texts
from dataflow.config import StrictModel, add_model_flags, flag_overrides, with_overrides
from dataflow.errors import InputError


class TrainConfig(StrictModel):
    """Quality classifier training: data handling and fastText hyper-parameters (DCLM defaults)."""

    text_column: str = "text"
    """Column (Parquet) or field (JSONL) holding the text; text files hold one document per line."""
    holdout_frac: float = Field(0.1, ge=0, lt=1)
    """Share of documents held out for precision/recall/F1/AUC."""
    max_docs_per_class: int | None = Field(None, gt=0)
    """Read at most this many documents per class (the first ones), e.g. to balance the classes."""
    word_ngrams: int = Field(2, gt=0)
    """Word n-gram features (DCLM: bigrams)."""
    dim: int = Field(100, gt=0)
    """Embedding dimension (DCLM: 100)."""
    lr: float = Field(0.1, gt=0)
    """Learning rate (DCLM: 0.1)."""
    epoch: int = Field(5, gt=0)
    """Passes over the training data (DCLM: 5)."""
    min_count: int = Field(1, gt=0)
    """Ignore words seen fewer times (fastText default)."""
    bucket: int = Field(2_000_000, gt=0)
    """Hash buckets for n-grams (fastText default 2M, ~800 MB at dim 100); smaller for small sets."""
    threads: int = Field(1, gt=0)
    """Training threads; fastText (Hogwild SGD) is reproducible only with one."""
    seed: int = 0
    """Seed of the held-out split, the shuffle and fastText."""


def train_quality_classifier(positive: list[str], negative: list[str], output: str, config: TrainConfig) -> dict:
    """Train, evaluate on the held-out split, save the model and its card; return the card."""
    import fasttext

    started = time.time()
    with tempfile.TemporaryDirectory(prefix="quality-train-") as tmp:
        train_file, heldout_file = os.path.join(tmp, "train.txt"), os.path.join(tmp, "heldout.txt")
        counts = _write_splits(positive, negative, config, train_file, heldout_file)
        if not counts["train"]["positive"] or not counts["train"]["negative"]:
            raise InputError(f"training needs documents of both classes; got {counts['train']} (check the sources and "
                             "--text-column)")
        model = fasttext.train_supervised(input=train_file, wordNgrams=config.word_ngrams, dim=config.dim, lr=config.lr,
                                          epoch=config.epoch, minCount=config.min_count, bucket=config.bucket,
                                          thread=config.threads, seed=config.seed, loss="softmax", verbose=0)
        metrics = _evaluate(model, heldout_file)
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    model.save_model(output)
    card = {
        "model": {"path": os.path.abspath(output), "bytes": os.path.getsize(output), "sha256": file_sha256(output)},
        "kind": "fastText supervised quality classifier",
        "labels": {"positive": POSITIVE_LABEL, "negative": NEGATIVE_LABEL},
        "score": f"quality_score = P({POSITIVE_LABEL})",
        "text_normalisation": "classifiers.quality.model_text: dataflow.text.normalized_units joined by spaces",
        "defaults": "DCLM fastText classifier: word bigrams, dim 100, lr 0.1, 5 epochs",
        "hyperparameters": config.model_dump(),
        "sources": {"positive": [describe_source(path) for path in positive],
                    "negative": [describe_source(path) for path in negative]},
        "examples": counts,
        "metrics": {"heldout": metrics},
        "dataflow_version": dataflow.__version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(time.time() - started, 3),
    }
    with open(card_path(output), "w", encoding="utf-8") as handle:
        json.dump(card, handle, indent=2, ensure_ascii=False)
    return card


def _write_splits(positive: list[str], negative: list[str], config: TrainConfig, train_file: str,
                  heldout_file: str) -> dict:
    """Write the shuffled training file and the held-out file; return the example counts."""
    counts = {split: {"positive": 0, "negative": 0} for split in ("train", "heldout")}
    train_lines = []
    with open(heldout_file, "w", encoding="utf-8") as heldout:
        for kind, label, paths in (("positive", POSITIVE_LABEL, positive), ("negative", NEGATIVE_LABEL, negative)):
            for text in _texts(paths, config):
                line = f"{label} {text}\n"
                if _is_heldout(text, config):
                    heldout.write(line)
                    counts["heldout"][kind] += 1
                else:
                    train_lines.append(line)
                    counts["train"][kind] += 1
    np.random.default_rng(config.seed).shuffle(train_lines)
    with open(train_file, "w", encoding="utf-8") as train:
        train.writelines(train_lines)
    return counts


def _texts(paths: list[str], config: TrainConfig) -> Iterator[str]:
    """Normalised non-empty texts of one class, at most max_docs_per_class."""
    count = 0
    for path in paths:
        for text in read_texts(path, config.text_column):
            normalised = model_text(text)
            if normalised:
                yield normalised
                count += 1
                if count == config.max_docs_per_class:
                    return


def _is_heldout(text: str, config: TrainConfig) -> bool:
    return xxhash.xxh64_intdigest(text.encode("utf-8"), seed=config.seed) < config.holdout_frac * 2**64


def _evaluate(model, heldout_file: str) -> dict | None:
    with open(heldout_file, encoding="utf-8") as handle:
        examples = [line.rstrip("\n").split(" ", 1) for line in handle]
    if not examples:
        return None
    labels = np.array([label == POSITIVE_LABEL for label, _ in examples])
    return binary_metrics(labels, score_lines(model, [text for _, text in examples]))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dataflow classifiers train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--positive", action="append", required=True,
                        help="high-quality documents: Parquet file/folder, JSONL or text file; repeatable")
    parser.add_argument("--negative", action="append", required=True,
                        help="documents to score low (e.g. raw web documents); same formats; repeatable")
    parser.add_argument("--output", required=True, help="model file to write, e.g. models/quality.bin")
    add_model_flags(parser, TrainConfig)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = with_overrides(TrainConfig(), flag_overrides(args, TrainConfig))
    card = train_quality_classifier(args.positive, args.negative, args.output, config)
    print(f"trained on {card['examples']['train']}, held out {card['examples']['heldout']}")
    print(f"held-out metrics: {json.dumps(card['metrics']['heldout'])}")
    print(f"model: {args.output} ({card['model']['bytes']:,} bytes); card: {card_path(args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

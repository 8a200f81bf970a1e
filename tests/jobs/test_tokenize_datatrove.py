"""`tokenize --datatrove`: every shard also as datatrove's `.ds` files, read back by datatrove's own
`DatatroveFileDataset` in a Python that has datatrove and torch (DATATROVE_PYTHON: datatrove's reader
needs torch, which this project's runtime does not), every document equal to our shards'."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest

from dataflow.shards import TokenizerInfo, open_split, split_path, write_token_dataset
from dataflow.tokenize.datatrove_docs import DATATROVE_DIR, write_datatrove
from jobs import tokenize_docs
from tests.byte_level_bpe import byte_level_bpe
from tests.document_files import write_jsonl
from tests.sample_documents import sample_documents
from tests.stage_outputs import stats_of

# Run by DATATROVE_PYTHON: each .ds file read as one window of all its tokens, cut into documents where
# the positions (which datatrove computes from the .ds.index file) restart at 0; the token size from the
# .ds.metadata file, as datatrove's merger reads it. Prints {path relative to the folder: [[ids], ...]}.
READ_BACK = """
import json, sys
from pathlib import Path
from datatrove.utils.dataset import DatatroveFileDataset, DatatroveFolderDataset
root, documents = Path(sys.argv[1]), {}
for path in sorted(root.rglob("*.ds")):
    head, num_tokens = Path(f"{path}.metadata").read_text().splitlines()[:2]
    token_size = int(head.rsplit("|", 1)[1])
    window = DatatroveFileDataset(str(path), seq_len=int(num_tokens) - 1, token_size=token_size,
                                  return_positions=True)
    assert len(window) == 1, path
    ids, positions = window[0]["input_ids"].tolist(), window[0]["positions"].tolist()
    starts = [i for i, position in enumerate(positions) if position == 0] + [len(ids)]
    documents[str(path.relative_to(root))] = [ids[a:b] for a, b in zip(starts, starts[1:])]
for folder in sorted({path.parent for path in root.rglob("*.ds")}):
    found = DatatroveFolderDataset(str(folder), seq_len=1, token_size=token_size).files
    assert len(found) == len(list(folder.glob("*.ds"))), folder
print(json.dumps(documents))
"""


@pytest.fixture(scope="module")
def datatrove_python():
    python = os.environ.get("DATATROVE_PYTHON")
    if not python:
        pytest.skip("DATATROVE_PYTHON is not set: point it at a Python with datatrove and torch installed")
    return python


def read_with_datatrove(python: str, folder) -> dict[str, list[list[int]]]:
    done = subprocess.run([python, "-c", READ_BACK, str(folder)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def our_documents(root, split: str) -> dict[str, list[list[int]]]:
    dataset = open_split(root, split)
    return {f"{split}/{entry.file.removesuffix('.bin')}.ds": [dataset.document(shard, i).tolist()
                                                           for i in range(entry.num_documents)]
            for shard, entry in enumerate(dataset.manifest.shards)}


def test_every_document_reads_back_through_datatrove(spark, datatrove_python, tmp_path):
    pages = sample_documents(40, seed=40)  # seven languages, so the BPE meets several scripts
    source = write_jsonl(tmp_path / "docs.jsonl", [{"text": page["text"]} for page in pages])
    byte_level_bpe([page["text"] for page in pages], 600).save(str(tmp_path / "tokenizer.json"))
    out = tmp_path / "tokens"
    assert tokenize_docs.main(["--input", str(source), "--tokenizer", str(tmp_path / "tokenizer.json"),
                               "--num-shards", "3", "--validation-frac", "0.2", "--datatrove",
                               "--output", str(out)]) == 0
    stats = stats_of(out)
    assert stats["datatrove_documents"] == {split: stats["splits"][split]["documents"] for split in stats["splits"]}
    assert sum(stats["datatrove_documents"].values()) == len(pages)
    read = read_with_datatrove(datatrove_python, out / DATATROVE_DIR)
    assert read == {**our_documents(out, "train"), **our_documents(out, "validation")}
    metadata = (out / DATATROVE_DIR / "train" / "00000.ds.metadata").read_text().splitlines()
    assert metadata[0].endswith("|2") and int(metadata[1]) == open_split(out, "train").manifest.shards[0].num_tokens


def test_a_uint32_vocabulary_is_read_with_token_size_4(datatrove_python, tmp_path):
    rng = np.random.default_rng(0)
    docs = [(np.append(rng.integers(0, 70_000, size=n), 69_999), 10) for n in (5, 0, 30)]
    (tmp_path / "tokenizer.json").write_text("{}")
    write_token_dataset(split_path(tmp_path, "train"), docs, source="big", split="train", vocab_size=70_000,
                        eos_id=69_999, tokenizer=TokenizerInfo.from_file(tmp_path / "tokenizer.json"))
    shards = {"train": open_split(tmp_path, "train").manifest.shards}
    assert write_datatrove(tmp_path, shards, tokenizer_name="big", vocab_size=70_000) == {"train": 3}
    assert (tmp_path / DATATROVE_DIR / "train" / "00000.ds.metadata").read_text().startswith("big|4\n")
    assert read_with_datatrove(datatrove_python, tmp_path / DATATROVE_DIR) == our_documents(tmp_path, "train")

"""Per-document Megatron-LM indexed datasets beside a token source's shards (`tokenize --megatron`).

`mix` exports fixed-length sequences (dataflow/mix/megatron.py); this writes the documents themselves, so
Megatron-LM and NeMo build their own samples from them: shard `<split>/NNNNN` becomes
`megatron/<split>/NNNNN.bin` + `.idx`, one sequence (and one document) per document, its EOS included,
in the shard's order. The `.bin` is the shard's own bytes when the ids are uint16 (a hard link where the
filesystem allows, else a copy); a uint32 shard is rewritten as int32, Megatron having no uint32 code,
in blocks of BLOCK_TOKENS so a task's memory stays bounded. The `.idx` comes from the shard's document
ends (8 bytes a document). Megatron reads a prefix per shard: `--data-path 1 megatron/train/00000 1 …`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

from dataflow.mix.megatron import index_bytes, megatron_dtype
from dataflow.shards import INDEX_DTYPE, token_dtype

MEGATRON_DIR = "megatron"
BLOCK_TOKENS = 1 << 22
SHARD_SCHEMA = pa.schema([pa.field("split", pa.string()), pa.field("file", pa.string()),
                          pa.field("index_file", pa.string())])
WRITTEN_SCHEMA = pa.schema([pa.field("split", pa.string()), pa.field("file", pa.string()),
                            pa.field("documents", pa.int64())])


def write_megatron_shard(directory: Path, split: str, file: str, index_file: str, vocab_size: int) -> int:
    """Write `megatron/<split>/<shard>.bin/.idx` for one shard of `directory/<split>`; return its documents."""
    source, target = directory / split, directory / MEGATRON_DIR / split
    target.mkdir(parents=True, exist_ok=True)
    prefix = target / Path(file).stem
    lengths = np.diff(np.fromfile(source / index_file, dtype=INDEX_DTYPE), prepend=np.uint64(0))
    dtype, stored = megatron_dtype(vocab_size), token_dtype(vocab_size)
    if dtype == stored:
        link_or_copy(source / file, prefix.with_suffix(".bin"))
    else:
        tokens = np.memmap(source / file, dtype=stored, mode="r")
        with open(prefix.with_suffix(".bin"), "wb") as out:
            for start in range(0, tokens.size, BLOCK_TOKENS):
                out.write(tokens[start:start + BLOCK_TOKENS].astype(dtype).tobytes())
    prefix.with_suffix(".idx").write_bytes(index_bytes(dtype, lengths))
    return len(lengths)


def link_or_copy(source: Path, target: Path) -> None:
    """`target` as the same bytes as `source`, without copying them where the filesystem allows."""
    target.unlink(missing_ok=True)  # a retried task finds its own earlier file
    try:
        os.link(source, target)
    except OSError:  # another filesystem, or one without hard links
        shutil.copyfile(source, target)


def megatron_batches(batches: Iterable[pa.RecordBatch], *, directory: str, vocab_size: int) -> Iterator[pa.RecordBatch]:
    """mapInArrow body: SHARD_SCHEMA rows in, each shard written, WRITTEN_SCHEMA rows out."""
    for batch in batches:
        rows = batch.to_pylist()
        documents = [write_megatron_shard(Path(directory), row["split"], row["file"], row["index_file"], vocab_size)
                     for row in rows]
        yield pa.RecordBatch.from_pydict({"split": [row["split"] for row in rows],
                                          "file": [row["file"] for row in rows], "documents": documents},
                                         schema=WRITTEN_SCHEMA)

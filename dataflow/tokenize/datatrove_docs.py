"""`tokenize --datatrove`: every shard also as datatrove's tokenized files, for trainers that read them
(nanotron, datatrove's own `DatatroveFolderDataset`).

datatrove's `DocumentTokenizer` writes per file (src/datatrove/pipeline/tokens/tokenizer.py):

    NAME.ds            the tokens, flat, uint16 (token_size 2) or uint32 (4), little-endian
    NAME.ds.index      each document's end offset in tokens, uint64 little-endian
    NAME.ds.metadata   "<tokenizer>|<token_size>", the token count, the count for humans

which are exactly a shard's `NNNNN.bin` and `NNNNN.idx` (dataflow/shards.py: every document with its
EOS, ends in tokens, same dtypes), so the first two are hard links of the shard's own files (copies
across filesystems) and only the small metadata file is written. datatrove's merger reads the token
size from the metadata's first line. Layout: `datatrove/<split>/NNNNN.ds`, one file per shard.
"""

from __future__ import annotations

from pathlib import Path

from dataflow.shards import ShardEntry, token_dtype
from dataflow.tokenize.megatron_docs import link_or_copy

DATATROVE_DIR = "datatrove"
SI_PREFIXES = ("", "k", "M", "G", "T", "P")


def metadata_text(tokenizer_name: str, token_size: int, num_tokens: int) -> str:
    """The `.ds.metadata` lines datatrove writes (its third line, for humans, as humanize.metric gives it)."""
    return "\n".join([f"{tokenizer_name}|{token_size}", str(num_tokens), human_count(num_tokens) + "T"])


def human_count(number: int) -> str:
    """`number` with an SI prefix and three significant digits: 1234567 -> "1.23 M"."""
    power = 0
    while abs(number) >= 1000 ** (power + 1) and power + 1 < len(SI_PREFIXES):
        power += 1
    scaled = number / 1000 ** power
    digits = max(0, 2 - len(str(int(abs(scaled)))) + 1)
    return f"{scaled:.{digits}f} {SI_PREFIXES[power]}"


def write_datatrove(directory: str | Path, shards: dict[str, list[ShardEntry]], *, tokenizer_name: str,
                    vocab_size: int) -> dict[str, int]:
    """datatrove files of every shard of every split under `directory`; returns documents per split.
    Links and a few small files per shard: done by the driver, no token is read."""
    token_size = token_dtype(vocab_size).itemsize
    written = {}
    for split, entries in shards.items():
        source, target = Path(directory, split), Path(directory, DATATROVE_DIR, split)
        target.mkdir(parents=True, exist_ok=True)
        for entry in entries:
            name = entry.file.removesuffix(".bin") + ".ds"
            link_or_copy(source / entry.file, target / name)
            link_or_copy(source / entry.index_file, target / f"{name}.index")
            (target / f"{name}.metadata").write_text(metadata_text(tokenizer_name, token_size, entry.num_tokens))
        written[split] = sum(entry.num_documents for entry in entries)
    return written

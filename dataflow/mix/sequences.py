"""Mixed sequences: the one reader and writer of what `dataflow run mix` writes.

A mixture output is a folder:

    manifest.json    the mixture, tokenizer (path, sha256), dtype, seq_len, per source the target
                     and realised share, epochs and repeated documents, and one entry per shard
    00000.bin        native: sequences of seq_len + 1 token ids, row after row (little-endian,
                     uint16 when the vocabulary fits, else uint32); megatron: the first seq_len
                     tokens of each sequence, one Megatron document per sequence
    00000.idx        megatron only: the Megatron index (dataflow/mix/megatron.py)
    00000.src        uint16 per sequence: the index of the source it came from (manifest order)
    repeated/        Parquet: the training documents read more than once, and how often

Sequence n of the folder is position n of `dataflow.mix.mixture.MixedStream` for the mixture:
what the trainer draws on the fly. Sequences rather than documents because the budget, the
shares and the epochs are all counted in tokens: a sequence of seq_len targets is the unit
the schedule apportions, so every share is exact to one sequence, and a trainer reading the
files needs no packing step (and a reader at any offset only needs the offset).

The Megatron export keeps seq_len tokens per sequence: with Megatron's `--seq-length`
equal to the mixture's seq_len its GPTDataset (which reads seq_length + 1 tokens per sample,
stepping by seq_length) then gives one sample per sequence, aligned to it, instead of
samples straddling two; the last target of each sample is the first token of the next
document in Megatron's own shuffled order.

Shards are written by Spark tasks under temporary names and renamed; the manifest, written
last on the driver, completes the folder.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any, Literal

import numpy as np
from dataflow.config import StrictModel
from dataflow.errors import InputError
from dataflow.object_store import is_store, join, place, scratch_for, write_text_file
from dataflow.mix.megatron import MegatronFile, index_bytes, megatron_dtype
from dataflow.shards import MANIFEST, TokenizerInfo, check_sha256, map_shard, read_manifest, token_dtype

KIND = "mixture"
LABEL = "mixture output"
FIX = "rerun `dataflow run mix --force`"
SOURCE_DTYPE = np.dtype("<u2")
Format = Literal["native", "megatron"]


class SourceReport(StrictModel):
    """What the mixture took from one source, planned and realised."""

    path: str
    """The source folder."""
    train_manifest_sha256: str
    """sha256 of the source's train/manifest.json: which token dataset was read."""
    target_share: float
    """The source's normalised weight."""
    realised_share: float
    """Share of the written sequences that came from it."""
    target_tokens: int
    """Tokens the plan gives it (`plan_mixture`)."""
    realised_tokens: int
    """Target tokens written from it: sequences * seq_len."""
    available_tokens: int
    """Tokens its windows hold (windows * seq_len); epochs are counted against this."""
    epochs: float
    """Passes over the source: sequences written / windows available."""
    max_epochs: float
    """The cap the mixture allows."""
    repeated_documents: int
    """Training documents of which some token was read more than once (listed in repeated/)."""


class SequenceShard(StrictModel):
    """One shard as recorded in the manifest."""

    file: str
    """Token file (`00003.bin`)."""
    sources_file: str
    """Source index per sequence (`00003.src`)."""
    index_file: str | None = None
    """Megatron index (`00003.idx`), megatron format only."""
    first_sequence: int
    """Position in the mixed stream of the shard's first sequence."""
    num_sequences: int
    """Sequences in the shard."""
    sha256: str
    sources_sha256: str
    index_sha256: str | None = None


class MixtureManifest(StrictModel):
    """`manifest.json` of a mixture output."""

    format_version: int
    kind: Literal["mixture"]
    format: Format
    """native (seq_len + 1 tokens per row) or megatron (.bin/.idx, seq_len tokens per sequence)."""
    name: str
    seq_len: int
    seed: int
    total_tokens: int
    """The mixture's budget."""
    num_sequences: int
    """total_tokens // seq_len sequences of seq_len targets each."""
    tokenizer: TokenizerInfo
    vocab_size: int
    dtype: Literal["uint16", "uint32", "int32"]
    eos_id: int
    mixture: dict[str, Any]
    """The mixture file as read."""
    sources: dict[str, SourceReport]
    """Per source, in the mixture's order (the .src files index into it)."""
    config: dict[str, Any]
    shards: list[SequenceShard]


def sequence_dtype(format: Format, vocab_size: int) -> np.dtype:
    return megatron_dtype(vocab_size) if format == "megatron" else token_dtype(vocab_size)


class SequenceShardWriter:
    """Writes one shard from row blocks, under temporary names until `close`."""

    def __init__(self, directory: str | Path, shard_index: int, first_sequence: int, *, format: Format,
                 vocab_size: int, seq_len: int):
        self.directory = directory if is_store(directory) else Path(directory)
        self.format, self.seq_len = format, seq_len
        local = scratch_for(directory)  # a store's files are uploaded at `close`
        self.stem, self.first_sequence = f"{shard_index:05d}", first_sequence
        self.dtype = sequence_dtype(format, vocab_size)
        tag = uuid.uuid4().hex  # two attempts of one Spark task never share a temporary file
        self._tmp = {suffix: local / f".{self.stem}.{suffix}.tmp-{tag}" for suffix in ("bin", "src", "idx")}
        self._files = {suffix: open(self._tmp[suffix], "wb") for suffix in ("bin", "src")}
        self._digests = {suffix: hashlib.sha256() for suffix in ("bin", "src")}
        self.num_sequences = 0

    def add(self, rows: np.ndarray, sources: np.ndarray) -> None:
        """Append sequences: `rows` (n, seq_len + 1) token ids, `sources` their source indices."""
        kept = rows if self.format == "native" else rows[:, :self.seq_len]
        for suffix, block in (("bin", kept.astype(self.dtype)), ("src", sources.astype(SOURCE_DTYPE))):
            data = memoryview(np.ascontiguousarray(block)).cast("B")
            self._files[suffix].write(data)
            self._digests[suffix].update(data)
        self.num_sequences += len(rows)

    def close(self) -> SequenceShard:
        for handle in self._files.values():
            handle.close()
        names = {suffix: f"{self.stem}.{suffix}" for suffix in ("bin", "src", "idx")}
        index_sha = None
        if self.format == "megatron":
            index = index_bytes(self.dtype, np.full(self.num_sequences, self.seq_len))
            self._tmp["idx"].write_bytes(index)
            index_sha = hashlib.sha256(index).hexdigest()
            place(self._tmp["idx"], self.directory, names["idx"])
        place(self._tmp["src"], self.directory, names["src"])
        place(self._tmp["bin"], self.directory, names["bin"])
        return SequenceShard(file=names["bin"], sources_file=names["src"],
                             index_file=names["idx"] if index_sha else None, first_sequence=self.first_sequence,
                             num_sequences=self.num_sequences, sha256=self._digests["bin"].hexdigest(),
                             sources_sha256=self._digests["src"].hexdigest(), index_sha256=index_sha)

    def abort(self) -> None:
        for handle in self._files.values():
            handle.close()
        for path in self._tmp.values():
            path.unlink(missing_ok=True)


def write_mixture_manifest(directory: str | Path, manifest: MixtureManifest) -> None:
    """Complete a mixture output: write `manifest.json` atomically."""
    write_text_file(join(directory, MANIFEST), json.dumps(manifest.model_dump(), indent=1) + "\n")


def is_mixture(path: str | Path) -> bool:
    """Whether `path` holds a mixture output's manifest (a token dataset's has no `kind`)."""
    file = Path(path) / MANIFEST
    if not file.is_file():
        return False
    try:
        return json.loads(file.read_text(encoding="utf-8")).get("kind") == KIND
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return False


class MixedSequences:
    """A mixture output opened for reading: shards memory-mapped, sizes checked; `verify` hashes."""

    def __init__(self, path: Path, manifest: MixtureManifest):
        self.path, self.manifest = path, manifest
        self.names = list(manifest.sources)
        self.row_len = manifest.seq_len + 1 if manifest.format == "native" else manifest.seq_len
        self.dtype = np.dtype(manifest.dtype).newbyteorder("<")
        self.tokens = [map_shard(path, entry.file, self.dtype, entry.num_sequences * self.row_len, LABEL, FIX)
                       for entry in manifest.shards]
        self.sources = [map_shard(path, entry.sources_file, SOURCE_DTYPE, entry.num_sequences, LABEL, FIX)
                        for entry in manifest.shards]
        self.first = np.array([entry.first_sequence for entry in manifest.shards] + [manifest.num_sequences])

    @classmethod
    def open(cls, path: str | Path, verify: bool = False) -> MixedSequences:
        path = Path(path)
        sequences = cls(path, read_manifest(path, MixtureManifest, LABEL, "dataflow run mix"))
        if verify:
            sequences.verify()
        return sequences

    def __len__(self) -> int:
        return self.manifest.num_sequences

    def sequence(self, n: int) -> tuple[np.ndarray, str]:
        """Tokens of sequence n (seq_len + 1 native, seq_len megatron) and its source's name."""
        shard = int(np.searchsorted(self.first, n, side="right")) - 1
        row = n - int(self.first[shard])
        tokens = self.tokens[shard][row * self.row_len:(row + 1) * self.row_len]
        return tokens, self.names[int(self.sources[shard][row])]

    def verify(self) -> None:
        """Check every file's sha256, the Megatron indexes and the per-source counts; name the shard at fault."""
        counts = np.zeros(len(self.names), dtype=np.int64)
        for entry, sources in zip(self.manifest.shards, self.sources):
            files = [(entry.file, entry.sha256), (entry.sources_file, entry.sources_sha256)]
            if entry.index_file:
                files.append((entry.index_file, entry.index_sha256))
            for name, expected in files:
                check_sha256(self.path, name, expected, LABEL, FIX)
            if entry.index_file:
                megatron = MegatronFile(self.path / entry.file.removesuffix(".bin"))
                if len(megatron) != entry.num_sequences:
                    raise InputError(f"{LABEL} {self.path}: shard {entry.index_file} indexes {len(megatron)} "
                                     f"sequences, manifest says {entry.num_sequences}; {FIX}")
            counts += np.bincount(sources, minlength=len(self.names))[:len(self.names)]
        expected = np.array([round(report.realised_tokens / self.manifest.seq_len)
                             for report in self.manifest.sources.values()])
        if not np.array_equal(counts, expected) or counts.sum() != self.manifest.num_sequences:
            raise InputError(f"{LABEL} {self.path}: sequences per source {counts.tolist()} differ from the "
                             f"manifest's {expected.tolist()}; {FIX}")

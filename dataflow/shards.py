"""Token datasets: the one reader and writer of the token-shard format.

A token dataset is a folder (docs/architecture.md, "Token datasets"):

    manifest.json    format version, tokenizer (path, sha256), vocab size, dtype, EOS id,
                     source, split, the config that made it, and one entry per shard
    00000.bin        flat little-endian token ids, uint16 when the vocabulary fits, else
                     uint32; every document ends with EOS
    00000.idx        little-endian uint64 end offset of each document in the .bin

The flat layout is nanoGPT's `train.bin` and Megatron's `.bin`, cut into shards so that
Spark tasks write them in parallel: a task calls `write_shard` with a deterministic index,
which writes under a temporary name and renames, and returns the shard's manifest entry;
the driver gathers the entries and calls `write_manifest`, whose rename completes the
dataset. A folder without `manifest.json` is not a dataset.

A source written by `dataflow run tokenize` is a folder holding one dataset per split,
`train/` and `validation/` (`split_path`); the validation documents are chosen by a hash of
the document id, so they never overlap training.

All file access of the format lives in this module. A dataset on object storage (an `s3://` or
other fsspec URL, dataflow/object_store.py) opens the same way: its manifest and document indexes
are read whole (8 bytes a document), its token files by byte ranges (`RemoteTokens`), so a
training rank fetches the windows it trains on, never a whole shard; `verify` reads each shard
once per machine (recorded under DATAFLOW_CACHE, keyed by the object's ETag).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
from pydantic import ValidationError

from dataflow.atomic import write_text
from dataflow.config import StrictModel
from dataflow.errors import InputError
from dataflow.object_store import (cache_dir, is_store, join, place, read_bytes, scratch_for, url_fs, version,
                                   write_text_file)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SPLITS = ("train", "validation")
Split = Literal["train", "validation"]
INDEX_DTYPE = np.dtype("<u8")
M = TypeVar("M", bound=StrictModel)


def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 while every id fits (vocab_size <= 65536), else uint32; little-endian either way."""
    return np.dtype("<u2") if vocab_size <= 2**16 else np.dtype("<u4")


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks (tokenizer files, shards)."""
    digest = hashlib.sha256()
    with (url_fs(str(path))[0].open(str(path), "rb") if is_store(path) else open(path, "rb")) as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def split_path(source_root: str | Path, split: Split) -> Path | str:
    """Where a source folder keeps the dataset of one split: `tokens/web/train` (a URL for a store's)."""
    return join(source_root, split)


class TokenizerInfo(StrictModel):
    """The tokenizer that produced the ids; a reader refuses ids from another one."""

    path: str
    """Where the tokenizer file was read from, for people; the sha256 is what is checked."""
    sha256: str
    """Hex sha256 of the tokenizer file (e.g. a Hugging Face `tokenizer.json`)."""

    @classmethod
    def from_file(cls, path: str | Path) -> TokenizerInfo:
        return cls(path=str(path), sha256=file_sha256(path))


class ShardEntry(StrictModel):
    """One shard as recorded in the manifest."""

    file: str
    """Name of the token file inside the dataset folder (`00007.bin`)."""
    index_file: str
    """Name of the document-index file (`00007.idx`)."""
    num_tokens: int
    """Token ids in the shard, EOS included."""
    num_documents: int
    """Documents in the shard; each ends with EOS."""
    text_bytes: int
    """UTF-8 bytes of the documents' source text: the denominator of bits-per-byte."""
    sha256: str
    """Hex sha256 of the token file."""
    index_sha256: str
    """Hex sha256 of the document-index file."""


class Manifest(StrictModel):
    """`manifest.json`: what a token dataset holds and how it was made."""

    format_version: int
    """Version of this format; a reader refuses versions it does not know."""
    source: str
    """Name of the source the documents came from (`web`, `wiki`)."""
    split: Split
    """Which split the documents belong to."""
    tokenizer: TokenizerInfo
    """The tokenizer that produced the ids."""
    vocab_size: int
    """Size of the tokenizer's vocabulary; every id is below it."""
    dtype: Literal["uint16", "uint32"]
    """Element type of the token files, fixed by `vocab_size` (`token_dtype`)."""
    eos_id: int
    """Id that ends every document."""
    config: dict[str, Any]
    """The config that made the dataset, for provenance."""
    shards: list[ShardEntry]
    """Every shard, in index order."""


# --- writing ---------------------------------------------------------------------------------


class ShardWriter:
    """Writes one shard, documents appended one by one, under temporary names until `close`.

    Documents are given without EOS: the writer appends it, so "every document ends with
    EOS" holds by construction. `close` renames the files into place and returns the
    manifest entry; `abort` removes the temporary files. `write_shard` wraps both. A `directory` on
    object storage gets the files at `close`, uploaded from a local scratch folder (index first; an
    S3 PUT is atomic, so a retried task rewrites the same bytes).
    """

    def __init__(self, directory: str | Path, shard_index: int, *, vocab_size: int, eos_id: int):
        if not 0 <= eos_id < vocab_size:
            raise InputError(f"eos_id {eos_id} is outside the vocabulary [0, {vocab_size}); check the tokenizer")
        self.directory = directory if is_store(directory) else Path(directory)
        local = scratch_for(directory)
        self.stem = f"{shard_index:05d}"
        self.vocab_size, self.dtype = vocab_size, token_dtype(vocab_size)
        self.eos = np.array([eos_id], dtype=self.dtype)
        tag = uuid.uuid4().hex  # two attempts of one Spark task never share a temporary file
        self._tmp_bin = local / f".{self.stem}.bin.tmp-{tag}"
        self._tmp_idx = local / f".{self.stem}.idx.tmp-{tag}"
        self._file = open(self._tmp_bin, "wb")
        self._digest = hashlib.sha256()
        self._ends: list[int] = []
        self._num_tokens = self._text_bytes = 0

    def add(self, token_ids: np.ndarray, text_bytes: int) -> None:
        """Append one document: its token ids (no EOS) and the UTF-8 byte length of its text."""
        ids = np.asarray(token_ids)
        outside = ids[(ids < 0) | (ids >= self.vocab_size)]
        if outside.size:
            raise InputError(f"token id {int(outside[0])} in shard {self.stem} is outside the vocabulary "
                             f"[0, {self.vocab_size}); the tokenizer and vocab_size disagree")
        for part in (ids.astype(self.dtype, copy=False), self.eos):
            data = memoryview(np.ascontiguousarray(part)).cast("B")
            self._file.write(data)
            self._digest.update(data)
        self._num_tokens += ids.size + 1
        self._text_bytes += text_bytes
        self._ends.append(self._num_tokens)

    @property
    def num_documents(self) -> int:
        """Documents added so far: the index the next one gets in the shard."""
        return len(self._ends)

    def close(self) -> ShardEntry:
        """Finish the shard: write the index, rename both files into place, return the entry."""
        self._file.close()
        index = np.asarray(self._ends, dtype=INDEX_DTYPE)
        self._tmp_idx.write_bytes(index.tobytes())
        bin_name, idx_name = f"{self.stem}.bin", f"{self.stem}.idx"
        place(self._tmp_idx, self.directory, idx_name)
        place(self._tmp_bin, self.directory, bin_name)
        return ShardEntry(file=bin_name, index_file=idx_name, num_tokens=self._num_tokens,
                          num_documents=len(self._ends), text_bytes=self._text_bytes,
                          sha256=self._digest.hexdigest(),
                          index_sha256=hashlib.sha256(index.tobytes()).hexdigest())

    def abort(self) -> None:
        self._file.close()
        self._tmp_bin.unlink(missing_ok=True)
        self._tmp_idx.unlink(missing_ok=True)


def write_shard(directory: str | Path, shard_index: int, docs: Iterable[tuple[np.ndarray, int]], *,
                vocab_size: int, eos_id: int) -> ShardEntry:
    """Write shard `shard_index` from `(token_ids, utf8_bytes)` documents; the Spark task's call."""
    writer = ShardWriter(directory, shard_index, vocab_size=vocab_size, eos_id=eos_id)
    try:
        for token_ids, text_bytes in docs:
            writer.add(token_ids, text_bytes)
    except BaseException:
        writer.abort()
        raise
    return writer.close()


def write_manifest(directory: str | Path, shards: Sequence[ShardEntry], *, source: str, split: Split,
                   tokenizer: TokenizerInfo, vocab_size: int, eos_id: int,
                   config: dict[str, Any] | None = None) -> Manifest:
    """Complete a dataset: check the shard files are in place, then write `manifest.json` atomically
    (on object storage: one PUT, which is atomic)."""
    itemsize = token_dtype(vocab_size).itemsize
    for entry in shards:
        path = join(directory, entry.file)
        if not _exists(path) or _stamp(path)[0] != entry.num_tokens * itemsize:
            raise InputError(f"shard {path} is missing or not {entry.num_tokens} tokens long; "
                             "rewrite the shard before writing the manifest")
    manifest = Manifest(format_version=FORMAT_VERSION, source=source, split=split, tokenizer=tokenizer,
                        vocab_size=vocab_size, dtype=token_dtype(vocab_size).name, eos_id=eos_id,
                        config=config or {}, shards=sorted(shards, key=lambda entry: entry.file))
    write_text_file(join(directory, MANIFEST), json.dumps(manifest.model_dump(), indent=1) + "\n")
    return manifest


def write_token_dataset(directory: str | Path, docs: Iterable[tuple[np.ndarray, int]], *, source: str,
                        split: Split, tokenizer: TokenizerInfo, vocab_size: int, eos_id: int,
                        max_shard_tokens: int = 1 << 24, config: dict[str, Any] | None = None) -> Manifest:
    """Write a whole dataset in one process, starting a new shard once one holds `max_shard_tokens`."""
    docs, entries = iter(docs), []
    while (first := next(docs, None)) is not None:
        shard_docs = _up_to_tokens(itertools.chain([first], docs), max_shard_tokens)
        entries.append(write_shard(directory, len(entries), shard_docs, vocab_size=vocab_size, eos_id=eos_id))
    return write_manifest(directory, entries, source=source, split=split, tokenizer=tokenizer,
                          vocab_size=vocab_size, eos_id=eos_id, config=config)


def _up_to_tokens(docs: Iterator[tuple[np.ndarray, int]], max_tokens: int) -> Iterator[tuple[np.ndarray, int]]:
    """Documents from `docs` until they hold `max_tokens` (EOS included); the rest stay in `docs`."""
    total = 0
    for token_ids, text_bytes in docs:
        yield token_ids, text_bytes
        total += len(token_ids) + 1
        if total >= max_tokens:
            return


# --- reading ---------------------------------------------------------------------------------


class TokenDataset:
    """A token dataset opened for reading: shards memory-mapped, sizes checked against the manifest.

    `open` is cheap (sizes and the index tail only); `verify` reads every byte and checks
    the sha256, the id range and document boundaries (once per file version with `cached`).
    """

    def __init__(self, path: Path | str, manifest: Manifest, tokens: list[np.ndarray | RemoteTokens],
                 doc_ends: list[np.ndarray]):
        self.path, self.manifest = path, manifest
        self.tokens, self.doc_ends = tokens, doc_ends
        self.shard_tokens = np.array([entry.num_tokens for entry in manifest.shards], dtype=np.int64)

    @classmethod
    def open(cls, path: str | Path, verify: bool = False) -> TokenDataset:
        path = path.rstrip("/") if is_store(path) else Path(path)
        manifest = read_manifest(path)
        dtype = token_dtype(manifest.vocab_size)
        if manifest.dtype != dtype.name:
            raise InputError(f"token dataset {path}: manifest dtype {manifest.dtype} does not fit "
                             f"vocab_size {manifest.vocab_size} (expected {dtype.name}); rewrite the dataset")
        tokens, doc_ends = [], []
        for entry in manifest.shards:
            tokens.append(map_shard(path, entry.file, dtype, entry.num_tokens))
            doc_ends.append(map_shard(path, entry.index_file, INDEX_DTYPE, entry.num_documents)[:])
            last_end = int(doc_ends[-1][-1]) if entry.num_documents else 0
            if last_end != entry.num_tokens:
                raise InputError(f"token dataset {path}: shard {entry.index_file} ends at token {last_end}, "
                                 f"manifest says {entry.num_tokens}; the shard is corrupt, rewrite it")
        dataset = cls(path, manifest, tokens, doc_ends)
        if verify:
            dataset.verify()
        return dataset

    @property
    def source(self) -> str:
        return self.manifest.source

    @property
    def num_tokens(self) -> int:
        return int(self.shard_tokens.sum())

    @property
    def num_documents(self) -> int:
        return sum(entry.num_documents for entry in self.manifest.shards)

    @property
    def text_bytes(self) -> int:
        return sum(entry.text_bytes for entry in self.manifest.shards)

    def verify(self, cached: bool = False) -> None:
        """Check every file's sha256, that every id is below vocab_size and every document ends with
        EOS; name the shard at fault. Corruption that keeps a file's size would otherwise reach
        the model as out-of-range ids (a device-side assert on GPU) or as silently wrong text.

        `cached`: skip shards verified before whose size and mtime are unchanged, as recorded in
        the folder's VERIFIED_FILE (best effort: a read-only folder verifies on every open).
        """
        record = _read_verified(self.path) if cached else {}
        verified = {}
        for entry, tokens, ends in zip(self.manifest.shards, self.tokens, self.doc_ends):
            stamp = [_stamp(join(self.path, entry.file)), _stamp(join(self.path, entry.index_file)), entry.sha256]
            if record.get(entry.file) != stamp:
                self._verify_shard(entry, tokens, ends)
            verified[entry.file] = stamp
        if cached and verified != record:
            _write_verified(self.path, verified)

    def _verify_shard(self, entry: ShardEntry, tokens: np.ndarray, ends: np.ndarray) -> None:
        for name, expected in ((entry.file, entry.sha256), (entry.index_file, entry.index_sha256)):
            check_sha256(self.path, name, expected)
        tokens = tokens[:]  # a remote shard, read whole once here
        if tokens.size and int(tokens.max()) >= self.manifest.vocab_size:
            raise InputError(f"token dataset {self.path}: shard {entry.file} holds id {int(tokens.max())}, "
                             f"not below vocab_size {self.manifest.vocab_size}; rewrite the dataset")
        rising = np.all(np.diff(ends.astype(np.int64)) > 0)
        if ends.size and not (rising and np.all(tokens[ends - 1] == self.manifest.eos_id)):
            raise InputError(f"token dataset {self.path}: shard {entry.file} has a document that does "
                             "not end with EOS; rewrite the dataset")

    def require_tokenizer(self, sha256: str) -> None:
        """Refuse to pair these ids with a tokenizer other than the one that made them."""
        if self.manifest.tokenizer.sha256 != sha256:
            raise InputError(f"token dataset {self.path} was made with tokenizer {self.manifest.tokenizer.path} "
                             f"(sha256 {self.manifest.tokenizer.sha256[:12]}…), not the one in use "
                             f"(sha256 {sha256[:12]}…); re-tokenise or use the matching tokenizer")

    def document(self, shard: int, index: int) -> np.ndarray:
        """Token ids of one document, EOS included."""
        ends = self.doc_ends[shard]
        start = int(ends[index - 1]) if index else 0
        return self.tokens[shard][start:int(ends[index])]

    # Windows: sequences of `seq_len + 1` consecutive tokens starting every `seq_len` tokens
    # within a shard, so every token but a shard's first is a target exactly once. Documents
    # are packed (nanoGPT, GPT-3): a window may hold the end of one document and the start of
    # the next, separated by EOS. The last partial window of a shard is left out.

    def num_windows(self, seq_len: int) -> int:
        return int(self.windows_per_shard(seq_len).sum())

    def read_windows(self, window_ids: np.ndarray, seq_len: int) -> np.ndarray:
        """The windows as an int64 array of shape (len(window_ids), seq_len + 1)."""
        shards, starts = self.window_places(window_ids, seq_len)
        if is_store(self.path):  # one range request per window, all in flight at once
            return RemoteTokens.gather([self.tokens[shard] for shard in shards.tolist()], starts.tolist(), seq_len + 1)
        out = np.empty((len(window_ids), seq_len + 1), dtype=np.int64)
        for row, (shard, start) in enumerate(zip(shards.tolist(), starts.tolist())):
            out[row] = self.tokens[shard][start:start + seq_len + 1]  # a slice copy: faster than a fancy-index gather
        return out

    def window_places(self, window_ids: np.ndarray, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
        """Where windows lie: each one's shard (position in the manifest) and first token in that shard."""
        first = np.concatenate([[0], np.cumsum(self.windows_per_shard(seq_len))])
        shards = np.searchsorted(first, window_ids, side="right") - 1
        return shards, (np.asarray(window_ids) - first[shards]) * seq_len

    def windows_per_shard(self, seq_len: int) -> np.ndarray:
        return np.maximum(self.shard_tokens - 1, 0) // seq_len


def open_split(source_root: str | Path, split: Split, verify: bool = False) -> TokenDataset:
    """Open the `split` dataset of a source folder, checking the manifest agrees on the split."""
    dataset = TokenDataset.open(split_path(source_root, split), verify=verify)
    if dataset.manifest.split != split:
        raise InputError(f"token dataset {dataset.path} holds the {dataset.manifest.split} split, "
                         f"not {split}; a source folder keeps each split under its own name")
    return dataset


def read_manifest(path: Path | str, model: type[M] = Manifest, label: str = "token dataset",
                  writer: str = "dataflow run tokenize") -> M:
    """`path/manifest.json` as `model`, refusing unknown format versions; errors name the folder."""
    file = join(path, MANIFEST)
    try:
        text = read_bytes(file) if is_store(file) else file.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        raise InputError(f"{path} is not a {label}: {MANIFEST} is missing "
                         f"(write it with `{writer}`, or the write did not finish)") from None
    try:
        data = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{label} {path}: {MANIFEST} is not JSON ({err}); rewrite it with `{writer}`") from None
    version = data.get("format_version") if isinstance(data, dict) else None
    if version != FORMAT_VERSION:
        raise InputError(f"{label} {path}: format version {version!r} is not the supported "
                         f"{FORMAT_VERSION}; rewrite it with this version of dataflow")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise InputError(f"{label} {path}: {MANIFEST} is invalid at {key}: {first['msg']}") from None


def check_sha256(directory: Path | str, name: str, expected: str, label: str = "token dataset",
                 fix: str = "rewrite the dataset") -> None:
    """Refuse a file whose sha256 is not the manifest's, naming the shard file."""
    actual = file_sha256(shard_file(directory, name, label))
    if actual != expected:
        raise InputError(f"{label} {directory}: shard {name} is corrupt (sha256 {actual[:12]}…, "
                         f"manifest says {expected[:12]}…); {fix}")


def map_shard(directory: Path | str, name: str, dtype: np.dtype, length: int, label: str = "token dataset",
              fix: str = "the dataset is incomplete or corrupt, rewrite it") -> np.ndarray | RemoteTokens:
    """Memory-map `length` items of a shard file after checking its size (a `RemoteTokens` on a store)."""
    path = shard_file(directory, name, label)
    expected = length * dtype.itemsize
    actual = _stamp(path)[0] if _exists(path) else None
    if actual != expected:
        found = "missing" if actual is None else f"{actual} bytes"
        raise InputError(f"{label} {directory}: shard {name} is {found}, manifest says {expected} bytes; {fix}")
    if length == 0:
        return np.zeros(0, dtype=dtype)  # np.memmap refuses empty files
    if is_store(path):
        return RemoteTokens(path, dtype, length)
    # A plain ndarray view: slicing np.memmap itself costs microseconds of Python per call.
    return np.memmap(path, dtype=dtype, mode="r", shape=(length,)).view(np.ndarray)


def shard_file(directory: Path | str, name: str, label: str = "token dataset") -> Path | str:
    """`directory/name` for a file name read from a manifest, refused unless it is a plain name
    inside the folder: a manifest must not point a reader at `../../etc/passwd` or an absolute path."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise InputError(f"{label} {directory}: manifest names the file {name!r}, which is not a plain file name "
                         "inside the folder; rewrite the manifest")
    return join(directory, name)


#: Per-folder record of shards already verified: file name -> [[size, mtime_ns] of the token and
#: index files, the manifest's sha256]. Hidden, and never listed in the manifest.
VERIFIED_FILE = ".verified.json"


class RemoteTokens:
    """A token file on object storage, sliced like the memory map of a local one: `tokens[a:b]` is one
    range request for those ids' bytes, so readers fetch what they use (a window, a document)."""

    def __init__(self, url: str, dtype: np.dtype, length: int):
        self.url, self.dtype, self.size = url, dtype, length
        self.fs, self.fs_path = url_fs(url)

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, key: slice) -> np.ndarray:
        start, stop, step = key.indices(self.size)
        if step != 1:
            raise IndexError(f"{self.url}: only contiguous slices are read from a remote shard")
        if stop <= start:
            return np.zeros(0, dtype=self.dtype)
        data = self.fs.cat_file(self.fs_path, start=start * self.dtype.itemsize, end=stop * self.dtype.itemsize)
        return np.frombuffer(data, dtype=self.dtype)

    @staticmethod
    def gather(files: list[RemoteTokens], starts: list[int], length: int) -> np.ndarray:
        """Rows of `length` ids from each (file, start), as int64 (n, length): the requests go out
        together (fsspec's `cat_ranges`), so a batch costs about one round trip, not one per window."""
        if not files:
            return np.empty((0, length), dtype=np.int64)
        item = files[0].dtype.itemsize
        blobs = files[0].fs.cat_ranges([file.fs_path for file in files], [start * item for start in starts],
                                       [(start + length) * item for start in starts], on_error="raise")
        return np.stack([np.frombuffer(blob, dtype=file.dtype) for blob, file in zip(blobs, files)]).astype(np.int64)


def _exists(path: Path | str) -> bool:
    if not is_store(path):
        return Path(path).is_file()
    fs, name = url_fs(path)
    fs.invalidate_cache(name)  # written by other processes (Spark tasks) since this one listed it
    return fs.isfile(name)


def _stamp(path: Path | str) -> list:
    """What tells a file version apart without reading it: size and mtime, or size and ETag on a store."""
    if is_store(path):
        return version(path)
    stat = Path(path).stat()
    return [stat.st_size, stat.st_mtime_ns]


def _verified_file(directory: Path | str) -> Path:
    """The dataset folder's record, or for a dataset on a store (read-only to readers) one under
    DATAFLOW_CACHE (default ~/.cache/dataflow) named by a hash of its URL, shared by a machine's ranks."""
    if not is_store(directory):
        return Path(directory) / VERIFIED_FILE
    return cache_dir() / "verified" / f"{hashlib.sha256(str(directory).encode()).hexdigest()[:32]}.json"


def _read_verified(directory: Path | str) -> dict[str, Any]:
    try:
        record = json.loads(_verified_file(directory).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _write_verified(directory: Path | str, record: dict[str, Any]) -> None:
    try:
        write_text(_verified_file(directory), json.dumps(record))
    except OSError:  # a read-only dataset: verified again next time, nothing worse
        pass

"""Documents to token shards inside Spark tasks: the engine-free core of the `tokenize` stage.

Two steps, so that only token arrays cross the shuffle and the encoding runs where the text
already is. `encode_partition` runs in the input's own partitions: it encodes each text (with
tiktoken when the tokenizer converts exactly, see tiktoken_bpe.py; else `encode_batch_fast`)
and emits the ids as little-endian bytes of the shard dtype, a quarter to a half of the text's
size. The job (jobs/tokenize_docs.py) then sends each (split, shard) to exactly one task,
sorted by id, where `write_partition` streams the arrays into `dataflow.shards.ShardWriter`.
So a shard's name and bytes depend only on the documents and the config, never on how Spark
partitioned the input. What comes back to Spark is small: one row per document (its place,
token count and provenance, for `documents/`) and one row per shard carrying the manifest
entry, from which the driver writes each split's `manifest.json`.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Literal

import numpy as np
import pyarrow as pa
from pydantic import Field

from dataflow.config import StrictModel
from dataflow.object_store import join
from dataflow.shards import ShardEntry, ShardWriter, token_dtype
from dataflow.tokenize.tiktoken_bpe import encode_texts, exact_encoding
from dataflow.tokenize.tokenizer import LoadedTokenizer, load_tokenizer

#: A token source folder: one token dataset per split (dataflow/shards.py) and this table.
DOCUMENTS_DIR = "documents"
#: What `encode_partition` returns: the input's columns with `tokens` (ids, no EOS, as
#: little-endian bytes of the shard dtype) in place of `text`; null for a document without text.
ENCODED_SCHEMA = pa.schema([
    pa.field("split", pa.string()),
    pa.field("shard", pa.int32()),
    pa.field("id", pa.string()),
    pa.field("tokens", pa.binary()),
    pa.field("text_bytes", pa.int64()),
    pa.field("language", pa.string()),
    pa.field("domain", pa.string()),
    pa.field("url", pa.string()),
])
#: What `write_partition` returns: per document its place in the shards and its provenance
#: (`document` null for a document without text, which is not written); per shard one more
#: row carrying the manifest entry as JSON in `entry`.
TOKENIZE_OUTPUT_SCHEMA = pa.schema([
    pa.field("split", pa.string()),
    pa.field("shard", pa.int32()),
    pa.field("document", pa.int64()),
    pa.field("id", pa.string()),
    pa.field("num_tokens", pa.int64()),
    pa.field("text_bytes", pa.int64()),
    pa.field("language", pa.string()),
    pa.field("domain", pa.string()),
    pa.field("url", pa.string()),
    pa.field("entry", pa.string()),
])


class TokenizeConfig(StrictModel):
    """Settings of the `tokenize` stage (documents -> one source's token datasets)."""

    source: str = "web"
    """Name of the source the token datasets belong to; mixtures refer to sources by it."""
    languages: list[str] = []
    """Only documents whose `language` is one of these (a source per language group); empty: every document."""
    tokenizer: str | None = None
    """Hugging Face tokenizer.json, or a tokenizer or model folder holding one, to encode with (required); its
    sha256 goes into every manifest."""
    eos_token: str | None = None
    """End-of-document token; default: the first of <|endoftext|>, <|end_of_text|>, </s>, <eos> the tokenizer has."""
    bos_token: str | None = None
    """Token put before every document (e.g. <s> or <|begin_of_text|> for a Llama tokenizer); default: none."""
    encoder: Literal["auto", "tokenizers"] = "auto"
    """auto: tiktoken when the tokenizer converts exactly (checked token for token when it is built), else
    tokenizers."""
    validation_frac: float = Field(0.01, ge=0, lt=1)
    """Share of documents held out for validation, chosen by a hash of the id: never in training."""
    split_seed: int = 0
    """Salt of the validation hash: another value holds out another set of documents."""
    num_shards: int | None = Field(None, gt=0)
    """Training shards (one Spark task each); default: the input's text bytes / shard_text_bytes, at least 8."""
    shard_text_bytes: int = Field(128 * 1024**2, gt=0)
    """Text bytes per training shard when num_shards is not set (about a quarter as many tokens)."""
    batch_rows: int = Field(1000, gt=0)
    """Documents encoded per call: bounds a task's memory to this many documents' ids."""
    megatron: bool = False
    """Also write each shard as a per-document Megatron-LM indexed dataset, megatron/<split>/NNNNN.bin/.idx
    (dataflow/tokenize/megatron_docs.py)."""
    datatrove: bool = False
    """Also write each shard as datatrove's tokenized files, datatrove/<split>/NNNNN.ds/.ds.index/.ds.metadata
    (dataflow/tokenize/datatrove_docs.py)."""


@functools.lru_cache(maxsize=2)
def worker_tokenizer(path: str, sha256: str, eos_token: str | None, bos_token: str | None = None) -> LoadedTokenizer:
    """The tokenizer, loaded once per Python worker; refused if the file changed since the driver read it."""
    loaded = load_tokenizer(path, eos_token, bos_token)
    if loaded.info.sha256 != sha256:
        raise RuntimeError(f"tokenizer {path} changed while the job ran (sha256 {loaded.info.sha256[:12]}…, "
                           f"expected {sha256[:12]}…)")
    return loaded


def choose_encoder(tokenizer: LoadedTokenizer, encoder: str) -> tuple[Callable[[Sequence[str]], list[np.ndarray]], str]:
    """(encode function, one line saying which encoder and why): tiktoken when `encoder` is auto and
    the tokenizer converts exactly; cached per process, so a reused Python worker builds it once."""
    if encoder == "tokenizers":
        return tokenizer.encode, "tokenizers (encoder: tokenizers)"
    encoding, refusal = exact_encoding(tokenizer.info.path, tokenizer.info.sha256)
    if encoding is None:
        return tokenizer.encode, f"tokenizers: tiktoken cannot encode {tokenizer.info.path} exactly ({refusal})"
    return functools.partial(encode_texts, encoding), "tiktoken (checked token for token against tokenizers)"


def set_encode_threads(threads: int) -> None:
    """Threads the Rust tokenizer may use in this worker: Spark already runs one task per core
    (`spark.task.cpus` = 1), so more would oversubscribe. RAYON_NUM_THREADS is read when the
    worker first encodes in parallel; TOKENIZERS_PARALLELISM at every call."""
    os.environ["TOKENIZERS_PARALLELISM"] = "true" if threads > 1 else "false"
    os.environ["RAYON_NUM_THREADS"] = str(threads)


def encode_partition(batches: Iterable[pa.RecordBatch], *, tokenizer_path: str, tokenizer_sha256: str,
                     eos_token: str | None, encoder: str, batch_rows: int, threads: int,
                     bos_token: str | None = None) -> Iterator[pa.RecordBatch]:
    """mapInArrow body, in the input's partitions. Input rows (split, shard, id, text, text_bytes,
    language, domain); output ENCODED_SCHEMA, `batch_rows` documents at a time."""
    set_encode_threads(threads)
    tokenizer = worker_tokenizer(tokenizer_path, tokenizer_sha256, eos_token, bos_token)
    bos = np.array([] if tokenizer.bos_id is None else [tokenizer.bos_id], dtype=np.int64)
    encode, _ = choose_encoder(tokenizer, encoder)
    dtype = token_dtype(tokenizer.vocab_size)
    for batch in batches:
        for start in range(0, batch.num_rows, batch_rows):
            chunk = batch.slice(start, batch_rows)
            texts = chunk.column("text").to_pylist()
            kept = [i for i, text in enumerate(texts) if text]
            tokens = [None] * chunk.num_rows
            for i, ids in zip(kept, encode([texts[i] for i in kept])):
                tokens[i] = np.concatenate((bos, ids)).astype(dtype).tobytes()
            yield pa.RecordBatch.from_arrays([pa.array(tokens, pa.binary()) if name == "tokens" else chunk.column(name)
                                              for name in ENCODED_SCHEMA.names], schema=ENCODED_SCHEMA)


def write_partition(batches: Iterable[pa.RecordBatch], *, directory: str, vocab_size: int,
                    eos_id: int) -> Iterator[pa.RecordBatch]:
    """mapInArrow body, one task per shard. Input ENCODED_SCHEMA rows sorted by split, shard and id;
    output TOKENIZE_OUTPUT_SCHEMA. Writes `directory/<split>/<shard:05d>.bin`.

    Documents without tokens are not written; their rows come back with `document` null.
    """
    dtype = token_dtype(vocab_size)
    place, writer = None, None
    try:
        for batch in batches:
            tokens, sizes = batch.column("tokens").to_pylist(), batch.column("text_bytes").to_pylist()
            places = list(zip(batch.column("split").to_pylist(), batch.column("shard").to_pylist()))
            document = np.full(batch.num_rows, -1, dtype=np.int64)
            num_tokens = np.zeros(batch.num_rows, dtype=np.int64)
            entries = []
            for i, data in enumerate(tokens):
                if data is None:
                    continue
                if places[i] != place:
                    if writer is not None:
                        entries.append(_entry_row(place, writer.close()))
                    place = places[i]
                    writer = ShardWriter(join(directory, place[0]), place[1], vocab_size=vocab_size, eos_id=eos_id)
                ids = np.frombuffer(data, dtype=dtype)
                document[i], num_tokens[i] = writer.num_documents, ids.size + 1
                writer.add(ids, sizes[i])
            yield _document_rows(batch, document, num_tokens)
            if entries:
                yield pa.RecordBatch.from_pylist(entries, schema=TOKENIZE_OUTPUT_SCHEMA)
        if writer is not None:
            last, writer = writer, None
            yield pa.RecordBatch.from_pylist([_entry_row(place, last.close())], schema=TOKENIZE_OUTPUT_SCHEMA)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise


def _document_rows(chunk: pa.RecordBatch, document: np.ndarray, num_tokens: np.ndarray) -> pa.RecordBatch:
    """One row per input document: its columns as they came, plus where its tokens went."""
    skipped = document < 0
    columns = {"document": pa.array(document, mask=skipped), "num_tokens": pa.array(num_tokens, mask=skipped),
               "entry": pa.nulls(chunk.num_rows, pa.string())}
    return pa.RecordBatch.from_arrays([columns[name] if name in columns else chunk.column(name)
                                       for name in TOKENIZE_OUTPUT_SCHEMA.names], schema=TOKENIZE_OUTPUT_SCHEMA)


def _entry_row(place: tuple[str, int], entry: ShardEntry) -> dict:
    return {"split": place[0], "shard": place[1], "entry": entry.model_dump_json()}

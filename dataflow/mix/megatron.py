"""Megatron-LM's indexed dataset (`.bin` + `.idx`), written from and read by the published format.

The format is Megatron-Core's `IndexedDataset` (megatron/core/datasets/indexed_dataset.py,
`_IndexWriter` / `_IndexReader`; NeMo reads the same files). The `.bin` holds the token ids of
every sequence back to back; the `.idx` is, all little-endian:

    b"MMIDIDX\\x00\\x00"      9-byte magic
    version                 uint64, 1
    dtype code              uint8: 1 uint8, 2 int8, 3 int16, 4 int32, 5 int64, 6 float64, 7 float32, 8 uint16
    sequence count          uint64, S
    document count          uint64, D + 1
    sequence lengths        int32[S], tokens per sequence
    sequence pointers       int64[S], byte offset of each sequence in the .bin
    document indices        int64[D + 1], 0 then the index one past each document's last sequence

Megatron has no uint32 code, so vocabularies above 65,536 are written as int32 (ids stay
below 2^31). `MegatronFile` is this module's reader of the same layout, used by
`dataflow inspect` and by the round-trip test.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dataflow.errors import InputError

MAGIC = b"MMIDIDX\x00\x00"
VERSION = 1
DTYPE_CODES = {1: np.uint8, 2: np.int8, 3: np.int16, 4: np.int32, 5: np.int64, 6: np.float64, 7: np.float32,
               8: np.uint16}
HEADER = struct.Struct("<9sQBQQ")  # magic, version, dtype code, sequence count, document count


def megatron_dtype(vocab_size: int) -> np.dtype:
    """uint16 while every id fits, else int32 (Megatron's choice; it has no uint32)."""
    return np.dtype("<u2") if vocab_size <= 2**16 else np.dtype("<i4")


def index_bytes(dtype: np.dtype, sequence_lengths: np.ndarray) -> bytes:
    """The `.idx` of sequences of these lengths, one document per sequence."""
    code = next(code for code, kind in DTYPE_CODES.items() if np.dtype(kind) == dtype.newbyteorder("="))
    lengths = np.asarray(sequence_lengths, dtype="<i4")
    starts = np.cumsum(lengths, dtype=np.int64) - lengths  # tokens before each sequence
    pointers = (starts * dtype.itemsize).astype("<i8")
    documents = np.arange(len(lengths) + 1, dtype="<i8")
    header = HEADER.pack(MAGIC, VERSION, code, len(lengths), len(documents))
    return header + lengths.tobytes() + pointers.tobytes() + documents.tobytes()


@dataclass(frozen=True)
class MegatronIndex:
    """A parsed `.idx`."""

    dtype: np.dtype
    sequence_lengths: np.ndarray
    sequence_pointers: np.ndarray
    document_indices: np.ndarray


def read_megatron_index(path: str | Path) -> MegatronIndex:
    """Parse a `.idx` file, refusing anything that is not version 1 of the format."""
    data = Path(path).read_bytes()
    if len(data) < HEADER.size:
        raise InputError(f"{path} is not a Megatron index: {len(data)} bytes, shorter than the header")
    magic, version, code, sequences, documents = HEADER.unpack_from(data)
    if magic != MAGIC or version != VERSION or code not in DTYPE_CODES:
        raise InputError(f"{path} is not a Megatron index (magic {magic!r}, version {version}, dtype code {code})")
    expected = HEADER.size + sequences * (4 + 8) + documents * 8
    if len(data) != expected:
        raise InputError(f"{path}: Megatron index is {len(data)} bytes, its header implies {expected}")
    lengths = np.frombuffer(data, dtype="<i4", count=sequences, offset=HEADER.size)
    pointers = np.frombuffer(data, dtype="<i8", count=sequences, offset=HEADER.size + 4 * sequences)
    doc_index = np.frombuffer(data, dtype="<i8", count=documents, offset=HEADER.size + 12 * sequences)
    return MegatronIndex(np.dtype(DTYPE_CODES[code]).newbyteorder("<"), lengths, pointers, doc_index)


class MegatronFile:
    """`prefix.bin` read through `prefix.idx`, memory-mapped: `len(f)` sequences, `f.sequence(i)`."""

    def __init__(self, prefix: str | Path):
        self.prefix = str(prefix)
        self.index = read_megatron_index(f"{prefix}.idx")
        size = Path(f"{prefix}.bin").stat().st_size
        ends = self.index.sequence_pointers + self.index.sequence_lengths.astype(np.int64) * self.index.dtype.itemsize
        if size != int(ends.max(initial=0)):
            raise InputError(f"{prefix}.bin is {size} bytes, its index ends at byte {int(ends.max(initial=0))}")
        self._data = np.memmap(f"{prefix}.bin", dtype=np.uint8, mode="r") if size else np.zeros(0, dtype=np.uint8)

    def __len__(self) -> int:
        return len(self.index.sequence_lengths)

    def sequence(self, i: int) -> np.ndarray:
        return np.frombuffer(self._data, dtype=self.index.dtype, count=int(self.index.sequence_lengths[i]),
                             offset=int(self.index.sequence_pointers[i]))

"""Megatron .bin/.idx: the index bytes are the published layout, and the reader reads them back."""

import struct

import numpy as np
import pytest

from dataflow.errors import InputError
from dataflow.mix.megatron import MegatronFile, index_bytes, megatron_dtype


def published_index(code: int, lengths: list[int], itemsize: int) -> bytes:
    """The .idx as Megatron-Core's `_IndexWriter` writes it, field by field (indexed_dataset.py)."""
    pointers = [sum(lengths[:i]) * itemsize for i in range(len(lengths))]
    return (b"MMIDIDX\x00\x00" + struct.pack("<Q", 1) + struct.pack("<B", code)
            + struct.pack("<Q", len(lengths)) + struct.pack("<Q", len(lengths) + 1)
            + struct.pack(f"<{len(lengths)}i", *lengths) + struct.pack(f"<{len(lengths)}q", *pointers)
            + struct.pack(f"<{len(lengths) + 1}q", *range(len(lengths) + 1)))


@pytest.mark.parametrize(("vocab_size", "code"), [(65536, 8), (65537, 4)])  # uint16, else int32
def test_index_bytes_are_the_published_layout(vocab_size, code):
    dtype = megatron_dtype(vocab_size)
    assert index_bytes(dtype, np.array([3, 5, 1])) == published_index(code, [3, 5, 1], dtype.itemsize)


def test_reader_returns_each_sequence(tmp_path):
    sequences = [np.array([1, 2, 3]), np.array([65535, 0]), np.array([7])]
    dtype = megatron_dtype(65536)
    (tmp_path / "m.bin").write_bytes(np.concatenate(sequences).astype(dtype).tobytes())
    (tmp_path / "m.idx").write_bytes(published_index(8, [3, 2, 1], 2))
    read = MegatronFile(tmp_path / "m")
    assert len(read) == 3 and [read.sequence(i).tolist() for i in range(3)] == [s.tolist() for s in sequences]


def test_truncated_bin_and_foreign_index_are_refused(tmp_path):
    (tmp_path / "m.idx").write_bytes(published_index(8, [3, 2], 2))
    (tmp_path / "m.bin").write_bytes(b"\x00" * 8)
    with pytest.raises(InputError, match=r"m.bin is 8 bytes, its index ends at byte 10"):
        MegatronFile(tmp_path / "m")
    (tmp_path / "m.idx").write_bytes(b"TNTIDX\x00\x00" + b"\x00" * 40)
    with pytest.raises(InputError, match="is not a Megatron index"):
        MegatronFile(tmp_path / "m")

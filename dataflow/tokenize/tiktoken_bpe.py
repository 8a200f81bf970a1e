"""A `tiktoken` encoder built from a byte-level BPE `tokenizer.json`, used only when it is exact.

Why: `tokenizers`' `encode_batch_fast` was the tokenize stage's ceiling (about 330k tokens/s
per thread here, README "tokenizer, tokenize, mix"); tiktoken's BPE runs the same merges
several times faster. The two algorithms agree when (1) the pre-tokeniser is GPT-2's regex
over byte-level pieces (Radford et al. 2019, section 2.2; what `dataflow tokenizer train`
writes: `ByteLevel(add_prefix_space=False, use_regex=True)`, no normaliser), and (2) the
token made by merge i has a larger id than every token made before it, so tiktoken's "merge
the pair whose result has the lowest rank" picks HF's "apply the earliest merge" when ranks
are the ids. `conversion_refusal` checks what the file says; `verify` then compares both
encoders token for token on the multilingual texts the project carries and edge cases,
because (2) is necessary but not sufficient (a token reachable by another split, Unicode
classes that differ between the two regex engines). A tokenizer that fails either check is
encoded with `tokenizers`, and the job says why in one line.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from dataflow.object_store import local_copy

#: GPT-2's pre-tokenisation regex as tiktoken writes it (tiktoken_ext/openai_public.py, `gpt2`);
#: the same alternatives as `tokenizers`' ByteLevel pre-tokeniser.
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

#: Strings where the two regex engines or the two BPE loops could part ways: whitespace runs
#: before words and at the end, contractions, digits, special tokens inside text, emoji with
#: joiners, combining marks, scripts without spaces, control characters and a lone surrogate's
#: replacement character.
EDGE_CASES = (
    "", " ", "  \n\n\t x", "hello  world   \n", "It's we'll they've I'M don't", "12345 6789.0 ½ ⅔ ٣٤٥",
    "a<|endoftext|>b <|endoftext|>", "👩‍👩‍👧 👍🏽 🇯🇵", "e\u0301 n\u0303 \u200b\u200d",
    "日本語のテキスト。中文文本，한국어",
    "\x00\x01\x7f tab\there", "\ufffd\ufeffBOM", "ﬁ ﬀ Å Ω ℃",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
)


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character table (openai/gpt-2 src/encoder.py): how byte-level
    vocabularies spell raw bytes, so the vocabulary's strings map back to byte strings."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + extra)
            extra += 1
    return table


def conversion_refusal(spec: dict) -> str | None:
    """Why the tokenizer.json `spec` cannot be encoded by tiktoken exactly, or None if it can."""
    model, pre = spec.get("model") or {}, spec.get("pre_tokenizer") or {}
    if model.get("type") != "BPE":
        return f"model type {model.get('type')} is not BPE"
    if spec.get("normalizer") is not None:
        return "it has a normaliser"
    if model.get("dropout") or model.get("byte_fallback") or model.get("continuing_subword_prefix") \
            or model.get("end_of_word_suffix"):
        return "its BPE uses dropout, byte fallback or subword affixes"
    if not (pre.get("type") == "ByteLevel" and not pre.get("add_prefix_space") and pre.get("use_regex", True)):
        return "its pre-tokeniser is not GPT-2's ByteLevel(add_prefix_space=False, use_regex=True)"
    if any(token.get(flag) for token in spec.get("added_tokens", []) for flag in ("lstrip", "rstrip", "single_word")):
        return "an added token strips spaces or matches single words only"
    vocab, merges = model.get("vocab") or {}, model.get("merges") or []
    if any(char not in vocab for char in bytes_to_unicode().values()):
        return "its vocabulary lacks some of the 256 byte tokens"
    previous = max(vocab[char] for char in bytes_to_unicode().values())
    for merge in merges:
        left, right = merge.split(" ", 1) if isinstance(merge, str) else merge
        made = vocab.get(left + right)
        if made is None or made <= previous:
            return f"merge {left!r} + {right!r} does not make a token with a larger id than the merges before it"
        previous = made
    return None


def build_encoding(spec: dict, name: str):
    """The `tiktoken.Encoding` of an accepted spec: ranks are the vocabulary's ids, added tokens special."""
    import tiktoken

    to_byte = {char: byte for byte, char in bytes_to_unicode().items()}
    added = {token["content"]: token["id"] for token in spec.get("added_tokens", [])}
    ranks = {bytes(to_byte[char] for char in token): rank for token, rank in spec["model"]["vocab"].items()
             if token not in added}
    return tiktoken.Encoding(name=name, pat_str=GPT2_PATTERN, mergeable_ranks=ranks, special_tokens=added)


def carried_texts() -> list[str]:
    """The multilingual sample texts the package carries (dataflow/samples/text: en, de, es, fr,
    ja, ru, zh), split into topics, and EDGE_CASES: what every built encoder is checked on."""
    folder = resources.files("dataflow.samples") / "text"
    texts = [paragraph for item in sorted(folder.iterdir(), key=lambda item: item.name) if item.name.endswith(".txt")
             for paragraph in item.read_text(encoding="utf-8").split("\n## ")]
    return texts + list(EDGE_CASES)


def first_mismatch(encoding, tokenizer, texts: Iterable[str]) -> str | None:
    """The first text (shortened) on which tiktoken's ids differ from `tokenizers`', or None."""
    texts = list(texts)
    expected = tokenizer.encode_batch_fast(texts, add_special_tokens=False)
    for text, got, want in zip(texts, encode_texts(encoding, texts), expected):
        if got.tolist() != want.ids:
            return text[:40]
    return None


@functools.lru_cache(maxsize=2)
def exact_encoding(path: str, tokenizer_sha256: str):
    """(tiktoken encoding or None, why not): built from the file at `path` and checked on
    `carried_texts()`; cached per process, keyed by the file's sha256."""
    from tokenizers import Tokenizer

    path = str(local_copy(path))  # a tokenizer on object storage: this machine's copy
    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    refusal = conversion_refusal(spec)
    if refusal:
        return None, refusal
    encoding = build_encoding(spec, f"dataflow-{tokenizer_sha256[:12]}")
    mismatch = first_mismatch(encoding, Tokenizer.from_file(path), carried_texts())
    if mismatch is not None:
        return None, f"tiktoken's tokens differ from tokenizers' on {mismatch!r}"
    return encoding, None


def encode_texts(encoding, texts: Sequence[str]) -> list[np.ndarray]:
    """Token ids of each text, special tokens in the text matched as `tokenizers` does (it always
    splits added tokens out), one thread: Spark already runs a task per core."""
    return [np.array(ids, dtype=np.int64) for ids in encoding.encode_batch(list(texts), num_threads=1,
                                                                            allowed_special="all")]

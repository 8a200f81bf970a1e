"""Tokenizers: load any Hugging Face `tokenizer.json`, or train a byte-level BPE on a sample.

A token dataset is only meaningful with the tokenizer that made it, so a tokenizer is always
handled with its identity: `TokenizerInfo` (absolute path and sha256 of the file), which
every manifest records and every reader compares (`TokenDataset.require_tokenizer`).

The trained tokenizer is GPT-2's design (Radford et al. 2019, section 2.2): byte-level BPE,
so every string encodes without unknown tokens and `decode(encode(text)) == text` exactly;
no normaliser (NFKC would break the round trip), GPT-2's pre-tokenisation regex, and one
special token, the end-of-document `<|endoftext|>`. The sample it learns from is drawn in
Spark (`jobs/train_tokenizer.py`); this module only sees an iterator of texts.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import Field

from dataflow.atomic import temporary_path
from dataflow.config import StrictModel
from dataflow.errors import InputError
from dataflow.object_store import is_store, join, local_copy
from dataflow.shards import TokenizerInfo, file_sha256

#: End-of-document tokens of common tokenizers, tried in order when none is named:
#: GPT-2/Qwen, Llama 3, Llama 2/Mistral/T5, Gemma.
EOS_CANDIDATES = ("<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>")
#: The file a tokenizer stage folder (`dataflow tokenizer train --output FOLDER`) holds.
TOKENIZER_FILE = "tokenizer.json"


class TokenizerTrainConfig(StrictModel):
    """Settings of `dataflow tokenizer train` (byte-level BPE on a seeded sample of documents)."""

    vocab_size: int = Field(32000, gt=257)
    """Vocabulary size, the 256 byte tokens and the special tokens included (<= 65536 keeps token files uint16)."""
    max_sample_bytes: int = Field(256 * 1024**2, gt=0)
    """UTF-8 bytes of text the sample holds at most; only the sample reaches the driver."""
    seed: int = 0
    """Seed of the sample: documents are taken in the order of a hash of (seed, id)."""
    min_frequency: int = Field(2, ge=1)
    """A pair must occur this often in the sample to be merged."""
    eos_token: str = "<|endoftext|>"
    """The end-of-document special token; the tokenize job appends its id after every document."""


@dataclass(frozen=True)
class LoadedTokenizer:
    """A tokenizer with what the token format needs from it."""

    tokenizer: object
    """The `tokenizers.Tokenizer`."""
    info: TokenizerInfo
    """Absolute path and sha256 of the file it was loaded from."""
    eos_id: int
    """Id appended after every document."""
    vocab_size: int
    """One more than the largest id, added tokens included: what the token dtype must hold."""
    bos_id: int | None = None
    """Id put before every document (`--bos-token`, as Llama's tokenizers do); None: documents start bare."""

    def encode(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Token ids of each text, no special tokens added (the shard writer appends EOS).

        `encode_batch_fast` skips the character offsets `encode_batch` computes, which we never use.
        """
        encodings = self.tokenizer.encode_batch_fast(list(texts), add_special_tokens=False)
        return [np.array(encoding.ids, dtype=np.int64) for encoding in encodings]

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(map(int, ids)), skip_special_tokens=False)


def load_tokenizer(path: str | Path, eos_token: str | None = None, bos_token: str | None = None) -> LoadedTokenizer:
    """Load a `tokenizer.json`, or the one in a Hugging Face tokenizer or model folder, and find its EOS
    (`eos_token`, else the first of EOS_CANDIDATES it has) and, when `bos_token` is named, its BOS."""
    if is_store(path):  # on object storage: read from this machine's copy, named by its URL
        url = str(path) if str(path).endswith(".json") else join(str(path), TOKENIZER_FILE)
        try:
            local = local_copy(url)
        except FileNotFoundError:
            raise InputError(f"tokenizer file {url} does not exist; train one with `dataflow tokenizer train` "
                             "or give a Hugging Face tokenizer.json") from None
        return _loaded(read_tokenizer(local), TokenizerInfo(path=url, sha256=file_sha256(local)), eos_token, bos_token)
    path = Path(path).resolve()
    if path.is_dir():
        path = path / TOKENIZER_FILE
        if not path.is_file():
            raise InputError(f"{path.parent} holds no {TOKENIZER_FILE}; a folder with only a SentencePiece model "
                             "converts with transformers: "
                             "AutoTokenizer.from_pretrained(FOLDER).save_pretrained(FOLDER)")
    return _loaded(read_tokenizer(path), TokenizerInfo.from_file(path), eos_token, bos_token)


def _loaded(tokenizer, info: TokenizerInfo, eos_token: str | None, bos_token: str | None) -> LoadedTokenizer:
    """The tokenizer with its EOS (and BOS when named) found, refused in one line when it lacks them."""
    path = info.path
    eos_id = find_eos(tokenizer, eos_token)
    if eos_id is None:
        raise InputError(f"tokenizer {path} has no end-of-document token "
                         f"{' or '.join([eos_token] if eos_token else EOS_CANDIDATES)}; "
                         "name the one it uses with --eos-token")
    bos_id = tokenizer.token_to_id(bos_token) if bos_token else None
    if bos_token and bos_id is None:
        raise InputError(f"tokenizer {path} has no token {bos_token!r} for --bos-token; give one it has "
                         "(e.g. <s>, <|begin_of_text|>, <bos>)")
    return LoadedTokenizer(tokenizer=tokenizer, info=info, eos_id=eos_id,
                           vocab_size=id_space(tokenizer), bos_id=bos_id)


def read_tokenizer(path: Path):
    """The `tokenizers.Tokenizer` in a tokenizer.json, with one-line errors for a missing or foreign file."""
    from tokenizers import Tokenizer

    if not path.is_file():
        raise InputError(f"tokenizer file {path} does not exist; train one with `dataflow tokenizer train` "
                         "or give a Hugging Face tokenizer.json")
    try:
        return Tokenizer.from_file(str(path))
    except Exception as err:  # tokenizers raises a bare Exception for malformed files
        raise InputError(f"{path} is not a Hugging Face tokenizer.json ({str(err).splitlines()[0]})") from None


def id_space(tokenizer) -> int:
    """One more than the largest id, added tokens included: what the token dtype must hold."""
    return max(tokenizer.get_vocab(with_added_tokens=True).values()) + 1


def find_eos(tokenizer, eos_token: str | None = None) -> int | None:
    """Id of `eos_token`, else of the first of EOS_CANDIDATES in the vocabulary; None if absent."""
    vocab = tokenizer.get_vocab(with_added_tokens=True)
    return next((vocab[name] for name in ([eos_token] if eos_token else EOS_CANDIDATES) if name in vocab), None)


def train_byte_level_bpe(texts: Iterable[str], config: TokenizerTrainConfig):
    """A byte-level BPE `tokenizers.Tokenizer` learnt from `texts` (streamed, never held whole)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=config.vocab_size, min_frequency=config.min_frequency,
                                  special_tokens=[config.eos_token],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer


def save_tokenizer(tokenizer, path: str | Path) -> TokenizerInfo:
    """Write `tokenizer.json` atomically (temporary name, then rename) and return its identity."""
    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    tokenizer.save(str(tmp))
    os.replace(tmp, path)
    return TokenizerInfo.from_file(path)


def load_matching_tokenizer(info: TokenizerInfo, override: str | Path | None, owner: str):
    """The `tokenizers.Tokenizer` a manifest names (or `override`), refused unless its sha256 is the
    manifest's: ids decoded with another vocabulary would be silently wrong."""
    path = Path(override or info.path)
    if not path.is_file():
        raise InputError(f"{owner} was made with tokenizer {info.path}, which is missing; "
                         "pass the same file with --tokenizer")
    actual = TokenizerInfo.from_file(path).sha256
    if actual != info.sha256:
        raise InputError(f"{owner} was made with tokenizer sha256 {info.sha256[:12]}…, but {path} has "
                         f"sha256 {actual[:12]}…; pass the tokenizer it was made with (--tokenizer)")
    return read_tokenizer(path)

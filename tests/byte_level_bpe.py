"""A small byte-level BPE trained in a test on the texts it tokenizes: the tokenizer kind GPT-2 and Llama 3
use, with the special tokens the test needs, in a second instead of a Spark job."""

from __future__ import annotations

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers


def byte_level_bpe(texts: list[str], vocab_size: int,
                   special_tokens: tuple[str, ...] = ("<|endoftext|>",)) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(special_tokens),
                                                             initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return tokenizer

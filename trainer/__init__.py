"""The torch side: GPT proxies on token datasets, distributed training, evaluation and mixture search."""

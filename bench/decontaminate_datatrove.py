"""datatrove's n-gram decontamination on given items and documents (the peer in bench/decontaminate.py).

Runs under datatrove's own venv (datatrove 0.10.1 pins older trafilatura/xxhash):

    $DATATROVE_PYTHON bench/decontaminate_datatrove.py --items items.jsonl \\
        --docs docs.jsonl --ngram 13 --workdir dt-work --out result.json

`NGramsDecontIndexer.run` fetches its tasks through lighteval (not installed, and offline
here), so the index is built with the indexer's own `compute_hashes` on each item's text
(label = the item's fields joined, no query: the same text our index reads) and written in
the indexer's format, one `<task>.index.hashes` file per benchmark. `NGramsDecontFilter`
then loads those files and filters the documents, one process, as it runs in a pipeline.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict
from types import SimpleNamespace

import numpy as np
import psutil
from datatrove.data import Document
from datatrove.pipeline.decont.n_grams import NGramsDecontConfig, NGramsDecontFilter, NGramsDecontIndexer
from datatrove.utils.hashing import create_hash_func
from datatrove.utils.word_tokenizers import load_word_tokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", required=True, help="JSONL of {benchmark, id, text}")
    parser.add_argument("--docs", required=True, help="JSONL of {id, text}")
    parser.add_argument("--ngram", type=int, default=13)
    parser.add_argument("--workdir", required=True, help="folder for the index files")
    parser.add_argument("--out", required=True, help="JSON file for the figures")
    args = parser.parse_args()
    config = NGramsDecontConfig(n_grams=args.ngram, find_query_ngrams=False, find_overlap_ngrams=False)
    indexer = SimpleNamespace(config=config, tokenizer=load_word_tokenizer("en"),
                              hash_func=create_hash_func(config.hash_config))
    started = time.time()
    hashes = defaultdict(set)
    with open(args.items, encoding="utf-8") as lines:
        for item in map(json.loads, lines):
            hashes[item["benchmark"]].update(NGramsDecontIndexer.compute_hashes(indexer, item["text"], None))
    os.makedirs(args.workdir, exist_ok=True)
    for task, values in hashes.items():
        np.array(sorted(values), dtype=config.hash_config.np_descr).tofile(os.path.join(args.workdir,
                                                                                        f"{task}.index.hashes"))
    build_seconds = time.time() - started
    rss_before = psutil.Process().memory_info().rss
    started = time.time()
    decont = NGramsDecontFilter(args.workdir, config=config, language="en")
    decont.load_index_hashes()
    load_seconds = time.time() - started
    index_rss = psutil.Process().memory_info().rss - rss_before
    with open(args.docs, encoding="utf-8") as lines:
        docs = [Document(text=row["text"], id=row["id"]) for row in map(json.loads, lines)]
    started = time.time()
    flagged = [doc.id for doc in docs if decont.filter(doc) is not True]
    seconds = time.time() - started
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump({"build_seconds": build_seconds, "hashes": sum(map(len, hashes.values())),
                   "index_file_bytes": sum(os.path.getsize(os.path.join(args.workdir, name))
                                           for name in os.listdir(args.workdir)),
                   "load_seconds": load_seconds, "index_rss_bytes": index_rss, "filter_seconds": seconds,
                   "documents": len(docs), "flagged": flagged}, out)


if __name__ == "__main__":
    main()

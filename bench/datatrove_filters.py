"""datatrove's Gopher, C4 and FineWeb filters over a JSONL of documents: the peer side of
bench/filter_agreement.py and bench/filters.py. Runs in datatrove's own venv:

    $DATATROVE_PYTHON bench/datatrove_filters.py docs.jsonl decisions.jsonl

Input lines: {"id", "text", "stop_words", "language"}: the stop-word list our side uses for the
page, and datatrove's language code for its word tokenizer ("en": spaCy English; "cmn":
spaCy + jieba; "ja": spaCy + SudachiPy).
Output lines: {"id", "<filter>": null when kept, else datatrove's reason} for each filter run
alone on the original text, and "chain": FineWeb's pipeline order (Gopher repetition, Gopher
quality, C4 (which edits the text), FineWeb on the edited text). The last stdout line is a
JSON object of CPU seconds per filter (filters alone, on all documents), and the documents count.
"""

from __future__ import annotations

import json
import sys
import time


def main(source: str, target: str) -> None:
    from loguru import logger

    from datatrove.data import Document
    from datatrove.utils.text import split_into_sentences, split_into_words
    from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                            GopherRepetitionFilter)

    logger.remove()  # datatrove logs every stat update otherwise
    with open(source, encoding="utf-8") as handle:
        pages = [json.loads(line) for line in handle]
    for language in {page["language"] for page in pages}:  # load spaCy/jieba/SudachiPy before the clock runs
        split_into_sentences(split_into_words("Warm up the tokenizer. 準備", language)[0], language)
    filters: dict[tuple, dict] = {}  # per (language, stop words): one instance of each filter
    seconds = {"gopher_repetition": 0.0, "gopher_quality": 0.0, "c4": 0.0, "fineweb": 0.0}

    def run(name, step, doc):
        started = time.process_time()
        result = step.filter(doc)
        seconds[name] += time.process_time() - started
        return None if result is True else result[1]

    with open(target, "w", encoding="utf-8") as out:
        for page in pages:
            language, words = page["language"], page["stop_words"]
            steps = filters.get((language, tuple(words)))
            if steps is None:
                steps = filters[language, tuple(words)] = {
                    "gopher_repetition": GopherRepetitionFilter(language=language),
                    "gopher_quality": GopherQualityFilter(stop_words=words, language=language),
                    "c4": C4QualityFilter(language=language), "fineweb": FineWebQualityFilter(language=language)}
            row = {"id": page["id"]}
            for name in ("gopher_repetition", "gopher_quality", "fineweb"):
                row[name] = run(name, steps[name], Document(text=page["text"], id=page["id"]))
            edited = Document(text=page["text"], id=page["id"])
            row["c4"] = run("c4", steps["c4"], edited)  # edits edited.text when it keeps the page
            chain = row["gopher_repetition"] or row["gopher_quality"] or row["c4"]
            if chain is None:
                result = steps["fineweb"].filter(edited)
                chain = None if result is True else result[1]
            row["chain"] = chain
            out.write(json.dumps(row) + "\n")
    print(json.dumps({"documents": len(pages), "cpu_seconds": seconds}))


if __name__ == "__main__":
    main(*sys.argv[1:3])

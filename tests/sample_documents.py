"""Realistic documents without ../shared/data, from the project's sample generator (dataflow/samples),
for the tests that need text shaped like web pages (several languages, varied lengths, real-looking
urls) but not the real pages themselves:

- `sample_documents`: the generator's articles, clean prose, made directly (no HTML, no extraction);
- `sample_crawl_documents`: a whole sample crawl as the extract stage keeps it (articles, copies,
  link lists, spam, degenerate pages), for the tests whose point needs pages a filter rejects."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

from dataflow.extract.langid import default_model_path
from dataflow.extract.records import ExtractConfig, extract_file
from dataflow.samples import write_sample_warcs
from dataflow.samples.plan import article_sites
from dataflow.samples.prose import DistinctArticles
from dataflow.samples.urls import article_url


def sample_documents(count: int, seed: int = 0) -> list[dict]:
    """{id, text, language, url} of `count` sample articles (title and paragraphs, one per line),
    in the sample crawl's languages and shares (every sample site once, then 55% en); the same
    for the same seed."""
    rng = random.Random(seed)
    maker = DistinctArticles()
    docs = []
    for serial, site in enumerate(article_sites(count, rng)[:count]):
        article = maker.make(site.lang, rng)
        url = article_url(site, article.title, serial, rng)
        docs.append({"id": hashlib.sha256(url.encode()).hexdigest()[:32], "url": url, "language": site.lang,
                     "text": "\n".join([article.title, *article.paragraphs])})
    return docs


def sample_crawl_documents(folder: Path, num_pages: int, seed: int = 0) -> list[dict]:
    """{id, text, language, url, kind} of the pages the extract stage keeps from a sample crawl of
    `num_pages` HTML pages written to `folder`, in crawl order: read and extracted on the driver
    by the stage's own per-file function (no Spark), language as its language ID finds it, kind
    (article, boilerplate, spam, ...) from the crawl's manifest."""
    summary = write_sample_warcs(folder, num_pages=num_pages, num_files=1, seed=seed)
    with open(summary.manifest_path, encoding="utf-8") as manifest:
        kinds = {row["url"]: row["kind"] for row in map(json.loads, manifest) if row["kind"] != "revisit"}
    rows = [row for path in summary.warc_paths
            for batch in extract_file(str(path), ExtractConfig(), default_model_path()) for row in batch.to_pylist()]
    return [{**{key: row[key] for key in ("id", "text", "language", "url")}, "kind": kinds[row["url"]]}
            for row in rows if row["reject_reason"] is None]

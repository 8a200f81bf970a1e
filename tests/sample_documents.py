"""Realistic documents without ../shared/data: the articles of the project's sample generator
(dataflow/samples) as extracted documents, for the tests that need text shaped like web pages
(several languages, varied lengths, real-looking urls) but not the real pages themselves."""

from __future__ import annotations

import hashlib
import random

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

"""Exact and near duplicates of an article, made the ways copies arise on the web.

Exact copies are the original bytes served again under another URL: tracking parameters,
a print or AMP view, the other scheme, or a mirror host; the extracted text is therefore
identical. Near duplicates are the article edited a little and rendered again, usually on
another site of the same language, so the boilerplate differs too:

- `word_edit`: one to three words replaced or deleted (characters in Chinese and Japanese);
- `sentence_swap`: two neighbouring sentences of one paragraph exchanged;
- `sentence_drop`: one sentence left out;
- `title_edit`: the headline rewritten.

Copies are made of articles of 20 or more sentences and move only to a site with the same
layout (see `captures._near_duplicates`); on a 2,000-page sample every copy's trafilatura
text then has a word 5-gram Jaccard of at least 0.85 with its original (median about 0.94),
above the usual 0.8 dedup threshold.
"""

from __future__ import annotations

import random

from dataflow.samples import prose

COPY_VARIANTS = ("tracking_params", "print_view", "amp_view", "other_scheme", "mirror_host")
EDITS = ("word_edit", "sentence_swap", "sentence_drop", "title_edit")


def copy_url(url: str, variant: str) -> str:
    """`url` as another URL serving the same bytes."""
    joiner = "&" if "?" in url else "?"
    scheme, rest = url.split("://", 1)
    if variant == "tracking_params":
        return f"{url}{joiner}utm_source=newsletter&utm_medium=email&utm_campaign=weekly"
    if variant == "print_view":
        return f"{url}{joiner}print=1"
    if variant == "amp_view":
        return f"{url}{joiner}amp=1"
    if variant == "other_scheme":
        return f"{'http' if scheme == 'https' else 'https'}://{rest}"
    if variant == "mirror_host":
        return f"{scheme}://mirror.{rest.removeprefix('www.')}"
    raise ValueError(f"unknown copy variant {variant!r}; known: {', '.join(COPY_VARIANTS)}")


def near_duplicate(article: prose.Article, rng: random.Random) -> tuple[prose.Article, list[str]]:
    """`article` with one or two edits; returns the edited article and the edit names."""
    edits = sorted(rng.sample(EDITS, rng.randint(1, 2)))
    sections = [(heading, [list(para) for para in paras]) for heading, paras in article.sections]
    paragraphs = [para for _, paras in sections for para in paras]
    title = article.title
    for edit in edits:
        if edit == "word_edit":
            for _ in range(rng.randint(1, 3)):
                para = rng.choice(paragraphs)
                index = rng.randrange(len(para))
                para[index] = _edit_words(article.lang, para[index], rng)
        elif edit == "sentence_swap":
            para = rng.choice(paragraphs)
            index = rng.randrange(len(para) - 1)
            para[index], para[index + 1] = para[index + 1], para[index]
        elif edit == "sentence_drop":
            para = max(paragraphs, key=len)
            del para[rng.randrange(len(para))]
        elif edit == "title_edit":
            pattern = rng.choice([p for p in prose.ui(article.lang)["title_patterns"] if p != "{h}"])
            title = pattern.format(h=article.sections[0][0], n=rng.randint(13, 20))
    edited = tuple((heading, tuple(tuple(para) for para in paras)) for heading, paras in sections)
    return prose.Article(article.lang, title, edited, article.style_seed), edits


def _edit_words(lang: str, sentence: str, rng: random.Random) -> str:
    if lang in prose.UNSPACED:
        index = rng.randrange(max(1, len(sentence) - 2))
        return sentence[:index] + sentence[index + 2:]
    words = sentence.split()
    index = rng.randrange(len(words) - 1)  # keep the last word and its full stop
    if rng.random() < 0.5:
        del words[index]
    else:
        words[index] = rng.choice(prose.all_sentences(lang)).split()[1]
    return " ".join(words)

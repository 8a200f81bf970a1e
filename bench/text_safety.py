"""Toxicity and personal data on real text: flagged shares, recall on planted passages, cost per document.

    python -m bench.text_safety [--words-only] [--list-flagged]

Toxicity (dataflow/filters/toxicity.py, default thresholds; the LDNOOBW English list of
../shared/data/text/lists/ and alt-profanity-check's model):
- clean text: WikiText-2 test and validation articles, the English books (botchan,
  tinyshakespeare) cut into ~3,000-character documents at paragraph ends, and the English pages
  of the `article` sources of ../shared/data/html (article-extraction-benchmark, magic-html-article):
  the share flagged per scorer, and every flagged document listed with the words that hit;
- planted: an abusive passage of two to four sentences, built from templates with words of the
  list in context, planted at a random paragraph end of each English article page; the share found.
Personal data (dataflow/filters/pii.py, default settings):
- planted: one item of each kind (e-mail, international and national phone numbers, IPv4, IPv6,
  Luhn-valid card numbers, checksum-valid IBANs), drawn from a seeded generator, planted into every
  real page with text; recall per kind (the item replaced by its own placeholder);
- untouched real pages: every replacement listed with its context, for counting false positives by eye.
Cost: CPU seconds per document of each screen against the filter stage's own (filter_batch with
the default rules and no screen) on the same 1,695 real pages, one process.
With DATATROVE_PYTHON set, datatrove 0.10.1's PIIFormatter (e-mail and public IP addresses) runs
on the same planted and untouched pages in the same run (bench/datatrove_formatters.py).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import re
import sys
import time
from pathlib import Path

import pyarrow as pa

from bench.datatrove_formatters import run_formatter
from bench.text_repair import wikitext_articles
from dataflow.filters.apply import filter_batch
from dataflow.filters.config import FilterConfig, RuleSet
from dataflow.filters.lists import read_list
from dataflow.filters.pii import KINDS, PLACEHOLDERS, PiiConfig, find_and_mask, iban_valid, luhn_valid
from dataflow.filters.toxicity import ENGLISH_MODEL, WORDS, ToxicityConfig, score_documents, toxic_value
from dataflow.schema import doc_schema
from bench.common.planting import plant
from bench.common.real_pages import real_texts

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
WORD_LIST = SHARED_DATA / "text" / "lists" / "naughty_words_en.txt"
ARTICLE_SOURCES = ("article-extraction-benchmark", "magic-html-article")
#: Abusive sentences with slots for listed words ({w}), as found in comment threads.
TEMPLATES = ("Shut up, you {w} {w}.", "Nobody cares what a {w} like you thinks.", "Go {w} yourself, you {w}.",
             "You are a {w} and your friends are {w}s.", "What a {w} {w} this guy is.",
             "Get lost, {w}, and take your {w} opinions with you.")
#: Words of the list used in the templates: insults, not anatomy or sexual terms.
INSULTS = ("fuck", "fucking", "shit", "bitch", "bastard", "asshole", "motherfucker", "cunt", "dick", "twat", "wanker",
           "bullshit", "slut", "whore", "retard")


def book_chunks(size: int = 3000) -> list[str]:
    chunks = []
    for name in ("botchan", "tinyshakespeare"):
        text = gzip.open(SHARED_DATA / "text" / "books" / f"{name}.txt.gz", "rt", encoding="utf-8").read()
        current = ""
        for paragraph in text.split("\n\n"):
            current += paragraph + "\n\n"
            if len(current) >= size:
                chunks.append(current)
                current = ""
    return chunks


def article_pages(pages: list[dict]) -> list[dict]:
    return [page for page in pages if page["language"] == "en" and page["source"] in ARTICLE_SOURCES]


def abusive_passage(rng: random.Random, listed: frozenset[str]) -> str:
    words = [word for word in INSULTS if word in listed]
    sentences = rng.sample(TEMPLATES, rng.randint(2, 4))
    return " ".join(re.sub(r"\{w\}", lambda _: rng.choice(words), sentence) for sentence in sentences)


def toxicity_report(pages: list[dict], words_only: bool, list_flagged: bool) -> None:
    config = ToxicityConfig(word_lists={"en": str(WORD_LIST)}, english_model=not words_only)
    articles = article_pages(pages)
    sets = {"wikitext-2": wikitext_articles(min_chars=500), "books (en)": book_chunks(),
            "real article pages (en)": [page["text"] for page in articles]}
    scorers = [WORDS] + ([] if words_only else [ENGLISH_MODEL])
    limits = config.thresholds()
    print(f"toxicity, defaults: {WORDS} > {config.max_word_frac} in a {config.word_window}-word window; "
          f"{ENGLISH_MODEL} > {config.max_english_score}")
    for name, texts in sets.items():
        scores = score_documents(texts, ["en"] * len(texts), config)
        flagged = {scorer: [i for i, score in enumerate(scores) if score[scorer] > limits[scorer]]
                   for scorer in scorers}
        either = sum(toxic_value(score, config) is not None for score in scores)
        print(f"  clean {name}: {len(texts)} documents, flagged " +
              ", ".join(f"{scorer} {len(found)} ({len(found) / len(texts):.2%})" for scorer, found in flagged.items()) +
              f", either {either} ({either / len(texts):.2%})")
        for scorer, found in flagged.items():
            for i in found if list_flagged or len(found) <= 10 else found[:10]:
                print(f"    {scorer} = {scores[i][scorer]:.3f}: {_snippet(texts[i])}")
    rng = random.Random(15)
    listed = read_list(str(WORD_LIST))
    planted = [plant(page["text"], abusive_passage(rng, listed), rng)[0] for page in articles]
    scores = score_documents(planted, ["en"] * len(planted), config)
    print(f"  planted abusive passages in {len(planted)} real article pages: found " +
          ", ".join(f"{scorer} {sum(s[scorer] > limits[scorer] for s in scores)}" for scorer in scorers) +
          f", either {sum(toxic_value(s, config) is not None for s in scores)}")


def pii_items(rng: random.Random) -> dict[str, str]:
    """One item of each kind, valid by its checksum where it has one."""
    card = _with_check_digit(rng.choice(["4", "51", "37"]) + "".join(rng.choice("0123456789") for _ in range(13)))
    card = " ".join(card[i:i + 4] for i in range(0, len(card), 4))
    iban = _valid_iban(rng)
    phone = rng.choice([f"+{rng.choice([1, 33, 44, 49, 81, 86])} {rng.randint(20, 99)} {rng.randint(1000, 9999)} "
                        f"{rng.randint(1000, 9999)}", f"({rng.randint(200, 999)}) {rng.randint(200, 999)}-"
                        f"{rng.randint(1000, 9999)}", f"0{rng.randint(30, 89)} {rng.randint(1000000, 99999999)}",
                        f"0{rng.randint(1, 9)} " + " ".join(f"{rng.randint(0, 99):02d}" for _ in range(4))])
    return {"email": f"{rng.choice(['anna', 'j.smith', 'li.wei', 'k_mueller'])}{rng.randint(1, 99)}@"
                     f"{rng.choice(['gmail.com', 'example.org', 'uni-hamburg.de', 'mail.co.jp'])}",
            "phone": phone, "ipv4": f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}."
                                    f"{rng.randint(1, 254)}",
            "ipv6": f"2001:db8:{rng.randint(1, 0xffff):x}::{rng.randint(1, 0xffff):x}", "credit_card": card,
            "iban": iban}


def _with_check_digit(digits: str) -> str:
    return next(digits + d for d in "0123456789" if luhn_valid(digits + d))


def _valid_iban(rng: random.Random) -> str:
    bban = "".join(rng.choice("0123456789") for _ in range(18))
    iban = next(f"DE{check:02d}{bban}" for check in range(2, 99) if iban_valid(f"DE{check:02d}{bban}"))
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


def pii_report(pages: list[dict]) -> None:
    config = PiiConfig()
    rng = random.Random(15)
    found = dict.fromkeys(KINDS, 0)
    missed: dict[str, list[str]] = {kind: [] for kind in KINDS}
    planted = []
    for page in pages:
        for kind, item in pii_items(rng).items():
            host, _ = plant(page["text"], f"Contact: {item}.", rng)
            planted.append({"id": f"{kind}|{page['id']}", "text": host, "item": item})
            masked, _ = find_and_mask(host, config)
            if f"Contact: {PLACEHOLDERS[kind]}." in masked:
                found[kind] += 1
            else:
                missed[kind].append(item)
    print(f"personal data planted in {len(pages)} real pages, one item of each kind per page: recall " +
          ", ".join(f"{kind} {found[kind] / len(pages):.2%}" for kind in KINDS))
    for kind, items in missed.items():
        if items:
            print(f"  missed {kind}: {len(items)}, e.g. {items[:3]}")
    peer_kinds = ("email", "ipv4")  # what datatrove's PIIFormatter replaces (IPs: public ones only)
    peer = run_formatter("pii", [{"id": row["id"], "text": row["text"]} for row in planted
                                 if row["id"].split("|")[0] in peer_kinds])
    if peer is not None:
        recall = {kind: sum(f"Contact: {row['item']}." not in peer[0][row["id"]] for row in planted
                            if row["id"].startswith(kind + "|")) / len(pages) for kind in peer_kinds}
        print("  datatrove 0.10.1 PIIFormatter on the same pages (e-mail and public IPv4 only): recall " +
              ", ".join(f"{kind} {share:.2%}" for kind, share in recall.items()))
    replaced = 0
    print("replacements on the untouched real pages (every one, with context):")
    for page in pages:
        for kind in KINDS:
            single = PiiConfig(kinds=[kind])
            masked, counts = find_and_mask(page["text"], single)
            if not counts:
                continue
            replaced += counts[kind]
            for match in re.finditer(re.escape(PLACEHOLDERS[kind]), masked):
                print(f"  {kind:<11} {page['id'][:40]:<40} "
                      f"...{_snippet(masked[max(0, match.start() - 40):match.end() + 30])}...")
    print(f"  total replacements: {replaced} in {len(pages)} pages")
    started = time.process_time()
    ours = {page["id"]: find_and_mask(page["text"], PiiConfig(kinds=["email", "ipv4"]))[0] for page in pages}
    ours_ms = (time.process_time() - started) / len(pages) * 1000
    peer = run_formatter("pii", [{"id": page["id"], "text": page["text"]} for page in pages])
    if peer is not None:
        print(f"  e-mail and IPv4 only: ours changes {sum(ours[p['id']] != p['text'] for p in pages)} pages "
              f"({ours_ms:.3f} ms per page), datatrove's PIIFormatter "
              f"{sum(peer[0][p['id']] != p['text'] for p in pages)} ({peer[1] / len(pages) * 1000:.3f} ms per page)")


def cost_report(pages: list[dict], words_only: bool, rounds: int = 3) -> None:
    """CPU time per document of the filter stage's Arrow function under each configuration; the
    configurations take turns for `rounds` rounds and the fastest round of each counts, which
    keeps the comparison fair on a shared machine."""
    table = pa.Table.from_pylist([{"id": p["id"], "text": p["text"], "language": p["language"], "url": p["url"]}
                                  for p in pages], schema=doc_schema())
    data = table.to_batches(max_chunksize=256)
    variants = {"rules only": FilterConfig(pii={"enabled": False}),
                "rules + pii (default)": FilterConfig(),
                "rules + pii + toxicity word list": FilterConfig(toxicity={"word_lists": {"en": str(WORD_LIST)}})}
    if not words_only:
        variants["rules + pii + word list + English model"] = FilterConfig(
            toxicity={"word_lists": {"en": str(WORD_LIST)}, "english_model": True})
    rule_sets = {name: RuleSet(config) for name, config in variants.items()}
    for rules in rule_sets.values():
        filter_batch(data[0].slice(0, 2), rules)  # warm-up: imports, models, rule objects
    best = dict.fromkeys(variants, float("inf"))
    for _ in range(rounds):
        for name, rules in rule_sets.items():
            started = time.process_time()
            for batch in data:
                filter_batch(batch, rules)
            best[name] = min(best[name], (time.process_time() - started) / len(pages) * 1000)
    base = best["rules only"]
    print(f"cost per document, CPU time in one process, fastest of {rounds} interleaved rounds, {len(pages)} real "
          "pages "
          f"(mean {sum(len(p['text']) for p in pages) / len(pages):,.0f} characters):")
    for name, per_doc in best.items():
        extra = ("" if name == "rules only"
                 else f"  (+{per_doc - base:.3f} ms, +{(per_doc - base) / base:.1%} of the filter stage)")
        print(f"  {name:<42} {per_doc:.3f} ms{extra}")


def _snippet(text: str, chars: int = 110) -> str:
    return json.dumps(" ".join(text.split())[:chars], ensure_ascii=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--words-only", action="store_true", help="leave out alt-profanity-check")
    parser.add_argument("--list-flagged", action="store_true", help="list every flagged clean document, not ten")
    args = parser.parse_args(argv)
    if not WORD_LIST.is_file():
        parser.error(f"shared data not found at {SHARED_DATA}")
    pages = _pages_with_source()
    toxicity_report(pages, args.words_only, args.list_flagged)
    pii_report(pages)
    cost_report(pages, args.words_only)
    return 0


def _pages_with_source() -> list[dict]:
    """The real pages (bench/common/real_pages.py) with their source folder, matched by the id it derives."""
    sources = {}
    with open(SHARED_DATA / "html" / "manifest.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            sources[hashlib.sha256(row["id"].encode()).hexdigest()[:32]] = row["source"]
    return [{**page, "source": sources[page["id"]]} for page in real_texts(SHARED_DATA)]


if __name__ == "__main__":
    sys.exit(main())

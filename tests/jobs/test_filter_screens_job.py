"""Toxicity and personal data through the filter job's plan in real Spark local mode: reason `toxic`
in rejected/ and stats.json, the `toxicity_score` column, masked text and per-kind counts."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from jobs import filter as filter_job
from bench.common.real_pages import load_pages, write_documents

pytestmark = pytest.mark.slow  # whole-job Spark runs; the fast tier runs every stage via the pipeline (docs/testing.md)

ABUSE = "Shut up, you stupid bitch. Fuck you and your asshole friends, you worthless piece of shit. "
CONTACT = "Write to jane.doe@example.org, call +44 20 7946 0958, or pay to DE89 3704 0044 0532 0130 00."


@pytest.fixture(scope="module")
def screened(spark, shared_data, tmp_path_factory):
    """20 English real pages, then the same pages with an abusive passage and with contact details."""
    folder = tmp_path_factory.mktemp("screens")
    english = [page for page in load_pages(shared_data) if page["language"] == "en"][:20]
    planted = [{**page, "id": f"abusive-{i}", "text": page["text"] + "\n" + ABUSE * 3} for i,
               page in enumerate(english[:5])]
    planted += [{**page, "id": f"contact-{i}", "text": page["text"] + "\n" + CONTACT} for i,
                page in enumerate(english[5:10])]
    documents = write_documents(folder / "docs", [*english, *planted])
    config = folder / "pipeline.yaml"
    word_list = shared_data / "text" / "lists" / "naughty_words_en.txt"
    config.write_text(f"filter:\n  toxicity:\n    word_lists: {{en: {word_list}}}\n", encoding="utf-8")
    out = folder / "filtered"
    assert filter_job.main(["--input", str(documents), "--output", str(out), "--config", str(config)]) == 0
    return out


def test_abusive_pages_are_rejected_as_toxic_and_counted(screened):
    stats = json.loads((screened / "stats.json").read_text())
    rejected = pq.read_table(screened / "rejected").to_pylist()
    toxic = sorted(row["id"] for row in rejected if row["reject_reason"] == "toxic")
    assert toxic == [f"abusive-{i}" for i in range(5)]
    assert stats["rejected_by_reason"]["toxic"] == 5
    assert stats["rows_in"] == stats["rows_out"] + sum(stats["rejected_by_reason"].values()) == 30


def test_kept_rows_carry_a_toxicity_score_below_one_and_masked_contacts(screened):
    kept = {row["id"]: row for row in pq.read_table(screened / "data").to_pylist()}
    assert all(row["toxicity_score"] is not None and row["toxicity_score"] <= 1 for row in kept.values())
    contacts = [row for row_id, row in kept.items() if row_id.startswith("contact-")]
    assert contacts and all(row["text"].endswith("Write to <EMAIL>, call <PHONE>, or pay to <IBAN>.")
                            for row in contacts)
    assert all(dict(row["filter_values"])["pii.email"] == 1 for row in contacts)


def test_stats_count_personal_data_per_kind(screened):
    kept = pq.read_table(screened / "data").to_pylist()
    contacts = sum(row["id"].startswith("contact-") for row in kept)
    pii = json.loads((screened / "stats.json").read_text())["extra"]["pii"]
    assert pii["email"] >= contacts and pii["iban"] == contacts
    assert set(pii) == {"email", "iban", "credit_card", "ipv6", "ipv4", "phone"}


def test_inspect_shows_toxic_rows_and_personal_data_per_kind(screened, capsys):
    import cli

    assert cli.main(["inspect", str(screened), "--rejected", "--examples", "1"]) == 0
    out = capsys.readouterr().out
    assert "personal data found in kept documents, per kind" in out and "toxic" in out and "toxicity_score" in out

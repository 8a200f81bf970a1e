"""bench/warc_to_text.py's plumbing on a handful of real pages, so the bench cannot rot unseen.

Ours only: the datatrove side needs its venv ($DATATROVE_PYTHON) and is left out here, as the
bench leaves it out, with the reason, when the variable is unset. The figures themselves come
from `python -m bench.warc_to_text` (docs/benchmarks/2026-12-04-warc-to-text.md).
"""

from __future__ import annotations

import json

import pytest

from bench.peers import DATATROVE_ENV
from bench.warc_to_text import agreement, main

#: The first 12 real pages through extract and datatrove's rule set: 9 kept, 3 dropped by Gopher quality.
KEPT = 9
REJECTED = {"extract": {"record_request": 12, "record_warcinfo": 1},
            "filter": {"gopher_alpha_words": 2, "gopher_mean_word_length": 1}}


@pytest.mark.slow
def test_bench_runs_our_pipeline_and_skips_datatrove_without_its_venv(shared_data, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(DATATROVE_ENV, raising=False)
    figures = tmp_path / "figures.json"
    assert main(["--copies", "1", "--limit", "12", "--cores", "1", "--json", str(figures)]) == 0
    [result] = json.loads(figures.read_text())
    assert (result["pages"], result["warc_files"]) == (12, 1)
    assert result["ours"]["kept"] == KEPT
    assert result["ours"]["rejected_by_reason"] == REJECTED
    assert result["datatrove"] is None and DATATROVE_ENV in result["datatrove_not_run"]
    assert f"datatrove : not run ({DATATROVE_ENV} is not set" in capsys.readouterr().out


def test_agreement_counts_pages_one_side_keeps_by_the_step_the_other_dropped_them():
    ours = {"kept": {"a", "b", "c"}, "rejected": {"d": "filter: gopher_stop_words"}}
    peer = {"kept": {"a", "d"}, "rejected": {"b": "c4: too_few_sentences"}}
    result = agreement(4, ours, peer)
    assert (result["same_decision"], result["kept_both"], result["jaccard"]) == (0.25, 1, 0.25)
    assert result["only_ours"]["count"] == 2
    assert result["only_ours"]["datatrove_dropped_at"] == {"c4": 1, "not extracted": 1}
    assert result["only_datatrove"]["examples"] == [{"url": "d", "ours": "filter: gopher_stop_words"}]

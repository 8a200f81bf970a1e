"""`dataflow report`: one self-contained HTML file from a pipeline run folder, training runs and
a search folder. The run is the session's `pipeline_from_config` (tests/pipeline_config_run.py);
the training run takes real torch steps on its mixture."""

from __future__ import annotations

import base64
import html
import json
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import cli  # noqa: E402
from dataflow.inspect.report import Table  # noqa: E402
from dataflow.report import html as report_html  # noqa: E402
from dataflow.report import write_report  # noqa: E402
from dataflow.report.duplicates import cluster_sizes  # noqa: E402
from trainer.train import main as train_main  # noqa: E402


@pytest.fixture(scope="module")
def report_page(pipeline_from_config, tmp_path_factory):
    out = pipeline_from_config.parent / "out"
    root = tmp_path_factory.mktemp("report")
    torch.set_num_threads(1)
    run = root / "runs" / "tiny"
    assert train_main(["--config", "runs/demo-tiny.yaml", "--out-dir", str(run), "--data.mixture",
                       str(out / "mixture.yaml"), "--max-steps", "4", "--eval.every-steps", "2",
                       "--checkpoint.every-steps", "4"]) == 0
    search = root / "search"
    (search / "plots").mkdir(parents=True)
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    fig.savefig(search / "plots" / "predicted-vs-actual.png")
    plt.close(fig)
    page = root / "report.html"
    assert cli.main(["report", str(out), "--output", str(page), "--runs", str(run), "--search", str(search)]) == 0
    return out, run, search, page.read_text(encoding="utf-8")


def _section(page: str, name: str) -> str:
    return re.search(rf'<section id="{name}".*?</section>', page, flags=re.S).group(0)


def test_report_is_one_file_that_fetches_nothing(report_page):
    _, _, _, page = report_page
    assert "default-src 'none'" in page and "<script" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)


def test_funnel_section_shows_documents_bytes_and_tokens_of_every_stage(report_page):
    out, _, _, page = report_page
    funnel = _section(page, "funnel")
    stages = json.loads((out / "funnel.json").read_text())["stages"]
    for row in stages:
        assert f"<td>{row['folder']}</td>" in funnel
    clean = next(row for row in stages if row["folder"] == "clean")
    assert f'<td class="num">{clean["bytes out"]:,}</td>' in funnel
    assert funnel.count("<svg") == 3  # documents, bytes, tokens


def test_rejections_show_three_escaped_examples_per_rule(report_page):
    out, _, _, page = report_page
    rejections = _section(page, "rejections")
    reasons = json.loads((out / "filtered" / "stats.json").read_text())["rejected_by_reason"]
    for reason, count in reasons.items():
        cell = re.search(rf"<tr><td>{reason}</td><td class=\"num\">{count:,}</td>.*?<td class=\"snippet\">(.*?)</td>",
                         rejections, flags=re.S)
        assert cell is not None, reason
        assert len(cell.group(1).split("\n")) == min(3, count)
        assert "<" not in cell.group(1)  # text from pages is escaped


def test_duplicates_section_counts_clusters_by_size(report_page):
    out, _, _, page = report_page
    sizes = cluster_sizes(out / "deduped")
    stats = json.loads((out / "deduped" / "stats.json").read_text())
    removed = stats["rejected_by_reason"]["near_duplicate"] + stats["rejected_by_reason"]["exact_duplicate"]
    assert sum((size - 1) * clusters for size, clusters in sizes.items()) == removed
    assert "largest clusters" in _section(page, "duplicates")


def test_contamination_and_mixture_sections_show_the_runs_figures(report_page):
    out, _, _, page = report_page
    contamination = _section(page, "contamination")
    found = json.loads((out / "clean" / "contamination.json").read_text())["benchmarks"]["sample"]
    assert f'<td>sample</td><td class="num">{found["items"]}</td><td class="num">{found["items_found"]}</td>' \
        in contamination
    assert html.escape(found["leaked"][0]["matched_text"]) in contamination
    mixture = _section(page, "mixture")
    assert "<td>de</td><td class=\"num\">0.25</td>" in mixture and "<td>en</td><td class=\"num\">0.75</td>" in mixture


def test_training_section_plots_curves_and_bits_per_byte_per_source(report_page):
    _, run, _, page = report_page
    training = _section(page, "training")
    evals = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()
             if json.loads(line)["kind"] == "eval"]
    assert training.count("<svg") == 2
    for source in ("de", "en"):
        assert f"<td>tiny</td><td>{source}</td><td class=\"num\">{evals[-1]['step']}</td>" in training


def test_search_section_embeds_every_png_of_the_search_folder(report_page):
    _, _, search, page = report_page
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', _section(page, "search"))
    assert [base64.b64decode(data)
            for data in embedded] == [(search / "plots" / "predicted-vs-actual.png").read_bytes()]


def test_table_cells_escape_markup():
    cell = report_html.table(Table(["text"], [["<script>alert(1)</script>"]]), snippets=("text",))
    assert "<script>" not in cell and "&lt;script&gt;" in cell


def test_report_of_a_folder_without_stages_says_so(tmp_path):
    page = write_report(tmp_path, tmp_path / "r.html").read_text()
    assert "no complete stage output in this folder" in page and "no dedup stage in this run" in page

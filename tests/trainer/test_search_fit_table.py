"""`dataflow search fit`: the search's regression on a results table from elsewhere."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
import yaml

from cli import main
from dataflow.mix.mixture import load_mixture

from search_sources import search_file, write_sources

OPTIMUM = np.array([0.2, 0.5, 0.3])  # web, wiki, books


def planted_table(rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet([1, 1, 1], size=rows)
    loss = 2 + 3 * ((weights - OPTIMUM) ** 2).sum(1) + rng.normal(0, 0.003, rows)
    return pa.table({"run": [f"r{i}" for i in range(rows)], "mix_web": weights[:, 0], "mix_wiki": weights[:, 1],
                     "mix_books": weights[:, 2], "loss": loss})


def test_fit_prints_every_models_cross_validation_and_predict_ranks_with_spearman(tmp_path, capsys):
    pcsv.write_csv(planted_table(30, 0), tmp_path / "runs.csv")
    pq.write_table(planted_table(10, 1), tmp_path / "other.parquet")
    assert main(["search", "fit", "--results", str(tmp_path / "runs.csv"), "--target", "loss",
                 "--weights-prefix", "mix_", "--predict", str(tmp_path / "other.parquet")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("30 mixtures; leave-one-out cross-validation:")
    fits = [line.split()[0] for line in out.splitlines()[1:5]]
    assert fits == ["lightgbm", "linear", "mixing-law", "ensemble"] and out.count("<- chosen") == 1
    ranked = [line for line in out.splitlines() if line.strip()[:1].isdigit() and "web=" in line]
    assert len(ranked) == 10
    spearman = float(out.rsplit("Spearman of predicted vs observed on 10 mixtures: ", 1)[1].split()[0])
    assert spearman > 0.6


def test_fit_optimize_writes_a_feasible_mixture_file_under_the_search_constraints(tmp_path, capsys):
    sources = write_sources(tmp_path / "sources")
    config = search_file(tmp_path / "search.yaml", sources, tmp_path / "out")
    table = planted_table(30, 0).rename_columns(["run", "w_web", "w_wiki", "w_books", "loss"])
    pq.write_table(table, tmp_path / "runs.parquet")
    assert main(["search", "fit", "--results", str(tmp_path / "runs.parquet"), "--target", "loss",
                 "--optimize", str(tmp_path / "best.yaml"), "--config", str(config)]) == 0
    best = load_mixture(tmp_path / "best.yaml")
    assert best.total_tokens == 40_000 and set(best.sources) == {"web", "wiki", "books"}
    shares = np.array([best.shares[name] for name in ("web", "wiki", "books")])
    assert np.abs(shares - OPTIMUM).max() < 0.1  # the planted optimum is feasible here (every limit is 0.6)


def test_fit_renormalises_rows_rounded_within_one_percent_and_cross_validates_a_large_table_by_folds(
        tmp_path, capsys):
    table = planted_table(120, 0)
    weights = table["mix_web"].to_numpy().copy()
    weights[[2, 7]] = np.round(weights[[2, 7]], 3) + np.array([0.004, -0.002])  # published shares, rounded
    pcsv.write_csv(table.set_column(1, "mix_web", pa.array(weights)), tmp_path / "runs.csv")
    assert main(["search", "fit", "--results", str(tmp_path / "runs.csv"), "--target", "loss",
                 "--weights-prefix", "mix_"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].endswith("renormalised 2 of 120 rows whose weights summed to 1 within 1% "
                                        "(largest deviation 0.0043)")
    assert out.splitlines()[1] == "120 mixtures; 5-fold cross-validation:"  # leave-one-out up to 100 rows


def test_fit_refuses_a_row_whose_weights_do_not_sum_to_one(tmp_path, capsys):
    table = planted_table(8, 0)
    weights = table["mix_web"].to_numpy().copy()
    weights[4] += 0.1
    table = table.set_column(1, "mix_web", pa.array(weights))
    pcsv.write_csv(table, tmp_path / "runs.csv")
    assert main(["search", "fit", "--results", str(tmp_path / "runs.csv"), "--target", "loss",
                 "--weights", "mix_web,mix_wiki,mix_books"]) == 2
    err = capsys.readouterr().err
    assert "the weights of row 5 (mix_web, mix_wiki, mix_books) sum to 1.1, more than 1% from 1" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("args, message", [
    (["--target", "score"], "--target score: no such column"),
    (["--target", "loss", "--weights-prefix", "x_"], "--weights-prefix 'x_': "),
    (["--target", "loss", "--optimize", "best.yaml"], "--optimize needs --config"),
])
def test_fit_bad_arguments_are_one_line(tmp_path, capsys, args, message):
    pcsv.write_csv(planted_table(8, 0), tmp_path / "runs.csv")
    assert main(["search", "fit", "--results", str(tmp_path / "runs.csv"), "--weights-prefix", "mix_", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_search_mixture_dry_run_prints_every_default(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"name": "m", "out_dir": "o", "sources": {"a": {"path": "a"}, "b": {"path": "b"}},
                                    "target": {"a": 1.0}, "final_run": {"total_tokens": 1000}}))
    assert main(["search", "mixture", "--config", str(path), "--dry-run"]) == 0
    resolved = yaml.safe_load(capsys.readouterr().out)
    assert resolved["backend"] == {"kind": "local", "workers": None}
    assert resolved["concentrations"] == [0.3, 1.0, 3.0, 10.0] and resolved["max_attempts"] == 2

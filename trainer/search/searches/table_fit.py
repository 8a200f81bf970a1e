"""Bring your own results: the search's regression on any table of mixture weights and a score.

    dataflow search fit --results runs.csv --target loss --weights-prefix w_
    dataflow search fit --results runs.parquet --target loss --weights web,wiki,books --predict other.csv
    dataflow search fit --results runs.csv --target loss --optimize best.yaml --config search/mix.yaml

Proxy runs from another trainer, or a paper's released runs (RegMix publishes its 512 runs
as such a table), fit with the same models and cross-validated choice as `search mixture`.
Published weights are rounded (RegMix's to 3 decimals, so rows sum to 0.996-1.003): rows within
`SUM_TOLERANCE` of 1 are renormalised and counted, rows further off are refused as a wrong column set;
`--predict` ranks other mixtures with the fit, `--optimize` searches its surface within a
search file's constraints (sources, max_epochs, final budget) and writes a mixture file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
from scipy.stats import spearmanr

from dataflow.errors import ConfigError, InputError
from trainer.search.fits.regression import Fit, fit_surface

SUM_TOLERANCE = 0.01
"""Rows whose weights sum to 1 within 1% are rounded published shares: renormalised, not refused."""
EXACT = 1e-6
"""Deviations below this are float round-off: renormalised without being counted."""


@dataclass(frozen=True)
class WeightTable:
    names: list[str]
    """Source names (the weight columns without their prefix)."""
    weights: np.ndarray
    """(rows, sources)."""
    scores: np.ndarray | None
    """The target column, when the table has it."""
    renormalised: int = 0
    """Rows whose weights summed to 1 only within SUM_TOLERANCE, scaled to sum to 1."""
    largest_deviation: float = 0.0
    """The largest |sum - 1| among them."""

    def renormalised_line(self) -> str | None:
        if not self.renormalised:
            return None
        return (f"renormalised {self.renormalised} of {len(self.weights)} rows whose weights summed to 1 within "
                f"{SUM_TOLERANCE:.0%} (largest deviation {self.largest_deviation:.4f})")


def read_table(path: str | Path, target: str, prefix: str | None, columns: list[str] | None,
               need_target: bool = True) -> WeightTable:
    """Weight columns (by prefix or listed) and the target; rows summing to 1 within 1% are renormalised,
    rows further off are refused."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} does not exist")
    if path.suffix == ".parquet":
        table = pq.read_table(path)
    elif path.suffix in (".csv", ".tsv"):
        table = pcsv.read_csv(path, parse_options=pcsv.ParseOptions(delimiter="\t" if path.suffix == ".tsv" else ","))
    else:
        raise InputError(f"{path}: read CSV, TSV or Parquet, not {path.suffix or 'a file without extension'}")
    if columns:
        missing = [name for name in columns if name not in table.column_names]
        if missing:
            raise ConfigError(f"--weights: {path} has no column {missing[0]}; its columns: "
                              f"{', '.join(table.column_names)}")
        chosen, names = columns, columns
    else:
        prefix = prefix or "w_"
        chosen = [name for name in table.column_names if name.startswith(prefix)]
        names = [name[len(prefix):] for name in chosen]
        if len(chosen) < 2:
            raise ConfigError(f"--weights-prefix {prefix!r}: {path} has {len(chosen)} such column(s) "
                              f"({', '.join(table.column_names)}); give the prefix, or list them with --weights")
    if need_target and target not in table.column_names:
        raise ConfigError(f"--target {target}: no such column in {path}; its columns: {', '.join(table.column_names)}")
    if target in table.column_names:  # rows without a score (failed runs) cannot be fitted
        table = table.filter(table[target].is_valid())
    weights = np.column_stack([table[name].to_numpy(zero_copy_only=False).astype(float) for name in chosen])
    sums = weights.sum(axis=1)
    deviation = np.abs(sums - 1)
    bad = np.flatnonzero(deviation > SUM_TOLERANCE)
    if len(bad):
        raise ConfigError(f"{path}: the weights of row {bad[0] + 1} ({', '.join(chosen)}) sum to {sums[bad[0]]:.6g}, "
                          f"more than {SUM_TOLERANCE:.0%} from 1; fix the row or the weight columns")
    scores = table[target].to_numpy(zero_copy_only=False).astype(float) if target in table.column_names else None
    rounded = deviation > EXACT
    return WeightTable(names=names, weights=weights / sums[:, None], scores=scores, renormalised=int(rounded.sum()),
                       largest_deviation=float(deviation.max()) if rounded.any() else 0.0)


def describe_fit(fit: Fit, rows: int) -> list[str]:
    lines = [f"{rows} mixtures; {fit.scheme} cross-validation:"]
    for name, quality in fit.quality.items():
        mark = "  <- chosen" if name == fit.chosen else ""
        lines.append(f"  {name:<10} MAE {quality.cv_mae:.5f}  RMSE {quality.cv_rmse:.5f}  "
                     f"Spearman {quality.cv_spearman:.3f}{mark}")
    return lines


def rank_other(fit: Fit, table: WeightTable, names: list[str]) -> list[str]:
    """The other table's mixtures ranked by predicted score, and the Spearman against their scores if given."""
    if table.names != names:
        raise ConfigError(f"--predict: its weight columns are for {', '.join(table.names)}, the fit's for "
                          f"{', '.join(names)}; use the same sources in the same order")
    predicted = fit.model.predict(table.weights)
    order = np.argsort(predicted, kind="stable")
    lines = [f"{'rank':>4} {'row':>5} {'predicted':>10}" + (f" {'observed':>10}" if table.scores is not None else "")
             + "  weights"]
    for rank, row in enumerate(order, 1):
        weights = " ".join(f"{name}={value:.3f}" for name, value in zip(names, table.weights[row]))
        observed = f" {table.scores[row]:10.5f}" if table.scores is not None else ""
        lines.append(f"{rank:>4} {row + 1:>5} {predicted[row]:10.5f}{observed}  {weights}")
    if table.scores is not None:
        lines.append(f"Spearman of predicted vs observed on {len(order)} mixtures: "
                     f"{spearmanr(predicted, table.scores).statistic:.3f}")
    return lines


def fit_table(table: WeightTable) -> Fit:
    if table.scores is None or len(table.scores) < 3:
        raise ConfigError(f"a fit needs 3 or more scored rows; the table has "
                          f"{0 if table.scores is None else len(table.scores)}")
    return fit_surface(table.weights, table.scores)


def optimise_to_file(fit: Fit, names: list[str], config_path: str | Path, out: str | Path) -> dict[str, float]:
    """Search the fit's surface within a search file's constraints; write the pick as a mixture file."""
    import yaml

    from dataflow.atomic import write_text
    from trainer.search.searches.mixture import mixture_file, optimise
    from trainer.search.searches.mixture_config import load_mixture_config
    from trainer.search.searches.mixture_inputs import read_inputs

    config = load_mixture_config(config_path)
    if sorted(names) != sorted(config.sources):
        raise ConfigError(f"--config {config_path}: its sources ({', '.join(config.sources)}) are not the table's "
                          f"weight columns ({', '.join(names)}); name the columns after the sources")
    order = [names.index(name) for name in config.sources]  # the surface is searched in the config's order
    model = _Reordered(fit.model, order)
    inputs = read_inputs(config)
    pick, _ = optimise(config, inputs, model, np.random.default_rng(config.seed))
    out = Path(out)
    write_text(out, yaml.safe_dump(mixture_file(config, f"{config.name}-fit", pick, config.final_run.total_tokens,
                                                inputs.proxy.seq_len, 0), sort_keys=False))
    return pick


class _Reordered:
    """A fitted model taking weights in another column order."""

    def __init__(self, model, order: list[int]):
        self.model, self.inverse = model, np.argsort(order)

    def predict(self, weights: np.ndarray) -> np.ndarray:
        return self.model.predict(np.atleast_2d(weights)[:, self.inverse])

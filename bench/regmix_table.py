"""Our fits on RegMix's released runs: fit on the 512 1M-parameter proxies, rank the larger models' runs.

    REGMIX_DATA=path/to/regmix/data python -m bench.regmix_table
    python -m bench.regmix_table --data path/to/regmix/data [--targets pile_cc,github]

The data is the `data/` folder of github.com/sail-sg/regmix (not bundled: third-party data):
`train_mixture_1m.csv` + `train_pile_loss_1m.csv` (512 proxies, 17 Pile domains, 13 validation
losses) to fit, and `test_mixture_60m.csv` + `test_pile_loss_60m.csv` (256 runs at 60M parameters),
`test_mixture_1B.csv` + `test_pile_loss_1B.csv` (64 runs at 1B) to rank. Weights are rounded to 3
decimals and renormalised the way `dataflow search fit` does (`table_fit.read_table`).

Per validation loss (target), it prints two tables: the cross-validated MAE and Spearman of every
fit on the 1M table (what `search fit` would choose from), then the Spearman of each fit's
predictions against the observed losses of the larger runs, the chosen fit beside LightGBM alone
(RegMix's regressor), with the mean over targets.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from trainer.search.fits.regression import Scores, fit_all, fit_surface
from trainer.search.searches.table_fit import read_table

SCALES = {"1m": ("train_mixture_1m.csv", "train_pile_loss_1m.csv"),
          "60M": ("test_mixture_60m.csv", "test_pile_loss_60m.csv"),
          "1B": ("test_mixture_1B.csv", "test_pile_loss_1B.csv")}
LOSS_PREFIX = "metric/the_pile_"
WEIGHT_PREFIX = "train_the_pile_"


def joined(folder: Path, scale: str, work: Path) -> Path:
    """One CSV per scale with the weights and the losses side by side, joined on RegMix's `index` column."""
    import pyarrow.csv as pcsv

    mixtures, losses = (pcsv.read_csv(folder / name) for name in SCALES[scale])
    losses = losses.rename_columns([name.removeprefix(LOSS_PREFIX).removesuffix("_val_loss")
                                    for name in losses.column_names])
    table = mixtures.join(losses, "index", join_type="inner").sort_by("index")
    path = work / f"{scale}.csv"
    pcsv.write_csv(table, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("REGMIX_DATA"), help="RegMix's data/ folder [$REGMIX_DATA]")
    parser.add_argument("--targets", help="comma-separated domain names (default: all 13 validation losses)")
    parser.add_argument("--work", default="regmix-bench", help="folder for the joined tables")
    args = parser.parse_args()
    if not args.data:
        parser.error("give --data or set REGMIX_DATA to RegMix's data/ folder")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    paths = {scale: joined(Path(args.data), scale, work) for scale in SCALES}
    import pyarrow.csv as pcsv

    columns = pcsv.read_csv(paths["1m"]).column_names
    targets = args.targets.split(",") if args.targets else [name for name in columns
                                                             if name != "index" and not name.startswith(WEIGHT_PREFIX)]
    cv_rows, transfer_rows, seconds = [], [], []
    for target in targets:
        train = read_table(paths["1m"], target, WEIGHT_PREFIX, None)
        started, cpu = time.perf_counter(), time.process_time()
        fit = fit_surface(train.weights, train.scores)
        seconds.append((time.perf_counter() - started, time.process_time() - cpu))
        cv_rows.append((target, fit))
        models = fit_all(train.weights, Scores.single(train.scores), fit.shares)
        ranks = {}
        for scale in ("60M", "1B"):
            test = read_table(paths[scale], target, WEIGHT_PREFIX, None)
            ranks[scale] = {name: float(spearmanr(model.predict(test.weights), test.scores).statistic)
                            for name, model in models.items()}
        transfer_rows.append((target, fit.chosen, ranks))
        print(f"{target}: fitted in {seconds[-1][0]:.1f} s wall, {seconds[-1][1]:.1f} s CPU, chosen {fit.chosen}",
              flush=True)
    print_tables(cv_rows, transfer_rows, seconds)


def print_tables(cv_rows: list, transfer_rows: list, seconds: list[tuple[float, float]]) -> None:
    names = list(cv_rows[0][1].quality)
    wall, cpu = np.mean(seconds, axis=0)
    print(f"\nTable 1: {cv_rows[0][1].scheme} cross-validation on the 1M runs (MAE / Spearman); "
          f"fit per target {wall:.1f} s wall, {cpu:.1f} s CPU (mean)")
    print("| target | " + " | ".join(names) + " | chosen |")
    print("|---" * (len(names) + 2) + "|")
    for target, fit in cv_rows:
        print(f"| {target} | " + " | ".join(f"{fit.quality[name].cv_mae:.4f} / {fit.quality[name].cv_spearman:.4f}"
                                             for name in names) + f" | {fit.chosen} |")
    print("\nTable 2: Spearman of the predictions against the larger runs' observed losses")
    print("| target | chosen | 60M chosen | 60M lightgbm | 1B chosen | 1B lightgbm | "
          + " | ".join(f"60M {name} | 1B {name}" for name in names if name != "lightgbm") + " |")
    print("|---" * (6 + 2 * (len(names) - 1)) + "|")
    means = {}
    for target, chosen, ranks in transfer_rows:
        cells = [ranks["60M"][chosen], ranks["60M"]["lightgbm"], ranks["1B"][chosen], ranks["1B"]["lightgbm"]]
        cells += [ranks[scale][name] for name in names if name != "lightgbm" for scale in ("60M", "1B")]
        for index, value in enumerate(cells):
            means.setdefault(index, []).append(value)
        print(f"| {target} | {chosen} | " + " | ".join(f"{value:.4f}" for value in cells) + " |")
    print("| **mean** | | " + " | ".join(f"**{np.mean(values):.4f}**" for values in means.values()) + " |")


if __name__ == "__main__":
    main()

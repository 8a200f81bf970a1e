"""Every file name of a search folder, in one place: the engine writes them, the searches and reports read them.

    <out_dir>/search.yaml          the search file as resolved at start (a --resume must match it)
    <out_dir>/search.lock          the folder lock of the search process (locks.py)
    <out_dir>/datasets.json        the token datasets the search started with (a --resume on other data is refused)
    <out_dir>/runs/<run>/          one folder per proxy run (store.py):
        spec.json                  what the run is: mixture name, weights, seed, labels
        run.yaml                   the resolved train config (`dataflow train --config` runs it by hand)
        mixture.yaml               the run's mixture file
        status.json                queued | running | done | failed, attempts, failure reason, seconds
        result.json                bits-per-byte per evaluated dataset, tokens (written when done)
        lease.json                 the worker that trains it, with a heartbeat (locks.py)
    <out_dir>/results.parquet      one row per run, rebuilt from the run folders
    <out_dir>/summary.json         the search's outcome (fits, laws, verdicts), written when it ends
    <out_dir>/plots/               PNG plots beside the summary
    <out_dir>/best/                the mixture search's pick: mixture.yaml and run.yaml
    <out_dir>/derived/             the variant search's derived token sources

`dataflow inspect` recognises a search folder by its search.yaml and runs/ (`is_search_folder`).
"""

from __future__ import annotations

from pathlib import Path

CONFIG_COPY = "search.yaml"
LOCK = "search.lock"
DATASETS = "datasets.json"
RUNS_DIR = "runs"
SPEC = "spec.json"
RUN_CONFIG = "run.yaml"
RUN_MIXTURE = "mixture.yaml"
STATUS = "status.json"
RESULT = "result.json"
LEASE = "lease.json"
TABLE = "results.parquet"
SUMMARY = "summary.json"
PLOTS = "plots"
BEST_DIR = "best"
BEST_MIXTURE = "mixture.yaml"
BEST_RUN = "run.yaml"
DERIVED_DIR = "derived"


def is_search_folder(path: Path) -> bool:
    return (path / CONFIG_COPY).is_file() and (path / RUNS_DIR).is_dir()

"""Searches over proxy runs: a run store, backends that run its queue, and the searches on top.

    store.py        one folder per proxy run (spec, resolved train config, metrics, status);
                    the results table is rebuilt from the folders
    worker.py       runs one folder to completion: retries, resume from checkpoint, failure reasons
    backends/       local (process pool), spark (one task per run), slurm (submitit job arrays)
    config.py       the search file
    inputs.py       what the sources and targets hold, checked before any run starts
    candidates.py   Dirichlet candidates inside the feasible region of the final run
    regression.py   weights -> score: four fits, cross-validated, and the surface search
    mixing_law.py   the data mixing law (Ye et al. 2024), one per target dataset, robust fit
    ensemble.py     the fits rank-averaged
    mixture_search.py  the data-constraint search: plan, run, fit, pick, confirm
    report.py       summary.json, tables and PNG plots

Issue 12 builds scaling-law, branch-from-checkpoint and hyper-parameter searches on the same
store and backends: a search is a list of `RunSpec`s handed to a backend, then a read of the table.
"""

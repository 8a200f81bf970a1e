"""Searches over proxy runs, in four layers and a registry (docs/search/layers.md has the map).

    engine/      what every search runs on: the base config, the folder layout (every file name), the run
                 store, the worker, the locks, the backends (local, spark, slurm), the runner
    fits/        pure maths on scored runs: the mixture regression and its fits, the scaling, data-constrained
                 and learning-rate laws, rank transfer, seed noise
    reports/     summaries and plots, and `dataflow inspect SEARCH_FOLDER`
    searches/    mixture, scaling, variants, hparams, and what they share
    registry.py  kind -> config model, run function, inspect view

A search is a list of `RunSpec`s handed to the engine, then a read of the results table and a fit.
"""

"""The stage registry: every pipeline stage once, with its job, its folder, what it reads and writes.

`dataflow run NAME` (cli/pipeline.py), the pipeline's order, `--from`/`--until` and its folders
(dataflow/pipeline.py, jobs/pipeline.py), the funnel (dataflow/inspect/funnel.py) and the report
(dataflow/report/stages.py) all read this table, so a new stage is one entry here plus its job
file and its config section. Jobs are named by module, not imported, so that `import dataflow`
never loads pyspark.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    """One stage of the pipeline, in run order."""

    name: str
    """What `dataflow run NAME`, `--from`, `--until` and a stage's stats.json call it."""
    job: str
    """Module whose `main(argv)` runs it as a Spark job (`spark-submit jobs/<file>.py` runs the same) by
    parsing argv into its typed `run(args, config)`, which the pipeline calls directly with `config` of the
    `section` model (jobs/common/arguments.py)."""
    folder: str
    """Its output folder in a pipeline run folder; `{source}` and `{mixture}` are filled in per run."""
    reads: str
    """Kind of input: `warc`, `documents`, `token sources`."""
    writes: str
    """Kind of output: `documents` (Parquet with rejected/), `tokenizer`, `token source`, `token shards`."""
    section: str
    """Its section of the pipeline config (`PipelineConfig`), which `--config` hands to the job."""


STAGES: tuple[Stage, ...] = (
    Stage("extract", "jobs.extract", "docs", "warc", "documents", "extract"),
    Stage("filter", "jobs.filter", "filtered", "documents", "documents", "filter"),
    Stage("dedup", "jobs.dedup", "deduped", "documents", "documents", "dedup"),
    Stage("classify", "jobs.classify", "scored", "documents", "documents", "classify"),
    Stage("decontaminate", "jobs.decontaminate", "clean", "documents", "documents", "decontaminate"),
    Stage("tokenizer", "jobs.train_tokenizer", "tokenizer", "documents", "tokenizer", "tokenizer"),
    Stage("tokenize", "jobs.tokenize_docs", "tokens/{source}", "documents", "token source", "tokenize"),
    Stage("mix", "jobs.mix", "shards/{mixture}", "token sources", "token shards", "mix"),
)

BY_NAME: dict[str, Stage] = {stage.name: stage for stage in STAGES}

#: The stages in the order they run; `--from` and `--until` name one of them.
STAGE_ORDER: tuple[str, ...] = tuple(BY_NAME)

#: Stages whose output is a documents folder, in run order.
DOCUMENT_STAGES: tuple[str, ...] = tuple(stage.name for stage in STAGES if stage.writes == "documents")


def stage_folder(name: str, run_folder: str, **fill: str) -> str:
    """Stage `name`'s output folder in `run_folder`, e.g. `out/tokens/en` for tokenize with source=en."""
    return f"{run_folder.rstrip('/')}/{BY_NAME[name].folder.format(**fill)}"

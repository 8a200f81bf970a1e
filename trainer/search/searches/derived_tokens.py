"""Write the derived sources of a variant search (derived_sources.py) in one Spark application.

Per plan: read the stage output's kept rows, apply `where`, keep the top `top_fraction` by
score, and tokenise the selection with the tokenize stage's own code (jobs/tokenize_docs.py's
`write_source`) under the stage contract (`run_output`): a finished derived source whose
fingerprint is unchanged is reused by a resumed search, a half-written one (a `.tmp-*` folder
of a killed run) is never read and the source is written again. No document reaches the
driver: the top share is cut by a global rank computed in the executors.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from pyspark import StorageLevel
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dataflow.errors import ConfigError
from dataflow.tokenize.tokenizer import load_tokenizer
from jobs.common.spark import get_spark
from jobs.common.stage_io import (HadoopFS, Stage, local_output, read_stage_input, resumable_partial, run_output,
                                  stage_input_identity)
from jobs.tokenize_docs import write_source
from trainer.search.searches.derived_sources import DerivedPlan, derived_rows

STAGE = "derive"
PARTITION_BITS = 33  # monotonically_increasing_id: partition index above bit 33, row within it below

log = logging.getLogger(__name__)


def write_derived(plans: list[DerivedPlan]) -> list[dict[str, Any]]:
    """Write (or reuse) every planned source; one summary row each (derived_sources.derived_rows)."""
    if not plans:
        return []
    spark = get_spark("dataflow-search-derive")
    selections = [select(spark, plan) for plan in plans]  # every selection checked before any is tokenised
    rows = []
    for plan, docs in zip(plans, selections):
        tokenizer = load_tokenizer(plan.tokenize.tokenizer, plan.tokenize.eos_token)
        if tokenizer.info.sha256 != plan.tokenizer_sha256:
            raise ConfigError(f"{plan.field}: the tokenizer {tokenizer.info.path} changed since the base source was "
                              "written (sha256 differs); re-tokenise the base source first")
        stage = Stage(STAGE, local_output(str(plan.output)),
                      {"derive": plan.derive.model_dump(mode="json"),
                       "tokenize": plan.tokenize.model_dump(mode="json")},
                      [stage_input_identity(spark, plan.derive.stage), tokenizer.info.sha256])
        partial = resumable_partial(spark, stage)  # shards committed per task: a killed search resumes them
        stats = run_output(spark, stage, lambda tmp: write_source(spark, docs, plan.derive.stage, plan.tokenize,
                                                                  tokenizer, tmp, partial))
        HadoopFS(spark).delete(partial)
        log.warning("%s: %d rows selected, %d tokens -> %s%s", plan.field, stats["rows_in"], stats["tokens"],
                    plan.output, " (reused)" if stats.get("skipped") else "")
        rows.append(derived_rows(stats, plan))
    return rows


def select(spark: SparkSession, plan: DerivedPlan) -> DataFrame:
    """The selected rows, refused with the variant's name when a column is unknown or nothing is left."""
    docs = read_stage_input(spark, plan.derive.stage)
    if plan.derive.where is not None:
        try:
            docs = docs.where(F.expr(plan.derive.where))
        except AnalysisException as err:
            raise ConfigError(f"{plan.field}.where: {plan.derive.where!r} does not apply to {plan.derive.stage} "
                              f"({err.getCondition()}); its columns: {', '.join(docs.columns)}") from None
    if plan.derive.top_fraction is not None and plan.derive.score_column not in docs.columns:
        raise ConfigError(f"{plan.field}.score_column: {plan.derive.stage} has no column "
                          f"'{plan.derive.score_column}' to rank by; take the classify stage's output")
    total = docs.count()
    if total == 0:
        raise ConfigError(f"{plan.field}: the selection of {plan.derive.stage} is empty (0 rows"
                          + (f" where {plan.derive.where}" if plan.derive.where else "")
                          + "); loosen the condition (a map key that does not exist reads as null)")
    if plan.derive.top_fraction is None:
        return docs
    return top_rows(docs, plan.derive.score_column, math.ceil(plan.derive.top_fraction * total))


def top_rows(docs: DataFrame, column: str, keep: int) -> DataFrame:
    """The `keep` rows of `docs` with the highest `column` (nulls last, ties by id), exactly.

    A global sort of (score, id) spreads over range partitions in order; each row's position
    is its partition's offset (from per-partition counts, one small row each) plus its place in
    the partition (`monotonically_increasing_id`), so the cut needs no single-partition window.
    """
    # Persisted so that the counts and the cut see the same sort (its range bounds are sampled).
    ranked = (docs.select("id", column).orderBy(F.desc_nulls_last(column), F.asc("id"))
              .withColumn("_pos", F.monotonically_increasing_id())
              .withColumn("_part", F.shiftright("_pos", PARTITION_BITS)).persist(StorageLevel.MEMORY_AND_DISK))
    try:
        counts = sorted((row["_part"], row["count"]) for row in ranked.groupBy("_part").count().collect())
        offsets, start = {}, 0
        for part, count in counts:
            offsets[part], start = start, start + count
        offset = F.element_at(F.create_map(*[F.lit(v) for pair in offsets.items() for v in pair]), F.col("_part"))
        place = offset + (F.col("_pos") - F.shiftleft("_part", PARTITION_BITS))
        kept = ranked.where(place < keep).select("id").localCheckpoint()  # the cut, kept once ranked is released
    finally:
        ranked.unpersist()
    return docs.join(kept, "id", "left_semi")

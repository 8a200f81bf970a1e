"""The contamination report's Spark side: aggregate the contaminated rows of the stage plan.

Rows with a `contamination` record (annotated or rejected documents, excised regions) are
exploded to one row per matched span, keyed by the document they came from (the parent of a
piece). Per item: documents found, the first `max_documents` document ids, and the matched
text of the first document; per benchmark: items found and documents affected. Both are
small (at most one row per benchmark item), so they are collected to write contamination.json;
the per-item rows are also written as Parquet. dataflow/decontaminate/report.py assembles it.
"""

from __future__ import annotations

import json

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from dataflow.decontaminate.report import REPORT_FILE, REPORT_TABLE, assemble_report
from jobs.common.stage_io import HadoopFS


def write_report(annotated: DataFrame, folder: str, index_stats: dict, settings: dict, max_documents: int) -> dict:
    """Write contamination.json and contamination/ into `folder`; return figures for stats.json."""
    spans = (annotated.where(F.col("contamination").isNotNull())
             .select(F.coalesce(F.col("piece.parent_id"), F.col("id")).alias("document"),
                     F.explode("contamination.spans").alias("span"))
             .select("document", "span.benchmark", "span.item", "span.start", "span.text"))
    first = spans.groupBy("benchmark", "item").agg(
        F.countDistinct("document").alias("documents"),
        F.min(F.struct("document", "start", "text")).alias("first"))
    ranked = spans.select("benchmark", "item", "document").distinct().withColumn(
        "rank", F.row_number().over(Window.partitionBy("benchmark", "item").orderBy("document")))
    listed = ranked.where(F.col("rank") <= max_documents).groupBy("benchmark", "item").agg(
        F.sort_array(F.collect_list("document")).alias("document_ids"))
    per_item = first.join(listed, ["benchmark", "item"]).select(
        "benchmark", "item", "documents", "document_ids", F.col("first.text").alias("matched_text"))
    per_item.orderBy("benchmark", "item").coalesce(1).write.parquet(f"{folder}/{REPORT_TABLE}")
    spark = annotated.sparkSession
    leaked = [row.asDict()
              for row in spark.read.parquet(f"{folder}/{REPORT_TABLE}").collect()]  # one row per leaked item
    totals = spans.rollup("benchmark").agg(  # one row per benchmark, plus the total
        F.countDistinct("item").alias("items_found"), F.countDistinct("document").alias("documents"),
        F.grouping("benchmark").alias("total")).collect()
    benchmarks = {row["benchmark"]: row.asDict() for row in totals if not row["total"]}
    documents = sum(row["documents"] for row in totals if row["total"])
    report = assemble_report(index_stats, benchmarks, leaked, settings)
    HadoopFS(spark).write_bytes(f"{folder}/{REPORT_FILE}", json.dumps(report, indent=2, ensure_ascii=False).encode())
    return {"documents_contaminated": documents,
            "items_found": {name: row["items_found"] for name, row in report["benchmarks"].items()},
            "index": report["index"]}

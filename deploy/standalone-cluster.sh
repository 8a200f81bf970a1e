#!/usr/bin/env bash
# Start a Spark standalone master and one worker on this machine, submit a stage to it, stop
# them. pip's pyspark has bin/spark-class but no sbin/start-*.sh, so the daemons start through
# spark-class (which execs java: $! is the JVM, stopped by PID at exit).
#
#   deploy/standalone-cluster.sh extract --input 'out/warc/*.warc.gz' --output out/docs-cluster
#   deploy/standalone-cluster.sh pipeline --config examples/pipeline.yaml --output out/cluster-run
# tests/jobs/test_cluster.py runs the whole pipeline this way and compares it with local mode.
set -euo pipefail

if [[ $# -lt 1 ]]; then
    echo "usage: $0 STAGE [JOB ARGS...]    e.g. $0 extract --input 'out/warc/*.warc.gz' --output out/docs-cluster" >&2
    exit 2
fi

HOST=${SPARK_HOST:-127.0.0.1}
PORT=${SPARK_PORT:-7077}
WORKER_CORES=${WORKER_CORES:-2}
WORKER_MEMORY=${WORKER_MEMORY:-6g}
export SPARK_DAEMON_MEMORY=${SPARK_DAEMON_MEMORY:-512m}
export SPARK_LOCAL_IP=$HOST
export PYSPARK_PYTHON=${PYSPARK_PYTHON:-$(command -v python3)}
LOGS=$(mktemp -d)

spark-class org.apache.spark.deploy.master.Master --host "$HOST" --port "$PORT" >"$LOGS/master.log" 2>&1 &
MASTER_PID=$!
trap 'kill $WORKER_PID $MASTER_PID 2>/dev/null || true' EXIT
for _ in $(seq 60); do grep -q "I have been elected leader" "$LOGS/master.log" && break; sleep 1; done
spark-class org.apache.spark.deploy.worker.Worker --host "$HOST" --cores "$WORKER_CORES" --memory "$WORKER_MEMORY" \
    "spark://$HOST:$PORT" >"$LOGS/worker.log" 2>&1 &
WORKER_PID=$!
for _ in $(seq 60); do grep -q "Successfully registered with master" "$LOGS/worker.log" && break; sleep 1; done

SPARK_MASTER="spark://$HOST:$PORT" EXECUTOR_CORES=1 NUM_EXECUTORS="$WORKER_CORES" EXECUTOR_MEMORY=2g \
    SPARK_EXTRA_CONF="spark.driver.host=$HOST spark.driver.bindAddress=$HOST" \
    "$(dirname "$0")/spark-submit.sh" "$@"

#!/usr/bin/env bash
# Spark GPU discovery script for executors running search proxies (spark.executor.resource.gpu.discoveryScript).
# Prints the resource JSON Spark expects, e.g. {"name": "gpu", "addresses": ["0","1"]}, for the GPUs nvidia-smi sees.
set -euo pipefail
addresses=$(nvidia-smi --query-gpu=index --format=csv,noheader | paste -sd, - | sed 's/\([0-9]\+\)/"\1"/g')
echo "{\"name\": \"gpu\", \"addresses\": [${addresses}]}"

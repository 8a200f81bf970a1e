"""Spark jobs, one file per stage; each runs as `spark-submit jobs/<stage>.py` and as `dataflow run <stage>`."""

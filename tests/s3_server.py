"""A real S3 API on loopback (moto's server mode), reached the way a user points fsspec at MinIO or Ceph:
through the AWS_ENDPOINT_URL environment variable, which s3fs/botocore read themselves."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """http://127.0.0.1:PORT of a moto S3 server running for the whole session."""
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint, monkeypatch, tmp_path) -> str:
    """A new, empty bucket on the loopback server, as an `s3://` URL; the environment points at it
    (and DATAFLOW_CACHE at a folder of this test's)."""
    import s3fs

    for key, value in {**CREDENTIALS, "AWS_ENDPOINT_URL": s3_endpoint}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DATAFLOW_CACHE", str(tmp_path / "dataflow-cache"))
    s3fs.S3FileSystem.clear_instance_cache()  # clients made before the endpoint was set would go to AWS
    bucket = f"dataflow-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem().mkdir(bucket)
    return f"s3://{bucket}"


@pytest.fixture
def spark_on_s3(spark, s3_bucket, monkeypatch):
    """The session's Python workers get the store's environment as a cluster's executors do from
    `spark.executorEnv.AWS_ENDPOINT_URL` (the session started before the server, so set it here)."""
    for key in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
                "DATAFLOW_CACHE"):
        monkeypatch.setitem(spark.sparkContext.environment, key, os.environ[key])
    return spark

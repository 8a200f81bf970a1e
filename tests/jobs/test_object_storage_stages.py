"""From documents to a resumed training run with every output on S3 (a real S3 API on loopback, moto's
server, reached through AWS_ENDPOINT_URL as a user would reach MinIO): tokenizer, tokenize and the
trainer's checkpoints give the bytes the same run gives on local disk."""

from __future__ import annotations

import io
import json
import random

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import torch
import yaml

from dataflow.errors import UserError
from dataflow.mix.provenance import document_rows
from dataflow.object_store import FsspecFS, read_bytes, url_fs, write_bytes
from dataflow.shards import SPLITS
from jobs import mix, tokenize_docs, train_tokenizer
from bench.common.real_pages import write_documents
from tests.s3_server import s3_bucket, s3_endpoint, spark_on_s3  # noqa: F401 - fixtures
from trainer.config import load_train_config
from trainer.train import Trainer

pytest.importorskip("s3fs")

WORDS = ("river stone market winter letter garden engine silver harbour music paper window forest "
         "kitchen lantern meadow copper thunder village orchard signal canvas pepper").split()


def documents(count: int = 160) -> list[dict]:
    rng = random.Random(7)
    return [{"id": f"doc-{i:04d}", "url": f"https://example.org/{i}", "language": "en",
             "text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 160))) + "."} for i in range(count)]


def stage_outputs(root: str, docs: str) -> tuple[str, str]:
    """tokenizer/ and tokens/web under `root` (a folder or an s3:// URL), as the pipeline writes them."""
    assert train_tokenizer.main(["--input", docs, "--output", f"{root}/tokenizer", "--vocab-size", "300",
                                 "--max-sample-bytes", "200000"]) == 0
    assert tokenize_docs.main(["--input", docs, "--tokenizer", f"{root}/tokenizer/tokenizer.json", "--source", "web",
                               "--num-shards", "3", "--validation-frac", "0.1", "--output", f"{root}/tokens"]) == 0
    return f"{root}/tokenizer", f"{root}/tokens"


def mixed(tmp_path, name: str, tokens: str, output: str) -> str:
    """The mix stage over one source, within one epoch (a repeated source's document ids are read by
    Spark through the cluster's s3a connector, which this machine has not)."""
    mixture = tmp_path / f"mix-{name}.yaml"
    mixture.write_text(yaml.safe_dump({"name": "web-only", "total_tokens": 8192, "seq_len": 32, "seed": 0,
                                       "sources": {"web": {"path": tokens, "weight": 1.0, "max_epochs": 1}}}))
    assert mix.main(["--mixture", str(mixture), "--output", output, "--max-shard-tokens", "4000"]) == 0
    return output


def read(path: str) -> bytes:
    return read_bytes(path) if path.startswith("s3://") else open(path, "rb").read()


def comparable(stats: dict) -> dict:
    """stats.json without what names a place or a time (documents/ part names: Spark's are random), and
    tokenize's per-task resume counts: on disk only (a store's run is published whole)."""
    dropped = ("seconds", "output_files", "input", "fingerprint", "inputs", "config", "tokenizer", "resume")
    return {key: value for key, value in stats.items() if key not in dropped}


def train_config(tmp_path, name: str, tokens: str, checkpoints: str | None):
    mixture = tmp_path / f"mixture-{name}.yaml"
    mixture.write_text(yaml.safe_dump({"name": name, "total_tokens": 50_000, "seq_len": 32, "seed": 0,
                                       "sources": {"web": {"path": tokens, "weight": 1.0, "max_epochs": 50}}}))
    path = tmp_path / f"train-{name}.yaml"
    path.write_text(yaml.safe_dump({
        "out_dir": str(tmp_path / f"run-{name}"), "max_steps": 8, "device": "cpu", "preset": "tiny",
        "data": {"mixture": str(mixture), "batch_size": 4},
        "model": {"d_model": 32, "num_layers": 2, "num_heads": 2, "seq_len": 32},
        "eval": {"every_steps": 4, "num_sequences": 8, "batch_size": 8},
        "checkpoint": {"every_steps": 4, "keep_last": 2, **({"dir": checkpoints} if checkpoints else {})},
        "log": {"every_steps": 1, "tensorboard": False}}))
    return load_train_config(path)


def test_tokenizer_tokenize_and_a_resumed_run_on_s3_give_the_local_bytes(spark_on_s3, tmp_path, s3_bucket,
                                                                           caplog):
    torch.set_num_threads(1)
    docs = str(write_documents(tmp_path / "docs", documents(), parts=2))
    local_tokenizer, local_tokens = stage_outputs(str(tmp_path / "local"), docs)
    s3_tokenizer, s3_tokens = stage_outputs(f"{s3_bucket}/run", docs)

    assert read(f"{s3_tokenizer}/tokenizer.json") == read(f"{local_tokenizer}/tokenizer.json")
    for split in SPLITS:
        local_manifest = json.loads(read(f"{local_tokens}/{split}/manifest.json"))
        s3_manifest = json.loads(read(f"{s3_tokens}/{split}/manifest.json"))
        for manifest in (local_manifest, s3_manifest):  # where the input and tokenizer were: other places
            manifest["config"].pop("input"), manifest["config"].pop("tokenizer"), manifest["tokenizer"].pop("path")
        assert s3_manifest == local_manifest and local_manifest["shards"]
        for entry in local_manifest["shards"]:
            for name in (entry["file"], entry["index_file"]):
                assert read(f"{s3_tokens}/{split}/{name}") == read(f"{local_tokens}/{split}/{name}"), name
    for local, remote in ((local_tokenizer, s3_tokenizer), (local_tokens, s3_tokens)):
        local_stats, s3_stats = json.loads(read(f"{local}/stats.json")), json.loads(read(f"{remote}/stats.json"))
        assert comparable(s3_stats) == comparable(local_stats)
        listed = {**s3_stats["output_files"], "stats.json": len(read(f"{remote}/stats.json")), "_SUCCESS": 0}
        assert FsspecFS().file_sizes(remote) == listed  # every file in place, _SUCCESS last
    fs, documents_prefix = url_fs(f"{s3_tokens}/documents")
    s3_rows = ds.dataset(documents_prefix, filesystem=fs, format="parquet").to_table().sort_by("id").to_pylist()
    local_rows = pq.read_table(f"{local_tokens}/documents").sort_by("id").to_pylist()
    assert s3_rows == local_rows and len(s3_rows) == 160
    keys = {(row["shard"], row["document"]) for row in local_rows if row["split"] == "train"}
    assert document_rows(s3_tokens, "train", keys) == document_rows(local_tokens, "train", keys)  # spike tracing
    assert not FsspecFS().siblings(f"{s3_bucket}/run/*.tmp-*")  # temporary prefixes published or deleted

    local_mix = mixed(tmp_path, "local", local_tokens, str(tmp_path / "local" / "mix"))
    s3_mix = mixed(tmp_path, "s3", s3_tokens, f"{s3_bucket}/run/mix")
    local_manifest, s3_manifest = (json.loads(read(f"{folder}/manifest.json")) for folder in (local_mix, s3_mix))
    for manifest in (local_manifest, s3_manifest):  # the sources' paths, and so their manifests' hashes, differ
        manifest["mixture"]["sources"]["web"].pop("path"), manifest["sources"]["web"].pop("path")
        manifest["sources"]["web"].pop("train_manifest_sha256"), manifest["tokenizer"].pop("path")
    assert s3_manifest == local_manifest and len(local_manifest["shards"]) > 1
    for entry in local_manifest["shards"]:
        for name in (entry["file"], entry["sources_file"]):
            assert read(f"{s3_mix}/{name}") == read(f"{local_mix}/{name}"), name
    local_stats, s3_stats = (json.loads(read(f"{folder}/stats.json")) for folder in (local_mix, s3_mix))
    assert comparable(s3_stats) == comparable(local_stats)
    fs, repeated = url_fs(f"{s3_mix}/repeated")
    assert ds.dataset(repeated, filesystem=fs, format="parquet").to_table().num_rows == 0  # within one epoch

    caplog.clear()
    stage_outputs(f"{s3_bucket}/run", docs)  # a rerun finds every output complete and current on S3
    mixed(tmp_path, "s3", s3_tokens, f"{s3_bucket}/run/mix")
    assert caplog.text.count("is complete and current; skipping") == 3

    # The trainer on the tokens and with its checkpoints on S3, killed after step 4 and resumed,
    # ends with the tensors of an uninterrupted run on the local tokens.
    whole = Trainer(train_config(tmp_path, "local", local_tokens, None))
    whole.fit()
    checkpoints = f"{s3_bucket}/run/checkpoints/tiny"
    Trainer(train_config(tmp_path, "s3", s3_tokens, checkpoints)).fit(until_step=4)
    resumed = Trainer(train_config(tmp_path, "s3", s3_tokens, checkpoints), resume=True)
    assert resumed.step == 4
    resumed.fit()
    local_step = tmp_path / "run-local" / "checkpoints" / "step-000008"
    for name in ("model.pt", "optimizer.pt"):
        assert read(f"{checkpoints}/step-000008/{name}") == (local_step / name).read_bytes(), name
    remote, local = (torch.load(io.BytesIO(data), weights_only=True) for data in
                     (read(f"{checkpoints}/step-000008/trainer.pt"), (local_step / "trainer.pt").read_bytes()))
    assert {**remote, "config": None} == {**local, "config": None}  # the config names other paths


def test_a_prefix_on_s3_that_is_not_a_stage_output_is_never_replaced(spark_on_s3, tmp_path, s3_bucket):
    docs = str(write_documents(tmp_path / "docs", documents(20)))
    write_bytes(f"{s3_bucket}/mine/part-00000.parquet", b"a user's table")
    with pytest.raises(UserError, match=r"exists and is not a stage output \(it holds part-00000.parquet"):
        train_tokenizer.main(["--input", docs, "--output", f"{s3_bucket}/mine", "--vocab-size", "300"])
    assert read_bytes(f"{s3_bucket}/mine/part-00000.parquet") == b"a user's table"
    assert FsspecFS().file_sizes(f"{s3_bucket}/mine") == {"part-00000.parquet": 14}

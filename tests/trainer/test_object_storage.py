"""Token data and checkpoints on object storage (a real S3 API on loopback, tests/s3_server.py):
the same bytes in, the same tensors out as on local disk, through an interrupted and resumed run."""

import io
from pathlib import Path

import numpy as np
import pytest
import torch

from dataflow.errors import InputError
from dataflow.object_store import FsspecFS, read_bytes, upload, write_bytes
from dataflow.shards import RemoteTokens, TokenDataset, open_split
from trainer.checkpoint import step_folders
from trainer.train import Trainer

from conftest import tiny_config, write_mixture
from tests.s3_server import s3_bucket, s3_endpoint  # noqa: F401 - fixtures

pytest.importorskip("s3fs")


def remote_sources(sources: dict[str, Path], bucket: str) -> dict[str, str]:
    urls = {}
    for name, folder in sources.items():
        urls[name] = f"{bucket}/tokens/{name}"
        upload(folder, urls[name])
    return urls


def test_a_dataset_on_s3_reads_like_the_local_one_by_ranges(sources, s3_bucket):
    url = remote_sources({"web": sources["web"]}, s3_bucket)["web"]
    local, remote = open_split(sources["web"], "train"), open_split(url, "train", verify=True)
    assert isinstance(remote.tokens[0], RemoteTokens)
    assert remote.manifest == local.manifest and remote.num_tokens == local.num_tokens
    windows = np.arange(local.num_windows(32))[::7]
    assert np.array_equal(remote.read_windows(windows, 32), local.read_windows(windows, 32))
    assert np.array_equal(remote.document(1, 3), local.document(1, 3))


def test_a_corrupt_shard_on_s3_is_refused_by_name(sources, s3_bucket):
    url = remote_sources({"web": sources["web"]}, s3_bucket)["web"]
    shard = f"{url}/train/00001.bin"
    data = bytearray(read_bytes(shard))
    data[len(data) // 2] ^= 0x01  # same size, one flipped bit
    write_bytes(shard, bytes(data))
    with pytest.raises(InputError, match=r"shard 00001.bin is corrupt"):
        TokenDataset.open(f"{url}/train").verify(cached=True)


def test_run_on_s3_tokens_with_s3_checkpoints_resumes_to_the_local_runs_bytes(tmp_path, sources, s3_bucket,
                                                                               caplog):
    """Sources and checkpoints on S3, killed after step 4 and resumed: the final checkpoint's files are
    byte-identical to those of an uninterrupted run on local disk; a corrupt newest step on S3 is skipped."""
    local_mixture = write_mixture(tmp_path / "mix-local.yaml", {"web": (sources["web"], 0.75),
                                                            "wiki": (sources["wiki"], 0.25)})
    urls = remote_sources(sources, s3_bucket)
    s3_mixture = write_mixture(tmp_path / "mix-s3.yaml", {"web": (urls["web"], 0.75), "wiki": (urls["wiki"], 0.25)})
    checkpoints = f"{s3_bucket}/runs/tiny/checkpoints"

    whole = Trainer(tiny_config(tmp_path / "local", local_mixture))
    whole.fit()
    config = tiny_config(tmp_path / "s3", s3_mixture, checkpoint={"dir": checkpoints})
    Trainer(config).fit(until_step=4)  # checkpoint at step 4 on S3, then the process "dies"
    assert [step for step, _ in step_folders(checkpoints)] == [4]
    resumed = Trainer(config, resume=True)
    assert resumed.step == 4
    resumed.fit()

    assert [step for step, _ in step_folders(checkpoints)] == [4, 8]
    local_step = tmp_path / "local" / "checkpoints" / "step-000008"
    for name in ("model.pt", "optimizer.pt"):  # the tensors, to the byte
        assert read_bytes(f"{checkpoints}/step-000008/{name}") == (local_step / name).read_bytes(), name
    # trainer.pt differs only by the run's config (out_dir, mixture file and checkpoint.dir are other paths)
    remote, local = (torch.load(io.BytesIO(data), weights_only=True) for data in
                     (read_bytes(f"{checkpoints}/step-000008/trainer.pt"), (local_step / "trainer.pt").read_bytes()))
    assert {**remote, "config": None} == {**local, "config": None}
    model = f"{checkpoints}/step-000008/model.pt"
    corrupt = bytearray(read_bytes(model))
    corrupt[len(corrupt) // 2] ^= 0xFF  # same size, one flipped byte
    write_bytes(model, bytes(corrupt))
    assert Trainer(config, resume=True).step == 4  # the newest step fails its sha256: the one before it
    assert "step-000008 is corrupt: model.pt does not match" in caplog.text
    assert sorted(FsspecFS().file_sizes(checkpoints)) == [f"step-00000{step}/{name}" for step in (4, 8)
                                                          for name in ("complete.json", "model.pt", "optimizer.pt",
                                                                       "trainer.pt")]

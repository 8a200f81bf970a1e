"""Shards are verified when training opens them: same-size corruption is an error naming the
shard (never a device assert), checked once per file version, and manifest file names stay
inside their folder."""

import json
import os

import pytest

from dataflow.errors import InputError
from dataflow.shards import MANIFEST, VERIFIED_FILE, TokenDataset
from trainer.train import Trainer

from conftest import tiny_config, write_mixture, write_source


@pytest.fixture
def source(tmp_path):
    return write_source(tmp_path / "tokens" / "web", "web")


def flip_byte(path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # same size: the cheap size check cannot see it
    path.write_bytes(bytes(data))


def test_same_size_corruption_stops_training_naming_the_shard(tmp_path, source):
    mixture = write_mixture(tmp_path / "mix.yaml", {"web": (source, 1.0)})
    flip_byte(source / "train" / "00001.bin")
    with pytest.raises(InputError, match=r"token dataset .*web/train: shard 00001.bin is corrupt"):
        Trainer(tiny_config(tmp_path / "run", mixture))


def test_a_shard_is_checked_once_per_file_version(tmp_path, source):
    mixture = write_mixture(tmp_path / "mix.yaml", {"web": (source, 1.0)})
    Trainer(tiny_config(tmp_path / "run", mixture))
    record = json.loads((source / "train" / VERIFIED_FILE).read_text())
    assert sorted(record) == sorted(entry["file"] for entry in
                                    json.loads((source / "train" / MANIFEST).read_text())["shards"])
    flip_byte(source / "train" / "00000.bin")  # a new mtime: checked again
    with pytest.raises(InputError, match="shard 00000.bin is corrupt"):
        TokenDataset.open(source / "train").verify(cached=True)


def test_recorded_verification_is_trusted_while_size_and_mtime_hold(tmp_path, source):
    dataset = TokenDataset.open(source / "train")
    dataset.verify(cached=True)
    shard = source / "train" / "00000.bin"
    stat = shard.stat()
    flip_byte(shard)
    os.utime(shard, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    TokenDataset.open(source / "train").verify(cached=True)  # the cheap check is by size and mtime, as documented
    with pytest.raises(InputError, match="shard 00000.bin is corrupt"):
        TokenDataset.open(source / "train").verify()


@pytest.mark.parametrize("name", ["../../outside.bin", "/etc/hostname", "sub/00000.bin", ".."])
def test_manifest_file_names_must_stay_inside_the_folder(source, name):
    manifest_file = source / "train" / MANIFEST
    manifest = json.loads(manifest_file.read_text())
    manifest["shards"][0]["file"] = name
    manifest_file.write_text(json.dumps(manifest))
    with pytest.raises(InputError, match=r"manifest names the file .* not a plain file name inside the folder"):
        TokenDataset.open(source / "train")

"""The mix job in real Spark local mode on synthetic token datasets of ~10M tokens.

Checks what the issue asks of it: realised shares within 0.5% of target at a 10M-token budget,
the trainer's exact stream, determinism, repeated documents, the Megatron export read back
with a reader of the published format, integrity checks that name the shard, and refusals.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

import cli
from dataflow.mix.megatron import MegatronFile
from dataflow.mix.mixture import MixedStream, load_mixture, open_sources
from dataflow.mix.sequences import MixedSequences
from dataflow.shards import TokenizerInfo, split_path, write_token_dataset
from jobs import mix
from trainer.data import MixtureLoader

pytestmark = pytest.mark.slow  # whole-job Spark runs; the fast tier runs every stage via the pipeline (docs/testing.md)

VOCAB, EOS, SEQ_LEN = 50_000, 49_999, 1024
SOURCES = {"web": (6_000_000, 0.6, 1), "wiki": (1_000_000, 0.25, 3), "books": (2_500_000, 0.15, 1)}


def write_source(root, name, tokens, tokenizer, seed):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(50, 1500, size=tokens // 700)
    docs = [(rng.integers(0, EOS, size=n), 4 * int(n)) for n in lengths]
    for split, part in (("train", docs[:-20]), ("validation", docs[-20:])):
        write_token_dataset(split_path(root, split), part, source=name, split=split, tokenizer=tokenizer,
                            vocab_size=VOCAB, eos_id=EOS, max_shard_tokens=1_000_000)
    return root


@pytest.fixture(scope="module")
def mixture_file(tmp_path_factory):
    root = tmp_path_factory.mktemp("mix-sources")
    (root / "tokenizer.json").write_text("a stand-in: the format checks the sha256 only")
    tokenizer = TokenizerInfo.from_file(root / "tokenizer.json")
    sources = {name: write_source(root / name, name, tokens, tokenizer, seed)
               for seed, (name, (tokens, _, _)) in enumerate(SOURCES.items())}
    # wiki's documents/ table, as `tokenize` writes it, so that repeated/ carries document ids
    manifest = json.loads((sources["wiki"] / "train" / "manifest.json").read_text())
    rows = [{"split": "train", "shard": int(entry["file"][:5]), "document": d, "id": f"wiki-{entry['file'][:5]}-{d}"}
            for entry in manifest["shards"] for d in range(entry["num_documents"])]
    (sources["wiki"] / "documents").mkdir()
    pq.write_table(pa.Table.from_pylist(rows), sources["wiki"] / "documents" / "part-0.parquet")
    path = root / "mixture.yaml"
    path.write_text(yaml.safe_dump({"name": "synthetic", "total_tokens": 10_000_000, "seq_len": SEQ_LEN, "seed": 7,
                                    "sources": {name: {"path": str(sources[name]), "weight": weight, "max_epochs": cap}
                                                for name, (_, weight, cap) in SOURCES.items()}}))
    return path


@pytest.fixture(scope="module")
def native(spark, mixture_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("mixed") / "native"
    assert mix.main(["--mixture", str(mixture_file), "--output", str(out), "--max-shard-tokens", "2000000"]) == 0
    return out


def manifest_of(folder) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def test_realised_shares_are_within_half_a_percent_at_10m_tokens(native):
    manifest, stats = manifest_of(native), json.loads((native / "stats.json").read_text())
    assert manifest["num_sequences"] == 10_000_000 // SEQ_LEN == 9765 and stats["tokens"] == 9765 * SEQ_LEN
    for name, (_, weight, _) in SOURCES.items():
        source = manifest["sources"][name]
        assert source["target_share"] == weight
        assert abs(source["realised_share"] - weight) <= 0.005 * weight
    assert sum(s["realised_tokens"] for s in manifest["sources"].values()) == 9765 * SEQ_LEN
    wiki = manifest["sources"]["wiki"]
    assert wiki["epochs"] == wiki["realised_tokens"] / wiki["available_tokens"] and 2 < wiki["epochs"] < 3
    assert manifest["sources"]["web"]["epochs"] < 1
    assert [entry["num_sequences"] for entry in manifest["shards"]] == [1951] * 5 + [10]  # 2M // 1025 per shard


def test_sequences_are_the_stream_the_trainer_samples(native, mixture_file):
    mixture = load_mixture(mixture_file)
    loader = MixtureLoader(open_sources(mixture, "train"), mixture.shares, seq_len=SEQ_LEN, batch_size=64,
                           seed=mixture.seed)
    written = MixedSequences.open(native)
    for batch in range(3):
        expected = loader.next_batch()
        rows = np.stack([written.sequence(64 * batch + i)[0] for i in range(64)]).astype(np.int64)
        assert np.array_equal(rows[:, :-1], expected.inputs.numpy()) and np.array_equal(rows[:, 1:],
                                                                                        expected.targets.numpy())
    loader.close()


def test_inspect_sequence_names_the_documents_whose_tokens_it_holds(native, mixture_file, capsys):
    written = MixedSequences.open(native)
    n = next(i for i in range(100, 1000) if written.sequence(i)[1] == "wiki")  # wiki has a documents/ table
    capsys.readouterr()
    assert cli.main(["inspect", str(native), "--sequence", str(n), "--json"]) == 0
    documents = [sample for sample in json.loads(capsys.readouterr().out)["samples"] if "sequence" in sample]
    wiki = open_sources(load_mixture(mixture_file), "train")["wiki"]
    assert {d["source"] for d in documents} == {"wiki"} and all(d["sequence"] == n for d in documents)
    assert [d["id"] for d in documents] == [f"wiki-{d['shard']:05d}-{d['document']}" for d in documents]
    held = np.concatenate([wiki.document(d["shard"], d["document"])[a:b] for d in documents
                           for a, b in d["token_ranges"]])
    assert np.array_equal(held, written.sequence(n)[0][1:]) and sum(d["targets"] for d in documents) == SEQ_LEN
    assert cli.main(["inspect", str(native), "--sequence", str(len(written))]) == 2
    assert f"--sequence {len(written)} is outside" in capsys.readouterr().err


def test_same_mixture_and_seed_give_byte_identical_shards(spark, native, mixture_file, tmp_path):
    again = tmp_path / "again"
    mix.main(["--mixture", str(mixture_file), "--output", str(again), "--max-shard-tokens", "2000000"])
    assert manifest_of(again)["shards"] == manifest_of(native)["shards"]
    assert (again / "00003.bin").read_bytes() == (native / "00003.bin").read_bytes()


def test_repeated_documents_are_those_read_more_than_once(native, mixture_file):
    mixture = load_mixture(mixture_file)
    stream = MixedStream(open_sources(mixture, "train"), mixture.shares, seq_len=SEQ_LEN, seed=mixture.seed)
    draws = dict(zip(stream.names, stream.schedule.counts(9765).tolist()))
    wiki = stream.datasets["wiki"]
    expected = windows_before = 0
    chosen = stream.sources["wiki"].windows(np.arange(draws["wiki"]))
    for shard, ends in enumerate(wiki.doc_ends):  # count every target token's reads, document by document
        ends = ends.astype(np.int64)
        reads = np.zeros(int(ends[-1]), dtype=np.int64)
        count = int(wiki.windows_per_shard(SEQ_LEN)[shard])
        for window in chosen[(chosen >= windows_before) & (chosen < windows_before + count)] - windows_before:
            reads[window * SEQ_LEN + 1:(window + 1) * SEQ_LEN + 1] += 1
        starts = np.concatenate([[0], ends[:-1]])
        expected += sum(reads[s:e].max() > 1 for s, e in zip(starts, ends))
        windows_before += count
    repeated = pq.read_table(native / "repeated").to_pylist()
    assert expected > 0 and len(repeated) == expected == manifest_of(native)["sources"]["wiki"]["repeated_documents"]
    assert {row["source"] for row in repeated} == {"wiki"} and all(row["times_read"] >= 2 for row in repeated)
    assert all(row["id"] == f"wiki-{row['shard']:05d}-{row['document']}" for row in repeated)


def test_megatron_export_reads_back_as_the_native_sequences(spark, native, mixture_file, tmp_path):
    out = tmp_path / "megatron"
    mix.main(["--mixture", str(mixture_file), "--output", str(out), "--max-shard-tokens", "2000000",
              "--format", "megatron"])
    manifest = manifest_of(out)
    assert manifest["format"] == "megatron" and manifest["dtype"] == "uint16"
    native_rows = MixedSequences.open(native)
    position = 0
    for entry in manifest["shards"]:
        megatron = MegatronFile(out / entry["file"].removesuffix(".bin"))
        assert len(megatron) == entry["num_sequences"]
        for i in range(0, len(megatron), 97):
            assert np.array_equal(megatron.sequence(i), native_rows.sequence(position + i)[0][:SEQ_LEN])
        position += len(megatron)
    assert position == 9765
    assert cli.main(["inspect", str(out), "--verify"]) == 0


def test_verify_names_the_corrupt_shard_in_one_line(spark, mixture_file, tmp_path, capsys):
    out = tmp_path / "corrupt"
    mix.main(["--mixture", str(mixture_file), "--output", str(out), "--max-shard-tokens", "5000000"])
    assert cli.main(["inspect", str(out), "--verify"]) == 0
    data = bytearray((out / "00001.bin").read_bytes())
    data[12345] ^= 0x10
    (out / "00001.bin").write_bytes(bytes(data))
    capsys.readouterr()
    assert cli.main(["inspect", str(out), "--verify"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("error: mixture output") and "shard 00001.bin is corrupt" in err[0] and len(err) == 1


def test_a_source_read_past_max_epochs_is_refused_by_name(spark, mixture_file, tmp_path, capsys):
    data = yaml.safe_load(mixture_file.read_text())
    data["sources"]["wiki"]["max_epochs"] = 2
    (tmp_path / "capped.yaml").write_text(yaml.safe_dump(data))
    assert cli.main(["run", "mix", "--mixture", str(tmp_path / "capped.yaml"), "--output", str(tmp_path / "o")]) == 2
    assert "source 'wiki' would be read 2.27 times" in capsys.readouterr().err


def test_sources_made_with_different_tokenizers_are_refused_by_name(spark, mixture_file, tmp_path, capsys):
    (tmp_path / "other.json").write_text("another tokenizer")
    other = TokenizerInfo.from_file(tmp_path / "other.json")
    write_token_dataset(split_path(tmp_path / "code", "train"), [(np.arange(3000), 3000)], source="code",
                        split="train", tokenizer=other, vocab_size=VOCAB, eos_id=EOS)
    data = yaml.safe_load(mixture_file.read_text())
    data["sources"]["code"] = {"path": str(tmp_path / "code"), "weight": 0.0001, "max_epochs": 10}
    data["sources"]["web"]["weight"] = 0.5999  # weights still sum to 1
    (tmp_path / "mixed.yaml").write_text(yaml.safe_dump(data))
    assert cli.main(["run", "mix", "--mixture", str(tmp_path / "mixed.yaml"), "--output", str(tmp_path / "o")]) == 2
    assert "source 'code': token dataset" in capsys.readouterr().err

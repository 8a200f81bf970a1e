"""From a loss spike back to the document that caused it: the guard's event, `inspect run`, and the
step -> documents mapping checked against what the loader really read, across a resume."""

import hashlib
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
import torch.distributed as dist

import cli
from dataflow.inspect.run import open_run_stream, step_window
from dataflow.mix.provenance import window_spans
from dataflow.shards import TokenizerInfo, split_path, write_token_dataset
from trainer.config import load_train_config
from trainer.metrics import read_jsonl
from trainer.train import Trainer

from conftest import EOS, VOCAB_SIZE, counting_docs, write_mixture
from ranks import run_ranks
from test_guard import poison

PLANTED_ID = "planted-random-bytes"
PLANTED_URL = "http://junk.example/slashes"


def write_source_with_provenance(root, name, docs, seed):
    """A token source as `dataflow run tokenize` leaves it: train/ and validation/, documents/ with ids and
    URLs, and the documents stage it was made from (`config.input`) with text and filter_values."""
    stage = root / "docs"
    (root / "tokenizer.json").parent.mkdir(parents=True, exist_ok=True)
    (root / "tokenizer.json").write_text("counting sequences mod 63, id 63 is EOS")
    tokenizer = TokenizerInfo.from_file(root / "tokenizer.json")
    train = write_token_dataset(split_path(root, "train"), [(tokens, 3 * len(tokens)) for _, tokens in docs],
                                source=name, split="train", tokenizer=tokenizer, vocab_size=VOCAB_SIZE, eos_id=EOS,
                                max_shard_tokens=4000, config={"input": str(stage)})
    write_token_dataset(split_path(root, "validation"), counting_docs(40, seed + 1000), source=name,
                        split="validation", tokenizer=tokenizer, vocab_size=VOCAB_SIZE, eos_id=EOS)
    places, ids = [], iter(doc_id for doc_id, _ in docs)
    for entry in train.shards:
        places += [{"split": "train", "shard": int(entry.file[:5]), "document": d, "id": next(ids)}
                   for d in range(entry.num_documents)]
    for place in places:
        place["url"] = PLANTED_URL if place["id"] == PLANTED_ID else f"http://{name}.example/{place['id']}"
    (root / "documents").mkdir()
    pq.write_table(pa.Table.from_pylist(places), root / "documents" / "part-0.parquet")
    (stage / "data").mkdir(parents=True)
    values = pa.map_(pa.string(), pa.float64())
    pq.write_table(pa.Table.from_pylist(
        [{"id": p["id"], "url": p["url"], "text": "/" * 500 if p["id"] == PLANTED_ID else f"counting page {p['id']}",
          "filter_values": [("dup_line_frac", 0.0),
                            ("gopher_symbol_word_ratio", 1.0 if p["id"] == PLANTED_ID else 0.0)]}
         for p in places], schema=pa.schema([("id", pa.string()), ("url", pa.string()), ("text", pa.string()),
                                             ("filter_values", values)])), stage / "data" / "part-0.parquet")
    return root


@pytest.fixture(scope="module")
def planted_mixture(tmp_path_factory):
    """web: counting documents and, at a random place, 120 random tokens that no filter would keep."""
    root = tmp_path_factory.mktemp("planted")
    web = [(f"web-{i}", tokens) for i, (tokens, _) in enumerate(counting_docs(200, seed=1))]
    web.insert(77, (PLANTED_ID, np.random.default_rng(5).integers(0, EOS, size=120)))
    wiki = [(f"wiki-{i}", tokens) for i, (tokens, _) in enumerate(counting_docs(200, seed=2, strides=(5,)))]
    sources = {"web": (write_source_with_provenance(root / "web", "web", web, 1), 0.5),
               "wiki": (write_source_with_provenance(root / "wiki", "wiki", wiki, 2), 0.5)}
    return write_mixture(root / "planted.yaml", sources)


def tiny_run(out_dir, mixture, **overrides):
    """The `tiny` preset on one CPU thread, without evaluations."""
    return load_train_config(None, {"preset": "tiny", "out_dir": str(out_dir), "device": "cpu",
                                    "data": {"mixture": str(mixture)}, "eval": {"every_steps": 0}, **overrides})


def test_spike_event_and_inspect_run_name_the_planted_random_document_first(tmp_path, planted_mixture, capsys):
    config = tiny_run(tmp_path / "run", planted_mixture, max_steps=80, checkpoint={"every_steps": 0},
                      guard={"window": 5, "min_history": 5, "max_z": 3.0, "max_consecutive_spikes": 100,
                             "max_event_documents": 1000})
    trainer = Trainer(config)
    trainer.fit()
    trainer.close()
    spikes = [e for e in read_jsonl(tmp_path / "run" / "events.jsonl") if e["event"] == "spike_skipped"]
    planted = [e for e in spikes if any(d["id"] == PLANTED_ID for d in e["documents"])]
    assert planted, "the guard never fired on a batch holding the planted document"
    for event in planted:
        worst = event["documents"][0]
        assert (worst["id"], worst["url"], worst["source"]) == (PLANTED_ID, PLANTED_URL, "web")
        assert worst["mean_loss"] > 3 and PLANTED_ID in event["message"]
        assert all(0 <= a < b <= 121 for a, b in worst["token_ranges"])
        assert len(event["documents"]) == event["num_documents"]

    assert cli.main(["inspect", "run", str(tmp_path / "run"), "--spikes", "--json", "--top", "1000"]) == 0
    samples = json.loads(capsys.readouterr().out)["samples"]
    for event in planted:
        first = next(s for s in samples if s["step"] == event["step"] and s["rank"] == 1)
        assert first["id"] == PLANTED_ID and first["filter_values"]["gopher_symbol_word_ratio"] == 1.0
        assert first["text"].startswith("/////") and first["raw page"].startswith(f"dataflow inspect doc {PLANTED_ID} ")

    assert cli.main(["inspect", "run", str(tmp_path / "run"), "--step", str(planted[0]["step"])]) == 0
    text = capsys.readouterr().out
    assert f"id: {PLANTED_ID}" in text.split("--- sample 1 ---")[1].split("--- sample 2 ---")[0]


def reassembled_targets(stream, spans, row):
    """The targets of one window, rebuilt from the documents the mapping names for it."""
    pieces = [stream.datasets[s.source].document(s.shard, s.document)[s.tokens[0]:s.tokens[1]]
              for s in spans if s.row == row]
    return np.concatenate(pieces).astype(np.int64)


@pytest.mark.slow
def test_step_to_documents_mapping_matches_what_the_loader_read_across_a_resume_and_a_rollback(tmp_path,
                                                                                              planted_mixture):
    config = tiny_run(tmp_path / "run", planted_mixture, max_steps=300, checkpoint={"every_steps": 100},
                      data={"mixture": str(planted_mixture), "record_reads": True})
    first = Trainer(config)
    first.fit(until_step=150)  # checkpoint at 100, then the process "dies"
    first.close()
    resumed = Trainer(config, resume=True)
    assert resumed.step == 100
    resumed.fit(until_step=220)
    poison(resumed)  # steps 220..224 spike, then a rollback to step 200; the stream goes on
    resumed.fit()
    resumed.close()

    reads = read_jsonl(tmp_path / "run" / "reads-rank0.jsonl")
    assert len(reads) == 150 + 200 + 25  # steps 100..149 read twice, alike; 200..224 twice, on other data
    events = read_jsonl(tmp_path / "run" / "events.jsonl")
    assert [(e["step"], e["to_step"]) for e in events if e["event"] == "rollback"] == [(224, 200)]
    stream, _ = open_run_stream(resumed.config.model_dump(mode="json"))
    for read in reads:  # every read: its positions hold the documents the mapping names
        spans = window_spans(stream, read["positions"][0], read["positions"][-1] + 1)
        for row, digest in enumerate(read["targets_sha256"]):
            assert hashlib.sha256(reassembled_targets(stream, spans, row).tobytes()).hexdigest() == digest
    last_read = {read["step"]: read["positions"] for read in reads}
    assert sorted(last_read) == list(range(300))
    for step, positions in last_read.items():  # and each step's last run is where step_window puts it
        start, stop = step_window(events, step)
        assert positions == list(range(start, stop))


def gather_stream_positions(config, out):
    """On each rank: per-position 'losses' that hold the stream position of their row; rank 0 saves the gather."""
    trainer = Trainer(config)
    per_micro_batch = config.data.batch_size * trainer.env.world_size
    mine = [torch.tensor([[float(p)] * 3 for p in trainer.loader.rank_positions(m * per_micro_batch)])
            for m in range(config.data.grad_accum_steps)]
    gathered = trainer._batch_losses(mine)
    if trainer.env.is_main:
        np.save(out, gathered)
    trainer.close()
    dist.destroy_process_group()


@pytest.mark.slow
def test_spiking_batch_losses_gathered_from_two_ranks_come_in_stream_order(tmp_path, planted_mixture):
    config = tiny_run(tmp_path / "run", planted_mixture, data={"mixture": str(planted_mixture), "batch_size": 2,
                                                               "grad_accum_steps": 2})
    run_ranks(gather_stream_positions, 2, config, tmp_path / "gathered.npy")
    assert np.array_equal(np.load(tmp_path / "gathered.npy"), np.repeat(np.arange(8.0)[:, None], 3, axis=1))

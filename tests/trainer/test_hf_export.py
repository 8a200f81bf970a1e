"""`dataflow export-model`: a tiny run trained here on a real byte-level BPE, exported as a transformers folder,
gives the trainer's logits (fp32, CPU), generates greedily as the trainer's model does, and is scored by
lm-evaluation-harness (`--model hf`) on a multiple-choice task over the project's sample benchmark, offline."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

import cli
from dataflow.samples.benchmark import benchmark_path
from dataflow.shards import TokenizerInfo, split_path, write_token_dataset
from trainer.hf_export import llama_config, llama_state_dict, load_run_model
from trainer.model import GPT
from trainer.train import train
from tests.sample_documents import sample_documents

from conftest import tiny_config

VOCAB = 320
TASK = """task: dataflow_sample_mc
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_choice: "{{{{[' ' + answer.split('#### ')[-1], ' none']}}}}"
doc_to_target: 0
metric_list:
  - metric: acc
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny run (8 steps) on the paragraphs of English sample articles (about 100 kB, as many
    paragraphs as 100 kB of a play), tokenized by a byte-level BPE trained here."""
    root = tmp_path_factory.mktemp("hf_export")
    english = [doc["text"] for doc in sample_documents(100, seed=8) if doc["language"] == "en"]
    docs = [paragraph for text in english for paragraph in text.split("\n")]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.train_from_iterator(docs, trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=["<|endoftext|>"],
                                                            initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer.save(str(root / "tokenizer.json"))
    info, eos = TokenizerInfo.from_file(root / "tokenizer.json"), tokenizer.token_to_id("<|endoftext|>")
    encoded = [(np.array(e.ids), len(doc.encode())) for e, doc in zip(tokenizer.encode_batch(docs), docs)]
    for split, chosen in (("train", encoded[20:]), ("validation", encoded[:20])):
        write_token_dataset(split_path(root / "plays", split), chosen, source="plays", split=split, tokenizer=info,
                            vocab_size=tokenizer.get_vocab_size(), eos_id=eos)
    (root / "mix.yaml").write_text(yaml.safe_dump({"name": "plays", "total_tokens": 10**5, "sources": {
        "plays": {"path": str(root / "plays"), "weight": 1.0}}}))
    train(tiny_config(root / "run", root / "mix.yaml", model={"tie_embeddings": False}))
    return root / "run", tokenizer


@pytest.fixture(scope="module")
def exported(run, tmp_path_factory):
    out = tmp_path_factory.mktemp("exported") / "model"
    assert cli.main(["export-model", str(run[0]), "--output", str(out)]) == 0
    return out


def test_logits_and_greedy_generation_equal_the_trainers(run, exported):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    ours, _ = load_run_model(run[0])
    theirs = AutoModelForCausalLM.from_pretrained(exported, dtype=torch.float32).eval()
    assert type(theirs).__name__ == "LlamaForCausalLM"
    text = "Check the forecast every morning: conditions on the tops can change in an hour."
    ids = AutoTokenizer.from_pretrained(exported)(text)["input_ids"]
    assert ids == run[1].encode(text).ids  # the tokenizer is the run's, no special tokens added
    tokens = torch.tensor([ids[:32]])
    with torch.no_grad():
        assert torch.allclose(theirs(tokens).logits, ours(tokens), atol=1e-4, rtol=0)
        generated = theirs.generate(tokens[:, :8], max_new_tokens=8, do_sample=False, pad_token_id=0)
        greedy = tokens[:, :8]
        for _ in range(8):
            greedy = torch.cat([greedy, ours(greedy)[:, -1:].argmax(-1)], dim=1)
    assert torch.equal(generated, greedy)


def test_tied_embeddings_export_too(run, tmp_path):
    """The default proxy ties input and output embeddings: the export loads with one shared matrix."""
    from transformers import AutoModelForCausalLM, LlamaForCausalLM

    ours, _ = load_run_model(run[0])
    config = ours.config.model_copy(update={"tie_embeddings": True})
    tied = GPT(config).eval()
    llama = LlamaForCausalLM(llama_config(config, 0))
    llama.load_state_dict(llama_state_dict(tied), strict=False)
    llama.save_pretrained(tmp_path / "tied")
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path / "tied", dtype=torch.float32).eval()
    tokens = torch.arange(16).unsqueeze(0)
    with torch.no_grad():
        assert torch.allclose(loaded(tokens).logits, tied(tokens), atol=1e-4, rtol=0)


def test_lm_eval_scores_it_on_a_local_multiple_choice_task(exported, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import lm_eval
    from lm_eval.tasks import TaskManager

    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "sample_mc.yaml").write_text(TASK.format(data=benchmark_path()), encoding="utf-8")
    results = lm_eval.simple_evaluate(model="hf", model_args=f"pretrained={exported},dtype=float32",
                                      tasks=["dataflow_sample_mc"], task_manager=TaskManager(
                                          include_path=str(tmp_path / "tasks")), device="cpu", batch_size=8)
    scores = results["results"]["dataflow_sample_mc"]
    assert 0.0 <= scores["acc,none"] <= 1.0
    assert results["n-samples"]["dataflow_sample_mc"]["effective"] == 30

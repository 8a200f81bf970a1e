"""The whole mixture search against a planted loss surface: does its pick land at the known feasible optimum?

Candidates, the store, the fit, the surface search under the `max_epochs` limits, the pick, the
confirmations and the report all run as in a real search; only the proxies are replaced by
`planted_law.PlantedLaw.run`, which scores each run's mixture on planted data mixing laws with
noise at the real proxies' seed std. The true feasible optimum is found with scipy on the
noise-free law. The pick must come within `MARGIN` bits/byte of it, and closer than the
natural mixture, the uniform one and the best sampled candidate (true losses, noise-free).
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from conftest import counting_docs, write_source
from planted_law import PlantedLaw
from search_sources import search_file

from dataflow.inspect import inspect_path
from dataflow.shards import open_split
from trainer.search.engine.store import read_spec
from trainer.search.fits.rank_transfer import LARGER_SUFFIX
from trainer.search.searches.mixture import run_mixture_search
from trainer.search.searches.mixture_config import load_mixture_config
from trainer.search.searches.mixture_inputs import read_inputs

FINAL_TOKENS = 40_000
MARGIN = 0.01
"""Largest regret of the pick (bits/byte): about one proxy seed std (0.005-0.01)."""

THREE = PlantedLaw(["web", "wiki", "books"], {"wiki": 1.7, "books": 1.9},
                   {"wiki": [-0.9, -1.8, -0.3], "books": [-0.8, -0.3, -1.6]}, {"wiki": 0.5, "books": 0.5})
SIX = PlantedLaw([f"s{index}" for index in range(6)], {"s0": 1.6, "s1": 1.8, "s2": 2.0},
                 {"s0": [-1.6, -0.3, -0.6, -0.1, 0.0, -0.2], "s1": [-0.2, -1.5, -0.5, -0.3, 0.1, -0.1],
                  "s2": [-0.4, -0.2, -1.2, -0.6, -0.1, 0.0]}, {"s0": 0.4, "s1": 0.3, "s2": 0.3})
DOCS = {"web": 600, "wiki": 200, "books": 100, "s0": 400, "s1": 300, "s2": 200, "s3": 150, "s4": 100, "s5": 100}
"""Training documents per source: the natural mixture is web-heavy (s0-heavy), not uniform."""


def planted_search(tmp_path, law: PlantedLaw, caps: dict[str, float], candidates: int, runner=None, **overrides):
    """Sources of the sizes above, `max_epochs` set so that a capped source may take at most its cap of
    the final budget (the others are free), and a search over them run with the planted law (or `runner`);
    `overrides` replace top-level keys of the search file."""
    folders = {name: write_source(tmp_path / name, name, seed=index, train_docs=counting_docs(DOCS[name], index))
               for index, name in enumerate(law.sources)}
    sources = {}
    for name, folder in folders.items():
        available = open_split(folder, "train").num_tokens
        sources[name] = {"path": str(folder), "max_epochs": caps.get(name, 2.0) * FINAL_TOKENS / available}
    path = search_file(tmp_path / "search.yaml", folders, tmp_path / "search", candidates=candidates,
                       target=law.target, fit={"surface_samples": 20_000}, **overrides)
    path.write_text(yaml.safe_dump({**yaml.safe_load(path.read_text()), "sources": sources}))
    config = load_mixture_config(path)
    summary = run_mixture_search(config, runner=runner or law.run)
    limits = read_inputs(config).limits
    return summary, np.array([limits[name] for name in law.sources])


@pytest.mark.parametrize("law, caps, candidates", [
    pytest.param(THREE, {}, 16, id="3-sources-interior"),
    pytest.param(THREE, {"wiki": 0.36}, 16, id="3-sources-wiki-capped-by-max-epochs"),
    pytest.param(SIX, {}, 32, id="6-sources"),
])
def test_pick_lands_at_the_planted_feasible_optimum(tmp_path, law, caps, candidates):
    summary, limits = planted_search(tmp_path, law, caps, candidates)
    optimum, best_loss = law.feasible_optimum(limits)
    for name, cap in caps.items():  # the cap binds: the unconstrained optimum is beyond it, the feasible one on it
        free, _ = law.feasible_optimum(np.ones(len(law.sources)))
        assert free[law.sources.index(name)] > cap + 0.05
        assert optimum[law.sources.index(name)] == pytest.approx(cap, abs=1e-4)
    regret = {label: law.target_loss(entry["weights"]) - best_loss for label, entry in summary["comparison"].items()}
    assert regret["predicted"] < MARGIN, (summary["fit"], summary["pick"], optimum, regret)
    for label in ("natural", "uniform", "best-sampled"):
        assert regret["predicted"] < regret[label], (label, regret)
    pick = np.array([summary["pick"][name] for name in law.sources])
    assert np.all(pick <= limits * (1 + 1e-9))


def scales(proxy: PlantedLaw, larger: PlantedLaw):
    """A runner scoring the search's proxies on one law and the rank-transfer check's larger runs on another."""
    def run(folders):
        at_larger = [folder for folder in folders if read_spec(folder).mixture.endswith(LARGER_SUFFIX)]
        proxy.run([folder for folder in folders if folder not in at_larger])
        larger.run(at_larger)
    return run


LOWER = PlantedLaw(THREE.sources, {name: floor - 0.4 for name, floor in THREE.floors.items()}, THREE.slopes,
                   THREE.target)
"""A larger model on the same surface, 0.4 bits/byte lower everywhere: it orders mixtures as the proxy does."""
REVERSED = PlantedLaw(THREE.sources, THREE.floors, {name: [-0.5 * slope - 1.5 for slope in slopes]
                                                    for name, slopes in THREE.slopes.items()}, THREE.target)
"""A larger model that prefers what the proxy likes least."""


@pytest.mark.parametrize("larger, low, high", [
    pytest.param(LOWER, 0.9, 1.0, id="same-ordering"), pytest.param(REVERSED, -1.0, -0.5, id="reversed-ordering")])
def test_rank_transfer_check_says_whether_the_larger_runs_order_mixtures_alike(tmp_path, larger, low, high):
    before, _ = planted_search(tmp_path, THREE, {}, 16)
    assert "rank_transfer" not in before
    # Added to the finished search: only the check's runs are new.
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump({**yaml.safe_load(path.read_text()),
                                    "transfer": {"total_tokens": 4096, "mixtures": 6, "seeds": 2}}))
    ran = []
    summary = run_mixture_search(load_mixture_config(path), resume=True,
                                 runner=lambda folders: (ran.extend(folders), scales(THREE, larger)(folders)))
    assert len(ran) == 5 + 6 * 2  # the best candidate's second seed ran already, as a confirmation
    assert all("transfer" in read_spec(folder).labels for folder in ran)
    assert summary["pick"] == before["pick"]
    check = summary["rank_transfer"]
    assert len(check["mixtures"]) == 6 and all(entry["seeds"] == [2, 2] for entry in check["mixtures"])
    proxy_means = [entry["proxy"][0] for entry in check["mixtures"]]
    assert proxy_means == sorted(proxy_means)  # spread over the ranking, best first
    assert low <= check["spearman"] <= high, check
    assert check["larger"]["tokens"] >= 4096 and check["seed_std"]["proxy"] > 0
    candidates = {entry["mixture"] for entry in summary["fit"]["points"]}
    assert not any(name.endswith(LARGER_SUFFIX) for name in candidates)  # the larger runs stay out of the fit
    report = inspect_path(tmp_path / "search")
    assert len(report.tables["rank transfer"].rows) == 6
    assert report.summary["rank transfer"].startswith("tiny ") and f"Spearman {check['spearman']:.3f}" in \
        report.summary["rank transfer"]

"""A synthetic proxy with a known loss surface: the mixture search's runner, scoring mixtures without training.

Each target dataset d has a planted data mixing law (Ye et al. 2024), bits/byte
L_d(r) = c_d + exp(Σ_j t_dj · r_j); a run scores its mixture on every law and adds Gaussian
noise at the seed std real proxies show (0.005-0.01 bits/byte), drawn from the run's id, so a
rerun scores the same. It writes what `worker.execute_run` writes for a finished run
(`result.json`, a done `status.json`), so the store, the table, the fit, the surface search
under the limits, the confirmations and the report all run as in a real search.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from trainer.search.engine.store import RunState, read_spec, write_json, write_state

SEED_STD = 0.007
"""Noise of one proxy run's bits/byte: the seed std of the real proxies (0.005-0.01)."""


@dataclass(frozen=True)
class PlantedLaw:
    sources: list[str]
    floors: dict[str, float]
    """c_d per target dataset."""
    slopes: dict[str, list[float]]
    """t_d per target dataset, one per source in `sources` order."""
    target: dict[str, float]
    """Weights of the target datasets, summing to 1."""

    def dataset_loss(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        weights = np.atleast_2d(weights)
        return {name: self.floors[name] + np.exp(weights @ np.array(self.slopes[name])) for name in self.floors}

    def target_loss(self, weights: np.ndarray | dict[str, float]) -> float:
        """The noise-free target of one mixture (a vector in `sources` order, or shares by name)."""
        if isinstance(weights, dict):
            weights = np.array([weights[name] for name in self.sources])
        losses = self.dataset_loss(weights)
        return float(sum(share * losses[name][0] for name, share in self.target.items()))

    def run(self, folders: list[Path]) -> None:
        """The runner: score each run's mixture with noise and record it as done."""
        for folder in folders:
            spec = read_spec(folder)
            weights = np.array([spec.weights[name] for name in self.sources])
            rng = np.random.default_rng(int.from_bytes(hashlib.sha256(spec.run_id.encode()).digest()[:8], "little"))
            bpb = {name: float(value[0]) + rng.normal(0, SEED_STD)
                   for name, value in self.dataset_loss(weights).items()}
            write_json(folder / "result.json", {"bits_per_byte": bpb, "tokens": 0, "tokens_per_source": {}, "steps": 0})
            write_state(folder, RunState(status="done", attempts=1, history=["try 1: done"]))

    def feasible_optimum(self, limits: np.ndarray) -> tuple[np.ndarray, float]:
        """The true best mixture within the share limits (SLSQP from several starts) and its loss."""
        count = len(self.sources)
        constraints = [{"type": "eq", "fun": lambda r: r.sum() - 1}]
        bounds = [(0.0, float(limit)) for limit in limits]
        starts = [np.minimum(np.full(count, 1 / count), limits), *np.eye(count) * 0.5 + 0.5 / count]
        results = [minimize(self.target_loss, start / start.sum(), method="SLSQP", bounds=bounds,
                            constraints=constraints, options={"ftol": 1e-12, "maxiter": 500}) for start in starts]
        best = min((result for result in results if result.success and np.all(result.x <= limits + 1e-7)),
                   key=lambda result: result.fun)
        return best.x, float(best.fun)

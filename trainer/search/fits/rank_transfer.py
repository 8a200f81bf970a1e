"""Does a ranking of mixtures at one proxy scale hold at another?

A proxy is worth trusting when the mixtures it ranks best are also best for a larger model;
RegMix (Liu et al. 2024, figure 4) checks exactly this with the rank correlation between
scales. Spearman's ρ over the mixtures scored at both scales: near 1, the small scale
already orders them as the larger one does; near 0, it is too small to decide.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import spearmanr

from dataflow.errors import ConfigError

TRANSFER_LABEL = "transfer"
LARGER_SUFFIX = "-larger"
"""The mixture search's check: a candidate's runs at the larger proxy are the mixture `<candidate>-larger`
(its runs at the search's proxy keep the candidate's name, so seeds already run are reused)."""


@dataclass(frozen=True)
class RankTransfer:
    spearman: float
    p_value: float
    mixtures: list[str]
    """The mixtures scored at both scales, in the order of the small scale (best first)."""


def rank_transfer(small: dict[str, float], large: dict[str, float]) -> RankTransfer:
    """Spearman correlation of the scores of the mixtures present at both scales (lower is better)."""
    common = sorted(set(small) & set(large), key=small.get)
    if len(common) < 3:
        raise ConfigError(f"a rank correlation needs 3 or more mixtures scored at both scales; {len(common)} are "
                          f"({', '.join(common) or 'none'})")
    result = spearmanr([small[name] for name in common], [large[name] for name in common])
    return RankTransfer(spearman=float(result.statistic), p_value=float(result.pvalue), mixtures=common)

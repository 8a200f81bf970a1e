"""Dedup against earlier runs (`dedup --against PRIOR_OUTPUT`), engine-free: what a run stores for
later ones, and the check that both runs computed comparable signatures.

Every dedup run writes, beside data/ and rejected/, `signatures/`: one row per kept document with
its id, normalised-text key and LSH band keys (SIGNATURE_COLUMNS). A later run
given that folder rejects a new document as `near_duplicate_of_earlier`, the earlier document's id
as reject value, when its text key equals an earlier one or when it shares an LSH band with an
earlier document (with `verify`: and their exact Jaccard, computed as within a run for those
candidate pairs only, reaches `threshold`). The earlier crawl's signatures are never recomputed.
Both runs must hash alike (SIGNATURE_SETTINGS, and the same bands and rows); otherwise no key
could match, and the run stops with an error naming the differing setting. See docs/stages/dedup.md.
"""

from __future__ import annotations

from dataflow.dedup.batches import DedupConfig
from dataflow.errors import UserError

SIGNATURES_DIR = "signatures"
SIGNATURE_COLUMNS = ("id", "text_key", "band_keys")
#: Settings that decide the text keys, signatures and band keys: equal in both runs, or nothing matches.
SIGNATURE_SETTINGS = ("num_perm", "ngram", "seed", "scheme")
EARLIER_REASON = "near_duplicate_of_earlier"


def check_comparable(config: DedupConfig, earlier_stats: dict, path: str) -> None:
    """Refuse an earlier run whose signatures or band keys were computed differently from this run's."""
    earlier_config = earlier_stats.get("config") or {}
    ours = config.model_dump(mode="json")
    for name in SIGNATURE_SETTINGS:
        if earlier_config.get(name) != ours[name]:
            raise UserError(f"--against {path}: that run used dedup.{name} = {earlier_config.get(name)!r}, this one "
                            f"{ours[name]!r}; signatures only match under equal settings: set it to match")
    extra = earlier_stats.get("extra") or {}
    bands, rows = config.lsh_params()
    if (extra.get("bands"), extra.get("rows")) != (bands, rows):
        raise UserError(f"--against {path}: that run banded its signatures as {extra.get('bands')} x "
                        f"{extra.get('rows')}, this one as {bands} x {rows}: set dedup.bands and dedup.rows to match")

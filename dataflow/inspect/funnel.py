"""The funnel: rows in and out of each stage that led to an output, with the bytes they hold and,
from tokenize on, their tokens; read from stats.json files.

Every stage records its own fingerprint and its inputs' fingerprints (jobs/common/stage_io.py), so
the stages that made an output are found by following fingerprints back through the folders
next to it (`out/docs` -> `out/filter` -> `out/dedup` ...), whatever the folders are called.
"""

from __future__ import annotations

import json
from pathlib import Path

from dataflow.inspect.report import Table
from dataflow.stages import STAGE_ORDER
from dataflow.stage import STATS_FILE, SUCCESS_FILE

TOP_REASONS = 3


def stage_stats(folder: Path) -> dict | None:
    """stats.json of a complete stage folder, else None."""
    if not (folder / SUCCESS_FILE).exists() or not (folder / STATS_FILE).is_file():
        return None
    try:
        return json.loads((folder / STATS_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def stages_in(folder: Path) -> dict[str, tuple[Path, dict]]:
    """Complete stage folders directly under `folder`, by fingerprint."""
    found = {}
    for child in sorted(folder.iterdir()) if folder.is_dir() else []:
        stats = stage_stats(child) if child.is_dir() else None
        if stats and stats.get("fingerprint"):
            found[stats["fingerprint"]] = (child, stats)
    return found


def chain_to(folder: Path) -> list[tuple[Path, dict]]:
    """The stages that led to `folder`, first stage first, `folder` last.

    Upstream stages are looked for next to each stage, and next to the input path a stage
    recorded (`input` in stats.json: token sources usually live apart from documents). Paths are
    resolved, so a stage reached both ways is one stage.
    """
    folder = folder.resolve()
    known = stages_in(folder.parent)
    stats = stage_stats(folder)
    chain = [(folder, stats)] if stats else []
    while chain:
        if isinstance(chain[0][1].get("input"), str) and "://" not in chain[0][1]["input"]:
            known.update(stages_in(Path(chain[0][1]["input"]).resolve().parent))
        inputs = chain[0][1].get("inputs") or []
        upstream = next((known[i] for i in inputs if isinstance(i, str) and i in known), None)
        if upstream is None or any(upstream[0] == seen for seen, _ in chain):
            break
        chain.insert(0, upstream)
    return chain


def pipeline_order(folder: Path) -> list[tuple[Path, dict]]:
    """Every stage folder under `folder`, and one level further down in folders that are not
    stages (`tokens/<source>`, `shards/<mixture>`), each after the stages it read."""
    folder = folder.resolve()
    found = dict(stages_in(folder))
    for child in sorted(folder.iterdir()) if folder.is_dir() else []:
        if child.is_dir() and stage_stats(child) is None:
            found.update(stages_in(child))
    ordered: list[tuple[Path, dict]] = []
    for path, _ in found.values():
        for step in chain_to(path):
            if all(step[0] != seen for seen, _ in ordered):
                ordered.append(step)
    # token sources and mixtures record dataset hashes, not stage fingerprints, as inputs: their
    # place comes from the pipeline's stage order (a stable sort keeps each stage's own order)
    rank = {name: index for index, name in enumerate(STAGE_ORDER)}
    return sorted(ordered, key=lambda step: rank.get(step[1].get("stage"), len(rank)))


def funnel_table(chain: list[tuple[Path, dict]]) -> Table:
    rows = []
    for folder, stats in chain:
        rows_in = stats.get("rows_in")
        rows_out = stats.get("rows_out", stats.get("documents"))
        kept = round(rows_out / rows_in, 4) if rows_in and rows_out is not None else None
        reasons = sorted((stats.get("rejected_by_reason") or {}).items(), key=lambda item: -item[1])
        top = ", ".join(f"{reason} {count:,}" for reason, count in reasons[:TOP_REASONS])
        rows.append([stats.get("stage", "?"), folder.name, rows_in, rows_out, kept, top,
                     stats.get("bytes_out", stats.get("bytes")), stats.get("tokens"), stats.get("seconds")])
    return Table(columns=["stage", "folder", "rows in", "rows out", "kept", "top rejections", "bytes out", "tokens",
                          "seconds"], rows=rows)

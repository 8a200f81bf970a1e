"""Connected components in Spark equal a single-process union-find, whatever the partitioning."""

from __future__ import annotations

import random

import pytest

from bench.common.union_find import union_find_components
from jobs.common.connected_components import ComponentsDidNotConverge, connected_components

pytestmark = pytest.mark.slow  # whole-job Spark runs; the fast tier runs every stage via the pipeline (docs/testing.md)


def dedup_like_graph(seed: int) -> list[tuple[str, str]]:
    """Stars (LSH buckets), chains (near-duplicate drift), a hub, and edges listed both ways."""
    rng = random.Random(seed)
    edges = []
    for cluster in range(120):
        nodes = [f"{rng.getrandbits(48):012x}" for _ in range(rng.randint(2, 9))]
        edges += [(node, rng.choice(nodes[:i])) for i, node in enumerate(nodes) if i]
    chain = [f"chain{i:03d}" for i in range(16)]
    edges += list(zip(chain[1:], chain))
    edges += [("hub", f"spoke{i:03d}") for i in range(200)] + [("spoke007", "hub")]
    rng.shuffle(edges)
    return edges


@pytest.fixture(scope="module")
def checkpoints(spark, tmp_path_factory):
    spark.sparkContext.setCheckpointDir(str(tmp_path_factory.mktemp("checkpoints")))


def test_components_equal_union_find_under_any_partitioning(spark, checkpoints):
    edges = dedup_like_graph(seed=1)
    expected = union_find_components(edges)
    frame = spark.createDataFrame(edges, "src string, dst string")
    results = []
    for partitions in (1, 7):
        labels, rounds = connected_components(frame.repartition(partitions), max_rounds=30)
        results.append(({row.node: row.component for row in labels.collect()}, rounds))
    assert results[0][0] == expected
    assert results[1] == results[0]
    assert len(expected) == len(set(node for edge in edges for node in edge)) and 2 <= results[0][1] <= 12


def test_too_few_rounds_is_an_error_naming_the_setting(spark, checkpoints):
    chain = [(f"n{i:03d}", f"n{i + 1:03d}") for i in range(64)]
    with pytest.raises(ComponentsDidNotConverge, match="dedup.max_rounds"):
        connected_components(spark.createDataFrame(chain, "src string, dst string"), max_rounds=1)

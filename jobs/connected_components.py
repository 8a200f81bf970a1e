"""Connected components of a large graph in Spark, with no driver collect and no single-task step.

The alternating algorithm of Kiveris, Lattanzi, Mirrokni, Rastogi and Vassilvitskii,
"Connected Components in MapReduce and Beyond" (SoCC 2014), Algorithm 1:

- large-star: every node u links each *larger* neighbour to m(u), the smallest of u and its
  neighbours;
- small-star: every node u links itself and its *smaller* neighbours to m(u), the smallest
  of them.

Both preserve connectivity and the alternation converges, in O(log^2 n) rounds, to one star
per component centred on its smallest node; dedup graphs take 2-6 rounds. Each step is a
group-by and a join over the edge list: a hub with a million neighbours streams through a
sort-merge join instead of being gathered in one task, and only one boolean per round
reaches the driver. The result depends on the edge set alone (minima of ids), not on how
the edges are partitioned. Each round's edges are checkpointed, which cuts the lineage that
would otherwise grow by four shuffles a round (and make planning and recovery slower every
round), so the caller must have set the SparkContext's checkpoint directory.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


class ComponentsDidNotConverge(RuntimeError):
    """More rounds were needed than allowed; raise the limit (`dedup.max_rounds`)."""


def connected_components(edges: DataFrame, max_rounds: int) -> tuple[DataFrame, int]:
    """(node, component) for every node of `edges`, and the number of rounds run.

    `edges` has columns `src` and `dst` (undirected; any orderable id type); the component
    of a node is the smallest node of its component.
    """
    current = _oriented(edges.select(F.col("src").alias("u"), F.col("dst").alias("v")))
    for rounds in range(1, max_rounds + 1):
        current = _small_star(_large_star(current)).checkpoint(eager=True)
        if _is_star_forest(current):
            leaves = current.select(F.col("u").alias("node"), F.col("v").alias("component"))
            centres = current.select(F.col("v").alias("node"), F.col("v").alias("component")).distinct()
            return leaves.unionByName(centres), rounds
    raise ComponentsDidNotConverge(f"connected components did not converge in {max_rounds} rounds; "
                                   f"raise dedup.max_rounds")


def _oriented(edges: DataFrame) -> DataFrame:
    """Each undirected edge once, as (u, v) with u > v; self-loops dropped."""
    return (edges.where(F.col("u") != F.col("v"))
            .select(F.greatest("u", "v").alias("u"), F.least("u", "v").alias("v")).distinct())


def _large_star(edges: DataFrame) -> DataFrame:
    """(v, m(u)) for every edge {u, v} with v > u, where m(u) = min(u, neighbours of u)."""
    both = edges.unionByName(edges.select(F.col("v").alias("u"), F.col("u").alias("v")))
    smallest = both.groupBy("u").agg(F.least(F.min("v"), F.col("u")).alias("m"))
    return both.where(F.col("v") > F.col("u")).join(smallest, "u").select(F.col("v").alias("u"), F.col("m").alias("v"))


def _small_star(edges: DataFrame) -> DataFrame:
    """(x, m(u)) for u and each smaller neighbour x of u, where m(u) is the smallest of them.

    `edges` are oriented (u > v), so the smaller neighbours of u are its `v`s. Duplicates
    from both steps are removed here, once a round.
    """
    smallest = edges.groupBy("u").agg(F.min("v").alias("m"))
    neighbours = edges.join(smallest, "u").where(F.col("v") != F.col("m")).select(F.col("v").alias("u"), "m")
    return neighbours.unionByName(smallest.select("u", "m")).select("u", F.col("m").alias("v")).distinct()


def _is_star_forest(edges: DataFrame) -> bool:
    """Whether every node has one parent (`v`) and no parent has a parent: one star per component."""
    parents = edges.groupBy("u").agg(F.min("v").alias("p"), F.max("v").alias("q"))
    has_parent = parents.select(F.col("u").alias("p"), F.lit(True).alias("p_has_parent"))
    broken = parents.join(has_parent, "p", "left").where((F.col("p") != F.col("q")) | F.col("p_has_parent").isNotNull())
    return broken.isEmpty()

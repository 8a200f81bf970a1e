"""Connected components of a large graph in Spark, with no driver collect and no single-task step.

The alternating algorithm of Kiveris, Lattanzi, Mirrokni, Rastogi and Vassilvitskii,
"Connected Components in MapReduce and Beyond" (SoCC 2014), Algorithm 1:

- large-star: every node u links each *larger* neighbour to m(u), the smallest of u and its
  neighbours;
- small-star: every node u links itself and its *smaller* neighbours to m(u), the smallest
  of them.

Both preserve connectivity and the alternation converges, in O(log^2 n) rounds, to one star
per component centred on its smallest node; dedup graphs take 1-6 rounds. Each step is a
window over the edge list partitioned by node (one shuffle, then a sort): a hub with a
million neighbours is a long sorted run that Spark's window buffer spills to disk, never a
list gathered in memory, and only one boolean per round reaches the driver. The result depends on the edge set alone
(minima of ids), not on how the edges are partitioned. Each round's edges are checkpointed, which cuts the lineage that
would otherwise grow by four shuffles a round (and make planning and recovery slower every
round), so the caller must have set the SparkContext's checkpoint directory.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
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
    smallest = F.least(F.min("v").over(Window.partitionBy("u")), F.col("u"))
    return (both.select("u", "v", smallest.alias("m")).where(F.col("v") > F.col("u"))
            .select(F.col("v").alias("u"), F.col("m").alias("v")))


def _small_star(edges: DataFrame) -> DataFrame:
    """(x, m(u)) for u and each smaller neighbour x of u, where m(u) is the smallest of them.

    `edges` are oriented (u > v), so the smaller neighbours of u are its `v`s. Duplicates
    from both steps are removed here, once a round.
    """
    with_min = edges.select("u", "v", F.min("v").over(Window.partitionBy("u")).alias("m"))
    neighbours = with_min.where(F.col("v") != F.col("m")).select(F.col("v").alias("u"), "m")
    return neighbours.unionByName(with_min.select("u", "m")).select("u", F.col("m").alias("v")).distinct()


def _is_star_forest(edges: DataFrame) -> bool:
    """Whether every node has one parent (`v`) and no parent has a parent: one star per component.

    One aggregation by node over its roles: as a child (with its parent) and as a parent.
    """
    roles = edges.select(F.col("u").alias("node"), F.col("v").alias("parent")).unionByName(
        edges.select(F.col("v").alias("node"), F.lit(None).cast(edges.schema["v"].dataType).alias("parent")))
    nodes = roles.groupBy("node").agg(F.min("parent").alias("p"), F.max("parent").alias("q"),
                                      F.count(F.when(F.col("parent").isNull(), 1)).alias("children"))
    return nodes.where((F.col("p") != F.col("q")) | (F.col("p").isNotNull() & (F.col("children") > 0))).isEmpty()

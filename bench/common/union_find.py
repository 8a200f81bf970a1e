"""The single-process reference for connected components: what the Spark job
(jobs/common/connected_components.py) must equal, in its test and in bench/dedup.py."""

from __future__ import annotations


def union_find_components(edges: list[tuple[str, str]]) -> dict[str, str]:
    """node -> smallest node of its component, by path-halving union-find."""
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in edges:
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            parent[max(root_a, root_b)] = min(root_a, root_b)
    return {node: find(node) for node in parent}

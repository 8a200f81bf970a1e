"""Held-out evaluation of a binary classifier: precision, recall, F1 at a threshold, and ROC AUC."""

from __future__ import annotations

import numpy as np


def binary_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> dict:
    """Metrics of `scores` (P(positive)) against `labels` (1 positive, 0 negative).

    >>> binary_metrics(np.array([1, 1, 0, 0]), np.array([0.9, 0.4, 0.6, 0.1]))
    {'threshold': 0.5, 'precision': 0.5, 'recall': 0.5, 'f1': 0.5, 'auc': 0.75, 'positives': 2, 'negatives': 2}
    """
    labels = labels.astype(bool)
    predicted = scores >= threshold
    true_positives = int((predicted & labels).sum())
    precision = true_positives / predicted.sum() if predicted.any() else 0.0
    recall = true_positives / labels.sum() if labels.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"threshold": threshold, "precision": round(float(precision), 4), "recall": round(float(recall), 4),
            "f1": round(float(f1), 4), "auc": roc_auc(labels, scores),
            "positives": int(labels.sum()), "negatives": int((~labels).sum())}


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """Probability that a random positive outscores a random negative (Mann-Whitney U / n+ n-),
    ties counted half; None without both classes."""
    labels = labels.astype(bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if not positives or not negatives:
        return None
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    rank_sums = np.bincount(inverse, weights=ranks)
    ranks = (rank_sums / counts)[inverse]  # tied scores share their mean rank
    u = ranks[labels].sum() - positives * (positives + 1) / 2
    return round(float(u / (positives * negatives)), 4)

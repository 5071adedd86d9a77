"""One metrics dict from (y_true, y_score, threshold), and curve data for DVC plots."""

from __future__ import annotations

import math

import numpy as np
from sklearn import metrics as skm

METRICS = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "balanced_accuracy",
    "roc_auc",
    "average_precision",
    "mcc",
    "g_mean",
    "brier",
)
COUNTS = ("tp", "fp", "tn", "fn")
LOWER_IS_BETTER = frozenset({"brier"})  # a goal on these is a maximum


def predict_labels(y_score, threshold: float) -> np.ndarray:
    """1 where the predicted probability of the positive class is at or above the threshold."""
    return (np.asarray(y_score) >= threshold).astype(int)


def compute_metrics(y_true, y_score, threshold: float) -> dict:
    """Threshold metrics, ranking metrics and confusion counts for the positive class 1.

    Undefined ratios (no predicted or no actual positives) count as 0, as in
    scikit-learn with ``zero_division=0``; ranking metrics are None when
    ``y_true`` holds one class only.
    """
    y_true = np.asarray(y_true).astype(int)
    y_score = np.asarray(y_score, dtype=float)
    y_pred = predict_labels(y_score, threshold)
    tn, fp, fn, tp = (int(v) for v in skm.confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel())
    recall = tp / (tp + fn) if tp + fn else 0.0
    specificity = tn / (tn + fp) if tn + fp else 0.0
    both_classes = len(np.unique(y_true)) == 2
    result = {
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "precision": skm.precision_score(y_true, y_pred, zero_division=0),
        "recall": recall,
        "f1": skm.f1_score(y_true, y_pred, zero_division=0),
        "balanced_accuracy": (recall + specificity) / 2,
        "roc_auc": skm.roc_auc_score(y_true, y_score) if both_classes else None,
        "average_precision": skm.average_precision_score(y_true, y_score) if both_classes else None,
        "mcc": skm.matthews_corrcoef(y_true, y_pred),
        "g_mean": math.sqrt(recall * specificity),
        "brier": skm.brier_score_loss(y_true, y_score, labels=[0, 1]),
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
    }
    return {key: (float(value) if isinstance(value, (float, np.floating)) else value) for key, value in result.items()}


def thin(rows: list[dict], max_points: int) -> list[dict]:
    """At most ``max_points`` rows, evenly spaced, always keeping the first and last."""
    if len(rows) <= max_points:
        return rows
    keep = np.unique(np.linspace(0, len(rows) - 1, max_points).round().astype(int))
    return [rows[i] for i in keep]


def curves(y_true, y_score, max_points: int) -> dict[str, list[dict]]:
    """Precision-recall and ROC curve points for DVC plots."""
    precision, recall, pr_thresholds = skm.precision_recall_curve(y_true, y_score)
    # precision/recall have one more point than thresholds: the (recall 0, precision 1) end.
    pr = [
        {"recall": r, "precision": p, "threshold": t}
        for r, p, t in zip(recall, precision, [*pr_thresholds, 1.0])
    ]
    fpr, tpr, roc_thresholds = skm.roc_curve(y_true, y_score)
    roc = [
        {"fpr": f, "tpr": t, "threshold": min(th, 1.0)} for f, t, th in zip(fpr, tpr, roc_thresholds)
    ]
    return {"pr": thin(pr, max_points), "roc": thin(roc, max_points)}

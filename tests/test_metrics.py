"""Metrics dict and curve data (imbalance_lab.metrics), checked against sklearn / imblearn directly."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from imblearn.metrics import geometric_mean_score
from sklearn import metrics as skm

from imbalance_lab.metrics import COUNTS, METRICS, compute_metrics, curves, thin


@pytest.fixture(scope="module")
def example():
    """40 seeded labels with both classes and scores that only loosely follow them."""
    rng = np.random.RandomState(0)
    y_true = rng.randint(0, 2, 40)
    y_score = np.clip(0.3 * y_true + 0.7 * rng.rand(40), 0, 1)
    assert 0 < y_true.sum() < len(y_true)
    return y_true, y_score


THRESHOLDS = [0.3, 0.5, 0.7]

THRESHOLD_METRICS = {
    "accuracy": skm.accuracy_score,
    "precision": skm.precision_score,
    "recall": skm.recall_score,
    "f1": skm.f1_score,
    "balanced_accuracy": skm.balanced_accuracy_score,
    "mcc": skm.matthews_corrcoef,
    "g_mean": geometric_mean_score,
}
SCORE_METRICS = {
    "roc_auc": skm.roc_auc_score,
    "average_precision": skm.average_precision_score,
    "brier": skm.brier_score_loss,
}


def test_metric_names_are_the_documented_ones():
    """compute_metrics returns every name in METRICS and COUNTS, and nothing else."""
    result = compute_metrics([0, 1, 0, 1], [0.1, 0.9, 0.6, 0.4], 0.5)
    assert set(result) == set(METRICS) | set(COUNTS)


@pytest.mark.parametrize("threshold", THRESHOLDS)
@pytest.mark.parametrize("name", sorted(THRESHOLD_METRICS))
def test_threshold_metric_matches_library(example, name, threshold):
    """Each threshold metric equals the sklearn/imblearn function on labels score >= threshold."""
    y_true, y_score = example
    y_pred = (y_score >= threshold).astype(int)
    assert 0 < y_pred.sum() < len(y_pred)  # both predictions occur: the metric is well defined
    expected = THRESHOLD_METRICS[name](y_true, y_pred)
    assert compute_metrics(y_true, y_score, threshold)[name] == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("name", sorted(SCORE_METRICS))
def test_score_metric_matches_library(example, name):
    """Ranking and probability metrics equal sklearn's on the raw scores, whatever the threshold."""
    y_true, y_score = example
    expected = SCORE_METRICS[name](y_true, y_score)
    for threshold in THRESHOLDS:
        assert compute_metrics(y_true, y_score, threshold)[name] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("threshold", THRESHOLDS)
def test_confusion_counts_match_sklearn(example, threshold):
    """tp, fp, tn, fn are sklearn's confusion matrix of the thresholded labels."""
    y_true, y_score = example
    tn, fp, fn, tp = skm.confusion_matrix(y_true, (y_score >= threshold).astype(int)).ravel()
    result = compute_metrics(y_true, y_score, threshold)
    assert (result["tp"], result["fp"], result["tn"], result["fn"]) == (tp, fp, tn, fn)


def test_score_equal_to_threshold_counts_as_positive():
    """A score exactly at the threshold is a predicted default (hand-counted: 2 tp, 1 fp, 1 tn)."""
    result = compute_metrics([1, 1, 0, 0], [0.5, 0.75, 0.5, 0.25], 0.5)
    assert (result["tp"], result["fp"], result["tn"], result["fn"]) == (2, 1, 1, 0)
    assert result["recall"] == 1.0
    assert result["precision"] == pytest.approx(2 / 3)


def test_all_negative_predictions_give_zero_precision_and_f1_silently():
    """No predicted defaults: precision and f1 are 0, with no warning raised."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = compute_metrics([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], 0.9)
    assert result["precision"] == 0.0
    assert result["f1"] == 0.0
    assert result["recall"] == 0.0
    assert (result["tp"], result["fp"], result["tn"], result["fn"]) == (0, 0, 2, 2)
    assert result["accuracy"] == 0.5


@pytest.mark.parametrize("label", [0, 1])
def test_single_class_truth_has_no_ranking_metrics(label):
    """With one class in y_true, roc_auc and average_precision are None (not an error)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = compute_metrics([label] * 3, [0.1, 0.6, 0.3], 0.5)
    assert result["roc_auc"] is None
    assert result["average_precision"] is None


def test_metrics_are_plain_json_values(example):
    """Every value is a Python float, int or None, so the dict dumps to strict JSON."""
    y_true, y_score = example
    result = compute_metrics(y_true, y_score, 0.5)
    assert all(type(value) in (float, int) for value in result.values())
    for count in COUNTS:
        assert type(result[count]) is int
    json.dumps(result, allow_nan=False)


def test_metrics_accept_lists_and_float_labels():
    """Plain lists and float labels (as read back from parquet) give the same numbers as int arrays."""
    y_true, y_score = [0, 1, 1, 0, 1], [0.2, 0.8, 0.4, 0.6, 0.9]
    as_floats = compute_metrics([float(v) for v in y_true], y_score, 0.5)
    assert as_floats == compute_metrics(np.array(y_true), np.array(y_score), 0.5)


# --- curves -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def long_example():
    """400 seeded rows: the full sklearn curves have far more than 10 points."""
    rng = np.random.RandomState(1)
    y_true = rng.randint(0, 2, 400)
    y_score = np.clip(0.2 * y_true + 0.8 * rng.rand(400), 0, 1)
    return y_true, y_score


def full_curves(y_true, y_score):
    precision, recall, _ = skm.precision_recall_curve(y_true, y_score)
    fpr, tpr, _ = skm.roc_curve(y_true, y_score)
    return list(zip(recall, precision)), list(zip(fpr, tpr))


def points(rows, x, y):
    return [(row[x], row[y]) for row in rows]


@pytest.mark.parametrize("max_points", [2, 10, 50])
def test_curves_have_at_most_max_points(long_example, max_points):
    """Both curves are thinned to at most max_points points."""
    pr_full, roc_full = full_curves(*long_example)
    assert len(pr_full) > 50 and len(roc_full) > 50
    result = curves(*long_example, max_points)
    assert 2 <= len(result["pr"]) <= max_points
    assert 2 <= len(result["roc"]) <= max_points


@pytest.mark.parametrize("max_points", [2, 10])
def test_curves_keep_the_end_points(long_example, max_points):
    """Thinned curves start and end where sklearn's full curves do."""
    pr_full, roc_full = full_curves(*long_example)
    result = curves(*long_example, max_points)
    pr, roc = points(result["pr"], "recall", "precision"), points(result["roc"], "fpr", "tpr")
    assert (pr[0], pr[-1]) == (pr_full[0], pr_full[-1])
    assert (roc[0], roc[-1]) == (roc_full[0], roc_full[-1])


def test_curve_points_lie_on_the_full_curves(long_example):
    """Thinning only drops points: every kept point is a point of sklearn's curve, in order."""
    pr_full, roc_full = full_curves(*long_example)
    result = curves(*long_example, 10)
    for kept, full in (
        (points(result["pr"], "recall", "precision"), pr_full),
        (points(result["roc"], "fpr", "tpr"), roc_full),
    ):
        positions = [full.index(point) for point in kept]
        assert positions == sorted(positions)


def test_short_curves_are_not_thinned(example):
    """When sklearn's curves already fit, they are returned whole."""
    pr_full, roc_full = full_curves(*example)
    result = curves(*example, 1000)
    assert points(result["pr"], "recall", "precision") == pr_full
    assert points(result["roc"], "fpr", "tpr") == roc_full


def test_curve_thresholds_are_finite_probabilities(long_example):
    """Every curve point carries a threshold in [0, 1] (ROC's leading inf is capped), so JSON stays strict."""
    result = curves(*long_example, 50)
    for rows in result.values():
        thresholds = [row["threshold"] for row in rows]
        assert all(np.isfinite(t) and 0.0 <= t <= 1.0 for t in thresholds)


# --- thin -----------------------------------------------------------------------------


def test_thin_picks_evenly_spaced_rows():
    """10 rows to 4: positions round(linspace(0, 9, 4)) = 0, 3, 6, 9."""
    rows = [{"i": i} for i in range(10)]
    assert thin(rows, 4) == [{"i": 0}, {"i": 3}, {"i": 6}, {"i": 9}]


@pytest.mark.parametrize("max_points", [2, 3, 7, 99])
def test_thin_keeps_the_end_points(max_points):
    """Whatever the budget, the first and last rows survive and the budget holds."""
    rows = [{"i": i} for i in range(100)]
    kept = thin(rows, max_points)
    assert kept[0] == {"i": 0} and kept[-1] == {"i": 99}
    assert len(kept) <= max_points


def test_thin_leaves_short_lists_alone():
    """A list no longer than max_points comes back unchanged."""
    rows = [{"i": i} for i in range(5)]
    assert thin(rows, 5) == rows
    assert thin(rows, 50) == rows

"""How a fitted cell behaves beyond its metrics, for the evaluate stage's reports: calibration, the
precision-recall and ROC curve points DVC plots, and permutation importances."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm


def calibration(y_true, y_score, *, n_bins: int = 10, strategy: str = "quantile") -> dict:
    """How far the predicted probabilities are from the observed shares (van den Goorbergh et al. 2022).

    "intercept" (calibration-in-the-large) is alpha in logit P(y=1) = alpha + logit(p): 0 when the
    mean prediction is right, below 0 when the model over-predicts defaults (as after
    oversampling). "slope" is beta in logit P(y=1) = a + beta logit(p): 1 when the spread is
    right, below 1 when predictions are too extreme, above 1 when too timid. Both are None when
    ``y_true`` holds one class (the slope also when every score is the same). "curve" is
    sklearn's calibration_curve. Plain floats and lists, ready for JSON.
    """
    from scipy.optimize import minimize_scalar
    from scipy.special import logit
    from sklearn.calibration import calibration_curve
    from sklearn.linear_model import LogisticRegression

    y_true = np.asarray(y_true).astype(int)
    y_score = np.asarray(y_score, dtype=float)
    offset = logit(np.clip(y_score, 1e-12, 1 - 1e-12))
    intercept = slope = None
    if len(np.unique(y_true)) == 2:
        # Logistic regression with offset logit(p) and slope fixed at 1: a convex 1-D likelihood.
        def negative_log_likelihood(alpha):
            return float(np.sum(np.logaddexp(0, alpha + offset) - y_true * (alpha + offset)))

        intercept = float(minimize_scalar(negative_log_likelihood).x)
        if np.ptp(offset) > 0:  # C=inf: unpenalised (penalty=None is deprecated since scikit-learn 1.8)
            fit = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-10, max_iter=100)
            slope = float(fit.fit(offset.reshape(-1, 1), y_true).coef_[0, 0])
    prob_true, prob_pred = calibration_curve(y_true, y_score, n_bins=n_bins, strategy=strategy)
    return {
        "brier": float(skm.brier_score_loss(y_true, y_score, labels=[0, 1])),
        "log_loss": float(skm.log_loss(y_true, y_score, labels=[0, 1])),
        "intercept": intercept,
        "slope": slope,
        "mean_predicted": float(y_score.mean()),
        "observed_rate": float(y_true.mean()),
        "curve": {"prob_pred": prob_pred.tolist(), "prob_true": prob_true.tolist()},
    }


def thin(rows: list[dict], max_points: int) -> list[dict]:
    """At most ``max_points`` rows, evenly spaced, always keeping the first and last."""
    if len(rows) <= max_points:
        return rows
    keep = np.unique(np.linspace(0, len(rows) - 1, max_points).round().astype(int))
    return [rows[i] for i in keep]


def _pr_rows(y_true, y_score, drop_intermediate: bool) -> list[dict]:
    precision, recall, thresholds = skm.precision_recall_curve(y_true, y_score, drop_intermediate=drop_intermediate)
    # precision/recall have one more point than thresholds: the (recall 0, precision 1) end.
    return [{"recall": r, "precision": p, "threshold": t}
            for r, p, t in zip(recall, precision, [*thresholds, 1.0], strict=True)]


def curves(y_true, y_score, max_points: int) -> dict[str, list[dict]]:
    """Precision-recall and ROC curve points for DVC plots, at most ``max_points`` of each.

    A curve longer than that first loses scikit-learn's intermediate points
    (``drop_intermediate``: points in the middle of a straight stretch, so every
    corner stays), and is thinned by index only if it is still too long.
    A precision-recall curve that fits is kept whole; the ROC curve always drops its
    intermediate points (roc_curve's default, which the committed curves were made with).
    """
    pr = _pr_rows(y_true, y_score, drop_intermediate=False)
    if len(pr) > max_points:
        pr = _pr_rows(y_true, y_score, drop_intermediate=True)
    fpr, tpr, roc_thresholds = skm.roc_curve(y_true, y_score)
    roc = [
        {"fpr": f, "tpr": t, "threshold": min(th, 1.0)} for f, t, th in zip(fpr, tpr, roc_thresholds, strict=True)
    ]
    return {"pr": thin(pr, max_points), "roc": thin(roc, max_points)}


def permutation_importances(model, X, y, *, scoring: str = "average_precision", n_repeats: int = 5, seed: int = 0,
                            max_rows: int = 5000) -> dict:
    """How much ``scoring`` drops when each column of the DataFrame X is shuffled:
    {column: {"mean", "sd"}} over ``n_repeats`` shuffles (sklearn's permutation_importance).

    Works for any fitted classifier with predict_proba, since it only predicts. More rows than
    ``max_rows`` are first cut to a seeded stratified sample of that many, so the time is bounded.
    """
    from sklearn.inspection import permutation_importance
    from sklearn.model_selection import train_test_split

    y = np.asarray(y)
    if len(y) > max_rows:
        X, _, y, _ = train_test_split(X, y, train_size=max_rows, stratify=y, random_state=seed)
    result = permutation_importance(model, X, y, scoring=scoring, n_repeats=n_repeats, random_state=seed)
    return {str(column): {"mean": float(mean), "sd": float(sd)}
            for column, mean, sd in zip(X.columns, result.importances_mean, result.importances_std, strict=True)}

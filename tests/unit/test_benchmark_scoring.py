"""One data set's cell scores for the benchmark (benchmark/scoring.py): real samplers and classifiers, the
scores checked against scikit-learn's own cross-validation, a cell that cannot be fitted, win/tie/loss."""

from __future__ import annotations

import math

import numpy as np
import pytest
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, f1_score
from sklearn.model_selection import RepeatedStratifiedKFold

from imbalance_lab.benchmark import scoring

COSTS = {"missed_default": 10.0, "false_alarm": 1.0}


@pytest.fixture(scope="module")
def rare():
    X, y = make_classification(n_samples=400, n_features=4, n_informative=3, n_redundant=0, weights=[0.9],
                               random_state=3)
    return X, y


def cells(k_neighbors: int = 5):
    return {"baseline-logreg": LogisticRegression(),
            "smote-logreg": Pipeline([("sampler", SMOTE(k_neighbors=k_neighbors, random_state=0)),
                                      ("model", LogisticRegression())])}


def test_every_cell_is_scored_on_the_same_folds_as_sklearn_scores_them(rare):
    X, y = rare
    scored = scoring.score_cells(X, y, cells(), folds=3, repeats=2, seed=7, fixed_threshold=0.5, costs=COSTS)
    assert set(scored) == {"baseline-logreg", "smote-logreg"}
    for name, estimator in cells().items():
        assert set(scored[name]) == set(scoring.METRICS)
        f1, ap, brier = [], [], []
        for train, test in RepeatedStratifiedKFold(n_splits=3, n_repeats=2, random_state=7).split(X, y):
            fitted = estimator.fit(X[train], y[train])
            probability = fitted.predict_proba(X[test])[:, 1]
            f1.append(f1_score(y[test], probability >= 0.5))
            ap.append(average_precision_score(y[test], probability))
            brier.append(brier_score_loss(y[test], probability))
        assert scored[name]["f1"] == pytest.approx(f1, abs=1e-6)
        assert scored[name]["average_precision"] == pytest.approx(ap, abs=1e-6)
        assert scored[name]["brier"] == pytest.approx(brier, abs=1e-6)
        assert len(scored[name]["cost_per_1000"]) == 6 and min(scored[name]["cost_per_1000"]) > 0
    assert scored["smote-logreg"]["f1"] != scored["baseline-logreg"]["f1"]


def test_a_cell_that_cannot_be_fitted_is_named_and_the_others_are_scored(rare):
    X, y = rare
    too_many = cells(k_neighbors=500)  # more neighbours than a training fold has rare rows
    done = []
    scored = scoring.score_cells(X, y, too_many, folds=3, repeats=1, seed=7, fixed_threshold=0.5, costs=COSTS,
                                 progress=lambda name, finished, total: done.append((name, finished, total)))
    assert set(scored["smote-logreg"]) == {"error"}
    assert "n_neighbors" in scored["smote-logreg"]["error"] and "\n" not in scored["smote-logreg"]["error"]
    assert len(scored["baseline-logreg"]["f1"]) == 3
    assert done == [("baseline-logreg", 3, 6), ("smote-logreg", 6, 6)]  # one call per cell, as its last fold ends
    table = scoring.mean_table({"rare": scored}, "f1")
    assert math.isnan(table.loc["rare", "smote-logreg"])
    assert table.loc["rare", "baseline-logreg"] == pytest.approx(np.mean(scored["baseline-logreg"]["f1"]))


def test_the_scores_do_not_depend_on_how_many_processes_run_the_folds(rare):
    X, y = rare
    one = scoring.score_cells(X, y, cells(), folds=3, repeats=1, seed=7, fixed_threshold=0.5, costs=COSTS)
    two = scoring.score_cells(X, y, cells(), folds=3, repeats=1, seed=7, fixed_threshold=0.5, costs=COSTS, n_jobs=2)
    assert one == two


@pytest.mark.parametrize(("cell", "baseline", "higher", "expected"), [
    ([0.5, 0.52, 0.51, 0.53, 0.5], [0.3, 0.31, 0.29, 0.3, 0.32], True, "win"),
    ([0.3, 0.31, 0.29, 0.3, 0.32], [0.5, 0.52, 0.51, 0.53, 0.5], True, "loss"),
    ([0.3, 0.31, 0.29, 0.3, 0.32], [0.5, 0.52, 0.51, 0.53, 0.5], False, "win"),  # a lower Brier score wins
    ([0.5, 0.3, 0.6, 0.2, 0.4], [0.4, 0.5, 0.3, 0.5, 0.35], True, "tie"),
])
def test_win_tie_or_loss_against_the_baseline(cell, baseline, higher, expected):
    assert scoring.win_tie_loss(cell, baseline, higher, folds=5) == expected

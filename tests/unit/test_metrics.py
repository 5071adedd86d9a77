"""Metrics dict and curve data (imbalance_lab.evaluation.metrics), checked against sklearn / imblearn directly."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from imblearn.metrics import geometric_mean_score
from sklearn import metrics as skm

from imbalance_lab.evaluation.diagnostics import curves, thin
from imbalance_lab.evaluation.metrics import COUNTS, METRICS, compute_metrics


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
    return list(zip(recall, precision, strict=True)), list(zip(fpr, tpr, strict=True))


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


@pytest.mark.parametrize("spare", [0, 30])
def test_long_pr_curve_first_drops_sklearns_intermediate_points(long_example, spare):
    """Too long for max_points (401 points), the PR curve is sklearn's drop_intermediate=True curve
    (280 points: every corner), whole when that fits, not points picked by index."""
    y_true, y_score = long_example
    precision, recall, thresholds = skm.precision_recall_curve(y_true, y_score, drop_intermediate=True)
    dropped = list(zip(recall, precision, strict=True))
    pr_full, _ = full_curves(y_true, y_score)
    assert len(dropped) + spare < len(pr_full)  # thinning would be needed without the drop
    result = curves(y_true, y_score, len(dropped) + spare)
    assert points(result["pr"], "recall", "precision") == dropped
    assert [row["threshold"] for row in result["pr"]] == [*thresholds, 1.0]


def test_pr_curve_still_too_long_after_the_drop_is_thinned_by_index(long_example):
    """Below the dropped curve's 280 points, the dropped curve is thinned evenly, ends kept."""
    y_true, y_score = long_example
    precision, recall, _ = skm.precision_recall_curve(y_true, y_score, drop_intermediate=True)
    dropped = [{"recall": r, "precision": p} for r, p in zip(recall, precision, strict=True)]
    result = curves(y_true, y_score, 50)
    assert points(result["pr"], "recall", "precision") == points(thin(dropped, 50), "recall", "precision")


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


# --- threshold_scorer ---------------------------------------------------------------------------


def prediction_cases():
    """(y_true, classifier, X): seeded random predictions, none positive, all positive.

    Real fitted classifiers whose predictions on X are the wanted labels: a 1-nearest-neighbour
    classifier fitted on (X, labels), or a constant DummyClassifier (classes 0 and 1 both known).
    """
    from sklearn.dummy import DummyClassifier
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.RandomState(7)
    X = np.arange(80).reshape(-1, 1)
    y_true = rng.randint(0, 2, 80)
    random_labels = (rng.rand(80) < 0.3).astype(int)
    cases = {
        "random": KNeighborsClassifier(n_neighbors=1).fit(X, random_labels),
        "none_positive": DummyClassifier(strategy="constant", constant=0).fit(X, y_true),
        "all_positive": DummyClassifier(strategy="constant", constant=1).fit(X, y_true),
    }
    expected_labels = {"random": random_labels, "none_positive": np.zeros(80), "all_positive": np.ones(80)}
    for name, classifier in cases.items():
        np.testing.assert_array_equal(classifier.predict(X), expected_labels[name])
    return y_true, cases, X


@pytest.mark.parametrize("case", ["random", "none_positive", "all_positive"])
@pytest.mark.parametrize("name", ["f1", "precision", "recall", "accuracy", "balanced_accuracy", "matthews_corrcoef"])
def test_fast_threshold_scorer_equals_sklearns_scorer(name, case):
    """Each fast scorer gives the value of sklearn's scorer of the same name, degenerate predictions included."""
    from sklearn.metrics import get_scorer

    from imbalance_lab.evaluation.metrics import threshold_scorer

    y_true, classifiers, X = prediction_cases()
    classifier = classifiers[case]
    fast = threshold_scorer(name)
    assert not isinstance(fast, str)  # a fast re-implementation exists for this name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns on zero division; the value is what counts
        expected = get_scorer(name)(classifier, X, y_true)
    assert fast(classifier, X, y_true) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_fast_scorers_are_the_documented_set():
    from imbalance_lab.evaluation.metrics import FAST_SCORES

    assert set(FAST_SCORES) == {"f1", "precision", "recall", "accuracy", "balanced_accuracy", "matthews_corrcoef"}


@pytest.mark.parametrize("name", ["jaccard", "roc_auc", "neg_log_loss"])
def test_other_scorer_names_pass_through_to_sklearn(name):
    """Names without a fast equivalent come back as the name, for sklearn to resolve."""
    from imbalance_lab.evaluation.metrics import threshold_scorer

    assert threshold_scorer(name) == name


# --- cross_validated_metrics ----------------------------------------------------------------------

CV = {"folds": 3, "repeats": 2, "seed": 5}


def splits(y):
    from sklearn.model_selection import RepeatedStratifiedKFold

    X_dummy = np.zeros((len(y), 1))
    splitter = RepeatedStratifiedKFold(n_splits=CV["folds"], n_repeats=CV["repeats"], random_state=CV["seed"])
    return list(splitter.split(X_dummy, y))


def strategy_estimator(params, **keys):
    from imbalance_lab.models.estimators import build_pipeline
    from imbalance_lab.settings.params import StrategySettings, classifier_settings, tuning_settings

    settings = StrategySettings(name="s", sampler=keys.pop("sampler", "none"), options=keys.pop("options", {}),
                                  **keys)
    return build_pipeline(settings, classifier_settings(params, "logreg"), tuning_settings(params))


def run_cv_counting(estimator, X, y, n_jobs=1, fixed_threshold=0.5, progress=None):
    """(per-fold scores, folds stopped early)."""
    from imbalance_lab.evaluation.metrics import cross_validated_metrics

    return cross_validated_metrics(estimator, X, y, n_jobs=n_jobs, fixed_threshold=fixed_threshold,
                                   progress=progress, **CV)


def run_cv(estimator, X, y, n_jobs=1, fixed_threshold=0.5):
    return run_cv_counting(estimator, X, y, n_jobs, fixed_threshold)[0]


@pytest.fixture(scope="module")
def smote_cv(params_yaml, article_train_xy):
    """A scaled SMOTE strategy's per-fold scores (n_jobs=1) and the estimator."""
    X, y = article_train_xy
    estimator = strategy_estimator(params_yaml, sampler="SMOTE", options={"random_state": 0}, scale=True)
    return estimator, run_cv(estimator, X, y)


def test_cv_gives_one_value_per_fold_for_every_metric(smote_cv):
    """folds * repeats values for each metric, each count and the threshold."""
    _, per_fold = smote_cv
    assert set(per_fold) == set(METRICS) | set(COUNTS) | {"threshold"}
    for values in per_fold.values():
        assert len(values) == CV["folds"] * CV["repeats"]


def test_cv_scores_equal_a_manual_loop_over_the_same_folds(smote_cv, article_train_xy):
    """Each fold's scores are compute_metrics of a fresh fit on the training fold, scored on its validation fold."""
    from sklearn.base import clone

    X, y = article_train_xy
    estimator, per_fold = smote_cv
    for index, (train, valid) in enumerate(splits(y)):
        model = clone(estimator).fit(X.iloc[train], y[train])
        expected = compute_metrics(y[valid], model.predict_proba(X.iloc[valid])[:, 1], 0.5)
        for key, value in expected.items():
            assert per_fold[key][index] == value, key
        assert per_fold["threshold"][index] == 0.5
    validation_sizes = [len(valid) for _, valid in splits(y)]
    assert [sum(per_fold[c][i] for c in COUNTS) for i in range(len(validation_sizes))] == validation_sizes


def test_cv_uses_the_fixed_threshold_for_untuned_strategies(params_yaml, article_train_xy):
    X, y = article_train_xy
    per_fold = run_cv(strategy_estimator(params_yaml), X, y, fixed_threshold=0.2)
    assert per_fold["threshold"] == [0.2] * (CV["folds"] * CV["repeats"])
    # a lower threshold flags at least as many rows as 0.5 does, fold by fold
    at_half = run_cv(strategy_estimator(params_yaml), X, y, fixed_threshold=0.5)
    assert all(a + b >= c + d for a, b, c, d in
               zip(per_fold["tp"], per_fold["fp"], at_half["tp"], at_half["fp"], strict=True))
    assert sum(per_fold["tp"]) + sum(per_fold["fp"]) > sum(at_half["tp"]) + sum(at_half["fp"])


def recording_sampler(seen: list):
    """An imblearn FunctionSampler that records the row labels (DataFrame index) it is asked to resample."""
    from imblearn import FunctionSampler

    def record(X, y):
        seen.append(np.asarray(X.index).copy())
        return X, y

    return FunctionSampler(func=record, validate=False)


@pytest.mark.parametrize("scaled", [False, True])
def test_cv_sampler_sees_exactly_the_training_fold(scaled, article_train_xy):
    """The sampler inside the pipeline is handed each training fold, whole, and never a validation row."""
    from imblearn.pipeline import Pipeline
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    X, y = article_train_xy
    X = X.reset_index(drop=True)  # row labels are positions
    seen: list = []
    steps = [("sampler", recording_sampler(seen)), ("model", LogisticRegression())]
    if scaled:  # as in a scaled strategy; pandas output keeps the row labels
        steps.insert(0, ("scale", StandardScaler().set_output(transform="pandas")))
    run_cv(Pipeline(steps), X, y)
    expected = splits(y)
    assert len(seen) == len(expected)
    for rows, (train, valid) in zip(seen, expected, strict=True):
        np.testing.assert_array_equal(np.sort(rows), np.sort(train))
        assert not set(rows.tolist()) & set(valid.tolist())


def test_cv_tuned_strategy_keeps_validation_rows_from_the_sampler(article_train_xy):
    """With threshold tuning, every sampler call (inner folds and the refit) stays inside the outer training fold."""
    from imblearn.pipeline import Pipeline
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, TunedThresholdClassifierCV

    from imbalance_lab.evaluation.metrics import threshold_scorer

    X, y = article_train_xy
    X = X.reset_index(drop=True)
    seen: list = []
    inner = 3
    pipeline = Pipeline([("sampler", recording_sampler(seen)), ("model", LogisticRegression())])
    tuned = TunedThresholdClassifierCV(pipeline, scoring=threshold_scorer("f1"),
                                       cv=StratifiedKFold(inner, shuffle=True, random_state=1))
    run_cv(tuned, X, y)
    expected = splits(y)
    calls = inner + 1  # one fit per inner fold, one refit on the whole training fold
    assert len(seen) == calls * len(expected)
    for index, (train, _) in enumerate(expected):
        group = seen[index * calls:(index + 1) * calls]
        assert all(set(rows.tolist()) <= set(train.tolist()) for rows in group)
        assert sum(np.array_equal(np.sort(rows), np.sort(train)) for rows in group) == 1


def test_cv_in_parallel_gives_the_same_scores(params_yaml, article_train_xy):
    """n_jobs=2 gives exactly the n_jobs=1 per-fold scores."""
    X, y = article_train_xy
    estimator = strategy_estimator(params_yaml, scale=True, class_weight="balanced")
    assert run_cv(estimator, X, y, n_jobs=2) == run_cv(estimator, X, y, n_jobs=1)


def sklearn_cross_validate(estimator, X, y, fixed_threshold=0.5, **cv):
    """The per-fold scores as scikit-learn's cross_validate computes them with the project's scorer."""
    from functools import partial

    from sklearn.model_selection import RepeatedStratifiedKFold, cross_validate

    from imbalance_lab.evaluation.metrics import _fold_scores

    cv = cv or CV
    splitter = RepeatedStratifiedKFold(n_splits=cv["folds"], n_repeats=cv["repeats"], random_state=cv["seed"])
    result = cross_validate(estimator, X, y, cv=splitter, error_score="raise",
                            scoring=partial(_fold_scores, fixed_threshold=fixed_threshold))
    return {key[len("test_"):]: values.tolist() for key, values in result.items() if key.startswith("test_")}


@pytest.mark.parametrize("name", ["knn_smote", "smoteenn", "tuned_threshold"])
def test_cv_scores_equal_sklearns_cross_validate(params_yaml, article_train_xy, name):
    """Fold by fold, exactly the figures of sklearn's cross_validate on the article data, for strategies
    as the train stage builds them (neighbour search set; a sampler, a tuned threshold)."""
    from imbalance_lab.data.dataset import columns_of
    from imbalance_lab.evaluation.metrics import cross_validated_metrics
    from imbalance_lab.models.estimators import build_pipeline
    from imbalance_lab.settings.params import classifier_settings, strategy_settings, tuning_settings

    X, y = article_train_xy
    strategy = strategy_settings(params_yaml, name)
    estimator = build_pipeline(strategy, classifier_settings(params_yaml, "logreg"), tuning_settings(params_yaml),
                               columns_of(X, "reject"), "auto")
    cv = {"folds": 5, "repeats": 2, "seed": 42}
    per_fold, stopped = cross_validated_metrics(estimator, X, y, n_jobs=1, fixed_threshold=0.5, **cv)
    assert per_fold == sklearn_cross_validate(estimator, X, y, **cv)
    assert stopped == 0


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_cv_counts_the_folds_that_stop_early_in_every_worker(params_yaml, article_train_xy, n_jobs):
    """max_iter=1 stops every fold's fit early, counted in the worker processes too (n_jobs=2), where
    a warnings filter around the call sees nothing; no ConvergenceWarning reaches the caller."""
    from imbalance_lab.models.estimators import build_pipeline
    from imbalance_lab.settings.params import StrategySettings

    X, y = article_train_xy
    estimator = build_pipeline(StrategySettings(name="s", sampler="none", options={}), {"max_iter": 1}, None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        per_fold, stopped = run_cv_counting(estimator, X, y, n_jobs=n_jobs)
    assert stopped == CV["folds"] * CV["repeats"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert per_fold == sklearn_cross_validate(estimator, X, y)


def test_cv_counts_no_early_stop_for_converging_fits(smote_cv, article_train_xy):
    X, y = article_train_xy
    assert run_cv_counting(smote_cv[0], X, y)[1] == 0


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_cv_reports_progress_after_each_fold(params_yaml, article_train_xy, n_jobs):
    """progress(done, total) once per fold, done counting 1 .. total = folds * repeats."""
    X, y = article_train_xy
    calls = []
    run_cv_counting(strategy_estimator(params_yaml, scale=True), X, y, n_jobs=n_jobs,
                    progress=lambda done, total: calls.append((done, total)))
    total = CV["folds"] * CV["repeats"]
    assert calls == [(done, total) for done in range(1, total + 1)]


def recorded(category, message):
    return warnings.WarningMessage(message, category, "file.py", 1)


def test_stopped_early_ignores_newtons_switch_to_lbfgs():
    """A ConvergenceWarning counts, except the Newton solver's "resort to lbfgs"; other warnings never do."""
    from sklearn.exceptions import ConvergenceWarning

    from imbalance_lab.evaluation.metrics import stopped_early

    switch = recorded(ConvergenceWarning, "The inner solver of NewtonCholeskySolver detected a pointwise hessian "
                                          "with many negative values at iteration #18. It will now resort to lbfgs "
                                          "instead.")
    limit = recorded(ConvergenceWarning, "lbfgs failed to converge after 1 iteration(s)")
    assert stopped_early([limit]) and stopped_early([switch, limit])
    assert not stopped_early([switch]) and not stopped_early([]) and not stopped_early([recorded(UserWarning, "x")])


def test_metrics_does_not_import_model():
    """model imports metrics (stopped_early, threshold_scorer): the other way round would be a circle."""
    import subprocess
    import sys

    code = "import sys, imbalance_lab.evaluation.metrics; assert 'imbalance_lab.models.estimators' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cv_tuned_strategy_records_its_own_thresholds(params_yaml, article_train_xy):
    """A tuned strategy scores each fold at the threshold tuned on that training fold, not at 0.5."""
    X, y = article_train_xy
    per_fold = run_cv(strategy_estimator(params_yaml, tune_threshold=True), X, y)
    thresholds = per_fold["threshold"]
    assert len(thresholds) == CV["folds"] * CV["repeats"]
    assert all(0 < t < 1 and t != 0.5 for t in thresholds)
    assert len(set(thresholds)) > 1  # tuned per fold


# --- mean_and_sd -------------------------------------------------------------------------------------


def test_mean_and_sd_uses_the_sample_sd():
    """[1, 2, 3, 4]: mean 2.5, sample sd sqrt(5/3) (ddof=1, by hand)."""
    from imbalance_lab.evaluation.metrics import mean_and_sd

    result = mean_and_sd({"f1": [1.0, 2.0, 3.0, 4.0], "tp": [3, 3, 3]})
    assert result["f1"]["mean"] == pytest.approx(2.5)
    assert result["f1"]["sd"] == pytest.approx(math.sqrt(5 / 3))
    assert result["tp"] == {"mean": 3.0, "sd": 0.0}
    assert all(type(v) is float for entry in result.values() for v in entry.values())


def test_mean_and_sd_is_none_when_a_fold_is_undefined():
    """A metric undefined on any fold (NaN) has neither mean nor sd; the others are unaffected."""
    from imbalance_lab.evaluation.metrics import mean_and_sd

    result = mean_and_sd({"roc_auc": [0.7, math.nan, 0.8], "f1": [0.5, 0.7]})
    assert result["roc_auc"] == {"mean": None, "sd": None}
    assert result["f1"]["mean"] == pytest.approx(0.6)
    json.dumps(result, allow_nan=False)

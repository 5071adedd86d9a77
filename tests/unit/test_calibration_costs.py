"""Calibration, decision costs and model inspection (imbalance_lab.evaluation.metrics and .diagnostics,
imbalance_lab.reporting.plots), checked against hand computations and scikit-learn's own functions, with
real estimators."""

from __future__ import annotations

import json
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn import metrics as skm
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from imbalance_lab.evaluation.diagnostics import calibration, permutation_importances
from imbalance_lab.evaluation.metrics import (
    COUNTS,
    LOWER_IS_BETTER,
    METRICS,
    compute_metrics,
    correct_prior_shift,
    cost_scorer,
    cost_tuned_threshold,
    cross_validated_metrics,
    cv_splitter,
    expected_cost,
)
from imbalance_lab.reporting.plots import partial_dependence_figure, reliability_figure, sample_rows, save_png

# 10 rows, hand-counted: 4 defaults, of which rows 1 and 3 are missed (2 missed defaults);
# rows 4, 5 and 6 are paid but flagged (3 false alarms); rows 0 and 2 are caught.
Y_TRUE = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
Y_PRED = np.array([1, 0, 1, 0, 1, 1, 1, 0, 0, 0])
AMOUNTS = np.array([5.0, 250.0, 9.0, 40.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
COSTS = {"missed_default": 100, "false_alarm": 7}
COST_PER_1000 = 22_100.0  # 1000 * (2 * 100 + 3 * 7) / 10
COST_PER_1000_PER_ROW = 2_902_100.0  # 1000 * (100 * (250 + 40) + 3 * 7) / 10


def labelled_classifier(labels):
    """A real fitted classifier whose predictions on rows 0..n-1 are ``labels`` (1-nearest neighbour)."""
    X = np.arange(len(labels), dtype=float).reshape(-1, 1)
    classifier = KNeighborsClassifier(n_neighbors=1).fit(X, labels)
    np.testing.assert_array_equal(classifier.predict(X), labels)
    return classifier, X


@pytest.fixture(scope="module")
def imbalanced():
    """1,000 seeded rows, one default in ten, as a DataFrame."""
    X, y = make_classification(n_samples=1000, n_features=5, n_informative=3, n_redundant=0, weights=[0.9, 0.1],
                               flip_y=0.02, random_state=3)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(5)]), y


def smote_pipeline(last=None):
    from imblearn.over_sampling import SMOTE
    from imblearn.pipeline import Pipeline

    return Pipeline([("scale", StandardScaler()), ("sampler", SMOTE(random_state=0)),
                     ("model", last if last is not None else LogisticRegression())])


# --- expected cost and the cost scorer -----------------------------------------------------------------


def test_expected_cost_is_the_hand_count():
    assert expected_cost(Y_TRUE, Y_PRED, **COSTS) == pytest.approx(COST_PER_1000, rel=1e-12)
    assert expected_cost(Y_TRUE, Y_PRED, **COSTS, amounts=AMOUNTS) == pytest.approx(COST_PER_1000_PER_ROW, rel=1e-12)
    # amounts of 1 are the constant cost; no errors cost nothing
    assert expected_cost(Y_TRUE, Y_PRED, **COSTS, amounts=np.ones(10)) == pytest.approx(COST_PER_1000, rel=1e-12)
    assert expected_cost(Y_TRUE, Y_TRUE, **COSTS, amounts=AMOUNTS) == 0.0


def test_cost_scorer_is_minus_the_hand_counted_cost():
    classifier, X = labelled_classifier(Y_PRED)
    assert cost_scorer(**COSTS)(classifier, X, Y_TRUE) == pytest.approx(-COST_PER_1000, rel=1e-12)


def test_per_row_cost_scorer_takes_the_amounts_as_metadata():
    classifier, X = labelled_classifier(Y_PRED)
    scorer = cost_scorer(**COSTS, per_row=True)
    with sklearn.config_context(enable_metadata_routing=True):
        assert scorer(classifier, X, Y_TRUE, amounts=AMOUNTS) == pytest.approx(-COST_PER_1000_PER_ROW, rel=1e-12)
        assert scorer.get_metadata_routing().score.requests["amounts"] is True


# --- compute_metrics: log loss and cost ------------------------------------------------------------------


def test_log_loss_is_a_lower_is_better_metric_equal_to_sklearns():
    y_true, y_score = [0, 1, 1, 0, 1], [0.2, 0.8, 0.4, 0.6, 0.9]
    result = compute_metrics(y_true, y_score, 0.5)
    assert result["log_loss"] == pytest.approx(skm.log_loss(y_true, y_score), rel=1e-12)
    assert set(result) == set(METRICS) | set(COUNTS) and "cost_per_1000" not in result
    assert list(METRICS).index("log_loss") == list(METRICS).index("brier") + 1
    assert {"brier", "log_loss", "cost_per_1000"} <= LOWER_IS_BETTER and "cost_per_1000" not in METRICS


def test_log_loss_is_defined_for_one_class_silently():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = compute_metrics([0, 0, 0], [0.1, 0.6, 0.3], 0.5)
    assert result["log_loss"] == pytest.approx(-np.mean(np.log([0.9, 0.4, 0.7])), rel=1e-12)


def test_compute_metrics_costs_the_thresholded_labels():
    """Scores >= 0.5 are the hand-counted labels above: the cost is the hand count, with or without amounts."""
    y_score = np.where(Y_PRED == 1, 0.5, 0.49)
    result = compute_metrics(Y_TRUE, y_score, 0.5, COSTS)
    assert (result["fn"], result["fp"]) == (2, 3)
    assert result["cost_per_1000"] == pytest.approx(COST_PER_1000, rel=1e-12)
    assert compute_metrics(Y_TRUE, y_score, 0.5, COSTS, AMOUNTS)["cost_per_1000"] == pytest.approx(
        COST_PER_1000_PER_ROW, rel=1e-12)
    without = compute_metrics(Y_TRUE, y_score, 0.5)
    assert {key: value for key, value in result.items() if key != "cost_per_1000"} == without
    json.dumps(result, allow_nan=False)


def test_cross_validated_costs_are_each_folds_own(imbalanced):
    """Per fold, cost_per_1000 is the cost of that validation fold, its own amounts weighing its missed defaults;
    without costs the folds' scores are as before (no cost entry)."""
    from sklearn.base import clone

    X, y = imbalanced
    amounts = np.abs(X["x0"].to_numpy()) + 1
    estimator = smote_pipeline()
    settings = {"folds": 3, "repeats": 1, "seed": 4, "n_jobs": 1, "fixed_threshold": 0.5}
    per_fold, _ = cross_validated_metrics(estimator, X, y, **settings, costs=COSTS, amounts=amounts)
    plain, _ = cross_validated_metrics(estimator, X, y, **settings)
    assert "cost_per_1000" not in plain
    assert {key: values for key, values in per_fold.items() if key != "cost_per_1000"} == plain
    for index, (train, valid) in enumerate(cv_splitter(3, 1, 4).split(X, y)):
        model = clone(estimator).fit(X.iloc[train], y[train])
        labels = (model.predict_proba(X.iloc[valid])[:, 1] >= 0.5).astype(int)
        assert per_fold["cost_per_1000"][index] == pytest.approx(
            expected_cost(y[valid], labels, **COSTS, amounts=amounts[valid]), rel=1e-12)


# --- cost-tuned threshold ----------------------------------------------------------------------------------


def test_costly_missed_defaults_lower_the_threshold(imbalanced):
    X, y = imbalanced
    careful = cost_tuned_threshold(LogisticRegression(), X, y, missed_default=10, false_alarm=1, seed=1)
    lenient = cost_tuned_threshold(LogisticRegression(), X, y, missed_default=1, false_alarm=10, seed=1)
    assert careful["threshold"] < 0.5 < lenient["threshold"]
    # The tuned cost beats both trivial policies on the same rows: flag everyone, flag no one.
    positives = y.mean()
    assert 0 < careful["cv_cost_per_1000"] < min(1000 * 1 * (1 - positives), 1000 * 10 * positives)
    assert 0 < lenient["cv_cost_per_1000"] < min(1000 * 10 * (1 - positives), 1000 * 1 * positives)


def test_cost_tuned_threshold_is_reproducible_for_a_seed(imbalanced):
    X, y = imbalanced
    runs = [cost_tuned_threshold(LogisticRegression(), X, y, missed_default=20, false_alarm=1, seed=7) for _ in "ab"]
    assert runs[0] == runs[1]
    assert set(runs[0]) == {"threshold", "cv_cost_per_1000"}
    assert all(type(value) is float for value in runs[0].values())


def test_per_row_amounts_route_to_the_scorer_through_an_imblearn_pipeline(imbalanced):
    """Through a SMOTE pipeline the amounts reach the scorer, each with its own row: amounts of 1 give exactly
    the constant cost; amounts of 3 on the defaults (whatever the paid rows carry: only missed defaults
    count) exactly the constant cost with missed_default tripled."""
    from sklearn.base import is_classifier
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    X, y = imbalanced
    pipeline = smote_pipeline()
    terms = {"missed_default": 10, "false_alarm": 1, "folds": 3, "seed": 2}
    constant = cost_tuned_threshold(pipeline, X, y, **terms)
    assert cost_tuned_threshold(pipeline, X, y, **terms, amounts=np.ones(len(y))) == constant
    tripled = cost_tuned_threshold(pipeline, X, y, **{**terms, "missed_default": 30})
    paid_rows_amounts = np.random.default_rng(0).uniform(100, 1000, len(y))
    by_row = cost_tuned_threshold(pipeline, X, y, **terms, amounts=np.where(y == 1, 3.0, paid_rows_amounts))
    assert by_row["threshold"] == tripled["threshold"]
    assert by_row["cv_cost_per_1000"] == pytest.approx(tripled["cv_cost_per_1000"], rel=1e-12)
    assert by_row["threshold"] < constant["threshold"]  # dearer misses: flag more
    with pytest.raises(NotFittedError):  # the caller's estimator is left unfitted
        check_is_fitted(pipeline)
    assert is_classifier(pipeline) and not sklearn.get_config()["enable_metadata_routing"]


def test_per_row_amounts_weigh_the_missed_defaults_they_belong_to(imbalanced):
    """Amounts that vary by row (large on the defaults, through a gradient-boosting pipeline) give a
    different tuned cost from the same total spread evenly: the scorer sees each row's amount."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = imbalanced
    pipeline = smote_pipeline(HistGradientBoostingClassifier(max_iter=30, random_state=0))
    uneven = np.where(y == 1, 5.0, 0.0) + np.abs(X["x1"].to_numpy())
    even = np.full(len(y), uneven.mean())
    terms = {"missed_default": 10, "false_alarm": 1, "folds": 3, "seed": 0}
    a, b = (cost_tuned_threshold(pipeline, X, y, **terms, amounts=amounts) for amounts in (uneven, even))
    assert a["cv_cost_per_1000"] != pytest.approx(b["cv_cost_per_1000"], rel=1e-6)
    assert 0 <= a["threshold"] <= 1 and a["cv_cost_per_1000"] > 0


# --- calibration -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def known_probabilities():
    """20,000 labels drawn from known probabilities (a fixed Generator)."""
    from scipy.special import expit

    rng = np.random.default_rng(12)
    logits = rng.normal(-1.5, 1.2, 20_000)
    p = expit(logits)
    return (rng.random(p.size) < p).astype(int), logits


def test_perfectly_calibrated_scores_have_intercept_0_and_slope_1(known_probabilities):
    from scipy.special import expit

    y, logits = known_probabilities
    result = calibration(y, expit(logits))
    assert result["intercept"] == pytest.approx(0, abs=0.05)
    assert result["slope"] == pytest.approx(1, abs=0.05)
    assert result["mean_predicted"] == pytest.approx(result["observed_rate"], abs=0.01)


@pytest.mark.parametrize("stretch", [0.5, 2.0])
def test_calibration_slope_reads_the_spread(known_probabilities, stretch):
    """Scores pushed towards 0.5 (timid, logits halved) have slope about 2 > 1; pushed to the ends (overconfident,
    logits doubled) about 0.5 < 1."""
    from scipy.special import expit

    y, logits = known_probabilities
    slope = calibration(y, expit(stretch * logits))["slope"]
    assert slope == pytest.approx(1 / stretch, rel=0.08)
    assert (slope > 1) if stretch < 1 else (slope < 1)


def test_calibration_intercept_reads_a_shift(known_probabilities):
    """Logits raised by 1 (as after oversampling the defaults): intercept about -1, slope still about 1."""
    from scipy.special import expit

    y, logits = known_probabilities
    result = calibration(y, expit(logits + 1))
    assert result["intercept"] == pytest.approx(-1, abs=0.06)
    assert result["slope"] == pytest.approx(1, abs=0.05)


def test_calibration_intercept_of_a_constant_score_is_the_logit_gap():
    """Every score 0.2, one default in ten: alpha = logit(0.1) - logit(0.2) exactly; no slope (no spread)."""
    from scipy.special import logit

    y = np.array([1] + [0] * 9)
    result = calibration(y, np.full(10, 0.2), n_bins=5)
    assert result["intercept"] == pytest.approx(logit(0.1) - logit(0.2), abs=1e-6)
    assert result["slope"] is None
    assert (result["mean_predicted"], result["observed_rate"]) == (pytest.approx(0.2), 0.1)


def test_calibration_numbers_are_sklearns_and_json_ready(known_probabilities):
    from scipy.special import expit
    from sklearn.calibration import calibration_curve

    y, logits = known_probabilities
    score = expit(logits)
    result = calibration(y, score, n_bins=8, strategy="uniform")
    prob_true, prob_pred = calibration_curve(y, score, n_bins=8, strategy="uniform")
    assert result["curve"] == {"prob_pred": prob_pred.tolist(), "prob_true": prob_true.tolist()}
    assert result["brier"] == pytest.approx(skm.brier_score_loss(y, score), rel=1e-12)
    assert result["log_loss"] == pytest.approx(skm.log_loss(y, score), rel=1e-12)
    json.dumps(result, allow_nan=False)


def test_calibration_of_one_class_has_no_intercept_or_slope():
    result = calibration([0, 0, 0, 0], [0.1, 0.3, 0.2, 0.4], n_bins=2)
    assert (result["intercept"], result["slope"]) == (None, None)
    json.dumps(result, allow_nan=False)


# --- prior shift ------------------------------------------------------------------------------------------------


def test_prior_shift_by_hand():
    # p = 0.5 at a fitted share of 0.5 is even odds; at a real share of 0.1 the odds are 1/9: p = 0.1.
    assert correct_prior_shift([0.5], 0.1, 0.5)[0] == pytest.approx(0.1, rel=1e-12)
    # p = 0.2 at a fitted share of 0.2 (odds 1/4) x (1 / (1/4)) = odds 1: p = 0.5.
    assert correct_prior_shift([0.2], 0.5, 0.2)[0] == pytest.approx(0.5, rel=1e-12)


def test_prior_shift_round_trip_identity_and_ranking():
    p = np.array([0.0, 1e-6, 0.05, 0.3, 0.5, 0.77, 0.999, 1.0])
    shifted = correct_prior_shift(p, 0.08, 0.5)
    np.testing.assert_allclose(correct_prior_shift(shifted, 0.5, 0.08), p, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(correct_prior_shift(p, 0.3, 0.3), p)
    assert np.all(np.diff(shifted) > 0) and shifted[0] == 0.0 and shifted[-1] == 1.0
    assert np.all(shifted[1:-1] < p[1:-1])  # a lower real share lowers every probability


@pytest.mark.parametrize("rates", [(0.0, 0.5), (0.1, 1.0), (-0.1, 0.5)])
def test_prior_shift_refuses_shares_outside_0_1(rates):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        correct_prior_shift([0.5], *rates)


# --- reliability figure ---------------------------------------------------------------------------------------


def test_reliability_curves_are_sklearns_calibration_curves(known_probabilities, tmp_path):
    from scipy.special import expit
    from sklearn.calibration import calibration_curve

    y, logits = known_probabilities
    entries = [("$x^^$ calibrated", y, expit(logits)), ("timid", y, expit(0.5 * logits))]
    fig = reliability_figure(entries, n_bins=7, strategy="quantile", title="reliability")
    (ax,) = fig.axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    for label, y_true, score in entries:
        line = lines[label.replace("$", r"\$")]
        prob_true, prob_pred = calibration_curve(y_true, score, n_bins=7, strategy="quantile")
        np.testing.assert_array_equal(line.get_xdata(), prob_pred)
        np.testing.assert_array_equal(line.get_ydata(), prob_true)
        curve = calibration(y_true, score, n_bins=7, strategy="quantile")["curve"]
        assert (list(line.get_xdata()), list(line.get_ydata())) == (curve["prob_pred"], curve["prob_true"])
    diagonals = [line for line in ax.get_lines() if list(line.get_xdata()) == [0, 1] == list(line.get_ydata())]
    assert len(diagonals) == 1
    first, second = (lines[label.replace("$", r"\$")] for label, _, _ in entries)
    assert (first.get_color(), first.get_linestyle(), first.get_marker()) != (
        second.get_color(), second.get_linestyle(), second.get_marker())
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("mean predicted probability", "observed share of positives")
    assert ax.get_legend() is None and len(fig.legends) == 1  # the legend sits under the axes, off the data
    assert fig.get_layout_engine() is not None
    save_png(fig, tmp_path / "a.png")
    save_png(reliability_figure(entries, n_bins=7, strategy="quantile", title="reliability"), tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


# --- inspection ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def signal_and_noise():
    """A fitted pipeline on 1,500 rows where 'signal' drives the label and 'noise' does not (integer column)."""
    from sklearn.pipeline import make_pipeline

    rng = np.random.default_rng(5)
    X = pd.DataFrame({"signal": rng.normal(size=1500), "noise": rng.integers(0, 50, 1500)})
    y = (X["signal"] + 0.5 * rng.normal(size=1500) > 1.2).astype(int).to_numpy()
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y), X, y


def test_permutation_importance_ranks_signal_above_noise(signal_and_noise):
    from sklearn.inspection import permutation_importance

    model, X, y = signal_and_noise
    result = permutation_importances(model, X, y, n_repeats=4, seed=3)
    assert set(result) == {"signal", "noise"}
    assert result["signal"]["mean"] > 0.1 > abs(result["noise"]["mean"])
    expected = permutation_importance(model, X, y, scoring="average_precision", n_repeats=4, random_state=3)
    assert [result[c]["mean"] for c in X.columns] == pytest.approx(expected.importances_mean.tolist(), rel=1e-12)
    assert [result[c]["sd"] for c in X.columns] == pytest.approx(expected.importances_std.tolist(), rel=1e-12)
    json.dumps(result, allow_nan=False)


def test_permutation_importance_on_a_stratified_sample_of_max_rows(signal_and_noise):
    from sklearn.inspection import permutation_importance
    from sklearn.model_selection import train_test_split

    model, X, y = signal_and_noise
    result = permutation_importances(model, X, y, n_repeats=3, seed=1, max_rows=400)
    X_part, _, y_part, _ = train_test_split(X, y, train_size=400, stratify=y, random_state=1)
    expected = permutation_importance(model, X_part, y_part, scoring="average_precision", n_repeats=3,
                                      random_state=1)
    assert [result[c]["mean"] for c in X.columns] == pytest.approx(expected.importances_mean.tolist(), rel=1e-12)
    assert result != permutation_importances(model, X, y, n_repeats=3, seed=1)  # not all rows were used


@pytest.mark.parametrize("max_rows", [5000, 300])
def test_partial_dependence_lines_are_sklearns_average(signal_and_noise, max_rows):
    """Each panel's line is partial_dependence's grid and average on the same (seeded) rows; integer columns
    are drawn as floats."""
    from sklearn.inspection import partial_dependence

    model, X, _ = signal_and_noise
    features = ["signal", "noise"]
    fig = partial_dependence_figure(model, X, features=features, title="pd", max_rows=max_rows, seed=4,
                                    grid_resolution=20)
    rows = X.iloc[sample_rows(len(X), max_rows, 4)].astype({"noise": float})
    assert len(rows) == min(max_rows, len(X))
    assert len(fig.axes) == 2
    for ax, feature in zip(fig.axes, features, strict=True):
        expected = partial_dependence(model, rows, [feature], response_method="predict_proba", method="brute",
                                      grid_resolution=20)
        (line,) = ax.get_lines()
        np.testing.assert_allclose(line.get_xdata(), expected["grid_values"][0], rtol=1e-12)
        np.testing.assert_allclose(line.get_ydata(), expected["average"][0], rtol=1e-12)
        assert ax.get_xlabel() == feature
    signal_line = fig.axes[0].get_lines()[0].get_ydata()
    assert signal_line[-1] > signal_line[0] + 0.3  # the probability rises with the signal
    plt.close(fig)


def test_sample_rows_is_seeded():
    assert sample_rows(5, 10, 0).tolist() == [0, 1, 2, 3, 4]
    picked = sample_rows(1000, 50, 3)
    assert len(set(picked.tolist())) == 50 and picked.tolist() == sorted(picked.tolist())
    assert picked.tolist() == sample_rows(1000, 50, 3).tolist() != sample_rows(1000, 50, 4).tolist()


def test_partial_dependence_names_render_as_written(signal_and_noise):
    """A feature name with dollars is drawn as written, not as mathtext (which would fail to render)."""
    import io

    model, X, y = signal_and_noise
    renamed = X.rename(columns={"signal": "$x^^$"})
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(renamed, y)
    fig = partial_dependence_figure(model, renamed, features=["$x^^$"], title="$x^^$ pd")
    fig.savefig(io.BytesIO(), format="png")
    assert fig.axes[0].get_xlabel() == r"\$x^^\$"
    plt.close(fig)


# --- a calibrated, threshold-tuned cell: TunedThresholdClassifierCV around CalibratedClassifierCV --------


def test_a_calibrated_threshold_tuned_cell_trains_round_trips_and_evaluates(article_params, article_split, tmp_path):
    """calibrate and tune_threshold together passed `check`, then train crashed looking for the samplers in the
    CalibratedClassifierCV (it has no steps). Trained now, its file loads (outputs.read_model) as the tuned, calibrated
    model that was fitted, and evaluate scores it at its tuned threshold."""
    from imblearn.over_sampling import SMOTE

    from imbalance_lab.data.dataset import columns_of, features_and_target
    from imbalance_lab.models.estimators import build_pipeline, set_prior
    from imbalance_lab.pipeline.check import check
    from imbalance_lab.pipeline.evaluate import evaluate_cell
    from imbalance_lab.pipeline.outputs import read_model
    from imbalance_lab.pipeline.train import train_cell
    from imbalance_lab.settings.params import (
        classifier_settings,
        cost_settings,
        evaluate_settings,
        strategy_settings,
        tuning_settings,
    )
    from imbalance_lab.strategies.samplers import pipeline_samplers

    params = article_params
    params["cv"].update(folds=2, repeats=1)
    params["threshold_tuning"]["folds"] = 2
    params["evaluate"]["grid_resolution"] = 10
    params["strategies"]["both"] = {"sampler": "SMOTE", "k_neighbors": 2,  # folds of 2 in 2 in 2 hold 3 defaults
                                    "calibrate": "sigmoid", "tune_threshold": True}
    check(params)
    strategy, classifier = strategy_settings(params, "both"), classifier_settings(params, "logreg")
    train, test = article_split
    (X, y), (X_test, y_test) = features_and_target(train), features_and_target(test)
    # the same cell fitted by hand: the tuner, around the calibration, around the pipeline with its SMOTE
    fitted = build_pipeline(strategy, classifier, tuning_settings(params), columns_of(X, "refuse"))
    assert [type(step) for step in pipeline_samplers(fitted)] == [SMOTE]
    set_prior(fitted, float((y == 1).mean())).fit(X, y)
    assert type(fitted.estimator_).__name__ == "CalibratedClassifierCV"

    trained = train_cell(params, "both", "logreg", train)
    assert trained.not_fittable is None and trained.cv["scores"]
    path = tmp_path / "both-logreg.json"
    path.write_text(json.dumps(trained.model))
    model = read_model(path, strategy, classifier)
    assert model.tuned_threshold == pytest.approx(fitted.best_threshold_, abs=1e-6) != 0.5
    np.testing.assert_allclose(model.predict_proba(X_test), fitted.predict_proba(X_test), rtol=1e-6, atol=1e-9)

    evaluated = evaluate_cell(
        strategy, classifier, evaluate_settings(params), cost_settings(params), model, cv=trained.cv,
        resampled_info={"counts": {"0": 1, "1": 1}},
        data_info={"source": "article", "plot_features": ["age", "balance"], "plot_features_reason": ""},
        train=train, test=test)
    plt.close("all")
    decided = fitted.predict(X_test)  # the tuned threshold on the calibrated probabilities
    assert evaluated.metrics["threshold"] == pytest.approx(fitted.best_threshold_, abs=1e-6)
    assert evaluated.metrics["test"]["tp"] == int(((y_test == 1) & (decided == 1)).sum())
    assert evaluated.metrics["test"]["fp"] == int(((y_test == 0) & (decided == 1)).sum())


def test_a_sampler_failing_inside_the_calibration_within_the_tuning_is_found():
    """12 defaults: SMOTE's 5 neighbours fit the whole rows and each tuning training fold (8 defaults), not a
    calibration training fold inside one (5 or 6): the error is the sampler's, told in one line, not a bug."""
    from imblearn.over_sampling import SMOTE
    from imblearn.pipeline import Pipeline
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import StratifiedKFold, TunedThresholdClassifierCV

    from imbalance_lab.strategies.knn_smote import SamplerError
    from imbalance_lab.strategies.samplers import sampler_errors, sampler_failure

    y = np.repeat([0, 1], [108, 12])
    X = np.random.default_rng(0).normal(size=(120, 3)) + y[:, None]
    pipeline = Pipeline([("sampler", SMOTE(k_neighbors=5, random_state=0)), ("model", LogisticRegression())])
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    estimator = TunedThresholdClassifierCV(CalibratedClassifierCV(pipeline, cv=folds), cv=folds)
    assert sampler_failure(pipeline, X, y) is None  # on all rows, SMOTE works
    reason = sampler_failure(estimator, X, y)
    assert reason is not None and "SMOTE" in reason
    with pytest.raises(SamplerError), sampler_errors(estimator, X, y):
        estimator.fit(X, y)

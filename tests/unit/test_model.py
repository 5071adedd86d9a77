"""Build, fit, save, load and explain a strategy's estimator (imbalance_lab.models.estimators).

Expected values come from scikit-learn / imbalanced-learn called directly or from
hand reasoning, never from running the code under test a second time.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from itertools import pairwise

import numpy as np
import pytest
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline as ImbPipeline
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import get_scorer
from sklearn.model_selection import StratifiedKFold, TunedThresholdClassifierCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import KBinsDiscretizer, SplineTransformer, StandardScaler

from imbalance_lab.data.dataset import features_and_target
from imbalance_lab.models.estimators import build_classifier, build_pipeline, fit_model
from imbalance_lab.models.explain import boundary_at, coefficients
from imbalance_lab.persistence.modelfile import (
    FORMAT,
    UntrustedModelError,
    decode_state,
    encode_state,
    model_from_dict,
    model_to_dict,
)
from imbalance_lab.settings import params as config

FEATURES = ["age", "balance"]
BINS = {"kind": "bins", "n_bins": 5}
SPLINES = {"kind": "splines", "n_knots": 5, "degree": 3}


def strategy(name: str = "s", sampler: str = "none", options: dict | None = None, **keys) -> config.StrategySettings:
    return config.StrategySettings(name=name, sampler=sampler, options=options or {}, **keys)


def raises_naming(key: str):
    """pytest.raises for a ConfigError whose message quotes the full dotted key."""
    return pytest.raises(config.ConfigError, match=rf"'{re.escape(key)}'")


@pytest.fixture(scope="module")
def model_settings(params_yaml) -> dict:
    """The article classifier's settings as LogisticRegression takes them (seeded as the pipeline seeds it)."""
    options = config.classifier_settings(params_yaml, "logreg").options
    return {"random_state": config.global_seed(params_yaml), **options}


@pytest.fixture(scope="module")
def tuning(params_yaml) -> config.TuningSettings:
    return config.tuning_settings(params_yaml)


@pytest.fixture(scope="module")
def test_x(article_split):
    return features_and_target(article_split[1])[0]


# Strategies whose fitted estimators the save/load and explain tests share.
KINDS = {
    "plain": strategy(),
    "scale": strategy(scale=True),
    "smote_scale": strategy(sampler="SMOTE", options={"random_state": 0}, scale=True),
    "bins": strategy(basis=BINS, class_weight="balanced"),
    "scaled_bins": strategy(basis=BINS, scale=True),
    "splines": strategy(basis=SPLINES),
    "scaled_splines": strategy(basis=SPLINES, scale=True),
    "tuned": strategy(tune_threshold=True),
    "tuned_scaled_bins": strategy(tune_threshold=True, scale=True, basis=BINS),
}
TUNED = {"tuned", "tuned_scaled_bins"}


def fit_kind(kind, model_settings, tuning, X, y):
    estimator = build_pipeline(KINDS[kind], model_settings, tuning)
    return estimator, fit_model(estimator, X, y)


@pytest.fixture(scope="module")
def fitted(model_settings, tuning, article_train_xy) -> dict:
    """kind -> (fitted estimator, converged), on the article's training split."""
    X, y = article_train_xy
    return {kind: fit_kind(kind, model_settings, tuning, X, y) for kind in KINDS}


def prediction_pipeline(kind, estimator):
    """The fitted pipeline that predicts probabilities (sklearn's estimator_ for a tuned one)."""
    return estimator.estimator_ if kind in TUNED else estimator


def dumped(estimator, converged) -> str:
    return json.dumps(model_to_dict(estimator, FEATURES, converged), sort_keys=True, indent=2, allow_nan=False)


def round_trip(estimator, converged):
    return model_from_dict(json.loads(json.dumps(model_to_dict(estimator, FEATURES, converged))))


# --- build_classifier: the classifier's settings ------------------------------------------------


def logreg(options: dict) -> config.ClassifierSettings:
    return config.ClassifierSettings(name="logreg", classifier="LogisticRegression", options=options)


def test_negative_c_names_the_classifiers_c():
    """C=-1 is a ConfigError naming classifiers.logreg.C."""
    with pytest.raises(config.ConfigError, match=r"classifiers\.logreg\.C\b"):
        build_classifier(logreg({"C": -1}), strategy())


def test_unknown_setting_names_it():
    """An unknown setting is a ConfigError naming classifiers.logreg.bogus."""
    with pytest.raises(config.ConfigError, match=r"classifiers\.logreg\.bogus"):
        build_classifier(logreg({"bogus": 1}), strategy())


def test_build_classifier_passes_settings_through():
    """Valid settings reach the LogisticRegression unchanged."""
    model = build_classifier(logreg({"C": 0.25, "max_iter": 7, "solver": "liblinear"}), strategy())
    assert isinstance(model, LogisticRegression)
    assert (model.C, model.max_iter, model.solver) == (0.25, 7, "liblinear")


# --- build_pipeline: steps ------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings, names",
    [
        (strategy(), ["model"]),
        (strategy(scale=True), ["scale", "model"]),
        (strategy(sampler="SMOTE", options={"k_neighbors": 3}), ["sampler", "model"]),
        (strategy(basis=BINS), ["basis", "model"]),
        (strategy(basis=SPLINES, scale=True), ["scale", "basis", "model"]),
        (strategy(sampler="SMOTE", options={"k_neighbors": 3}, scale=True, basis={"kind": "bins", "n_bins": 4}),
         ["scale", "sampler", "basis", "model"]),
    ],
)
def test_pipeline_steps_follow_the_strategy(settings, names, model_settings, tuning):
    """Scaler, sampler, basis and model appear exactly when configured, in that order, as an imblearn Pipeline."""
    pipeline = build_pipeline(settings, model_settings, tuning)
    assert isinstance(pipeline, ImbPipeline)
    assert [name for name, _ in pipeline.steps] == names
    steps = pipeline.named_steps
    assert isinstance(steps["model"], LogisticRegression)
    if "scale" in steps:
        assert isinstance(steps["scale"], StandardScaler)
    if "sampler" in steps:
        assert isinstance(steps["sampler"], SMOTE)
        assert steps["sampler"].k_neighbors == 3
    if settings.basis and settings.basis["kind"] == "bins":
        basis = steps["basis"]
        assert isinstance(basis, KBinsDiscretizer)
        # one-hot columns, one coefficient per bin, quantile bins unless told otherwise
        assert (basis.n_bins, basis.encode, basis.strategy) == (settings.basis["n_bins"], "onehot-dense", "quantile")
    if settings.basis and settings.basis["kind"] == "splines":
        basis = steps["basis"]
        assert isinstance(basis, SplineTransformer)
        assert (basis.n_knots, basis.degree) == (5, 3)


def test_model_settings_reach_the_model(tuning):
    """The model section's settings reach the pipeline's LogisticRegression."""
    pipeline = build_pipeline(strategy(), {"C": 0.25, "max_iter": 7, "solver": "liblinear"}, tuning)
    model = pipeline.named_steps["model"]
    assert (model.C, model.max_iter, model.solver) == (0.25, 7, "liblinear")


@pytest.mark.parametrize("class_weight", ["balanced", {0: 1, 1: 10}])
@pytest.mark.parametrize("tune", [False, True])
def test_class_weight_reaches_the_model(class_weight, tune, model_settings, tuning):
    """A strategy's class_weight is set on its LogisticRegression, tuned or not."""
    estimator = build_pipeline(strategy(class_weight=class_weight, tune_threshold=tune), model_settings, tuning)
    pipeline = estimator.estimator if tune else estimator
    assert pipeline.named_steps["model"].class_weight == class_weight


def test_no_class_weight_leaves_sklearns_default(model_settings, tuning):
    pipeline = build_pipeline(strategy(), model_settings, tuning)
    assert pipeline.named_steps["model"].class_weight is None


def test_balanced_strategy_fits_like_sklearns_balanced_model(article_train_xy):
    """class_weight: balanced changes the fit exactly as LogisticRegression(class_weight='balanced') does."""
    X, y = article_train_xy
    estimator = build_pipeline(strategy(class_weight="balanced"), {}, config.TuningSettings("f1", 5, 42))
    estimator.fit(X, y)
    expected = LogisticRegression(class_weight="balanced").fit(X, y)
    np.testing.assert_array_equal(estimator.named_steps["model"].coef_, expected.coef_)
    np.testing.assert_array_equal(estimator.named_steps["model"].intercept_, expected.intercept_)


def test_untuned_strategy_is_not_wrapped(model_settings, tuning):
    assert not isinstance(build_pipeline(strategy(), model_settings, tuning), TunedThresholdClassifierCV)


@pytest.mark.parametrize("scoring, folds, seed", [("f1", 5, 42), ("balanced_accuracy", 3, 7)])
def test_tuned_strategy_wraps_the_pipeline(scoring, folds, seed, model_settings):
    """tune_threshold wraps the whole pipeline in TunedThresholdClassifierCV with the tuning settings' folds."""
    tuning = config.TuningSettings(scoring=scoring, folds=folds, seed=seed)
    estimator = build_pipeline(strategy(tune_threshold=True, scale=True, basis=BINS), model_settings, tuning)
    assert isinstance(estimator, TunedThresholdClassifierCV)
    assert isinstance(estimator.estimator, ImbPipeline)
    assert [name for name, _ in estimator.estimator.steps] == ["scale", "basis", "model"]
    cv = estimator.cv
    assert isinstance(cv, StratifiedKFold)
    assert (cv.n_splits, cv.shuffle, cv.random_state) == (folds, True, seed)


@pytest.mark.parametrize("scoring", ["f1", "balanced_accuracy", "matthews_corrcoef"])
def test_tuned_strategy_scores_like_the_named_sklearn_scorer(scoring, model_settings):
    """The tuning scorer gives sklearn's value of the named scorer on a fitted classifier."""
    estimator = build_pipeline(strategy(tune_threshold=True), model_settings, config.TuningSettings(scoring, 5, 42))
    rng = np.random.RandomState(3)
    X = np.arange(60).reshape(-1, 1)
    y_true, y_pred = rng.randint(0, 2, 60), rng.randint(0, 2, 60)
    classifier = KNeighborsClassifier(n_neighbors=1).fit(X, y_pred)  # predicts y_pred on X exactly
    assert estimator.scoring(classifier, X, y_true) == pytest.approx(get_scorer(scoring)(classifier, X, y_true),
                                                                     rel=1e-12, abs=1e-15)


def test_tuned_strategy_passes_other_scorer_names_to_sklearn(model_settings):
    """A scorer without a fast equivalent is handed to sklearn by name."""
    estimator = build_pipeline(strategy(tune_threshold=True), model_settings, config.TuningSettings("jaccard", 5, 42))
    assert estimator.scoring == "jaccard"


def test_every_strategy_of_params_yaml_builds(params_yaml):
    """params.yaml's strategies build; the new ones have the documented shape."""
    model_settings, tuning = config.classifier_settings(params_yaml, "logreg"), config.tuning_settings(params_yaml)
    built = {name: build_pipeline(config.strategy_settings(params_yaml, name), model_settings, tuning)
             for name in config.strategy_names(params_yaml)}
    assert built["balanced"].named_steps["model"].class_weight == "balanced"
    assert isinstance(built["tuned_threshold"], TunedThresholdClassifierCV)
    scorecard = built["scorecard"]
    assert [name for name, _ in scorecard.steps] == ["basis", "model"]
    assert scorecard.named_steps["basis"].n_bins == 5
    assert scorecard.named_steps["model"].class_weight == "balanced"


# --- build_pipeline: bad basis settings ------------------------------------------------------


@pytest.mark.parametrize(
    "basis, key",
    [
        ({"kind": "bins", "n_bins": 1}, "strategies.s.basis.n_bins"),
        ({"kind": "bins", "bogus": 1}, "strategies.s.basis.bogus"),
        ({"kind": "bins", "strategy": "median"}, "strategies.s.basis.strategy"),
        ({"kind": "bins", "encode": "ordinal"}, "strategies.s.basis.encode"),
        ({"kind": "bins", "encode": "onehot"}, "strategies.s.basis.encode"),
        ({"kind": "splines", "n_knots": 1}, "strategies.s.basis.n_knots"),
        ({"kind": "splines", "degree": -1}, "strategies.s.basis.degree"),
        ({"kind": "splines", "n_bins": 5}, "strategies.s.basis.n_bins"),
    ],
)
def test_bad_basis_setting_names_the_key(basis, key, model_settings, tuning):
    """Invalid, unknown or non-one-hot basis settings are ConfigErrors naming strategies.<name>.basis.<key>."""
    with raises_naming(key):
        build_pipeline(strategy(basis=basis), model_settings, tuning)


def test_bad_basis_kind_names_the_key_before_building(article_params):
    """An unknown basis kind is refused while reading params.yaml, naming strategies.<name>.basis.kind."""
    article_params["strategies"]["x"] = {"sampler": "none", "basis": {"kind": "poly"}}
    with raises_naming("strategies.x.basis.kind"):
        config.strategy_settings(article_params, "x")


def test_bad_classifier_setting_in_a_pipeline_names_its_key(tuning):
    with raises_naming("classifiers.logreg.C"):
        build_pipeline(strategy(), config.ClassifierSettings("logreg", "LogisticRegression", {"C": -1}), tuning)


# --- fitting and convergence ----------------------------------------------------------------------


def test_fit_model_fits_the_given_model_in_place(article_train_xy):
    """fit_model fits the very estimator it is handed and returns a bool."""
    X, y = article_train_xy
    model = build_classifier(logreg({}), strategy())
    converged = fit_model(model, X, y)
    assert isinstance(converged, bool)
    np.testing.assert_array_equal(model.coef_, LogisticRegression().fit(X, y).coef_)


def test_plain_strategy_fits_like_sklearn_and_agrees_with_the_articles_lbfgs(fitted, model_settings,
                                                                            article_train_xy, test_x):
    """A plain strategy is LogisticRegression(**model settings); its probabilities agree with the
    article's LogisticRegression() (lbfgs, stopped at its tolerance) to 1e-3."""
    X, y = article_train_xy
    expected = LogisticRegression(**model_settings).fit(X, y)
    model = fitted["plain"][0].named_steps["model"]
    np.testing.assert_array_equal(model.coef_, expected.coef_)
    np.testing.assert_array_equal(model.intercept_, expected.intercept_)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        article = LogisticRegression().fit(X, y)
    np.testing.assert_allclose(model.predict_proba(test_x), article.predict_proba(test_x), atol=1e-3)


def test_converged_flag_matches_sklearn_warning(fitted, article_train_xy):
    """converged is True exactly when sklearn's own fit raises no ConvergenceWarning."""
    X, y = article_train_xy
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        LogisticRegression().fit(X, y)
    sklearn_converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    assert fitted["plain"][1] is sklearn_converged


def test_non_convergence_is_a_flag_not_a_warning(article_train_xy):
    """max_iter=1 cannot converge: fit_model says so and lets no ConvergenceWarning escape."""
    X, y = article_train_xy
    with pytest.warns(ConvergenceWarning):
        LogisticRegression(max_iter=1).fit(X, y)  # sklearn itself agrees it does not converge
    estimator = build_pipeline(strategy(), {"max_iter": 1}, config.TuningSettings("f1", 5, 42))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        converged = fit_model(estimator, X, y)
    assert converged is False


def test_newtons_switch_to_lbfgs_is_not_a_failure_to_converge(params_yaml, article_train_xy):
    """On one cross-validation training fold of the smoteenn strategy Newton's solver resorts to lbfgs
    (a ConvergenceWarning), and lbfgs finishes: fit_model reports the fit as converged."""
    from sklearn.base import clone

    from imbalance_lab.data.dataset import columns_of
    from imbalance_lab.evaluation.metrics import cv_splitter

    X, y = article_train_xy
    estimator = build_pipeline(config.strategy_settings(params_yaml, "smoteenn"),
                               config.classifier_settings(params_yaml, "logreg"),
                               config.tuning_settings(params_yaml), columns_of(X, "reject"), "auto")
    train, _ = list(cv_splitter(5, 10, 42).split(X, y))[8]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        clone(estimator).fit(X.iloc[train], y[train])
    assert [str(w.message) for w in caught if "resort to lbfgs" in str(w.message)]  # sklearn warns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fit_model(estimator, X.iloc[train], y[train]) is True


def test_stopped_early_is_the_one_from_metrics():
    """model re-exports the rule cross-validation uses, so the final fit and the folds agree."""
    from imbalance_lab.evaluation import metrics
    from imbalance_lab.models import estimators as model

    assert model.stopped_early is metrics.stopped_early


# --- tuned threshold ------------------------------------------------------------------------------


def test_tuned_threshold_equals_sklearns_own_tuning(fitted, model_settings, article_train_xy):
    """The tuned strategy finds the threshold sklearn finds with its own 'f1' scorer on the same folds
    (so the fast F1 used for tuning picks the same threshold as sklearn's)."""
    X, y = article_train_xy
    expected = TunedThresholdClassifierCV(
        LogisticRegression(**model_settings), scoring="f1", cv=StratifiedKFold(5, shuffle=True, random_state=42)
    ).fit(X, y)
    tuned = fitted["tuned"][0]
    assert tuned.best_threshold_ == expected.best_threshold_
    assert tuned.best_threshold_ != 0.5


# --- JSON save / load ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(KINDS))
def test_json_round_trip_predicts_to_the_stored_precision(kind, fitted, test_x, article_train_xy):
    """to_dict -> JSON text -> from_dict predicts the fitted probabilities to ~8 significant digits
    (the stored precision), and the same labels at the fixed threshold."""
    estimator, converged = fitted[kind]
    restored = round_trip(estimator, converged)
    for X in (test_x, article_train_xy[0]):
        original = prediction_pipeline(kind, estimator).predict_proba(X)
        np.testing.assert_allclose(restored.predict_proba(X), original, rtol=1e-6, atol=1e-7)
        np.testing.assert_array_equal(restored.predict(X), prediction_pipeline(kind, estimator).predict(X))


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_restored_model_saves_to_the_same_bytes(kind, fitted):
    """Saving what was loaded changes nothing: rounding is idempotent, so the file is a fixed point."""
    estimator, converged = fitted[kind]
    text = dumped(estimator, converged)
    restored = model_from_dict(json.loads(text))
    del restored.tuned_threshold  # model_from_dict's own attribute, not part of the saved pipeline
    again = {**json.loads(text), "pipeline": encode_state(restored)}
    assert json.dumps(again, sort_keys=True, indent=2, allow_nan=False) == text


def all_floats(node):
    if isinstance(node, float):
        yield node
    elif isinstance(node, dict):
        for item in node.values():
            yield from all_floats(item)
    elif isinstance(node, list):
        for item in node:
            yield from all_floats(item)


def saved_objects(node, name):
    """The saved states of every object of class ``name`` in a model file."""
    if isinstance(node, dict):
        if node.get("__object__") == name:
            yield node["state"]
        for item in node.values():
            yield from saved_objects(item, name)
    elif isinstance(node, list):
        for item in node:
            yield from saved_objects(item, name)


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_solvers_floats_keep_8_significant_digits(kind, fitted):
    """The logistic regression's state and the tuned threshold (the floats whose last bits depend on
    the BLAS kernel) are stored with at most 8 significant digits; the fit itself had more."""
    estimator, converged = fitted[kind]
    data = json.loads(dumped(estimator, converged))
    [model] = saved_objects(data, "sklearn.linear_model._logistic.LogisticRegression")
    floats = list(all_floats(model)) + ([data["threshold"]] if kind in TUNED else [])
    assert len(floats) >= 3
    assert all(number == float(f"{number:.8g}") for number in floats)
    coef = prediction_pipeline(kind, estimator).named_steps["model"].coef_
    assert any(value != float(f"{value:.8g}") for value in coef.ravel())


@pytest.mark.parametrize("kind", list(KINDS))
def test_restored_threshold_is_the_tuned_one(kind, fitted, test_x):
    """tuned_threshold is sklearn's best_threshold_ (to 8 significant digits) for tuned strategies,
    None otherwise, and with it the restored model predicts the tuned estimator's labels."""
    estimator, converged = fitted[kind]
    restored = round_trip(estimator, converged)
    if kind in TUNED:
        assert restored.tuned_threshold == float(f"{estimator.best_threshold_:.8g}")
        labels = (restored.predict_proba(test_x)[:, 1] >= restored.tuned_threshold).astype(int)
        np.testing.assert_array_equal(labels, estimator.predict(test_x))
    else:
        assert restored.tuned_threshold is None
        np.testing.assert_array_equal(restored.predict(test_x), estimator.predict(test_x))


@pytest.mark.parametrize("kind", ["plain", "smote_scale", "scaled_bins", "scaled_splines", "tuned"])
def test_refitting_dumps_to_the_same_text(kind, fitted, model_settings, tuning, article_train_xy):
    """A second build and fit on the same rows gives byte-identical JSON (stable hash in dvc.lock)."""
    X, y = article_train_xy
    assert dumped(*fit_kind(kind, model_settings, tuning, X, y)) == dumped(*fitted[kind])


@pytest.mark.parametrize("kind", list(KINDS))
def test_saved_dict_has_the_prediction_path_without_the_sampler(kind, fitted):
    """The saved steps are the fitted pipeline's steps minus the sampler, in order, each restored as its type."""
    estimator, converged = fitted[kind]
    pipeline = prediction_pipeline(kind, estimator)
    expected = [name for name, _ in pipeline.steps if name != "sampler"]
    assert "SMOTE" not in dumped(estimator, converged)
    restored = round_trip(estimator, converged)
    assert [name for name, _ in restored.steps] == expected
    for name, step in restored.steps:
        assert type(step) is type(pipeline.named_steps[name])


def test_smote_strategy_saves_no_sampler(fitted):
    """A strategy with a sampler saves scaler and model only (the sampler acts during fit alone)."""
    estimator, converged = fitted["smote_scale"]
    assert "sampler" in estimator.named_steps
    restored = round_trip(estimator, converged)
    assert [type(step) for _, step in restored.steps] == [StandardScaler, LogisticRegression]


@pytest.mark.parametrize("kind", ["plain", "scaled_bins", "tuned"])
def test_round_trip_keeps_settings_classes_and_feature_names(kind, fitted):
    """The restored model has the same settings, classes and feature names."""
    estimator, converged = fitted[kind]
    restored = round_trip(estimator, converged)
    model = prediction_pipeline(kind, estimator).named_steps["model"]
    assert restored.named_steps["model"].get_params() == model.get_params()
    np.testing.assert_array_equal(restored.classes_, model.classes_)
    assert list(restored.feature_names_in_) == FEATURES


def test_saved_dict_records_format_classes_and_convergence(fitted):
    """The saved dict carries the format tag, the feature names, the converged flag and the threshold."""
    estimator, converged = fitted["plain"]
    data = model_to_dict(estimator, FEATURES, converged)
    assert data["format"] == FORMAT
    assert data["feature_names"] == FEATURES
    assert data["converged"] is converged
    assert data["threshold"] is None
    assert model_to_dict(estimator, FEATURES, False)["converged"] is False


@pytest.mark.parametrize("bad_format", ["something/else/v1", "imbalance-lab/pipeline/v1", None])
def test_wrong_format_is_rejected(fitted, bad_format):
    """model_from_dict refuses a dict whose 'format' is not this project's (or missing)."""
    data = model_to_dict(fitted["plain"][0], FEATURES, True)
    if bad_format is None:
        del data["format"]
    else:
        data["format"] = bad_format
    with pytest.raises(ValueError, match="format"):
        model_from_dict(data)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def array(values, dtype="<f8") -> dict:
    flat = np.asarray(values).ravel().tolist()
    return {"__array__": flat, "dtype": dtype, "shape": list(np.shape(values))}


def estimator_state(cls, **attributes) -> dict:
    return {"__object__": f"{cls.__module__}.{cls.__qualname__}", "state": {"__map__": [
        [key, value] for key, value in {**cls().get_params(), **attributes}.items()]}}


def hand_made(scale: dict | None = None, threshold: float | None = None) -> dict:
    """A saved model written by hand in the file format: log-odds -2 - 0.04 age + 0.00005 balance
    (on scaled inputs with scale)."""
    steps = []
    if scale:
        steps.append({"__tuple__": ["scale", estimator_state(
            StandardScaler, mean_=array(scale["mean"]), scale_=array(scale["scale"]), n_features_in_=2)]})
    steps.append({"__tuple__": ["model", estimator_state(
        LogisticRegression, classes_=array([0, 1], "<i8"), coef_=array([[-0.04, 0.00005]]),
        intercept_=array([-2.0]), n_features_in_=2)]})
    pipeline = {"__object__": "sklearn.pipeline.Pipeline",
                "state": {"__map__": [["steps", steps], ["memory", None], ["verbose", False],
                                      ["transform_input", None]]}}
    return {"format": FORMAT, "feature_names": FEATURES, "pipeline": pipeline, "threshold": threshold,
            "converged": True}


def test_hand_written_model_predicts_the_logistic_function(test_x):
    """A hand-written saved model predicts sigmoid(intercept + coef . x) (and, with a scale step, of the
    standardised x), with its threshold carried along."""
    age, balance = test_x["age"].to_numpy(float), test_x["balance"].to_numpy(float)
    plain = model_from_dict(hand_made())
    np.testing.assert_allclose(plain.predict_proba(test_x)[:, 1], sigmoid(-2.0 - 0.04 * age + 0.00005 * balance),
                               rtol=1e-12)
    scaled = model_from_dict(hand_made({"mean": [50.0, 45000.0], "scale": [20.0, 25000.0]}, threshold=0.3))
    z = -2.0 - 0.04 * (age - 50) / 20 + 0.00005 * (balance - 45000) / 25000
    np.testing.assert_allclose(scaled.predict_proba(test_x)[:, 1], sigmoid(z), rtol=1e-12)
    assert scaled.tuned_threshold == 0.3


def test_boundary_is_where_the_log_odds_reach_the_threshold():
    """For a linear model the lowest flagged balance at age a is the first scanned value at or above
    (logit(t) - intercept - w_age a) / w_balance."""
    model = model_from_dict(hand_made())
    threshold, ages = 0.3, [20.0, 50.0, 90.0]
    scan = np.linspace(0, 300_000, 3001)  # steps of 100
    result = boundary_at(model, threshold, ("age", ages), ("balance", scan))
    logit = math.log(threshold / (1 - threshold))
    for age, found in zip(ages, result, strict=True):
        exact = (logit + 2.0 + 0.04 * age) / 0.00005
        assert found == scan[scan >= exact][0]
    assert boundary_at(model, threshold, ("age", [20.0]), ("balance", scan[:10])) == [None]  # never flagged


# --- coefficients -------------------------------------------------------------------------------------


def test_plain_coefficients_are_the_models(fitted, article_train_xy):
    """Without a scaler the reported coefficients are the fitted model's own, as plain floats."""
    X, _ = article_train_xy
    estimator, _ = fitted["plain"]
    model = estimator.named_steps["model"]
    result = coefficients(estimator, X)
    assert result["threshold"] is None
    assert result["intercept"] == model.intercept_[0]
    assert [result["features"][name]["coefficient"] for name in FEATURES] == list(model.coef_[0])
    assert type(result["intercept"]) is float
    assert all(type(value) is float for f in result["features"].values() for value in f.values())


@pytest.mark.parametrize("kind", ["plain", "scale", "smote_scale", "tuned"])
def test_coefficients_in_original_units_reproduce_the_decision_function(kind, fitted, article_train_xy, test_x):
    """intercept + X @ coefficients on raw X is the pipeline's decision function; odds ratios are
    exp(coefficient) per unit and exp(coefficient * sd) per population sd of the training rows."""
    X, _ = article_train_xy
    estimator, _ = fitted[kind]
    result = coefficients(estimator, X)
    weights = np.array([result["features"][name]["coefficient"] for name in FEATURES])
    pipeline = prediction_pipeline(kind, estimator)
    for rows in (X, test_x):
        np.testing.assert_allclose(result["intercept"] + rows.to_numpy(float) @ weights,
                                   pipeline.decision_function(rows), rtol=1e-9, atol=1e-9)
    spread = X.std(ddof=0)
    for name in FEATURES:
        entry = result["features"][name]
        assert entry["odds_ratio_per_unit"] == pytest.approx(math.exp(entry["coefficient"]), rel=1e-12)
        assert entry["sd"] == pytest.approx(float(np.std(X[name].to_numpy(float))), rel=1e-12)
        assert entry["odds_ratio_per_sd"] == pytest.approx(math.exp(entry["coefficient"] * spread[name]), rel=1e-12)
    expected_threshold = estimator.best_threshold_ if kind in TUNED else None
    assert result["threshold"] == expected_threshold


BIN_LABEL = re.compile(r"^(\w+) in \[([^,]+), ([^)]+)\)$")


@pytest.mark.parametrize("kind", ["bins", "scaled_bins", "tuned_scaled_bins"])
def test_bin_coefficients_one_per_bin_with_edges_in_original_units(kind, fitted, article_train_xy):
    """One entry per bin, in the model's column order, labelled with the bin's edges in the original units:
    the edges of a KBinsDiscretizer fitted directly on the raw rows (quantiles do not care about scaling)."""
    X, _ = article_train_xy
    estimator, _ = fitted[kind]
    result = coefficients(estimator, X)
    model = prediction_pipeline(kind, estimator).named_steps["model"]
    assert "features" not in result
    basis = result["basis"]
    raw = KBinsDiscretizer(n_bins=5, encode="onehot-dense", strategy="quantile").fit(X)
    expected = [(name, low, high) for name, edges in zip(FEATURES, raw.bin_edges_, strict=True)
                for low, high in pairwise(edges)]
    assert len(basis) == len(expected) == model.coef_.shape[1]
    for label, (name, low, high) in zip(basis, expected, strict=True):
        match = BIN_LABEL.match(label)
        assert match, label
        assert match.group(1) == name
        assert float(match.group(2)) == pytest.approx(low, rel=1e-5)
        assert float(match.group(3)) == pytest.approx(high, rel=1e-5)
    assert [entry["coefficient"] for entry in basis.values()] == list(model.coef_[0])
    for entry in basis.values():
        assert entry["odds_ratio"] == pytest.approx(math.exp(entry["coefficient"]), rel=1e-12)
    assert result["intercept"] == model.intercept_[0]


@pytest.mark.parametrize("kind", ["splines", "scaled_splines"])
def test_spline_coefficients_one_per_spline_column(kind, fitted, article_train_xy):
    """One entry per spline column (n_knots + degree - 1 per feature, sklearn's column names)."""
    X, _ = article_train_xy
    estimator, _ = fitted[kind]
    basis = coefficients(estimator, X)["basis"]
    names = SplineTransformer(n_knots=5, degree=3).fit(X).get_feature_names_out(FEATURES)
    assert len(names) == 2 * (5 + 3 - 1)
    assert list(basis) == list(names)
    assert [entry["coefficient"] for entry in basis.values()] == list(estimator.named_steps["model"].coef_[0])


class Doubler(TransformerMixin, BaseEstimator):
    """A step from outside scikit-learn: the format must refuse it."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return 2 * np.asarray(X, dtype=float)


def test_step_from_outside_scikit_learn_cannot_be_saved(article_train_xy):
    """A pipeline step of an unknown library is refused, not silently dropped or pickled."""
    X, y = article_train_xy
    pipeline = ImbPipeline([("double", Doubler()), ("model", DummyClassifier())]).fit(X, y)
    with pytest.raises(TypeError, match="Doubler"):
        model_to_dict(pipeline, FEATURES, True)


def test_scikit_learn_steps_outside_the_trusted_list_cannot_be_saved(article_train_xy):
    """Only the classes the project's pipelines use are saved; another scikit-learn class is refused."""
    X, y = article_train_xy
    pipeline = ImbPipeline([("model", DummyClassifier(strategy="prior"))]).fit(X, y)
    with pytest.raises(TypeError, match="DummyClassifier"):
        model_to_dict(pipeline, FEATURES, True)


@pytest.mark.parametrize("name", ["os.system", "builtins.eval", "subprocess.Popen"])
def test_loading_refuses_types_outside_scikit_learn_numpy_scipy(name):
    """A tampered model file cannot make the loader build arbitrary objects."""
    with pytest.raises(UntrustedModelError, match=f"refusing to load '{re.escape(name)}'"):
        decode_state({"__object__": name, "state": {"__map__": []}})
    with pytest.raises(UntrustedModelError, match=f"refusing to load '{re.escape(name)}'"):
        decode_state({"__type__": name})


# --- probabilities after resampling: the prior-shift correction and calibration --------------


@pytest.fixture(scope="module")
def synthetic_split(params_yaml):
    """The synthetic source (the article's process, 20,000 rows, 6.5 % defaults), split as params.yaml says."""
    import copy

    from imbalance_lab.data.sources import generate_synthetic_data
    from imbalance_lab.data.split import split

    params = copy.deepcopy(params_yaml)
    params["data"]["synthetic"]["rows"] = 20_000
    train, test = split(generate_synthetic_data(config.synthetic_settings(params)), config.split_settings(params))
    return features_and_target(train), features_and_target(test)


@pytest.mark.parametrize("classifier", ["LogisticRegression", "HistGradientBoostingClassifier"])
def test_the_prior_shift_correction_brings_the_predicted_default_rate_back(synthetic_split, classifier):
    """SMOTE trains on a 50 % default rate, so its probabilities say a third of the customers default or more;
    corrected for that prior shift, the mean predicted probability on the test split is back at the true rate,
    and the ranking (ROC AUC) does not move."""
    from sklearn.metrics import roc_auc_score

    from imbalance_lab.models.estimators import set_prior

    (X, y), (X_test, y_test) = synthetic_split
    options = {"max_iter": 300} if classifier == "LogisticRegression" else {}
    settings = config.ClassifierSettings("c", classifier, options)
    scores = {}
    for correct in (False, True):
        strategy = config.StrategySettings(name="s", sampler="SMOTE", options={"random_state": 0}, scale=True,
                                      correct_prior=correct, seed=0)
        estimator = set_prior(build_pipeline(strategy, settings, None), float(y.mean()))
        fit_model(estimator, X, y)
        scores[correct] = estimator.predict_proba(X_test)[:, 1]
    true_rate = float(np.mean(y_test))
    assert scores[False].mean() > 3 * true_rate  # what resampling does to the probabilities
    if classifier == "LogisticRegression":  # right on average on the resampled rows: the correction suffices
        assert scores[True].mean() == pytest.approx(true_rate, abs=0.01)
    else:  # boosted trees over-fit the synthetic rows too; the correction still removes most of the shift
        assert abs(scores[True].mean() - true_rate) < abs(scores[False].mean() - true_rate) / 10
    assert roc_auc_score(y_test, scores[True]) == pytest.approx(roc_auc_score(y_test, scores[False]), abs=1e-12)


def test_a_calibrated_resampling_strategy_predicts_the_true_rate(synthetic_split):
    """calibrate: sigmoid wraps the strategy (sampler inside) in CalibratedClassifierCV: the calibrators are
    fitted on held-out rows that were never resampled, so the probabilities come back to the true rate."""
    from sklearn.calibration import CalibratedClassifierCV

    (X, y), (X_test, y_test) = synthetic_split
    strategy = config.StrategySettings(name="s", sampler="SMOTE", options={"random_state": 0}, scale=True,
                                  calibrate="sigmoid", seed=0)
    estimator = build_pipeline(strategy, config.ClassifierSettings("c", "HistGradientBoostingClassifier", {}),
                               config.TuningSettings("f1", 3, 0))
    assert isinstance(estimator, CalibratedClassifierCV) and estimator.method == "sigmoid"
    fit_model(estimator, X, y)
    assert estimator.predict_proba(X_test)[:, 1].mean() == pytest.approx(float(np.mean(y_test)), abs=0.01)

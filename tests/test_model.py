"""Build, fit, save and load the logistic regression (imbalance_lab.model)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from imbalance_lab import params as P
from imbalance_lab.data import features_and_target
from imbalance_lab.model import (
    FORMAT,
    build_model,
    coefficients,
    fit_model,
    model_from_dict,
    model_to_dict,
)


@pytest.fixture(scope="module")
def fitted(params_yaml, article_train_xy):
    """(model, converged) fitted on the article's training split with params.yaml's model settings."""
    X, y = article_train_xy
    model = build_model(P.model_settings(params_yaml))
    return model, fit_model(model, X, y)


def fit_with(settings, X, y):
    """(model, converged) for the given model settings."""
    model = build_model(settings)
    return model, fit_model(model, X, y)


def dumped(model, converged) -> str:
    return json.dumps(model_to_dict(model, converged), sort_keys=True, indent=2, allow_nan=False)


def test_fit_model_fits_the_given_model_in_place(article_train_xy):
    """fit_model fits the very estimator it is handed and returns a bool."""
    X, y = article_train_xy
    model = build_model({})
    converged = fit_model(model, X, y)
    assert isinstance(converged, bool)
    np.testing.assert_array_equal(model.coef_, LogisticRegression().fit(X, y).coef_)


def test_fit_matches_sklearn_defaults(fitted, article_train_xy):
    """params.yaml's model is the article's LogisticRegression() with all defaults."""
    X, y = article_train_xy
    expected = LogisticRegression().fit(X, y)
    model, _ = fitted
    np.testing.assert_array_equal(model.coef_, expected.coef_)
    np.testing.assert_array_equal(model.intercept_, expected.intercept_)


def test_converged_flag_matches_sklearn_warning(fitted, article_train_xy):
    """converged is True exactly when sklearn's own fit raises no ConvergenceWarning."""
    X, y = article_train_xy
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        LogisticRegression().fit(X, y)
    sklearn_converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    assert fitted[1] is sklearn_converged


def test_non_convergence_is_a_flag_not_a_warning(article_train_xy):
    """max_iter=1 cannot converge: fit_model says so and lets no ConvergenceWarning escape."""
    X, y = article_train_xy
    with pytest.warns(ConvergenceWarning):
        LogisticRegression(max_iter=1).fit(X, y)  # sklearn itself agrees it does not converge
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, converged = fit_with({"max_iter": 1}, X, y)
    assert converged is False


def test_json_round_trip_predicts_identically(fitted, article_split):
    """to_dict -> JSON text -> from_dict gives bit-identical probabilities on the test split."""
    model, converged = fitted
    X_test, _ = features_and_target(article_split[1])
    restored = model_from_dict(json.loads(json.dumps(model_to_dict(model, converged))))
    np.testing.assert_array_equal(restored.predict_proba(X_test), model.predict_proba(X_test))
    np.testing.assert_array_equal(restored.predict(X_test), model.predict(X_test))


def test_round_trip_keeps_settings_and_feature_names(fitted):
    """The restored model has the same settings, classes and feature names."""
    model, converged = fitted
    restored = model_from_dict(json.loads(json.dumps(model_to_dict(model, converged))))
    assert restored.get_params() == model.get_params()
    np.testing.assert_array_equal(restored.classes_, model.classes_)
    assert list(restored.feature_names_in_) == ["age", "balance"]


def test_same_model_dumps_to_the_same_text(fitted):
    """Dumping one fitted model twice gives identical JSON text."""
    assert dumped(*fitted) == dumped(*fitted)


def test_refitting_dumps_to_the_same_text(fitted, params_yaml, article_train_xy):
    """A second fit on the same rows gives byte-identical JSON (stable hash in dvc.lock)."""
    X, y = article_train_xy
    assert dumped(*fit_with(P.model_settings(params_yaml), X, y)) == dumped(*fitted)


def test_saved_dict_records_format_and_convergence(fitted):
    """The saved dict carries the format tag, the classes and the converged flag."""
    model, converged = fitted
    data = model_to_dict(model, converged)
    assert data["format"] == FORMAT
    assert data["classes"] == [0, 1]
    assert data["feature_names"] == ["age", "balance"]
    assert data["converged"] is converged


@pytest.mark.parametrize("bad_format", ["something/else/v1", None])
def test_wrong_format_is_rejected(fitted, bad_format):
    """model_from_dict refuses a dict whose 'format' is not this project's (or missing)."""
    data = model_to_dict(*fitted)
    if bad_format is None:
        del data["format"]
    else:
        data["format"] = bad_format
    with pytest.raises(ValueError, match="format"):
        model_from_dict(data)


def test_negative_c_names_model_c():
    """build_model({'C': -1}) is a ConfigError naming model.C."""
    with pytest.raises(P.ConfigError, match=r"model\.C\b"):
        build_model({"C": -1})


def test_unknown_setting_names_it():
    """build_model({'bogus': 1}) is a ConfigError naming model.bogus."""
    with pytest.raises(P.ConfigError, match=r"model\.bogus"):
        build_model({"bogus": 1})


def test_build_model_passes_settings_through():
    """Valid settings reach the LogisticRegression unchanged."""
    model = build_model({"C": 0.25, "max_iter": 7, "solver": "liblinear"})
    assert isinstance(model, LogisticRegression)
    assert (model.C, model.max_iter, model.solver) == (0.25, 7, "liblinear")


def test_coefficients_are_the_models(fitted):
    """coefficients() reports the fitted intercept and one coefficient per feature name."""
    model, _ = fitted
    result = coefficients(model)
    assert result["intercept"] == model.intercept_[0]
    assert result["coefficients"] == {"age": model.coef_[0][0], "balance": model.coef_[0][1]}
    assert type(result["intercept"]) is float
    assert all(type(value) is float for value in result["coefficients"].values())

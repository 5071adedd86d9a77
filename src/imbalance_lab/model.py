"""Build, fit, save and load the logistic regression.

A fitted logistic regression is fully described by its settings and a few
arrays, so it is stored as JSON: safe to load from a shared remote (nothing is
unpickled) and byte-stable, so its hash in dvc.lock only changes with the model.
"""

from __future__ import annotations

import warnings
from typing import Any, Mapping

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from .params import build_estimator

FORMAT = "imbalance-lab/logistic-regression/v1"


def build_model(settings: Mapping[str, Any]) -> LogisticRegression:
    return build_estimator(LogisticRegression, settings, "model")


def fit_model(model: LogisticRegression, X, y) -> bool:
    """Fit on (X, y); says whether the solver converged (on raw, unscaled features it may not)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(X, y)
    return not any(issubclass(w.category, ConvergenceWarning) for w in caught)


def model_to_dict(model: LogisticRegression, converged: bool) -> dict:
    """Everything needed to rebuild the fitted model, floats at full precision."""
    return {
        "format": FORMAT,
        "params": model.get_params(deep=False),
        "classes": model.classes_.tolist(),
        "feature_names": [str(name) for name in getattr(model, "feature_names_in_", [])],
        "coef": model.coef_.tolist(),
        "intercept": model.intercept_.tolist(),
        "n_iter": model.n_iter_.tolist(),
        "converged": converged,
    }


def model_from_dict(data: Mapping) -> LogisticRegression:
    if data.get("format") != FORMAT:
        raise ValueError(f"not a saved model of format {FORMAT}: got {data.get('format')!r}")
    model = LogisticRegression(**data["params"])
    model.classes_ = np.asarray(data["classes"])
    model.coef_ = np.asarray(data["coef"], dtype=float)
    model.intercept_ = np.asarray(data["intercept"], dtype=float)
    model.n_iter_ = np.asarray(data["n_iter"], dtype=np.int32)
    model.n_features_in_ = model.coef_.shape[1]
    if data["feature_names"]:
        model.feature_names_in_ = np.asarray(data["feature_names"], dtype=object)
    return model


def coefficients(model: LogisticRegression) -> dict:
    """Intercept and one coefficient per feature (log-odds per unit)."""
    names = [str(name) for name in model.feature_names_in_]
    return {
        "intercept": float(model.intercept_[0]),
        "coefficients": {name: float(value) for name, value in zip(names, model.coef_[0])},
    }

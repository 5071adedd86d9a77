"""A fitted strategy explained: its coefficients in the features' units, and where its decision boundary lies."""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import KBinsDiscretizer

from imbalance_lab.models.estimators import BASIS_CLASSES, PriorShiftCorrected, fitted_pipeline, tuned_threshold


def _basis_labels(step, feature_names: list[str], scaler) -> list[str]:
    """Readable names of the basis columns, bin edges in the features' original units."""
    if isinstance(step, KBinsDiscretizer):
        labels = []
        for index, (name, edges) in enumerate(zip(feature_names, step.bin_edges_, strict=True)):
            if scaler is not None:
                edges = edges * scaler.scale_[index] + scaler.mean_[index]
            labels += [f"{name} in [{low:.6g}, {high:.6g})" for low, high in pairwise(edges)]
        return labels
    return [str(label) for label in step.get_feature_names_out(feature_names)]


def coefficients(estimator, X) -> dict:
    """Intercept and coefficients in the features' original units, with odds ratios.

    For a linear model: log-odds per unit of each feature, the odds ratio per unit
    and per standard deviation of the training rows ``X``. For a basis model:
    one coefficient and odds ratio per bin or spline column.
    """
    pipeline = fitted_pipeline(estimator)
    if not hasattr(pipeline, "steps"):  # CalibratedClassifierCV: one pipeline per inner fold
        return {"threshold": tuned_threshold(estimator), "classifier": type(pipeline).__name__, "linear": False}
    named = dict(pipeline.steps)
    model, shift = named["model"], 0.0
    if isinstance(model, PriorShiftCorrected):  # a shift of the intercept: the log of the odds' ratio
        odds = [rate / (1 - rate) for rate in (float(model.prior or 0), model.fitted_rate_)]
        model, shift = model.estimator_, math.log(odds[0] / odds[1])
    if not isinstance(model, LogisticRegression):
        return {"threshold": tuned_threshold(estimator), "classifier": type(model).__name__, "linear": False}
    named = {**named, "model": _shifted(model, shift)}
    if "prepare" in named:
        return _prepared_coefficients(named, X, tuned_threshold(estimator))
    return _plain_coefficients(named, X, tuned_threshold(estimator))


def _plain_coefficients(named: dict, X, threshold) -> dict:
    """As :func:`coefficients`, for the article's pipeline (scale, sampler, basis, model)."""
    model, scaler, basis = named["model"], named.get("scale"), named.get("basis")
    names = [str(name) for name in X.columns]
    weights, intercept = model.coef_[0], float(model.intercept_[0])
    result: dict[str, Any] = {"threshold": threshold}
    if basis is not None:
        labels = _basis_labels(basis, names, scaler)
        result["intercept"] = intercept
        result["basis"] = {
            label: {"coefficient": float(w), "odds_ratio": math.exp(w)}
            for label, w in zip(labels, weights, strict=True)
        }
        return result
    if scaler is not None:  # back to original units: w_raw = w / scale, intercept shifts by the means
        intercept -= float(np.sum(weights * scaler.mean_ / scaler.scale_))
        weights = weights / scaler.scale_
    spread = X.std(ddof=0).to_numpy()
    result["intercept"] = intercept
    result["features"] = {
        name: {"coefficient": float(w), "odds_ratio_per_unit": math.exp(w), "odds_ratio_per_sd": math.exp(w * sd),
               "sd": float(sd)}
        for name, w, sd in zip(names, weights, spread, strict=True)
    }
    return result


def _shifted(model: LogisticRegression, shift: float) -> LogisticRegression:
    """The logistic regression with its intercept moved by ``shift`` (a copy; the same model if 0)."""
    if not shift:
        return model
    from copy import deepcopy

    moved = deepcopy(model)
    moved.intercept_ = model.intercept_ + shift
    return moved


def _prepared_coefficients(named: dict, X, threshold) -> dict:
    """As :func:`coefficients`, for the pipeline with ``prepare`` and ``encode`` steps:
    one entry per model column (numbers, one-hot categories ``name=value``, or basis columns)."""
    prepare, encode, model = named["prepare"], named["encode"], named["model"]
    numeric = prepare.named_transformers_["numeric"]
    scaler = numeric.named_steps.get("scale") if hasattr(numeric, "named_steps") else None
    numeric_names = list(prepare.transformers_[0][2])
    basis = encode.named_transformers_["numeric"]
    design = encode.transform(prepare.transform(X))
    weights, intercept = model.coef_[0], float(model.intercept_[0])
    onehot = encode.named_transformers_["categorical"]
    category_labels = [f"{name}={value}" for name, values in zip(getattr(onehot, "feature_names_in_", []),
                                                                  getattr(onehot, "categories_", []), strict=True)
                       for value in values]
    result: dict[str, Any] = {"threshold": threshold}
    if isinstance(basis, tuple(BASIS_CLASSES.values())):
        labels = _basis_labels(basis, numeric_names, scaler) + category_labels
        result["intercept"] = intercept
        result["basis"] = {label: {"coefficient": float(w), "odds_ratio": math.exp(w)}
                           for label, w in zip(labels, weights, strict=True)}
        return result
    per_unit = np.array(weights, dtype=float)
    if scaler is not None:  # numbers back to original units
        count = len(numeric_names)
        intercept -= float(np.sum(weights[:count] * scaler.mean_ / scaler.scale_))
        per_unit[:count] = weights[:count] / scaler.scale_
    spread = design.std(axis=0)  # in the model's units: w * sd is the same in any units
    result["intercept"] = intercept
    result["features"] = {
        name: {"coefficient": float(unit), "odds_ratio_per_unit": math.exp(unit),
               "odds_ratio_per_sd": math.exp(w * sd),
               "sd": float(sd if scaler is None or index >= len(numeric_names) else sd * scaler.scale_[index])}
        for index, (name, unit, w, sd) in enumerate(
            zip(numeric_names + category_labels, per_unit, weights, spread, strict=True))
    }
    return result


def boundary_at(model, threshold: float, at: tuple[str, list], scan: tuple[str, np.ndarray],
                others: Mapping[str, Any] | None = None) -> list[float | None]:
    """Where the decision boundary lies: for each value of feature ``at``, the lowest
    value of feature ``scan`` (scanned in ascending order) that the model flags, or None.
    Every other feature is held at its value in ``others``."""
    import pandas as pd

    (at_name, at_given), (scan_name, scan_given) = at, scan
    at_values, scan_values = np.asarray(at_given, dtype=float), np.asarray(scan_given, dtype=float)
    size = len(at_values) * len(scan_values)
    grid = pd.DataFrame({**{name: [value] * size for name, value in (others or {}).items()},
                         at_name: np.repeat(at_values, len(scan_values)),
                         scan_name: np.tile(scan_values, len(at_values))})
    grid = grid[list(model.feature_names_in_)]
    flagged = (model.predict_proba(grid)[:, 1] >= threshold).reshape(len(at_values), len(scan_values))
    return [float(scan_values[row.argmax()]) if row.any() else None for row in flagged]

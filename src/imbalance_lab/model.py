"""A strategy's estimator: build it, fit it, save and load it, explain it.

A strategy is one imbalanced-learn ``Pipeline``: an optional ``StandardScaler``,
an optional sampler, an optional feature basis (``KBinsDiscretizer`` bins or
``SplineTransformer`` splines), then ``LogisticRegression``; optionally wrapped
in ``TunedThresholdClassifierCV``. The sampler only acts during ``fit``, so
the same object serves the final fit and cross-validation without leakage.

After fitting, only the prediction path matters (scaler, basis, model, and the
threshold). It is stored as JSON: safe to load from a shared remote (nothing is
unpickled) and byte-stable, so its hash in dvc.lock only changes with the model.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Mapping

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline as PredictionPipeline
from sklearn.preprocessing import KBinsDiscretizer, OneHotEncoder, SplineTransformer, StandardScaler

from .params import ConfigError, StrategySettings, TuningSettings, build_estimator

FORMAT = "imbalance-lab/pipeline/v1"
BASIS_CLASSES = {"bins": KBinsDiscretizer, "splines": SplineTransformer}
# Bins are one-hot columns for the logistic regression: one coefficient per bin, as in a scorecard.
BASIS_DEFAULTS = {"bins": {"encode": "onehot-dense", "n_bins": 5, "strategy": "quantile"}, "splines": {}}


def build_model(settings: Mapping[str, Any]) -> LogisticRegression:
    return build_estimator(LogisticRegression, settings, "model")


def build_basis(strategy: StrategySettings):
    key = f"strategies.{strategy.name}.basis"
    kind = strategy.basis["kind"]
    settings = {**BASIS_DEFAULTS[kind], **{k: v for k, v in strategy.basis.items() if k != "kind"}}
    if kind == "bins" and settings.get("encode") != "onehot-dense":
        raise ConfigError(f"params.yaml: '{key}.encode' must be onehot-dense (one coefficient per bin)")
    return build_estimator(BASIS_CLASSES[kind], settings, key)


def build_pipeline(strategy: StrategySettings, model_settings: Mapping[str, Any], tuning: TuningSettings):
    """The strategy's unfitted estimator, every setting validated."""
    from imblearn.pipeline import Pipeline
    from sklearn.model_selection import StratifiedKFold, TunedThresholdClassifierCV

    from .metrics import threshold_scorer
    from .samplers import build_sampler

    steps = []
    if strategy.scale:
        steps.append(("scale", StandardScaler()))
    sampler = build_sampler(strategy)
    if sampler is not None:
        steps.append(("sampler", sampler))
    if strategy.basis:
        steps.append(("basis", build_basis(strategy)))
    settings = dict(model_settings)
    if strategy.class_weight is not None:
        settings["class_weight"] = strategy.class_weight
    steps.append(("model", build_model(settings)))
    pipeline = Pipeline(steps)
    if not strategy.tune_threshold:
        return pipeline
    folds = StratifiedKFold(n_splits=tuning.folds, shuffle=True, random_state=tuning.seed)
    return TunedThresholdClassifierCV(pipeline, scoring=threshold_scorer(tuning.scoring), cv=folds)


def fit_model(estimator, X, y) -> bool:
    """Fit; says whether every solver run converged (on raw, unscaled features it may not)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        estimator.fit(X, y)
    return not any(issubclass(w.category, ConvergenceWarning) for w in caught)


def tuned_threshold(estimator) -> float | None:
    return float(estimator.best_threshold_) if hasattr(estimator, "best_threshold_") else None


def fitted_pipeline(estimator):
    """The fitted imblearn Pipeline inside a (possibly threshold-tuned) estimator."""
    return estimator.estimator_ if hasattr(estimator, "best_threshold_") else estimator


# --- JSON save / load ----------------------------------------------------------------


def _step_to_dict(name: str, step) -> dict:
    if isinstance(step, StandardScaler):
        return {"kind": "scale", "mean": step.mean_.tolist(), "scale": step.scale_.tolist()}
    if isinstance(step, KBinsDiscretizer):
        return {"kind": "bins", "params": step.get_params(), "edges": [e.tolist() for e in step.bin_edges_]}
    if isinstance(step, SplineTransformer):
        degree = step.degree
        params = {key: value for key, value in step.get_params().items() if key != "knots"}
        return {"kind": "splines", "params": params,
                "knots": [spline.t[degree:len(spline.t) - degree].tolist() for spline in step.bsplines_]}
    if isinstance(step, LogisticRegression):
        return {"kind": "model", "params": step.get_params(deep=False), "classes": step.classes_.tolist(),
                "coef": step.coef_.tolist(), "intercept": step.intercept_.tolist(), "n_iter": step.n_iter_.tolist()}
    raise TypeError(f"cannot store pipeline step {name!r} of type {type(step).__name__}")


def _step_from_dict(data: Mapping, n_features: int):
    kind = data["kind"]
    if kind == "scale":
        step = StandardScaler()
        step.mean_ = np.asarray(data["mean"], dtype=float)
        step.scale_ = np.asarray(data["scale"], dtype=float)
        step.var_ = step.scale_**2
        step.n_features_in_ = n_features
        return step
    if kind == "bins":
        step = KBinsDiscretizer(**data["params"])
        step.bin_edges_ = np.empty(len(data["edges"]), dtype=object)
        for index, edges in enumerate(data["edges"]):
            step.bin_edges_[index] = np.asarray(edges, dtype=float)
        step.n_bins_ = np.asarray([len(e) - 1 for e in data["edges"]])
        step.n_features_in_ = n_features
        # As KBinsDiscretizer.fit does for one-hot output.
        step._encoder = OneHotEncoder(
            categories=[np.arange(i) for i in step.n_bins_], sparse_output=False,
            dtype=step.dtype if step.dtype is not None else np.float64,
        ).fit(np.zeros((1, n_features)))
        return step
    if kind == "splines":
        knots = np.asarray(data["knots"], dtype=float).T  # (n_knots, n_features)
        # Fitting with explicit knots only reads X's shape: the same splines come back.
        return SplineTransformer(**{**data["params"], "knots": knots}).fit(knots)
    if kind == "model":
        model = LogisticRegression(**data["params"])
        model.classes_ = np.asarray(data["classes"])
        model.coef_ = np.asarray(data["coef"], dtype=float)
        model.intercept_ = np.asarray(data["intercept"], dtype=float)
        model.n_iter_ = np.asarray(data["n_iter"], dtype=np.int32)
        model.n_features_in_ = model.coef_.shape[1]
        return model
    raise ValueError(f"unknown pipeline step kind {kind!r}")


def model_to_dict(estimator, feature_names, converged: bool) -> dict:
    """The fitted prediction path (sampler left out: it only acts during fit), full precision."""
    pipeline = fitted_pipeline(estimator)
    steps = [(name, step) for name, step in pipeline.steps if name != "sampler"]
    return {
        "format": FORMAT,
        "feature_names": [str(name) for name in feature_names],
        "steps": [{"name": name, **_step_to_dict(name, step)} for name, step in steps],
        "threshold": tuned_threshold(estimator),
        "converged": converged,
    }


def model_from_dict(data: Mapping) -> PredictionPipeline:
    """A scikit-learn Pipeline that predicts like the saved one; its tuned threshold, if any,
    is in the ``tuned_threshold`` attribute (None when the strategy uses the fixed one)."""
    if data.get("format") != FORMAT:
        raise ValueError(f"not a saved model of format {FORMAT}: got {data.get('format')!r}")
    n_features = len(data["feature_names"])
    steps = [(step["name"], _step_from_dict(step, n_features)) for step in data["steps"]]
    steps[0][1].feature_names_in_ = np.asarray(data["feature_names"], dtype=object)  # the pipeline reads it there
    pipeline = PredictionPipeline(steps)
    pipeline.tuned_threshold = data["threshold"]
    return pipeline


# --- explaining the model --------------------------------------------------------


def _basis_labels(step, feature_names: list[str], scaler) -> list[str]:
    """Readable names of the basis columns, bin edges in the features' original units."""
    if isinstance(step, KBinsDiscretizer):
        labels = []
        for index, (name, edges) in enumerate(zip(feature_names, step.bin_edges_)):
            if scaler is not None:
                edges = edges * scaler.scale_[index] + scaler.mean_[index]
            labels += [f"{name} in [{low:.6g}, {high:.6g})" for low, high in zip(edges[:-1], edges[1:])]
        return labels
    return [str(label) for label in step.get_feature_names_out(feature_names)]


def coefficients(estimator, X) -> dict:
    """Intercept and coefficients in the features' original units, with odds ratios.

    For a linear model: log-odds per unit of each feature, the odds ratio per unit
    and per standard deviation of the training rows ``X``. For a basis model:
    one coefficient and odds ratio per bin or spline column.
    """
    pipeline = fitted_pipeline(estimator)
    named = dict(pipeline.steps)
    model, scaler, basis = named["model"], named.get("scale"), named.get("basis")
    names = [str(name) for name in X.columns]
    weights, intercept = model.coef_[0], float(model.intercept_[0])
    result: dict[str, Any] = {"threshold": tuned_threshold(estimator)}
    if basis is not None:
        labels = _basis_labels(basis, names, scaler)
        result["intercept"] = intercept
        result["basis"] = {
            label: {"coefficient": float(w), "odds_ratio": math.exp(w)} for label, w in zip(labels, weights)
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
        for name, w, sd in zip(names, weights, spread)
    }
    return result


def boundary_at(model, threshold: float, at: tuple[str, list], scan: tuple[str, np.ndarray]) -> list[float | None]:
    """Where the decision boundary lies: for each value of feature ``at``, the lowest
    value of feature ``scan`` (scanned in ascending order) that the model flags, or None."""
    import pandas as pd

    (at_name, at_values), (scan_name, scan_values) = at, scan
    at_values, scan_values = np.asarray(at_values, dtype=float), np.asarray(scan_values, dtype=float)
    grid = pd.DataFrame({at_name: np.repeat(at_values, len(scan_values)), scan_name: np.tile(scan_values, len(at_values))})
    grid = grid[list(model.feature_names_in_)]
    flagged = (model.predict_proba(grid)[:, 1] >= threshold).reshape(len(at_values), len(scan_values))
    return [float(scan_values[row.argmax()]) if row.any() else None for row in flagged]

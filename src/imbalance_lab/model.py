"""A strategy's estimator: build it, fit it, save and load it, explain it.

A strategy is one imbalanced-learn ``Pipeline``: an optional ``StandardScaler``,
an optional sampler, an optional feature basis (``KBinsDiscretizer`` bins or
``SplineTransformer`` splines), then ``LogisticRegression``; optionally wrapped
in ``TunedThresholdClassifierCV``. The sampler only acts during ``fit``, so
the same object serves the final fit and cross-validation without leakage.

Data with categorical columns or gaps to fill take a longer shape (see
:func:`build_pipeline`): ``prepare`` (impute, scale) -> samplers that understand
categories (SMOTENC) -> ``encode`` (one-hot, basis) -> samplers that need numbers
-> model. Imputers and encoders are fitted on the training rows of each fold.

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

from .data import Columns
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


def build_prepare(columns: Columns, scale: bool):
    """Fill gaps (median / most frequent) and standardise numbers; categories stay labels."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer

    numeric_steps = [("impute", SimpleImputer(strategy="median"))] if columns.impute else []
    if scale:
        numeric_steps.append(("scale", StandardScaler()))
    numeric = PredictionPipeline(numeric_steps) if numeric_steps else "passthrough"
    categorical = SimpleImputer(strategy="most_frequent") if columns.impute else "passthrough"
    return ColumnTransformer(
        [("numeric", numeric, list(columns.numeric)), ("categorical", categorical, list(columns.categorical))],
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")


def build_encode(columns: Columns, basis):
    """One-hot columns for the categories (unseen ones: all zeros), the basis for the numbers."""
    from sklearn.compose import ColumnTransformer

    return ColumnTransformer(
        [("numeric", basis if basis is not None else "passthrough", list(columns.numeric)),
         ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), list(columns.categorical))],
        verbose_feature_names_out=False,
    )


def build_pipeline(strategy: StrategySettings, model_settings: Mapping[str, Any], tuning: TuningSettings | None,
                   columns: Columns | None = None, neighbors: str = "auto"):
    """The strategy's unfitted estimator, every setting validated.

    ``columns`` describes the data; without categorical columns or gaps to impute the
    pipeline is the article's short one, otherwise the longer one of the module docstring.
    ``neighbors`` is the samplers' neighbour search (compute.neighbors); ``auto`` picks one
    by the number of columns.
    """
    from imblearn.pipeline import Pipeline
    from sklearn.model_selection import StratifiedKFold, TunedThresholdClassifierCV

    from .metrics import threshold_scorer
    from .samplers import build_sampler, neighbour_search, split_for_categories, with_neighbour_search

    steps = []
    sampler = build_sampler(strategy)
    if columns is not None:
        width = len(columns.numeric) + sum(1 for _ in columns.categorical)
        sampler = with_neighbour_search(sampler, neighbour_search(neighbors, width))
    if columns is None or not columns.needs_preparation:
        if strategy.scale:
            steps.append(("scale", StandardScaler()))
        if sampler is not None:
            steps.append(("sampler", sampler))
        if strategy.basis:
            steps.append(("basis", build_basis(strategy)))
    else:
        before, after = split_for_categories(sampler, columns, f"strategies.{strategy.name}")
        samplers = iter(f"sampler_{index}" if index else "sampler" for index in range(3))
        steps.append(("prepare", build_prepare(columns, strategy.scale)))
        steps += [(next(samplers), step) for step in before]
        steps.append(("encode", build_encode(columns, build_basis(strategy) if strategy.basis else None)))
        steps += [(next(samplers), step) for step in after]
    settings = dict(model_settings)
    if strategy.class_weight is not None:
        settings["class_weight"] = strategy.class_weight
    steps.append(("model", build_model(settings)))
    pipeline = Pipeline(steps)
    if not strategy.tune_threshold or tuning is None:  # no tuning settings: the untuned pipeline
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
    return {"kind": "state", "state": encode_state(step)}  # prepare / encode: any scikit-learn object


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
    if kind == "state":
        return decode_state(data["state"])
    raise ValueError(f"unknown pipeline step kind {kind!r}")


# Classes a saved state may name; anything else is refused on loading.
SAFE_MODULES = ("sklearn.", "imblearn.", "numpy", "scipy.interpolate.")


def _qualified(cls: type) -> str:
    name = f"{cls.__module__}.{cls.__qualname__}"
    if not name.startswith(SAFE_MODULES):
        raise TypeError(f"cannot store an object of type {name}")
    return name


def _resolve(name: str) -> type:
    import importlib

    if not name.startswith(SAFE_MODULES):
        raise ValueError(f"refusing to load an object of type {name!r}: not a scikit-learn, numpy or scipy type")
    module, _, qualname = name.rpartition(".")
    while module:
        try:
            return getattr(importlib.import_module(module), qualname)
        except (ImportError, AttributeError):
            module, _, outer = module.rpartition(".")
            qualname = f"{outer}.{qualname}"
    raise ValueError(f"unknown type {name!r}")


def encode_state(value):
    """A fitted scikit-learn object as JSON-ready data: exact floats, tagged types, no pickle."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else {"__float__": repr(number)}
    if isinstance(value, np.ndarray):
        items = value.ravel().tolist() if value.dtype != object else list(value.ravel())
        return {"__array__": [encode_state(item) for item in items], "dtype": value.dtype.str,
                "shape": list(value.shape)}
    if isinstance(value, list):
        return [encode_state(item) for item in value]
    if isinstance(value, tuple):
        return {"__tuple__": [encode_state(item) for item in value]}
    if isinstance(value, dict):
        return {"__map__": [[encode_state(key), encode_state(item)] for key, item in value.items()]}
    if isinstance(value, slice):
        return {"__slice__": [value.start, value.stop, value.step]}
    if isinstance(value, np.dtype):
        return {"__dtype__": value.str}
    if isinstance(value, type):
        return {"__type__": _qualified(value)}
    state = value.__getstate__() if hasattr(value, "__getstate__") else value.__dict__
    return {"__object__": _qualified(type(value)), "state": encode_state(state)}


def decode_state(data):
    """The inverse of :func:`encode_state`; only scikit-learn, numpy and scipy types are built."""
    if isinstance(data, list):
        return [decode_state(item) for item in data]
    if not isinstance(data, dict):
        return data
    if "__float__" in data:
        return float(data["__float__"])
    if "__array__" in data:
        items = [decode_state(item) for item in data["__array__"]]
        array = np.empty(len(items), dtype=object)
        array[:] = items
        return array.reshape(data["shape"]) if data["dtype"] == "|O" else \
            np.asarray(items, dtype=np.dtype(data["dtype"])).reshape(data["shape"])
    if "__tuple__" in data:
        return tuple(decode_state(item) for item in data["__tuple__"])
    if "__map__" in data:
        return {decode_state(key): decode_state(item) for key, item in data["__map__"]}
    if "__slice__" in data:
        return slice(*data["__slice__"])
    if "__dtype__" in data:
        return np.dtype(data["__dtype__"])
    if "__type__" in data:
        return _resolve(data["__type__"])
    if "__object__" in data:
        cls = _resolve(data["__object__"])
        value = cls.__new__(cls)
        state = decode_state(data["state"])
        if hasattr(value, "__setstate__"):
            value.__setstate__(state)
        else:
            value.__dict__.update(state)
        return value
    raise ValueError(f"not a saved state: keys {sorted(data)}")


def model_to_dict(estimator, feature_names, converged: bool) -> dict:
    """The fitted prediction path (sampler left out: it only acts during fit), full precision."""
    pipeline = fitted_pipeline(estimator)
    steps = [(name, step) for name, step in pipeline.steps if not name.startswith("sampler")]
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
    if data["steps"][0]["kind"] != "state":  # a restored ColumnTransformer has its own
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
    if "prepare" in named:
        return _prepared_coefficients(named, X, tuned_threshold(estimator))
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
                                                                  getattr(onehot, "categories_", []))
                       for value in values]
    result: dict[str, Any] = {"threshold": threshold}
    if isinstance(basis, tuple(BASIS_CLASSES.values())):
        labels = _basis_labels(basis, numeric_names, scaler) + category_labels
        result["intercept"] = intercept
        result["basis"] = {label: {"coefficient": float(w), "odds_ratio": math.exp(w)}
                           for label, w in zip(labels, weights)}
        return result
    per_unit = weights.copy()
    if scaler is not None:  # numbers back to original units
        count = len(numeric_names)
        intercept -= float(np.sum(weights[:count] * scaler.mean_ / scaler.scale_))
        per_unit[:count] = weights[:count] / scaler.scale_
    spread = design.std(axis=0)  # in the model's units: w * sd is the same in any units
    result["intercept"] = intercept
    result["features"] = {
        name: {"coefficient": float(unit), "odds_ratio_per_unit": math.exp(unit), "odds_ratio_per_sd": math.exp(w * sd),
               "sd": float(sd if scaler is None or index >= len(numeric_names) else sd * scaler.scale_[index])}
        for index, (name, unit, w, sd) in enumerate(zip(numeric_names + category_labels, per_unit, weights, spread))
    }
    return result


def boundary_at(model, threshold: float, at: tuple[str, list], scan: tuple[str, np.ndarray],
                others: Mapping[str, Any] | None = None) -> list[float | None]:
    """Where the decision boundary lies: for each value of feature ``at``, the lowest
    value of feature ``scan`` (scanned in ascending order) that the model flags, or None.
    Every other feature is held at its value in ``others``."""
    import pandas as pd

    (at_name, at_values), (scan_name, scan_values) = at, scan
    at_values, scan_values = np.asarray(at_values, dtype=float), np.asarray(scan_values, dtype=float)
    size = len(at_values) * len(scan_values)
    grid = pd.DataFrame({**{name: [value] * size for name, value in (others or {}).items()},
                         at_name: np.repeat(at_values, len(scan_values)), scan_name: np.tile(scan_values, len(at_values))})
    grid = grid[list(model.feature_names_in_)]
    flagged = (model.predict_proba(grid)[:, 1] >= threshold).reshape(len(at_values), len(scan_values))
    return [float(scan_values[row.argmax()]) if row.any() else None for row in flagged]

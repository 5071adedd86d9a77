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
import re
import warnings
from typing import Any, Mapping

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline as PredictionPipeline
from sklearn.preprocessing import KBinsDiscretizer, OneHotEncoder, SplineTransformer, StandardScaler

from .data import Columns
from .metrics import stopped_early
from .params import ConfigError, StrategySettings, TuningSettings, build_estimator

FORMAT = "imbalance-lab/pipeline/v2"
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
    from .samplers import seeded  # KBinsDiscretizer subsamples its quantiles at random

    return build_estimator(BASIS_CLASSES[kind], seeded(BASIS_CLASSES[kind], strategy, settings), key)


def check_basis_columns(X, strategy: StrategySettings) -> None:
    """A basis cuts each numeric column by its spread: one with a single value cannot be cut."""
    if not strategy.basis:
        return
    for name in X.select_dtypes("number").columns:
        if X[name].nunique() < 2:
            raise ConfigError(
                f"params.yaml: 'strategies.{strategy.name}.basis' cannot cut column {name!r}: it holds a single value "
                "in the training split; drop it from data.features, or remove the basis from this strategy"
            )


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
    return not stopped_early(caught)


def tuned_threshold(estimator) -> float | None:
    """The tuned threshold of a fitted TunedThresholdClassifierCV or of a loaded model, else None."""
    if hasattr(estimator, "best_threshold_"):
        return float(estimator.best_threshold_)
    return getattr(estimator, "tuned_threshold", None)


def fitted_pipeline(estimator):
    """The fitted imblearn Pipeline inside a (possibly threshold-tuned) estimator."""
    return estimator.estimator_ if hasattr(estimator, "best_threshold_") else estimator


# --- JSON save / load ----------------------------------------------------------------
#
# One serialiser for every step: an object is stored as its class name and its state
# (``__dict__``), arrays as nested lists with their dtype, the logistic regression's floats
# rounded to SIGNIFICANT_DIGITS. Loading trusts data as skops does: it first lists every class
# the file names, refuses any outside _trusted_classes() / TRUSTED_TYPES (exact names, no
# prefixes, no imports by name, never a function), and only then builds anything.

# The last digits of a logistic-regression fit depend on the CPU's BLAS kernel (measured: up to
# 5e-13 relative between OpenBLAS's Haswell, SkylakeX, Sandybridge and Prescott kernels). Stored
# coefficients, intercepts and tuned thresholds keep 8 significant digits, so the same bytes come
# out on any CPU (a flip at a rounding edge needs a value within ~1e-12 of one), and every later
# stage predicts from the stored, rounded model.
SIGNIFICANT_DIGITS = 8


class UntrustedModelError(ValueError):
    """A model file names something the loader does not build (or is not a model file)."""


def _trusted(*classes: type) -> dict[str, type]:
    return {f"{cls.__module__}.{cls.__qualname__}": cls for cls in classes}


def _trusted_classes() -> dict[str, type]:
    """The estimators and helpers the project's prediction pipelines are made of."""
    from scipy.interpolate import BSpline
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import FunctionTransformer

    # FunctionTransformer is how a fitted ColumnTransformer stores 'passthrough'; its func can
    # only ever be None here, since no function is ever built from a file.
    return _trusted(PredictionPipeline, StandardScaler, KBinsDiscretizer, OneHotEncoder, SplineTransformer,
                    LogisticRegression, ColumnTransformer, SimpleImputer, FunctionTransformer, BSpline)


def _constructor_arguments(cls: type) -> tuple[str, ...] | None:
    """Classes saved by their constructor's arguments, not their attributes: scipy's BSpline
    keeps a function (its array namespace's asarray) among its attributes."""
    from scipy.interpolate import BSpline

    return ("t", "c", "k", "extrapolate", "axis") if cls is BSpline else None


# Types that appear as setting values (e.g. OneHotEncoder(dtype=np.float64)); never built from state.
TRUSTED_TYPES = _trusted(np.float64, np.float32, np.int64, np.int32, np.bool_)
TRUSTED_DTYPES = re.compile(r"^(\|b1|\|O|<f8|<f4|<i8|<i4|\|i1|\|u1|<U\d{1,6})$")


def _name(cls: type, trusted: Mapping[str, type]) -> str:
    name = f"{cls.__module__}.{cls.__qualname__}"
    if trusted.get(name) is not cls:
        raise TypeError(f"cannot save an object of type {name}: not one of the classes a model file may hold")
    return name


def _round(number: float) -> float:
    return float(f"{number:.{SIGNIFICANT_DIGITS}g}") + 0.0  # + 0.0 turns -0.0 into 0.0


def encode_state(value):
    """A fitted pipeline as JSON-ready data: tagged types, no pickle; the logistic regression's
    floats rounded to SIGNIFICANT_DIGITS."""
    classes = _trusted_classes()

    def encode(value, rounding: bool):
        if value is None or isinstance(value, (bool, str)):
            return str(value) if isinstance(value, np.str_) else value
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, (int, np.integer)):
            return int(value)
        if isinstance(value, (float, np.floating)):
            number = float(value)
            if not math.isfinite(number):
                return {"__float__": repr(number)}
            return _round(number) if rounding else number
        if isinstance(value, np.ndarray):
            items = value.ravel().tolist() if value.dtype != object else list(value.ravel())
            return {"__array__": [encode(item, rounding) for item in items], "dtype": value.dtype.str,
                    "shape": list(value.shape)}
        if isinstance(value, list):
            return [encode(item, rounding) for item in value]
        if isinstance(value, tuple):
            return {"__tuple__": [encode(item, rounding) for item in value]}
        if isinstance(value, dict):
            return {"__map__": [[encode(key, rounding), encode(item, rounding)] for key, item in value.items()]}
        if isinstance(value, slice):
            return {"__slice__": [value.start, value.stop, value.step]}
        if isinstance(value, np.dtype):
            return {"__dtype__": value.str}
        if isinstance(value, type):
            return {"__type__": _name(value, TRUSTED_TYPES)}
        name = _name(type(value), classes)
        arguments = _constructor_arguments(type(value))
        state = vars(value) if arguments is None else {key: getattr(value, key) for key in arguments}
        # Only the solver's result depends on the CPU; other steps' floats are data values or exact
        # arithmetic on them (bin edges, knots, means), and rounding an edge would move rows across it.
        return {"__object__": name, "state": encode(state, rounding or isinstance(value, LogisticRegression))}

    return encode(value, False)


def untrusted_names(data) -> list[str]:
    """Every class or type name in saved ``data`` that the loader would refuse (skops' audit)."""
    classes, found = _trusted_classes(), []

    def walk(node):
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for tag, trusted in (("__object__", classes), ("__type__", TRUSTED_TYPES)):
                if tag in node and not (isinstance(node[tag], str) and node[tag] in trusted):
                    found.append(str(node[tag]))
            if "__dtype__" in node and not TRUSTED_DTYPES.match(str(node["__dtype__"])):
                found.append(f"dtype {node['__dtype__']}")
            if "__array__" in node and not TRUSTED_DTYPES.match(str(node.get("dtype"))):
                found.append(f"dtype {node.get('dtype')}")
            for item in node.values():
                walk(item)

    walk(data)
    return found


def decode_state(data):
    """The inverse of :func:`encode_state`. Refuses (UntrustedModelError) any file naming a class,
    type or dtype outside the trusted lists, before building anything."""
    try:
        refused = untrusted_names(data)
        if refused:
            raise UntrustedModelError(f"refusing to load {refused[0]!r}: not one of the classes a model file may hold")
        return _decode(data, _trusted_classes())
    except UntrustedModelError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError) as err:
        raise UntrustedModelError(f"not a saved model state ({type(err).__name__}: {err})") from None


def _decode(data, classes: Mapping[str, type]):
    if isinstance(data, list):
        return [_decode(item, classes) for item in data]
    if not isinstance(data, dict):
        return data
    if "__float__" in data:
        text = data["__float__"]
        if text not in ("nan", "inf", "-inf"):
            raise ValueError(f"bad float {text!r}")
        return float(text)
    if "__array__" in data:
        items = [_decode(item, classes) for item in data["__array__"]]
        shape = [int(size) for size in data["shape"]]
        if data["dtype"] == "|O":
            array = np.empty(len(items), dtype=object)
            array[:] = items
            return array.reshape(shape)
        return np.asarray(items, dtype=np.dtype(data["dtype"])).reshape(shape)
    if "__tuple__" in data:
        return tuple(_decode(item, classes) for item in data["__tuple__"])
    if "__map__" in data:
        return {_decode(key, classes): _decode(item, classes) for key, item in data["__map__"]}
    if "__slice__" in data:
        start, stop, step = (None if v is None else int(v) for v in data["__slice__"])
        return slice(start, stop, step)
    if "__dtype__" in data:
        return np.dtype(data["__dtype__"])
    if "__type__" in data:
        return TRUSTED_TYPES[data["__type__"]]
    if "__object__" in data:
        cls = classes[data["__object__"]]
        state = _decode(data["state"], classes)
        if not isinstance(state, dict):
            raise ValueError(f"the state of {data['__object__']} is not a mapping of attribute names")
        arguments = _constructor_arguments(cls)
        if arguments is not None:
            if set(state) != set(arguments):
                raise ValueError(f"{data['__object__']} needs exactly the arguments {', '.join(arguments)}")
            return cls(**state)
        for key in state:  # data attributes only: none may shadow a method or property of the class
            if not isinstance(key, str) or not key.isidentifier() or hasattr(cls, key):
                raise UntrustedModelError(f"refusing to load {data['__object__']} with the attribute {key!r}: "
                                          "not a data attribute of that class")
        value = cls.__new__(cls)
        vars(value).update(state)
        return value
    raise ValueError(f"unknown entry with keys {sorted(data)}")


def model_to_dict(estimator, feature_names, converged: bool) -> dict:
    """The fitted prediction path (samplers left out: they only act during fit), floats rounded."""
    pipeline = fitted_pipeline(estimator)
    steps = [(name, step) for name, step in pipeline.steps if not name.startswith("sampler")]
    threshold = tuned_threshold(estimator)
    return {
        "format": FORMAT,
        "feature_names": [str(name) for name in feature_names],
        "pipeline": encode_state(PredictionPipeline(steps)),
        "threshold": None if threshold is None else _round(threshold),
        "converged": converged,
    }


def model_from_dict(data: Mapping) -> PredictionPipeline:
    """A scikit-learn Pipeline that predicts like the saved one; its tuned threshold, if any,
    is in the ``tuned_threshold`` attribute (None when the strategy uses the fixed one).
    Anything that is not a model file of this format is an UntrustedModelError."""
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, Mapping) else type(data).__name__
        raise UntrustedModelError(f"not a saved model of format {FORMAT}: got {found!r}")
    pipeline = decode_state(data.get("pipeline"))
    threshold, names = data.get("threshold"), data.get("feature_names")
    steps = getattr(pipeline, "steps", None)
    if not isinstance(pipeline, PredictionPipeline) or not isinstance(steps, list) or not steps or \
            not all(isinstance(step, tuple) and len(step) == 2 and isinstance(step[0], str) for step in steps) or \
            not isinstance(steps[-1][1], LogisticRegression):
        raise UntrustedModelError("not a saved model: 'pipeline' is not a pipeline of named steps ending in a "
                                  "LogisticRegression")
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))
                                  or not 0 <= threshold <= 1):
        raise UntrustedModelError(f"not a saved model: 'threshold' must be a number from 0 to 1, got {threshold!r}")
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise UntrustedModelError("not a saved model: 'feature_names' must be a list of column names")
    first = pipeline.steps[0][1]
    if not hasattr(first, "feature_names_in_"):  # the pipeline reads the column names there
        first.feature_names_in_ = np.asarray(names, dtype=object)
    pipeline.tuned_threshold = threshold
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

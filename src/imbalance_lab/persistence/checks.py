"""Checks of every object's values, before it is built: what a trusted class may hold in a model file.

No callable comes from a file: a type (the only callable a file can name besides the classes' own parts)
only as the value of a ``dtype`` attribute, and of the trusted objects only the two that are callable by
design where their class keeps them (CALLABLE_PARTS: the boosting's loss, a spline transformer's splines).
No saved n_jobs decides how many processes run: the train stage writes null, and anything but null or 1 is
refused. Every float a fitted object holds is finite (coefficients, intercepts, split thresholds, leaf values,
baselines, calibrations), but for the missing-value markers of the imputer; a constructor parameter is left to
the class's own checks. A binary model predicts classes [0, 1], in that order, from one output. Then each
class's own check (CHECKS) holds its arrays to its feature count and its parts to one another.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping

import numpy as np

from imbalance_lab.persistence.trees import (
    check_decision_tree,
    check_forest,
    check_histogram_boosting,
    check_tree_predictor,
    is_count,
    n_features,
)
from imbalance_lab.persistence.trust import TRUSTED_TYPES, UntrustedModelError, qualified, trusted_class

CALLABLE_PARTS = {
    ("sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier", "_loss"):
        "sklearn._loss.loss.HalfBinomialLoss",
    ("sklearn.preprocessing._polynomial.SplineTransformer", "bsplines_"): "scipy.interpolate._bsplines.BSpline",
}
NON_FINITE_ALLOWED = frozenset({
    ("sklearn.impute._base.SimpleImputer", "missing_values"), ("sklearn.impute._base.SimpleImputer", "fill_value"),
    ("sklearn.impute._base.SimpleImputer", "statistics_"),  # a column all missing in training: NaN, dropped
    ("sklearn.preprocessing._encoders.OneHotEncoder", "categories_"),  # a missing value is a category of its own
})
LOADED_N_JOBS = (None, 1)
BINARY_COUNTS = {"n_classes_": 2, "n_outputs_": 1, "n_trees_per_iteration_": 1}


def _leaves(value) -> Iterator:
    """The values inside ``value``'s lists, tuples, mappings and object arrays (built objects are leaves)."""
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(key)
            yield from _leaves(item)
    elif isinstance(value, np.ndarray) and value.dtype == object:
        for item in value.ravel():
            yield from _leaves(item)
    else:
        yield value


def _non_finite(value) -> str | None:
    """Where ``value`` holds NaN or an infinity (None if nowhere)."""
    if isinstance(value, np.ndarray) and value.dtype.names is not None:  # tree nodes: name the field and node
        for field in value.dtype.names:
            if value.dtype[field].kind == "f" and not np.isfinite(value[field]).all():
                return f"node {int(np.flatnonzero(~np.isfinite(value[field]))[0])}'s {field}"
        return None
    if isinstance(value, np.ndarray) and value.dtype.kind in "fc" and not np.isfinite(value).all():
        return f"item {np.argwhere(~np.isfinite(value))[0].tolist()} of its {value.dtype} array"
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        return repr(float(value))
    return None


def _is_classes(value) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind in "iuf" and value.shape == (2,) and \
        bool(value[0] == 0 and value[1] == 1)


def describe(value) -> str:
    """A value as a refusal shows it: short arrays in full, long ones by dtype and shape."""
    if isinstance(value, type):
        return qualified(value)
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array of shape {list(value.shape)}" if value.size > 4 else \
            f"{value.tolist()!r} ({value.dtype})"
    if value is None or isinstance(value, (bool, int, float, str, list, tuple, dict, np.generic)):
        return repr(value)
    return f"a {qualified(type(value))} object"


def _leaf_problem(name: str, key: str, value, finite: bool) -> str | None:
    """A callable other than the class's own callable part, or (if ``finite``) a NaN or infinity, in ``value``."""
    allowed = CALLABLE_PARTS.get((name, key))
    for leaf in _leaves(value):
        if key == "dtype" and leaf is value and isinstance(leaf, type) and leaf in TRUSTED_TYPES.values():
            continue
        if callable(leaf) and not (allowed and qualified(type(leaf)) == allowed):
            hint = " (its func and inverse_func must be null)" if name.endswith(".FunctionTransformer") else ""
            return f"its attribute {key!r} holds the callable {describe(leaf)}: a model file holds no functions{hint}"
        where = _non_finite(leaf) if finite else None
        if where:
            return f"its attribute {key!r} is not finite (NaN or infinite) at {where}: a fitted model's numbers are " \
                   "finite"
    return None


def _count_problem(key: str, value) -> str | None:
    """A saved n_jobs, or classes and counts other than a binary model's."""
    if key == "n_jobs" and not any(value is allowed for allowed in LOADED_N_JOBS) and \
            not (is_count(value) and value == 1):
        return f"its n_jobs is {value!r}: a model file's n_jobs must be null (how many processes prediction " \
               "starts is not the file's to decide)"
    if key in ("classes_", "classes") and value is not None and not _is_classes(value):
        return f"its {key} must be [0, 1] (a binary model's classes, in that order), got {describe(value)}"
    if key in BINARY_COUNTS and value != BINARY_COUNTS[key]:
        return f"its {key} must be {BINARY_COUNTS[key]} (a binary model with one output), got {describe(value)}"
    if key == "n_features_in_" and not (is_count(value) and value >= 1):
        return f"its n_features_in_ must be a positive whole number, got {describe(value)}"
    return None


def check_values(name: str, state: Mapping) -> None:
    """Refuses (UntrustedModelError) a state with a callable, a non-finite fitted number, a saved n_jobs or a
    class count other than a binary model's."""
    cls = trusted_class(name)
    parameters = set(cls._get_param_names()) if hasattr(cls, "_get_param_names") else set()
    problem = None
    for key, value in state.items():
        finite = key not in parameters and (name, key) not in NON_FINITE_ALLOWED
        problem = _leaf_problem(name, key, value, finite) or _count_problem(key, value)
        if problem:
            break
    names, count = state.get("feature_names_in_"), state.get("n_features_in_")
    if not problem and names is not None and not (isinstance(names, np.ndarray) and names.shape == (count,)
                                                  and all(isinstance(item, str) for item in names)):
        problem = f"its feature_names_in_ must be the names of its {count} features, got {describe(names)}"
    if problem:
        raise UntrustedModelError(f"refusing to load {name}: {problem}")


# --- each class's own check: its arrays' shapes, its parts' counts (a problem, or None) ------------------------


def _array(value, shape: tuple, kinds: str = "f") -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind in kinds and value.shape == shape


def _check_logistic(state) -> str | None:
    count = n_features(state)
    if "coef_" not in state:
        return None  # unfitted (a setting)
    if not _array(state["coef_"], (1, count)):
        return f"its coef_ must be a float array of shape [1, {count}] (n_features_in_ {count}), got " \
               f"{describe(state['coef_'])}"
    if not _array(state.get("intercept_"), (1,)):
        return f"its intercept_ must be a float array of shape [1], got {describe(state.get('intercept_'))}"
    return None


def _check_scaler(state) -> str | None:
    count = n_features(state)
    for key in ("mean_", "var_", "scale_"):
        value = state.get(key)
        if value is not None and not _array(value, (count,)):
            return f"its {key} must be a float array of shape [{count}] (n_features_in_), got {describe(value)}"
    scale = state.get("scale_")
    if scale is not None and not (scale > 0).all():
        return "its scale_ must be positive"
    return None


def _check_boosting_parts(state) -> str | None:
    from sklearn._loss.loss import HalfBinomialLoss

    if "_predictors" not in state:
        return None
    if type(state.get("_loss")) is not HalfBinomialLoss:
        return "its _loss must be the binomial loss"
    if not _array(state.get("_baseline_prediction"), (1, 1)):
        return f"its _baseline_prediction must be a float array of shape [1, 1], got " \
               f"{describe(state.get('_baseline_prediction'))}"
    if state.get("is_categorical_") is not None or state.get("_n_features") != state.get("n_features_in_"):
        return "its is_categorical_ must be null and _n_features its n_features_in_"
    if not all(isinstance(trees, list) and len(trees) == 1 for trees in state["_predictors"]):
        return "each iteration of a binary model's _predictors holds one tree"
    mapper = state.get("_bin_mapper")
    categorical = getattr(mapper, "is_categorical_", None)
    if categorical is not None and (not isinstance(categorical, np.ndarray) or categorical.any()):
        return "its _bin_mapper's is_categorical_ must be null (categorical features are not supported)"
    return check_histogram_boosting(state)


def _members(members, count) -> str | None:
    if not isinstance(members, list) or not members or \
            not all(getattr(member, "n_features_in_", None) == count for member in members):
        return f"estimators_ must be fitted classifiers over its {count} features"
    return None


def _check_boosting(state) -> str | None:
    """AdaBoost and RUSBoost: the estimators' probabilities weighted by estimator_weights_, divided by their sum."""
    if "estimators_" not in state:
        return None
    members, weights = state["estimators_"], state.get("estimator_weights_")
    problem = _members(members, n_features(state))
    if problem:
        return problem
    if not (isinstance(weights, np.ndarray) and weights.dtype.kind == "f" and weights.ndim == 1
            and len(weights) >= len(members) and (weights >= 0).all() and weights.sum() > 0):
        return f"its estimator_weights_ must be non-negative weights of its {len(members)} estimators with a " \
               f"positive sum, got {describe(weights)}"
    return None


def _check_bagging(state) -> str | None:
    """EasyEnsemble and BalancedBagging: each member sees the columns estimators_features_ names; the sum of
    their probabilities is divided by n_estimators."""
    if "estimators_" not in state:
        return None
    members, features, count = state["estimators_"], state.get("estimators_features_"), n_features(state)
    if not isinstance(members, list) or not members or not isinstance(features, list) or \
            len(features) != len(members) or state.get("n_estimators") != len(members):
        return "estimators_, estimators_features_ and n_estimators must count the same members"
    for member, columns in zip(members, features, strict=True):
        if not (isinstance(columns, np.ndarray) and columns.dtype.kind in "iu" and columns.ndim == 1
                and ((columns >= 0) & (columns < (count or 0))).all()
                and getattr(member, "n_features_in_", None) == len(columns)):
            return f"estimators_features_ must name columns of its {count} features, one per column of each member"
    return None


def _unit_interval(value) -> bool:
    return isinstance(value, (float, np.floating)) and bool(0 < value < 1)


def _check_prior(state) -> str | None:
    if "estimator_" not in state:
        return None
    for key in ("prior", "fitted_rate_"):
        if not _unit_interval(state.get(key)):
            return f"its {key} must be a share between 0 and 1 (exclusive), got {describe(state.get(key))}"
    if getattr(state["estimator_"], "n_features_in_", None) != state.get("n_features_in_"):
        return "its estimator_ must be fitted on its n_features_in_ features"
    return None


def _check_calibrated(state) -> str | None:
    if state.get("method") not in ("sigmoid", "isotonic"):
        return f"its method must be sigmoid or isotonic, got {describe(state.get('method'))}"
    return None


def _check_calibrated_member(state) -> str | None:
    problem = _check_calibrated(state)
    if problem is None and (not isinstance(state.get("calibrators"), list) or len(state["calibrators"]) != 1):
        return "a binary model has one calibrator"
    return problem


def _check_isotonic(state) -> str | None:
    if "X_thresholds_" not in state:
        return None
    x, y = state["X_thresholds_"], state.get("y_thresholds_")
    if not (isinstance(x, np.ndarray) and x.dtype.kind == "f" and x.ndim == 1 and len(x) >= 1 and
            _array(y, x.shape) and (np.diff(x) >= 0).all() and ((y >= 0) & (y <= 1)).all()):
        return "X_thresholds_ must be increasing and y_thresholds_ probabilities, one per threshold"
    if state.get("out_of_bounds") != "clip":
        return f"its out_of_bounds must be 'clip' (as calibration fits it), got {describe(state.get('out_of_bounds'))}"
    return None


def _check_bins(state) -> str | None:
    if "bin_edges_" not in state:
        return None
    edges, bins, count = state["bin_edges_"], state.get("n_bins_"), n_features(state)
    if not (isinstance(edges, np.ndarray) and edges.shape == (count,) and
            all(isinstance(e, np.ndarray) and e.dtype.kind == "f" and e.ndim == 1 and len(e) >= 2
                and (np.diff(e) > 0).all() and np.isfinite(e).all() for e in edges)):
        return f"its bin_edges_ must hold increasing finite edges for each of its {count} features"
    if not (isinstance(bins, np.ndarray) and bins.tolist() == [len(e) - 1 for e in edges]):
        return "its n_bins_ must count the bins its bin_edges_ make"
    if state.get("encode") != "onehot-dense" or \
            [list(c) for c in getattr(state.get("_encoder"), "categories_", [])] != [list(range(n)) for n in bins]:
        return "it must encode one-hot, one column per bin"
    return None


def _check_one_hot(state) -> str | None:
    if "categories_" not in state:
        return None
    categories, count = state["categories_"], n_features(state)
    if not isinstance(categories, list) or len(categories) != count or \
            not all(isinstance(c, np.ndarray) and c.ndim == 1 for c in categories):
        return f"its categories_ must list the categories of each of its {count} features"
    if state.get("drop_idx_") is not None or state.get("_infrequent_enabled") or \
            state.get("_n_features_outs") != [len(c) for c in categories]:
        return "it must make one column per category (_n_features_outs, no dropped or infrequent categories)"
    return None


def _check_splines(state) -> str | None:
    from scipy.interpolate import BSpline

    if "bsplines_" not in state:
        return None
    splines, count = state["bsplines_"], n_features(state)
    if not isinstance(splines, list) or len(splines) != count or not all(type(b) is BSpline for b in splines):
        return f"its bsplines_ must hold one spline per feature ({count})"
    widths = {b.c.shape[1] if b.c.ndim == 2 else -1 for b in splines}
    if len(widths) != 1 or state.get("n_features_out_") != count * widths.pop() or \
            any(b.k != state.get("degree") for b in splines):
        return "its n_features_out_ and degree must match its splines"
    return None


def _check_imputer(state) -> str | None:
    statistics, count = state.get("statistics_"), n_features(state)
    if statistics is not None and not (isinstance(statistics, np.ndarray) and statistics.shape == (count,)):
        return f"its statistics_ must hold one value per feature ({count})"
    return None


def _check_function(state) -> str | None:
    for key in ("func", "inverse_func", "kw_args", "inv_kw_args"):
        if state.get(key) is not None:
            return f"its {key} must be null (a model file holds no functions), got {describe(state[key])}"
    if state.get("feature_names_out") not in (None, "one-to-one"):
        return "its feature_names_out must be null or 'one-to-one'"
    return None


def _check_columns(state) -> str | None:
    if "transformers_" not in state:
        return None
    names = state.get("feature_names_in_")
    known = set(names.tolist()) if isinstance(names, np.ndarray) else set()
    if state.get("sparse_output_") is not False or state.get("transformer_weights") is not None:
        return "its sparse_output_ must be false and its transformer_weights null (it scales no output)"
    for entry in state["transformers_"]:
        if not (isinstance(entry, tuple) and len(entry) == 3 and isinstance(entry[2], list)
                and all(isinstance(c, str) and c in known for c in entry[2])):
            return "each of its transformers_ must name columns of its feature_names_in_"
        width = getattr(entry[1], "n_features_in_", None)
        if width is not None and width != len(entry[2]):
            return f"its transformer {entry[0]!r} is fitted on {width} columns, not its {len(entry[2])}"
    return None


CHECKS: dict[str, Callable[[Mapping], str | None]] = {
    "sklearn.linear_model._logistic.LogisticRegression": _check_logistic,
    "sklearn.preprocessing._data.StandardScaler": _check_scaler,
    "sklearn.ensemble._weight_boosting.AdaBoostClassifier": _check_boosting,
    "imblearn.ensemble._weight_boosting.RUSBoostClassifier": _check_boosting,
    "imblearn.ensemble._easy_ensemble.EasyEnsembleClassifier": _check_bagging,
    "imblearn.ensemble._bagging.BalancedBaggingClassifier": _check_bagging,
    "imbalance_lab.models.estimators.PriorShiftCorrected": _check_prior,
    "sklearn.calibration._CalibratedClassifier": _check_calibrated_member,
    "sklearn.calibration.CalibratedClassifierCV": _check_calibrated,
    "sklearn.isotonic.IsotonicRegression": _check_isotonic,
    "sklearn.preprocessing._discretization.KBinsDiscretizer": _check_bins,
    "sklearn.preprocessing._encoders.OneHotEncoder": _check_one_hot,
    "sklearn.preprocessing._polynomial.SplineTransformer": _check_splines,
    "sklearn.impute._base.SimpleImputer": _check_imputer,
    "sklearn.preprocessing._function_transformer.FunctionTransformer": _check_function,
    "sklearn.compose._column_transformer.ColumnTransformer": _check_columns,
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor": check_tree_predictor,
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier":
        _check_boosting_parts,
    "sklearn.tree._classes.DecisionTreeClassifier": check_decision_tree,
    "sklearn.ensemble._forest.RandomForestClassifier": check_forest,
    "imblearn.ensemble._forest.BalancedRandomForestClassifier": check_forest,
}

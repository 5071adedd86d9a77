"""What a model file may name: exact classes, types, dtypes, record layouts and attributes, nothing else.

Loading trusts data as skops does: it first lists every class, type, dtype and record layout the file names
(untrusted_names), refuses any outside the fixed lists below (exact names, no prefixes, no imports by name,
never a function), and only then builds anything. A module is imported from TRUSTED_MODULES, never from a
file's text, and only once a file names one of its classes (a logistic regression's file does not load the
ensembles). An object may only be given the attributes known_attributes lists for its class.
"""

from __future__ import annotations

import importlib
import inspect
import re
from functools import cache

import numpy as np

from imbalance_lab.settings.classifiers import FULL_NAMES


class UntrustedModelError(ValueError):
    """A model file names something the loader does not build (or is not a model file)."""


# The classes a model file may hold, by module: exact names.
TRUSTED_MODULES = {
    "sklearn.pipeline": ("Pipeline",),
    "sklearn.preprocessing._data": ("StandardScaler",),
    "sklearn.preprocessing._discretization": ("KBinsDiscretizer",),
    "sklearn.preprocessing._encoders": ("OneHotEncoder",),
    "sklearn.preprocessing._polynomial": ("SplineTransformer",),
    "sklearn.compose._column_transformer": ("ColumnTransformer",),
    "sklearn.impute._base": ("SimpleImputer",),
    # how a fitted ColumnTransformer stores 'passthrough'; its func can only ever be None here, since no
    # function is ever built from a file
    "sklearn.preprocessing._function_transformer": ("FunctionTransformer",),
    "scipy.interpolate._bsplines": ("BSpline",),
    # the classifiers (settings.classifiers.CLASSIFIERS) and the parts they are made of
    "sklearn.linear_model._logistic": ("LogisticRegression",),
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting": ("HistGradientBoostingClassifier",),
    "sklearn.ensemble._hist_gradient_boosting.predictor": ("TreePredictor",),
    "sklearn.ensemble._hist_gradient_boosting.binning": ("_BinMapper",),
    "sklearn._loss.loss": ("HalfBinomialLoss",),
    "sklearn.ensemble._forest": ("RandomForestClassifier",),
    "sklearn.ensemble._weight_boosting": ("AdaBoostClassifier",),
    "sklearn.tree._classes": ("DecisionTreeClassifier",),
    "sklearn.tree._tree": ("Tree",),
    "imblearn.ensemble._forest": ("BalancedRandomForestClassifier",),
    "imblearn.ensemble._easy_ensemble": ("EasyEnsembleClassifier",),
    "imblearn.ensemble._weight_boosting": ("RUSBoostClassifier",),
    "imblearn.ensemble._bagging": ("BalancedBaggingClassifier",),
    "imbalance_lab.models.estimators": ("PriorShiftCorrected",),
    # calibration (strategies.<name>.calibrate)
    "sklearn.calibration": ("CalibratedClassifierCV", "_CalibratedClassifier", "_SigmoidCalibration"),
    "sklearn.isotonic": ("IsotonicRegression",),
    "sklearn.model_selection._split": ("StratifiedKFold",),
}
TRUSTED_NAMES = frozenset(f"{module}.{name}" for module, names in TRUSTED_MODULES.items() for name in names)
# The registry's classifiers, by full name.
CLASSIFIERS = tuple(FULL_NAMES.values())
CALIBRATED = "sklearn.calibration.CalibratedClassifierCV"
CALIBRATED_MEMBER = "sklearn.calibration._CalibratedClassifier"
CALIBRATORS = ("sklearn.calibration._SigmoidCalibration", "sklearn.isotonic.IsotonicRegression")

# The structured dtypes a file may hold (the layouts of scikit-learn's tree nodes), by name: where
# scikit-learn defines them.
RECORD_LAYOUTS = {
    "sklearn.tree._tree.NODE_DTYPE": ("sklearn.tree._tree", "NODE_DTYPE"),
    "sklearn.ensemble._hist_gradient_boosting.common.PREDICTOR_RECORD_DTYPE":
        ("sklearn.ensemble._hist_gradient_boosting.common", "PREDICTOR_RECORD_DTYPE"),
}

# Types that appear as setting values (OneHotEncoder(dtype=np.float64)), only ever as the value of an attribute
# named ``dtype`` (a type is callable: anywhere else it would be a function from the file); never built from state.
TRUSTED_TYPES: dict[str, type] = {f"{cls.__module__}.{cls.__qualname__}": cls for cls in (np.float64, np.float32)}
TRUSTED_DTYPES = re.compile(r"^(\|b1|\|O|<f8|<f4|<i8|<i4|\|i1|\|u1|<u4|<U\d{1,6})$")
BINARY_DTYPES = re.compile(r"^(\|b1|<f8|<f4|<i8|<i4|\|i1|\|u1|<u4)$")  # base64 holds numbers only

# Classes saved by their constructor's arguments, not their attributes: scipy's BSpline keeps a
# function (its array namespace's asarray) among its attributes; the boosting loss keeps a Cython
# object and is fully determined by its class (HistGradientBoostingClassifier predicts through its
# link function, the logit, only).
CONSTRUCTOR_ARGUMENTS = {
    "scipy.interpolate._bsplines.BSpline": ("t", "c", "k", "extrapolate", "axis"),
    "sklearn._loss.loss.HalfBinomialLoss": (),
}
# The Cython tree: saved as its constructor arguments and its __getstate__ dict of these keys.
TREE = "sklearn.tree._tree.Tree"
TREE_STATE = ("max_depth", "node_count", "nodes", "values")

# Attributes a file may not set: what the class's __getstate__ leaves out and __setstate__ rebuilds
# (the isotonic interpolation function), and the boosting's fit-time switch to binned prediction.
REFUSED_ATTRIBUTES = {
    "sklearn.isotonic.IsotonicRegression": ("f_",),
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier": ("_in_fit",),
}
# The attributes a file may set on an object: its class's constructor parameters (from its signature), the
# fitted attributes its docstring lists, the ones every scikit-learn estimator may carry (COMMON_STATE), and
# those below: what real fits of the project's prediction paths leave beyond those (generated from real fitted
# instances; tests/unit/test_modelfile.py fits them again and checks that each is still set by some fit). Anything
# else is refused, never set.
COMMON_STATE = frozenset({"_sklearn_version", "_sklearn_output_config", "n_features_in_", "feature_names_in_"})
FITTED_STATE = {
    "imbalance_lab.models.estimators.PriorShiftCorrected": ("classes_", "estimator_", "fitted_rate_"),
    "imblearn.ensemble._bagging.BalancedBaggingClassifier": (
        "_max_features", "_max_samples", "_n_samples", "_sampling_strategy", "_seeds", "classes_", "estimator_",
        "estimator_params", "estimators_", "estimators_features_", "n_classes_"),
    "imblearn.ensemble._easy_ensemble.EasyEnsembleClassifier": (
        "_max_features", "_max_samples", "_n_samples", "_sampling_strategy", "_seeds", "bootstrap",
        "bootstrap_features", "classes_", "estimator_", "estimator_params", "estimators_", "estimators_features_",
        "max_features", "max_samples", "n_classes_", "oob_score"),
    "imblearn.ensemble._forest.BalancedRandomForestClassifier": (
        "_n_features", "_sampling_strategy", "classes_", "estimator", "estimator_", "estimator_params",
        "estimators_", "n_classes_", "n_outputs_"),
    "imblearn.ensemble._weight_boosting.RUSBoostClassifier": (
        "classes_", "estimator_", "estimator_errors_", "estimator_params", "estimator_weights_", "estimators_",
        "n_classes_"),
    "sklearn.calibration.CalibratedClassifierCV": ("calibrated_classifiers_", "classes_"),
    "sklearn.calibration._SigmoidCalibration": ("a_", "b_"),
    "sklearn.compose._column_transformer.ColumnTransformer": (
        "_columns", "_remainder", "_transformer_to_input_indices", "_transformers_feature_names_out",
        "output_indices_", "sparse_output_", "transformers_"),
    "sklearn.ensemble._forest.RandomForestClassifier": (
        "_n_samples", "_n_samples_bootstrap", "classes_", "estimator", "estimator_", "estimator_params",
        "estimators_", "n_classes_", "n_outputs_"),
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper": (
        "bin_thresholds_", "is_categorical_", "missing_values_bin_idx_", "n_bins_non_missing_"),
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier": (
        "_baseline_prediction", "_bin_mapper", "_is_categorical_remapped", "_loss", "_n_features", "_predictors",
        "_preprocessor", "_random_seed", "_use_validation_data", "classes_", "do_early_stopping_", "is_categorical_",
        "n_trees_per_iteration_"),
    "sklearn.ensemble._weight_boosting.AdaBoostClassifier": (
        "classes_", "estimator_", "estimator_errors_", "estimator_params", "estimator_weights_", "estimators_",
        "n_classes_"),
    "sklearn.impute._base.SimpleImputer": ("_fill_dtype", "_fit_dtype", "indicator_", "statistics_"),
    "sklearn.isotonic.IsotonicRegression": ("X_max_", "X_min_", "X_thresholds_", "increasing_", "y_thresholds_"),
    "sklearn.linear_model._logistic.LogisticRegression": ("classes_", "coef_", "intercept_", "n_iter_"),
    "sklearn.preprocessing._data.StandardScaler": ("mean_", "n_samples_seen_", "scale_", "var_"),
    "sklearn.preprocessing._discretization.KBinsDiscretizer": ("_encoder", "bin_edges_", "n_bins_"),
    "sklearn.preprocessing._encoders.OneHotEncoder": (
        "_drop_idx_after_grouping", "_infrequent_enabled", "_n_features_outs", "categories_", "drop_idx_"),
    "sklearn.preprocessing._polynomial.SplineTransformer": ("bsplines_", "n_features_out_"),
    "sklearn.tree._classes.DecisionTreeClassifier": ("classes_", "max_features_", "n_classes_", "n_outputs_", "tree_"),
}


def qualified(cls: type) -> str:
    """A class's full name, as a file names it."""
    return f"{cls.__module__}.{cls.__qualname__}"


@cache
def trusted_class(name: str) -> type:
    """The class of a name in TRUSTED_NAMES (KeyError for any other name)."""
    if name not in TRUSTED_NAMES:
        raise KeyError(name)
    module, _, qualname = name.rpartition(".")
    cls = getattr(importlib.import_module(module), qualname)
    if not isinstance(cls, type) or qualified(cls) != name:
        raise TypeError(f"{name} is not a class of that name in this environment")
    return cls


@cache
def record_dtype(name: str) -> np.dtype:
    """The structured dtype of a name in RECORD_LAYOUTS."""
    module, attribute = RECORD_LAYOUTS[name]
    return getattr(importlib.import_module(module), attribute)


def _documented_attributes(cls: type) -> set[str]:
    """The names of the Attributes section of a numpydoc class docstring (scikit-learn's fitted-attribute list)."""
    doc = inspect.getdoc(cls) or ""
    section = re.search(r"^Attributes\n-{3,}\n(.*?)(?=^\S[^\n]*\n-{3,}\n|\Z)", doc, re.S | re.M)
    return set(re.findall(r"^(\w+) :", section.group(1), re.M)) if section else set()


@cache
def known_attributes(name: str) -> frozenset[str]:
    """Every attribute a file may set on an object of the trusted class ``name``."""
    cls = trusted_class(name)
    parameters = {p.name for p in inspect.signature(cls).parameters.values()
                  if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    return frozenset(parameters | _documented_attributes(cls) | COMMON_STATE | set(FITTED_STATE.get(name, ())))


def _untrusted_tags(node: dict) -> list[str]:
    """What one entry of saved data names outside the trusted lists."""
    found = []
    for tag, trusted in (("__object__", TRUSTED_NAMES), ("__type__", TRUSTED_TYPES), ("__records__", RECORD_LAYOUTS)):
        if tag in node and not (isinstance(node[tag], str) and node[tag] in trusted):
            found.append(str(node[tag]) if tag != "__records__" else f"record layout {node[tag]}")
    if "__dtype__" in node and not TRUSTED_DTYPES.match(str(node["__dtype__"])):
        found.append(f"dtype {node['__dtype__']}")
    if "__array__" in node and not TRUSTED_DTYPES.match(str(node.get("dtype"))):
        found.append(f"dtype {node.get('dtype')}")
    if "__base64__" in node and not BINARY_DTYPES.match(str(node.get("dtype"))):
        found.append(f"dtype {node.get('dtype')}")
    return found


def untrusted_names(data) -> list[str]:
    """Every class, type, dtype or record layout in saved ``data`` that the loader would refuse
    (skops' audit)."""
    if isinstance(data, list):
        return [name for item in data for name in untrusted_names(item)]
    if isinstance(data, dict):
        return _untrusted_tags(data) + [name for item in data.values() for name in untrusted_names(item)]
    return []

"""Model files: a fitted prediction path as JSON, and back, trusting nothing in the file.

After fitting, only the prediction path matters: preprocessing steps, the classifier (any of
settings.classifiers.CLASSIFIERS, possibly inside model.PriorShiftCorrected), or a CalibratedClassifierCV
of such pipelines, and the tuned threshold. The samplers only act during fit and are left out,
also inside imbalanced-learn's ensembles (which keep fitted samplers and (sampler, classifier)
pipelines: each pipeline is stored as its classifier, the samplers are dropped).

It is stored as JSON: safe to load from a shared remote (nothing is unpickled, only classes named
exactly in a fixed list are built, tree arrays are checked before a tree is built, no callable comes
from the file, every restored array is checked for content) and byte-stable, so its hash in dvc.lock
only changes with the model. A file says what it is (its cell, classifier class and a digest of the
settings it was trained with): every stage that loads one says what it expects and refuses another.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import inspect
import json
import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np
from sklearn.pipeline import Pipeline as PredictionPipeline

from imbalance_lab.data.rounding import decimals, significant
from imbalance_lab.models.estimators import PriorShiftCorrected, fitted_pipeline, tuned_threshold
from imbalance_lab.settings.classifiers import FULL_NAMES

# v4: the file says what it is ("identity"); attributes outside the class's own are refused; no saved n_jobs.
FORMAT = "imbalance-lab/pipeline/v4"
FORMAT_PREFIX = "imbalance-lab/pipeline/v"

# --- JSON save / load ----------------------------------------------------------------
#
# One serialiser for every object: its class name and its state, the state being what the class's
# own __getstate__ returns (its ``__dict__``, plus ``_sklearn_version`` for scikit-learn classes),
# less attributes only fit reads (samplers, random generators, fit scores); it is restored through
# the class's own __setstate__ (IsotonicRegression rebuilds its interpolation function there). A few
# classes are stored differently: by constructor arguments (scipy's BSpline, the boosting loss) or,
# for the Cython tree, as its constructor arguments and __getstate__ dict (structured node arrays
# are stored field by field). Arrays are nested lists with their dtype, or, above INLINE_ITEMS
# items and for tree node fields, base64 of their little-endian bytes.
#
# Loading trusts data as skops does: it first lists every class, type, dtype and record layout the
# file names, refuses any outside the fixed lists (exact names, no prefixes, no imports by name,
# never a function), and only then builds anything; every tree's arrays are checked (children in
# range and pointing forward, features in range) before that tree is built.

# The last digits of some fitted floats depend on the CPU: a logistic regression's and a sigmoid
# calibration's solver results on the BLAS kernel (measured: up to 5e-13 relative between
# OpenBLAS's Haswell, SkylakeX, Sandybridge and Prescott kernels), AdaBoost's estimator weights and
# sample-weighted leaf values on numpy's SIMD exp/log (AVX-512 or not), and an isotonic
# calibration's thresholds on the outputs of the model it calibrates. The states of those classes
# (ROUNDED_CLASSES) keep 8 significant digits, as the tuned threshold does, so the same bytes come out
# on any CPU (a flip at a rounding edge needs a value within ~1e-12 of one), and every later stage
# predicts from the stored, rounded model. A tree's split thresholds are never rounded (midpoints of
# data values, the same on every CPU; rounding one would move rows across it).
SIGNIFICANT_DIGITS = 8
ROUNDED_CLASSES = frozenset({
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.isotonic.IsotonicRegression",
    "sklearn.ensemble._weight_boosting.AdaBoostClassifier",
    "imblearn.ensemble._weight_boosting.RUSBoostClassifier",
})
NEVER_ROUNDED_FIELDS = frozenset({"threshold", "num_threshold"})
# A node's impurity (fit only: feature importances) is 1 - sum(p^2): a pure node's comes out as
# cancellation noise around 0 (+-1e-14, different on another CPU), which significant digits keep.
# Rounded, it keeps SIGNIFICANT_DIGITS decimals instead.
DECIMAL_FIELDS = frozenset({"impurity"})

# Arrays of more items than this, and the fields of tree nodes, are stored as base64 of their bytes
# (a float64 takes 10.7 characters instead of ~20 and a line of its own in the indented file): a
# forest's or a boosting's node arrays would otherwise make files several times larger.
INLINE_ITEMS = 64


class UntrustedModelError(ValueError):
    """A model file names something the loader does not build (or is not a model file)."""


# The classes a model file may hold, by module: exact names. A module is imported from this table,
# never from a file's text, and only once a file names one of its classes (a logistic regression's
# file does not load the ensembles).
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


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


@cache
def _trusted_class(name: str) -> type:
    """The class of a name in TRUSTED_NAMES (KeyError for any other name)."""
    if name not in TRUSTED_NAMES:
        raise KeyError(name)
    module, _, qualname = name.rpartition(".")
    cls = getattr(importlib.import_module(module), qualname)
    if not isinstance(cls, type) or _qualified(cls) != name:
        raise TypeError(f"{name} is not a class of that name in this environment")
    return cls


def _trusted_classes() -> dict[str, type]:
    """Every class a model file may hold, by name (imports them all)."""
    return {name: _trusted_class(name) for name in sorted(TRUSTED_NAMES)}


@cache
def _record_dtype(name: str) -> np.dtype:
    module, attribute = RECORD_LAYOUTS[name]
    return getattr(importlib.import_module(module), attribute)


# Classes saved by their constructor's arguments, not their attributes: scipy's BSpline keeps a
# function (its array namespace's asarray) among its attributes; the boosting loss keeps a Cython
# object and is fully determined by its class (HistGradientBoostingClassifier predicts through its
# link function, the logit, only).
CONSTRUCTOR_ARGUMENTS = {
    "scipy.interpolate._bsplines.BSpline": ("t", "c", "k", "extrapolate", "axis"),
    "sklearn._loss.loss.HalfBinomialLoss": (),
}
TREE = "sklearn.tree._tree.Tree"
TREE_STATE = ("max_depth", "node_count", "nodes", "values")

# Attributes left out of the file: only fit reads them (prediction never does, proven by the tests'
# identical predictions). Samplers and sampler pipelines kept by imbalanced-learn's ensembles; the
# random generator, scorer, label encoder and per-iteration scores of the boosting; the bin mapper's
# thread count (this machine's, not the model's); forests' and baggings' training sample weights.
DROPPED = {
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier":
        ("_feature_subsample_rng", "_scorer", "_label_encoder", "train_score_", "validation_score_"),
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper": ("n_threads",),
    "sklearn.ensemble._forest.RandomForestClassifier": ("_sample_weight",),
    "imblearn.ensemble._forest.BalancedRandomForestClassifier":
        ("_sample_weight", "samplers_", "pipelines_", "base_sampler_"),
    "imblearn.ensemble._weight_boosting.RUSBoostClassifier": ("samplers_", "pipelines_", "base_sampler_"),
    "imblearn.ensemble._bagging.BalancedBaggingClassifier": ("_sample_weight", "sampler_"),
    "imblearn.ensemble._easy_ensemble.EasyEnsembleClassifier": ("_sample_weight",),
}
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


def _documented_attributes(cls: type) -> set[str]:
    """The names of the Attributes section of a numpydoc class docstring (scikit-learn's fitted-attribute list)."""
    doc = inspect.getdoc(cls) or ""
    section = re.search(r"^Attributes\n-{3,}\n(.*?)(?=^\S[^\n]*\n-{3,}\n|\Z)", doc, re.S | re.M)
    return set(re.findall(r"^(\w+) :", section.group(1), re.M)) if section else set()


@cache
def known_attributes(name: str) -> frozenset[str]:
    """Every attribute a file may set on an object of the trusted class ``name``."""
    cls = _trusted_class(name)
    parameters = {p.name for p in inspect.signature(cls).parameters.values()
                  if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    return frozenset(parameters | _documented_attributes(cls) | COMMON_STATE | set(FITTED_STATE.get(name, ())))


# imbalanced-learn's ensembles keep (sampler, classifier) pipelines as members: stored as the classifier.
UNWRAPPED = frozenset({"imblearn.ensemble._bagging.BalancedBaggingClassifier",
                       "imblearn.ensemble._easy_ensemble.EasyEnsembleClassifier",
                       "imblearn.ensemble._forest.BalancedRandomForestClassifier",
                       "imblearn.ensemble._weight_boosting.RUSBoostClassifier"})

# Types that appear as setting values (OneHotEncoder(dtype=np.float64)), only ever as the value of an attribute
# named ``dtype`` (a type is callable: anywhere else it would be a function from the file); never built from state.
TRUSTED_TYPES = {_qualified(cls): cls for cls in (np.float64, np.float32)}
TRUSTED_DTYPES = re.compile(r"^(\|b1|\|O|<f8|<f4|<i8|<i4|\|i1|\|u1|<u4|<U\d{1,6})$")
BINARY_DTYPES = re.compile(r"^(\|b1|<f8|<f4|<i8|<i4|\|i1|\|u1|<u4)$")  # base64 holds numbers only


def _name(cls: type) -> str:
    name = _qualified(cls)
    if name not in TRUSTED_NAMES or _trusted_class(name) is not cls:
        raise TypeError(f"cannot save an object of type {name}: not one of the classes a model file may hold")
    return name


def _type_name(cls: type) -> str:
    name = _qualified(cls)
    if TRUSTED_TYPES.get(name) is not cls:
        raise TypeError(f"cannot save the type {name}: not one of the types a model file may hold")
    return name


def _round(number: float) -> float:
    return significant(number, SIGNIFICANT_DIGITS)


def _round_decimals(number: float) -> float:
    return decimals(number, SIGNIFICANT_DIGITS)


def _imblearn_pipeline() -> type | None:
    """imbalanced-learn's Pipeline class if it is loaded (if not, no object can be one)."""
    module = sys.modules.get("imblearn.pipeline")
    return None if module is None else module.Pipeline


def _is_sampler(step) -> bool:
    """A resampling step (imbalanced-learn's own test in its Pipeline)."""
    pipeline = _imblearn_pipeline()
    return hasattr(step, "fit_resample") and not (pipeline is not None and isinstance(step, pipeline))


def _prediction_pipeline(pipeline):
    """An imbalanced-learn Pipeline as a scikit-learn Pipeline of its prediction steps (samplers left out)."""
    imblearn_pipeline = _imblearn_pipeline()
    if imblearn_pipeline is None or not isinstance(pipeline, imblearn_pipeline):
        return pipeline
    return PredictionPipeline([(name, step) for name, step in pipeline.steps if not _is_sampler(step)],
                              memory=pipeline.memory, verbose=pipeline.verbose,
                              transform_input=getattr(pipeline, "transform_input", None))


def _member(estimator):
    """An ensemble's member without its sampler: a (sampler, classifier) pipeline is its classifier."""
    pipeline = _prediction_pipeline(estimator)
    if pipeline is not estimator and len(pipeline.steps) == 1:
        return pipeline.steps[0][1]
    return pipeline


def _saved_state(value, name: str) -> dict:
    """What the file holds of an object: its __getstate__, less what only fit reads."""
    state = value.__getstate__()
    state = dict(state) if state is not None else {}
    for key in DROPPED.get(name, ()):
        state.pop(key, None)
    if "n_jobs" in state:  # how many processes this machine used, not part of the model (see LOADED_N_JOBS)
        state["n_jobs"] = None
    if name in UNWRAPPED:
        for key, item in list(state.items()):
            if _is_sampler(item) or (isinstance(item, list) and item and all(_is_sampler(i) for i in item)):
                del state[key]  # a sampler setting or fitted sampler of the ensemble: fit only
            elif isinstance(item, list):
                state[key] = [_member(member) for member in item]
            else:
                state[key] = _member(item)
    return state


def encode_state(value):
    """A fitted prediction path as JSON-ready data: tagged types, no pickle; the floats of
    ROUNDED_CLASSES rounded to SIGNIFICANT_DIGITS. imbalanced-learn Pipelines are stored as
    scikit-learn Pipelines of their steps without samplers."""
    def binary(value: np.ndarray, rounding: bool, round_to=_round):
        little = value.astype(value.dtype.newbyteorder("<"), copy=False)
        if rounding and little.dtype.kind == "f":
            little = np.array([round_to(item) for item in little.ravel().tolist()], dtype=little.dtype)
        return {"__base64__": base64.b64encode(np.ascontiguousarray(little).tobytes()).decode("ascii"),
                "dtype": little.dtype.str, "shape": list(value.shape)}

    def array(value: np.ndarray, rounding: bool):
        if value.dtype.names is not None:  # tree nodes: one binary array per field
            name = next((key for key in RECORD_LAYOUTS if value.dtype == _record_dtype(key)), None)
            if name is None:
                raise TypeError(f"cannot save an array of dtype {value.dtype}: not one of the record layouts a "
                                "model file may hold")
            return {"__records__": name, "fields": {
                field: binary(value[field], rounding and field not in NEVER_ROUNDED_FIELDS,
                              _round_decimals if field in DECIMAL_FIELDS else _round)
                for field in value.dtype.names}}
        if value.dtype.kind in "biuf" and value.size > INLINE_ITEMS:
            return binary(value, rounding)
        items = value.ravel().tolist() if value.dtype != object else list(value.ravel())
        return {"__array__": [encode(item, rounding) for item in items], "dtype": value.dtype.str,
                "shape": list(value.shape)}

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
            return array(value, rounding)
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
            return {"__type__": _type_name(value)}
        value = _prediction_pipeline(value)  # an imbalanced-learn Pipeline: its steps without samplers
        name = _name(type(value))
        rounding = rounding or name in ROUNDED_CLASSES
        if name == TREE:
            constructor, arguments, state = value.__reduce__()
            return {"__object__": name, "args": encode(arguments, rounding), "state": encode(state, rounding)}
        if name in CONSTRUCTOR_ARGUMENTS:
            state = {key: getattr(value, key) for key in CONSTRUCTOR_ARGUMENTS[name]}
        else:
            state = _saved_state(value, name)
        # Attributes in name order: the bytes do not depend on the order fit happened to set them in.
        return {"__object__": name, "state": encode(dict(sorted(state.items())), rounding)}

    return encode(value, False)


def untrusted_names(data) -> list[str]:
    """Every class, type, dtype or record layout in saved ``data`` that the loader would refuse
    (skops' audit)."""
    found = []

    def walk(node):
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for tag, trusted in (("__object__", TRUSTED_NAMES), ("__type__", TRUSTED_TYPES),
                                 ("__records__", RECORD_LAYOUTS)):
                if tag in node and not (isinstance(node[tag], str) and node[tag] in trusted):
                    found.append(str(node[tag]) if tag != "__records__" else f"record layout {node[tag]}")
            if "__dtype__" in node and not TRUSTED_DTYPES.match(str(node["__dtype__"])):
                found.append(f"dtype {node['__dtype__']}")
            if "__array__" in node and not TRUSTED_DTYPES.match(str(node.get("dtype"))):
                found.append(f"dtype {node.get('dtype')}")
            if "__base64__" in node and not BINARY_DTYPES.match(str(node.get("dtype"))):
                found.append(f"dtype {node.get('dtype')}")
            for item in node.values():
                walk(item)

    walk(data)
    return found


def decode_state(data):
    """The inverse of :func:`encode_state`. Refuses (UntrustedModelError) any file naming a class,
    type, dtype or record layout outside the trusted lists, before building anything, and any tree
    whose arrays would make prediction read outside them, before building that tree."""
    try:
        refused = untrusted_names(data)
        if refused:
            raise UntrustedModelError(f"refusing to load {refused[0]!r}: not one of the classes a model file may hold")
        return _decode(data)
    except UntrustedModelError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError, RecursionError) as err:
        raise UntrustedModelError(f"not a saved model state ({type(err).__name__}: {err})") from None


def _shape(data) -> tuple[int, ...]:
    shape = data["shape"]
    if not isinstance(shape, list) or not all(isinstance(size, int) and not isinstance(size, bool) and size >= 0
                                              for size in shape):
        raise ValueError(f"bad array shape {shape!r}")
    return tuple(shape)


def _check_array_size(items, shape: tuple[int, ...], dtype: np.dtype) -> None:
    """Refuses an inline array out of proportion to its items in the file, before it is allocated: a shape
    other than the items' count, or strings stored wider than the longest of them (a 2 KB file of a few
    short strings as '<U999999' would take gigabytes)."""
    if not isinstance(items, list):
        raise ValueError("an array's items must be a list")
    if math.prod(shape) != len(items):
        raise UntrustedModelError(f"refusing to load an array of shape {list(shape)} from {len(items)} items: "
                                  "an array's shape must hold exactly its items")
    if dtype.kind == "U":
        longest = max((len(item) for item in items if isinstance(item, str)), default=0)
        if dtype.itemsize // 4 > max(longest, 1):
            raise UntrustedModelError(f"refusing to load strings of dtype {dtype.str} whose longest is {longest} "
                                      "characters: an array out of proportion to the file")


def _decode(data):
    if isinstance(data, list):
        return [_decode(item) for item in data]
    if not isinstance(data, dict):
        return data
    if "__float__" in data:
        text = data["__float__"]
        if text not in ("nan", "inf", "-inf"):
            raise ValueError(f"bad float {text!r}")
        return float(text)
    if "__array__" in data:
        items, shape, dtype = data["__array__"], _shape(data), np.dtype(data["dtype"])
        _check_array_size(items, shape, dtype)  # before anything is allocated
        items = [_decode(item) for item in items]
        if data["dtype"] == "|O":
            array = np.empty(len(items), dtype=object)
            array[:] = items
            return array.reshape(shape)
        return np.asarray(items, dtype=dtype).reshape(shape)
    if "__base64__" in data:
        dtype, shape = np.dtype(data["dtype"]), _shape(data)
        raw = base64.b64decode(data["__base64__"], validate=True)
        if len(raw) != math.prod(shape) * dtype.itemsize:
            raise ValueError(f"{len(raw)} bytes cannot hold an array of shape {list(shape)} and dtype {dtype}")
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    if "__records__" in data:
        return _decode_records(data)
    if "__tuple__" in data:
        return tuple(_decode(item) for item in data["__tuple__"])
    if "__map__" in data:
        return {_decode(key): _decode(item) for key, item in data["__map__"]}
    if "__slice__" in data:
        start, stop, step = (None if v is None else int(v) for v in data["__slice__"])
        return slice(start, stop, step)
    if "__dtype__" in data:
        return np.dtype(data["__dtype__"])
    if "__type__" in data:
        return TRUSTED_TYPES[data["__type__"]]
    if "__object__" in data:
        return _decode_object(data)
    raise ValueError(f"unknown entry with keys {sorted(data)}")


def _decode_records(data) -> np.ndarray:
    """A structured array of one of the known layouts, from one plain array per field."""
    name = data["__records__"]
    dtype, fields = _record_dtype(name), data["fields"]
    if not isinstance(fields, dict) or sorted(fields) != sorted(dtype.names):
        found = sorted(fields) if isinstance(fields, dict) else type(fields).__name__
        raise UntrustedModelError(f"refusing to load records of {name}: the fields must be exactly "
                                  f"{', '.join(dtype.names)}, got {found}")
    columns = {field: _decode(fields[field]) for field in dtype.names}
    for field, column in columns.items():
        expected = dtype.fields[field][0]
        if not isinstance(column, np.ndarray) or column.dtype != expected or column.ndim != 1:
            found = f"{column.dtype} of {column.ndim} dimensions" if isinstance(column, np.ndarray) else "no array"
            raise UntrustedModelError(f"refusing to load records of {name}: field {field!r} must be a 1-dimensional "
                                      f"array of {expected.str}, got {found}")
    sizes = {len(column) for column in columns.values()}
    if len(sizes) != 1:
        raise UntrustedModelError(f"refusing to load records of {name}: the fields differ in length")
    records = np.zeros(sizes.pop(), dtype=dtype)
    for field, column in columns.items():
        records[field] = column
    return records


def _decode_object(data):
    name = data["__object__"]
    cls = _trusted_class(name)
    extra = set(data) - {"__object__", "state"} - ({"args"} if name == TREE else set())
    if extra:
        raise ValueError(f"unknown keys {sorted(extra)} in the entry of {name}")
    state = _decode(data["state"])
    if not isinstance(state, dict):
        raise ValueError(f"the state of {name} is not a mapping of attribute names")
    if name == TREE:
        arguments = _decode(data["args"])
        _check_tree(arguments, state)
        tree = cls(*arguments)
        tree.__setstate__(state)
        return tree
    if name in CONSTRUCTOR_ARGUMENTS:
        if set(state) != set(CONSTRUCTOR_ARGUMENTS[name]):
            raise ValueError(f"{name} needs exactly the arguments {', '.join(CONSTRUCTOR_ARGUMENTS[name]) or '(none)'}")
        _check_values(name, state)
        return cls(**state)
    for key in state:  # data attributes only: none may shadow a method or property of the class
        if not isinstance(key, str) or not key.isidentifier() or hasattr(cls, key) or \
                key in REFUSED_ATTRIBUTES.get(name, ()):
            raise UntrustedModelError(f"refusing to load {name} with the attribute {key!r}: "
                                      "not a data attribute of that class")
    unknown = sorted(set(state) - known_attributes(name))
    if unknown:
        raise UntrustedModelError(f"refusing to load {name} with the attribute {unknown[0]!r}: not one of the "
                                  "attributes that class is built or fitted with")
    _check_values(name, state)
    check = CHECKS.get(name)
    if check is not None:
        problem = check(state)
        if problem:
            raise UntrustedModelError(f"refusing to load {name}: {problem}")
    value = cls.__new__(cls)
    if hasattr(value, "__setstate__"):  # the class's own restore (reviewed: tests/unit/test_modelfile.py)
        value.__setstate__(state)
    else:
        vars(value).update(state)
    return value


# --- checks of every object's values, before it is built ------------------------------------
#
# No callable comes from a file: a type (the only callable a file can name besides the classes' own parts)
# only as the value of a ``dtype`` attribute, and of the trusted objects only the two that are callable by
# design where their class keeps them (the boosting's loss, a spline transformer's splines). No saved n_jobs
# decides how many processes run: the train stage writes null, and anything but null or 1 is refused. Every
# float a fitted object holds is finite (coefficients, intercepts, split thresholds, leaf values, baselines,
# calibrations), but for the missing-value markers of the imputer; a constructor parameter is left to the
# class's own checks. A binary model predicts classes [0, 1], in that order, from one output.

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


def _leaves(value):
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
            if value.dtype.fields[field][0].kind == "f" and not np.isfinite(value[field]).all():
                return f"node {int(np.flatnonzero(~np.isfinite(value[field]))[0])}'s {field}"
        return None
    if isinstance(value, np.ndarray) and value.dtype.kind in "fc" and not np.isfinite(value).all():
        return f"item {np.argwhere(~np.isfinite(value))[0].tolist()} of its {value.dtype} array"
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        return repr(float(value))
    return None


def _is_classes(value) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind in "iuf" and value.shape == (2,) and \
        value[0] == 0 and value[1] == 1


def _describe(value) -> str:
    if isinstance(value, type):
        return _qualified(value)
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array of shape {list(value.shape)}" if value.size > 4 else \
            f"{value.tolist()!r} ({value.dtype})"
    if value is None or isinstance(value, (bool, int, float, str, list, tuple, dict, np.generic)):
        return repr(value)
    return f"a {_qualified(type(value))} object"


def _check_values(name: str, state: Mapping) -> None:
    """Refuses (UntrustedModelError) a state with a callable, a non-finite fitted number, a saved n_jobs or a
    class count other than a binary model's."""
    cls = _trusted_class(name)
    parameters = set(cls._get_param_names()) if hasattr(cls, "_get_param_names") else set()

    def refuse(problem):
        raise UntrustedModelError(f"refusing to load {name}: {problem}")

    for key, value in state.items():
        allowed = CALLABLE_PARTS.get((name, key))
        for leaf in _leaves(value):
            if key == "dtype" and leaf is value and isinstance(leaf, type) and leaf in TRUSTED_TYPES.values():
                continue
            if callable(leaf) and not (allowed and _qualified(type(leaf)) == allowed):
                hint = " (its func and inverse_func must be null)" if name.endswith(".FunctionTransformer") else ""
                refuse(f"its attribute {key!r} holds the callable {_describe(leaf)}: a model file holds no "
                       f"functions{hint}")
            where = None if key in parameters or (name, key) in NON_FINITE_ALLOWED else _non_finite(leaf)
            if where:
                refuse(f"its attribute {key!r} is not finite (NaN or infinite) at {where}: a fitted model's "
                       "numbers are finite")
        if key == "n_jobs" and not any(value is allowed for allowed in LOADED_N_JOBS) and \
                not (_count(value) and value == 1):
            refuse(f"its n_jobs is {value!r}: a model file's n_jobs must be null (how many processes prediction "
                   "starts is not the file's to decide)")
        if key in ("classes_", "classes") and value is not None and not _is_classes(value):
            refuse(f"its {key} must be [0, 1] (a binary model's classes, in that order), got {_describe(value)}")
        if key in BINARY_COUNTS and value != BINARY_COUNTS[key]:
            refuse(f"its {key} must be {BINARY_COUNTS[key]} (a binary model with one output), got {_describe(value)}")
        if key == "n_features_in_" and not (_count(value) and value >= 1):
            refuse(f"its n_features_in_ must be a positive whole number, got {_describe(value)}")
    names, count = state.get("feature_names_in_"), state.get("n_features_in_")
    if names is not None and not (isinstance(names, np.ndarray) and names.shape == (count,)
                                  and all(isinstance(item, str) for item in names)):
        refuse(f"its feature_names_in_ must be the names of its {count} features, got {_describe(names)}")


# --- checks of tree arrays, before a tree is built ---------------------------------------
#
# Tree prediction runs in Cython without bounds checks: it starts at node 0, follows child indices
# until a leaf and reads the row's value of each node's feature. A file could make it read outside
# its arrays (a child index out of range, a feature beyond the row) or loop (a child pointing back).
# So: every child index of a split node lies after the node and inside the array, every leaf is
# marked as one, and every split's feature is a column the estimator checks each row has.


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_nodes(left, right, internal) -> str | None:
    count, index = len(left), np.arange(len(left))
    for side, children in (("left", left), ("right", right)):
        bad = internal & ((children <= index) | (children >= count))
        if bad.any():
            node = int(np.flatnonzero(bad)[0])
            return (f"node {node}'s {side} child is {int(children[node])}: a split's children must come after it "
                    f"and before the end of the {count} nodes")
    return None


def _check_tree(arguments, state) -> None:
    """Refuses (UntrustedModelError) a Tree whose constructor arguments or state do not describe a tree."""
    from sklearn.tree._tree import NODE_DTYPE, TREE_LEAF

    def refuse(problem):
        raise UntrustedModelError(f"refusing to load {TREE}: {problem}")

    if not isinstance(arguments, tuple) or len(arguments) != 3:
        refuse("its arguments must be (n_features, n_classes, n_outputs)")
    n_features, n_classes, n_outputs = arguments
    if not _count(n_features) or n_features < 1 or not _count(n_outputs) or n_outputs < 1:
        refuse("n_features and n_outputs must be positive integers")
    if not isinstance(n_classes, np.ndarray) or n_classes.dtype != np.intp or n_classes.shape != (n_outputs,) \
            or (n_classes < 1).any():
        refuse("n_classes must hold a positive class count per output")
    if n_outputs != 1 or n_classes[0] != 2:
        refuse(f"a binary model's tree has one output of 2 classes, got {n_outputs} of {n_classes.tolist()}")
    if set(state) != set(TREE_STATE):
        refuse(f"its state must hold exactly {', '.join(TREE_STATE)}")
    nodes, values, node_count, max_depth = state["nodes"], state["values"], state["node_count"], state["max_depth"]
    if not isinstance(nodes, np.ndarray) or nodes.dtype != NODE_DTYPE or nodes.ndim != 1 or len(nodes) < 1:
        refuse("'nodes' must be a non-empty array of scikit-learn's tree nodes")
    if not _count(node_count) or node_count != len(nodes):
        refuse(f"node_count must be the number of nodes, {len(nodes)}")
    if not _count(max_depth) or not 0 <= max_depth < len(nodes):
        refuse("max_depth must be a depth the nodes can reach")
    expected = (len(nodes), n_outputs, int(n_classes.max()))
    if not isinstance(values, np.ndarray) or values.dtype != np.float64 or values.shape != expected:
        refuse(f"'values' must be a float64 array of shape {expected}")
    fields = [(field, nodes[field]) for field in nodes.dtype.names if nodes.dtype.fields[field][0].kind == "f"]
    for field, array in [*fields, ("value", values.reshape(len(nodes), -1))]:  # split thresholds, leaf values...
        bad = ~np.isfinite(array) if array.ndim == 1 else ~np.isfinite(array).all(axis=1)
        if bad.any():
            refuse(f"node {int(np.flatnonzero(bad)[0])}'s {field} is not finite (NaN or infinite)")
    left, right, feature = nodes["left_child"], nodes["right_child"], nodes["feature"]
    leaf = left == TREE_LEAF
    if ((right == TREE_LEAF) != leaf).any():
        refuse(f"node {int(np.flatnonzero((right == TREE_LEAF) != leaf)[0])} has one child only")
    problem = _check_nodes(left, right, ~leaf)
    if problem:
        refuse(problem)
    bad = ~leaf & ((feature < 0) | (feature >= n_features))
    if bad.any():
        node = int(np.flatnonzero(bad)[0])
        refuse(f"node {node} splits on feature {int(feature[node])}, outside the tree's {n_features} features")


def _check_tree_predictor(state) -> str | None:
    from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE

    if set(state) != {"nodes", "binned_left_cat_bitsets", "raw_left_cat_bitsets"}:
        return "its state must hold exactly nodes, binned_left_cat_bitsets and raw_left_cat_bitsets"
    nodes = state["nodes"]
    if not isinstance(nodes, np.ndarray) or nodes.dtype != PREDICTOR_RECORD_DTYPE or nodes.ndim != 1 or not len(nodes):
        return "'nodes' must be a non-empty array of the boosting's tree nodes"
    for key in ("binned_left_cat_bitsets", "raw_left_cat_bitsets"):
        bitsets = state[key]
        if not isinstance(bitsets, np.ndarray) or bitsets.dtype != np.uint32 or bitsets.ndim != 2 \
                or bitsets.shape[1] != 8:
            return f"{key!r} must be a uint32 array of 8 columns"
    internal = nodes["is_leaf"] == 0
    if (internal & (nodes["is_categorical"] != 0)).any():
        return "categorical splits are not supported in model files"
    problem = _check_nodes(nodes["left"].astype(np.int64), nodes["right"].astype(np.int64), internal)
    if problem:
        return problem
    if (internal & (nodes["feature_idx"] < 0)).any():
        return "a split's feature index is negative"
    return None


def _n_features(state) -> int | None:
    count = state.get("n_features_in_")
    return count if _count(count) and count >= 1 else None


def _check_decision_tree(state) -> str | None:
    from sklearn.tree._tree import Tree

    tree, count = state.get("tree_"), _n_features(state)
    if tree is None:
        return None  # unfitted (a setting of an ensemble)
    if not isinstance(tree, Tree) or count is None or tree.n_features != count:
        return "its tree_ must be a tree over its n_features_in_ features"
    if state.get("n_outputs_") != tree.n_outputs:
        return "n_outputs_ must be its tree's number of outputs"
    return None


def _check_forest(state) -> str | None:
    """A forest checks each row's width once, then calls its trees without checking (check_input=False)."""
    from sklearn.tree import DecisionTreeClassifier

    trees, count = state.get("estimators_"), _n_features(state)
    if trees is None:
        return None
    if not isinstance(trees, list) or not trees or count is None or \
            not all(type(tree) is DecisionTreeClassifier and getattr(tree, "n_features_in_", None) == count
                    for tree in trees):
        return "estimators_ must be decision trees over the forest's n_features_in_ features"
    return None


def _check_histogram_boosting(state) -> str | None:
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

    predictors, count = state.get("_predictors"), _n_features(state)
    if predictors is None:
        return None
    if state.get("_preprocessor") is not None:
        return "_preprocessor must be None (categorical features are not supported in model files)"
    if not isinstance(predictors, list) or count is None or \
            not all(isinstance(trees, list) and all(isinstance(tree, TreePredictor) for tree in trees)
                    for trees in predictors):
        return "_predictors must be lists of tree predictors and n_features_in_ a positive integer"
    for trees in predictors:
        for tree in trees:
            internal = tree.nodes["is_leaf"] == 0
            if (internal & (tree.nodes["feature_idx"] >= count)).any():
                return f"a tree splits on a feature outside its {count} features"
    return None


def _array(value, shape: tuple, kinds: str = "f") -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind in kinds and value.shape == shape


def _check_logistic(state) -> str | None:
    count = _n_features(state)
    if "coef_" not in state:
        return None  # unfitted (a setting)
    if not _array(state["coef_"], (1, count)):
        return f"its coef_ must be a float array of shape [1, {count}] (n_features_in_ {count}), got " \
               f"{_describe(state['coef_'])}"
    if not _array(state.get("intercept_"), (1,)):
        return f"its intercept_ must be a float array of shape [1], got {_describe(state.get('intercept_'))}"
    return None


def _check_scaler(state) -> str | None:
    count = _n_features(state)
    for key in ("mean_", "var_", "scale_"):
        value = state.get(key)
        if value is not None and not _array(value, (count,)):
            return f"its {key} must be a float array of shape [{count}] (n_features_in_), got {_describe(value)}"
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
               f"{_describe(state.get('_baseline_prediction'))}"
    if state.get("is_categorical_") is not None or state.get("_n_features") != state.get("n_features_in_"):
        return "its is_categorical_ must be null and _n_features its n_features_in_"
    if not all(isinstance(trees, list) and len(trees) == 1 for trees in state["_predictors"]):
        return "each iteration of a binary model's _predictors holds one tree"
    mapper = state.get("_bin_mapper")
    categorical = getattr(mapper, "is_categorical_", None)
    if categorical is not None and (not isinstance(categorical, np.ndarray) or categorical.any()):
        return "its _bin_mapper's is_categorical_ must be null (categorical features are not supported)"
    return _check_histogram_boosting(state)


def _members(state, members, count) -> str | None:
    if not isinstance(members, list) or not members or \
            not all(getattr(member, "n_features_in_", None) == count for member in members):
        return f"estimators_ must be fitted classifiers over its {count} features"
    return None


def _check_boosting(state) -> str | None:
    """AdaBoost and RUSBoost: the estimators' probabilities weighted by estimator_weights_, divided by their sum."""
    if "estimators_" not in state:
        return None
    members, weights = state["estimators_"], state.get("estimator_weights_")
    problem = _members(state, members, _n_features(state))
    if problem:
        return problem
    if not (isinstance(weights, np.ndarray) and weights.dtype.kind == "f" and weights.ndim == 1
            and len(weights) >= len(members) and (weights >= 0).all() and weights.sum() > 0):
        return f"its estimator_weights_ must be non-negative weights of its {len(members)} estimators with a " \
               f"positive sum, got {_describe(weights)}"
    return None


def _check_bagging(state) -> str | None:
    """EasyEnsemble and BalancedBagging: each member sees the columns estimators_features_ names; the sum of
    their probabilities is divided by n_estimators."""
    if "estimators_" not in state:
        return None
    members, features, count = state["estimators_"], state.get("estimators_features_"), _n_features(state)
    if not isinstance(members, list) or not members or not isinstance(features, list) or \
            len(features) != len(members) or state.get("n_estimators") != len(members):
        return "estimators_, estimators_features_ and n_estimators must count the same members"
    for member, columns in zip(members, features):
        if not (isinstance(columns, np.ndarray) and columns.dtype.kind in "iu" and columns.ndim == 1
                and ((columns >= 0) & (columns < (count or 0))).all()
                and getattr(member, "n_features_in_", None) == len(columns)):
            return f"estimators_features_ must name columns of its {count} features, one per column of each member"
    return None


def _check_forest_count(state) -> str | None:
    problem = _check_forest(state)
    if problem or state.get("estimators_") is None:
        return problem
    if state.get("n_estimators") != len(state["estimators_"]):
        return "n_estimators must be the number of its estimators_"
    return None


def _unit_interval(value) -> bool:
    return isinstance(value, (float, np.floating)) and 0 < value < 1


def _check_prior(state) -> str | None:
    if "estimator_" not in state:
        return None
    for key in ("prior", "fitted_rate_"):
        if not _unit_interval(state.get(key)):
            return f"its {key} must be a share between 0 and 1 (exclusive), got {_describe(state.get(key))}"
    if getattr(state["estimator_"], "n_features_in_", None) != state.get("n_features_in_"):
        return "its estimator_ must be fitted on its n_features_in_ features"
    return None


def _check_calibrated(state) -> str | None:
    if state.get("method") not in ("sigmoid", "isotonic"):
        return f"its method must be sigmoid or isotonic, got {_describe(state.get('method'))}"
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
        return f"its out_of_bounds must be 'clip' (as calibration fits it), got {_describe(state.get('out_of_bounds'))}"
    return None


def _check_bins(state) -> str | None:
    if "bin_edges_" not in state:
        return None
    edges, bins, count = state["bin_edges_"], state.get("n_bins_"), _n_features(state)
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
    categories, count = state["categories_"], _n_features(state)
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
    splines, count = state["bsplines_"], _n_features(state)
    if not isinstance(splines, list) or len(splines) != count or not all(type(b) is BSpline for b in splines):
        return f"its bsplines_ must hold one spline per feature ({count})"
    widths = {b.c.shape[1] if b.c.ndim == 2 else -1 for b in splines}
    if len(widths) != 1 or state.get("n_features_out_") != count * widths.pop() or \
            any(b.k != state.get("degree") for b in splines):
        return "its n_features_out_ and degree must match its splines"
    return None


def _check_imputer(state) -> str | None:
    statistics, count = state.get("statistics_"), _n_features(state)
    if statistics is not None and not (isinstance(statistics, np.ndarray) and statistics.shape == (count,)):
        return f"its statistics_ must hold one value per feature ({count})"
    return None


def _check_function(state) -> str | None:
    for key in ("func", "inverse_func", "kw_args", "inv_kw_args"):
        if state.get(key) is not None:
            return f"its {key} must be null (a model file holds no functions), got {_describe(state[key])}"
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


CHECKS = {
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
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor": _check_tree_predictor,
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier":
        _check_boosting_parts,
    "sklearn.tree._classes.DecisionTreeClassifier": _check_decision_tree,
    "sklearn.ensemble._forest.RandomForestClassifier": _check_forest_count,
    "imblearn.ensemble._forest.BalancedRandomForestClassifier": _check_forest_count,
}


# --- the model file --------------------------------------------------------------------


def prediction_model(estimator):
    """The fitted prediction path of a fitted strategy (possibly threshold-tuned): a Pipeline of its
    steps without samplers, or a CalibratedClassifierCV whose calibrated classifiers' pipelines have
    no samplers. Shares the fitted steps (only the containers are copied)."""
    import copy

    fitted = fitted_pipeline(estimator)  # through TunedThresholdClassifierCV
    if _qualified(type(fitted)) != CALIBRATED:
        return _prediction_pipeline(fitted)
    calibrated = copy.copy(fitted)
    calibrated.estimator = _prediction_pipeline(fitted.estimator)
    calibrated.calibrated_classifiers_ = []
    for member in fitted.calibrated_classifiers_:
        member = copy.copy(member)
        member.estimator = _prediction_pipeline(member.estimator)
        calibrated.calibrated_classifiers_.append(member)
    return calibrated


def _pipeline_problem(pipeline) -> str | None:
    steps = getattr(pipeline, "steps", None)
    if not isinstance(pipeline, PredictionPipeline) or not isinstance(steps, list) or not steps or \
            not all(isinstance(step, tuple) and len(step) == 2 and isinstance(step[0], str)
                    and hasattr(step[1], "get_params") for step in steps):
        return f"{type(pipeline).__name__} is not a pipeline of named steps"
    last = steps[-1][1]
    inner = getattr(last, "estimator_", None) if isinstance(last, PriorShiftCorrected) else last
    if _qualified(type(inner)) not in CLASSIFIERS:
        return f"its last step is {type(inner).__name__}"
    return None


def _classifier_problem(model) -> str | None:
    """Why ``model`` is not a prediction path a model file may hold (None if it is one)."""
    if _qualified(type(model)) != CALIBRATED:
        return _pipeline_problem(model)
    members = getattr(model, "calibrated_classifiers_", None)
    if not isinstance(members, list) or not members:
        return "the CalibratedClassifierCV holds no calibrated classifiers"
    for member in members:
        if _qualified(type(member)) != CALIBRATED_MEMBER:
            return f"a calibrated classifier is a {type(member).__name__}"
        problem = _pipeline_problem(getattr(member, "estimator", None))
        if problem:
            return problem
        calibrators = getattr(member, "calibrators", None)
        if not isinstance(calibrators, list) or not calibrators or \
                not all(_qualified(type(calibrator)) in CALIBRATORS for calibrator in calibrators):
            return "a calibrated classifier's calibrators are not sigmoid or isotonic calibrations"
    return None


def _expected_shape() -> str:
    classifiers = ", ".join(name.rpartition(".")[2] for name in CLASSIFIERS)
    return (f"a pipeline of named steps ending in one of {classifiers} (or PriorShiftCorrected of one), "
            "or a CalibratedClassifierCV of such pipelines")


# --- what a model file is: its identity ------------------------------------------------------
#
# A file names its cell, its classifier class and a digest of the settings it was trained with (sha256 of the
# canonical JSON of the strategy's and classifier's parsed settings and the seed, as the train stage fits the
# cell with them). Each stage that loads a model computes the same from params.yaml and refuses a file that
# says something else: another cell's model copied to this cell's path, or one trained before params.yaml
# changed.

IDENTITY_KEYS = ("cell", "classifier", "settings")


def _canonical(value):
    """JSON-ready data of fixed form: mappings with string keys (sorted when dumped), tuples as lists."""
    if isinstance(value, Mapping):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(item) for item in value]
    return value


def settings_digest(strategy, classifier) -> str:
    """sha256 of the canonical JSON of a cell's settings (params.StrategySettings, params.ClassifierSettings)
    and the seed."""
    from dataclasses import asdict

    settings = {"strategy": asdict(strategy), "classifier": asdict(classifier), "seed": strategy.seed}
    text = json.dumps(_canonical(settings), sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=repr)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def model_identity(strategy, classifier) -> dict:
    """What the model file of a cell says it is: ``{"cell", "classifier", "settings"}``."""
    from imbalance_lab.settings.params import cell_name

    return {"cell": cell_name(strategy.name, classifier.name),
            "classifier": FULL_NAMES[classifier.classifier],
            "settings": settings_digest(strategy, classifier)}


def _classifier_of(model) -> str:
    """The full class name of the classifier at the end of a prediction path (checked by _classifier_problem)."""
    pipeline = model.calibrated_classifiers_[0].estimator if _qualified(type(model)) == CALIBRATED else model
    last = pipeline.steps[-1][1]
    return _qualified(type(last.estimator_ if isinstance(last, PriorShiftCorrected) else last))


def _short(identity: Mapping) -> str:
    return f"cell {identity['cell']} ({str(identity['classifier']).rpartition('.')[2]}, settings " \
           f"{str(identity['settings'])[:12]})"


def _check_identity(found, expected: Mapping | None) -> None:
    if found is None and expected is None:
        return
    if not isinstance(found, Mapping) or sorted(found) != sorted(IDENTITY_KEYS) or \
            not all(isinstance(found[key], str) for key in IDENTITY_KEYS):
        raise UntrustedModelError("not a saved model: 'identity' must say its cell, classifier and settings digest")
    if expected is None or dict(found) == dict(expected):
        return
    if (found["cell"], found["classifier"]) == (expected["cell"], expected["classifier"]):
        raise UntrustedModelError(
            f"this model of {_short(found)} was trained with other settings than params.yaml now gives its cell "
            f"(settings {expected['settings'][:12]}): the strategy's or classifier's settings or the seed changed "
            "since")
    raise UntrustedModelError(f"this model file is {_short(found)}, expected {_short(expected)}")


def _output_width(step) -> int | None:
    """How many columns a fitted preprocessing step passes on (None: not known without data)."""
    name, count = _qualified(type(step)), getattr(step, "n_features_in_", None)
    if isinstance(step, PredictionPipeline):
        return _output_width(step.steps[-1][1])
    if name in ("sklearn.preprocessing._data.StandardScaler",
                "sklearn.preprocessing._function_transformer.FunctionTransformer"):
        return count
    if name == "sklearn.preprocessing._discretization.KBinsDiscretizer":
        return int(sum(step.n_bins_))
    if name == "sklearn.preprocessing._encoders.OneHotEncoder":
        return int(sum(step._n_features_outs))
    if name == "sklearn.preprocessing._polynomial.SplineTransformer":
        return step.n_features_out_
    if name == "sklearn.compose._column_transformer.ColumnTransformer":
        widths = [_output_width(part) for _, part, columns in step.transformers_ if part != "drop" and columns]
        return None if None in widths else sum(widths)
    return None


def _width_problem(model, names: list[str]) -> str | None:
    """Why the steps' fitted widths do not chain from the file's feature names to the classifier (None if they do)."""
    pipelines = [model] if isinstance(model, PredictionPipeline) else \
        [member.estimator for member in model.calibrated_classifiers_]
    if not isinstance(model, PredictionPipeline) and getattr(model, "n_features_in_", len(names)) != len(names):
        return f"the CalibratedClassifierCV is fitted on {model.n_features_in_} features, not the {len(names)} named"
    for pipeline in pipelines:
        first = pipeline.steps[0][1]
        fitted_names = getattr(first, "feature_names_in_", None)
        if fitted_names is not None and list(fitted_names) != names:
            return f"its first step is fitted on the columns {list(fitted_names)}, not the {names} the file names"
        width, source = len(names), f"the {len(names)} feature names"
        for step_name, step in pipeline.steps:
            count = getattr(step, "n_features_in_", None)
            if width is not None and count is not None and count != width:
                return f"step {step_name!r} ({type(step).__name__}) is fitted on {count} features, but {source} " \
                       f"give it {width}"
            width, source = _output_width(step), f"step {step_name!r}"
    return None


def model_to_dict(estimator, feature_names, converged: bool, identity: Mapping | None = None) -> dict:
    """The fitted prediction path (samplers left out: they only act during fit), the floats of
    ROUNDED_CLASSES and the threshold rounded; ``identity`` (model_identity()) says what it is, and every
    stage's loader requires it (the train stage always gives it)."""
    model = prediction_model(estimator)
    saved = encode_state(model)
    problem = _classifier_problem(model)
    if problem:
        raise TypeError(f"cannot save {type(model).__name__}: {problem}; a model file holds {_expected_shape()}")
    if identity is not None:
        identity = {key: identity[key] for key in IDENTITY_KEYS}
        if identity["classifier"] != _classifier_of(model):
            raise TypeError(f"cannot save a {_classifier_of(model)} as {_short(identity)}")
    threshold = tuned_threshold(estimator)
    return {
        "format": FORMAT,
        "identity": identity,
        "feature_names": [str(name) for name in feature_names],
        "pipeline": saved,
        "threshold": None if threshold is None else _round(threshold),
        "converged": converged,
    }


def model_from_dict(data: Mapping, expected: Mapping | None = None):
    """A scikit-learn Pipeline (or CalibratedClassifierCV) that predicts like the saved one; its tuned
    threshold, if any, is in the ``tuned_threshold`` attribute (None when the strategy uses the fixed
    one). ``expected`` is model_identity() of the cell the caller loads: a file that says it is anything
    else (or nothing) is refused. Anything that is not a model file of this format is an UntrustedModelError."""
    found = data.get("format") if isinstance(data, Mapping) else type(data).__name__
    if found != FORMAT:
        if isinstance(found, str) and found.startswith(FORMAT_PREFIX):
            raise UntrustedModelError(f"a saved model of the older format {found!r}, not {FORMAT}: rerun its "
                                      "train stage (`dvc repro`)")
        raise UntrustedModelError(f"not a saved model of format {FORMAT}: got {found!r}")
    extra = set(data) - {"format", "identity", "feature_names", "pipeline", "threshold", "converged"}
    if extra:
        raise UntrustedModelError(f"not a saved model: unknown keys {sorted(extra)}")
    if expected is not None and data.get("identity") is None:
        raise UntrustedModelError(f"not a saved model of {_short(expected)}: it does not say what it is "
                                  "(cell, classifier, settings)")
    _check_identity(data.get("identity"), expected)  # before anything is built
    model = decode_state(data.get("pipeline"))
    threshold, names = data.get("threshold"), data.get("feature_names")
    problem = _classifier_problem(model)
    if problem:
        raise UntrustedModelError(f"not a saved model: 'pipeline' is not {_expected_shape()} ({problem})")
    identity = data.get("identity")
    if identity is not None and identity["classifier"] != _classifier_of(model):
        raise UntrustedModelError(f"this model file says it is {_short(identity)} but holds a "
                                  f"{_classifier_of(model).rpartition('.')[2]}")
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))
                                  or not 0 <= threshold <= 1):
        raise UntrustedModelError(f"not a saved model: 'threshold' must be a number from 0 to 1, got {threshold!r}")
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise UntrustedModelError("not a saved model: 'feature_names' must be a list of column names")
    problem = _width_problem(model, names)
    if problem:
        raise UntrustedModelError(f"refusing to load the model: {problem}")
    if isinstance(model, PredictionPipeline):
        first = model.steps[0][1]
        if not hasattr(first, "feature_names_in_"):  # the pipeline reads the column names there
            first.feature_names_in_ = np.asarray(names, dtype=object)
    elif not hasattr(model, "feature_names_in_"):
        model.feature_names_in_ = np.asarray(names, dtype=object)
    model.tuned_threshold = threshold
    return model


# --- a cell that cannot be fitted -----------------------------------------------------------------------
#
# When the cell's classifier itself fails to fit (a ValueError raised inside its fit, e.g. RUSBoost's "worse
# than random" on an imbalanced fold), the train stage writes this record at the model's path instead of a
# model: the cell, its classifier and settings (the same identity as a model's, checked the same way), the
# estimator's message and when it failed. It is as untrusted as a model file: exact keys, the identity, a
# reason of printable text within REASON_LENGTH characters, and one of DURING; nothing else is accepted.

NOT_FITTABLE_FORMAT = "imbalance-lab/not-fittable/v1"
DURING = ("the final fit on the training split", "cross-validation", "the cost threshold's inner folds",
          "building the classifier")  # the last: a strategy's class_weight the classifier has not (nothing fitted)
REASON_LENGTH = 1000
NOT_FITTABLE_KEYS = ("format", "identity", "reason", "during")


@dataclass(frozen=True)
class NotFittable:
    """A cell whose classifier could not be fitted: why (the estimator's message) and during what."""

    cell: str
    reason: str
    during: str

    def report(self) -> dict:
        """What each of the cell's report files holds instead of its results."""
        return {"not_fittable": {"reason": self.reason, "during": self.during}}


def _printable_reason(reason: str) -> str:
    """The estimator's message on one line (runs of white space as one space), at most REASON_LENGTH characters;
    control characters and the like written as escapes (settings.text.printable)."""
    from imbalance_lab.settings.text import printable

    text = printable(" ".join(str(reason).split()))
    return text if len(text) <= REASON_LENGTH else text[: REASON_LENGTH - 1] + "…"


def not_fittable_to_dict(identity: Mapping, reason: str, during: str) -> dict:
    """The record the train stage writes at a cell's model path when its classifier cannot be fitted."""
    if during not in DURING:
        raise ValueError(f"during must be one of {DURING}, got {during!r}")
    return {"format": NOT_FITTABLE_FORMAT, "identity": {key: identity[key] for key in IDENTITY_KEYS},
            "reason": _printable_reason(reason), "during": during}


def is_not_fittable(data) -> bool:
    """The file says it is a not-fittable record (whether it is a sound one is not_fittable_from_dict's to say)."""
    return isinstance(data, Mapping) and data.get("format") == NOT_FITTABLE_FORMAT


def not_fittable_from_dict(data: Mapping, expected: Mapping | None = None) -> NotFittable:
    """The not-fittable record of the cell ``expected`` (model_identity()) names, checked as strictly as a model
    file: anything else is an UntrustedModelError."""
    from imbalance_lab.settings.text import UNPRINTABLE

    if not is_not_fittable(data):
        found = data.get("format") if isinstance(data, Mapping) else type(data).__name__
        raise UntrustedModelError(f"not a not-fittable record of format {NOT_FITTABLE_FORMAT}: got {found!r}")
    if sorted(data) != sorted(NOT_FITTABLE_KEYS):
        raise UntrustedModelError(f"not a not-fittable record: its keys must be exactly {list(NOT_FITTABLE_KEYS)}, "
                                  f"got {sorted(map(str, data))}")
    if data["identity"] is None:
        raise UntrustedModelError("not a not-fittable record: it does not say what it is (cell, classifier, settings)")
    _check_identity(data["identity"], expected)
    reason, during = data["reason"], data["during"]
    if not isinstance(reason, str) or not reason.strip() or len(reason) > REASON_LENGTH or UNPRINTABLE.search(reason):
        raise UntrustedModelError(f"not a not-fittable record: 'reason' must be printable text of 1 to {REASON_LENGTH} "
                                  "characters on one line")
    if during not in DURING:
        raise UntrustedModelError(f"not a not-fittable record: 'during' must be one of {list(DURING)}")
    return NotFittable(data["identity"]["cell"], reason, during)

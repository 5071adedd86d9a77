"""A fitted prediction path as JSON-ready data: tagged types, no pickle, the same bytes on every CPU.

One serialiser for every object: its class name and its state, the state being what the class's own
__getstate__ returns (its ``__dict__``, plus ``_sklearn_version`` for scikit-learn classes), less attributes
only fit reads (DROPPED: samplers, random generators, fit scores); it is restored through the class's own
__setstate__ (IsotonicRegression rebuilds its interpolation function there). A few classes are stored
differently: by constructor arguments (trust.CONSTRUCTOR_ARGUMENTS) or, for the Cython tree, as its
constructor arguments and __getstate__ dict (structured node arrays are stored field by field). Arrays are
nested lists with their dtype, or, above INLINE_ITEMS items and for tree node fields, base64 of their
little-endian bytes. Only classes trust.TRUSTED_NAMES lists are saved: anything else is a TypeError.
"""

from __future__ import annotations

import base64
import copy
import math
import sys
from collections.abc import Callable

import numpy as np
from sklearn.pipeline import Pipeline as PredictionPipeline

from imbalance_lab.data.rounding import decimals, significant
from imbalance_lab.models.estimators import fitted_pipeline
from imbalance_lab.persistence.trust import (
    CALIBRATED,
    CONSTRUCTOR_ARGUMENTS,
    RECORD_LAYOUTS,
    TREE,
    TRUSTED_NAMES,
    TRUSTED_TYPES,
    qualified,
    record_dtype,
    trusted_class,
)

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
# imbalanced-learn's ensembles keep (sampler, classifier) pipelines as members: stored as the classifier.
UNWRAPPED = frozenset({"imblearn.ensemble._bagging.BalancedBaggingClassifier",
                       "imblearn.ensemble._easy_ensemble.EasyEnsembleClassifier",
                       "imblearn.ensemble._forest.BalancedRandomForestClassifier",
                       "imblearn.ensemble._weight_boosting.RUSBoostClassifier"})


def _round(number: float) -> float:
    return significant(number, SIGNIFICANT_DIGITS)


def _round_decimals(number: float) -> float:
    return decimals(number, SIGNIFICANT_DIGITS)


# --- the prediction path: samplers left out ----------------------------------------------------------


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


def prediction_model(estimator):
    """The fitted prediction path of a fitted strategy (possibly threshold-tuned): a Pipeline of its
    steps without samplers, or a CalibratedClassifierCV whose calibrated classifiers' pipelines have
    no samplers. Shares the fitted steps (only the containers are copied)."""
    fitted = fitted_pipeline(estimator)  # through TunedThresholdClassifierCV
    if qualified(type(fitted)) != CALIBRATED:
        return _prediction_pipeline(fitted)
    calibrated = copy.copy(fitted)
    calibrated.estimator = _prediction_pipeline(fitted.estimator)
    calibrated.calibrated_classifiers_ = []
    for member in fitted.calibrated_classifiers_:
        member = copy.copy(member)
        member.estimator = _prediction_pipeline(member.estimator)
        calibrated.calibrated_classifiers_.append(member)
    return calibrated


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
    if "n_jobs" in state:  # how many processes this machine used, not part of the model (see checks.LOADED_N_JOBS)
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


# --- values as JSON-ready data ------------------------------------------------------------------------


def _name(cls: type) -> str:
    name = qualified(cls)
    if name not in TRUSTED_NAMES or trusted_class(name) is not cls:
        raise TypeError(f"cannot save an object of type {name}: not one of the classes a model file may hold")
    return name


def _type_name(cls: type) -> str:
    name = qualified(cls)
    if TRUSTED_TYPES.get(name) is not cls:
        raise TypeError(f"cannot save the type {name}: not one of the types a model file may hold")
    return name


def _binary(value: np.ndarray, rounding: bool, round_to: Callable[[float], float] = _round) -> dict:
    """An array as base64 of its little-endian bytes."""
    little = value.astype(value.dtype.newbyteorder("<"), copy=False)
    if rounding and little.dtype.kind == "f":
        little = np.array([round_to(item) for item in little.ravel().tolist()], dtype=little.dtype)
    return {"__base64__": base64.b64encode(np.ascontiguousarray(little).tobytes()).decode("ascii"),
            "dtype": little.dtype.str, "shape": list(value.shape)}


def _records(value: np.ndarray, rounding: bool) -> dict:
    """Tree nodes (a structured array of a RECORD_LAYOUTS dtype): one binary array per field."""
    name = next((key for key in RECORD_LAYOUTS if value.dtype == record_dtype(key)), None)
    if name is None:
        raise TypeError(f"cannot save an array of dtype {value.dtype}: not one of the record layouts a "
                        "model file may hold")
    return {"__records__": name, "fields": {
        field: _binary(value[field], rounding and field not in NEVER_ROUNDED_FIELDS,
                       _round_decimals if field in DECIMAL_FIELDS else _round)
        for field in value.dtype.names or ()}}


def _array(value: np.ndarray, rounding: bool) -> dict:
    if value.dtype.names is not None:
        return _records(value, rounding)
    if value.dtype.kind in "biuf" and value.size > INLINE_ITEMS:
        return _binary(value, rounding)
    items = value.ravel().tolist() if value.dtype != object else list(value.ravel())
    return {"__array__": [_encode(item, rounding) for item in items], "dtype": value.dtype.str,
            "shape": list(value.shape)}


def _number(value, rounding: bool):
    """A bool, integer or float (numpy's too) as JSON's; NaN and infinities tagged."""
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    number = float(value)
    if not math.isfinite(number):
        return {"__float__": repr(number)}
    return _round(number) if rounding else number


def _container(value: list | tuple | dict, rounding: bool):
    if isinstance(value, list):
        return [_encode(item, rounding) for item in value]
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(item, rounding) for item in value]}
    return {"__map__": [[_encode(key, rounding), _encode(item, rounding)] for key, item in value.items()]}


def _object(value, rounding: bool) -> dict:
    """A trusted object: its class name and state (attributes in name order: the bytes do not depend on the
    order fit happened to set them in); the floats of ROUNDED_CLASSES and all they hold rounded."""
    value = _prediction_pipeline(value)  # an imbalanced-learn Pipeline: its steps without samplers
    name = _name(type(value))
    rounding = rounding or name in ROUNDED_CLASSES
    if name == TREE:
        _, arguments, state = value.__reduce__()
        return {"__object__": name, "args": _encode(arguments, rounding), "state": _encode(state, rounding)}
    if name in CONSTRUCTOR_ARGUMENTS:
        state = {key: getattr(value, key) for key in CONSTRUCTOR_ARGUMENTS[name]}
    else:
        state = _saved_state(value, name)
    return {"__object__": name, "state": _encode(dict(sorted(state.items())), rounding)}


def _encode(value, rounding: bool):
    if value is None or isinstance(value, (bool, str)):
        return str(value) if isinstance(value, np.str_) else value
    if isinstance(value, (np.bool_, int, np.integer, float, np.floating)):
        return _number(value, rounding)
    if isinstance(value, np.ndarray):
        return _array(value, rounding)
    if isinstance(value, (list, tuple, dict)):
        return _container(value, rounding)
    if isinstance(value, slice):
        return {"__slice__": [value.start, value.stop, value.step]}
    if isinstance(value, np.dtype):
        return {"__dtype__": value.str}
    if isinstance(value, type):
        return {"__type__": _type_name(value)}
    return _object(value, rounding)


def encode_state(value):
    """A fitted prediction path as JSON-ready data: tagged types, no pickle; the floats of
    ROUNDED_CLASSES rounded to SIGNIFICANT_DIGITS. imbalanced-learn Pipelines are stored as
    scikit-learn Pipelines of their steps without samplers."""
    return _encode(value, False)

"""Model files: a fitted prediction path as JSON, and back, trusting nothing in the file.

After fitting, only the prediction path matters (scaler, basis, classifier, threshold; the
samplers only act during fit and are left out, also inside imbalanced-learn's ensembles).
It is stored as JSON: safe to load from a shared remote (nothing is unpickled, only classes
named exactly in a fixed list are built) and byte-stable, so its hash in dvc.lock only
changes with the model.
"""

from __future__ import annotations

import math
import re
from typing import Mapping

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline as PredictionPipeline
from sklearn.preprocessing import KBinsDiscretizer, OneHotEncoder, SplineTransformer, StandardScaler

from .model import fitted_pipeline, tuned_threshold

FORMAT = "imbalance-lab/pipeline/v2"

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

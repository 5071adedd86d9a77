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

This module is the face the stages import; the parts live beside it:
  trust.py     the classes, types, dtypes, record layouts and attributes a file may name
  encode.py    object -> JSON-ready data (samplers left out, CPU-dependent floats rounded)
  decode.py    JSON-ready data -> object, refusing what is not trusted before anything is built
  checks.py    what each object's values must be (no callables, finite numbers, a binary model's counts)
  trees.py     tree node arrays: every child after its parent and inside the array, features in range
  identity.py  what a file says it is (cell, classifier, settings digest) and the check of it
  records.py   the record of a cell that cannot be fitted
Here: the file's envelope (format, identity, feature names, threshold) and the shape of the prediction path.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from sklearn.pipeline import Pipeline as PredictionPipeline

from imbalance_lab.models.estimators import PriorShiftCorrected, tuned_threshold
from imbalance_lab.persistence.decode import decode_state
from imbalance_lab.persistence.encode import _round, encode_state, prediction_model
from imbalance_lab.persistence.identity import IDENTITY_KEYS, check_identity, model_identity, settings_digest, short
from imbalance_lab.persistence.records import (
    DURING,
    NotFittable,
    is_not_fittable,
    not_fittable_from_dict,
    not_fittable_to_dict,
)
from imbalance_lab.persistence.trust import (
    CALIBRATED,
    CALIBRATED_MEMBER,
    CALIBRATORS,
    CLASSIFIERS,
    CONSTRUCTOR_ARGUMENTS,
    FITTED_STATE,
    UntrustedModelError,
    known_attributes,
    qualified,
    untrusted_names,
)

__all__ = [
    "CLASSIFIERS", "CONSTRUCTOR_ARGUMENTS", "DURING", "FITTED_STATE", "FORMAT", "NotFittable", "UntrustedModelError",
    "decode_state", "encode_state", "is_not_fittable", "known_attributes", "model_from_dict", "model_identity",
    "model_to_dict", "not_fittable_from_dict", "not_fittable_to_dict", "prediction_model", "settings_digest",
    "untrusted_names",
]

# v4: the file says what it is ("identity"); attributes outside the class's own are refused; no saved n_jobs.
FORMAT = "imbalance-lab/pipeline/v4"
FORMAT_PREFIX = "imbalance-lab/pipeline/v"
KEYS = frozenset({"format", "identity", "feature_names", "pipeline", "threshold", "converged"})


# --- the shape of a prediction path --------------------------------------------------------------------


def _pipeline_problem(pipeline) -> str | None:
    steps = getattr(pipeline, "steps", None)
    if not isinstance(pipeline, PredictionPipeline) or not isinstance(steps, list) or not steps or \
            not all(isinstance(step, tuple) and len(step) == 2 and isinstance(step[0], str)
                    and hasattr(step[1], "get_params") for step in steps):
        return f"{type(pipeline).__name__} is not a pipeline of named steps"
    last = steps[-1][1]
    inner = getattr(last, "estimator_", None) if isinstance(last, PriorShiftCorrected) else last
    if qualified(type(inner)) not in CLASSIFIERS:
        return f"its last step is {type(inner).__name__}"
    return None


def _classifier_problem(model) -> str | None:
    """Why ``model`` is not a prediction path a model file may hold (None if it is one)."""
    if qualified(type(model)) != CALIBRATED:
        return _pipeline_problem(model)
    members = getattr(model, "calibrated_classifiers_", None)
    if not isinstance(members, list) or not members:
        return "the CalibratedClassifierCV holds no calibrated classifiers"
    for member in members:
        if qualified(type(member)) != CALIBRATED_MEMBER:
            return f"a calibrated classifier is a {type(member).__name__}"
        problem = _pipeline_problem(getattr(member, "estimator", None))
        if problem:
            return problem
        calibrators = getattr(member, "calibrators", None)
        if not isinstance(calibrators, list) or not calibrators or \
                not all(qualified(type(calibrator)) in CALIBRATORS for calibrator in calibrators):
            return "a calibrated classifier's calibrators are not sigmoid or isotonic calibrations"
    return None


def _expected_shape() -> str:
    classifiers = ", ".join(name.rpartition(".")[2] for name in CLASSIFIERS)
    return (f"a pipeline of named steps ending in one of {classifiers} (or PriorShiftCorrected of one), "
            "or a CalibratedClassifierCV of such pipelines")


def _classifier_of(model) -> str:
    """The full class name of the classifier at the end of a prediction path (checked by _classifier_problem)."""
    pipeline = model.calibrated_classifiers_[0].estimator if qualified(type(model)) == CALIBRATED else model
    last = pipeline.steps[-1][1]
    return qualified(type(last.estimator_ if isinstance(last, PriorShiftCorrected) else last))


def _output_width(step) -> int | None:
    """How many columns a fitted preprocessing step passes on (None: not known without data)."""
    name, count = qualified(type(step)), getattr(step, "n_features_in_", None)
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
        known = [width for width in widths if width is not None]
        return sum(known) if len(known) == len(widths) else None
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
        width: int | None = len(names)
        source = f"the {len(names)} feature names"
        for step_name, step in pipeline.steps:
            count = getattr(step, "n_features_in_", None)
            if width is not None and count is not None and count != width:
                return f"step {step_name!r} ({type(step).__name__}) is fitted on {count} features, but {source} " \
                       f"give it {width}"
            width, source = _output_width(step), f"step {step_name!r}"
    return None


# --- the model file --------------------------------------------------------------------------------------


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
            raise TypeError(f"cannot save a {_classifier_of(model)} as {short(identity)}")
    threshold = tuned_threshold(estimator)
    return {
        "format": FORMAT,
        "identity": identity,
        "feature_names": [str(name) for name in feature_names],
        "pipeline": saved,
        "threshold": None if threshold is None else _round(threshold),
        "converged": converged,
    }


def _check_envelope(data, expected: Mapping | None) -> None:
    """The format, keys and identity of a file, checked before anything is built."""
    found = data.get("format") if isinstance(data, Mapping) else type(data).__name__
    if found != FORMAT:
        if isinstance(found, str) and found.startswith(FORMAT_PREFIX):
            raise UntrustedModelError(f"a saved model of the older format {found!r}, not {FORMAT}: rerun its "
                                      "train stage (`dvc repro`)")
        raise UntrustedModelError(f"not a saved model of format {FORMAT}: got {found!r}")
    extra = set(data) - KEYS
    if extra:
        raise UntrustedModelError(f"not a saved model: unknown keys {sorted(extra)}")
    if expected is not None and data.get("identity") is None:
        raise UntrustedModelError(f"not a saved model of {short(expected)}: it does not say what it is "
                                  "(cell, classifier, settings)")
    check_identity(data.get("identity"), expected)


def _contents_problem(model, identity, threshold, names) -> str | None:
    """Why the built model does not agree with its file's identity, threshold and feature names (None if it does)."""
    problem = _classifier_problem(model)
    if problem:
        return f"not a saved model: 'pipeline' is not {_expected_shape()} ({problem})"
    if identity is not None and identity["classifier"] != _classifier_of(model):
        return f"this model file says it is {short(identity)} but holds a {_classifier_of(model).rpartition('.')[2]}"
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))
                                  or not 0 <= threshold <= 1):
        return f"not a saved model: 'threshold' must be a number from 0 to 1, got {threshold!r}"
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        return "not a saved model: 'feature_names' must be a list of column names"
    problem = _width_problem(model, names)
    return f"refusing to load the model: {problem}" if problem else None


def model_from_dict(data: Mapping, expected: Mapping | None = None):
    """A scikit-learn Pipeline (or CalibratedClassifierCV) that predicts like the saved one; its tuned
    threshold, if any, is in the ``tuned_threshold`` attribute (None when the strategy uses the fixed
    one). ``expected`` is model_identity() of the cell the caller loads: a file that says it is anything
    else (or nothing) is refused. Anything that is not a model file of this format is an UntrustedModelError."""
    _check_envelope(data, expected)  # before anything is built
    model = decode_state(data.get("pipeline"))
    threshold, names = data.get("threshold"), data.get("feature_names")
    problem = _contents_problem(model, data.get("identity"), threshold, names)
    if problem:
        raise UntrustedModelError(problem)
    # the pipeline reads the column names from its first step (a calibrated model from itself)
    named = model.steps[0][1] if isinstance(model, PredictionPipeline) else model
    if not hasattr(named, "feature_names_in_"):
        named.feature_names_in_ = np.asarray(names, dtype=object)
    model.tuned_threshold = threshold
    return model

"""The named entries of params.yaml: ``strategies.<name>``, ``classifiers.<name>``, and the ``grid`` that picks
them. Each entry is free-form (every key but a few is a keyword setting of a sampler or classifier class, checked
by params.build_estimator against the class itself), so it is read key by key here, each value by its type."""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping
from typing import Annotated, Any

from imbalance_lab.settings.classifiers import CLASSIFIERS
from imbalance_lab.settings.errors import ConfigError, config_error, one_of
from imbalance_lab.settings.load import check, mapping, section
from imbalance_lab.settings.sections import ClassifierSettings, GridSettings, StrategySettings
from imbalance_lab.settings.values import BASIS_KINDS, CALIBRATION_METHODS, Flag, Seed

STRATEGY_NAME = re.compile(r"^[a-z0-9_]+$")
# Keys of a strategy entry that configure the strategy itself, not its sampler.
STRATEGY_KEYS = ("sampler", "class_weight", "tune_threshold", "scale", "basis", "correct_prior", "calibrate")
# Class weights: each in [1/MAX_CLASS_WEIGHT, MAX_CLASS_WEIGHT], the larger at most MAX_CLASS_WEIGHT times the
# smaller. {0: 1e-300, 1: 1e300} made the solvers' weighted sums overflow to NaN coefficients.
MAX_CLASS_WEIGHT = 1e6
BasisKind = Annotated[str, one_of(BASIS_KINDS)]
Calibration = Annotated[str, one_of(CALIBRATION_METHODS)]


def _names(params: Mapping, key: str, what: str) -> list[str]:
    entries = mapping(section(params, key), key)
    if not entries:
        raise config_error(key, f"is empty; add at least one {what}")
    for name in entries:
        if not isinstance(name, str) or not STRATEGY_NAME.match(name):
            raise ConfigError(f"params.yaml: {what} name {name!r} under '{key}' must use only a-z, 0-9 and _ "
                              "(it becomes part of a stage name)")
    return list(entries)


def _entry(params: Mapping, part: str, what: str, name: str) -> tuple[str, Mapping]:
    """(dotted key, mapping) of the entry ``name`` under section ``part``, or a ConfigError listing the known ones."""
    known = _names(params, part, what)
    if name not in known:
        raise ConfigError(f"params.yaml: no {what} '{name}' under '{part}'; known: {', '.join(known)}")
    key = f"{part}.{name}"
    return key, mapping(section(params, key), key)


def strategy_names(params: Mapping) -> list[str]:
    return _names(params, "strategies", "strategy")


def classifier_names(params: Mapping) -> list[str]:
    return _names(params, "classifiers", "classifier")


def strategy_settings(params: Mapping, name: str) -> StrategySettings:
    """Free-form: every key but STRATEGY_KEYS is a sampler setting, checked later by build_estimator."""
    key, entry = _entry(params, "strategies", "strategy", name)
    sampler = section(params, f"{key}.sampler")
    if not isinstance(sampler, str):
        raise config_error(f"{key}.sampler", f"must be a sampler name or 'none', got {sampler!r}")
    tune_threshold = check(Flag, entry.get("tune_threshold", False), f"{key}.tune_threshold")
    scale = check(Flag, entry["scale"], f"{key}.scale") if "scale" in entry else default_scale(params)
    class_weight = class_weights(entry.get("class_weight"), f"{key}.class_weight")
    basis = entry.get("basis")
    if basis is not None:
        basis = seeded_options(mapping(basis, f"{key}.basis"), f"{key}.basis")
        check(BasisKind, basis.get("kind"), f"{key}.basis.kind")
    correct_prior = check(Flag, entry.get("correct_prior", False), f"{key}.correct_prior")
    calibrate = entry.get("calibrate")
    if calibrate is not None:
        check(Calibration, calibrate, f"{key}.calibrate")
    if correct_prior and calibrate is not None:
        raise config_error(key, "sets both correct_prior and calibrate: each corrects the probabilities; keep one")
    options = seeded_options({k: v for k, v in entry.items() if k not in STRATEGY_KEYS}, key)
    return StrategySettings(name=name, sampler=sampler, options=options, class_weight=class_weight,
                            tune_threshold=tune_threshold, scale=scale, basis=basis, seed=global_seed(params),
                            correct_prior=correct_prior, calibrate=calibrate)


def classifier_settings(params: Mapping, name: str) -> ClassifierSettings:
    """Free-form: every key but ``classifier`` is a keyword setting of the class, checked by build_estimator."""
    key, entry = _entry(params, "classifiers", "classifier", name)
    cls = section(params, f"{key}.classifier")
    if cls not in CLASSIFIERS:
        raise config_error(f"{key}.classifier", f"is {cls!r}; choose one of {', '.join(CLASSIFIERS)}")
    options = seeded_options({k: v for k, v in entry.items() if k != "classifier"}, key)
    if "class_weight" in options:
        class_weights(options["class_weight"], f"{key}.class_weight")
    if cls == "HistGradientBoostingClassifier" and options.get("categorical_features", "from_dtype") not in (
            None, "from_dtype"):
        raise config_error(f"{key}.categorical_features", "cannot be saved: a model file holds no category "
                           "bitsets, so the fitted model could not be stored; remove it (the columns of "
                           "data.categorical reach the classifier one-hot encoded)")
    return ClassifierSettings(name=name, classifier=cls, options=options)


def seeded_options(options: Mapping, key: str) -> dict:
    """``options`` with its ``random_state`` checked: null (DVC writes it as an empty value) means the global
    ``seed``, exactly as an absent key does, so it is dropped; anything else must be a seed (sections.Seed)."""
    options = dict(options)
    if "random_state" in options:
        if options["random_state"] is None:
            del options["random_state"]
        else:
            check(Seed, options["random_state"], f"{key}.random_state")
    return options


def grid_settings(params: Mapping) -> GridSettings:
    """``grid``: which strategies and which classifiers make the cells, each name defined in its section."""
    mapping(section(params, "grid"), "grid", {"strategies", "classifiers"})
    chosen = {}
    for part, defined in (("strategies", strategy_names(params)), ("classifiers", classifier_names(params))):
        key = f"grid.{part}"
        value = section(params, key)
        if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
            raise config_error(key, f"must be a list of names under '{part}', got {value!r}")
        unknown = [item for item in value if item not in defined]
        if unknown:
            raise config_error(key, f"names {unknown[0]!r}, which is not under '{part}'; defined: "
                                    f"{', '.join(defined)}")
        if len(set(value)) != len(value):
            raise config_error(key, f"names an entry twice: {value}")
        chosen[part] = tuple(value)
    return GridSettings(**chosen)


def global_seed(params: Mapping) -> int:
    """``seed``: the random_state of every sampler, basis and model the settings leave unseeded."""
    return check(Seed, section(params, "seed"), "seed")


def default_scale(params: Mapping) -> bool:
    """``model.scale``: standardise the features in every strategy that does not say otherwise."""
    model = mapping(section(params, "model"), "model")
    moved = sorted(set(model) - {"scale"}, key=str)
    if moved:
        raise ConfigError(f"params.yaml: 'model.{moved[0]}': the classifiers' settings are under "
                          f"'classifiers' now, e.g. classifiers.logreg.{moved[0]}; 'model' holds only scale")
    return check(Flag, model.get("scale", False), "model.scale")


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)  # YAML's true is no number here


def class_weights(value: Any, key: str) -> Any:
    """None, 'balanced' or {class: weight} with classes 0/1 and positive, finite weights."""
    if value is None or value == "balanced":
        return value
    if not isinstance(value, Mapping):
        raise config_error(key, f"must be 'balanced' or a mapping of class to weight, got {value!r}")
    low, high = 1 / MAX_CLASS_WEIGHT, MAX_CLASS_WEIGHT
    for label, weight in value.items():
        if isinstance(label, bool) or label not in (0, 1):
            raise config_error(key, f"names class {label!r}; the classes are 0 and 1")
        if not _number(weight) or not 0 < weight < float("inf"):
            raise config_error(f"{key}.{label}", f"must be a positive number, got {weight!r}")
        if not low <= weight <= high:
            raise config_error(f"{key}.{label}", f"is {weight:g}; a class weight must lie from {low:g} to {high:g} "
                                                 "(beyond, the classifier's weighted sums overflow or vanish)")
    weights = [float(weight) for weight in value.values()]
    if len(weights) == 2 and max(weights) > MAX_CLASS_WEIGHT * min(weights):
        raise config_error(key, f"weighs one class {max(weights) / min(weights):.3g} times the other; keep the "
                                f"ratio at most {MAX_CLASS_WEIGHT:g} (or use 'balanced')")
    return dict(value)

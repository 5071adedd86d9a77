"""The rank stage (benchmark/dvc.yaml): the cells ranked over every benchmark data set, each set's scores as the
benchmark@<set> stages wrote them (pipeline/benchmark.py); its own module, so that an edit here reruns the
ranking alone and never the sets' cross-validation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from imbalance_lab.pipeline.outputs import read_json, stage_outputs
from imbalance_lab.settings.params import (
    BenchmarkSettings,
    PipelineError,
    benchmark_settings,
    cell_name,
    leaderboard_settings,
    load,
)
from imbalance_lab.settings.paths import (
    BENCHMARK_METRICS,
    BENCHMARK_SUMMARY,
    PARAMS,
    benchmark_plot,
    benchmark_set_file,
)


def checked_record(record: Any, name: str, settings: BenchmarkSettings, path) -> dict:
    """A set's file as the rank stage may use it (it comes from git or a teammate): made by the benchmark stage
    for this set, these folds and these cells, every score a finite number, else a PipelineError naming it."""
    import math

    from imbalance_lab.benchmark.scoring import METRICS

    order = [cell_name(s, c) for s in settings.strategies for c in settings.classifiers]
    scores = settings.cv.folds * settings.cv.repeats

    def valid_cell(result: Any) -> bool:
        if isinstance(result, dict) and set(result) == {"error"}:
            return isinstance(result["error"], str)
        return isinstance(result, dict) and set(result) == set(METRICS) and all(
            isinstance(values, list) and len(values) == scores and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)
            for values in result.values())

    fresh = isinstance(record, dict) and record.get("dataset") == name and record.get("cv") == dict(settings.cv)
    if fresh and isinstance(record.get("error"), str):
        return record
    cells = record.get("cells") if fresh else None
    if not isinstance(cells, dict) or set(cells) != set(order) or not all(map(valid_cell, cells.values())):
        raise PipelineError(f"{path}: not the scores of data set {name!r} with today's benchmark settings (its "
                            f"cells, folds or scores differ); run `dvc repro benchmark/dvc.yaml:benchmark@{name}` "
                            "to rebuild it")
    return {**record, "cells": {cell: cells[cell] for cell in order}}  # the file's keys are sorted: grid order


def rank(params: Mapping) -> tuple[dict, dict, dict]:
    """(summary, metrics, {metric: figure}): every ranked metric over the sets that could be read, for all cells
    and per classifier (benchmark/summary.py), the sets and cells left out named with their reasons."""
    from imbalance_lab.benchmark.figures import critical_difference_figure
    from imbalance_lab.benchmark.scoring import METRICS
    from imbalance_lab.benchmark.summary import benchmark_summary

    settings = benchmark_settings(params)
    board = leaderboard_settings(params, METRICS)
    records = {name: checked_record(read_json(benchmark_set_file(name)), name, settings, benchmark_set_file(name))
               for name in settings.datasets}
    scores = {name: record["cells"] for name, record in records.items() if "error" not in record}
    summary = benchmark_summary(scores, settings.cv.folds, board.primary, board.baseline) if scores else {
        "metric": board.primary, "datasets": [], "mean_rank": {}, "friedman": None, "not_ranked": {},
        "rankings": {}, "per_classifier": {}, "win_tie_loss": {}, "scores": {}}
    summary |= {
        "not_ranked_datasets": {name: record["error"] for name, record in records.items() if "error" in record},
        "facts": {name: {key: record[key] for key in ("source", "rows", "rare", "rare_share", "features")}
                  for name, record in records.items() if "error" not in record},
        "cv": dict(settings.cv), "strategies": list(settings.strategies), "classifiers": list(settings.classifiers),
        "baseline": board.baseline,
    }
    metrics = {"datasets": len(scores), "friedman_p": (summary["friedman"] or {}).get("p_value"),
               "mean_rank": summary["mean_rank"],
               "per_classifier": {classifier: {"friedman_p": ranked[board.primary].get("friedman", {}).get("p_value"),
                                               "mean_rank": ranked[board.primary]["mean_rank"]}
                                  for classifier, ranked in summary["per_classifier"].items()}}
    none = {"mean_rank": {}, "tests": "none: fewer than 2 data sets could be ranked"}
    figures = {metric: critical_difference_figure(summary["rankings"].get(metric, none), metric) for metric in METRICS}
    return summary, metrics, figures


def cmd_rank(args) -> None:
    summary, metrics, figures = rank(load(PARAMS))
    with stage_outputs() as outputs:
        outputs.json(BENCHMARK_SUMMARY, summary)
        outputs.json(BENCHMARK_METRICS, metrics)
        for metric, figure in figures.items():
            outputs.png(benchmark_plot(metric), figure)

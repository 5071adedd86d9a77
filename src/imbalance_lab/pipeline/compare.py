"""The compare stage: every cell ranked and compared with its classifier's baseline, side by side in
reports/summary.*, reports/index.html and the overlay plots; the files of cells outside the grid removed."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace

from imbalance_lab.pipeline.outputs import read_frame, read_json, read_model, stage_outputs
from imbalance_lab.pipeline.shared import COST, class_names, picture_note
from imbalance_lab.settings.params import (
    LeaderboardSettings,
    PipelineError,
    StrategySettings,
    cell_name,
    classifier_settings,
    evaluate_settings,
    grid_settings,
    leaderboard_settings,
    load,
    strategy_settings,
)
from imbalance_lab.settings.params import goals as goal_settings
from imbalance_lab.settings.paths import (
    BENCHMARK_SUMMARY,
    CEILING_JSON,
    COMPARE_PNGS,
    CV_SCORES_JSON,
    DATA_JSON,
    INDEX_HTML,
    OVERLAYS,
    PARAMS,
    REPORTS,
    SUMMARY_JSON,
    SUMMARY_MD,
    TRAIN,
    cell_file,
)

log = logging.getLogger("imbalance_lab")


def boundary_scan(models: Mapping, thresholds: Mapping[str, float], X_train, features, others) -> dict | None:
    """Where each strategy's decision boundary crosses the second picture feature, at the first one's
    10th, 50th and 90th percentiles: a fine scan from 0 (or below the data) to twice the data's top."""
    import numpy as np

    from imbalance_lab.models.explain import boundary_at

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
    leaderboard: LeaderboardSettings
    grid_resolution: int


def compare_settings(params: Mapping) -> CompareSettings:
    from imbalance_lab.evaluation.metrics import METRICS

    grid = grid_settings(params)
    strategies = {name: strategy_settings(params, name) for name in grid.strategies}

    def kind(strategy: StrategySettings) -> str | None:
        if strategy.sampler != "none":
            return "resampling"
        return "threshold" if strategy.tune_threshold and strategy.class_weight is None and not strategy.basis \
            else None

    cells = {cell_name(s, c): (s, c) for s in grid.strategies for c in grid.classifiers}
    return CompareSettings(
        cells=cells, samplers={cell: strategies[s].sampler for cell, (s, _) in cells.items()},
        kinds={cell: kind(strategies[s]) for cell, (s, _) in cells.items()},
        goals=goal_settings(params, METRICS), leaderboard=leaderboard_settings(params, (*METRICS, COST)),
        grid_resolution=evaluate_settings(params).grid_resolution,
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
            raise PipelineError(f"reports/metrics/{name}.json says the cell is not fittable, but its model file "
                                  "holds a fitted model (files of different runs); run `dvc repro` to rebuild them")
    if unfit and len(unfit) == len(settings.cells):
        shown = "; ".join(f"{name}: {entry['reason']}" for name, entry in unfit.items())
        raise PipelineError(f"no cell of the grid could be fitted, so there is nothing to rank ({shown}); change "
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

        def kept(mapping: Mapping) -> dict:
            return {n: mapping[n] for n in fitted}

        settings = replace(settings, cells=kept(settings.cells), samplers=kept(settings.samplers),
                           kinds=kept(settings.kinds))
        metrics, cv, explained, models, curves, calibration = (
            kept(mapping) for mapping in (metrics, cv, explained, models, curves, calibration))
    names, goals, board = list(settings.cells), settings.goals, settings.leaderboard
    known = {k: v for k, v in ceilings.items() if k != "available"} if ceilings.get("available") else None
    X_train, y_train = features_and_target(train)
    others, features = typical_values(X_train), data_info["plot_features"] or []
    thresholds = {name: metrics[name]["threshold"] for name in names}
    log.info("comparing %d cells", len(names))

    baselines = {cell: (cell_name(board.baseline, classifier) if board.baseline is not None else None)
                 for cell, (_, classifier) in settings.cells.items()}
    summary = build_summary(metrics, cv, goals, primary=board.primary, confidence=board.confidence,
                            baselines=baselines, cells=settings.cells, kinds=settings.kinds, ceilings=known)
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
        "plots/cv_scores.png": cv_scores_figure(ranked, metric=primary,
                                                references=ceiling_references(known, primary),
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


def cmd_compare(args) -> None:
    from imbalance_lab.reporting.report import render_html, render_markdown

    params = load(PARAMS)
    settings = compare_settings(params)  # before any file is read
    names = list(settings.cells)
    compared = compare(
        settings, metrics={n: read_json(cell_file("metrics", n)) for n in names},
        cv={n: read_json(cell_file("cv", n)) for n in names},
        explained={n: read_json(cell_file("coefficients", n)) for n in names},
        models={n: read_model(cell_file("model", n), strategy_settings(params, settings.cells[n][0]),
                              classifier_settings(params, settings.cells[n][1]), not_fittable=True) for n in names},
        curves={n: {kind: read_json(cell_file(kind, n)) for kind in ("pr", "roc")} for n in names},
        calibration={n: read_json(cell_file("explain", n)).get("calibration_curve") for n in names},  # None: unfit
        ceilings=read_json(CEILING_JSON), data_info=read_json(DATA_JSON), train=read_frame(TRAIN),
    )
    compared = replace(compared, sections=with_benchmark(compared.sections, read_json(BENCHMARK_SUMMARY)))
    # The pictures of the evaluate stages the report also shows, by their name inside reports/.
    images = {path: (REPORTS / path).read_bytes() for section in compared.sections for path, _ in section.images
              if path not in compared.figures}
    with stage_outputs() as outputs:
        images |= {name: outputs.png(COMPARE_PNGS[name], fig).read_bytes() for name, fig in compared.figures.items()}
        for kind, points in compared.curves.items():
            outputs.json(OVERLAYS[kind], points)
        outputs.json(CV_SCORES_JSON, compared.cv_scores)
        outputs.json(SUMMARY_JSON, compared.summary)
        outputs.text(SUMMARY_MD, render_markdown(compared.sections))
        outputs.text(INDEX_HTML, render_html(compared.sections, images))
    remove_outside_grid({strategy for strategy, _ in settings.cells.values()}, names)


def with_benchmark(sections: list, benchmark) -> list:
    """The report's sections with the ranking across data sets (the rank stage's summary) after the rankings of
    this data set's cells, before its held-out figures."""
    from imbalance_lab.reporting.report import benchmark_section

    try:
        section = benchmark_section(benchmark)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        raise PipelineError(f"{BENCHMARK_SUMMARY}: not the rank stage's summary; run `dvc repro "
                            "benchmark/dvc.yaml:rank` to rebuild it") from None
    at = next((i for i, s in enumerate(sections) if s.title.startswith("Held-out test split")), len(sections))
    return [*sections[:at], section, *sections[at:]]


def remove_outside_grid(strategies, cells) -> None:
    """Delete the files of strategies and cells outside the grid (a larger grid's: an experiment thrown away with
    `git checkout .`, a classifier taken out). No stage of dvc.yaml writes them any more, DVC would count them in
    the folders `compare` depends on, and `dvc metrics show` would list them as if current (see dvc.yaml)."""
    from imbalance_lab.settings.paths import outside_grid

    stale = outside_grid(strategies, cells)
    for path in stale:
        path.unlink()
    if stale:
        log.info("removed %d files of cells and strategies outside the grid: %s", len(stale),
                 ", ".join(sorted({path.name.split(".")[0] for path in stale})))

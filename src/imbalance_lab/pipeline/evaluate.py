"""The evaluate@<strategy>-<classifier> stage: one cell's stored model scored on the held-out test split and
on its training rows, with its calibration, costs, curves, explanations and pictures."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from imbalance_lab.pipeline.outputs import read_frame, read_json, read_model, stage_outputs
from imbalance_lab.pipeline.shared import COST, class_names, cost_amounts, picture_note
from imbalance_lab.settings.params import (
    ClassifierSettings,
    CostSettings,
    EvaluateSettings,
    StrategySettings,
    cell_name,
    classifier_settings,
    cost_settings,
    evaluate_settings,
    load,
    strategy_settings,
)
from imbalance_lab.settings.paths import DATA_JSON, PARAMS, TEST, TRAIN, cell_file, strategy_file

log = logging.getLogger("imbalance_lab")


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


def evaluate_cell(strategy: StrategySettings, classifier: ClassifierSettings, settings: EvaluateSettings,
                  costs: CostSettings, model, *, cv: Mapping, resampled_info: Mapping, data_info: Mapping,
                  train, test) -> Evaluated:
    """Score one cell's stored model on the held-out test split (the headline) and on its own training rows
    (the article's protocol), with its cross-validation summary, calibration, costs and pictures. A ``model``
    that is a modelfile.NotFittable (its classifier could not be fitted) gives outputs that say so."""
    from imbalance_lab.persistence.modelfile import NotFittable

    if isinstance(model, NotFittable):
        return not_fittable_evaluated(model)
    from imbalance_lab.data.dataset import features_and_target, typical_values
    from imbalance_lab.evaluation.diagnostics import calibration, curves, permutation_importances
    from imbalance_lab.evaluation.metrics import compute_metrics, cost_terms, mean_and_sd
    from imbalance_lab.reporting.plots import decision_boundary_figure, partial_dependence_figure, reliability_figure

    name = cell_name(strategy.name, classifier.name)
    threshold = settings.threshold if model.tuned_threshold is None else model.tuned_threshold
    (X_train, y_train), (X_test, y_test) = features_and_target(train), features_and_target(test)
    log.info("scoring on %s test rows and %s training rows", f"{len(y_test):,}", f"{len(y_train):,}")
    terms = cost_terms(costs)
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


def cmd_evaluate(args) -> None:
    params, name, classifier = load(PARAMS), args.strategy, args.classifier
    cell = cell_name(name, classifier)
    strategy, classifier_config = strategy_settings(params, name), classifier_settings(params, classifier)
    evaluated = evaluate_cell(  # settings first: checked before any file is read
        strategy, classifier_config, evaluate_settings(params), cost_settings(params),
        read_model(cell_file("model", cell), strategy, classifier_config, not_fittable=True),
        cv=read_json(cell_file("cv", cell)),
        resampled_info=read_json(strategy_file("resampled_info", name)), data_info=read_json(DATA_JSON),
        train=read_frame(TRAIN), test=read_frame(TEST),
    )
    with stage_outputs() as outputs:
        outputs.json(cell_file("metrics", cell), evaluated.metrics)
        outputs.json(cell_file("headline", cell), evaluated.headline)
        outputs.json(cell_file("explain", cell), evaluated.explain)
        for kind, points in evaluated.curves.items():
            outputs.json(cell_file(kind, cell), points)
        outputs.png(cell_file("boundary_png", cell), evaluated.boundary)
        outputs.png(cell_file("calibration_png", cell), evaluated.calibration)
        outputs.png(cell_file("dependence_png", cell), evaluated.dependence)

"""The train@<strategy>-<classifier> stage: one cell fitted on the training split, cross-validated with the
sampler inside each training fold, and its threshold tuned to the costs (the pipeline's heavy part)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from imbalance_lab.pipeline.outputs import read_frame, stage_outputs
from imbalance_lab.pipeline.shared import check_strategy, cost_amounts
from imbalance_lab.settings.classifiers import classifier_class
from imbalance_lab.settings.params import (
    ConfigError,
    cell_name,
    check_work,
    classifier_settings,
    compute_settings,
    cost_settings,
    cv_settings,
    evaluate_settings,
    load,
    source_settings,
    strategy_settings,
    tuning_settings,
)
from imbalance_lab.settings.paths import PARAMS, TRAIN, cell_file

log = logging.getLogger("imbalance_lab")


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
        cost_terms,
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
        fit_model,
        set_prior,
    )
    from imbalance_lab.models.explain import coefficients
    from imbalance_lab.persistence.modelfile import DURING, model_from_dict, model_identity, model_to_dict
    from imbalance_lab.strategies.knn_smote import SamplerError
    from imbalance_lab.strategies.samplers import check_fold_sizes, sampler_errors

    strategy, classifier = strategy_settings(params, name), classifier_settings(params, classifier_name)
    cell = cell_name(name, classifier_name)
    key = f"strategies.{name}"
    cv, fixed_threshold = cv_settings(params), evaluate_settings(params).threshold
    missing, compute = source_settings(params).missing, compute_settings(params)
    tuning, costs = tuning_settings(params), cost_settings(params)
    X, y = features_and_target(train)
    amounts = cost_amounts(costs, X)
    estimator = build_pipeline(buildable(strategy, classifier), classifier, tuning, columns_of(X, missing),
                               compute.neighbors)
    set_prior(estimator, float((y == 1).mean()))  # the real share, for a strategy that corrects for the sampler's
    # Every sampler and the tuning's inner folds against the smallest cross-validation training fold.
    check_fold_sizes(class_counts(y), cv.folds, {name: estimator}, tuning.folds)
    check_basis_columns(X, strategy)
    check_work(params, len(y))  # as check does, on the real rows (check cannot count a file's)
    identity = model_identity(strategy, classifier)  # what the file says it is: every loader checks it
    conflict = class_weight_conflict(classifier, strategy)
    if conflict is not None:  # the strategy weighs classes through a setting this classifier has not: no fit
        return not_fittable(cell, identity, conflict, DURING[3], name, classifier_name)
    log.info("fitting on %s rows; cross-validating %d folds x %d repeats", f"{len(y):,}", cv.folds, cv.repeats)
    terms = cost_terms(costs)
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
                    progress=fold_progress(), costs=terms, amounts=amounts,
                )
            log.info("tuning a threshold to the costs on %d inner folds", tuning.folds)
            during = DURING[2]
            cost_tuned = cost_tuned_threshold(estimator, X, y, **terms, amounts=amounts, folds=tuning.folds,
                                              seed=tuning.seed)
    except SamplerError as err:
        raise ConfigError(
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


def cmd_train(args) -> None:
    params, name, classifier = load(PARAMS), args.strategy, args.classifier
    check_strategy(params, name, classifier)  # before any data is read
    trained = train_cell(params, name, classifier, read_frame(TRAIN))
    cell = cell_name(name, classifier)
    with stage_outputs() as outputs:
        outputs.json(cell_file("model", cell), trained.model, round_floats=False)
        outputs.json(cell_file("coefficients", cell), trained.coefficients)
        outputs.json(cell_file("cv", cell), trained.cv)
